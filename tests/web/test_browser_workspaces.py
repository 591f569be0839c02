"""The staff home and the audit log in a real browser at phone and desktop widths: the to-do
counts link to their queue, the audit log reads in Chinese and Beijing time, and neither page
forces a sideways scroll. Screenshots go to /tmp/ws-*.png for the developer to look at."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine

from xinyong.accounts import service as accounts
from xinyong.core import db
from xinyong.core.audit import SYSTEM
from xinyong.ingest import service as ingest
from xinyong.lists import service as lists

from ..factories import numbered_uscc, penalty, write_csv
from .browser_server import needs_chromium, served_copy, sign_in
from .conftest import DEPARTMENT, PASSWORD, published_penalty

pytestmark = needs_chromium
WIDTHS = (390, 1280)


def _prepare(engine: Engine, folder: Path) -> None:
    """Penalties of two subjects and a row returned for a bad code, one list proposal, and a
    staff and an auditor account per width."""
    rows = [published_penalty(71), published_penalty(72),
            penalty(**{"行政相对人代码_1(统一社会信用代码)": "bad-code", "行政处罚决定书文号": "罚退回1"})]
    ingest.ingest_file(engine, write_csv(folder / "p.csv", rows), DEPARTMENT)
    with db.writing(engine) as conn:
        lists.propose(conn, SYSTEM, lists.usable_kind("market_serious_illegal"), numbered_uscc(71),
                      "吊销营业执照", "总局令第44号第二条", date.today())
        for width in WIDTHS:
            accounts.create_account(conn, SYSTEM, f"staff-ws-{width}", "staff", password=PASSWORD,
                                    display_name=f"信用办{width}")
            accounts.create_account(conn, SYSTEM, f"auditor-ws-{width}", "auditor", password=PASSWORD)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[str]:
    with served_copy(tmp_path_factory.mktemp("workspaces-browser"), sqlite_template,
                     _prepare) as (url, _):
        yield url


@pytest.mark.parametrize("width", WIDTHS)
def test_the_staff_home_counts_and_links_at_each_width(browser: Browser, served: str, width: int) -> None:
    context = browser.new_context(base_url=served, locale="zh-CN", viewport={"width": width, "height": 900})
    page = context.new_page()
    sign_in(page, f"staff-ws-{width}")
    assert page.inner_text("h1").startswith("工作台")
    proposals = page.locator("#todo-lists a.figure", has_text="办理中的认定申请")
    assert proposals.get_attribute("data-count") == "1"
    returned = page.locator("#todo-batches a.figure", has_text="退回的数据行")
    assert returned.get_attribute("data-count") == "1"
    assert "alert" in (returned.get_attribute("class") or "")
    page.screenshot(path=f"/tmp/ws-staff-home-{width}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    proposals.click()
    page.wait_for_url("**/console/lists")
    assert "吊销营业执照" in page.content() or numbered_uscc(71) in page.content()
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_audit_log_reads_in_chinese_at_each_width(browser: Browser, served: str, width: int) -> None:
    context = browser.new_context(base_url=served, locale="zh-CN", viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto("/console/sign-in")  # a wrong password first: a security event to see
    page.fill("#username", f"auditor-ws-{width}")
    page.fill("#password", PASSWORD + "-wrong")
    page.click("form[action='/console/sign-in'] button[type=submit]")
    assert "用户名或密码错误" in page.inner_text("[role=alert]")
    sign_in(page, f"auditor-ws-{width}")
    failed = page.locator("#todo-security a.figure", has_text="登录失败")
    assert int(failed.get_attribute("data-count") or 0) >= 1
    assert "哈希链完整" in page.inner_text("#chain-status")
    page.screenshot(path=f"/tmp/ws-auditor-home-{width}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.goto("/console/audit")
    page.select_option("#audit-filters select[name=action]", "auth.")
    page.click("#audit-filters button[type=submit]:not([name])")
    page.wait_for_url("**/console/audit?action=auth.**")
    table = page.inner_text("#audit-events")
    assert "登录失败" in table and "审计人员" in table and "年" in table
    assert "auth.failed" not in table
    page.screenshot(path=f"/tmp/ws-audit-{width}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()


def test_a_check_report_prints_without_the_console_around_it(browser: Browser, served: str) -> None:
    context = browser.new_context(base_url=served, locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, "staff-ws-1280")
    page.goto("/console/checks")
    page.fill("#query", numbered_uscc(72))
    page.click("#check button[type=submit]")
    page.click("#report-link")
    page.wait_for_selector("#report")
    assert "信用核查报告" in page.inner_text("#report h1")
    page.emulate_media(media="print")
    assert not page.is_visible("header.top") and not page.is_visible("nav.subnav")
    assert page.is_visible("#report")
    page.screenshot(path="/tmp/ws-check-report-print.png", full_page=True)
    report = page.url
    context.close()
    phone = browser.new_context(base_url=served, locale="zh-CN", viewport={"width": 390, "height": 900})
    page = phone.new_page()
    sign_in(page, "staff-ws-390")
    page.goto(report)
    page.screenshot(path="/tmp/ws-check-report-390.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    phone.close()
