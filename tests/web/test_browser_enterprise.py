"""The enterprise's workspace in a real browser at phone and desktop widths: it signs in at its
own entrance from the public site, lands on its home with its records (window, repair date),
its objection and the notification of it, and an objection form it submits with too short a
reason comes back with the text kept and the reason beside the field."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine, text

from xinyong.accounts import service as accounts
from xinyong.core import db
from xinyong.core.audit import SYSTEM
from xinyong.ingest import service as ingest
from xinyong.objections import service as objections

from ..factories import numbered_uscc, write_csv
from .browser_server import needs_chromium, served_copy
from .conftest import DEPARTMENT, PASSWORD, published_penalty, recent

pytestmark = needs_chromium

N = 91
WIDTHS = {390: 844, 1280: 900}


@dataclass(frozen=True)
class Site:
    url: str
    eligible: int  # decided 4 months ago: repair may be applied for
    objected: int  # decided 20 days ago, under objection


def _prepare(engine: Engine, folder: Path) -> Site:
    rows = [published_penalty(N, **{"处罚决定日期": recent(days),
                                    "行政处罚决定书文号": f"厦思市监罚〔2026〕{N}-{days}号"})
            for days in (125, 20)]
    ingest.ingest_file(engine, write_csv(folder / "p.csv", rows), DEPARTMENT, kind="penalty",
                       backfill=True)
    with db.writing(engine) as conn:
        for width in WIDTHS:
            accounts.create_account(conn, SYSTEM, f"qiye-{width}", "enterprise", password=PASSWORD,
                                    subject=numbered_uscc(N))
    with engine.connect() as conn:
        ids = {row.doc_no: row.id for row in conn.execute(text("SELECT doc_no, id FROM record"))}
    eligible, objected = ids[f"厦思市监罚〔2026〕{N}-125号"], ids[f"厦思市监罚〔2026〕{N}-20号"]
    with db.writing(engine) as conn:
        principal = accounts.authenticate_password(conn, "qiye-390", PASSWORD)
    objections.file_objection(engine, principal.actor("127.0.0.1"), principal, objected,
                              "该处罚决定已被复议机关撤销，请撤销公示。")
    return Site("", eligible, objected)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    with served_copy(tmp_path_factory.mktemp("enterprise-browser"), sqlite_template,
                     _prepare) as (url, prepared):
        yield Site(url, prepared.eligible, prepared.objected)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_enterprise_signs_in_sees_its_cases_and_a_refused_form_keeps_its_text(
        browser: Browser, site: Site, width: int) -> None:
    context = browser.new_context(base_url=site.url, locale="zh-CN",
                                  viewport={"width": width, "height": WIDTHS[width]})
    page = context.new_page()
    page.goto("/")
    page.click("header a[href='/enterprise/sign-in']")
    page.wait_for_url("**/enterprise/sign-in")
    assert page.inner_text("h1") == "企业登录"
    page.fill("#username", f"qiye-{width}")
    page.fill("#password", PASSWORD)
    page.click("form[action='/enterprise/sign-in'] button[type=submit]")
    page.wait_for_url("**/enterprise")

    records = page.locator("#records article.record")
    assert records.count() == 2
    objected = page.locator(f"article[data-record='{site.objected}']")
    assert "公示中" in objected.inner_text() and "异议处理中" in objected.inner_text()
    assert "起可申请" in objected.locator(".repair-date").inner_text()
    eligible = page.locator(f"article[data-record='{site.eligible}']")
    assert eligible.locator(".repair-date").inner_text() == "现在可以申请"
    assert page.locator("#objections li[data-status='open']").count() == 1
    assert "异议已提交" in page.locator("#notifications").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=f"/tmp/ent-home-{width}.png", full_page=True)

    page.click("#nav-notifications")
    page.wait_for_url("**/enterprise/notifications")
    assert page.locator("article.note[data-event='objection.filed']").count() == 1
    page.screenshot(path=f"/tmp/ent-notifications-{width}.png", full_page=True)

    page.goto("/enterprise")
    eligible = page.locator(f"article[data-record='{site.eligible}']")
    eligible.locator("a", has_text="提出异议").click()
    page.wait_for_url(f"**/objections/new?record={site.eligible}")
    typed = "有误          "  # long enough for the browser, too short once trimmed
    page.fill("#reason", typed)
    page.click("#submit")
    page.wait_for_load_state()
    assert page.input_value("#reason") == typed
    assert page.get_attribute("#reason", "aria-invalid") == "true"
    described = page.get_attribute("#reason", "aria-describedby")
    assert described and "异议理由至少" in page.inner_text(f"#{described}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=f"/tmp/ent-form-{width}.png", full_page=True)
    context.close()
