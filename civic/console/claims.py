"""房屋认领审核 in the console: the claims to units the user's organisation verifies (the same queue
and rules as ``GET /api/v1/unit-claims``: civic.residents.service), a claim's page with the
resident's document while it is pending, and the confirm and refuse forms."""

from __future__ import annotations

from flask import render_template, request

from civic.console.blueprint import bp, see_other, staff_page
from civic.core import media
from civic.residents import service
from civic.residents.models import CLAIM_STATUSES

VERIFIER_KINDS = ("owners_committee", "residents_committee", "property_company")
STATUS_NAMES = {"pending": "待审核", "confirmed": "已确认", "refused": "已驳回"}
VIA_NAMES = {"roster": "业主名册自动核对", "owners_committee": "业委会", "residents_committee": "居委会",
             "property_company": "物业", "owner": "业主", "admin": "管理员"}


@bp.get("/unit-claims")
@staff_page(*VERIFIER_KINDS)
def claims_queue(user):
    """房屋认领审核队列（默认待审核）。"""
    status = request.args.get("status") or "pending"
    if status not in CLAIM_STATUSES:
        status = "pending"
    claims, cursor = service.claim_queue(user, status, cursor=request.args.get("cursor") or None, limit=50)
    return render_template("console/claims_queue.html", claims=claims, next_cursor=cursor, status=status,
                           statuses=STATUS_NAMES, relations=service.RELATION_NAMES)


@bp.get("/unit-claims/<int:claim_id>")
@staff_page(*VERIFIER_KINDS)
def claims_item(user, claim_id):
    """一条房屋认领：申请信息、证明材料（仅待审核时）、确认或驳回。"""
    claim = service.claim_for_reader(user, claim_id)
    return render_template("console/claim.html", c=claim, statuses=STATUS_NAMES, vias=VIA_NAMES,
                           relations=service.RELATION_NAMES, may_decide=service.may_decide(user, claim_id))


@bp.get("/unit-claims/<int:claim_id>/document")
@staff_page(*VERIFIER_KINDS)
def claims_document(user, claim_id):
    """证明材料照片（?size=thumb 取缩略图；访问记入审计日志）。"""
    size = request.args.get("size")
    return media.respond(service.claim_document(user, claim_id, None, size), size)


@bp.post("/unit-claims/<int:claim_id>/confirm")
@staff_page(*VERIFIER_KINDS)
def claims_confirm(user, claim_id):
    service.confirm_claim(user, claim_id)
    return see_other("console.claims_item", claim_id=claim_id)


@bp.post("/unit-claims/<int:claim_id>/refuse")
@staff_page(*VERIFIER_KINDS)
def claims_refuse(user, claim_id):
    service.refuse_claim(user, claim_id, request.form.get("reason", ""))
    return see_other("console.claims_item", claim_id=claim_id)
