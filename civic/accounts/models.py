"""Who is who: users (residents, staff, administrators), staff memberships, tokens, one-time codes."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civic.core.db import TimestampMixin, UTCDateTime, utcnow
from civic.extensions import db

# ``partner``: the system account of a partner organisation that files cases through Open311 on
# behalf of residents (civic/open311).  It has no password, phone or openid, so it never logs in.
USER_KINDS = ("resident", "staff", "admin", "partner")
STAFF_ROLES = ("head", "handler", "moderator", "viewer")


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False, index=True)
    display_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    # Mainland mobile numbers, digits only (PIPL: shown masked, see civic.core.privacy).
    phone: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    wechat_openid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    username: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    # Set when an administrator or a head resets the password (or an import gives a one-time one):
    # until the member chooses their own, they may only change it, read /me or log out
    # (civic.accounts.staff.password_change_gate).
    must_change_password: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False,
                                                       server_default=sa.false())
    # When the account was disabled (``active`` false); None while it is enabled.
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Set when the holder deleted the account (PIPL Art. 47): the row stays as a tombstone with no
    # personal data, because the append-only audit log and kept records name it by id.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    __table_args__ = (sa.CheckConstraint("kind IN ('resident', 'staff', 'admin', 'partner')", name="kind_known"),)


class Membership(db.Model):
    """A staff member's place in an organisation, with a role."""

    __tablename__ = "membership"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="handler")

    user: Mapped[User] = relationship(back_populates="memberships")

    __table_args__ = (sa.UniqueConstraint("user_id", "organisation_id"),)


class ApiToken(db.Model):
    """A bearer token.  Only its SHA-256 is stored: the token itself is 256 random bits, so a fast
    hash is enough (a slow one would only slow every request)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    label: Mapped[str | None] = mapped_column(sa.String(60))


class OtpChallenge(db.Model):
    """A one-time code sent by SMS; stored hashed, expires, and allows a few attempts."""

    __tablename__ = "otp_challenge"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(sa.String(20), nullable=False, index=True)
    purpose: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="login")
    code_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
