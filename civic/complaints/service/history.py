"""The case's timeline (办理进度), read from the audit log: what happened, who did it and through which
channel, as the viewer may know it.

Verb: history_for.  The API's history and the console's timeline both read it, so they name the same
people: a staff member who acted or revealed the complainant is named (to staff) with their
organisation; a case a partner filed (the 12345 hotline, another Open311 platform) says so and names
the partner.  Rules applied: RULES.md §5 (residents never see a staff member's name, nor the looks
at the case; whoever may not see the complainant does not read the reasons given for a reveal).
"""

from __future__ import annotations

from civic.complaints.service.privacy import get_for, identity_terms, redact, sees_complainant
from civic.complaints.service.workflow import ACTION_NAMES
from civic.core import audit
from civic.extensions import db
from civic.property import service as registry

#: Every action the timeline shows, by its name in the API's ``action`` (the audit action without
#: ``complaint.``), in Chinese.
HISTORY_NAMES = {
    **ACTION_NAMES, "submit": "居民提交", "viewed": "查看案件", "message": "留言", "result_photos": "上传处置照片",
    "complainant_revealed": "查看投诉人完整信息", "merged_in": "其他案件并入本案", "rated": "评价",
    "escalate": "超期升级督办", "escalated_lead": "超期未处置，移交执法部门主办", "overdue": "超期", "deadlines_recomputed": "按新的放假安排重算期限",
    "media.opened": "查看照片",
    "supported": "有居民附议（我也遇到）", "unsupported": "有居民取消附议", "support_photos": "附议居民上传照片",
}
#: A case a partner filed: the ``submit`` entry's name (the actor names the partner).
PARTNER_SUBMIT = "合作平台转来"
#: Looks at the case and at its photos, reveals and messages: kept from residents (the thread is
#: read in full at /messages).
_NOT_FOR_RESIDENTS = ("viewed", "media.opened", "complainant_revealed", "message")
#: Entries the timeline leaves out: the Open311 filing record repeats the ``submit`` entry, which
#: already names the partner.
_LEFT_OUT = ("open311.request",)
CHANNELS = ("system", "resident", "partner", "staff")


def history_for(user, complaint_id: int) -> list[dict]:
    """The case's timeline, oldest first: ``[{"at", "action", "action_name", "actor", "channel",
    "note"}]``.

    ``action``: the audit action without ``complaint.`` (``submit``, ``acknowledge``, ...);
    ``action_name`` its Chinese name (:data:`HISTORY_NAMES`; a partner's filing is
    :data:`PARTNER_SUBMIT`).  ``channel`` (:data:`CHANNELS`): ``partner`` for a case filed by a
    partner (the actor is the partner's name, e.g. ``12345市民服务热线``), ``resident``, ``staff``,
    ``system``.  ``actor``: to staff, a staff member as ``组织（姓名）`` — whoever acknowledged,
    resolved, posted, looked or revealed the complainant; to residents only the organisation's name
    (or ``工作人员``), themselves as ``您``, the complainant as ``投诉人``, another resident as
    ``居民``; ``系统`` for the system's own steps.  Residents do not see looks, reveals or message
    entries; whoever may not see the complainant gets no note on a reveal (RULES.md §5).
    :raises NotFound: ``complaint_not_found``.
    """
    from civic.accounts.models import User

    c, v = get_for(user, complaint_id, log_view=False)
    sees = sees_complainant(v)
    terms = None if sees else identity_terms([c])[c.id]
    users: dict[int, object] = {}
    orgs: dict[int, object] = {}

    def user_of(uid: int):
        if uid not in users:
            users[uid] = db.session.get(User, uid)
        return users[uid]

    def org_name(org_id: int) -> str:
        if org_id not in orgs:
            orgs[org_id] = registry.get_organisation(org_id)
        return orgs[org_id].name

    filer = user_of(c.complainant_id)
    out = []
    for e in audit.entries_for("complaint", c.id):
        action = e.action.removeprefix("complaint.")
        if action in _LEFT_OUT or (v.is_resident and action in _NOT_FOR_RESIDENTS):
            continue
        actor, channel = _actor(e, c, v, user, user_of, org_name)
        name = HISTORY_NAMES.get(action, action)
        if action == "submit" and filer is not None and filer.kind == "partner":
            name = PARTNER_SUBMIT
        note = e.note
        if action == "complainant_revealed" and not sees:
            note = None  # the reason for a reveal may name the complainant ("联系张女士核实")
        elif not sees:
            note = redact(note, terms)  # a note may name them too (privacy.text_for)
        out.append({"at": e.at, "action": action, "action_name": name, "actor": actor, "channel": channel,
                    "note": note})
    return out


def _actor(e, c, v, user, user_of, org_name) -> tuple[str, str]:
    """(how the viewer reads who made entry ``e``, its channel)."""
    if e.actor_role and "@" in e.actor_role:
        org = org_name(int(e.actor_role.rsplit(":", 1)[1]))
        who = user_of(e.actor_id) if e.actor_id and not v.is_resident else None
        return (f"{org}（{who.display_name}）" if who is not None else org), "staff"
    if e.actor_id is None:
        return "系统", "system"
    if v.is_resident and e.actor_id == user.id:
        return "您", "resident"
    who = user_of(e.actor_id)
    if who.kind == "partner":
        return who.display_name, "partner"
    if who.kind == "resident":
        return ("投诉人" if e.actor_id == c.complainant_id else "居民"), "resident"
    return ("工作人员" if v.is_resident else who.display_name), "staff"
