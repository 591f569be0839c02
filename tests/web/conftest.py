"""The platform over HTTP: the real app on a fresh store (SQLite and PostgreSQL), driven
through httpx by TestClient, with helpers to make accounts, sign in and upload files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from xinyong.accounts import service as accounts
from xinyong.core.audit import SYSTEM
from xinyong.core.db import writing
from xinyong.core.settings import get_settings
from xinyong.departments import service as departments
from xinyong.web.app import create_app

from ..factories import numbered_uscc, penalty, write_csv

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PASSWORD = "correct-horse-battery"
DEPARTMENT = "厦门市思明区市场监督管理局"
OTHER_DEPARTMENT = "厦门市湖里区市场监督管理局"


def recent(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def published_penalty(n: int, **over: Any) -> dict[str, str]:
    """A 一般 penalty decided a month ago, so in publicity today: a fine of 20万元 to an
    organisation (above the 10万元 low-fine threshold, below the 100万元 serious one)."""
    row = penalty(**{
        "行政相对人名称": f"厦门市思明区第{n}测试贸易有限公司",
        "行政相对人代码_1(统一社会信用代码)": numbered_uscc(n),
        "行政处罚决定书文号": f"厦思市监罚〔2026〕{n}号",
        "处罚类别": "罚款", "处罚内容": "罚款20万元", "罚款金额（万元）": "20",
        "处罚决定日期": recent(30), "处罚有效期": recent(-300)})
    row.update(over)
    return row


@dataclass
class Platform:
    engine: Engine
    client: TestClient
    tmp: Path
    made: list[str] = field(default_factory=list)

    def account(self, role: str, department: str | None = None, subject: str | None = None) -> str:
        """A new account; `subject` is the USCC an enterprise account acts for."""
        username = f"{role}{len(self.made) + 1}"
        self.made.append(username)
        with writing(self.engine) as conn:
            accounts.create_account(conn, SYSTEM, username, role, password=PASSWORD,
                                    department=department, subject=subject)
        return username

    def sign_in(self, username: str, client: TestClient | None = None) -> str:
        c = client or self.client
        r = c.post("/api/v1/session", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        token: str = r.json()["csrf_token"]
        return token

    def as_role(self, role: str, department: str | None = None,
                subject: str | None = None) -> TestClient:
        """A new client signed in with a new account of this role; its CSRF header preset."""
        client = TestClient(self.client.app)
        csrf = self.sign_in(self.account(role, department, subject), client)
        client.headers["X-CSRF-Token"] = csrf
        return client

    def token(self, role: str, department: str | None = None, scopes: tuple[str, ...] = ()) -> str:
        with writing(self.engine) as conn:
            secret, _ = accounts.create_token(conn, SYSTEM, role, department, scopes=scopes)
        return secret

    def csv(self, name: str, rows: list[dict[str, str]]) -> Path:
        return write_csv(self.tmp / name, rows)

    def upload(self, client: TestClient, path: Path, **form: str) -> Any:
        with path.open("rb") as f:
            return client.post("/api/v1/batches", files={"file": (path.name, f, "text/csv")},
                               data=form)


@pytest.fixture
def platform(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    monkeypatch.setenv("XINYONG_RATE_LIMIT_PER_MINUTE", "0")
    get_settings.cache_clear()
    with writing(engine) as conn:  # the departments the tests report for are registered
        for name in (DEPARTMENT, OTHER_DEPARTMENT):
            departments.register(conn, SYSTEM, name)
    app = create_app(engine)
    with TestClient(app) as client:
        yield Platform(engine, client, tmp_path)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one browser test module (launching it per test is slow)."""
    # imported here: browser_server imports this module (for PASSWORD), and the HTTP-only
    # tests need not load Playwright
    from .browser_server import chromium
    with chromium() as launched:
        yield launched
