"""Rate limits shared by every server process through the store, on the rightmost untrusted
address, for enterprise accounts and tokens too, on every public read route (issue 20 item 7).

Two app instances over two engines on one store stand for two server workers: each has its
own process-local state, and only the database is shared."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from starlette.requests import Request

from xinyong.core import db
from xinyong.core.settings import get_settings
from xinyong.web import ratelimit
from xinyong.web.app import create_app
from xinyong.web.ratelimit import Limit
from xinyong.web.security import client_address

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, Platform

BURST = 3


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three requests, then one a second (the token limit likewise)."""
    for name, value in (("RATE_LIMIT_PER_MINUTE", "60"), ("RATE_LIMIT_BURST", str(BURST)),
                        ("RATE_LIMIT_TOKEN_PER_MINUTE", "60"), ("RATE_LIMIT_TOKEN_BURST", str(BURST))):
        monkeypatch.setenv(f"XINYONG_{name}", value)
    get_settings.cache_clear()


@pytest.fixture
def second_engine(engine: Engine) -> Iterator[Engine]:
    other = db.make_engine(engine.url.render_as_string(hide_password=False))
    yield other
    other.dispose()


def test_two_workers_on_one_store_share_the_limit(limits: None, engine: Engine,
                                                  second_engine: Engine) -> None:
    first, second = TestClient(create_app(engine)), TestClient(create_app(second_engine))
    statuses = [c.get("/search?q=测试").status_code for c in (first, second, first, second)]
    assert statuses == [200, 200, 200, 429]
    assert first.get("/api/v1/subjects?q=测试").status_code == 429
    with engine.connect() as conn:
        assert conn.execute(text("SELECT SUM(hits) FROM rate_limit_window")).scalar() == 5


def test_a_rotated_forwarded_for_does_not_bypass_the_limit(
        limits: None, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_TRUST_PROXY", "1")
    get_settings.cache_clear()
    client = TestClient(create_app(engine))
    # The client writes any address it likes; the proxy appends the one it was reached from.
    statuses = [client.get("/search?q=测试", headers={"X-Forwarded-For": f"10.0.0.{i}, 203.0.113.7"})
                .status_code for i in range(BURST + 2)]
    assert statuses == [200] * BURST + [429, 429]
    # Another visitor behind the same proxy is counted apart.
    assert client.get("/search?q=测试", headers={"X-Forwarded-For": "203.0.113.8"}).status_code == 200


def _request(forwarded: list[str], peer: str = "192.0.2.1") -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": b"",
                    "client": (peer, 1234),
                    "headers": [(b"x-forwarded-for", v.encode()) for v in forwarded]})


def test_client_address_is_the_rightmost_untrusted_one(monkeypatch: pytest.MonkeyPatch) -> None:
    assert client_address(_request(["1.1.1.1"])) == "192.0.2.1"  # no proxy trusted: the peer
    monkeypatch.setenv("XINYONG_TRUST_PROXY", "true")
    get_settings.cache_clear()
    assert client_address(_request(["6.6.6.6, 1.1.1.1"])) == "1.1.1.1"
    assert client_address(_request(["6.6.6.6", "1.1.1.1"])) == "1.1.1.1"  # repeated header
    assert client_address(_request([])) == "192.0.2.1"
    assert client_address(_request(["not-an-address"])) == "192.0.2.1"
    monkeypatch.setenv("XINYONG_TRUSTED_PROXIES", "2")
    get_settings.cache_clear()
    # CDN → load balancer → server: the CDN was reached from 1.1.1.1, the balancer from the CDN.
    assert client_address(_request(["6.6.6.6, 1.1.1.1, 10.1.1.1"])) == "1.1.1.1"
    assert client_address(_request(["1.1.1.1"])) == "1.1.1.1"  # fewer hops than proxies


def test_enterprise_accounts_and_tokens_are_limited_staff_are_not(
        limits: None, platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_RATE_LIMIT_PER_MINUTE", "60")  # the platform fixture turned it off
    get_settings.cache_clear()
    app = create_app(platform.engine)
    enterprise = TestClient(app)
    platform.sign_in(platform.account("enterprise", subject=numbered_uscc(1)), enterprise)
    assert [enterprise.get("/search?q=测试").status_code for _ in range(BURST + 1)] \
        == [200] * BURST + [429]
    token = TestClient(app, headers={"Authorization": f"Bearer {platform.token('system', DEPARTMENT)}"})
    assert [token.get("/api/v1/publicity").status_code for _ in range(BURST + 1)] \
        == [200] * BURST + [429]
    staff = TestClient(app)
    platform.sign_in(platform.account("staff"), staff)
    assert {staff.get("/search?q=测试").status_code for _ in range(BURST + 2)} == {200}


@pytest.mark.parametrize("path", ["/records/1/repair-notice", "/api/v1/records/1/repair-eligibility",
                                  "/api/v1/catalog", "/publicity", "/lists"])
def test_every_public_read_route_is_limited_found_or_not(limits: None, engine: Engine,
                                                         path: str) -> None:
    client = TestClient(create_app(engine))
    statuses = [client.get(path).status_code for _ in range(BURST + 1)]
    assert 429 not in statuses[:BURST] and statuses[BURST] == 429, statuses


def test_the_sliding_estimate_lets_no_double_burst_through_a_window_edge() -> None:
    limit = Limit.of(60, 3)
    assert limit == Limit(3, 3)
    # Three requests at the very end of a window, a fourth just after it: refused.
    assert limit.wait(current=1, previous=3, elapsed=0.01) > 0
    # One window length after the three, their weight has gone.
    assert limit.wait(current=1, previous=3, elapsed=2.99) == 0
    assert limit.wait(current=3, previous=0, elapsed=0.5) == 0
    assert limit.wait(current=4, previous=0, elapsed=0.5) >= 2.5


def test_a_busy_sqlite_store_is_not_waited_for_the_process_counts_meanwhile(
        limits: None, tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_RATE_LIMIT_PER_MINUTE", "6")  # one more every 10 s
    monkeypatch.setattr(ratelimit, "BUSY_BACKOFF_SECONDS", 0.5)
    get_settings.cache_clear()
    path = tmp_path / "busy.db"
    shutil.copyfile(sqlite_template, path)
    engine = db.make_engine(f"sqlite:///{path}")
    ingest_batch = sqlite3.connect(path, isolation_level=None)  # holds the one write lock
    ingest_batch.execute("BEGIN IMMEDIATE")
    try:
        client = TestClient(create_app(engine))
        assert [client.get("/search?q=测试").status_code for _ in range(BURST + 1)] \
            == [200] * BURST + [429]
    finally:
        ingest_batch.execute("ROLLBACK")
        ingest_batch.close()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM rate_limit_window")).scalar() == 0
    # The lock released, the store counts again once the process's back-off is over (what
    # the process counted meanwhile stays with the process).
    time.sleep(ratelimit.BUSY_BACKOFF_SECONDS + 0.1)
    assert client.get("/search?q=测试").status_code == 200
    with engine.connect() as conn:
        assert conn.execute(text("SELECT SUM(hits) FROM rate_limit_window")).scalar() == 1
    engine.dispose()
