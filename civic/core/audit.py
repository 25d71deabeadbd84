"""The audit log: an append-only record of who did what to which object, and when.

Every domain writes it through :func:`record`.  Rows are never updated or deleted: the ORM refuses
it here, and on PostgreSQL a trigger (see the migration) refuses it in the database too.
Times are stored in UTC and shown in Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from civic.core.db import UTCDateTime, utcnow
from civic.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    # What the actor acted as, e.g. "staff:12@property_company:3", "resident", "system".
    actor_role: Mapped[str] = mapped_column(sa.String(80), nullable=False, default="system")
    action: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    object_type: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    object_id: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    note: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[dict | None] = mapped_column(sa.JSON)

    __table_args__ = (sa.Index("ix_audit_entry_object", "object_type", "object_id", "id"),)


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("the audit log is append-only")


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_changes(state):
    # ``session.execute(update(AuditEntry)...)`` / ``delete(...)`` bypass before_flush.
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and state.bind_mapper.class_ is AuditEntry:
        raise RuntimeError("the audit log is append-only")


def record(
    action: str,
    object_type: str,
    object_id: Any,
    *,
    actor=None,
    actor_role: str | None = None,
    note: str | None = None,
    data: dict | None = None,
) -> AuditEntry:
    """Append one entry to the audit log (flushed with the caller's transaction).

    :param action: verb, e.g. ``"complaint.acknowledge"``, ``"resident.phone_revealed"``.
    :param object_type: e.g. ``"complaint"``; ``object_id`` its id.
    :param actor: the acting :class:`~civic.accounts.models.User`, or None for the system.
    :param actor_role: what the actor acted as; derived from the actor when omitted.
    """
    if actor_role is None:
        actor_role = getattr(actor, "kind", None) or "system"
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        actor_role=actor_role,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        note=note,
        data=data,
    )
    db.session.add(entry)
    return entry


def list_entries(*, object_type: str | None = None, object_id: Any = None, cursor: str | None = None,
                 limit: int = 20) -> tuple[list[AuditEntry], str | None]:
    """Audit entries, newest first, optionally of one object type / one object; keyset-paginated.

    :returns: ``(entries, next_cursor)``.
    :raises BadRequest: ``cursor_invalid``.
    """
    from civic.core.pagination import paginate

    stmt = sa.select(AuditEntry)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEntry.object_id == str(object_id))
    return paginate(stmt, [AuditEntry.id], cursor=cursor, limit=limit, descending=True)


def entries_for(object_type: str, object_id: Any) -> list[AuditEntry]:
    """The audit trail of one object, oldest first."""
    return list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
            .order_by(AuditEntry.id)
        )
    )
