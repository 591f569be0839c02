"""The audit log's names for what happens to accounts, tokens and sign-ins, for refused
requests, and for reading the log itself."""

from __future__ import annotations

from enum import StrEnum


class AccountEvent(StrEnum):
    # Accounts (the administrator's changes, and a person's own password)
    ACCOUNT_CREATE = "account.create"
    ACCOUNT_UPDATE = "account.update"
    ACCOUNT_PASSWORD = "account.password"
    ACCOUNT_RESET_PASSWORD = "account.reset_password"
    ACCOUNT_DEACTIVATE = "account.deactivate"
    ACCOUNT_ACTIVATE = "account.activate"
    ACCOUNT_END_SESSIONS = "account.end_sessions"
    ACCOUNT_UNLOCK = "account.unlock"
    ACCOUNT_TOTP_ENROL = "account.totp_enrol"
    # API tokens
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    # Signing in and out
    AUTH_SIGN_IN = "auth.sign_in"
    AUTH_SIGN_OUT = "auth.sign_out"
    AUTH_FAILED = "auth.failed"
    AUTH_LOCKED = "auth.locked"
    AUTH_REFUSED = "auth.refused"
    AUTH_SESSION_CAP = "auth.session_cap"
    # Requests refused by permission or by the form's token (written by the web kit's edges)
    ACCESS_DENIED = "access.denied"
    ACCESS_CSRF_FAILED = "access.csrf_failed"
    # The audit log itself
    AUDIT_READ = "audit.read"
    AUDIT_KEY_ROTATED = "audit.key_rotated"

    @classmethod
    def family(cls, prefix: str) -> list[AccountEvent]:
        """The events whose action starts with `prefix` (`"account."`: every account change)."""
        return [e for e in cls if e.startswith(prefix)]
