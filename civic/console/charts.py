"""Server-rendered SVG bar charts: readable at a glance, no JavaScript, printable."""

from __future__ import annotations

from markupsafe import Markup, escape

ROW_H, GAP, LABEL_W, VALUE_W, WIDTH = 26, 8, 230, 70, 720


def bar_chart(rows: list[tuple[str, float | None]], *, title: str, unit: str = "", colour: str = "#0b4f8a",
              chart_id: str = "") -> Markup:
    """Horizontal bars, one per ``(label, value)``; ``None`` values show "无数据".  The SVG has a
    ``<title>`` and each bar an ``aria-label``, so screen readers read the figures."""
    top = 6
    height = top + len(rows) * (ROW_H + GAP) + 4
    peak = max([v for _l, v in rows if v] or [1])
    span = WIDTH - LABEL_W - VALUE_W
    parts = [f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg">'
             f"<title>{escape(title)}</title>"]
    for i, (label, value) in enumerate(rows):
        y = top + i * (ROW_H + GAP)
        text = "无数据" if value is None else f"{value:g}{unit}"
        w = 0 if not value else max(2, round(span * value / peak))
        short = label if len(label) <= 14 else label[:13] + "…"
        parts.append(
            f'<g aria-label="{escape(label)}：{escape(text)}">'
            f'<text x="{LABEL_W - 8}" y="{y + ROW_H * 0.68:.0f}" text-anchor="end">{escape(short)}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{w}" height="{ROW_H}" rx="3" fill="{colour}"></rect>'
            f'<text x="{LABEL_W + w + 6}" y="{y + ROW_H * 0.68:.0f}">{escape(text)}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
