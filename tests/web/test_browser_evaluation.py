"""Evaluation in a real browser: the credit office runs the evaluation from the console, reads
the distribution by industry and district, opens a subject's result with its indicators,
reasons and history; the subject's own page shows it its reasons, the public page does not."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from xinyong.accounts import service as accounts
from xinyong.core import db
from xinyong.core.audit import SYSTEM
from xinyong.core.settings import get_settings
from xinyong.ingest import service as ingest
from xinyong.web.app import create_app

from ..factories import numbered_uscc, write_csv
from .browser_server import LiveServer, chromium, needs_chromium
from .conftest import DEPARTMENT, PASSWORD, published_penalty

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("evaluation-browser")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XINYONG_FILES_DIR", str(folder / "files"))
        mp.setenv("XINYONG_RATE_LIMIT_PER_MINUTE", "0")
        get_settings.cache_clear()
        shutil.copyfile(sqlite_template, folder / "store.db")
        engine = db.make_engine(f"sqlite:///{folder / 'store.db'}")
        rows = [published_penalty(61, **{"行政处罚决定书文号": f"罚{i}"}) for i in range(3)]
        ingest.ingest_file(engine, write_csv(folder / "p.csv", rows), DEPARTMENT)
        with db.writing(engine) as conn:
            accounts.create_account(conn, SYSTEM, "staff-eval", "staff", password=PASSWORD)
            accounts.create_account(conn, SYSTEM, "firm-eval", "enterprise", password=PASSWORD,
                                    subject=numbered_uscc(61))
        app = create_app(engine)
        try:
            with LiveServer(app) as server:
                yield server.url
        finally:
            engine.dispose()
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def signed_in(browser: Browser, served: str, username: str) -> Page:
    page = browser.new_context(base_url=served, locale="zh-CN").new_page()
    page.goto("/console/sign-in")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form[action='/console/sign-in'] button[type=submit]")
    page.wait_for_url("**/console")
    return page


def test_the_office_runs_the_evaluation_and_reads_a_result(browser: Browser, served: str) -> None:
    staff = signed_in(browser, served, "staff-eval")
    staff.goto("/console/evaluations")
    assert "尚未运行" in staff.inner_text("#runs")
    staff.click("#run-form button")
    staff.wait_for_url("**/console/evaluations?scorecard=public")
    assert "全量" in staff.inner_text("#runs")
    assert "批发和零售业" in staff.inner_text("#by-industry")
    staff.fill("#scorecard-form input[name=uscc]", numbered_uscc(61))
    staff.click("#scorecard-form button")
    staff.wait_for_url(f"**/console/evaluations/subjects/{numbered_uscc(61)}?scorecard=public")
    assert "近12个月受到3次行政处罚（-120分）" in staff.inner_text("#reasons")
    assert "880" in staff.inner_text("#result") and "（首次评价）" in staff.inner_text("#history")

    firm = signed_in(browser, served, "firm-eval")
    firm.goto(f"/subjects/{numbered_uscc(61)}")
    assert "近12个月受到3次行政处罚（-120分）" in firm.inner_text("#evaluation")

    public = browser.new_context(base_url=served, locale="zh-CN").new_page()
    public.goto(f"/subjects/{numbered_uscc(61)}")
    assert public.locator("#evaluation").count() == 0
