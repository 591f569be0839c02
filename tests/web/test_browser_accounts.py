"""Accounts in a real browser: an administrator signs in with a password and the code of an
authenticator set up on the way (TOTP), then resets a reporter's password at phone and desktop
widths: a weak password is refused beside its field, a generated one is shown once and works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine

from xinyong.accounts import service as accounts
from xinyong.core import db
from xinyong.core.audit import SYSTEM

from .browser_server import (
    AUTHENTICATOR,
    authenticator_code,
    needs_chromium,
    served_copy,
    sign_in,
    signed_in,
)
from .conftest import DEPARTMENT, PASSWORD

pytestmark = needs_chromium


def _prepare(engine: Engine, folder: Path) -> None:
    with db.writing(engine) as conn:
        accounts.create_account(conn, SYSTEM, "admin-totp", "admin", password=PASSWORD,
                                display_name="系统管理员甲")
        accounts.create_account(conn, SYSTEM, "admin-reset", "admin", password=PASSWORD)
        for width in (390, 1280):
            accounts.create_account(conn, SYSTEM, f"reporter-{width}", "reporter",
                                    password=PASSWORD, department=DEPARTMENT,
                                    display_name=f"报送员{width}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("accounts-browser")
    with served_copy(folder, sqlite_template, _prepare) as (url, _):
        yield url


def test_an_admin_sets_up_the_authenticator_then_signs_in_with_its_code(browser: Browser,
                                                                      served: str) -> None:
    page = browser.new_context(base_url=served, locale="zh-CN").new_page()
    page.goto("/console/sign-in")
    page.fill("#username", "admin-totp")
    page.fill("#password", PASSWORD)
    page.click("form[action='/console/sign-in'] button[type=submit]")
    page.wait_for_url("**/console/sign-in/code**")
    assert "绑定动态验证码" in page.inner_text("h1")
    secret = page.inner_text("#totp-secret").strip()
    assert page.get_attribute("#totp-uri", "href").startswith("otpauth://totp/")  # type: ignore[union-attr]
    # before the code the person is not signed in: the console sends them to sign in
    assert page.request.get(f"{served}/api/v1/me").json()["kind"] == "anonymous"
    AUTHENTICATOR["admin-totp"] = secret
    page.fill("#code", authenticator_code("admin-totp"))
    page.click("form[action='/console/sign-in/code'] button[type=submit]")
    page.wait_for_url("**/console")
    assert page.request.get(f"{served}/api/v1/me").json()["role"] == "admin"
    page.click("form[action='/console/sign-out'] button")
    page.wait_for_url(f"{served}/")

    # the next time: the code is asked for, no secret is shown, a wrong code is refused
    page.goto("/console/sign-in")
    page.fill("#username", "admin-totp")
    page.fill("#password", PASSWORD)
    page.click("form[action='/console/sign-in'] button[type=submit]")
    page.wait_for_url("**/console/sign-in/code**")
    assert page.locator("#totp-secret").count() == 0
    # one code for this step: asking the helper twice would move two steps on, past the
    # platform's window of one step either side
    right = authenticator_code("admin-totp")
    page.fill("#code", "000000" if right != "000000" else "111111")
    page.click("form[action='/console/sign-in/code'] button[type=submit]")
    assert "动态验证码不正确" in page.inner_text("[role=alert]")
    page.fill("#code", right)
    page.click("form[action='/console/sign-in/code'] button[type=submit]")
    page.wait_for_url("**/console")
    assert "账号管理" in page.inner_text("nav.subnav")
    page.context.close()


def _reset(page: Page, username: str) -> str:
    page.goto("/console/accounts")
    page.click(f"a[href='/console/accounts/{username}']")
    page.wait_for_url(f"**/console/accounts/{username}")
    reset = f"form[action='/console/accounts/{username}/password-reset']"
    page.fill(f"{reset} #password", "aaaaaaaaaa")
    page.click("#reset-password")
    error = page.locator(f"{reset} #password-error")
    assert "连续出现超过 3 次" in error.inner_text()
    page.fill(f"{reset} #password", "")
    page.click("#reset-password")
    page.wait_for_selector("#issued-password")
    assert "已全部结束" in page.inner_text("[role=status]")
    return page.inner_text("#issued-password").strip()


@pytest.mark.parametrize("width", [390, 1280])
def test_an_admin_resets_a_reporters_password(browser: Browser, served: str, width: int,
                                               tmp_path: Path) -> None:
    context = browser.new_context(base_url=served, locale="zh-CN",
                                  viewport={"width": width, "height": 900})
    page = context.new_page()
    sign_in(page, "admin-reset")
    username = f"reporter-{width}"
    new = _reset(page, username)
    # the page fits the width: nothing forces a sideways scroll
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # for the developer to look at (pytest --basetemp=DIR keeps it in a known place)
    page.screenshot(path=str(tmp_path / f"account-reset-{width}.png"), full_page=True)
    context.close()
    reporter = signed_in(browser, served, username, new)
    assert reporter.request.get(f"{served}/api/v1/me").json()["name"] == username
    reporter.context.close()
    old = browser.new_context(base_url=served, locale="zh-CN").new_page()
    old.goto("/console/sign-in")
    old.fill("#username", username)
    old.fill("#password", PASSWORD)
    old.click("form[action='/console/sign-in'] button[type=submit]")
    assert "用户名或密码错误" in old.inner_text("[role=alert]")
    old.context.close()
