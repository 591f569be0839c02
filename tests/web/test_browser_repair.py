"""Credit repair in a real browser: the enterprise sees it may apply, applies with two PDFs;
a reviewer accepts and approves in the console; the public subject page no longer lists the
record that same day."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
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

N = 501
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _prepare(engine: Engine, folder: Path) -> int:
    """One 一般 penalty decided 4 months ago, an enterprise and a reviewer; the record's id."""
    row = published_penalty(N, **{"处罚决定日期": recent(125)})
    ingest.ingest_file(engine, write_csv(folder / "p.csv", [row]), DEPARTMENT, kind="penalty",
                       backfill=True)
    with db.writing(engine) as conn:
        accounts.create_account(conn, SYSTEM, "qiye", "enterprise", password=PASSWORD,
                                subject=numbered_uscc(N))
        accounts.create_account(conn, SYSTEM, "shenhe", "reviewer", password=PASSWORD)
    with engine.connect() as conn:
        return int(conn.execute(select(Record.id)).scalar_one())


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, int]]:
    """A store with one 一般 penalty decided 4 months ago, an enterprise and a reviewer."""
    with served_copy(tmp_path, sqlite_template, _prepare) as (url, record):
        yield url, record


def test_enterprise_repairs_a_record_and_it_leaves_publicity_the_same_day(
        browser: Browser, served: tuple[str, int], tmp_path: Path) -> None:
    url, record = served
    doc_no = published_penalty(N)["行政处罚决定书文号"]
    public = browser.new_context(base_url=url, locale="zh-CN").new_page()
    public.goto(f"/subjects/{numbered_uscc(N)}")
    assert public.locator("article.record", has_text=doc_no).count() == 1

    enterprise = signed_in(browser, url, "qiye")
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

    reviewer = signed_in(browser, url, "shenhe")
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
