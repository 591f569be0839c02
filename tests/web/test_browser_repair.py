"""Credit repair in a real browser: the enterprise sees it may apply, applies with two PDFs;
a reviewer accepts and approves in the console; the public subject page no longer lists the
record that same day."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from xinyong.accounts import service as accounts
from xinyong.core import db
from xinyong.core.audit import SYSTEM
from xinyong.core.settings import get_settings
from xinyong.ingest import service as ingest
from xinyong.subjects.models import Record
from xinyong.web.app import create_app

from ..factories import numbered_uscc, write_csv
from .browser_server import LiveServer, chromium, needs_chromium
from .conftest import DEPARTMENT, PASSWORD, published_penalty, recent

pytestmark = needs_chromium

N = 501
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, int]]:
    """A store with one 一般 penalty decided 4 months ago, an enterprise and a reviewer."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XINYONG_FILES_DIR", str(tmp_path / "files"))
        mp.setenv("XINYONG_RATE_LIMIT_PER_MINUTE", "0")
        get_settings.cache_clear()
        shutil.copyfile(sqlite_template, tmp_path / "store.db")
        engine = db.make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        row = published_penalty(N, **{"处罚决定日期": recent(125)})
        ingest.ingest_file(engine, write_csv(tmp_path / "p.csv", [row]), DEPARTMENT, kind="penalty",
                           backfill=True)
        with db.writing(engine) as conn:
            accounts.create_account(conn, SYSTEM, "qiye", "enterprise", password=PASSWORD,
                                    subject=numbered_uscc(N))
            accounts.create_account(conn, SYSTEM, "shenhe", "reviewer", password=PASSWORD)
        with engine.connect() as conn:
            record = int(conn.execute(select(Record.id)).scalar_one())
        app = create_app(engine)
        try:
            with LiveServer(app) as server:
                yield server.url, record
        finally:
            engine.dispose()
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def sign_in(browser: Browser, url: str, username: str) -> Page:
    page = browser.new_context(base_url=url, locale="zh-CN").new_page()
    page.goto("/console/sign-in")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form[action='/console/sign-in'] button[type=submit]")
    page.wait_for_url("**/console")
    return page


def test_enterprise_repairs_a_record_and_it_leaves_publicity_the_same_day(
        browser: Browser, served: tuple[str, int], tmp_path: Path) -> None:
    url, record = served
    doc_no = published_penalty(N)["行政处罚决定书文号"]
    public = browser.new_context(base_url=url, locale="zh-CN").new_page()
    public.goto(f"/subjects/{numbered_uscc(N)}")
    assert public.locator("article.record", has_text=doc_no).count() == 1

    enterprise = sign_in(browser, url, "qiye")
    enterprise.goto(f"/repairs/new?record={record}")
    assert enterprise.locator("#eligibility").get_attribute("data-eligible") == "true"
    assert "最短公示期3个月已满" in enterprise.locator("#eligibility").inner_text()
    for name in ("commitment", "performance"):
        (tmp_path / f"{name}.pdf").write_bytes(PDF)
        enterprise.set_input_files(f"#m-{name}", str(tmp_path / f"{name}.pdf"))
    enterprise.fill("#statement", "罚款已于上月缴清，违法行为已整改完毕。")
    enterprise.click("#submit")
    enterprise.wait_for_url(re.compile(r"/repairs/XF\d{8}[A-Z2-7]{8}\?new=1"))
    case_no = enterprise.locator("#case-no").inner_text()
    assert enterprise.locator("#status").get_attribute("data-status") == "submitted"

    reviewer = sign_in(browser, url, "shenhe")
    reviewer.goto("/console/repairs")
    reviewer.click(f"#repair-queue a[href='/console/repairs/{case_no}']")
    reviewer.wait_for_url(f"**/console/repairs/{case_no}")
    reviewer.fill("#reason-accept", "材料齐全，予以受理")
    reviewer.click("#do-accept")
    reviewer.wait_for_url(re.compile(r"\?done=accept"))
    assert reviewer.locator("#status").get_attribute("data-status") == "accepted"
    reviewer.fill("#reason-approve", "已履行行政处罚决定并作出信用承诺，准予修复")
    reviewer.click("#do-approve")
    reviewer.wait_for_url(re.compile(r"\?done=approve"))
    assert reviewer.locator("#status").get_attribute("data-status") == "approved"

    public.goto(f"/subjects/{numbered_uscc(N)}")
    assert public.locator("article.record", has_text=doc_no).count() == 0
    public.goto(f"/repairs/{case_no}")
    assert "修复成功" in public.locator("#status").inner_text()
