"""Warnings in a real browser: the credit office scans, a department that penalised the subject
opens the warning addressed to it, reads the facts and closes it with an action and a note."""

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

from ..factories import write_csv
from .browser_server import needs_chromium, served_copy, signed_in
from .conftest import DEPARTMENT, PASSWORD, published_penalty

pytestmark = needs_chromium
TAX = "国家税务总局厦门市思明区税务局"
FIRE = "厦门市思明区消防救援大队"


def _prepare(engine: Engine, folder: Path) -> None:
    """One subject penalised by three departments, a credit-office account and a tax reporter."""
    for i, department in enumerate((DEPARTMENT, TAX, FIRE)):
        row = published_penalty(51, **{"行政处罚决定书文号": f"罚{i}", "处罚机关": department,
                                        "数据来源单位": department})
        ingest.ingest_file(engine, write_csv(folder / f"p{i}.csv", [row]), department)
    with db.writing(engine) as conn:
        accounts.create_account(conn, SYSTEM, "staff-warn", "staff", password=PASSWORD)
        accounts.create_account(conn, SYSTEM, "tax-warn", "reporter", password=PASSWORD,
                                department=TAX)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[str]:
    with served_copy(tmp_path_factory.mktemp("warnings-browser"), sqlite_template,
                     _prepare) as (url, _):
        yield url


def test_the_office_scans_and_a_department_closes_its_warning(browser: Browser, served: str) -> None:
    staff = signed_in(browser, served, "staff-warn")
    staff.goto("/console/warnings")
    staff.click("#scan button")
    staff.wait_for_url("**/console/warnings?scanned=1")
    assert "新产生 1 条预警" in staff.inner_text("#scanned")

    tax = signed_in(browser, served, "tax-warn")
    tax.goto("/console/warnings")
    assert "本部门（国家税务总局厦门市思明区税务局）" in tax.inner_text("main")
    tax.click("#warnings tbody a")
    assert "被3个部门行政处罚" in tax.inner_text("#summary")
    assert FIRE in tax.inner_text("#facts")
    tax.select_option("#action", "interview")
    tax.fill("#note", "已约谈法定代表人，责令限期整改")
    tax.click("#close button[type=submit]")
    tax.wait_for_selector("#closed")
    assert tax.inner_text("#status") == "已处置"
    assert "约谈" in tax.inner_text("#closed") and "责令限期整改" in tax.inner_text("#closed")
