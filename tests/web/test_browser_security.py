"""The pages under the content security policy in a real browser: no script or style is
refused, and the repair notice's print button (its handler moved to a static file) works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page
from sqlalchemy import Engine, select

from xinyong.accounts import service as accounts
from xinyong.core import db
from xinyong.core.audit import SYSTEM
from xinyong.ingest import service as ingest
from xinyong.subjects.models import Record

from ..factories import numbered_uscc, write_csv
from .browser_server import needs_chromium, served_copy, signed_in
from .conftest import DEPARTMENT, PASSWORD, published_penalty, recent

pytestmark = needs_chromium

N = 601


def _prepare(engine: Engine, folder: Path) -> int:
    row = published_penalty(N, **{"处罚决定日期": recent(125)})
    ingest.ingest_file(engine, write_csv(folder / "p.csv", [row]), DEPARTMENT, kind="penalty",
                       backfill=True)
    with db.writing(engine) as conn:
        accounts.create_account(conn, SYSTEM, "qiye", "enterprise", password=PASSWORD,
                                subject=numbered_uscc(N))
    with engine.connect() as conn:
        return int(conn.execute(select(Record.id)).scalar_one())


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, int]]:
    with served_copy(tmp_path, sqlite_template, _prepare) as (url, record):
        yield url, record


def _watch(page: Page) -> list[str]:
    """What the browser refused or failed on: CSP violations and script errors."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # (the browser asks for /favicon.ico on its own; the site has none)
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"{message.location.get('url')}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def test_pages_run_under_the_policy_and_the_notice_prints(browser: Browser,
                                                          served: tuple[str, int]) -> None:
    url, record = served
    public = browser.new_context(base_url=url, locale="zh-CN").new_page()
    refused = _watch(public)
    for path in ("/", "/search?q=测试", f"/subjects/{numbered_uscc(N)}", "/publicity",
                 "/console/sign-in"):
        response = public.goto(path)
        assert response is not None
        assert "default-src 'self'" in response.headers["content-security-policy"]
    assert refused == []

    enterprise = signed_in(browser, url, "qiye")
    refused = _watch(enterprise)
    # window.print would open the system dialog: count the calls instead.
    enterprise.add_init_script("window.printed = 0; window.print = () => { window.printed += 1; };")
    enterprise.goto(f"/records/{record}/repair-notice")
    assert enterprise.locator("#repair-notice h1").inner_text() == "信用修复告知书"
    enterprise.click("button[data-print]")
    assert enterprise.evaluate("window.printed") == 1
    enterprise.goto(f"/repairs/new?record={record}")
    assert refused == []


def test_the_api_reference_runs_from_the_package_under_the_policy(browser: Browser,
                                                                   served: tuple[str, int]) -> None:
    url, _ = served
    page = browser.new_context(base_url=url, locale="zh-CN").new_page()
    refused = _watch(page)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url) else None)
    page.goto("/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "公共信用信息平台" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock").count() > 10  # the operations are listed
    assert refused == [] and outside == []
