"""Cases (案件): an organisation's queue and a case page with exactly the actions the workflow allows,
and the case's possible duplicates with their reasons and a merge button for whoever may merge
(``service.duplicates_for``, the same answer as ``GET /api/v1/complaints/{id}/duplicates``).

Every rule lives in civic.complaints.service: the queue, the counts, who may do what
(``present(...)["allowed_actions"]``), the transitions, messages, result photos and the logged
reveal of the complainant.  Photos are served by the API's photo endpoint, which accepts the
console's session like a bearer token.
"""

from __future__ import annotations

from flask import render_template, request, url_for

from civic.accounts.memberships import acting_memberships
from civic.complaints import service
from civic.complaints.models import STATUSES
from civic.complaints.suggest import category_names
from civic.console import blur_review
from civic.console.blueprint import CASE_KINDS, bp, see_other, staff_page
from civic.core.errors import ValidationFailed
from civic.core.text import tidy
from civic.core.uploads import uploaded_files
from civic.property import service as registry

ROLE_NAMES = {"lead": "主办", "assist": "协办", "triage": "分拨（居委会、村委会）", "oversight": "督办（街镇）", "admin": "管理员"}


def _int(value, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("请输入整数编号", code="field_invalid", details={"field": field}) from exc


@bp.get("/cases")
@staff_page(*CASE_KINDS)
def cases_queue(user):
    """工单队列：按状态（含各状态件数）、类别、是否超期筛选。"""
    args = request.args
    org_id = _int(args.get("org"), "org")
    status = args.get("status") or None
    if status not in (None, *STATUSES):
        raise ValidationFailed("未知的状态", code="status_invalid", details={"status": status})
    category = args.get("category") or None
    overdue = {"1": True, "0": False}.get(args.get("overdue", ""))
    org, items, cursor = service.queue(user, organisation_id=org_id, status=status, category=category,
                                       overdue=overdue, cursor=args.get("cursor") or None, limit=50)
    counts = service.counts_by_status(user, org.id) if org.kind != "street_centre" else {}
    orgs = [o for _m, o in acting_memberships(user)]
    return render_template("console/queue.html", org=org, orgs=orgs, items=items, next_cursor=cursor,
                           counts=counts, total=sum(counts.values()), status=status, category=category,
                           overdue=args.get("overdue", ""), statuses=service.STATUS_NAMES,
                           categories=category_names())


def _case_page(user, complaint_id: int, *, revealed=None, log_view=True):
    c, v = service.get_for(user, complaint_id, log_view=log_view)
    data = service.present(user, c, v)
    if revealed is not None:
        data["complainant"] = revealed
    reroute_options = []
    if "reroute" in data["allowed_actions"] and c.place_id:
        from civic.complaints.routing import LEAD_KINDS

        reroute_options = [o for o in registry.organisations_covering(registry.get_place(c.place_id))
                           if o.kind in LEAD_KINDS]
    from civic.complaints.routing import details

    return render_template(
        "console/case.html", c=data, history=service.history_for(user, c.id),
        messages=service.messages_for(user, c.id), categories=category_names(),
        role_names=ROLE_NAMES, reroute_options=reroute_options,
        action_names=service.ACTION_NAMES, revealed=revealed is not None,
        dups=service.duplicates_for(user, c.id), status_names=service.STATUS_NAMES,
        details=details(c.category))


@bp.get("/cases/<int:complaint_id>")
@staff_page()
def cases_detail(user, complaint_id):
    """案件详情：照片、进度、留言与当前可做的操作（查看记入审计日志）。"""
    return _case_page(user, complaint_id)


@bp.post("/cases/<int:complaint_id>/actions/<action>")
@staff_page()
def cases_action(user, complaint_id, action):
    """签收、开始处置、退回、办结（可附处置照片）、重新派单、合并：同一个工作流服务。"""
    form = request.form
    # Every action form carries the version of the case it was shown at: acting on a case someone
    # else has changed since is refused (409 case_changed), never done blind.
    version = _int(form.get("version"), "version")
    if version is None:
        raise ValidationFailed("页面缺少案件版本，请刷新页面后重试", code="version_required")
    if action == "resolve":
        files = uploaded_files("photos")
        if files:  # photos and the resolution in one request: both stored, or neither
            service.add_result_photos(user, complaint_id, files)
    service.transition(user, complaint_id, action, note=tidy(form.get("note") or "", 2000) or None,
                       expected_version=version,
                       lead_organisation_id=_int(form.get("lead_organisation_id"), "lead_organisation_id"),
                       into_id=_int(form.get("into_id"), "into_id"))
    return see_other("console.cases_detail", complaint_id=complaint_id)


@bp.post("/cases/<int:complaint_id>/messages")
@staff_page()
def cases_message(user, complaint_id):
    """给居民留言，或写内部备注（居民看不到）。"""
    service.add_message(user, complaint_id, request.form.get("body", ""),
                        internal=request.form.get("internal") == "1")
    return see_other("console.cases_detail", complaint_id=complaint_id, _anchor="thread")


@bp.post("/cases/<int:complaint_id>/photos")
@staff_page()
def cases_photos(user, complaint_id):
    """主办方上传处置照片。"""
    files = uploaded_files("photos")
    service.add_result_photos(user, complaint_id, files)
    return see_other("console.cases_detail", complaint_id=complaint_id)


# 审核打码 of a case photo: the lead party's staff (civic.complaints.service.photos._reviewer).
blur_review.register_review_pages(
    service.PHOTO, "/cases/<int:complaint_id>/photos/<token>", "cases_blur", subject="案件",
    others="协办单位、合作方和公开页面",
    back=lambda complaint_id: url_for("console.cases_detail", complaint_id=complaint_id))


@bp.post("/cases/<int:complaint_id>/complainant")
@staff_page()
def cases_reveal(user, complaint_id):
    """查看投诉人完整信息：须填写事由，记入审计日志。

    The answer is the case page itself rather than a redirect: the identity must not travel in a
    URL or in the (signed, not encrypted) session cookie, and each reveal is one logged event.
    """
    c, v = service.get_for(user, complaint_id, log_view=False)
    revealed = service.complainant_for(user, c, v, reveal=True, reason=request.form.get("reason"))
    return _case_page(user, complaint_id, revealed=revealed, log_view=False)
