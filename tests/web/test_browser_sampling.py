"""A random inspection in a real browser: a department's reporter creates a plan in the console,
draws it (the seed is generated and shown, the verification passes), records a result, and the
public page shows the plan, its seed, the subject and the result — without its grade."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine

from xinyong.accounts import service as accounts
from xinyong.core import db
from xinyong.core.audit import SYSTEM
from xinyong.evaluation import service as evaluation
from xinyong.ingest import service as ingest

from ..factories import write_csv
from .browser_server import needs_chromium, served_copy, signed_in
from .conftest import DEPARTMENT, PASSWORD, published_penalty

pytestmark = needs_chromium


def _prepare(engine: Engine, folder: Path) -> None:
    """Three evaluated subjects of the department, and that department's reporter."""
    ingest.ingest_file(engine, write_csv(folder / "p.csv", [published_penalty(n) for n in (51, 52, 53)]),
                       DEPARTMENT)
    evaluation.evaluate(engine, SYSTEM)
    with db.writing(engine) as conn:
        accounts.create_account(conn, SYSTEM, "reporter-sampling", "reporter", department=DEPARTMENT,
                                password=PASSWORD)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[str]:
    with served_copy(tmp_path_factory.mktemp("sampling-browser"), sqlite_template,
                     _prepare) as (url, _):
        yield url


def test_a_department_draws_a_plan_records_a_result_and_the_public_sees_it(browser: Browser,
                                                                           served: str) -> None:
    page = signed_in(browser, served, "reporter-sampling")

    page.goto("/console/sampling")
    page.fill("#name", "浏览器双随机抽查")
    page.fill("#base-ratio", "100%")
    page.fill("#inspectors", "张一\n李二\n王三")
    page.click("#new-plan button[type=submit]")
    page.wait_for_url(re.compile(r"/console/sampling/\d+$"))
    assert page.locator("#status").inner_text() == "待抽取"
    page.click("#draw button[type=submit]")
    page.wait_for_selector("#verification")
    assert "核验通过" in page.locator("#verification").inner_text()
    seed = page.locator("#seed").inner_text()
    assert re.fullmatch(r"[0-9a-f]{32}", seed)
    rows = page.locator("tr.sampled")
    assert rows.count() == 3
    first = rows.first
    uscc = first.get_attribute("data-uscc")
    first.locator("select[name=outcome]").select_option("rectification")
    first.locator("input[name=findings]").fill("未按规定公示许可证")
    first.locator("button[type=submit]").click()
    page.wait_for_selector(f'tr[data-uscc="{uscc}"] .outcome')
    assert page.locator(f'tr[data-uscc="{uscc}"] .outcome').inner_text() == "发现问题已责令整改"

    page.goto("/sampling")
    page.locator("tr.plan a").first.click()
    page.wait_for_url(re.compile(r"/sampling/\d+$"))
    assert page.locator("#seed").inner_text() == seed
    text = page.locator("table.sample").inner_text()
    assert uscc in text and "发现问题已责令整改" in text and "未按规定公示许可证" in text
    assert "等级" not in text
    page.context.close()
