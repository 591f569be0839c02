"""A list admission in a real browser: staff propose a demo subject, send the notice, decide
with a document number (the locality sets no waiting period), and the public list shows the
entry; an entry whose 移出日期 is today is already gone (automatic exit at term)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine

from xinyong.accounts import service as accounts
from xinyong.core import db
from xinyong.core.audit import SYSTEM
from xinyong.ingest import service as ingest

from ..factories import AUTHORITY_USCC, numbered_uscc, write_csv
from .browser_server import needs_chromium, served_copy, signed_in
from .conftest import DEPARTMENT, PASSWORD, published_penalty

pytestmark = needs_chromium


def _prepare(engine: Engine, folder: Path) -> None:
    """Two penalised subjects, one already listed until today, and a staff account."""
    penalties = [published_penalty(31), published_penalty(32)]
    ingest.ingest_file(engine, write_csv(folder / "p.csv", penalties), DEPARTMENT)
    today = date.today()
    ingest.ingest_file(engine, write_csv(folder / "l.csv", [{
        "主体名称": "厦门市思明区第32测试贸易有限公司", "主体类别": "法人及非法人组织",
        "统一社会信用代码": numbered_uscc(32), "名单种类": "严重违法失信名单",
        "认定单位": DEPARTMENT, "认定单位统一社会信用代码": AUTHORITY_USCC,
        "认定文书号": "厦市监列〔2023〕9号", "列入依据": "总局令第44号第二条",
        "列入日期": (today - timedelta(days=1000)).isoformat(), "移出日期": today.isoformat()}]),
        DEPARTMENT, kind="list_entry")
    with db.writing(engine) as conn:
        accounts.create_account(conn, SYSTEM, "staff-lists", "staff", password=PASSWORD)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("lists-browser")
    # the locality's list settings: no waiting period, so staff can decide right after notice
    (folder / "data").mkdir()
    (folder / "data" / "lists.yaml").write_text(
        "kinds:\n  - {code: market_serious_illegal, waiting_workdays: 0}\n", "utf-8")
    with served_copy(folder, sqlite_template, _prepare,
                     env={"XINYONG_DATA_DIR": str(folder / "data")}) as (url, _):
        yield url


def test_staff_list_a_subject_and_the_public_list_shows_it(browser: Browser, served: str) -> None:
    page = signed_in(browser, served, "staff-lists")

    page.goto("/console/lists")
    page.fill("#uscc", numbered_uscc(31))
    page.select_option("#kind", "market_serious_illegal")
    page.fill("#facts", "受到吊销营业执照的行政处罚")
    page.fill("#basis", "《市场监督管理严重违法失信名单管理办法》第二条")
    page.click("#propose button[type=submit]")
    page.wait_for_url(re.compile(r"/console/list-proposals/\d+$"))
    assert "待告知" in page.locator("#status").inner_text()
    page.click("#notice button[type=submit]")
    page.wait_for_selector("#print-notice")
    assert page.locator("#objection-until").inner_text() == "不设异议期"
    page.fill("#doc-no", "厦市监列〔2026〕31号")
    page.click("#decide button[type=submit]")
    page.wait_for_selector("#entry")
    assert "当前在列" in page.locator("#entry").inner_text()

    page.goto("/lists")
    row = page.locator('tr[data-kind="market_serious_illegal"]')
    assert row.locator(".count").inner_text() == "1"
    row.locator("a").click()
    page.wait_for_url("**/lists/market_serious_illegal")
    text = page.locator("table.entries").inner_text()
    assert "厦市监列〔2026〕31号" in text
    assert "厦市监列〔2023〕9号" not in text  # its 移出日期 is today: no longer listed
    page.context.close()
