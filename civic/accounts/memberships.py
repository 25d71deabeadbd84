"""Memberships: the organisations through which a staff user acts, and the scoped checks every
domain calls before acting for one (an organisation acts only on the places it covers: a property
company on its compounds, a residents' committee in its community).
"""

from __future__ import annotations

import sqlalchemy as sa

from civic.accounts.models import Membership
from civic.core.errors import Forbidden
from civic.extensions import db
from civic.property import service as registry
from civic.property.models import Organisation


def acting_memberships(user, *, org_kinds: tuple[str, ...] | None = None, roles: tuple[str, ...] | None = None):
    """The memberships through which ``user`` may act, optionally only for some organisation kinds
    and roles.  Returns a list of ``(membership, organisation)``."""

    stmt = (
        sa.select(Membership, Organisation)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.user_id == user.id)
    )
    if org_kinds:
        stmt = stmt.where(Organisation.kind.in_(org_kinds))
    if roles:
        stmt = stmt.where(Membership.role.in_(roles))
    return list(db.session.execute(stmt).all())


def require_membership(user, organisation_id: int, roles: tuple[str, ...] | None = None):
    """Raise ``Forbidden`` unless ``user`` is a member of the organisation (with one of ``roles``)."""
    if user.kind == "admin":
        return None
    for m, org in acting_memberships(user, roles=roles):
        if org.id == organisation_id:
            return m
    raise Forbidden("您不是该组织的工作人员", code="not_a_member", details={"organisation_id": organisation_id})


def require_coverage(user, place_id: int, *, org_kinds: tuple[str, ...] | None = None):
    """Raise ``Forbidden`` unless one of the user's organisations covers ``place_id``.

    Returns the covering organisation.  Administrators pass everywhere.
    """
    if user.kind == "admin":
        return None
    for _m, org in acting_memberships(user, org_kinds=org_kinds):
        if registry.organisation_covers(org.id, place_id):
            return org
    raise Forbidden("该地点不在您所在组织的服务范围内", code="out_of_scope", details={"place_id": place_id})
