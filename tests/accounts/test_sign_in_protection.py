"""Sign-in protection (等保 identification and authentication): wrong passwords in a row are
throttled, then lock the username until the lock runs out or an operator lifts it; one client
address trying many usernames is locked likewise; privileged roles need their authenticator's
code; the password policy is configuration, strict for privileged roles. Time is handed in
(`now`), so no test waits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import Engine

from xinyong.accounts import service
from xinyong.accounts.rules import AuthenticationFailed, PasswordPolicy, SignInRefused, password_problems
from xinyong.core import audit
from xinyong.core.audit import Actor
from xinyong.core.db import utcnow, writing
from xinyong.core.errors import InvalidInput
from xinyong.core.settings import get_settings

from .test_accounts import xinyong

ADMIN = Actor("cli:test", "admin", "cli")
GOOD = "Correct-horse-42"
ADDRESS = "10.1.2.3"


@pytest.fixture
def reporter(engine: Engine) -> str:
    with writing(engine) as conn:
        service.create_account(conn, ADMIN, "zhao", "reporter", password=GOOD, department="税务局")
    return "zhao"


def attempt(engine: Engine, username: str, password: str, now: datetime,
            source: str = ADDRESS) -> Any:
    """The principal, or the error the sign-in raised."""
    try:
        with writing(engine) as conn:
            return service.authenticate_password(conn, username, password, source=source, now=now)
    except (AuthenticationFailed, SignInRefused) as exc:
        return exc


def events(engine: Engine, action: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return list(reversed(service.audit_events(conn, action=action, limit=500)))


def lock_by_wrong_passwords(engine: Engine, username: str, start: datetime) -> datetime:
    """Ten wrong passwords, each after the wait the previous one imposed; the last one's time."""
    now = start
    for n in range(1, get_settings().sign_in_lock_failures + 1):
        result = attempt(engine, username, "wrong-password-1", now)
        assert isinstance(result, AuthenticationFailed), (n, result)
        now += timedelta(seconds=61)  # longer than the longest wait
    return now - timedelta(seconds=61)


def test_a_few_wrong_passwords_in_a_row_are_throttled(engine: Engine, reporter: str) -> None:
    now = utcnow()
    for _ in range(3):
        assert isinstance(attempt(engine, reporter, "wrong-password-1", now), AuthenticationFailed)
    refused = attempt(engine, reporter, GOOD, now)  # even the right password must wait
    assert isinstance(refused, SignInRefused) and refused.code == "sign_in_throttled"
    assert refused.retry_after == 1
    assert "秒后再试" in refused.message
    # after the wait the right password is accepted, and the count starts over
    assert attempt(engine, reporter, GOOD, now + timedelta(seconds=1)).name == reporter
    for _ in range(3):
        assert isinstance(attempt(engine, reporter, "wrong-password-1", now + timedelta(seconds=2)),
                          AuthenticationFailed)


def test_ten_wrong_passwords_lock_the_account_until_the_lock_runs_out(engine: Engine,
                                                                       reporter: str) -> None:
    start = utcnow()
    last = lock_by_wrong_passwords(engine, reporter, start)
    later = last + timedelta(minutes=1)
    refused = attempt(engine, reporter, GOOD, later)
    assert isinstance(refused, SignInRefused) and refused.code == "account_locked"
    assert "已锁定" in refused.message and refused.retry_after > 13 * 60
    [locked] = events(engine, "auth.locked")
    assert locked["object_id"] == reporter and locked["detail"]["failures"] == 10
    assert [e["detail"]["failures"] for e in events(engine, "auth.failed")] == list(range(1, 11))
    # the lock runs out after sign_in_lock_minutes
    expiry = last + timedelta(minutes=get_settings().sign_in_lock_minutes, seconds=1)
    assert attempt(engine, reporter, GOOD, expiry).name == reporter


def test_an_unknown_username_locks_like_a_real_one(engine: Engine) -> None:
    """Otherwise a lock would tell which usernames exist."""
    last = lock_by_wrong_passwords(engine, "no.such.person", utcnow())
    refused = attempt(engine, "no.such.person", GOOD, last + timedelta(seconds=61))
    assert isinstance(refused, SignInRefused) and refused.code == "account_locked"


def test_refused_attempts_are_summed_up_once_a_minute(engine: Engine, reporter: str) -> None:
    last = lock_by_wrong_passwords(engine, reporter, utcnow())
    for _ in range(5):
        attempt(engine, reporter, GOOD, last + timedelta(seconds=1))
    assert [e["detail"]["attempts"] for e in events(engine, "auth.refused")] == [1]
    attempt(engine, reporter, GOOD, last + timedelta(seconds=62))
    refused = events(engine, "auth.refused")
    assert [e["detail"]["attempts"] for e in refused] == [1, 5]
    assert refused[-1]["detail"]["reason"] == "account_locked"
    with engine.connect() as conn:
        assert audit.verify(conn).ok


def test_the_unlock_command_lifts_the_lock_and_is_audited(engine: Engine, reporter: str) -> None:
    last = lock_by_wrong_passwords(engine, reporter, utcnow() - timedelta(minutes=11))
    assert isinstance(attempt(engine, reporter, GOOD, utcnow()), SignInRefused)
    assert last < utcnow()
    r = xinyong("user", "unlock", reporter)
    assert r.returncode == 0, r.stderr
    assert "已解锁" in r.stdout and "10" in r.stdout
    assert attempt(engine, reporter, GOOD, utcnow()).name == reporter
    [unlocked] = events(engine, "account.unlock")
    assert unlocked["object_id"] == reporter and unlocked["detail"]["failures"] == 10
    again = xinyong("user", "unlock", reporter)
    assert again.returncode != 0 and "没有被锁定" in again.stderr + again.stdout


@pytest.fixture
def strict_address(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XINYONG_SIGN_IN_ADDRESS_LOCK_FAILURES", "5")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_one_address_trying_many_usernames_is_locked(engine: Engine, reporter: str,
                                                     strict_address: None) -> None:
    now = utcnow()
    for n in range(5):
        assert isinstance(attempt(engine, f"guess{n}", "123456789a", now), AuthenticationFailed)
    refused = attempt(engine, reporter, GOOD, now)
    assert isinstance(refused, SignInRefused) and refused.code == "address_locked"
    assert attempt(engine, reporter, GOOD, now, source="10.9.9.9").name == reporter
    [locked] = events(engine, "auth.locked")
    assert (locked["object_type"], locked["object_id"]) == ("address", ADDRESS)


# --- the second factor -----------------------------------------------------------------------

def test_a_privileged_account_signs_in_only_with_its_authenticator_code(engine: Engine) -> None:
    with writing(engine) as conn:
        service.create_account(conn, ADMIN, "qian", "admin", password=GOOD)
        principal = service.authenticate_password(conn, "qian", GOOD)
        assert service.second_factor(conn, principal) == service.ENROL
        enrolment = service.enrolment(conn, "qian")
    assert enrolment.uri.startswith("otpauth://totp/") and enrolment.secret in enrolment.uri
    assert events(engine, "auth.sign_in") == []  # the password alone is not a sign-in
    totp = pyotp.TOTP(enrolment.secret)
    now = utcnow()
    with pytest.raises(AuthenticationFailed), writing(engine) as conn:
        service.verify_second_factor(conn, "qian", "000000" if totp.at(now) != "000000" else "111111",
                                     now=now)
    with writing(engine) as conn:
        assert service.verify_second_factor(conn, "qian", totp.at(now), now=now).role == "admin"
        assert service.second_factor(conn, principal) == service.CODE
    # a code is good once: the same one again is refused, and counts as a failure
    with pytest.raises(AuthenticationFailed), writing(engine) as conn:
        service.verify_second_factor(conn, "qian", totp.at(now), now=now)
    with writing(engine) as conn:
        service.verify_second_factor(conn, "qian", totp.at(now + timedelta(seconds=30)),
                                     now=now + timedelta(seconds=30))
    assert [e["detail"]["reason"] for e in events(engine, "auth.failed")] == ["wrong_code"] * 2
    assert [e["detail"]["method"] for e in events(engine, "auth.sign_in")] == ["password+totp"] * 2
    assert len(events(engine, "account.totp_enrol")) == 1


def test_wrong_codes_lock_like_wrong_passwords(engine: Engine) -> None:
    with writing(engine) as conn:
        service.create_account(conn, ADMIN, "sun", "auditor", password=GOOD)
        service.enrolment(conn, "sun")
    now = utcnow()
    for n in range(10):
        with pytest.raises(AuthenticationFailed), writing(engine) as conn:
            service.verify_second_factor(conn, "sun", "12345", now=now + timedelta(seconds=61 * n))
    with pytest.raises(SignInRefused) as refused, writing(engine) as conn:
        service.authenticate_password(conn, "sun", GOOD, now=now + timedelta(minutes=11))
    assert refused.value.code == "account_locked"


# --- password policy ---------------------------------------------------------------------------

@pytest.mark.parametrize(("password", "privileged", "reason"), [
    ("aaaaaaaaaa", True, "至少需要 12 个字符"),
    ("aaaaaaaaaaaaaa", True, "至少 3 类"),
    ("aaaaaaaaaaaaaa", True, "连续出现超过 3 次"),
    ("aaaaaaaaaa", False, "连续出现超过 3 次"),  # refused for everyone, not only an admin
    ("correct-horse-battery", True, "至少 3 类"),
    ("Zhangsan-2026", False, "不能包含用户名"),
])
def test_password_policy_refuses(password: str, privileged: bool, reason: str) -> None:
    problems = password_problems(password, "zhangsan", privileged=privileged)
    assert any(reason in p for p in problems), problems


@pytest.mark.parametrize("password", ["Correct-horse-42", "信用平台Abc123456", "Tr0ub4dor&3xyz"])
def test_privileged_password_policy_accepts(password: str) -> None:
    assert password_problems(password, "zhangsan", privileged=True) == []


def test_the_policy_is_configuration_and_an_admin_gets_the_strict_one(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInput, match="至少需要 12 个字符") as weak, writing(engine) as conn:
        service.create_account(conn, ADMIN, "li.admin", "admin", password="aaaaaaaaaa")
    assert weak.value.code == "weak_password"
    monkeypatch.setenv("XINYONG_PASSWORD_PRIVILEGED_MIN_LENGTH", "20")
    get_settings.cache_clear()
    assert service.password_policy() == PasswordPolicy(10, 1, 20, 3, 3)
    with pytest.raises(InvalidInput, match="至少需要 20 个字符"), writing(engine) as conn:
        service.create_account(conn, ADMIN, "li.admin", "admin", password=GOOD)
    with writing(engine) as conn:  # an ordinary role keeps the ordinary figures
        service.create_account(conn, ADMIN, "li.reporter", "reporter", password=GOOD,
                               department="税务局")
    assert len(service.generated_password("admin")) >= 20


def test_user_list_json_says_whether_the_authenticator_is_set_up(engine: Engine) -> None:
    with writing(engine) as conn:
        service.create_account(conn, ADMIN, "zhou", "staff", password=GOOD)
    [shown] = json.loads(xinyong("user", "list", "--json").stdout)
    assert shown["second_factor"] is False and "totp_secret" not in shown
