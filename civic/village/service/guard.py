"""The session guard: rules enforced at every flush, however the rows are written.

Memberships obey 村民委员会组织法 Art. 32 (no one on both committees of a village; see
:func:`civic.village.service.committees.check_membership_conflict`); published disclosures, their
lines and vouchers are frozen (RULES.md §2: never edited in place; a correction is a new version).
Registered on import (the package imports it).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from civic.village.models import Disclosure, DisclosureLine, Voucher
from civic.village.service.committees import check_membership_conflict
from civic.village.service.workflow import PUBLIC_STATUSES


@event.listens_for(Session, "before_flush")
def _guard(session: Session, flush_context, instances):
    # Memberships however they are made (create_staff, imports) obey Art. 32; published disclosures
    # are frozen (RULES.md §2: never edited in place).
    from civic.accounts.models import Membership

    for obj in list(session.new):
        if isinstance(obj, Membership) and obj.user_id and obj.organisation_id:
            check_membership_conflict(obj.user_id, obj.organisation_id)
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Disclosure):
            hist = sa.inspect(obj).attrs.status.history
            old = hist.deleted[0] if hist.deleted else obj.status
            if old in PUBLIC_STATUSES:
                changed = {a.key for a in sa.inspect(obj).attrs if a.history.has_changes()}
                if obj in session.deleted or changed - {"status", "corrected_by_id", "corrected_at", "updated_at"}:
                    raise RuntimeError("a published disclosure is never changed; publish a correction")
        elif isinstance(obj, (DisclosureLine, Voucher)) and (obj in session.deleted or session.is_modified(obj)):
            line = obj if isinstance(obj, DisclosureLine) else obj.line
            if line is not None and line.disclosure is not None and line.disclosure.status in PUBLIC_STATUSES:
                raise RuntimeError("a published disclosure's lines are never changed")
