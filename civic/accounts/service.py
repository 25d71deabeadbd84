"""Identity verbs: staff passwords, WeChat code2session, phone one-time codes, tokens.

Passwords use Werkzeug's scrypt (a slow, memory-hard hash).  Bearer tokens are random and stored
hashed (civic.core.auth).  One-time codes expire after ``OTP_TTL_SECONDS``, allow
``OTP_MAX_ATTEMPTS`` tries, and may be re-sent after ``OTP_RESEND_SECONDS``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import re
import secrets

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from civic.accounts import sms
from civic.accounts.identity import issue_token
from civic.accounts.models import Membership, OtpChallenge, User
from civic.core import audit, parts, wechat
from civic.core.db import utcnow
from civic.core.errors import BadRequest, CivicError, Conflict, RateLimited, Unauthenticated, ValidationFailed
from civic.core.http import count_attempt
from civic.core.jobs import enqueue
from civic.extensions import db

log = logging.getLogger(__name__)

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
# Checked against when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = None


def normalise_phone(phone: str) -> str:
    """A mainland mobile number as 11 digits (``+86``, spaces and dashes removed).

    :raises ValidationFailed: ``phone_invalid``.
    """
    digits = re.sub(r"[\s\-()]", "", phone or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not PHONE_RE.match(digits):
        raise ValidationFailed("手机号格式不正确", code="phone_invalid")
    return digits


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def validate_password(password: str) -> None:
    if len(password) < 10 or password.isdigit() or password.isalpha():
        raise ValidationFailed("密码至少 10 位，且须同时包含字母和数字", code="password_weak")


def create_staff(*, username: str, password: str | None = None, display_name: str, memberships=(),
                 kind: str = "staff", password_hash: str | None = None) -> User:
    """A staff member (or administrator) with memberships ``[(organisation, role), ...]``.

    Pass ``password`` (hashed here with scrypt) or an already computed ``password_hash``.

    :raises Conflict: ``username_taken`` when an account already has ``username``, also when another
        request creates it at the same moment (nothing written).
    """
    from civic.core.db import insert_once

    taken = Conflict(f"用户名 {username} 已被使用", code="username_taken", details={"username": username})
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise taken
    user = insert_once(User(kind=kind, username=username, display_name=display_name,
                            password_hash=password_hash or hash_password(password)), taken)
    for org, role in memberships:
        db.session.add(Membership(user_id=user.id, organisation_id=org.id, role=role))
    return user


def create_partner_account(*, display_name: str) -> User:
    """The system account of a partner organisation (kind ``partner``): the complainant of record
    for the cases it files through Open311.  No password, phone or openid: it cannot log in, and
    it acts only through its Open311 api_key (civic/open311)."""
    user = User(kind="partner", display_name=display_name)
    db.session.add(user)
    db.session.flush()
    return user


def create_resident(*, display_name: str, phone: str | None = None, openid: str | None = None) -> User:
    user = User(kind="resident", display_name=display_name,
                phone=normalise_phone(phone) if phone else None, wechat_openid=openid)
    db.session.add(user)
    db.session.flush()
    return user


def login_password(username: str, password: str) -> tuple[User, str, dt.datetime]:
    """Staff login.  Returns ``(user, token, expires_at)``.

    :raises Unauthenticated: ``invalid_credentials`` (the same for an unknown name and a wrong
        password, so the answer tells nothing about which accounts exist).
    """
    user = check_password(username, password)
    token, expires = issue_token(user)
    audit.record("auth.login", "user", user.id, actor=user)
    return user, token, expires


def check_password(username: str, password: str) -> User:
    """The staff account ``username`` if ``password`` is right (the check behind every password
    login: the API's token and the console's session).  A failed try is written to the audit log
    and committed even though the request fails.

    :raises Unauthenticated: ``invalid_credentials`` (same for an unknown name and a wrong
        password), ``account_disabled``.
    """
    global _DUMMY_HASH
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None or not user.password_hash:
        _DUMMY_HASH = _DUMMY_HASH or hash_password("not-a-real-password-1")
        check_password_hash(_DUMMY_HASH, password)
        raise Unauthenticated("用户名或密码错误", code="invalid_credentials")
    if not check_password_hash(user.password_hash, password):
        audit.record("auth.login_failed", "user", user.id, actor=None)
        # The request fails (and rolls back): the security record must be kept all the same.
        db.session.commit()
        raise Unauthenticated("用户名或密码错误", code="invalid_credentials")
    if not user.active:
        raise Unauthenticated("账号已停用", code="account_disabled")
    return user


def change_password(user: User, old: str, new: str, *, keep_token: str | None = None) -> int:
    """Change a staff member's password and end every other login: all of the user's bearer tokens
    and console sessions are revoked except ``keep_token`` (the raw token of the session or client
    that made the change).  Returns how many were revoked.

    :raises Unauthenticated: ``invalid_credentials`` (wrong old password).
    :raises ValidationFailed: from :func:`validate_password`.
    """
    from civic.accounts.identity import revoke_user_tokens

    if not user.password_hash or not check_password_hash(user.password_hash, old):
        raise Unauthenticated("原密码错误", code="invalid_credentials")
    validate_password(new)
    user.password_hash = hash_password(new)
    user.must_change_password = False  # a reset's one-time password is spent (civic.accounts.staff)
    revoked = revoke_user_tokens(user.id, keep=keep_token)
    audit.record("auth.password_changed", "user", user.id, actor=user, data={"logins_ended": revoked})
    return revoked


# --- WeChat mini-program -------------------------------------------------------------------------

parts.register(parts.Part(
    "wechat_login", "WECHAT_ADAPTER",
    development={"dev": "maps any code to openid dev-<code>: anyone could log in as any resident"},
    choices={"wechat": ("WECHAT_APPID", "WECHAT_SECRET")}))

def code2session(code: str) -> str:
    """Exchange a mini-program login code for the user's openid.

    Adapter ``dev``: openid ``dev-<code>`` (no network).  Adapter ``wechat``: WeChat's
    ``jscode2session`` (:func:`civic.core.wechat.code2session`, at ``WECHAT_CODE2SESSION_URL``).
    :raises Unauthenticated: ``wechat_code_invalid`` (errcode 40029, or any code WeChat refuses
        that is not below), ``wechat_code_used`` (40163: a code logs in once).
    :raises RateLimited: ``wechat_rate_limited`` (45011: WeChat's own rate limit).
    :raises CivicError: 503 ``wechat_unavailable`` (no answer, or -1 system busy),
        ``wechat_misconfigured`` (40013/40125: civic's appid or secret).
    """
    # wx.login() codes are short printable ASCII; blanks, spaces or controls would only make odd
    # openids with the dev adapter and wasted calls to WeChat.
    if not code or len(code) > 128 or not code.isascii() or not code.isprintable() or " " in code:
        raise BadRequest("微信登录 code 缺失或格式无效", code="wechat_code_invalid")
    cfg = current_app.config
    if cfg["WECHAT_ADAPTER"] == "dev":
        if cfg["ENV"] == "production":  # the dev adapter would let anyone in as any openid
            raise CivicError("微信登录未配置", code="wechat_unavailable", status=503)
        return f"dev-{code}"
    try:
        body = wechat.code2session(code)
    except wechat.WeChatError as exc:
        details = {"errcode": exc.errcode}
        if exc.kind == "used_code":
            raise Unauthenticated("微信登录 code 已使用，请重新登录", code="wechat_code_used", details=details) from exc
        if exc.kind == "rate_limited":
            raise RateLimited("微信登录过于频繁，请稍后再试", code="wechat_rate_limited", details=details) from exc
        if exc.kind == "busy":  # no answer, or WeChat's "system busy": the resident tries again
            raise CivicError("微信登录服务繁忙，请稍后重试", code="wechat_unavailable", status=503) from exc
        if exc.kind == "config":
            log.error("WeChat refused civic's appid or secret for code2session: %s", exc)
            raise CivicError("微信登录配置有误，请联系管理员", code="wechat_misconfigured", status=503) from exc
        raise Unauthenticated("微信登录 code 无效", code="wechat_code_invalid", details=details) from exc
    if not isinstance(body.get("openid"), str) or not body["openid"]:
        raise CivicError("微信登录服务暂时不可用", code="wechat_unavailable", status=503)
    return body["openid"]


def login_wechat(code: str) -> tuple[User, str, dt.datetime, bool]:
    """Mini-program login.  Returns ``(user, token, expires_at, created)``; a new openid makes a
    new resident account.

    :raises RateLimited: 429 ``rate_limited`` past ``RATELIMIT_LOGIN_OPENID`` logins of one WeChat
        user (any address).  Plus :func:`code2session`'s errors."""
    openid = code2session(code)
    # One WeChat user logging in again and again with fresh codes, from any address.
    count_attempt("login_openid", current_app.config["RATELIMIT_LOGIN_OPENID"], openid)
    user = db.session.scalar(sa.select(User).where(User.wechat_openid == openid))
    created = user is None
    if created:
        user = create_resident(display_name="微信用户", openid=openid)
    elif not user.active:
        raise Unauthenticated("账号已停用", code="account_disabled")
    token, expires = issue_token(user)
    return user, token, expires, created


# --- phone one-time codes -------------------------------------------------------------------------

def _code_hash(phone: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def request_otp(phone: str, purpose: str = "login") -> dt.datetime:
    """Send a 6-digit one-time code to ``phone``.  Returns when it expires.

    :raises RateLimited: ``otp_too_soon`` when asked again within ``OTP_RESEND_SECONDS``.
    :raises CivicError: 503 ``sms_unavailable``, ``sms_misconfigured``, ``sms_failed``.
    :raises ValidationFailed: ``phone_invalid`` (also when the SMS vendor refuses the number).
    :raises RateLimited: ``sms_rate_limited`` (the vendor's per-number limit).

    The code is sent inside the request, so a refusal is this request's answer; requests for one
    phone are serialised first (below), so that concurrent ones (or the retries of one with an
    ``Idempotency-Key``) send one code: the others find it and answer ``otp_too_soon``, which the
    idempotency layer turns into the winner's answer.
    """
    phone = normalise_phone(phone)
    cfg = current_app.config
    sms.ready()  # refuse (503) before anything is written
    now = utcnow()
    code = f"{secrets.randbelow(10**6):06d}"
    expires = now + dt.timedelta(seconds=cfg["OTP_TTL_SECONDS"])
    # Serialise per phone before reading the last challenge: on PostgreSQL a transaction-scoped
    # advisory lock on the phone; on SQLite this insert takes the database's write lock, which a
    # concurrent request holds until it commits.  Either way the read below sees its challenge.
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                           {"k": int.from_bytes(hashlib.sha256(f"otp:{phone}".encode()).digest()[:8], "big", signed=True)})
    challenge = OtpChallenge(phone=phone, purpose=purpose, code_hash=_code_hash(phone, code), expires_at=expires)
    db.session.add(challenge)
    db.session.flush()
    last = db.session.scalar(
        sa.select(OtpChallenge).where(OtpChallenge.phone == phone, OtpChallenge.purpose == purpose,
                                      OtpChallenge.id != challenge.id)
        .order_by(OtpChallenge.id.desc()).limit(1)
    )
    if last and (now - last.created_at).total_seconds() < cfg["OTP_RESEND_SECONDS"]:
        raise RateLimited("验证码发送过于频繁，请稍后再试", code="otp_too_soon",
                          details={"retry_after_seconds": cfg["OTP_RESEND_SECONDS"]})
    # Sent now, inside the request, so that a number the vendor refuses (422) or has limited (429)
    # is the resident's answer and the challenge is rolled back with it.  A transient failure
    # (throttling, the vendor's 5xx, no answer) does not fail the login: a job sends the code again.
    minutes = cfg["OTP_TTL_SECONDS"] // 60
    try:
        sms.send_code(phone, code, minutes)
    except sms.SmsFailed as exc:
        error = sms.civic_error(exc)
        if error is not None:
            raise error from exc
        log.warning("SMS to %s failed, queued for retry: %s", phone[:3] + "****" + phone[-4:], exc)
        enqueue(sms.resend_code, challenge.id, phone, code, minutes, retry=3)
    return expires


def otp_still_wanted(challenge_id: int) -> bool:
    """The challenge is its phone's latest for its purpose, unused and unexpired: a code worth
    sending again (:func:`civic.accounts.sms.resend_code`)."""
    ch = db.session.get(OtpChallenge, challenge_id)
    if ch is None or ch.used_at is not None or ch.expires_at <= utcnow():
        return False
    latest = db.session.scalar(sa.select(sa.func.max(OtpChallenge.id))
                               .where(OtpChallenge.phone == ch.phone, OtpChallenge.purpose == ch.purpose))
    return latest == ch.id


def check_otp(phone: str, code: str, purpose: str = "login") -> str:
    """Consume a valid code for ``phone``; returns the normalised phone.

    Only the latest code sent to ``phone`` counts: an earlier one, or one already used, is refused.

    :raises Unauthenticated: ``otp_invalid`` (no code sent, or a wrong code), ``otp_used`` (the
        latest code already logged in once), ``otp_expired``, ``otp_locked`` (too many attempts); after
        the last three a new code must be requested.
    """
    phone = normalise_phone(phone)
    ch = db.session.scalar(
        sa.select(OtpChallenge)
        .where(OtpChallenge.phone == phone, OtpChallenge.purpose == purpose)
        .order_by(OtpChallenge.id.desc()).limit(1).with_for_update()
    )
    if ch is None:
        raise Unauthenticated("请先获取验证码", code="otp_invalid")
    if ch.used_at is not None:
        raise Unauthenticated("验证码已使用，请重新获取", code="otp_used")
    if ch.expires_at <= utcnow():
        raise Unauthenticated("验证码已过期，请重新获取", code="otp_expired")
    max_attempts = current_app.config["OTP_MAX_ATTEMPTS"]
    # Count the attempt in one conditional UPDATE: concurrent guesses cannot share an attempt
    # (SQLite has no SELECT ... FOR UPDATE).
    counted = db.session.execute(
        sa.update(OtpChallenge)
        .where(OtpChallenge.id == ch.id, OtpChallenge.attempts < max_attempts, OtpChallenge.used_at.is_(None))
        .values(attempts=OtpChallenge.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not counted:
        raise Unauthenticated("验证码错误次数过多，请重新获取", code="otp_locked")
    if not hmac.compare_digest(ch.code_hash, _code_hash(phone, (code or "").strip())):
        # The failed attempt must count even though the request fails: commit it now.
        db.session.commit()
        db.session.refresh(ch)
        raise Unauthenticated("验证码错误", code="otp_invalid",
                              details={"attempts_left": max(0, max_attempts - ch.attempts)})
    used = db.session.execute(
        sa.update(OtpChallenge).where(OtpChallenge.id == ch.id, OtpChallenge.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount
    if not used:  # a concurrent request consumed it first: one code, one login
        raise Unauthenticated("验证码已使用，请重新获取", code="otp_used")
    return phone


def login_otp(phone: str, code: str) -> tuple[User, str, dt.datetime, bool]:
    """Resident login by phone and one-time code; a new phone makes a new resident account."""
    phone = check_otp(phone, code)
    user = db.session.scalar(sa.select(User).where(User.phone == phone))
    created = user is None
    if created:
        user = create_resident(display_name="居民", phone=phone)
    elif not user.active:
        raise Unauthenticated("账号已停用", code="account_disabled")
    token, expires = issue_token(user)
    return user, token, expires, created


def users_by_ids(user_ids) -> dict[int, User]:
    """``{id: User}`` for many users at once (chunks of 500 ids); unknown ids are left out."""
    ids = list(user_ids)
    out: dict[int, User] = {}
    for i in range(0, len(ids), 500):
        out.update({u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids[i : i + 500])))})
    return out


def wechat_openid_of(user_id: int) -> str | None:
    """The WeChat openid a user's subscribe messages go to; None without one (or no such user)."""
    user = db.session.get(User, user_id)
    return user.wechat_openid if user else None


def staff_of(organisation_id: int) -> list[int]:
    """Ids of the active staff members of an organisation (any role), in id order: whom to notify
    when something is addressed to the organisation itself."""
    return list(db.session.scalars(
        sa.select(Membership.user_id).join(User, User.id == Membership.user_id)
        .where(Membership.organisation_id == organisation_id, User.active.is_(True))
        .order_by(Membership.user_id)))


def membership_summaries(user_id: int) -> list[dict]:
    """``[{"organisation_id", "organisation_name", "organisation_kind", "role"}]`` in one Core query,
    kept in the principal cache (civic.core.auth.PrincipalCache) with the token: it runs on every
    /me.  A copy is returned, so callers may change it."""
    from civic.core.auth import principals

    cache = principals()
    rows = cache.get(cache.memberships, user_id)
    if rows is None:
        rows = tuple(dict(r) for r in db.session.connection().execute(
            _membership_statement(), {"u": user_id}).mappings().all())
        cache.put(cache.memberships, user_id, rows)
    return [dict(r) for r in rows]


@functools.cache
def _membership_statement():
    from civic.property.models import Organisation

    return (sa.select(Organisation.id.label("organisation_id"), Organisation.name.label("organisation_name"),
                      Organisation.kind.label("organisation_kind"), Membership.role)
            .join(Membership, Membership.organisation_id == Organisation.id)
            .where(Membership.user_id == sa.bindparam("u")).order_by(Membership.id))


def users_by_phones(phones) -> dict[str, User]:
    """``{phone: User}`` for the accounts among ``phones`` (11 digits, as stored; chunks of 500)."""
    phones = sorted(set(phones))
    out: dict[str, User] = {}
    for i in range(0, len(phones), 500):
        out.update({u.phone: u for u in db.session.scalars(sa.select(User).where(User.phone.in_(phones[i:i + 500])))})
    return out


def create_residents(people) -> dict[str, User]:
    """Many resident accounts at once (a register import): ``people`` is ``[(name, phone)]`` with
    phones already normalised (:func:`normalise_phone`); one flush.  Returns ``{phone: User}``."""
    users = {phone: User(kind="resident", display_name=name, phone=phone) for name, phone in people}
    db.session.add_all(users.values())
    db.session.flush()
    return users


def deleted_accounts(user_ids) -> set[int]:
    """Which of ``user_ids`` are deleted accounts (tombstones, PIPL Art. 47): for the domains'
    retention jobs, which anonymise a deleted account's kept records when their period ends."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return set()
    return set(db.session.scalars(sa.select(User.id).where(User.id.in_(ids), User.deleted_at.is_not(None))))
