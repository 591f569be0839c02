"""The only door to accounts and tokens: every change writes its audit event in the same
transaction, and signing in yields the `Principal` every other edge checks permissions on.

Authorisation is the edge's job: a web route checks `rules.require(principal,
"account.manage")` before calling these verbs; the command line is the machine's operator.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

import orjson
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, RowMapping, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from xinyong.accounts.error_codes import AccountError
from xinyong.accounts.events import AccountEvent
from xinyong.accounts.models import Account, ApiToken, SignInThrottle, WebSession
from xinyong.accounts.rules import (
    AuthenticationFailed,
    PasswordPolicy,
    Principal,
    Role,
    RoleTable,
    SignInRefused,
    anonymous,
    department_problem,
    password_problems,
    role_table,
    subject_problem,
)
from xinyong.core import audit
from xinyong.core import uscc as uscc_rules
from xinyong.core.audit import Actor, AuditEvent
from xinyong.core.db import Db, reading, transaction, utcnow
from xinyong.core.errors import CoreError, InvalidInput, NotFound
from xinyong.core.settings import get_settings
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
    second_factor: bool = False  # an authenticator is set up
    password_changed_at: datetime | None = None

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
                       row["department"], row["active"], row["created_at"],
                       row["last_login_at"], row["subject_uscc"],
                       row["totp_enrolled_at"] is not None, row["password_changed_at"])


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
        raise InvalidInput(f"角色 {role.name}（{role.code}）不能使用{what}",
                           code=AccountError.ROLE_CREDENTIAL)
    problem = department_problem(role, department)
    if problem:
        raise InvalidInput(problem, code=AccountError.DEPARTMENT)
    return role


def _subject(role: Role, uscc: str | None) -> str | None:
    """The normalised, valid code of the subject an account acts for (or None)."""
    code = uscc_rules.normalise(uscc) if uscc and uscc.strip() else None
    problem = subject_problem(role, code)
    if problem:
        raise InvalidInput(problem, code=AccountError.SUBJECT)
    if code is not None:
        errors = uscc_rules.validate(code)
        if errors:
            raise InvalidInput(f"统一社会信用代码 {code} 无效：{errors[0].message}",
                               code=CoreError.INVALID_USCC)
    return code


def password_policy() -> PasswordPolicy:
    s = get_settings()
    return PasswordPolicy(s.password_min_length, s.password_min_classes,
                          s.password_privileged_min_length, s.password_privileged_min_classes,
                          s.password_max_repeat)


def password_problems_for(password: str, username: str | None, role: str) -> list[str]:
    """`rules.password_problems` under the configured policy, strict for privileged roles."""
    found = role_table().roles.get(role)
    return password_problems(password, username, privileged=bool(found and found.privileged),
                             policy=password_policy())


def _check_password(password: str, username: str | None, role: str) -> None:
    problems = password_problems_for(password, username, role)
    if problems:
        raise InvalidInput("；".join(problems), code=AccountError.WEAK_PASSWORD)


def generated_password(role: str) -> str:
    """A random password that meets the policy for `role` (shown once to whoever asked)."""
    length = max(16, password_policy().privileged_min_length)
    while True:
        candidate = secrets.token_urlsafe(length)[:length]
        if not password_problems_for(candidate, None, role):
            return candidate


def _find_account(conn: Connection, username: str) -> RowMapping | None:
    t = Account.__table__
    return conn.execute(
        select(t).where(t.c.username == username.strip().lower())
    ).mappings().one_or_none()


def _get_account(conn: Connection, username: str) -> RowMapping:
    row = _find_account(conn, username)
    if row is None:
        raise NotFound(f"没有账号 {username}", code=AccountError.UNKNOWN_ACCOUNT)
    return row


def get_account(conn: Connection, username: str) -> AccountView:
    return _account(_get_account(conn, username))


def create_account(db: Db, actor: Actor, username: str, role: str, *, password: str,
                   department: str | None = None, display_name: str | None = None,
                   subject: str | None = None) -> AccountView:
    """Open an account that signs in with a password. Usernames are case-insensitive."""
    with transaction(db) as conn:
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise InvalidInput("用户名应为 2–64 个字符，由字母、数字和 _ . @ - 组成，以字母或数字开头",
                               code=AccountError.USERNAME)
        department = departments.canonical(conn, _department(department))
        role_row = _check_role(role_table(), role, department, "password")
        subject = _subject(role_row, subject)
        _check_password(password, username, role)
        if _find_account(conn, username) is not None:
            raise InvalidInput(f"账号 {username} 已存在", code=AccountError.ACCOUNT_EXISTS)
        name = (display_name or "").strip() or username
        now = utcnow()
        conn.execute(insert(Account).values(
            username=username, display_name=name, role=role, department=department, subject_uscc=subject,
            password_hash=_hasher.hash(password), active=True, created_at=now,
            password_changed_at=now))
        audit.record(conn, actor, AccountEvent.ACCOUNT_CREATE, "account", username,
                     detail={"role": role, "department": department, "display_name": name,
                             "subject": subject})
        return _account(_get_account(conn, username))


def update_account(db: Db, actor: Actor, username: str, *, role: str,
                   department: str | None, display_name: str | None = None) -> AccountView:
    """Change an account's role, department and display name. The change takes effect on the
    account's next request: sessions read the role from the account each time."""
    with transaction(db) as conn:
        row = _get_account(conn, username)
        department = _department(department)
        role_row = _check_role(role_table(), role, department, "password")
        _subject(role_row, row["subject_uscc"])
        name = (display_name or "").strip() or row["display_name"]
        new = {"role": role, "department": department, "display_name": name}
        changes = {k: [row[k], v] for k, v in new.items() if row[k] != v}
        if not changes:
            return _account(row)
        conn.execute(update(Account).where(Account.id == row["id"]).values(**new))
        audit.record(conn, actor, AccountEvent.ACCOUNT_UPDATE, "account", row["username"],
                     detail={"changes": changes})
        return _account(_get_account(conn, row["username"]))


def _set_hash(conn: Connection, account_id: int, password: str) -> None:
    conn.execute(update(Account).where(Account.id == account_id)
                 .values(password_hash=_hasher.hash(password), password_changed_at=utcnow()))


def set_password(db: Db, actor: Actor, username: str, password: str) -> None:
    with transaction(db) as conn:
        row = _get_account(conn, username)
        _check_password(password, row["username"], row["role"])
        _set_hash(conn, row["id"], password)
        audit.record(conn, actor, AccountEvent.ACCOUNT_PASSWORD, "account", row["username"])


def change_own_password(db: Db, principal: Principal, current: str, new: str, *,
                        source: str | None = None, keep_session: str | None = None) -> None:
    """A person changes their own password, proving the current one. Their other sessions
    end (whoever else knew the old password is signed out); `keep_session` stays."""
    with transaction(db) as conn:
        row = _get_account(conn, principal.name)
        if not _verify(row["password_hash"], current):
            raise InvalidInput("当前密码不正确", code=AccountError.WRONG_CURRENT_PASSWORD)
        if current == new:
            raise InvalidInput("新密码不能与当前密码相同", code=AccountError.WEAK_PASSWORD)
        _check_password(new, row["username"], row["role"])
        _set_hash(conn, row["id"], new)
        ended = _end_sessions_of(conn, row["id"], keep=keep_session)
        audit.record(conn, principal.actor(source), AccountEvent.ACCOUNT_PASSWORD, "account", row["username"],
                     detail={"own": True, "sessions_ended": ended})


def reset_password(db: Db, actor: Actor, username: str,
                   password: str | None = None) -> str:
    """An administrator's reset for a person who forgot their password or lost their
    authenticator: a new password (`password`, or a generated one, returned either way),
    the second factor cleared (set up again at the next sign-in), the lock lifted, and every
    session ended."""
    with transaction(db) as conn:
        row = _get_account(conn, username)
        generated = password is None
        new = generated_password(row["role"]) if password is None else password
        _check_password(new, row["username"], row["role"])
        _set_hash(conn, row["id"], new)
        conn.execute(update(Account).where(Account.id == row["id"]).values(
            totp_secret=None, totp_enrolled_at=None, totp_last_step=None))
        ended = _end_sessions_of(conn, row["id"])
        unlocked = _clear_throttle(conn, ACCOUNT_SCOPE, row["username"])
        audit.record(conn, actor, AccountEvent.ACCOUNT_RESET_PASSWORD, "account", row["username"],
                     detail={"generated": generated, "second_factor_cleared": True,
                             "sessions_ended": ended, "unlocked": unlocked})
        return new


def deactivate_account(db: Db, actor: Actor, username: str) -> AccountView:
    """Accounts are never deleted (the audit log names them); a deactivated one cannot sign
    in, and its sessions end."""
    with transaction(db) as conn:
        row = _get_account(conn, username)
        if not row["active"]:
            raise InvalidInput(f"账号 {row['username']} 已经停用", code=AccountError.ACCOUNT_INACTIVE)
        conn.execute(update(Account).where(Account.id == row["id"]).values(active=False))
        ended = _end_sessions_of(conn, row["id"])
        audit.record(conn, actor, AccountEvent.ACCOUNT_DEACTIVATE, "account", row["username"],
                     detail={"sessions_ended": ended})
        return _account(_get_account(conn, row["username"]))


def activate_account(db: Db, actor: Actor, username: str) -> AccountView:
    with transaction(db) as conn:
        row = _get_account(conn, username)
        if row["active"]:
            raise InvalidInput(f"账号 {row['username']} 已经启用", code=AccountError.ACCOUNT_ACTIVE)
        conn.execute(update(Account).where(Account.id == row["id"]).values(active=True))
        audit.record(conn, actor, AccountEvent.ACCOUNT_ACTIVATE, "account", row["username"])
        return _account(_get_account(conn, row["username"]))


def change_account(db: Db, actor: Actor, username: str, *, role: str | None = None,
                   department: str | None = None, display_name: str | None = None,
                   active: bool | None = None) -> AccountView:
    """The administrator's change of an account in one step: role, department and display
    name (each left as it is when None; an empty department: none), then deactivation or
    reactivation when `active` asks for a change."""
    with transaction(db) as conn:
        view = get_account(conn, username)
        if role is not None or department is not None or display_name is not None:
            view = update_account(conn, actor, username, role=role or view.role,
                                  department=view.department if department is None else department,
                                  display_name=display_name)
        if active is False and view.active:
            view = deactivate_account(conn, actor, username)
        elif active is True and not view.active:
            view = activate_account(conn, actor, username)
        return view


def end_sessions(db: Db, actor: Actor, username: str) -> int:
    """End every session of the account now (a lost laptop, a person leaving); the count."""
    with transaction(db) as conn:
        row = _get_account(conn, username)
        ended = _end_sessions_of(conn, row["id"])
        audit.record(conn, actor, AccountEvent.ACCOUNT_END_SESSIONS, "account", row["username"],
                     detail={"sessions_ended": ended})
        return ended


def _end_sessions_of(conn: Connection, account_id: int, *, keep: str | None = None) -> int:
    s = WebSession.__table__
    query = (update(WebSession).where(s.c.account_id == account_id, s.c.ended_at.is_(None))
             .values(ended_at=utcnow().replace(microsecond=0)))
    if keep is not None:
        query = query.where(s.c.secret_hash != _hash_secret(keep))
    return int(conn.execute(query).rowcount or 0)


def list_accounts(conn: Connection) -> list[AccountView]:
    t = Account.__table__
    return [_account(r) for r in conn.execute(select(t).order_by(t.c.username)).mappings()]


def live_sessions(conn: Connection, username: str, *, now: datetime | None = None) -> int:
    """How many signed-in sessions the account holds now."""
    row = _get_account(conn, username)
    s = WebSession.__table__
    return len(conn.execute(select(s.c.id).where(*_live(s, row["id"], now or utcnow()))).all())


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Sign-in protection ----------------------------------------------------------------------

ACCOUNT_SCOPE = "account"
ADDRESS_SCOPE = "address"
MAX_DELAY_SECONDS = 60  # the doubling wait between attempts stops growing here
REFUSALS_REPORTED_EVERY = timedelta(minutes=1)  # one `auth.refused` event per key at most


@dataclass(frozen=True)
class Lock:
    """A username's wrong passwords in a row and its lock, as the console shows them."""

    failures: int
    last_failed_at: datetime
    locked_until: datetime | None

    def locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())


def lock_of(db: Db, username: str) -> Lock | None:
    with reading(db) as conn:
        row = _throttle_row(conn, ACCOUNT_SCOPE, username.strip().lower(), for_update=False)
    return None if row is None else Lock(row["failures"], row["last_failed_at"], row["locked_until"])


def locked_usernames(conn: Connection, *, now: datetime | None = None) -> set[str]:
    t = SignInThrottle.__table__
    return set(conn.execute(select(t.c.key).where(
        t.c.scope == ACCOUNT_SCOPE, t.c.locked_until > (now or utcnow()))).scalars())


def _throttle_row(conn: Connection, scope: str, key: str, *,
                  for_update: bool = True) -> RowMapping | None:
    """The key's row; locked for the transaction (PostgreSQL), so that two processes counting
    a failure at once count two."""
    t = SignInThrottle.__table__
    query = select(t).where(t.c.scope == scope, t.c.key == key[:128])
    return conn.execute(query.with_for_update() if for_update else query).mappings().one_or_none()


def _fresh(row: RowMapping | None, now: datetime) -> bool:
    """Whether the row's failures still count (not forgotten with time, not ended by a lock
    that has run out)."""
    if row is None:
        return False
    window = timedelta(minutes=get_settings().sign_in_failure_window_minutes)
    if row["locked_until"] is not None and row["locked_until"] <= now:
        return False
    return bool(row["last_failed_at"] > now - window)


def _delay(failures: int) -> int:
    s = get_settings()
    if failures < s.sign_in_throttle_after or s.sign_in_delay_seconds <= 0:
        return 0
    return int(min(MAX_DELAY_SECONDS, s.sign_in_delay_seconds * 2 ** (failures - s.sign_in_throttle_after)))


def _wait(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def _refusal(row: RowMapping | None, scope: str, now: datetime) -> SignInRefused | None:
    if not _fresh(row, now) or row is None:
        return None
    if row["locked_until"] is not None:
        wait = _wait((row["locked_until"] - now).total_seconds())
        minutes = math.ceil(wait / 60)
        if scope == ADDRESS_SCOPE:
            return SignInRefused(f"本机登录失败次数过多，已暂停登录，请 {minutes} 分钟后再试",
                                 wait, code=AccountError.ADDRESS_LOCKED)
        return SignInRefused(f"该账号连续登录失败次数过多，已锁定，请 {minutes} 分钟后再试，"
                             f"或请系统管理员解锁", wait, code=AccountError.ACCOUNT_LOCKED)
    ready = row["last_failed_at"] + timedelta(seconds=_delay(row["failures"]))
    if scope == ACCOUNT_SCOPE and ready > now:
        wait = _wait((ready - now).total_seconds())
        return SignInRefused(f"密码连续错误，请 {wait} 秒后再试", wait, code=AccountError.SIGN_IN_THROTTLED)
    return None


def _note_refused(conn: Connection, row: RowMapping, actor: Actor, reason: str,
                  now: datetime) -> None:
    """Count a refused attempt; sum the refusals up in one `auth.refused` event a minute."""
    t = SignInThrottle.__table__
    refused = row["refused"] + 1
    reported = row["refused_reported_at"]
    if reported is None or reported <= now - REFUSALS_REPORTED_EVERY:
        audit.record(conn, actor, AccountEvent.AUTH_REFUSED, row["scope"], row["key"],
                     detail={"reason": reason, "attempts": refused,
                             "locked_until": row["locked_until"].isoformat()
                             if row["locked_until"] else None})
        conn.execute(update(SignInThrottle).where(t.c.id == row["id"])
                     .values(refused=0, refused_reported_at=now))
    else:
        conn.execute(update(SignInThrottle).where(t.c.id == row["id"]).values(refused=refused))


def _count_failure(conn: Connection, scope: str, key: str, actor: Actor, now: datetime) -> int:
    """One more wrong password for the key; locks it when that makes too many. Returns the
    failures in a row now counted."""
    s = get_settings()
    t = SignInThrottle.__table__
    key = key[:128]
    row = _throttle_row(conn, scope, key)
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(SignInThrottle).values(
                    scope=scope, key=key, failures=0, last_failed_at=now, refused=0))
        except IntegrityError:  # another process inserted it first: count on its row
            pass
        row = _throttle_row(conn, scope, key)
        assert row is not None
        fresh = True
    else:
        fresh = _fresh(row, now)
    failures = (row["failures"] if fresh else 0) + 1
    limit = s.sign_in_lock_failures if scope == ACCOUNT_SCOPE else s.sign_in_address_lock_failures
    locked_until = None
    if failures >= limit > 0:
        locked_until = now + timedelta(minutes=s.sign_in_lock_minutes)
    conn.execute(update(SignInThrottle).where(t.c.id == row["id"]).values(
        failures=failures, last_failed_at=now, locked_until=locked_until,
        refused=row["refused"] if fresh else 0))
    if locked_until is not None:
        audit.record(conn, actor, AccountEvent.AUTH_LOCKED, scope, key, detail={
            "failures": failures, "locked_until": locked_until.isoformat(),
            "minutes": s.sign_in_lock_minutes})
    return failures


def _forget_old_failures(conn: Connection, now: datetime) -> None:
    """Rows of failures long forgotten and no lock: the table stays as small as the
    attempts of the last hour."""
    window = timedelta(minutes=get_settings().sign_in_failure_window_minutes)
    t = SignInThrottle.__table__
    conn.execute(delete(SignInThrottle).where(t.c.last_failed_at < now - window,
                                 or_(t.c.locked_until.is_(None), t.c.locked_until < now)))


def _clear_throttle(conn: Connection, scope: str, key: str) -> bool:
    """Forget the key's failures and lock; whether it was locked."""
    t = SignInThrottle.__table__
    row = _throttle_row(conn, scope, key)
    if row is None:
        return False
    conn.execute(delete(SignInThrottle).where(t.c.id == row["id"]))
    return bool(row["locked_until"] is not None and row["locked_until"] > utcnow())


def unlock(db: Db, actor: Actor, username: str) -> Lock:
    """Lift the lock (and forget the wrong passwords) of a username; the lock that was."""
    with transaction(db) as conn:
        key = username.strip().lower()
        found = lock_of(conn, key)
        if found is None or not found.locked():
            raise InvalidInput(f"账号 {key} 没有被锁定", code=AccountError.NOT_LOCKED)
        _clear_throttle(conn, ACCOUNT_SCOPE, key)
        audit.record(conn, actor, AccountEvent.ACCOUNT_UNLOCK, "account", key, detail={
            "failures": found.failures,
            "locked_until": found.locked_until.isoformat() if found.locked_until else None})
        return found


def _refuse_if_throttled(conn: Connection, key: str, source: str | None, actor: Actor,
                         now: datetime) -> None:
    for scope, value in ((ACCOUNT_SCOPE, key), (ADDRESS_SCOPE, source)):
        if not value:
            continue
        row = _throttle_row(conn, scope, value)
        refusal = _refusal(row, scope, now)
        if refusal is not None and row is not None:
            _note_refused(conn, row, actor, refusal.code, now)
            conn.commit()
            raise refusal


def _fail(conn: Connection, key: str, source: str | None, actor: Actor, reason: str,
          now: datetime, **detail: Any) -> NoReturn:
    """Audit a failed sign-in, count a wrong password or code, commit, and refuse."""
    if reason in COUNTED_FAILURES:
        detail["failures"] = _count_failure(conn, ACCOUNT_SCOPE, key, actor, now)
        if source:
            _count_failure(conn, ADDRESS_SCOPE, source, actor, now)
        _forget_old_failures(conn, now)
    audit.record(conn, actor, AccountEvent.AUTH_FAILED, "account", actor.name,
                 detail={"method": detail.pop("method", "password"), "reason": reason, **detail})
    conn.commit()
    raise AuthenticationFailed(SIGN_IN_FAILED)


# Wrong secrets count towards throttling and locks; a deactivated account with the right
# password is refused but is no guess.
COUNTED_FAILURES = frozenset({"unknown_user", "wrong_password", "wrong_code"})


def authenticate_password(db: Db, username: str, password: str, *,
                          source: str | None = None, now: datetime | None = None) -> Principal:
    """Check the password: the first factor (`second_factor` tells whether the account needs
    another). Success and failure are both audited; wrong passwords are counted per username
    and per client address and lead to waits and locks (`SignInRefused`, raised before the
    password is even checked). A failure is committed before it is raised, so that the
    caller's rollback cannot erase it: open the transaction for the sign-in alone."""
    with transaction(db) as conn:
        now = (now or utcnow()).replace(microsecond=0)
        username = username.replace("\x00", "")  # no name holds one; PostgreSQL cannot compare it
        key = username.strip().lower()[:128]
        row = _find_account(conn, username)
        name = (row["username"] if row else username.strip())[:128]
        actor = Actor(name, row["role"] if row else None, source)
        _refuse_if_throttled(conn, key, source, actor, now)
        ok = _verify(row["password_hash"] if row else _dummy_hash(), password)
        role = role_table().roles.get(row["role"]) if row else None
        reason = ("unknown_user" if row is None else "wrong_password" if not ok
                  else "inactive" if not row["active"]
                  else "role_cannot_sign_in" if role is None or "password" not in role.credentials
                  else None)
        if reason is not None or row is None or role is None:
            _fail(conn, key, source, actor, reason or "unknown_user", now)
        values: dict[str, Any] = {}
        if _hasher.check_needs_rehash(row["password_hash"]):
            values["password_hash"] = _hasher.hash(password)
        principal = Principal(row["username"], role.code, row["department"], role.permissions,
                              subject=row["subject_uscc"])
        if role.privileged:  # the sign-in is complete, and audited, only with the code
            if values:
                conn.execute(update(Account).where(Account.id == row["id"]).values(**values))
            return principal
        _clear_throttle(conn, ACCOUNT_SCOPE, key)
        conn.execute(update(Account).where(Account.id == row["id"])
                     .values(last_login_at=utcnow(), **values))
        audit.record(conn, principal.actor(source), AccountEvent.AUTH_SIGN_IN, "account", row["username"],
                     detail={"method": "password"})
        return principal


# Second factor (TOTP, RFC 6238) -----------------------------------------------------------

CODE = "code"  # the account has an authenticator: ask for its code
ENROL = "enrol"  # it has none yet: set one up before the sign-in completes
ACTIVE = "active"
TOTP_ISSUER = "公共信用信息平台"


def second_factor(conn: Connection, principal: Principal) -> str | None:
    """What the account still needs after its password: CODE, ENROL, or None."""
    role = role_table().roles.get(principal.role)
    if role is None or not role.privileged:
        return None
    row = _get_account(conn, principal.name)
    return CODE if row["totp_enrolled_at"] is not None else ENROL


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, to type into an authenticator app
    uri: str  # otpauth://, for apps that read it (as a QR code or a link)


def enrolment(db: Db, username: str) -> Enrolment:
    """The authenticator secret a person is setting up (made on first asking and kept until
    they confirm it with a code, so reloading the page shows the same one)."""
    with transaction(db) as conn:
        row = _get_account(conn, username)
        if row["totp_enrolled_at"] is not None:
            raise InvalidInput("该账号已绑定动态验证码；如需更换，请系统管理员重置",
                               code=AccountError.TOTP_ENROLLED)
        secret = row["totp_secret"]
        if secret is None:
            secret = pyotp.random_base32()
            conn.execute(update(Account).where(Account.id == row["id"]).values(totp_secret=secret))
        uri = pyotp.TOTP(secret).provisioning_uri(name=row["username"], issuer_name=TOTP_ISSUER)
        return Enrolment(secret, uri)


def _code_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code `code` is (this one or its neighbours, for clocks a little
    apart), or None."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    moment = now.replace(tzinfo=UTC)
    step = totp.timecode(moment)
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return int(candidate)
    return None


def verify_second_factor(db: Db, username: str, code: str, *,
                         source: str | None = None, now: datetime | None = None) -> Principal:
    """Check the authenticator code of an account whose password was just accepted, and
    complete its sign-in (confirming the enrolment if this was its first code). A wrong or
    reused code counts as a wrong password."""
    with transaction(db) as conn:
        now = (now or utcnow()).replace(microsecond=0)
        row = _get_account(conn, username)
        key = row["username"]
        actor = Actor(key, row["role"], source)
        _refuse_if_throttled(conn, key, source, actor, now)
        role = role_table().roles.get(row["role"])
        secret = row["totp_secret"]
        step = _code_step(secret, code, now) if secret else None
        if step is None or (row["totp_last_step"] is not None and step <= row["totp_last_step"]):
            _fail(conn, key, source, actor, "wrong_code", now, method="totp")
        if role is None or not row["active"] or "password" not in role.credentials:
            _fail(conn, key, source, actor, "inactive", now, method="totp")
        enrolling = row["totp_enrolled_at"] is None
        values: dict[str, Any] = {"totp_last_step": step, "last_login_at": utcnow()}
        if enrolling:
            values["totp_enrolled_at"] = now
        conn.execute(update(Account).where(Account.id == row["id"]).values(**values))
        _clear_throttle(conn, ACCOUNT_SCOPE, key)
        principal = Principal(row["username"], role.code, row["department"], role.permissions,
                              subject=row["subject_uscc"])
        if enrolling:
            audit.record(conn, principal.actor(source), AccountEvent.ACCOUNT_TOTP_ENROL, "account", key)
        audit.record(conn, principal.actor(source), AccountEvent.AUTH_SIGN_IN, "account", key,
                     detail={"method": "password+totp"})
        return principal


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _registered(conn: Connection, registrar: Actor, role: str,
                department: str | None) -> tuple[str | None, bool]:
    """The department an operator names for an account or token, registered (by `registrar`)
    in the same transaction if it is new; not for roles that belong to no department (those
    are refused as ever). True when it was registered now."""
    if not (department or "").strip() or role_table().role(role).department == "none":
        return department, False
    found, new = departments.ensure(conn, registrar, department)
    return found.name, new


def create_account_registering(db: Db, actor: Actor, registrar: Actor, username: str, role: str,
                               *, password: str, department: str | None = None,
                               display_name: str | None = None,
                               subject: str | None = None) -> tuple[AccountView, bool]:
    """`create_account` for the server's operator: a department not registered yet is
    registered by `registrar` in the same transaction, so an account refused leaves no
    department behind. True when the department was registered now."""
    with transaction(db) as conn:
        department, registered = _registered(conn, registrar, role, department)
        account = create_account(conn, actor, username, role, password=password,
                                 department=department, display_name=display_name,
                                 subject=subject)
        return account, registered


def create_token(db: Db, actor: Actor, role: str, department: str | None = None,
                 scopes: Iterable[str] = (), days: int = TOKEN_DEFAULT_DAYS,
                 name: str | None = None) -> tuple[str, TokenView]:
    """Issue an API token. Returns the secret, which exists only in this return value: the
    store keeps its hash. `scopes` narrow the role's permissions; none means all of them."""
    with transaction(db) as conn:
        table = role_table()
        department = departments.canonical(conn, _department(department))
        role_row = _check_role(table, role, department, "token")
        wanted = sorted(set(scopes))
        outside = [s for s in wanted if s not in role_row.permissions]
        if outside:
            raise InvalidInput(f"角色 {role_row.name}（{role}）没有这些权限，不能授予令牌："
                               f"{'、'.join(outside)}", code=AccountError.SCOPE_OUTSIDE_ROLE)
        if not 1 <= days <= TOKEN_MAX_DAYS:
            raise InvalidInput(f"令牌有效期应为 1–{TOKEN_MAX_DAYS} 天", code=AccountError.TOKEN_DAYS)
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
        audit.record(conn, actor, AccountEvent.TOKEN_CREATE, "api_token", prefix, detail={
            "role": role, "department": department, "scopes": wanted, "days": days, "name": label})
        row = conn.execute(select(t).where(t.c.prefix == prefix)).mappings().one()
        return secret, _token(row)


def create_token_registering(db: Db, actor: Actor, registrar: Actor, role: str,
                             department: str | None = None, scopes: Iterable[str] = (),
                             days: int = TOKEN_DEFAULT_DAYS,
                             name: str | None = None) -> tuple[str, TokenView, bool]:
    """`create_token` for the server's operator, registering a new department as
    `create_account_registering` does. True when the department was registered now."""
    with transaction(db) as conn:
        department, registered = _registered(conn, registrar, role, department)
        secret, token = create_token(conn, actor, role, department, scopes, days, name)
        return secret, token, registered


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
        raise AuthenticationFailed("接口令牌无效", code=AccountError.TOKEN_UNKNOWN)
    if row["revoked_at"] is not None:
        raise AuthenticationFailed(f"接口令牌 {row['prefix']} 已吊销", code=AccountError.TOKEN_REVOKED)
    if row["expires_at"] <= (now or utcnow()):
        raise AuthenticationFailed(f"接口令牌 {row['prefix']} 已于 {row['expires_at']:%Y-%m-%d} 过期",
                                   code=AccountError.TOKEN_EXPIRED)
    role = role_table().roles.get(row["role"])
    if role is None or "token" not in role.credentials:
        raise AuthenticationFailed(f"接口令牌 {row['prefix']} 的角色 {row['role']} 已不能使用令牌",
                                   code=AccountError.TOKEN_ROLE)
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


def revoke_token(db: Db, actor: Actor, prefix: str) -> TokenView:
    with transaction(db) as conn:
        t = ApiToken.__table__
        row = conn.execute(select(t).where(t.c.prefix == prefix.strip())).mappings().one_or_none()
        if row is None:
            raise NotFound(f"没有前缀为 {prefix} 的接口令牌", code=AccountError.UNKNOWN_TOKEN)
        if row["revoked_at"] is not None:
            raise InvalidInput(f"接口令牌 {prefix} 已于 {row['revoked_at']:%Y-%m-%d %H:%M} 吊销",
                               code=AccountError.TOKEN_ALREADY_REVOKED)
        conn.execute(update(ApiToken).where(ApiToken.id == row["id"])
                     .values(revoked_at=utcnow().replace(microsecond=0)))
        audit.record(conn, actor, AccountEvent.TOKEN_REVOKE, "api_token", row["prefix"])
        token_cache.forget(row["prefix"])
        return _token(conn.execute(select(t).where(t.c.id == row["id"])).mappings().one())


def list_tokens(conn: Connection) -> list[TokenView]:
    t = ApiToken.__table__
    return [_token(r) for r in conn.execute(select(t).order_by(t.c.id)).mappings()]


# Browser sessions -----------------------------------------------------------------------

SESSION_DEFAULT_HOURS = 8
# How stale a session's `last_seen_at` may get before a request writes it anew: the idle
# timeout is kept to within this, without a write on every request.
SEEN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionView:
    principal: Principal
    csrf_token: str
    expires_at: datetime
    stage: str = ACTIVE  # ACTIVE, or halfway through a sign-in: CODE or ENROL
    last_seen_at: datetime | None = None


def _with_public(principal: Principal) -> Principal:
    """A person who signs in may still do all the public may: an auditor can search the
    portal like anyone else. (Tokens are not widened: their scopes are deliberate.)"""
    wider = principal.permissions | anonymous().permissions
    return Principal(principal.name, principal.role, principal.department, wider, principal.kind,
                     principal.subject)


def start_session(db: Db, principal: Principal, *, source: str | None = None,
                  hours: int = SESSION_DEFAULT_HOURS, stage: str = ACTIVE) -> tuple[str, SessionView]:
    """Open a browser session for a person just signed in (or, with `stage` CODE or ENROL, one
    halfway, which grants nothing until `complete_session`). Returns the cookie secret, which
    is stored only as a hash, and the session (with its CSRF token). An account holds at most
    `session_max_per_account` sessions: opening one more ends the oldest."""
    with transaction(db) as conn:
        account = _get_account(conn, principal.name)
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = utcnow().replace(microsecond=0)
        if stage == ACTIVE:
            expires = now + timedelta(hours=hours)
            _cap_sessions(conn, principal, int(account["id"]), now, source)
        else:
            expires = now + timedelta(minutes=get_settings().sign_in_code_minutes)
        _purge_sessions(conn, int(account["id"]), now)
        conn.execute(insert(WebSession).values(
            secret_hash=_hash_secret(secret), account_id=account["id"], csrf_token=csrf,
            source=(source or "")[:64] or None, created_at=now, expires_at=expires, last_seen_at=now,
            stage=stage))
        return secret, SessionView(_with_public(principal), csrf, expires, stage, now)


def complete_session(db: Db, secret: str, principal: Principal, *,
                     source: str | None = None,
                     hours: int = SESSION_DEFAULT_HOURS) -> tuple[str, SessionView]:
    """A halfway session whose second factor was just given: ended, and a full one opened
    under a new secret (so a cookie planted before sign-in is worth nothing after it)."""
    with transaction(db) as conn:
        s = WebSession.__table__
        conn.execute(update(WebSession).where(s.c.secret_hash == _hash_secret(secret))
                     .values(ended_at=utcnow().replace(microsecond=0)))
        return start_session(conn, principal, source=source, hours=hours)


def sign_in(db: Db, username: str, password: str, code: str | None = None, *,
            source: str | None = None, hours: int = SESSION_DEFAULT_HOURS,
            halfway: bool = False) -> tuple[str, SessionView]:
    """Check the password (and the authenticator code of privileged roles) and open a
    session: the cookie secret and the session. With `halfway` (the console's two-step form)
    an account that still needs its code gets a session that grants nothing (its `stage` is
    CODE or ENROL) until `complete_sign_in`; otherwise it is refused, saying that the code is
    needed. A refused password is committed before it is raised (see
    `authenticate_password`): open no transaction around this."""
    with transaction(db) as conn:
        principal = authenticate_password(conn, username, password, source=source)
        needed = second_factor(conn, principal)
        if needed == CODE and code:
            principal = verify_second_factor(conn, principal.name, code, source=source)
            needed = None
        if needed is not None and not halfway:
            if needed == ENROL:
                raise AuthenticationFailed("该账号须先在控制台登录页绑定动态验证码",
                                           code=AccountError.SECOND_FACTOR_ENROLMENT)
            raise AuthenticationFailed("该账号登录须同时提供动态验证码（code）",
                                       code=AccountError.SECOND_FACTOR_REQUIRED)
        return start_session(conn, principal, source=source, hours=hours, stage=needed or ACTIVE)


def complete_sign_in(db: Db, secret: str, username: str, code: str, *,
                     source: str | None = None,
                     hours: int = SESSION_DEFAULT_HOURS) -> tuple[str, SessionView]:
    """The second step of a halfway sign-in: the authenticator's code checked, the halfway
    session `secret` ended and a full one opened (its secret and the session)."""
    with transaction(db) as conn:
        principal = verify_second_factor(conn, username, code, source=source)
        return complete_session(conn, secret, principal, source=source, hours=hours)


def _cap_sessions(conn: Connection, principal: Principal, account_id: int, now: datetime,
                  source: str | None) -> None:
    cap = get_settings().session_max_per_account
    if cap <= 0:
        return
    s = WebSession.__table__
    live = conn.execute(select(s.c.id).where(*_live(s, account_id, now))
                        .order_by(s.c.created_at.desc(), s.c.id.desc())).scalars().all()
    oldest = live[cap - 1:]
    if oldest:
        conn.execute(update(WebSession).where(s.c.id.in_(oldest)).values(ended_at=now))
        audit.record(conn, principal.actor(source), AccountEvent.AUTH_SESSION_CAP, "account", principal.name,
                     detail={"sessions_ended": len(oldest), "cap": cap})


def _live(s: Any, account_id: int, now: datetime) -> list[Any]:
    idle = now - timedelta(minutes=get_settings().session_idle_minutes)
    return [s.c.account_id == account_id, s.c.ended_at.is_(None), s.c.expires_at > now,
            s.c.stage == ACTIVE, func.coalesce(s.c.last_seen_at, s.c.created_at) > idle]


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


def session_for(conn: Connection, secret: str, *, now: datetime | None = None,
                stage: str = ACTIVE) -> SessionView | None:
    """The live session a cookie stands for, or None when it is unknown, ended, expired, idle
    longer than `session_idle_minutes`, of another `stage`, or its account has since been
    deactivated or may no longer sign in with a password."""
    now = now or utcnow()
    s, a = WebSession.__table__, Account.__table__
    row = conn.execute(
        select(s.c.csrf_token, s.c.expires_at, s.c.ended_at, s.c.stage, s.c.created_at,
               s.c.last_seen_at, a.c.username, a.c.role, a.c.department, a.c.active,
               a.c.subject_uscc)
        .join(a, a.c.id == s.c.account_id)
        .where(s.c.secret_hash == _hash_secret(secret))
    ).mappings().one_or_none()
    if row is None or row["ended_at"] is not None or not row["active"] or row["stage"] != stage:
        return None
    seen = row["last_seen_at"] or row["created_at"]
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    if row["expires_at"] <= now or seen + idle <= now:
        return None
    role = role_table().roles.get(row["role"])
    if role is None or "password" not in role.credentials:
        return None
    principal = Principal(row["username"], role.code, row["department"], role.permissions,
                          subject=row["subject_uscc"])
    return SessionView(_with_public(principal), row["csrf_token"], row["expires_at"], row["stage"],
                       seen)


def needs_touch(session: SessionView, now: datetime | None = None) -> bool:
    """Whether a request should write the session's `last_seen_at` anew."""
    return session.last_seen_at is None or session.last_seen_at + SEEN_EVERY <= (now or utcnow())


def touch_session(db: Db, secret: str, *, now: datetime | None = None) -> None:
    """The session served a request now: its idle time starts over."""
    with transaction(db) as conn:
        s = WebSession.__table__
        conn.execute(update(WebSession).where(s.c.secret_hash == _hash_secret(secret))
                     .values(last_seen_at=(now or utcnow()).replace(microsecond=0)))


def end_session(db: Db, secret: str, actor: Actor) -> bool:
    """Sign out: the session ends now. False when there was no live session to end."""
    with transaction(db) as conn:
        s = WebSession.__table__
        ended = conn.execute(update(WebSession)
                             .where(s.c.secret_hash == _hash_secret(secret), s.c.ended_at.is_(None))
                             .values(ended_at=utcnow().replace(microsecond=0))).rowcount
        if ended:
            audit.record(conn, actor, AccountEvent.AUTH_SIGN_OUT, "account", actor.name)
        return bool(ended)


def audit_events(conn: Connection, *, action: str | None = None, actor: str | None = None,
                 role: str | None = None, object_type: str | None = None, object_id: str | None = None,
                 subject_id: int | None = None, since: datetime | None = None,
                 until: datetime | None = None, limit: int = 50,
                 offset: int = 0) -> list[dict[str, Any]]:
    """Audit events matching every filter given, newest first (the auditor's view of the
    log). `action` ending in `.` matches a family (`auth.` → every sign-in event)."""
    if limit < 1 or offset < 0:
        raise InvalidInput("条数应为正整数，偏移量不能为负", code=AccountError.AUDIT_PAGING)
    t = AuditEvent.__table__
    query = select(t).order_by(t.c.id.desc()).limit(limit).offset(offset)
    if action:
        query = query.where(t.c.action.startswith(action, autoescape=True) if action.endswith(".")
                            else t.c.action == action)
    for column, value in ((t.c.actor, actor), (t.c.role, role), (t.c.object_type, object_type),
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


def read_audit_log(db: Db, reader: Actor, **filters: Any) -> list[dict[str, Any]]:
    """`audit_events` for a person, the reading itself audited: who looked at whose traces
    is itself non-public."""
    with transaction(db) as conn:
        events = audit_events(conn, **filters)
        shown = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in filters.items()
                 if v not in (None, "") and k not in ("limit",)}
        audit.record(conn, reader, AccountEvent.AUDIT_READ, "audit_event", None, detail={"filters": shown,
                                                                             "events": len(events)})
        return events


def account_counts(conn: Connection, *, now: datetime | None = None) -> dict[str, int]:
    """Accounts in use, disabled, locked now, and of privileged roles still without an
    authenticator (the administrator's to-do counts on the console home)."""
    found = list_accounts(conn)
    locked = locked_usernames(conn, now=now)
    table = role_table()
    return {
        "total": len(found),
        "active": sum(1 for a in found if a.active),
        "inactive": sum(1 for a in found if not a.active),
        "locked": sum(1 for a in found if a.username.lower() in locked),
        "without_second_factor": sum(
            1 for a in found if a.active and not a.second_factor
            and a.role in table.roles and table.roles[a.role].privileged),
    }


# The events an auditor watches first: refused and failed sign-ins, locks, refused requests,
# and every change of an account or token.
SECURITY_ACTIONS = (AccountEvent.AUTH_FAILED, AccountEvent.AUTH_LOCKED, AccountEvent.AUTH_REFUSED,
                    AccountEvent.AUTH_SESSION_CAP, AccountEvent.ACCESS_DENIED,
                    AccountEvent.ACCESS_CSRF_FAILED,
                    *AccountEvent.family("account."), *AccountEvent.family("token."))


def _security(t: Any) -> Any:
    return t.c.action.in_(SECURITY_ACTIONS)


def security_counts(conn: Connection, since: datetime) -> dict[str, int]:
    """Security events since an instant (naive UTC), per action: numbers only, no event read."""
    t = AuditEvent.__table__
    return {str(a): int(n) for a, n in conn.execute(
        select(t.c.action, func.count()).where(_security(t), t.c.at >= since).group_by(t.c.action))}


def read_security_events(db: Db, reader: Actor, *, limit: int = 10) -> list[dict[str, Any]]:
    """The latest security events, the reading audited like any reading of the log."""
    with transaction(db) as conn:
        t = AuditEvent.__table__
        rows = [{**dict(r), "detail": orjson.loads(r["detail"])} for r in conn.execute(
            select(t).where(_security(t)).order_by(t.c.id.desc()).limit(limit)).mappings()]
        audit.record(conn, reader, AccountEvent.AUDIT_READ, "audit_event", None,
                     detail={"filters": {"action": "security"}, "events": len(rows)})
        return rows


def rotate_audit_key(db: Db, actor: Actor) -> tuple[str, Path]:
    """A new signing key for the audit log (the old ones stay in the key file, to verify
    the events they signed): the last event under the old key is anchored by the new one,
    and the rotation itself is audited. The new key's id and the key file."""
    path = audit.key_file()
    with reading(db) as conn:
        audit.signing_keys(conn)  # a missing key file is made only for a log nobody signed yet
        current = audit.head(conn)
    key_id = audit.rotate_key(path)
    if current is not None:
        audit.write_anchor(*current)
    with transaction(db) as conn:
        audit.record(conn, actor, AccountEvent.AUDIT_KEY_ROTATED, "audit_key", key_id)
    return key_id, path


def audit_event_count(conn: Connection) -> int:
    """How many events the audit log holds (whether checking the whole chain is quick)."""
    return int(conn.execute(select(func.count()).select_from(AuditEvent.__table__)).scalar_one())
