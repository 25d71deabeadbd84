"""Notifications to residents: an outbox and a job that sends each message once.

A domain calls :func:`notify` inside its transaction; the row is committed with the change it
reports, and a job (RQ in production, in-process on the embedded default) sends it after commit.

Exactly-once as far as we can know: the job claims the row (pending/failed → sending) and commits
before calling the adapter; a definite failure from the adapter marks it failed and raises, so RQ
retries it with back-off; success marks it sent.  A row found in ``sending`` (a worker died
mid-send) is not sent again: a duplicate WeChat message is worse than a missing one, and the row
shows what happened.

Adapters: ``dev`` writes the message to the log; ``wechat`` sends a subscribe message (订阅消息)
to the user's openid (civic.core.wechat: the access token shared by every worker, refreshed once
when WeChat refuses it), with the WeChat template id ``WECHAT_TEMPLATE_IDS`` maps the civic
template to (the civic name itself when unmapped).  WeChat's "system busy" or no answer fails the
row and the queue retries it; a refused or used-up subscription (43101) or a user without an
openid marks it ``refused``, never retried.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from civic.core.db import UTCDateTime, commit, utcnow
from civic.core.jobs import enqueue
from civic.extensions import db

log = logging.getLogger(__name__)

# refused: the recipient cannot receive it (no openid, subscription refused or used up): never retried.
STATUSES = ("pending", "sending", "sent", "failed", "refused")


class Notification(db.Model):
    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False, index=True)
    template: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    body: Mapped[str | None] = mapped_column(sa.Text)
    payload: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    object_type: Mapped[str | None] = mapped_column(sa.String(40))
    object_id: Mapped[str | None] = mapped_column(sa.String(40))
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="pending", index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SendFailed(Exception):
    """The adapter says the message was definitely not delivered (safe to retry)."""


class Undeliverable(Exception):
    """The message can never be delivered (the resident has no WeChat, or refused or used up
    their subscription): the row is marked ``refused`` and the job is not retried."""


def notify(user_id: int, template: str, title: str, payload: dict, *, dedupe_key: str,
           object_type: str | None = None, object_id=None, body: str | None = None) -> Notification | None:
    """Queue one message to ``user_id``; sent after the current transaction commits.

    ``dedupe_key`` makes the same event notify a user once (e.g. ``"complaint:12:resolved:u7"``);
    a second call with the same key is ignored and returns None.
    """
    exists = db.session.scalar(sa.select(Notification.id).where(Notification.dedupe_key == dedupe_key))
    if exists:
        return None
    n = Notification(user_id=user_id, template=template, title=title, payload=payload, body=body,
                     dedupe_key=dedupe_key, object_type=object_type,
                     object_id=str(object_id) if object_id is not None else None)
    db.session.add(n)
    db.session.flush()
    enqueue(send_notification, n.id, retry=3)
    return n


def _adapter_send(n: Notification) -> None:
    adapter = current_app.config.get("NOTIFY_ADAPTER", "dev")
    if adapter == "dev":
        log.warning("DEV NOTIFY user=%s template=%s: %s %s", n.user_id, n.template, n.title,
                    json.dumps(n.payload, ensure_ascii=False))
        return
    if adapter == "fail":  # for tests of the retry path
        raise SendFailed("adapter configured to fail")
    from civic.core import wechat

    openid_of = current_app.extensions.get("civic_openid_of")
    openid = openid_of(n.user_id) if openid_of else None
    if not openid:
        raise Undeliverable("user has no WeChat openid")
    template_id = (current_app.config.get("WECHAT_TEMPLATE_IDS") or {}).get(n.template, n.template)
    try:
        wechat.send_subscribe(openid, template_id, n.payload)
    except wechat.WeChatError as exc:
        if exc.kind == "refused":  # 43101: not subscribed, or used up: sending again cannot help
            raise Undeliverable(str(exc)) from exc
        if exc.kind == "config":
            log.error("WeChat refused notification %s for civic's set-up: %s", n.id, exc)
        raise SendFailed(str(exc)) from exc


def register_openid_lookup(app, openid_of: Callable[[int], str | None]) -> None:
    """Tell the ``wechat`` adapter how to find a user's WeChat openid from their id (``None`` when
    they have none): the accounts domain registers this at app creation, since the core reads no
    domain's tables."""
    app.extensions["civic_openid_of"] = openid_of


def send_notification(notification_id: int) -> str:
    """Job: send one outbox row.  Returns its final status.  Safe to run more than once."""
    claimed = db.session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id, Notification.status.in_(("pending", "failed")))
        .values(status="sending", attempts=Notification.attempts + 1)
    ).rowcount
    commit()
    n = db.session.get(Notification, notification_id)
    if not claimed or n is None:
        return n.status if n else "missing"
    try:
        _adapter_send(n)
    except Undeliverable as exc:
        n.status, n.last_error = "refused", str(exc)[:500]
        commit()
        return "refused"
    except SendFailed as exc:
        n.status, n.last_error = "failed", str(exc)[:500]
        commit()
        raise
    n.status, n.sent_at = "sent", utcnow()
    commit()
    return "sent"


def inbox(user, *, cursor=None, limit=20):
    """The user's notifications from every domain, newest first: ``(rows, next_cursor)``."""
    from civic.core.pagination import paginate

    return paginate(sa.select(Notification).where(Notification.user_id == user.id), [Notification.id],
                    cursor=cursor, limit=limit)


def mark_read(user, notification_id: int) -> Notification:
    """:raises NotFound: ``notification_not_found`` (also for someone else's notification)."""
    from civic.core.errors import NotFound

    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != user.id:
        raise NotFound("找不到该通知", code="notification_not_found")
    if n.read_at is None:
        n.read_at = utcnow()
    return n
