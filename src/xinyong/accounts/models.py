"""Accounts (people who sign in with a password) and API tokens (systems and scripts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base


class Account(Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    department: Mapped[str | None] = mapped_column(String(100))
    # The credit subject an enterprise account (or its agent) acts for.
    subject_uscc: Mapped[str | None] = mapped_column(String(18))
    # argon2id, in the PHC string format that carries its own parameters and salt.
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The second factor of privileged roles: a TOTP secret (RFC 6238, base32), set when the
    # person starts enrolling and trusted once `totp_enrolled_at` is set (they proved their app
    # shows the same codes). `totp_last_step` is the time step of the last code accepted, so a
    # code seen over someone's shoulder cannot be used a second time.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(DateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)


class ApiToken(Base):
    """The secret itself is never stored: only its SHA-256 (a random 240-bit secret needs no
    slow hash) and its first characters, so a person can tell tokens apart in a list."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(8), nullable=False, unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    department: Mapped[str | None] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(Text, nullable=False, default="[]")  # JSON list
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)


class WebSession(Base):
    """A person's signed-in browser session. Kept server-side, so that signing out,
    deactivating the account or changing its role ends it at once. Like tokens, only a hash of
    the cookie's secret is stored."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), nullable=False, index=True)
    # The synchroniser token every form and unsafe API call of this session must echo.
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When the session last served a request (idle timeout), written at most once a minute.
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    # active, or a sign-in halfway: `code` waits for the authenticator's code, `enrol` for
    # the person to set up their authenticator. A halfway session grants nothing.
    stage: Mapped[str] = mapped_column(String(16), nullable=False, default="active",
                                       server_default="active")


class SignInThrottle(Base):
    """Wrong passwords in a row for one username (`scope` account, whether or not it exists,
    so a lock says nothing of which names are real) or from one client address (`scope`
    address), and the lock they led to. In the database, so every server process counts
    the same failures."""

    __tablename__ = "sign_in_throttle"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_sign_in_throttle_scope_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16), nullable=False)
    key: Mapped[str] = mapped_column(String(128), nullable=False)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    # Attempts refused (throttled or locked) since the last `auth.refused` event, which sums
    # them up at most once a minute rather than one event per attempt.
    refused: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    refused_reported_at: Mapped[datetime | None] = mapped_column(DateTime)
