"""The only door to accounts and tokens: every change writes its audit event in the same
transaction, and signing in yields the `Principal` every other edge checks permissions on.

Authorisation is the edge's job: a web route checks `rules.require(principal,
"account.manage")` before calling these verbs; the command line is the machine's operator.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, RowMapping, delete, insert, or_, select, update

from xinyong.accounts.models import Account, ApiToken, WebSession
from xinyong.accounts.rules import (
    AuthenticationFailed,
    Principal,
    Role,
    RoleTable,
    anonymous,
    department_problem,
    password_problems,
    role_table,
    subject_problem,
)
from xinyong.core import audit
from xinyong.core import uscc as uscc_rules
from xinyong.core.audit import Actor, AuditEvent
from xinyong.core.db import utcnow
from xinyong.core.errors import InvalidInput, NotFound
from xinyong.departments import service as departments

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.@-]{1,63}$")
TOKEN_PREFIX = "xy_"
TOKEN_DEFAULT_DAYS = 90
TOKEN_MAX_DAYS = 730
SIGN_IN_FAILED = "用户名或密码错误，或账号已停用"

_hasher = PasswordHasher()  # argon2id with the RFC 9106 low-memory parameters


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so both failures take the same time.
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class AccountView:
    id: int
    username: str
    display_name: str
    role: str
    department: str | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None
    subject_uscc: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TokenView:
    id: int
    prefix: str
    name: str
    role: str
    department: str | None
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    created_by: str

    def status(self, now: datetime | None = None) -> str:
        """active | expired | revoked, derived at the moment of asking."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= (now or utcnow()) else "active"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "scopes": list(self.scopes), "status": self.status()}


def _account(row: RowMapping) -> AccountView:
    return AccountView(row["id"], row["username"], row["display_name"], row["role"],
                       row["department"], bool(row["active"]), row["created_at"],
                       row["last_login_at"], row["subject_uscc"])


def _token(row: RowMapping) -> TokenView:
    return TokenView(row["id"], row["prefix"], row["name"], row["role"], row["department"],
                     tuple(orjson.loads(row["scopes"])), row["created_at"], row["expires_at"],
                     row["revoked_at"], row["created_by"])


def _department(value: str | None) -> str | None:
    return (value or "").strip() or None


def _check_role(table: RoleTable, role_code: str, department: str | None,
                credential: str) -> Role:
    role = table.role(role_code)
    if credential not in role.credentials:
        what = {"password": "账号（密码登录）", "token": "接口令牌"}[credential]
        raise InvalidInput(f"角色 {role.name}（{role.code}）不能使用{what}", code="role_credential")
    problem = department_problem(role, department)
    if problem:
        raise InvalidInput(problem, code="department")
    return role


def _subject(role: Role, uscc: str | None) -> str | None:
    """The normalised, valid code of the subject an account acts for (or None)."""
    code = uscc_rules.normalise(uscc) if uscc and uscc.strip() else None
    problem = subject_problem(role, code)
    if problem:
        raise InvalidInput(problem, code="subject")
    if code is not None:
        errors = uscc_rules.validate(code)
        if errors:
            raise InvalidInput(f"统一社会信用代码 {code} 无效：{errors[0].message}", code="invalid_uscc")
    return code


def _check_password(password: str, username: str | None) -> None:
    problems = password_problems(password, username)
    if problems:
        raise InvalidInput("；".join(problems), code="weak_password")


def _find_account(conn: Connection, username: str) -> RowMapping | None:
    t = Account.__table__
    return conn.execute(
        select(t).where(t.c.username == username.strip().lower())
    ).mappings().one_or_none()


def _get_account(conn: Connection, username: str) -> RowMapping:
    row = _find_account(conn, username)
    if row is None:
        raise NotFound(f"没有账号 {username}")
    return row


def get_account(conn: Connection, username: str) -> AccountView:
    return _account(_get_account(conn, username))


def create_account(conn: Connection, actor: Actor, username: str, role: str, *, password: str,
                   department: str | None = None, display_name: str | None = None,
                   subject: str | None = None) -> AccountView:
    """Open an account that signs in with a password. Usernames are case-insensitive."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise InvalidInput("用户名应为 2–64 个字符，由字母、数字和 _ . @ - 组成，以字母或数字开头",
                           code="username")
    department = departments.canonical(conn, _department(department))
    role_row = _check_role(role_table(), role, department, "password")
    subject = _subject(role_row, subject)
    _check_password(password, username)
    if _find_account(conn, username) is not None:
        raise InvalidInput(f"账号 {username} 已存在", code="account_exists")
    name = (display_name or "").strip() or username
    conn.execute(insert(Account).values(
        username=username, display_name=name, role=role, department=department, subject_uscc=subject,
        password_hash=_hasher.hash(password), active=True, created_at=utcnow()))
    audit.record(conn, actor, "account.create", "account", username,
                 detail={"role": role, "department": department, "display_name": name,
                         "subject": subject})
    return _account(_get_account(conn, username))


def set_password(conn: Connection, actor: Actor, username: str, password: str) -> None:
    row = _get_account(conn, username)
    _check_password(password, row["username"])
    conn.execute(update(Account).where(Account.id == row["id"])
                 .values(password_hash=_hasher.hash(password)))
    audit.record(conn, actor, "account.password", "account", row["username"])


def deactivate_account(conn: Connection, actor: Actor, username: str) -> AccountView:
    """Accounts are never deleted (the audit log names them); a deactivated one cannot sign in."""
    row = _get_account(conn, username)
    if not row["active"]:
        raise InvalidInput(f"账号 {row['username']} 已经停用", code="account_inactive")
    conn.execute(update(Account).where(Account.id == row["id"]).values(active=False))
    audit.record(conn, actor, "account.deactivate", "account", row["username"])
    return _account(_get_account(conn, row["username"]))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate_password(conn: Connection, username: str, password: str, *,
                          source: str | None = None) -> Principal:
    """Sign in. Success and failure are both audited. A failure is committed before
    `AuthenticationFailed` is raised, so that the caller's rollback cannot erase it: open
    the transaction for the sign-in alone."""
    username = username.replace("\x00", "")  # no name holds one; PostgreSQL cannot compare it
    row = _find_account(conn, username)
    ok = _verify(row["password_hash"] if row else _dummy_hash(), password)
    role = role_table().roles.get(row["role"]) if row else None
    reason = ("unknown_user" if row is None else "wrong_password" if not ok
              else "inactive" if not row["active"]
              else "role_cannot_sign_in" if role is None or "password" not in role.credentials
              else None)
    name = (row["username"] if row else username.strip())[:128]
    if reason is not None or row is None or role is None:
        audit.record(conn, Actor(name, row["role"] if row else None, source), "auth.failed",
                     "account", name, detail={"method": "password", "reason": reason})
        conn.commit()
        raise AuthenticationFailed(SIGN_IN_FAILED)
    values: dict[str, Any] = {"last_login_at": utcnow()}
    if _hasher.check_needs_rehash(row["password_hash"]):
        values["password_hash"] = _hasher.hash(password)
    conn.execute(update(Account).where(Account.id == row["id"]).values(**values))
    principal = Principal(row["username"], role.code, row["department"], role.permissions,
                          subject=row["subject_uscc"])
    audit.record(conn, principal.actor(source), "auth.sign_in", "account", row["username"],
                 detail={"method": "password"})
    return principal


def list_accounts(conn: Connection) -> list[AccountView]:
    t = Account.__table__
    return [_account(r) for r in conn.execute(select(t).order_by(t.c.username)).mappings()]


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(conn: Connection, actor: Actor, role: str, department: str | None = None,
                 scopes: Iterable[str] = (), days: int = TOKEN_DEFAULT_DAYS,
                 name: str | None = None) -> tuple[str, TokenView]:
    """Issue an API token. Returns the secret, which exists only in this return value: the
    store keeps its hash. `scopes` narrow the role's permissions; none means all of them."""
    table = role_table()
    department = departments.canonical(conn, _department(department))
    role_row = _check_role(table, role, department, "token")
    wanted = sorted(set(scopes))
    outside = [s for s in wanted if s not in role_row.permissions]
    if outside:
        raise InvalidInput(f"角色 {role_row.name}（{role}）没有这些权限，不能授予令牌："
                           f"{'、'.join(outside)}", code="scope_outside_role")
    if not 1 <= days <= TOKEN_MAX_DAYS:
        raise InvalidInput(f"令牌有效期应为 1–{TOKEN_MAX_DAYS} 天", code="token_days")
    t = ApiToken.__table__
    while True:
        secret = TOKEN_PREFIX + secrets.token_urlsafe(30)  # 30 bytes → 40 characters
        prefix = secret[:8]
        if conn.execute(select(t.c.id).where(t.c.prefix == prefix)).first() is None:
            break
    now = utcnow().replace(microsecond=0)
    label = (name or "").strip() or f"{role_row.name}令牌"
    conn.execute(insert(ApiToken).values(
        prefix=prefix, token_hash=_hash_secret(secret), name=label, role=role,
        department=department, scopes=orjson.dumps(wanted).decode(), created_at=now,
        expires_at=now + timedelta(days=days), revoked_at=None, created_by=actor.name[:128]))
    audit.record(conn, actor, "token.create", "api_token", prefix, detail={
        "role": role, "department": department, "scopes": wanted, "days": days, "name": label})
    row = conn.execute(select(t).where(t.c.prefix == prefix)).mappings().one()
    return secret, _token(row)


@dataclass(frozen=True)
class TokenGrant:
    """What a valid bearer token grants, and until when."""

    principal: Principal
    expires_at: datetime


def token_grant(conn: Connection, secret: str, *, now: datetime | None = None) -> TokenGrant:
    """The grant of a bearer token; unknown, revoked and expired tokens are refused."""
    t = ApiToken.__table__
    row = conn.execute(
        select(t).where(t.c.token_hash == _hash_secret(secret.strip()))
    ).mappings().one_or_none()
    if row is None:
        raise AuthenticationFailed("接口令牌无效", code="token_unknown")
    if row["revoked_at"] is not None:
        raise AuthenticationFailed(f"接口令牌 {row['prefix']} 已吊销", code="token_revoked")
    if row["expires_at"] <= (now or utcnow()):
        raise AuthenticationFailed(f"接口令牌 {row['prefix']} 已于 {row['expires_at']:%Y-%m-%d} 过期",
                                   code="token_expired")
    role = role_table().roles.get(row["role"])
    if role is None or "token" not in role.credentials:
        raise AuthenticationFailed(f"接口令牌 {row['prefix']} 的角色 {row['role']} 已不能使用令牌",
                                   code="token_role")
    scopes = frozenset(orjson.loads(row["scopes"]))
    # Scopes are cut to what the role grants today, in case the role file has since narrowed it.
    permissions = scopes & role.permissions if scopes else role.permissions
    return TokenGrant(Principal(f"token:{row['prefix']}", role.code, row["department"], permissions,
                                kind="token"), row["expires_at"])


def authenticate_token(conn: Connection, secret: str, *, now: datetime | None = None) -> Principal:
    """The principal a bearer token stands for; unknown, revoked and expired tokens are refused."""
    return token_grant(conn, secret, now=now).principal


class TokenCache:
    """Grants of bearer tokens this process has checked in the last `seconds`
    (settings.token_cache_seconds), so that a system calling a thousand times a second does not
    pay a token lookup each time. Only valid tokens are kept, never past their expiry; a token
    revoked here is forgotten at once, one revoked by another process within `seconds`."""

    LIMIT = 4096  # distinct tokens kept; the cache is emptied when full

    def __init__(self) -> None:
        self.grants: dict[str, tuple[float, TokenGrant]] = {}

    def principal(self, secret: str, seconds: float) -> Principal | None:
        key = _hash_secret(secret.strip())
        found = self.grants.get(key)
        if found is None:
            return None
        read_at, grant = found
        if time.monotonic() - read_at >= seconds or utcnow() >= grant.expires_at:
            self.grants.pop(key, None)
            return None
        return grant.principal

    def keep(self, secret: str, grant: TokenGrant) -> None:
        if len(self.grants) >= self.LIMIT:
            self.grants.clear()
        self.grants[_hash_secret(secret.strip())] = (time.monotonic(), grant)

    def forget(self, prefix: str) -> None:
        name = f"token:{prefix}"
        for key, (_, grant) in list(self.grants.items()):
            if grant.principal.name == name:
                self.grants.pop(key, None)


token_cache = TokenCache()


def revoke_token(conn: Connection, actor: Actor, prefix: str) -> TokenView:
    t = ApiToken.__table__
    row = conn.execute(select(t).where(t.c.prefix == prefix.strip())).mappings().one_or_none()
    if row is None:
        raise NotFound(f"没有前缀为 {prefix} 的接口令牌")
    if row["revoked_at"] is not None:
        raise InvalidInput(f"接口令牌 {prefix} 已于 {row['revoked_at']:%Y-%m-%d %H:%M} 吊销",
                           code="token_revoked")
    conn.execute(update(ApiToken).where(ApiToken.id == row["id"])
                 .values(revoked_at=utcnow().replace(microsecond=0)))
    audit.record(conn, actor, "token.revoke", "api_token", row["prefix"])
    token_cache.forget(row["prefix"])
    return _token(conn.execute(select(t).where(t.c.id == row["id"])).mappings().one())


def list_tokens(conn: Connection) -> list[TokenView]:
    t = ApiToken.__table__
    return [_token(r) for r in conn.execute(select(t).order_by(t.c.id)).mappings()]


# Browser sessions -----------------------------------------------------------------------

SESSION_DEFAULT_HOURS = 8


@dataclass(frozen=True)
class SessionView:
    principal: Principal
    csrf_token: str
    expires_at: datetime


def _with_public(principal: Principal) -> Principal:
    """A person who signs in may still do all the public may: an auditor can search the
    portal like anyone else. (Tokens are not widened: their scopes are deliberate.)"""
    wider = principal.permissions | anonymous().permissions
    return Principal(principal.name, principal.role, principal.department, wider, principal.kind,
                     principal.subject)


def start_session(conn: Connection, principal: Principal, *, source: str | None = None,
                  hours: int = SESSION_DEFAULT_HOURS) -> tuple[str, SessionView]:
    """Open a browser session for a person just signed in. Returns the cookie secret, which
    is stored only as a hash, and the session (with its CSRF token)."""
    account = _get_account(conn, principal.name)
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow().replace(microsecond=0)
    expires = now + timedelta(hours=hours)
    _purge_sessions(conn, int(account["id"]), now)
    conn.execute(insert(WebSession).values(
        secret_hash=_hash_secret(secret), account_id=account["id"], csrf_token=csrf,
        source=(source or "")[:64] or None, created_at=now, expires_at=expires))
    return secret, SessionView(_with_public(principal), csrf, expires)


# Ended and expired sessions are kept this long (to answer "was this cookie ever valid?" when a
# person reports a problem), then dropped when their account next signs in: the table stays as
# small as the people signing in, without a cleaning job. Sign-ins and sign-outs themselves
# stay in the audit log.
SESSION_RETENTION_DAYS = 30


def _purge_sessions(conn: Connection, account_id: int, now: datetime) -> None:
    cutoff = now - timedelta(days=SESSION_RETENTION_DAYS)
    conn.execute(delete(WebSession).where(
        WebSession.account_id == account_id,
        or_(WebSession.expires_at < cutoff, WebSession.ended_at < cutoff)))


def session_for(conn: Connection, secret: str, *, now: datetime | None = None) -> SessionView | None:
    """The live session a cookie stands for, or None when it is unknown, ended or expired,
    or its account has since been deactivated or may no longer sign in with a password."""
    s, a = WebSession.__table__, Account.__table__
    row = conn.execute(
        select(s.c.csrf_token, s.c.expires_at, s.c.ended_at, a.c.username, a.c.role,
               a.c.department, a.c.active, a.c.subject_uscc)
        .join(a, a.c.id == s.c.account_id)
        .where(s.c.secret_hash == _hash_secret(secret))
    ).mappings().one_or_none()
    if row is None or row["ended_at"] is not None or not row["active"]:
        return None
    if row["expires_at"] <= (now or utcnow()):
        return None
    role = role_table().roles.get(row["role"])
    if role is None or "password" not in role.credentials:
        return None
    principal = Principal(row["username"], role.code, row["department"], role.permissions,
                          subject=row["subject_uscc"])
    return SessionView(_with_public(principal), row["csrf_token"], row["expires_at"])


def end_session(conn: Connection, secret: str, actor: Actor) -> bool:
    """Sign out: the session ends now. False when there was no live session to end."""
    s = WebSession.__table__
    ended = conn.execute(update(WebSession)
                         .where(s.c.secret_hash == _hash_secret(secret), s.c.ended_at.is_(None))
                         .values(ended_at=utcnow().replace(microsecond=0))).rowcount
    if ended:
        audit.record(conn, actor, "auth.sign_out", "account", actor.name)
    return bool(ended)


def audit_events(conn: Connection, *, action: str | None = None, actor: str | None = None,
                 object_type: str | None = None, object_id: str | None = None,
                 subject_id: int | None = None, since: datetime | None = None,
                 until: datetime | None = None, limit: int = 50,
                 offset: int = 0) -> list[dict[str, Any]]:
    """Audit events matching every filter given, newest first (the auditor's view of the
    log). `action` ending in `.` matches a family (`auth.` → every sign-in event)."""
    if limit < 1 or offset < 0:
        raise InvalidInput("条数应为正整数，偏移量不能为负")
    t = AuditEvent.__table__
    query = select(t).order_by(t.c.id.desc()).limit(limit).offset(offset)
    if action:
        query = query.where(t.c.action.startswith(action, autoescape=True) if action.endswith(".")
                            else t.c.action == action)
    for column, value in ((t.c.actor, actor), (t.c.object_type, object_type),
                          (t.c.object_id, object_id)):
        if value:
            query = query.where(column == value)
    if subject_id is not None:
        query = query.where(t.c.subject_id == subject_id)
    if since is not None:
        query = query.where(t.c.at >= since)
    if until is not None:
        query = query.where(t.c.at < until)
    return [{**dict(r), "detail": orjson.loads(r["detail"])} for r in conn.execute(query).mappings()]


def read_audit_log(conn: Connection, reader: Actor, **filters: Any) -> list[dict[str, Any]]:
    """`audit_events` for a person, the reading itself audited: who looked at whose traces
    is itself non-public."""
    events = audit_events(conn, **filters)
    shown = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in filters.items()
             if v not in (None, "") and k not in ("limit",)}
    audit.record(conn, reader, "audit.read", "audit_event", None, detail={"filters": shown,
                                                                         "events": len(events)})
    return events
