"""The case's message thread between residents and the handling parties.

Verbs: add_message (internal notes are staff-only; a party's public reply notifies the residents),
messages_for (residents see the party's name, never a staff member's, and no internal notes).
"""

from __future__ import annotations

import sqlalchemy as sa

from civic.complaints.models import ComplaintMessage, ComplaintReporter
from civic.complaints.service.privacy import get_for, identity_terms, sees_complainant, text_for
from civic.complaints.service.workflow import require_open
from civic.core import audit
from civic.core.errors import Forbidden
from civic.core.notifications import notify
from civic.core.text import require_text
from civic.extensions import db
from civic.property import service as registry


def add_message(user, complaint_id: int, body: str, *, internal: bool = False) -> ComplaintMessage:
    """Post to the case's thread.  Residents (complainant or reporter) and staff of the handling
    parties may post; ``internal`` notes are staff-only.  Nobody posts on a closed or merged case
    (staff notes included).  :raises Forbidden: ``internal_note_forbidden``, ``message_not_allowed``.
    :raises Conflict: ``complaint_closed``, ``complaint_merged``.  :raises ValidationFailed:
    ``text_required``/``text_too_long`` (2,000 characters).

    Order (issue #15): the case seen, who may post (and post internally), then the case's state,
    then the text."""
    c, v = get_for(user, complaint_id, log_view=False)
    org = None
    if v.is_resident:
        if internal:
            raise Forbidden("居民不能发布内部备注", code="internal_note_forbidden")
        if not v.roles & {"complainant", "reporter"}:
            # A supporter ("me too") follows the thread; the conversation is the reporters'.
            raise Forbidden("附议居民不能在该案件留言", code="message_not_allowed")
    else:
        org = v.acting_org(("lead", "assist", "triage", "oversight"))
        if org is None:
            raise Forbidden("您不能在该案件留言", code="message_not_allowed")
    require_open(c, "留言")  # staff notes too: a closed case is closed (issue #15 point 10)
    body = require_text(body, "body", 2000)
    m = ComplaintMessage(complaint_id=c.id, author_id=user.id, organisation_id=org.id if org else None,
                         body=body, internal=internal)
    db.session.add(m)
    db.session.flush()
    audit.record("complaint.message", "complaint", c.id, actor=user,
                 actor_role=f"{user.kind}@{org.kind}:{org.id}" if org else None,
                 data={"message_id": m.id, "internal": internal})
    if org is not None and not internal:
        from civic.complaints.service.supporters import supporters_of

        reporters = list(db.session.scalars(sa.select(ComplaintReporter.user_id).where(
            ComplaintReporter.complaint_id == c.id)))
        # Supporters ("me too") are told of a party's reply as reporters are.
        for uid in [*reporters, *(u for u in supporters_of(c.id) if u not in set(reporters))]:
            notify(uid, "complaint_message", f"{org.name}回复了您反映的问题",
                   {"complaint_id": c.id, "by": org.name, "text": body[:100]},
                   dedupe_key=f"complaint-message:{m.id}:u{uid}", object_type="complaint", object_id=c.id)
    return m


def messages_for(user, complaint_id: int) -> list[dict]:
    """The thread as the user may see it: residents see the party's name, never a staff member's,
    and no internal notes; whoever may not see the complainant reads every body without what names
    them (:func:`~civic.complaints.service.privacy.text_for`)."""
    c, v = get_for(user, complaint_id, log_view=False)
    rows = db.session.scalars(sa.select(ComplaintMessage).where(ComplaintMessage.complaint_id == c.id)
                              .order_by(ComplaintMessage.id)).all()
    org_names = {}
    terms = None if sees_complainant(v) else identity_terms([c])[c.id]
    out = []
    for m in rows:
        if m.internal and v.is_resident:
            continue
        if m.organisation_id:
            if m.organisation_id not in org_names:
                org_names[m.organisation_id] = registry.get_organisation(m.organisation_id).name
            author = org_names[m.organisation_id]
            if not v.is_resident:
                from civic.accounts.models import User

                author = f"{author}（{db.session.get(User, m.author_id).display_name}）"
        else:
            author = "您" if m.author_id == user.id else "居民"
        out.append({"id": m.id, "author": author, "from_resident": m.organisation_id is None,
                    "body": text_for(c, v, m.body, terms), "internal": m.internal, "created_at": m.created_at})
    return out
