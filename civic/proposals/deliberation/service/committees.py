"""Committees, their members and terms of office, their rule-set versions, and the catchment of a road or lane (who its residents are)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.accounts.memberships import acting_memberships
from civic.core import audit
from civic.core.db import changes, to_shanghai, utcnow
from civic.core.errors import Forbidden, NotFound, ValidationFailed
from civic.core.text import require_text
from civic.extensions import db
from civic.property import service as registry
from civic.proposals.deliberation.models import (
    COMMITTEE_KINDS,
    MEMBER_ROLES,
    SPEAKS_FOR,
    Committee,
    CommitteeMember,
    RuleSet,
)
from civic.proposals.deliberation.service.thresholds import parse_fraction

CONVENER_KINDS = ("residents_committee", "street_centre")
CONVENER_ROLES = ("head", "handler")
OFFICERS = ("chair", "secretary")
PLACE_KINDS = {"road_committee": ("road_section",), "lane_committee": ("lane",),
               "council": ("lane", "road_section", "community", "compound")}
TEXT_MAX = 2000
COMMENT_MAX = 500
PHOTOS_MAX = 9
CHECKIN_EARLY = dt.timedelta(hours=2)

#: Defaults of a committee's first rule-set.  RULES.md §4: quorum more than half of members, a motion
#: passes with more than half of those present, notice with the agenda.  The notice period, the
#: co-signatures and the publication period are civic's defaults (no statute sets them); each
#: committee's charter changes them with a new version.
DEFAULT_RULES = {
    "quorum": "1/2", "quorum_strict": True,
    "majority": "1/2", "majority_strict": True, "majority_base": "present",
    "abstentions": "present_not_for",
    "notice_days": 3, "cosign_required": 5, "cosign_days": 30, "publish_days": 30,
}


# --- committees, members, rules ------------------------------------------------------------------

def get_committee(committee_id: int) -> Committee:
    c = db.session.get(Committee, committee_id)
    if c is None:
        raise NotFound("找不到该议事机构", code="committee_not_found", details={"committee_id": committee_id})
    return c


def _require_convener(actor, org_id: int) -> None:
    if actor.kind == "admin":
        return
    if not any(o.id == org_id for _m, o in acting_memberships(actor, org_kinds=CONVENER_KINDS, roles=CONVENER_ROLES)):
        raise Forbidden("仅限召集该议事机构的居委会工作人员", code="not_convener", details={"organisation_id": org_id})


def create_committee(actor, data: dict) -> Committee:
    """Set up a committee: ``{"kind", "name", "place_id", "organisation_id", "rules"?: {...}}``.  The
    place is a road section (road_committee) or lane (lane_committee); the convening residents'
    committee must cover it.  Creates rule-set version 1 from :data:`DEFAULT_RULES` and ``rules``.

    :raises ValidationFailed: ``committee_kind_invalid``, ``place_kind_invalid``.
    :raises Forbidden: ``not_convener``, ``out_of_scope``.

    Order (issue #15): permission (a convener of the organisation, which covers the place), then
    the kind and the place's kind.
    """
    org_id = data["organisation_id"]
    _require_convener(actor, org_id)
    place = registry.get_place(data["place_id"])
    if not registry.organisation_covers(org_id, place.id):
        raise Forbidden("该组织不覆盖此地点", code="out_of_scope", details={"place_id": place.id})
    kind = data.get("kind")
    if kind not in COMMITTEE_KINDS:
        raise ValidationFailed("议事机构类型无效", code="committee_kind_invalid", details={"kind": kind})
    if place.kind not in PLACE_KINDS[kind]:
        raise ValidationFailed("议事机构服务的地点类型不符", code="place_kind_invalid",
                               details={"kind": kind, "place_kind": place.kind})
    c = Committee(kind=kind, name=require_text(data["name"], "name", 100), place_id=place.id, organisation_id=org_id)
    db.session.add(c)
    db.session.flush()
    audit.record("committee.create", "committee", c.id, actor=actor, data={"kind": kind, "place_id": place.id})
    add_rule_set(actor, c.id, data.get("rules") or {})
    return c


def add_member(actor, committee_id: int, data: dict) -> CommitteeMember:
    """Appoint a member: ``{"user_id", "role", "speaks_for", "term_start": date, "term_end"?: date}``.

    :raises ValidationFailed: ``member_role_invalid``, ``speaks_for_invalid``, ``term_invalid``,
        ``user_not_found``.
    """
    c = get_committee(committee_id)
    _require_convener(actor, c.organisation_id)
    if data.get("role") not in MEMBER_ROLES:
        raise ValidationFailed("成员角色无效", code="member_role_invalid", details={"role": data.get("role")})
    if data.get("speaks_for") not in SPEAKS_FOR:
        raise ValidationFailed("代表方无效", code="speaks_for_invalid", details={"speaks_for": data.get("speaks_for")})
    if data.get("term_end") and data["term_end"] < data["term_start"]:
        raise ValidationFailed("任期结束不能早于开始", code="term_invalid")
    from civic.accounts.models import User

    if db.session.get(User, data["user_id"]) is None:
        raise ValidationFailed("找不到该用户", code="user_not_found", details={"user_id": data["user_id"]})
    m = CommitteeMember(committee_id=c.id, user_id=data["user_id"], role=data["role"], speaks_for=data["speaks_for"],
                        term_start=data["term_start"], term_end=data.get("term_end"))
    db.session.add(m)
    db.session.flush()
    audit.record("committee.member_add", "committee", c.id, actor=actor,
                 data={"user_id": m.user_id, "role": m.role, "speaks_for": m.speaks_for})
    return m


def _today(now: dt.datetime | None = None) -> dt.date:
    return to_shanghai(now or utcnow()).date()


def current_members(committee_id: int, on: dt.date | None = None) -> list[CommitteeMember]:
    """Members whose term covers ``on`` (Shanghai date, default today)."""
    on = on or _today()
    return list(db.session.scalars(sa.select(CommitteeMember).where(
        CommitteeMember.committee_id == committee_id, CommitteeMember.term_start <= on,
        sa.or_(CommitteeMember.term_end.is_(None), CommitteeMember.term_end >= on)).order_by(CommitteeMember.id)))


def membership(committee_id: int, user, on: dt.date | None = None) -> CommitteeMember | None:
    return next((m for m in current_members(committee_id, on) if m.user_id == user.id), None)


def _require_officer(committee_id: int, user, on: dt.date | None = None) -> CommitteeMember:
    m = membership(committee_id, user, on)
    if m is None or m.role not in OFFICERS:
        raise Forbidden("仅限主任或秘书操作", code="not_an_officer")
    return m


def add_rule_set(actor, committee_id: int, data: dict) -> tuple[RuleSet, bool]:
    """A new version of the rules (previous version's values, changed by ``data``).  Fractions as
    strings ("1/2") with ``*_strict`` flags; ``majority_base`` present|members; ``abstentions``
    present_not_for|excluded; day counts are whole days.  Rules that change nothing of the current
    version (an empty body, or the same values) make no version (civic.core.db.changes).

    :returns: ``(rule_set, created)``: the new version and True, or the current one and False.
    :raises ValidationFailed: ``fraction_invalid``, ``rules_invalid``.
    """
    c = get_committee(committee_id)
    _require_convener(actor, c.organisation_id)
    last = current_rules(committee_id, required=False)
    base = {k: getattr(last, k) for k in DEFAULT_RULES} if last else dict(DEFAULT_RULES)
    unknown = set(data) - set(DEFAULT_RULES)
    if unknown:
        raise ValidationFailed("未知的议事规则项", code="rules_invalid", details={"fields": sorted(unknown)})
    rules = {**base, **data}
    for f in ("quorum", "majority"):
        rules[f] = str(parse_fraction(rules[f], f))
    if rules["majority_base"] not in ("present", "members") or rules["abstentions"] not in ("present_not_for", "excluded"):
        raise ValidationFailed("表决基数或弃权计法无效", code="rules_invalid")
    for f in ("notice_days", "cosign_required", "cosign_days", "publish_days"):
        if not isinstance(rules[f], int) or isinstance(rules[f], bool) or rules[f] < 0:
            raise ValidationFailed("天数和人数须为非负整数", code="rules_invalid", details={"field": f})
    if last is not None and not changes(base, rules):
        return last, False
    rs = RuleSet(committee_id=c.id, version=(last.version + 1) if last else 1, created_by_id=actor.id, **rules)
    db.session.add(rs)
    db.session.flush()
    audit.record("committee.rules", "committee", c.id, actor=actor, data={"version": rs.version, **rules})
    return rs, True


def current_rules(committee_id: int, *, required: bool = True) -> RuleSet | None:
    rs = db.session.scalar(sa.select(RuleSet).where(RuleSet.committee_id == committee_id)
                           .order_by(RuleSet.version.desc()).limit(1))
    if rs is None and required:
        raise NotFound("该议事机构没有议事规则", code="rules_not_found")
    return rs


# --- catchment: who are the residents of a road or lane -----------------------------------------

def catchment(committee: Committee):
    """The place whose units' residents are "residents of the road or lane".

    Reading: the lane's or road section's own subtree when units are registered under it; otherwise
    the nearest compound or community above it (its "parent community": a lane inside a compound
    serves that compound's households, a lane under a community that community's); a road section
    directly under a street has neither, so its street.  Why: the registry hangs buildings only
    under compounds, so lanes and road sections are bare places without units, and the compound or
    community is the smallest registered area that certainly holds the households along them
    (RULES.md §4; the residents' committee that convenes the committee serves the same community).
    The first branch keeps the reading right if the registry later registers units by lane.
    """
    place = registry.get_place(committee.place_id)
    if registry.units_under(place):
        return place
    for p in reversed(registry.ancestors(place)[:-1]):
        if p.kind in ("compound", "community"):
            return p
    return registry.get_place(place.parent_id)


def is_resident_of(committee: Committee, user) -> bool:
    area = catchment(committee)
    return any(unit.path.startswith(area.path) for _link, unit in registry.units_of_resident(user.id))


def _require_resident(committee: Committee, user) -> None:
    if user.kind != "resident" or not is_resident_of(committee, user):
        raise Forbidden("仅限本路段/弄堂的居民", code="not_a_resident_here")
