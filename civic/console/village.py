"""村务公开 in the console: the village committee drafts, enters finance lines (typed or pasted from a
spreadsheet), checks the balance, submits and publishes; the supervision committee returns or signs
off; corrections are new versions; inquiries are answered; the committee reviews the blur of the
vouchers (审核打码).  Every rule is civic.village.service's."""

from __future__ import annotations

from flask import render_template, request, url_for

from civic.console import blur_review
from civic.console.blueprint import bp, chosen_place, see_other, staff_page
from civic.core.errors import Forbidden, ValidationFailed
from civic.village import service

KINDS = ("village_committee", "village_supervision", "street_centre")
LINE_KIND_NAMES = {"income": "收入", "expense": "支出"}
# The village page lists up to this many disclosures and inquiries, newest first (as before: no pages yet).
CONSOLE_ROWS = 500


def _roles(user, village) -> dict[str, bool]:
    def passes(check) -> bool:
        try:
            check(user, village)
            return True
        except Forbidden:
            return False

    return {"committee": passes(service.require_committee), "supervision": passes(service.require_supervisor)}


@bp.get("/village")
@staff_page(*KINDS)
def village_home(user):
    """本人所在村（或街镇所辖各村）的公开事项与村民查询。"""
    villages = service.villages_for(user)
    village = chosen_place(villages, "village", what="村")
    status = request.args.get("status") or None
    return render_template(
        "console/village.html", villages=villages, village=village, roles=_roles(user, village),
        disclosures=service.list_disclosures(village, user, status=status, limit=CONSOLE_ROWS)[0], status=status,
        inquiries=service.list_inquiries(village, user, limit=CONSOLE_ROWS)[0], statuses=service.STATUS_NAMES,
        categories=service.CATEGORY_NAMES)


@bp.get("/village/<village_code>/new")
@staff_page("village_committee")
def village_new(user, village_code):
    """起草公开事项（村民委员会）。"""
    village = service.village_by_code(village_code)
    service.require_committee(user, village)
    return render_template("console/village_new.html", village=village,
                           items=service.catalogue(village, active_only=True), categories=service.CATEGORY_NAMES,
                           cadences=service.CADENCE_NAMES)


def _lines_from_form(form) -> list[dict]:
    text = form.get("paste") or ""
    return service.parse_pasted_lines(text, form.get("kind") or "") if text.strip() else []


@bp.post("/village/<village_code>/new")
@staff_page("village_committee")
def village_create(user, village_code):
    form = request.form
    data = {"item_code": form.get("item_code", ""), "period": form.get("period", "").strip(),
            "title": form.get("title", ""), "body": form.get("body", "")}
    for key in ("opening_balance", "closing_balance"):
        if form.get(key, "").strip():
            data[key] = form[key].strip()
    lines = _lines_from_form(form)
    if lines:
        data["lines"] = lines
    d = service.create_disclosure(service.village_by_code(village_code), data, user)
    return see_other("console.village_disclosure", disclosure_id=d.id)


@bp.get("/village/disclosures/<int:disclosure_id>")
@staff_page(*KINDS)
def village_disclosure(user, disclosure_id):
    """公开事项：明细、合计与收支平衡核对、审核与公开、更正。"""
    d = service.view_disclosure(service.get_disclosure(disclosure_id), user)
    village = service.registry.get_place(d.village_id)
    service.require_village_reader(user, village)
    return render_template("console/village_disclosure.html", d=d, village=village, roles=_roles(user, village),
                           totals=service.totals(d), statuses=service.STATUS_NAMES, kinds=LINE_KIND_NAMES,
                           editable=d.status in service.EDITABLE, categories=service.CATEGORY_NAMES,
                           voucher_url=service.voucher_url)


@bp.post("/village/disclosures/<int:disclosure_id>/edit")
@staff_page("village_committee")
def village_edit(user, disclosure_id):
    """Balances, title and pasted lines (appended) of a draft, through update_disclosure."""
    form = request.form
    data = {k: form[k] for k in ("title", "body") if k in form}
    for key in ("opening_balance", "closing_balance"):
        if key in form:
            data[key] = form[key].strip() or None
    lines = _lines_from_form(form)
    if lines:
        data["lines"] = lines
    if not data:
        raise ValidationFailed("没有要保存的内容", code="nothing_to_save")
    service.update_disclosure(service.get_disclosure(disclosure_id), data, user)
    return see_other("console.village_disclosure", disclosure_id=disclosure_id)


@bp.post("/village/disclosures/<int:disclosure_id>/lines/<int:line_id>/delete")
@staff_page("village_committee")
def village_delete_line(user, disclosure_id, line_id):
    service.delete_line(service.get_disclosure(disclosure_id), line_id, user)
    return see_other("console.village_disclosure", disclosure_id=disclosure_id)


@bp.post("/village/disclosures/<int:disclosure_id>/transitions/<action>")
@staff_page("village_committee", "village_supervision")
def village_transition(user, disclosure_id, action):
    """提交、退回、审核签字、公开。"""
    service.transition(service.get_disclosure(disclosure_id), action, user, request.form.get("note") or None)
    return see_other("console.village_disclosure", disclosure_id=disclosure_id)


@bp.post("/village/disclosures/<int:disclosure_id>/correction")
@staff_page("village_committee")
def village_correction(user, disclosure_id):
    """更正：生成新版本草稿（旧版本保留）。"""
    new = service.create_correction(service.get_disclosure(disclosure_id),
                                    {"reason": request.form.get("reason", "")}, user)
    return see_other("console.village_disclosure", disclosure_id=new.id)


@bp.post("/village/inquiries/<int:inquiry_id>/answer")
@staff_page("village_committee")
def village_answer(user, inquiry_id):
    """答复村民查询。"""
    inq = service.answer(inquiry_id, request.form.get("answer", ""), user)
    village = service.registry.get_place(inq.village_id)
    return see_other("console.village_home", village=village.code, _anchor="inquiries")


# 审核打码 of a voucher: the village committee (civic.village.service.disclosures._voucher_reviewer).
blur_review.register_review_pages(
    service.VOUCHER, "/village/disclosures/<int:disclosure_id>/vouchers/<token>", "village_voucher_blur",
    staff_kinds=KINDS, subject="公开事项", others="村民和公开页面",
    back=lambda disclosure_id: url_for("console.village_disclosure", disclosure_id=disclosure_id))
