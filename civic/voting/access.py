"""Who may act on rosters and votes: the owners' committee of the compound (业主委员会), its head for
state changes, the street centre for the record.  Scoped: an organisation acts only on places it
covers (civic.core.auth)."""

from __future__ import annotations

from civic.accounts.memberships import acting_memberships
from civic.core.errors import Forbidden
from civic.property import service as registry

COMMITTEE = ("owners_committee",)
RECORD_READERS = ("owners_committee", "street_centre")


def acting_org(user, place_id: int, *, org_kinds: tuple[str, ...] = COMMITTEE,
               roles: tuple[str, ...] | None = None):
    """The organisation through which ``user`` acts on ``place_id`` (``None`` for an admin).

    :raises Forbidden: ``not_owners_committee`` when no membership of the given kinds (and roles)
        covers the place.
    """
    if user.kind == "admin":
        return None
    if user.kind == "staff":
        for _m, org in acting_memberships(user, org_kinds=org_kinds, roles=roles):
            if registry.organisation_covers(org.id, place_id):
                return org
    who = "、".join(registry.ORGANISATION_KIND_NAMES[k] for k in org_kinds)
    if roles == ("head",):
        who += "负责人"
    raise Forbidden(f"仅限该小区的{who}操作", code="not_owners_committee",
                    details={"place_id": place_id, "organisation_kinds": list(org_kinds),
                             "roles": list(roles or [])})


def actor_role(user, org) -> str:
    """The audit log's ``actor_role`` string, e.g. ``"staff:12@owners_committee:3"``."""
    if org is None:
        return user.kind
    return f"staff:{user.id}@{org.kind}:{org.id}"
