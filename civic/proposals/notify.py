"""Notifications: an outbox row per recipient, written in the transaction that caused it, and a job
(enqueued after commit, with retries) that sends the rows and marks them sent.

Each row is claimed by a conditional UPDATE (``sent_at IS NULL``) and committed on its own, so a retry
after a failure part-way through never sends a row twice, and two workers never send the same row.
The ``dev`` adapter writes to the log; a WeChat subscription-message adapter would go in
:func:`_deliver`.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app

from civic.core.db import commit, utcnow
from civic.core.jobs import enqueue
from civic.extensions import db
from civic.proposals.models import Notification

log = logging.getLogger(__name__)

SEND_RETRIES = 3


def notify(recipient_ids, *, kind: str, subject_type: str, subject_id: int, title: str, body: str) -> list[int]:
    """Write one outbox row per distinct recipient and enqueue their sending after commit.

    :returns: the new rows' ids.
    """
    rows = [Notification(recipient_id=r, kind=kind, subject_type=subject_type, subject_id=subject_id,
                         title=title, body=body) for r in sorted(set(recipient_ids))]
    if not rows:
        return []
    db.session.add_all(rows)
    db.session.flush()
    ids = [n.id for n in rows]
    enqueue(send_notifications, ids, retry=SEND_RETRIES)
    return ids


def _deliver(n: Notification) -> None:
    adapter = current_app.config.get("NOTIFY_ADAPTER", "dev")
    if adapter == "dev":
        log.info("notification %s to user %s: %s — %s", n.id, n.recipient_id, n.title, n.body)
        return
    raise RuntimeError(f"unknown NOTIFY_ADAPTER {adapter!r}")


def send_notifications(ids: list[int]) -> int:
    """Job: send the unsent rows among ``ids``.  Returns how many this run sent."""
    sent = 0
    for nid in ids:
        claimed = db.session.execute(
            sa.update(Notification).where(Notification.id == nid, Notification.sent_at.is_(None))
            .values(sent_at=utcnow())
        ).rowcount
        if not claimed:
            db.session.rollback()
            continue
        try:
            _deliver(db.session.get(Notification, nid))
        except Exception:
            db.session.rollback()  # unclaim: the retry sends it
            raise
        commit()
        sent += 1
    return sent
