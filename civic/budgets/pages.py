"""The public pages of budget rounds (社区微更新): server-rendered HTML, no login, complete without
JavaScript, like the village page.  A community's page lists its published rounds with the budget
used; a round's page shows each project's votes and cost, whether it is funded, its carrying out,
and a chart of the budget used (server-rendered SVG, :func:`civic.console.charts.bar_chart` style).
"""

from __future__ import annotations

from flask import Blueprint, render_template
from markupsafe import Markup, escape

from civic.budgets import service
from civic.core.errors import NotFound
from civic.property import service as registry

bp = Blueprint("budget_pages", __name__, url_prefix="/budgets", template_folder="templates",
               static_folder="static", static_url_path="/static")


def yuan(fen: int | None) -> str:
    """分 → "1,234.56" (exact: integer division, never a float)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def budget_chart(budget: int, rows: list[tuple[str, int]]) -> Markup:
    """A stacked bar of the budget (分): one segment per funded project, then what is left; the
    SVG has a ``<title>`` and each segment an ``aria-label``."""
    width, height = 720, 40
    parts = [f'<svg class="chart" id="budget-used" role="img" viewBox="0 0 {width} {height + 4}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>预算使用情况（元）</title>']
    x, colours = 0, ("#0b4f8a", "#2f7fc1", "#5fa3d9", "#8cc3ec")
    for i, (label, cost) in enumerate(rows):
        w = width * cost // budget if budget else 0
        parts.append(f'<rect x="{x}" y="2" width="{w}" height="{height}" fill="{colours[i % len(colours)]}" '
                     f'aria-label="{escape(label)}：{yuan(cost)}元"></rect>')
        x += w
    left = budget - sum(c for _l, c in rows)
    parts.append(f'<rect x="{x}" y="2" width="{width - x}" height="{height}" fill="#e6e6e6" '
                 f'aria-label="结余：{yuan(left)}元"></rect></svg>')
    return Markup("".join(parts))


@bp.get("/places/<place_code>/")
def community(place_code):
    """一个社区（小区、街道）的社区微更新：已公布的预算轮次及预算使用情况."""
    place = registry.place_by_code(place_code)
    if place is None:
        raise NotFound("找不到该地点", code="place_not_found")
    rounds = []
    for rnd in service.published_rounds():
        paths = [registry.get_place(pid).path for pid in service.place_ids(rnd)]
        if any(place.path.startswith(p) or p.startswith(place.path) for p in paths):
            rounds.append(service.public_result(rnd.id))
    return render_template("budgets/community.html", place=place, rounds=rounds, yuan=yuan)


@bp.get("/<int:round_id>/")
def round_page(round_id):
    """一个预算轮次的公布结果：各项目票数与费用、资助与实施进度、预算使用图."""
    data = service.public_result(round_id)
    funded = [(p["title"], p["cost"]) for p in data["projects"] if p["funded"]]
    return render_template("budgets/round.html", yuan=yuan, chart=budget_chart(data["round"]["budget"], funded),
                           rules={"greedy": "按票数依次资助", "equal_shares": "平等份额法"}, **data)
