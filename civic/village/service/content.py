"""What a disclosure says and whether its accounts add up.

Verbs: totals, content_of, content_hash (the canonical content the supervision committee signs off
and the public reads), needs_balances, check_balances.  Sources: 村民委员会组织法 Art. 30 (income and
expenditure are disclosed); RULES.md §2 (what is published is true).  Money is integer 分.
"""

from __future__ import annotations

import hashlib
import json

from civic.core.errors import Conflict, ValidationFailed
from civic.extensions import db
from civic.village.models import CatalogueItem, Disclosure
from civic.village.service.money import fen_to_yuan


def totals(d: Disclosure) -> dict:
    """``{"income", "expense", "by_account": [{"account", "income", "expense"}], "balanced",
    "expected_closing"}``; all in 分."""
    income = sum(ln.amount for ln in d.lines if ln.kind == "income")
    expense = sum(ln.amount for ln in d.lines if ln.kind == "expense")
    accounts: dict[str, dict] = {}
    for ln in d.lines:
        row = accounts.setdefault(ln.account, {"account": ln.account, "income": 0, "expense": 0})
        row[ln.kind] += ln.amount
    expected = None if d.opening_balance is None else d.opening_balance + income - expense
    balanced = d.closing_balance is None and expected is None or expected == d.closing_balance
    return {"income": income, "expense": expense, "by_account": sorted(accounts.values(), key=lambda r: r["account"]),
            "expected_closing": expected, "balanced": balanced}


def content_of(d: Disclosure) -> dict:
    """The canonical content a hash is taken over: what the public reads, nothing else."""
    item = db.session.get(CatalogueItem, d.item_id)
    return {
        "village_id": d.village_id, "item": item.code, "category": d.category, "period": d.period,
        "version": d.version, "supersedes": d.supersedes_id, "correction_reason": d.correction_reason,
        "title": d.title, "body": d.body,
        "opening_balance": d.opening_balance, "closing_balance": d.closing_balance,
        "lines": [{"kind": ln.kind, "date": ln.date.isoformat(), "account": ln.account,
                   "description": ln.description, "counterparty": ln.counterparty, "amount": ln.amount,
                   "vouchers": [v.display_key for v in ln.vouchers]} for ln in d.lines],
    }


def content_hash(d: Disclosure) -> str:
    """SHA-256 (hex) over the canonical JSON (sorted keys, no spaces, UTF-8) of :func:`content_of`."""
    blob = json.dumps(content_of(d), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def needs_balances(d: Disclosure) -> bool:
    """True for a finance disclosure: its catalogue item is in the finance category, so it states
    opening and closing balances that must add up with its lines (组织法 Art. 30: income and
    expenditure are disclosed; RULES.md §2: what is published is true)."""
    return d.category == "finance"


# What each action refused for unbalanced accounts says it could not do.
_BALANCE_ACTIONS = {"submit": "不能提交审核", "sign_off": "不能审核签字", "publish": "不能公开"}


def check_balances(d: Disclosure, action: str = "publish") -> None:
    """Refuse a finance disclosure whose balances are missing or do not add up.

    Applied on ``submit`` (so the committee fixes it while it is still a draft), ``sign_off`` and
    ``publish``: opening balance + income − expense must equal the closing balance, to the 分.
    Non-finance disclosures pass.  The message states the amounts in 元 (two decimals); the details
    keep integer 分 (the API's money unit).
    :raises ValidationFailed: ``balance_required`` (details ``{"missing": [field, ...]}``).
    :raises Conflict: ``balance_mismatch`` (details in 分: ``opening_balance``, ``income``, ``expense``,
        ``closing_balance``, ``expected_closing``, ``difference`` = closing − expected).
    """
    if not needs_balances(d):
        return
    refused = _BALANCE_ACTIONS.get(action, "不能继续")
    missing = [k for k in ("opening_balance", "closing_balance") if getattr(d, k) is None]
    if missing:
        names = "和".join({"opening_balance": "期初余额", "closing_balance": "期末余额"}[k] for k in missing)
        raise ValidationFailed(f"财务公开须填写{names}，{refused}", code="balance_required",
                               details={"missing": missing})
    t = totals(d)
    if not t["balanced"]:
        diff = d.closing_balance - t["expected_closing"]
        raise Conflict(
            f"期初余额 {fen_to_yuan(d.opening_balance)} 元 + 收入 {fen_to_yuan(t['income'])} 元 − 支出 "
            f"{fen_to_yuan(t['expense'])} 元 = 应有期末余额 {fen_to_yuan(t['expected_closing'])} 元，填报的期末余额 "
            f"{fen_to_yuan(d.closing_balance)} 元比应有的{'多' if diff > 0 else '少'} {fen_to_yuan(abs(diff))} 元，"
            f"{refused}",
            code="balance_mismatch", details={
                "opening_balance": d.opening_balance, "income": t["income"], "expense": t["expense"],
                "closing_balance": d.closing_balance, "expected_closing": t["expected_closing"],
                "difference": diff})
