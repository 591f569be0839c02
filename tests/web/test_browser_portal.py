"""The portal in a real browser at a phone's width (390 px) and a desktop's (1280 px), over a
demo city: home, search, a subject page, the 双公示 listing and a sampling plan fit the screen
(no horizontal scroll; department names are not squeezed to a character per line; a SHA-256
is shortened, its full value a click away). Each page is saved to /tmp/portal-<page>-<width>.png
for a person to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine, text

from xinyong.demo import cli as demo_cli

from .browser_server import needs_chromium, served_copy

pytestmark = needs_chromium

WIDTHS = (390, 1280)
SHOTS = Path("/tmp")


@dataclass(frozen=True)
class City:
    url: str
    uscc: str
    name: str
    plan: int


def _prepare(engine: Engine, folder: Path) -> tuple[str, str, int]:
    demo_cli._build(engine, 60, 7, folder / "city")
    sample = demo_cli._sample(engine)
    assert sample is not None
    with engine.connect() as conn:
        plan = conn.execute(text("SELECT MIN(id) FROM sampling_plan")).scalar_one()
    return sample[0], sample[1], int(plan)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[City]:
    with served_copy(tmp_path_factory.mktemp("portal-browser"), sqlite_template,
                     _prepare) as (url, (uscc, name, plan)):
        yield City(url, uscc, name, plan)


@pytest.fixture(params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def page(request: pytest.FixtureRequest, browser: Browser, city: City) -> Iterator[Page]:
    width: int = request.param
    context = browser.new_context(base_url=city.url, locale="zh-CN",
                                  viewport={"width": width, "height": 900})
    yield context.new_page()
    context.close()


def fits(page: Page, name: str) -> None:
    """The page is no wider than the screen, and its picture is saved."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    page.screenshot(path=str(SHOTS / f"portal-{name}-{width}.png"), full_page=True)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{name} at {width} px is {scroll} px wide"


def test_home_names_the_city_and_shows_the_figures(page: Page) -> None:
    page.goto("/")
    assert page.locator("h1").inner_text() == "信用厦门"
    records = page.locator("#figure-records b").inner_text().replace(",", "")
    assert int(records) > 100
    assert page.locator("#entrance-repairs form.lookup").count() == 1
    fits(page, "home")


def test_search_and_the_subject_page(page: Page, city: City) -> None:
    page.goto("/")
    page.fill("#q", city.name)
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    fits(page, "search")
    page.click(f'ol.results a[href="/subjects/{city.uscc}"]')
    page.wait_for_url(f"**/subjects/{city.uscc}")
    assert page.locator("h1").inner_text() == city.name
    assert page.locator('article.record[data-kind="penalty"]').count() >= 1
    fits(page, "subject")


def test_the_publicity_listing_fits_and_keeps_department_names_readable(page: Page) -> None:
    page.goto("/publicity")
    assert re.fullmatch(r"共 [\d,]+ 条", page.locator("#total").inner_text())
    cells = page.locator("td.department")
    assert cells.count() > 5
    for i in range(min(cells.count(), 10)):
        box = cells.nth(i).bounding_box()
        assert box is not None and box["width"] >= 150, box  # not a character per line
    fits(page, "publicity")
    page.fill("#since", "2026-03-01")
    page.fill("#until", "2026-01-01")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("#until-error")
    assert "早于起始日期" in page.locator("#until-error").inner_text()
    assert page.locator("#until").input_value() == "2026-01-01"
    fits(page, "publicity-reversed")


def test_a_sampling_plan_fits_with_its_digests_shortened(page: Page, city: City) -> None:
    page.goto("/sampling")
    fits(page, "sampling")
    page.goto(f"/sampling/{city.plan}")
    short = page.locator(".digest .short").first
    full = short.get_attribute("title") or ""
    assert re.fullmatch(r"[0-9a-f]{64}", full) and "…" in short.inner_text()
    page.locator(".full-digest summary").first.click()
    assert page.locator("#population-sha").inner_text() == full
    fits(page, "sampling-plan")
