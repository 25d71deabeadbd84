"""The two village committees and who may act for a village.

Verbs: villages_for, village_by_code; is_conflicted, require_committee, require_supervisor,
require_village_reader (who may act); check_membership_conflict, add_committee_member (who sits on
the committees).  Source: 村民委员会组织法 (2018) Art. 32 (no village committee member sits on the
supervision committee); RULES.md §2.
"""

from __future__ import annotations

import sqlalchemy as sa

from civic.accounts.memberships import acting_memberships
from civic.core import audit
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.extensions import db
from civic.property import service as registry


def villages_for(user) -> list:
    """The villages whose affairs ``user`` works on: those covered by their village committee or
    supervision committee, and every village in their street centre's street(s).  Admins: all."""
    kinds = ("village_committee", "village_supervision", "street_centre")
    if user.kind == "admin":
        return list(db.session.scalars(sa.select(registry.Place).where(registry.Place.kind == "village")
                                       .order_by(registry.Place.code)))
    paths = {p for _m, org in acting_memberships(user, org_kinds=kinds) for p in registry.covered_place_paths(org.id)}
    if not paths:
        return []
    return list(db.session.scalars(sa.select(registry.Place).where(
        registry.Place.kind == "village", sa.or_(*[registry.Place.path.startswith(p) for p in paths]))
        .order_by(registry.Place.code)))


def village_by_code(code: str):
    """The village place with ``code``, or ``NotFound`` (``village_not_found``)."""
    place = registry.place_by_code(code)
    if place is None or place.kind != "village":
        raise NotFound("找不到该村", code="village_not_found", details={"village_code": code})
    return place


def _org_of_kind(user, village, kind: str):
    """The user's organisation of ``kind`` that covers ``village``, or None."""
    for _m, org in acting_memberships(user, org_kinds=(kind,)):
        if registry.organisation_covers(org.id, village.id):
            return org
    return None


def is_conflicted(user, village) -> bool:
    """True when ``user`` serves on both the village committee and the supervision committee of
    ``village`` (组织法 Art. 32: no village committee member sits on the supervision committee)."""
    return bool(_org_of_kind(user, village, "village_committee") and _org_of_kind(user, village, "village_supervision"))


def require_committee(user, village):
    """The acting village committee of ``village``; admins pass.  :raises Forbidden: ``not_village_committee``."""
    if user.kind == "admin":
        return None
    org = _org_of_kind(user, village, "village_committee")
    if org is None:
        raise Forbidden("仅该村村民委员会工作人员可操作", code="not_village_committee",
                        details={"village_id": village.id})
    return org


def require_supervisor(user, village):
    """The supervision committee ``user`` acts for; refuses conflicted members.

    :raises Forbidden: ``not_village_supervision``; ``supervision_conflict`` when the user is also a
        member of the village committee (组织法 Art. 32).
    """
    org = _org_of_kind(user, village, "village_supervision")
    if org is None:
        raise Forbidden("仅该村村务监督委员会成员可操作", code="not_village_supervision",
                        details={"village_id": village.id})
    if _org_of_kind(user, village, "village_committee") is not None:
        raise Forbidden("村民委员会成员不得担任村务监督委员会成员，不能审核签字", code="supervision_conflict",
                        details={"user_id": user.id, "village_id": village.id})
    return org


def sits_on_a_committee(user, village) -> bool:
    """Whether ``user`` is staff of the village's committee or its supervision committee (who draft
    and sign its disclosures) — not the town's street centre, not an administrator."""
    return any(_org_of_kind(user, village, kind) is not None for kind in ("village_committee", "village_supervision"))


def require_village_reader(user, village) -> None:
    """Committee, supervision committee, the town's street centre, or an admin."""
    if user.kind == "admin":
        return
    for kind in ("village_committee", "village_supervision", "street_centre"):
        if _org_of_kind(user, village, kind) is not None:
            return
    raise Forbidden("无权查看该村的内部信息", code="out_of_scope", details={"village_id": village.id})


def _covered_villages(org_id: int) -> list[int]:
    return [int(p.strip("/").split("/")[-1]) for p in registry.covered_place_paths(org_id)]


def check_membership_conflict(user_id: int, organisation_id: int) -> None:
    """Refuse a membership that would seat one person on both committees of one village.

    :raises Conflict: ``supervision_conflict`` (组织法 Art. 32; RULES.md §2).
    """
    from civic.accounts.models import Membership
    from civic.property.models import Organisation

    org = db.session.get(Organisation, organisation_id)
    if org is None or org.kind not in ("village_committee", "village_supervision"):
        return
    other = "village_supervision" if org.kind == "village_committee" else "village_committee"
    with db.session.no_autoflush:
        for village_id in _covered_villages(org.id):
            village = registry.get_place(village_id)
            other_ids = [o.id for o in registry.organisations_covering(village, [other])]
            if other_ids and db.session.scalar(
                sa.select(sa.func.count()).select_from(Membership)
                .where(Membership.user_id == user_id, Membership.organisation_id.in_(other_ids))
            ):
                raise Conflict("村民委员会成员不得担任村务监督委员会成员", code="supervision_conflict",
                               details={"user_id": user_id, "organisation_id": org.id, "village_id": village_id})


def add_committee_member(village, *, organisation_id: int, user_id: int, role: str, actor):
    """Seat a staff user on the village committee or the supervision committee of ``village``.

    Admins or the street centre of the town above the village may do it.
    :raises Forbidden: ``out_of_scope``; :raises ValidationFailed: ``organisation_invalid``;
    :raises Conflict: ``supervision_conflict`` (组织法 Art. 32).
    """
    from civic.accounts.models import STAFF_ROLES, Membership, User

    if actor.kind != "admin" and _org_of_kind(actor, village, "street_centre") is None:
        raise Forbidden("仅管理员或街镇中心可任命村两委成员", code="out_of_scope")
    org = registry.get_organisation(organisation_id)
    if org.kind not in ("village_committee", "village_supervision") or not registry.organisation_covers(org.id, village.id):
        raise ValidationFailed("该组织不是本村的村民委员会或村务监督委员会", code="organisation_invalid",
                               details={"organisation_id": organisation_id})
    user = db.session.get(User, user_id)
    if user is None or user.kind != "staff":
        raise ValidationFailed("只能任命工作人员账号", code="user_invalid", details={"user_id": user_id})
    if role not in STAFF_ROLES:
        raise ValidationFailed("未知的角色", code="role_invalid", details={"role": role})
    check_membership_conflict(user.id, org.id)
    m = Membership(user_id=user.id, organisation_id=org.id, role=role)
    db.session.add(m)
    db.session.flush()
    audit.record("village.member_added", "organisation", org.id, actor=actor,
                 data={"user_id": user.id, "role": role, "village_id": village.id})
    return m
