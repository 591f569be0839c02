"""The platform over HTTP: the real app on a fresh store (SQLite and PostgreSQL), driven
through httpx by TestClient, with helpers to make accounts, sign in and upload files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from xinyong.accounts import service as accounts
from xinyong.accounts.rules import role_table
from xinyong.core.audit import SYSTEM
from xinyong.core.db import writing
from xinyong.core.settings import get_settings
from xinyong.departments import service as departments
from xinyong.web.app import create_app

from ..factories import numbered_uscc, penalty, write_csv

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# Long enough, and with three kinds of characters, for the privileged roles' policy too.
PASSWORD = "correct-horse-battery-42"
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


class Authenticator:
    """A person's authenticator app: the codes of the TOTP secrets set up through the service,
    each code a new time step (the platform refuses a code used before)."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.steps: dict[str, int] = {}

    def enrol(self, engine: Engine, username: str) -> None:
        with writing(engine) as conn:
            self.secrets[username] = accounts.enrolment(conn, username).secret
        with writing(engine) as conn:
            accounts.verify_second_factor(conn, username, self.code(username))

    def code(self, username: str) -> str:
        """The code of the next unused time step (the platform accepts a step either side)."""
        totp = pyotp.TOTP(self.secrets[username])
        step = max(totp.timecode(datetime.now(UTC)), self.steps.get(username, -1) + 1)
        self.steps[username] = step
        return totp.generate_otp(step)


def needs_code(role: str) -> bool:
    return role_table().role(role).privileged


@dataclass
class Platform:
    engine: Engine
    client: TestClient
    tmp: Path
    made: list[str] = field(default_factory=list)
    authenticator: Authenticator = field(default_factory=Authenticator)

    def account(self, role: str, department: str | None = None, subject: str | None = None) -> str:
        """A new account; `subject` is the USCC an enterprise account acts for. Accounts of
        privileged roles have their authenticator set up."""
        username = f"{role}{len(self.made) + 1}"
        self.made.append(username)
        with writing(self.engine) as conn:
            accounts.create_account(conn, SYSTEM, username, role, password=PASSWORD,
                                    department=department, subject=subject)
        if needs_code(role):
            self.authenticator.enrol(self.engine, username)
        return username

    def sign_in(self, username: str, client: TestClient | None = None) -> str:
        c = client or self.client
        body = {"username": username, "password": PASSWORD}
        if username in self.authenticator.secrets:
            body["code"] = self.authenticator.code(username)
        r = c.post("/api/v1/session", json=body)
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
