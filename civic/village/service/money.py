"""Money in integer 分, and finance lines pasted from a spreadsheet.

Verbs: parse_amount, parse_balance (元 strings or 分 ints, exact with Decimal, floats refused),
fen_to_yuan, parse_pasted_lines.  Source: RULES.md §2 (money is integer 分).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from civic.core.errors import ValidationFailed
from civic.village.models import LINE_KINDS

_YUAN_RE = re.compile(r"^\d{1,3}(,\d{3})*(\.\d{1,2})?$|^\d+(\.\d{1,2})?$")


def parse_amount(value: Any, field: str = "amount") -> int:
    """An amount as integer 分 (> 0).

    Takes an int (already 分) or a 元 string such as ``"1,234.56"`` (thousands commas optional, at
    most two decimals), parsed exactly with Decimal.  Floats are refused: they cannot hold 0.1 元.
    :raises ValidationFailed: ``amount_invalid`` with ``details.field``.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise ValidationFailed("金额须为整数（分）或元字符串", code="amount_invalid", details={"field": field})
    if isinstance(value, int):
        fen = value
    elif isinstance(value, str) and _YUAN_RE.match(value.strip()):
        try:
            fen = int(Decimal(value.strip().replace(",", "")) * 100)
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
            raise ValidationFailed("金额格式不正确", code="amount_invalid", details={"field": field}) from exc
    else:
        raise ValidationFailed("金额格式不正确，例如 \"1,234.56\"", code="amount_invalid",
                               details={"field": field, "value": str(value)[:40]})
    if fen <= 0:
        raise ValidationFailed("金额须大于零", code="amount_invalid", details={"field": field})
    return fen


def parse_balance(value: Any, field: str) -> int | None:
    """A balance in 分 (may be zero or negative); ``None`` passes; 元 strings as in parse_amount."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        neg = value.strip().startswith("-")
        digits = value.strip().lstrip("-")
        if digits in ("0", "0.00", "0.0"):
            return 0
        fen = parse_amount(digits, field)
        return -fen if neg else fen
    raise ValidationFailed("余额须为整数（分）或元字符串", code="amount_invalid", details={"field": field})


def fen_to_yuan(fen: int | None) -> str:
    """``123456`` -> ``"1,234.56"`` (exact, integer arithmetic)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
PASTE_MAX_ROWS = 500


def parse_pasted_lines(text: str, kind: str) -> list[dict]:
    """Finance lines pasted from a spreadsheet: one row per line, cells separated by tabs, in the
    order date / account / description / counterparty / amount (元).

    Dates as ``2026-03-05``, ``2026/3/5``, ``2026.3.5`` or ``2026年3月5日``; amounts as in
    :func:`parse_amount` (``"1,234.56"``; a leading ``¥``/``￥`` or a trailing ``元`` is dropped),
    converted exactly to integer 分.  Blank rows are skipped; a first row whose date cell is not a
    date (a header) is skipped.  ``kind`` (income/expense) applies to every row.
    Returns line dicts for :func:`create_disclosure` / :func:`update_disclosure` (``amount_fen``).
    :raises ValidationFailed: ``paste_invalid`` naming the row (1-based) and the problem;
        ``amount_invalid``; ``line_kind_invalid``; ``paste_too_long`` (over 500 rows).
    """
    if kind not in LINE_KINDS:
        raise ValidationFailed("收支类型须为收入或支出", code="line_kind_invalid", details={"kind": kind})
    rows = [r for r in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n") if r.strip()]
    if len(rows) > PASTE_MAX_ROWS:
        raise ValidationFailed(f"一次最多粘贴 {PASTE_MAX_ROWS} 行", code="paste_too_long",
                               details={"rows": len(rows), "max": PASTE_MAX_ROWS})
    out = []
    for n, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row.split("\t")]
        m = _DATE_RE.match(cells[0]) if cells else None
        if m is None and n == 1 and len(cells) >= 5:
            continue  # a header row
        if len(cells) != 5:
            raise ValidationFailed(f"第 {n} 行应有 5 列（日期、科目、摘要、往来单位、金额），实有 {len(cells)} 列",
                                   code="paste_invalid", details={"row": n, "columns": len(cells)})
        try:
            day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None
        except ValueError:
            day = None
        if day is None:
            raise ValidationFailed(f"第 {n} 行的日期无法识别：{cells[0][:20]}", code="paste_invalid",
                                   details={"row": n, "field": "date"})
        amount = cells[4].lstrip("¥￥").removesuffix("元").strip()
        out.append({"kind": kind, "date": day, "account": cells[1], "description": cells[2],
                    "counterparty": cells[3], "amount_fen": parse_amount(amount, f"row {n} amount")})
    if not out:
        raise ValidationFailed("没有可导入的明细行", code="paste_invalid", details={"row": 0})
    return out
