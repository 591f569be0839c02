"""The portal and the console in a real browser: Debian's chromium driven by Playwright against
the real app served by uvicorn over a small demo city (SQLite).

Browsers cannot be downloaded here, so chromium is launched from /usr/bin/chromium. Without it
these tests are skipped locally; with CI set a missing chromium fails the run, as a missing
PostgreSQL does.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine, select

from xinyong.accounts import service as accounts
from xinyong.core import db
from xinyong.core.audit import SYSTEM
from xinyong.demo.generator import generate_city
from xinyong.ingest import service as ingest
from xinyong.ingest.models import Batch
from xinyong.profile.queries import public_view
from xinyong.publicity.service import in_publicity
from xinyong.subjects import search
from xinyong.subjects.models import Record, Subject

from ..factories import write_csv
from .browser_server import needs_chromium, served_copy, sign_in
from .conftest import DEPARTMENT, PASSWORD, published_penalty

BAD_USCC = "123"  # too short to be a 统一社会信用代码: the row is returned

pytestmark = needs_chromium


@dataclass(frozen=True)
class Demo:
    url: str
    engine: Engine
    reporter: str
    uscc: str  # a subject with a penalty in publicity today
    name: str
    penalty: dict[str, Any]  # that penalty, as the public view shows it
    other_batch: int  # a batch of a department other than the reporter's


def _subject_with_penalty(engine: Engine) -> tuple[str, str]:
    t = Record.__table__
    with engine.connect() as conn:
        row = conn.execute(
            select(Subject.uscc, Subject.name).join(t, t.c.subject_id == Subject.id)
            .where(t.c.item_code == "penalty", t.c.status == "current", Subject.uscc.is_not(None),
                   in_publicity(t, date.today()))
            .order_by(Subject.id).limit(1)).one()
    return str(row.uscc), str(row.name)


def _load_demo_city(engine: Engine, folder: Path) -> tuple[Engine, str, str, dict[str, Any], int]:
    """Ingest the demo city and add the reporter; the engine and the `Demo` facts it yields."""
    for b in generate_city(folder / "city", entities=60, seed=7):
        ingest.ingest_file(engine, b.path, b.department, kind=b.kind, received=b.received,
                           backfill=b.backfill)
    with db.writing(engine) as conn:
        search.refresh(conn)
        accounts.create_account(conn, SYSTEM, "reporter-siming", "reporter", password=PASSWORD,
                                department=DEPARTMENT)
    uscc, name = _subject_with_penalty(engine)
    with engine.connect() as conn:
        view = public_view(conn, uscc, date.today())
        other = conn.execute(select(Batch.id).where(Batch.department != DEPARTMENT)
                             .order_by(Batch.id).limit(1)).scalar_one()
    penalty = next(r for r in view["records"] if r["kind"] == "penalty")
    return engine, uscc, name, penalty, other


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Demo]:
    """A small demo city loaded through the real ingest path, served for the whole module."""
    with served_copy(tmp_path_factory.mktemp("browser-store"), sqlite_template,
                     _load_demo_city) as (url, (engine, uscc, name, penalty, other)):
        yield Demo(url, engine, "reporter-siming", uscc, name, penalty, other)


@pytest.fixture
def page(browser: Browser, demo: Demo) -> Iterator[Page]:
    context = browser.new_context(base_url=demo.url, locale="zh-CN")
    yield context.new_page()
    context.close()


@pytest.fixture
def page_without_js(browser: Browser, demo: Demo) -> Iterator[Page]:
    context = browser.new_context(base_url=demo.url, locale="zh-CN", java_script_enabled=False)
    yield context.new_page()
    context.close()


def search_and_open_subject(page: Page, demo: Demo) -> None:
    page.goto("/")
    page.fill("#q", demo.name)
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    page.click(f'ol.results a[href="/subjects/{demo.uscc}"]')
    page.wait_for_url(f"**/subjects/{demo.uscc}")
    assert page.locator("h1").inner_text() == demo.name


def penalty_card_shows(page: Page, demo: Demo) -> None:
    card = page.locator('article.record[data-kind="penalty"]', has_text=demo.penalty["doc_no"])
    assert card.count() == 1, page.content()
    assert card.locator(".tag").inner_text() == demo.penalty["publicity"]["tier"]


def bad_file(tmp_path: Path) -> Path:
    """One good penalty and two rows the platform must return: a bad code, no document number."""
    return write_csv(tmp_path / "处罚-含错误行.csv", [
        published_penalty(801),
        published_penalty(802, **{"行政相对人代码_1(统一社会信用代码)": BAD_USCC}),
        published_penalty(803, **{"行政处罚决定书文号": ""}),
    ])


def upload(page: Page, path: Path) -> int:
    """Submit the upload form; wait for the receipt page; the batch's number."""
    page.goto("/console/upload")
    page.set_input_files("#file", str(path))
    page.select_option("#kind", "penalty")
    page.click("#submit")
    page.wait_for_url(re.compile(r"/console/batches/\d+\?new=1"), timeout=30_000)
    match = re.search(r"/console/batches/(\d+)", page.url)
    assert match
    return int(match.group(1))


def test_public_searches_a_demo_subject_and_sees_its_penalty_in_publicity(
        page: Page, demo: Demo, tmp_path: Path) -> None:
    search_and_open_subject(page, demo)
    penalty_card_shows(page, demo)
    shot = tmp_path / "subject.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0


def test_reporter_uploads_bad_rows_with_progress_and_downloads_the_error_report(
        page: Page, demo: Demo, tmp_path: Path) -> None:
    sign_in(page, demo.reporter)
    with page.expect_response(lambda r: r.url.endswith("/console/upload")
                              and r.request.method == "POST") as posted:
        upload(page, bad_file(tmp_path))
    # the page's script took the upload: progress streamed as JSON lines, not a form post
    assert posted.value.headers["content-type"].startswith("application/x-ndjson")
    assert page.locator("#rejected").inner_text() == "2"
    assert "退回 2 行" in page.locator(".notice").inner_text()
    with page.expect_download() as download:
        page.click("#error-report")
    report = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(report)))
    assert len(rows) == 3, report
    by_doc = {r[rows[0].index("行政处罚决定书文号")]: r for r in rows[1:]}
    bad_code = by_doc["厦思市监罚〔2026〕802号"]
    assert BAD_USCC in bad_code and "统一社会信用代码" in bad_code[-1], bad_code
    assert by_doc[""][-1], "the row without a document number carries its reason"


def test_reporter_cannot_open_another_departments_batch(page: Page, demo: Demo) -> None:
    sign_in(page, demo.reporter)
    for path in (f"/console/batches/{demo.other_batch}", f"/console/batches/{demo.other_batch}/errors"):
        response = page.goto(path)
        # answered as a missing batch: another department's batch ids reveal nothing
        assert response is not None and response.status == 404, path
        text = page.locator("main").inner_text()
        assert "不存在" in text, text


def test_portal_search_works_without_javascript(page_without_js: Page, demo: Demo) -> None:
    search_and_open_subject(page_without_js, demo)
    penalty_card_shows(page_without_js, demo)


def test_upload_works_without_javascript(page_without_js: Page, demo: Demo, tmp_path: Path) -> None:
    page = page_without_js
    sign_in(page, demo.reporter)
    with page.expect_response(lambda r: r.url.endswith("/console/upload")
                              and r.request.method == "POST") as posted:
        batch = upload(page, bad_file(tmp_path))
    assert posted.value.status == 303
    assert posted.value.headers["location"] == f"/console/batches/{batch}?new=1"
    assert page.locator("#rejected").inner_text() == "2"
    assert page.locator("#error-report").get_attribute("href") == f"/console/batches/{batch}/errors"
