"""Evaluation in a real browser: the credit office runs the evaluation from the console, reads
the distribution by industry and district, opens a subject's result with its indicators,
reasons and history; the subject's own page shows it its reasons, the public page does not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine

from xinyong.accounts import service as accounts
from xinyong.core import db
from xinyong.core.audit import SYSTEM
from xinyong.ingest import service as ingest

from ..factories import numbered_uscc, write_csv
from .browser_server import needs_chromium, served_copy, signed_in
from .conftest import DEPARTMENT, PASSWORD, published_penalty

pytestmark = needs_chromium


def _prepare(engine: Engine, folder: Path) -> None:
    """Three penalties of one subject, a credit-office account and that subject's account."""
    rows = [published_penalty(61, **{"行政处罚决定书文号": f"罚{i}"}) for i in range(3)]
    ingest.ingest_file(engine, write_csv(folder / "p.csv", rows), DEPARTMENT)
    with db.writing(engine) as conn:
        accounts.create_account(conn, SYSTEM, "staff-eval", "staff", password=PASSWORD)
        accounts.create_account(conn, SYSTEM, "firm-eval", "enterprise", password=PASSWORD,
                                subject=numbered_uscc(61))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[str]:
    with served_copy(tmp_path_factory.mktemp("evaluation-browser"), sqlite_template,
                     _prepare) as (url, _):
        yield url


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
