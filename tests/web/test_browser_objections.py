"""An objection in a real browser (Debian's chromium via Playwright against uvicorn, SQLite):
the enterprise files it online with a document, the case page shows 异议处理中, the source
department's reporter revokes the record from the console queue, and the public subject page
no longer lists it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine, text

from xinyong.accounts import service as accounts
from xinyong.core import db
from xinyong.core.audit import SYSTEM
from xinyong.ingest import service as ingest

from ..factories import numbered_uscc, write_csv
from .browser_server import needs_chromium, served_copy, signed_in
from .conftest import DEPARTMENT, PASSWORD, published_penalty

pytestmark = needs_chromium

N = 31
DOC_NO = f"厦思市监罚〔2026〕{N}号"


@dataclass(frozen=True)
class Site:
    url: str
    record: int
    uscc: str


def _prepare(engine: Engine, folder: Path) -> int:
    """One penalty in publicity, its subject's account and the department's reporter; the
    record's id."""
    ingest.ingest_file(engine, write_csv(folder / "p.csv", [published_penalty(N)]), DEPARTMENT)
    with db.writing(engine) as conn:
        accounts.create_account(conn, SYSTEM, "enterprise-31", "enterprise", password=PASSWORD,
                                subject=numbered_uscc(N))
        accounts.create_account(conn, SYSTEM, "reporter-siming", "reporter", password=PASSWORD,
                                department=DEPARTMENT)
        return int(conn.execute(text("SELECT id FROM record")).scalar_one())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    with served_copy(tmp_path_factory.mktemp("objection-store"), sqlite_template,
                     _prepare) as (url, record):
        yield Site(url, record, numbered_uscc(N))


def _page(browser: Browser, site: Site) -> Page:
    return browser.new_context(base_url=site.url, locale="zh-CN").new_page()


def _listed(page: Page, site: Site) -> int:
    page.goto(f"/subjects/{site.uscc}")
    return page.locator('article.record[data-kind="penalty"]', has_text=DOC_NO).count()


def test_object_online_then_the_department_revokes_and_the_public_page_changes(
        browser: Browser, site: Site, tmp_path: Path) -> None:
    public = _page(browser, site)
    assert _listed(public, site) == 1

    enterprise = signed_in(browser, site.url, "enterprise-31")
    enterprise.goto(f"/objections/new?record={site.record}")
    assert enterprise.locator("#doc-no").inner_text() == DOC_NO
    enterprise.fill("#reason", "该处罚决定已被复议机关撤销，附复议决定书，请撤销公示。")
    document = tmp_path / "复议决定书.pdf"
    document.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    enterprise.set_input_files("#attachments", str(document))
    enterprise.click("#submit")
    enterprise.wait_for_url(re.compile(r"/objections/YY\d{8}[A-Z2-7]{8}\?new=1"))
    case_no = enterprise.locator("#case-no").inner_text()
    assert "异议处理中" in enterprise.locator("#status").inner_text()
    # the case page is public: anyone holding the number sees the status
    public.goto(f"/objections/{case_no}")
    assert "异议处理中" in public.locator("#status").inner_text()
    assert _listed(public, site) == 1, "under objection the record stays shown until decided"

    reporter = signed_in(browser, site.url, "reporter-siming")
    reporter.goto("/console/objections")
    reporter.click(f'#queue a[href="/console/objections/{case_no}"]')
    reporter.wait_for_url(f"**/console/objections/{case_no}")
    assert reporter.locator("a", has_text="复议决定书.pdf").count() == 1
    reporter.check("#action-revoke")
    reporter.fill("#decision-reason-input", "原处罚决定已被复议撤销")
    reporter.click("#decide")
    reporter.wait_for_url(f"**/console/objections/{case_no}?done=1")
    assert "撤销" in reporter.locator("#decision").inner_text()

    assert _listed(public, site) == 0
    public.goto(f"/objections/{case_no}")
    assert public.locator("#status").get_attribute("data-status") == "revoked"
    assert public.locator("#decision-reason").inner_text() == "原处罚决定已被复议撤销"
