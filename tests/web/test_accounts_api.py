"""Accounts over HTTP: the administrator's `/api/v1/accounts`, a person's own password, the
lock shared by two app instances on one store, sessions that idle out and are capped, the
cookie's flags, the rate limit in front of sign-in, and refused requests in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from xinyong.accounts import service as accounts
from xinyong.accounts.models import WebSession
from xinyong.core import db
from xinyong.core.audit import SYSTEM
from xinyong.core.db import utcnow, writing
from xinyong.core.settings import get_settings
from xinyong.web.app import create_app

from .conftest import DEPARTMENT, PASSWORD, Platform


def events(engine: Engine, action: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return list(reversed(accounts.audit_events(conn, action=action, limit=500)))


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/session", json={"username": username, "password": password})


def test_the_admin_manages_accounts_through_the_api(platform: Platform) -> None:
    admin = platform.as_role("admin")
    made = admin.post("/api/v1/accounts", json={
        "username": "Wu.Liu", "role": "reporter", "department": DEPARTMENT, "display_name": "吴六"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["username"] == "wu.liu" and body["role_name"] == "部门报送员"
    password = body["password"]
    assert sign_in(TestClient(platform.client.app), "wu.liu", password).status_code == 200
    weak = admin.post("/api/v1/accounts", json={"username": "boss", "role": "admin",
                                                "password": "aaaaaaaaaa"})
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    listed = admin.get("/api/v1/accounts").json()["items"]
    assert "wu.liu" in [a["username"] for a in listed]

    changed = admin.patch("/api/v1/accounts/wu.liu", json={"role": "reviewer", "department": ""})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["role"], changed.json()["department"]) == ("reviewer", None)
    [update_event] = events(platform.engine, "account.update")
    assert update_event["detail"]["changes"]["role"] == ["reporter", "reviewer"]
    assert update_event["actor"] == platform.made[0]

    person = TestClient(platform.client.app)
    assert sign_in(person, "wu.liu", password).status_code == 200
    reset = admin.post("/api/v1/accounts/wu.liu/password-reset", json={})
    assert reset.status_code == 200, reset.text
    new = reset.json()["password"]
    assert person.get("/api/v1/me").json()["kind"] == "anonymous"  # the reset ended the session
    assert sign_in(TestClient(platform.client.app), "wu.liu", password).status_code == 401
    assert sign_in(person, "wu.liu", new).status_code == 200

    ended = admin.delete("/api/v1/accounts/wu.liu/sessions")
    assert ended.json() == {"username": "wu.liu", "sessions_ended": 1}
    assert person.get("/api/v1/me").json()["kind"] == "anonymous"
    off = admin.patch("/api/v1/accounts/wu.liu", json={"active": False})
    assert off.json()["active"] is False
    assert sign_in(person, "wu.liu", new).status_code == 401
    not_locked = admin.delete("/api/v1/accounts/wu.liu/lock")
    assert not_locked.status_code == 422 and not_locked.json()["code"] == "not_locked"
    assert admin.get("/api/v1/accounts/nobody").status_code == 404
    actions = {e["action"] for e in events(platform.engine, "account.")}
    assert {"account.create", "account.update", "account.reset_password", "account.end_sessions",
            "account.deactivate"} <= actions


def test_every_person_changes_their_own_password(platform: Platform) -> None:
    username = platform.account("reporter", DEPARTMENT)
    mine, other = TestClient(platform.client.app), TestClient(platform.client.app)
    csrf = platform.sign_in(username, mine)
    platform.sign_in(username, other)
    wrong = mine.put("/api/v1/me/password", json={"current": "not-it-at-all", "new": "Another-good-1"},
                     headers={"X-CSRF-Token": csrf})
    assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_current_password"
    weak = mine.put("/api/v1/me/password", json={"current": PASSWORD, "new": "aaaaaaaaaa"},
                    headers={"X-CSRF-Token": csrf})
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    ok = mine.put("/api/v1/me/password", json={"current": PASSWORD, "new": "Another-good-1"},
                  headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 204, ok.text
    assert mine.get("/api/v1/me").json()["name"] == username  # this session stays
    assert other.get("/api/v1/me").json()["kind"] == "anonymous"  # the others end
    assert sign_in(TestClient(platform.client.app), username, "Another-good-1").status_code == 200
    [event] = events(platform.engine, "account.password")
    assert event["detail"] == {"own": True, "sessions_ended": 1}


def test_a_privileged_role_needs_its_code_on_the_api(platform: Platform) -> None:
    username = platform.account("auditor")
    client = TestClient(platform.client.app)
    without = sign_in(client, username)
    assert without.status_code == 401 and without.json()["code"] == "second_factor_required"
    assert client.get("/api/v1/me").json()["kind"] == "anonymous"
    with_code = client.post("/api/v1/session", json={
        "username": username, "password": PASSWORD, "code": platform.authenticator.code(username)})
    assert with_code.status_code == 200 and with_code.json()["role"] == "auditor"
    with writing(platform.engine) as conn:
        accounts.create_account(conn, SYSTEM, "new.staff", "staff", password=PASSWORD)
    fresh = sign_in(TestClient(platform.client.app), "new.staff")
    assert fresh.status_code == 401 and fresh.json()["code"] == "second_factor_enrolment"


@pytest.fixture
def no_waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XINYONG_SIGN_IN_DELAY_SECONDS", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_lock_holds_across_two_app_instances_on_one_store(platform: Platform,
                                                              no_waits: None) -> None:
    username = platform.account("reporter", DEPARTMENT)
    url = platform.engine.url.render_as_string(hide_password=False)
    second_engine = db.make_engine(url)
    try:
        with TestClient(create_app(second_engine)) as second:
            first = TestClient(platform.client.app)
            for n in range(10):
                app = first if n % 2 == 0 else second  # the guesses spread over both workers
                assert sign_in(app, username, f"wrong-guess-{n}").status_code == 401
            for app in (first, second):
                locked = sign_in(app, username)
                assert locked.status_code == 429, locked.text
                assert locked.json()["code"] == "account_locked"
                assert int(locked.headers["retry-after"]) > 60
            with writing(platform.engine) as conn:
                accounts.unlock(conn, SYSTEM, username)
            assert sign_in(second, username).status_code == 200
    finally:
        second_engine.dispose()
    assert len(events(platform.engine, "auth.locked")) == 1


def test_wrong_passwords_in_a_row_are_throttled_over_http(
        platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    # a wait far longer than any request takes, so that the test does not hang on timing
    monkeypatch.setenv("XINYONG_SIGN_IN_DELAY_SECONDS", "60")
    get_settings.cache_clear()
    username = platform.account("reporter", DEPARTMENT)
    client = TestClient(platform.client.app)
    for _ in range(3):
        assert sign_in(client, username, "wrong-guess").status_code == 401
    throttled = sign_in(client, username)
    assert throttled.status_code == 429 and throttled.json()["code"] == "sign_in_throttled"
    assert 1 <= int(throttled.headers["retry-after"]) <= 60
    assert throttled.json()["message_en"]
    get_settings.cache_clear()


def test_sign_in_is_behind_the_rate_limiter(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_RATE_LIMIT_PER_MINUTE", "1")
    monkeypatch.setenv("XINYONG_RATE_LIMIT_BURST", "2")
    get_settings.cache_clear()
    with TestClient(create_app(engine)) as client:
        codes = [sign_in(client, f"someone{n}", "whatever-it-is").status_code for n in range(3)]
    get_settings.cache_clear()
    assert codes == [401, 401, 429]


def test_the_session_cookie_ends_with_the_browser_and_is_secure_off_localhost(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XINYONG_COOKIE_SECURE")
    monkeypatch.setenv("XINYONG_RATE_LIMIT_PER_MINUTE", "0")
    get_settings.cache_clear()
    with writing(engine) as conn:
        accounts.create_account(conn, SYSTEM, "zheng", "reporter", password=PASSWORD,
                                department=DEPARTMENT)
    app = create_app(engine)

    def cookie(base_url: str) -> str:
        with TestClient(app, base_url=base_url) as client:
            r = sign_in(client, "zheng")
            assert r.status_code == 200, r.text
            return r.headers["set-cookie"].lower()

    remote = cookie("https://credit.example.gov.cn")
    assert "secure" in remote and "httponly" in remote and "samesite=lax" in remote
    assert "max-age" not in remote and "expires" not in remote  # not kept past the browser
    assert "secure" not in cookie("http://localhost")
    assert "secure" not in cookie("http://127.0.0.1:8000")
    monkeypatch.setenv("XINYONG_COOKIE_SECURE", "true")
    get_settings.cache_clear()
    assert "secure" in cookie("http://localhost")
    get_settings.cache_clear()


def test_an_idle_session_ends_on_the_server(platform: Platform) -> None:
    username = platform.account("reporter", DEPARTMENT)
    client = TestClient(platform.client.app)
    platform.sign_in(username, client)
    assert client.get("/api/v1/me").json()["name"] == username
    idle = get_settings().session_idle_minutes
    with writing(platform.engine) as conn:
        conn.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=idle - 2)))
    assert client.get("/api/v1/me").json()["name"] == username  # active again: the clock restarts
    with writing(platform.engine) as conn:
        conn.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=idle + 1)))
    assert client.get("/api/v1/me").json()["kind"] == "anonymous"


def test_an_account_holds_at_most_the_configured_sessions(platform: Platform) -> None:
    username = platform.account("reporter", DEPARTMENT)
    cap = get_settings().session_max_per_account
    clients = [TestClient(platform.client.app) for _ in range(cap + 1)]
    for client in clients:
        platform.sign_in(username, client)
    names = [c.get("/api/v1/me").json()["name"] for c in clients]
    assert names == ["anonymous"] + [username] * cap  # the oldest was ended
    [capped] = events(platform.engine, "auth.session_cap")
    assert capped["detail"] == {"sessions_ended": 1, "cap": cap}


def test_refused_reads_and_csrf_failures_are_audited_once_a_minute(platform: Platform) -> None:
    reporter = platform.as_role("reporter", DEPARTMENT)
    for _ in range(5):
        assert reporter.get("/api/v1/audit").status_code == 403
    [denied] = events(platform.engine, "access.denied")
    assert denied["object_type"] == "route" and denied["object_id"] == "GET /api/v1/audit"
    assert denied["actor"] == platform.made[-1] and denied["detail"]["code"] == "forbidden"
    assert reporter.get("/api/v1/accounts").status_code == 403  # another route: its own event
    assert len(events(platform.engine, "access.denied")) == 2
    no_token = TestClient(platform.client.app)
    platform.sign_in(platform.made[-1], no_token)
    refused = no_token.delete("/api/v1/session")
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    [csrf] = events(platform.engine, "access.csrf_failed")
    assert csrf["actor"] == platform.made[-1] and csrf["object_id"] == "DELETE /api/v1/session"
