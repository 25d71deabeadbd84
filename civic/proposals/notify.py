"""Notifications of the contests domain, through the core outbox (civic.core.notifications).

One event notifies each distinct recipient once; the core's send job claims each row before
sending, so a retried job never sends twice.
"""

from __future__ import annotations

import secrets

from civic.core.notifications import notify as core_notify


def notify(recipient_ids, *, kind: str, subject_type: str, subject_id: int, title: str, body: str) -> list[int]:
    """Queue one message per distinct recipient about ``(subject_type, subject_id)``; sent after
    commit.  Returns the outbox rows' ids."""
    event = secrets.token_hex(8)  # one event, many recipients: dedupe per recipient within it
    ids = []
    for uid in sorted(set(recipient_ids)):
        n = core_notify(uid, kind, title, {"subject_type": subject_type, "subject_id": subject_id},
                        dedupe_key=f"{subject_type}:{subject_id}:{kind}:{event}:u{uid}",
                        object_type=subject_type, object_id=subject_id, body=body)
        if n is not None:
            ids.append(n.id)
    return ids
