"""A resident's rights over their data (PIPL Arts. 44-47): see it all, correct their name, delete
the account.  The account's own part (the ``user_account`` row, tokens, one-time codes,
notifications, the audit entries of their own acts) is the ``account`` provider of
:mod:`civic.core.personal_data`; every other domain registers its own part.

Deleting an account (PIPL Art. 47) runs every provider's ``erase`` and leaves the row as a
tombstone: ``display_name`` "已注销用户", no phone, openid, username or password, inactive,
``deleted_at`` set.  The row stays because the append-only audit log (and the records the
retention table keeps) name it by id; an id that leads to no name, phone or openid identifies
no one.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.accounts.identity import revoke_user_tokens
from civic.accounts.models import ApiToken, Membership, OtpChallenge, User
from civic.core import audit, personal_data, retention
from civic.core.db import edit, utcnow
from civic.core.errors import Forbidden, ValidationFailed
from civic.core.idempotency import TTL, IdempotencyRecord, purge_expired
from civic.core.notifications import Notification
from civic.extensions import db

DELETED_NAME = "已注销用户"
NOTIFICATION_DAYS = 180


def my_data(user: User) -> dict:
    """Everything civic holds about ``user`` (PIPL Arts. 44-45): ``{"generated_at", "parts": {provider:
    its part}}``, each part as its domain shapes it (see ``docs/privacy.md``)."""
    return {"generated_at": utcnow().isoformat(), "parts": personal_data.export_for(user.id)}


def correct_profile(user: User, values: dict) -> User:
    """Correct the account's own data (PIPL Art. 46): ``{"display_name"?: str}``, trimmed, 1-100
    characters.  An edit that changes nothing writes nothing (:func:`civic.core.db.edit`).  The
    audit entry records that it changed, not the names (the log is kept; the names need not be).

    :raises ValidationFailed: ``display_name_invalid``.
    """
    proposed = {}
    if "display_name" in values:
        name = (values["display_name"] or "").strip()
        if not 1 <= len(name) <= 100:
            raise ValidationFailed("姓名须为 1-100 个字符", code="display_name_invalid")
        proposed["display_name"] = name
    if edit(user, proposed):
        audit.record("account.corrected", "user", user.id, actor=user, data={"fields": sorted(proposed)})
    return user


def delete_account(user: User, *, now: dt.datetime | None = None) -> None:
    """Delete a resident's own account (PIPL Art. 47): every domain removes or anonymises what no
    law requires it to keep (the retention table says what is kept, for how long), tokens are
    revoked, and the deletion is audited by id alone.

    :raises Forbidden: ``account_not_resident`` for staff and administrators (their accounts are
        closed by their organisation, so that what they handled stays accountable).
    """
    if user.kind != "resident":
        raise Forbidden("工作人员账号不能自行注销，请联系所在组织", code="account_not_resident")
    now = now or utcnow()
    personal_data.erase_for(user.id, now)
    audit.record("account.deleted", "user", user.id, actor=None, actor_role="resident")


# --- the account's own provider -------------------------------------------------------------------

def _export(user_id: int) -> dict:
    u = db.session.get(User, user_id)
    account = {"id": u.id, "kind": u.kind, "display_name": u.display_name, "phone": u.phone,
               "wechat_openid": u.wechat_openid, "username": u.username,
               "created_at": u.created_at.isoformat(), "active": u.active}
    return {
        "account": account,
        "tokens": personal_data.rows_of("api_token", "user_id", user_id, drop=("token_hash",)),
        "memberships": personal_data.rows_of("membership", "user_id", user_id),
        "notifications": personal_data.rows_of("notification", "user_id", user_id, drop=("dedupe_key",)),
        "own_acts": [{"at": e.at.isoformat(), "action": e.action, "object_type": e.object_type,
                      "object_id": e.object_id, "as": e.actor_role}
                     for e in db.session.scalars(sa.select(audit.AuditEntry)
                                                 .where(audit.AuditEntry.actor_id == user_id)
                                                 .order_by(audit.AuditEntry.id))],
    }


def _erase(user_id: int, now: dt.datetime) -> None:
    u = db.session.get(User, user_id)
    revoke_user_tokens(user_id)
    db.session.execute(sa.delete(ApiToken).where(ApiToken.user_id == user_id))
    db.session.execute(sa.delete(Membership).where(Membership.user_id == user_id))
    db.session.execute(sa.delete(Notification).where(Notification.user_id == user_id))
    _forget_stored_answers(user_id, [v for v in (u.phone, u.wechat_openid) if v])
    if u.phone:
        db.session.execute(sa.delete(OtpChallenge).where(OtpChallenge.phone == u.phone))
    u.display_name, u.phone, u.wechat_openid, u.username, u.password_hash = DELETED_NAME, None, None, None, None
    u.active, u.deleted_at = False, now
    db.session.flush()


def _forget_stored_answers(user_id: int, needles: list[str]) -> None:
    """Stored answers for retried writes (48 hours) hold whole bodies: theirs (their name, their
    cases), and other callers' that show them (a committee member's reveal of their phone).  Both
    go.  Few rows (two days' keyed writes), so the bodies are searched here, the same on every
    database."""
    db.session.execute(sa.delete(IdempotencyRecord).where(IdempotencyRecord.scope == f"user:{user_id}"))
    marks = [n.encode() for n in needles]
    ids = [rid for rid, body in db.session.execute(sa.select(IdempotencyRecord.id, IdempotencyRecord.body))
           if any(m in body for m in marks)]
    if ids:
        db.session.execute(sa.delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(ids)))


def _drop_old_notifications(now: dt.datetime) -> int:
    return db.session.execute(sa.delete(Notification).where(
        Notification.created_at < now - dt.timedelta(days=NOTIFICATION_DAYS),
        Notification.status.in_(("sent", "failed")))).rowcount


def _drop_old_codes(now: dt.datetime) -> int:
    return db.session.execute(sa.delete(OtpChallenge).where(
        OtpChallenge.expires_at < now - dt.timedelta(days=1))).rowcount


personal_data.register(
    "account", order=1000,
    columns=("user_account.id", "api_token.user_id", "membership.user_id", "notification.user_id",
             "audit_entry.actor_id"),
    export=_export, erase=_erase)
personal_data.exempt("holiday_notice.loaded_by", "an administrator's act (loading a State Council notice)")

retention.register(
    "account", tables=(), keep="until the holder deletes it",
    then="tombstone: no name, phone, openid, username or password; the id stays for the audit log",
    source="PIPL Art. 47 (delete on withdrawal / account closure)")
retention.register(
    "api_token", tables=(), keep="until it expires or the account is deleted",
    then="revoked and deleted with the account", source="PIPL Art. 47")
retention.register(
    "otp_challenge", tables=(), keep="1 day after the code expires",
    then="deleted by the retention job", period_days=1, enforce=_drop_old_codes,
    source="PIPL Art. 19; civic's choice (law silent): the shortest time that lets a lockout be checked")
retention.register(
    "notification", tables=(), keep=f"{NOTIFICATION_DAYS} days after it was sent",
    then="deleted by the retention job; at once with the account", period_days=NOTIFICATION_DAYS,
    enforce=_drop_old_notifications,
    source="PIPL Art. 19; civic's choice (law silent): half a year, long enough to read, no longer")
retention.register(
    "idempotency_record", tables=(), keep=f"{TTL.days * 24} hours (a retried write's stored answer)",
    period_days=TTL.days, enforce=purge_expired,
    then="deleted by the retention job (and by core.purge_idempotency); at once with the account",
    source="PIPL Art. 19: kept only while a retry may come")
retention.register(
    "audit_entry", tables=(), keep="indefinitely (append-only)",
    then="kept; holds ids, acts and the reasons staff gave, not the names or phones they saw (a deleted account's id leads to a tombstone)",
    source="PIPL Arts. 51, 54, 55-56 (records of processing; the reveal log is the evidence of who looked)")
