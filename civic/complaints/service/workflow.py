"""The case's workflow: the states, the transitions (declared once in TRANSITIONS) and who may
take them, the deadlines in working days, the staff actions and the automatic close.

Verbs: transition (acknowledge, start, resolve, return, reroute, merge), allowed_actions,
require_open (a closed or merged case takes no change), enqueue_auto_close, and _apply / _deadlines (also used by intake and civic.complaints.jobs, which
marks overdue cases and escalates them).  Rules applied: RULES.md §3 (deadlines in Chinese working
days from civic.core.calendar; a returned case goes back to the residents' committee).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.complaints import routing
from civic.complaints.models import OPEN_STATUSES, Complaint, ComplaintReporter
from civic.complaints.service.assignment import _reroute
from civic.complaints.service.privacy import Viewer, get_for, viewer_for
from civic.core import audit
from civic.core.calendar import legal_period_end, work_calendar
from civic.core.db import utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.notifications import notify
from civic.extensions import db

#: The complainant rates a resolved case within 7 days (a period in days: :func:`rating_closes_at`).
RATING_DAYS = 7
#: The nominal length only; whether the window is open is :func:`rating_closes_at`'s answer.
RATING_WINDOW = dt.timedelta(days=RATING_DAYS)

STATUS_NAMES = {
    "submitted": "已提交", "routed": "已派单", "acknowledged": "已签收", "in_progress": "处置中",
    "resolved": "已办结", "closed": "已结案", "returned": "已退回", "reopened": "已重新处理", "merged": "已合并",
}

# The workflow, declared once: action → states it may start from, the state it leads to, and who may
# take it.  Roles are relative to the case: lead / assist (party rows), triage (the community's
# residents' committee), oversight (the street centre), complainant, system.
TRANSITIONS: dict[str, dict] = {
    "route": {"from": ("submitted",), "to": "routed", "by": ("system",)},
    "acknowledge": {"from": ("routed", "reopened"), "to": "acknowledged", "by": ("lead",)},
    "start": {"from": ("acknowledged",), "to": "in_progress", "by": ("lead",)},
    "resolve": {"from": ("acknowledged", "in_progress", "reopened"), "to": "resolved", "by": ("lead",),
                "note_required": True},
    "return": {"from": ("routed", "acknowledged"), "to": "returned", "by": ("lead", "assist"),
               "note_required": True},
    "reroute": {"from": ("returned",), "to": "routed", "by": ("triage", "oversight")},
    "merge": {"from": OPEN_STATUSES, "to": "merged", "by": ("triage", "oversight")},
    "reopen": {"from": ("resolved",), "to": "reopened", "by": ("complainant",)},
    "close": {"from": ("resolved",), "to": "closed", "by": ("complainant", "system")},
}
STAFF_ACTIONS = ("acknowledge", "start", "resolve", "return", "reroute", "merge")

#: The states in which a case is over: nothing on it changes any more.
ENDED_STATUSES = ("closed", "merged")


def require_open(c: Complaint, doing: str) -> None:
    """Refuse any change to a closed or merged case (issue #15 point 10: a closed case is closed).

    What the workflow still allows on an ended case goes through its own check instead: the
    complainant's rating within its window (``rating_not_open`` once the case is closed) and the
    reopen it may lead to.  Revealing the complainant is a logged read, not a change, and is not
    refused here.  ``doing``: the verb for the message (``"上传处置照片"``).  Call it after the
    permission check (an outsider learns nothing of the case's state).
    :raises Conflict: ``complaint_closed``; ``complaint_merged`` (details name the case it went into).
    """
    if c.status == "merged":
        raise Conflict(f"该案件已并入案件 #{c.merged_into_id}，不能再{doing}，请在该案件上办理",
                       code="complaint_merged", details={"status": c.status, "merged_into_id": c.merged_into_id})
    if c.status == "closed":
        raise Conflict(f"该案件已结案，不能再{doing}", code="complaint_closed", details={"status": c.status})


def rating_closes_at(c: Complaint, calendar=None) -> dt.datetime:
    """When the complainant's 7 days to rate a resolved case end: 23:59:59 Asia/Shanghai of the 7th
    day after the day of resolution, moved to the first working day after it when that day is off
    (Civil Code Arts. 201, 203: a period in days, the resident keeps the whole of it).  After this
    moment the case may be closed unrated.  ``c.resolved_at`` must be set."""
    return legal_period_end(c.resolved_at, RATING_DAYS, calendar).due


def _deadlines(c: Complaint, rule: routing.Rule, start: dt.datetime, calendar=None) -> None:
    cal = calendar or work_calendar()
    if c.urgent and rule.urgent_acknowledge_hours:
        ack = cal.deadline(start, rule.urgent_acknowledge_hours, "hours")
    else:
        ack = cal.deadline(start, rule.acknowledge[0], rule.acknowledge[1])
    res = cal.deadline(start, rule.resolve[0], rule.resolve[1])
    c.acknowledge_due, c.resolve_due = ack.due, res.due
    c.deadlines_provisional = ack.provisional or res.provisional


def _apply(c: Complaint, action: str, *, actor, note: str | None, now: dt.datetime | None = None,
           org=None, data: dict | None = None) -> None:
    t = TRANSITIONS[action]
    if c.status not in t["from"]:
        raise Conflict(f"案件当前状态为“{STATUS_NAMES[c.status]}”，不能{ACTION_NAMES[action]}",
                       code="invalid_transition",
                       details={"status": c.status, "action": action, "allowed_from": list(t["from"])})
    now = now or utcnow()
    before = c.status
    c.status = t["to"]
    c.updated_at = now
    for p in c.parties:
        p.status = c.status
    stamp = {"routed": "routed_at", "acknowledged": "acknowledged_at", "resolved": "resolved_at",
             "closed": "closed_at"}.get(c.status)
    if stamp:
        setattr(c, stamp, now)
    if c.overdue and c.status in ("acknowledged", "in_progress", "resolved", "closed", "merged"):
        # Late acknowledgement clears the flag unless the resolve deadline has passed too; the
        # escalation and the audit entries keep the history.
        c.overdue = c.status in ("acknowledged", "in_progress") and c.resolve_due is not None and c.resolve_due < now
        for p in c.parties:
            p.overdue = c.overdue
    audit.record(f"complaint.{action}", "complaint", c.id, actor=actor,
                 actor_role=f"{actor.kind}@{org.kind}:{org.id}" if (actor and org) else None,
                 note=note, data={"from": before, "to": c.status, **(data or {})})
    _notify_reporters(c, action, note, org)


ACTION_NAMES = {"route": "派单", "acknowledge": "签收", "start": "开始处置", "resolve": "办结", "return": "退回",
                "reroute": "重新派单", "merge": "合并", "reopen": "重新处理", "close": "结案"}


def _notify_reporters(c: Complaint, action: str, note: str | None, org) -> None:
    """Tell everyone who follows the case of its step: its reporters and its supporters ("me too":
    notified like a reporter, issue #18 point 5), each once (the dedupe key names the step)."""
    from civic.complaints.service.supporters import supporters_of

    reporters = db.session.scalars(sa.select(ComplaintReporter.user_id).where(
        ComplaintReporter.complaint_id == c.id)).all()
    supporters = [uid for uid in supporters_of(c.id) if uid not in set(reporters)]
    for uid in [*reporters, *supporters]:
        whose = "您附议的问题" if uid in supporters else "您反映的问题"
        notify(uid, "complaint_status", f"{whose}{STATUS_NAMES[c.status]}",
               {"complaint_id": c.id, "status": c.status, "status_name": STATUS_NAMES[c.status],
                "by": org.name if org else "系统", "note": (note or "")[:100]},
               dedupe_key=f"complaint:{c.id}:v{c.version}:{action}:u{uid}",
               object_type="complaint", object_id=c.id)


def transition(user, complaint_id: int, action: str, *, note: str | None = None,
               expected_version: int | None = None, lead_organisation_id: int | None = None,
               into_id: int | None = None, now: dt.datetime | None = None) -> Complaint:
    """A staff action on a case: acknowledge, start, resolve, return, reroute, merge.

    Who may act is declared in :data:`TRANSITIONS`.  ``expected_version`` (the ``version`` the
    client last saw): when given and stale, 409 ``case_changed``; two staff acting at once — one
    wins, the other gets 409 (optimistic lock on the row).  ``now``: when it happened (default now).
    :raises Conflict: ``complaint_closed``, ``complaint_merged`` (:func:`require_open`),
        ``invalid_transition``, ``case_changed``.  :raises Forbidden:
        ``transition_not_allowed``.  :raises ValidationFailed: ``note_required``,
        ``lead_organisation_invalid``, ``merge_target_invalid``.  :raises NotFound:
        ``complaint_not_found`` (also a case ``user`` may not see).

    Order (issue #15): the case seen, then who may take the action, then the case's version and
    state, then the note and targets: a party with no right to the action learns nothing of them.
    """
    c, v = get_for(user, complaint_id, log_view=False)
    if action not in STAFF_ACTIONS:
        raise ValidationFailed("未知的操作", code="action_unknown", details={"action": action,
                                                                          "allowed": list(STAFF_ACTIONS)})
    t = TRANSITIONS[action]
    org = v.acting_org(t["by"])
    if org is None:
        raise Forbidden(f"您所在的组织不能对该案件{ACTION_NAMES[action]}", code="transition_not_allowed",
                        details={"action": action, "your_roles": sorted(v.roles), "required": list(t["by"])})
    if expected_version is not None and expected_version != c.version:
        raise Conflict("案件已被他人更新，请刷新后重试", code="case_changed",
                       details={"expected_version": expected_version, "version": c.version})
    require_open(c, ACTION_NAMES[action])
    if t.get("note_required") and not (note and note.strip()):
        raise ValidationFailed(f"{ACTION_NAMES[action]}须填写说明", code="note_required")
    data = {}
    if action == "reroute":
        data = _reroute(c, lead_organisation_id)
    elif action == "merge":
        data = _merge(c, into_id, user, org)
    elif action == "return":
        # Back to the residents' committee to route again (RULES.md §3: it triages).
        for p in c.parties:
            if p.role == "triage":
                p.active = True
    _apply(c, action, actor=user, note=note, org=org, data=data, now=now)
    if action == "resolve":
        enqueue_auto_close(c)
    db.session.flush()  # surface a lost optimistic-lock race here, as a 409
    return c


def _merge(c: Complaint, into_id: int | None, user, org) -> dict:
    if into_id is None:
        raise ValidationFailed("须指定要并入的案件（into_id）", code="merge_target_invalid")
    if into_id == c.id:
        raise ValidationFailed("不能把案件并入它自己", code="merge_target_invalid", details={"into_id": into_id})
    target = db.session.get(Complaint, into_id)
    invalid = ValidationFailed("目标案件不存在、已办结或不在同一街道", code="merge_target_invalid",
                               details={"into_id": into_id})
    if target is None or target.street_id != c.street_id:
        raise invalid
    try:
        viewer_for(user, target)  # must be visible to the one merging; else it is as if absent
    except NotFound as exc:
        raise invalid from exc
    require_open(target, "并入案件")  # a closed or merged case takes no reporters either (409)
    if target.status not in OPEN_STATUSES:
        raise invalid
    c.merged_into_id = target.id
    have = set(db.session.scalars(sa.select(ComplaintReporter.user_id).where(
        ComplaintReporter.complaint_id == target.id)))
    for r in db.session.scalars(sa.select(ComplaintReporter).where(ComplaintReporter.complaint_id == c.id)):
        if r.user_id not in have:
            db.session.add(ComplaintReporter(complaint_id=target.id, user_id=r.user_id, via_complaint_id=c.id))
            have.add(r.user_id)
    from civic.complaints.service.supporters import carry_on_merge

    carry_on_merge(c, target)
    audit.record("complaint.merged_in", "complaint", target.id, actor=user,
                 actor_role=f"{user.kind}@{org.kind}:{org.id}", data={"merged": c.id})
    return {"into": target.id}


def enqueue_auto_close(c: Complaint) -> None:
    """Close the case when its 7 rating days are over (:func:`rating_closes_at`) if nobody rated it
    (a deferred job; the daily ``close_unrated`` catches a window a later notice moved)."""
    from civic.core.jobs import enqueue_at

    enqueue_at(rating_closes_at(c) + dt.timedelta(seconds=1), "civic.complaints.jobs.auto_close_one", c.id)


def allowed_actions(c: Complaint, v: Viewer) -> list[str]:
    """What this viewer may do now (the console shows exactly these buttons)."""
    acts = []
    for name, t in TRANSITIONS.items():
        if c.status in t["from"] and set(t["by"]) & v.roles and name != "route":
            acts.append(name)
    if "complainant" in v.roles and c.status == "resolved":
        acts.append("rate")
    return acts
