"""What a party (or a resident) reads: an organisation's queue and its counts, a resident's own
cases, and one case as its viewer may see it.

Verbs: queue (keyset-paged; the street centre sees every case in its street), counts_by_status,
my_complaints and summaries (list lines), present (the case dict, with the complainant and the place as
privacy.complainant_for and privacy.location_for allow and the actions workflow.allowed_actions
allows).  The timeline is history.history_for.
"""

from __future__ import annotations

import sqlalchemy as sa

from civic.accounts.memberships import acting_memberships
from civic.complaints import routing
from civic.complaints.models import Complaint, ComplaintParty, ComplaintReporter, ComplaintSupporter
from civic.complaints.service.photos import photo_links
from civic.complaints.service.privacy import (
    Viewer,
    at_reporters_unit,
    complainant_for,
    complainant_seen_in,
    identity_terms,
    location_for,
    people_of,
    redact,
    sees_complainant,
    text_for,
)
from civic.complaints.service.workflow import STATUS_NAMES, allowed_actions
from civic.core import blur
from civic.core.errors import Forbidden
from civic.core.pagination import cursor_values, encode_cursor
from civic.extensions import db
from civic.property import service as registry


def my_complaints(user, *, cursor=None, limit=20):
    """The resident's cases (filed, followed after a merge, or supported: "me too"), newest first,
    as :func:`summaries` with ``"supported"``: True for a case they follow as a supporter only (a
    co-complainant or supporter sees the case's place as the complainant's neighbours would).
    Returns ``(items, next_cursor)``."""
    # The page's ids from the resident's own rows (a few dozen over ten years: the user_id indexes
    # of complaint_reporter and complaint_supporter), newest first, LIMIT inside; then their rows by
    # primary key.  ("id IN (reporters) OR id IN (supporters) ORDER BY id DESC LIMIT 21" walked the
    # complaint table's primary key backwards, testing each case: seconds at 10,000,000 cases.)
    reported_q = sa.select(ComplaintReporter.complaint_id.label("id")).where(ComplaintReporter.user_id == user.id)
    supported_q = sa.select(ComplaintSupporter.complaint_id).where(ComplaintSupporter.user_id == user.id)
    if cursor:
        (last_id,) = cursor_values(cursor, [Complaint.id])
        reported_q = reported_q.where(ComplaintReporter.complaint_id < last_id)
        supported_q = supported_q.where(ComplaintSupporter.complaint_id < last_id)
    page = sa.union(reported_q, supported_q).order_by(sa.literal_column("id").desc()).limit(limit + 1)
    items = list(db.session.scalars(sa.select(Complaint).where(Complaint.id.in_(page)).order_by(Complaint.id.desc())))
    cursor = None
    if len(items) > limit:
        items = items[:limit]
        cursor = encode_cursor([items[-1].id])
    out = summaries(user, items)
    reported = set(db.session.scalars(sa.select(ComplaintReporter.complaint_id).where(
        ComplaintReporter.user_id == user.id, ComplaintReporter.complaint_id.in_([c.id for c in items]))))
    for item in out:
        item["supported"] = item["id"] not in reported
    return out, cursor


def summaries(user, cases, *, organisations=None) -> list[dict]:
    """One line per case for a list (a queue page, a resident's cases): ``{"id", "category",
    "status", "overdue", "urgent", "created_at", "acknowledge_due", "resolve_due", "description"
    (its first 80 characters), "place_id", "supporters"}``.  ``place_id`` is the place this user may see
    (:func:`~civic.complaints.service.privacy.location_for`: the building, not the complainant's
    own unit, for whoever may not see the complainant).  Who may see the complainant is worked out
    for the whole page at once and only for the cases placed at a reporter's unit
    (:func:`~civic.complaints.service.privacy.complainant_seen_in`): a page costs a few queries, the
    same number for a page of 5 cases as of 50 (tests/complaints/test_queue.py counts them).
    ``organisations``: the user's acting organisations when the caller has read them already."""
    # The reporters and supporters of the page, read once: whose unit a case is at, what its text
    # must not name, and how many support it.
    people = people_of(c.id for c in cases)
    own = at_reporters_unit(cases, people=people)
    seen = complainant_seen_in(user, cases, organisations=organisations)
    # The description as this user may read it (privacy.text_for), for the whole page at once.
    terms = identity_terms([c for c in cases if c.id not in seen], people=people)
    out = []
    for c in cases:
        place_id = c.place_id
        if c.id in own and c.id not in seen:
            place_id = c.building_id
        text = c.description if c.id in seen else redact(c.description, terms[c.id])
        out.append({"id": c.id, "category": c.category, "status": c.status, "overdue": c.overdue,
                    "urgent": c.urgent, "created_at": c.created_at, "acknowledge_due": c.acknowledge_due,
                    "resolve_due": c.resolve_due, "description": text[:80], "place_id": place_id,
                    "supporters": people.supporters_count(c.id)})
    return out


def queue(user, *, organisation_id: int | None = None, status: str | None = None, category: str | None = None,
          overdue: bool | None = None, place_id: int | None = None, cursor=None, limit=20):
    """One organisation's queue, newest first: the cases where it is an active party; the street
    centre sees every case in its street.  Returns ``(organisation, items as :func:`summaries`,
    next_cursor)``.

    ``organisation_id`` picks which of the user's organisations (default: the first).  ``place_id``
    keeps the cases at or beneath that place; a unit finds only the cases this organisation sees
    placed at that unit: a case at a reporter's own unit, which a party that may not see the
    complainant sees at its building (RULES.md §5), is not found by its unit either.
    :raises Forbidden: ``not_a_member``, ``no_queue``.
    """
    acting = memberships = [org for _m, org in acting_memberships(user)]
    if organisation_id is not None:
        memberships = [o for o in memberships if o.id == organisation_id]
        if not memberships:
            raise Forbidden("您不是该组织的工作人员", code="not_a_member",
                            details={"organisation_id": organisation_id})
    if not memberships:
        raise Forbidden("您没有可查看的工单队列", code="no_queue")
    org = memberships[0]
    # Keyset on the case id, in two steps: first the ids from one index range (the party rows, or the
    # street's cases), then those rows.  A join ordered by id would make PostgreSQL walk the
    # complaint index from the top to reach a deep cursor.
    if org.kind == "street_centre":
        key = Complaint.id
        ids = sa.select(Complaint.id).where(Complaint.street_id.in_(_street_ids(org.id)))
        if status:
            ids = ids.where(Complaint.status == status)
        if overdue is not None:
            ids = ids.where(Complaint.overdue.is_(overdue))
    else:
        key = ComplaintParty.complaint_id
        ids = sa.select(ComplaintParty.complaint_id).where(
            ComplaintParty.organisation_id == org.id, ComplaintParty.active.is_(True))
        if status:
            ids = ids.where(ComplaintParty.status == status)
        if overdue is not None:
            ids = ids.where(ComplaintParty.overdue.is_(overdue))
        if category or place_id is not None:
            ids = ids.join(Complaint, Complaint.id == ComplaintParty.complaint_id)
    if category:
        ids = ids.where(Complaint.category == category)
    if place_id is not None:
        place = registry.get_place(place_id)
        ids = ids.where(Complaint.place_id.in_(registry.descendant_ids_stmt(place)))
        if place.kind == "unit":
            living = [r.user_id for r in registry.residents_of_unit(place.id)]
            own_unit = sa.or_(Complaint.location_source == "address", sa.exists().where(
                ComplaintReporter.complaint_id == Complaint.id, ComplaintReporter.user_id.in_(living)),
                sa.exists().where(  # a supporter's own unit names them as well (privacy.People.of)
                    ComplaintSupporter.complaint_id == Complaint.id, ComplaintSupporter.user_id.in_(living)))
            if key is ComplaintParty.complaint_id:
                ids = ids.where(sa.or_(ComplaintParty.may_see_complainant.is_(True), ~own_unit))
            else:  # the street's oversight never sees the complainant
                ids = ids.where(~own_unit)
    if cursor:
        (last,) = cursor_values(cursor, [key])
        ids = ids.where(key < last)
        if key is ComplaintParty.complaint_id and (category or place_id is not None):
            ids = ids.where(Complaint.id < last)
    # The ids (one index range, LIMIT inside the sub-select, so PostgreSQL reads that range first)
    # and their rows by primary key, in one round trip.
    page = sorted(db.session.scalars(sa.select(Complaint).where(
        Complaint.id.in_(ids.order_by(key.desc()).limit(limit + 1)))), key=lambda c: c.id, reverse=True)
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        next_cursor = encode_cursor([page[-1].id])
    return org, summaries(user, page, organisations=acting), next_cursor


def counts_by_status(user, organisation_id: int | None = None) -> dict[str, int]:
    org_list = [org for _m, org in acting_memberships(user) if organisation_id in (None, org.id)]
    if not org_list:
        raise Forbidden("您没有可查看的工单队列", code="no_queue")
    org = org_list[0]
    if org.kind == "street_centre":  # the street centre's queue is every case in its street
        rows = db.session.execute(sa.select(Complaint.status, sa.func.count()).where(
            Complaint.street_id.in_(_street_ids(org.id))).group_by(Complaint.status))
        return dict(rows.all())
    rows = db.session.execute(sa.select(ComplaintParty.status, sa.func.count()).where(
        ComplaintParty.organisation_id == org.id, ComplaintParty.active.is_(True)).group_by(ComplaintParty.status))
    return dict(rows.all())


def _street_ids(org_id: int) -> list[int]:
    # The places the street centre is bound to (its street or streets), as literal values: PostgreSQL
    # then walks ix_complaint_street (street_id, id) backwards for a page.
    return registry.covered_place_ids(org_id)


def present(user, c: Complaint, v: Viewer, *, duplicates: list[dict] | None = None) -> dict:
    """The case as this viewer may see it (see :class:`civic.complaints.schemas.ComplaintSchema`)."""
    org_ids = {p.organisation_id for p in c.parties} | ({c.lead_organisation_id} if c.lead_organisation_id else set())
    orgs = {o.id: o for o in (registry.get_organisation(i) for i in org_ids)}
    lead = orgs.get(c.lead_organisation_id)
    from civic.complaints.service.supporters import supporter_counts

    loc = location_for(c, v)
    place = loc.place
    terms = None if sees_complainant(v) else identity_terms([c])[c.id]
    blurs = blur.lookup(p.display_key for p in c.photos)  # the photos' blur states in one query
    out = {
        "id": c.id, "version": c.version, "category": c.category, "category_detail": c.category_detail,
        "complained_kind": c.complained_kind, "description": text_for(c, v, c.description, terms),
        "status": c.status, "status_name": STATUS_NAMES[c.status],
        "place": {"id": place.id, "kind": place.kind, "name": place.name} if place else None,
        "address": c.address_text, "location_source": c.location_source,
        "lead": {"id": lead.id, "kind": lead.kind, "name": lead.name} if lead else None,
        "lead_fallback": c.lead_fallback,
        "assisting": [{"id": p.organisation_id, "kind": orgs[p.organisation_id].kind,
                       "name": orgs[p.organisation_id].name}
                      for p in c.parties if p.active and p.role == "assist"],
        "referrals": [{"authority": r.authority, "name": routing.authority_name(r.authority), "role": r.role}
                      for r in c.referrals],
        "acknowledge_due": c.acknowledge_due, "resolve_due": c.resolve_due,
        "deadlines_provisional": c.deadlines_provisional, "overdue": c.overdue,
        "escalated": c.escalated_at is not None, "created_at": c.created_at,
        "acknowledged_at": c.acknowledged_at, "resolved_at": c.resolved_at, "closed_at": c.closed_at,
        "merged_into_id": c.merged_into_id, "rating": c.rating,
        "rating_comment": text_for(c, v, c.rating_comment, terms),
        "photos": [photo_links(user, v, c, p, blurs) for p in c.photos],
        "complainant": complainant_for(user, c, v),
        # "Me too" (service.supporters): how many; who, to nobody (RULES.md §5).
        "supporters_count": supporter_counts([c.id]).get(c.id, 0),
        "your_roles": sorted(v.roles),
        "allowed_actions": allowed_actions(c, v),
    }
    if not v.is_resident:
        out["parties"] = [{"id": p.organisation_id, "kind": orgs[p.organisation_id].kind,
                           "name": orgs[p.organisation_id].name, "role": p.role, "active": p.active,
                           "may_see_complainant": p.may_see_complainant} for p in c.parties]
        out["lat"], out["lng"] = loc.lat, loc.lng
    if duplicates is not None:
        out["possible_duplicates"] = duplicates
    return out
