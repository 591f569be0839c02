"""The real app served by uvicorn on a free loopback port, in a background thread, for tests
that need a real HTTP server (a browser cannot talk to an in-process TestClient); with the
pieces every browser module shares: a served copy of the migrated store, and signing in."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import httpx
import pyotp
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine

from xinyong.core import db
from xinyong.core.settings import get_settings
from xinyong.web.app import create_app

from .conftest import PASSWORD

Prepared = TypeVar("Prepared")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_serving(url: str, running: Callable[[], bool], seconds: float) -> None:
    """Until `url`/healthz answers 200. RuntimeError when the server stops `running()` or
    `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if not running() or time.monotonic() > deadline:
            raise RuntimeError(f"nothing answered /healthz at {url}")
        time.sleep(0.05)


class LiveServer:
    """`with LiveServer(app) as server:` serves `app` at `server.url` until the block ends."""

    def __init__(self, app: FastAPI, startup_seconds: float = 15.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)
        self.startup_seconds = startup_seconds

    def __enter__(self) -> LiveServer:
        self.thread.start()
        try:
            wait_until_serving(self.url, self.thread.is_alive, self.startup_seconds)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


# Debian's chromium, launched by path (browsers cannot be downloaded here). Without the
# background-networking flags it keeps trying to reach the closed network.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]

# Skipped without chromium locally; with CI set, a missing chromium fails (see `chromium`).
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason=f"no chromium at {CHROMIUM} (apt-get install chromium); required when CI is set")


@contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"chromium is required in CI but {CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def served_copy(folder: Path, template: Path, prepare: Callable[[Engine, Path], Prepared],
                env: Mapping[str, str] | None = None) -> Iterator[tuple[str, Prepared]]:
    """Copy the migrated `template` store into `folder`, let `prepare(engine, folder)` load the
    module's data, and serve the app on it; yields the URL and what `prepare` returned.

    Uploaded files go under `folder/files`; `env` sets further XINYONG_* variables. Rate limits
    are off: one browser signs in many times from one address within a minute."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XINYONG_FILES_DIR", str(folder / "files"))
        # The identity and audit keys (and the audit anchors) stay with the store for the
        # module, whichever files folder each test then gives the running server: persons
        # keyed while preparing still match, and the log signed then still verifies.
        mp.setenv("XINYONG_IDENTITY_KEY_FILE", str(folder / "identity.key"))
        mp.setenv("XINYONG_AUDIT_KEY_FILE", str(folder / "audit.key"))
        mp.setenv("XINYONG_AUDIT_ANCHOR_FILE", str(folder / "audit-anchors.jsonl"))
        mp.setenv("XINYONG_RATE_LIMIT_PER_MINUTE", "0")
        for name, value in (env or {}).items():
            mp.setenv(name, value)
        # settings are cached: clear them so the app reads this environment, and again after,
        # so no later test sees this store's folders
        get_settings.cache_clear()
        try:
            shutil.copyfile(template, folder / "store.db")
            engine = db.make_engine(f"sqlite:///{folder / 'store.db'}")
            try:
                prepared = prepare(engine, folder)
                with LiveServer(create_app(engine)) as server:
                    yield server.url, prepared
            finally:
                engine.dispose()
        finally:
            get_settings.cache_clear()


# The authenticator app of the people browser tests sign in as: the TOTP secret each set up
# on the enrolment page, by username, and the last time step whose code they typed.
AUTHENTICATOR: dict[str, str] = {}
LAST_STEP: dict[str, int] = {}


def authenticator_code(username: str) -> str:
    """The code the person's app shows, for a time step not used before."""
    totp = pyotp.TOTP(AUTHENTICATOR[username])
    step = max(totp.timecode(datetime.now(UTC)), LAST_STEP.get(username, -1) + 1)
    LAST_STEP[username] = step
    return totp.generate_otp(step)


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign `page` in through the console's form (it works with or without JavaScript). A
    privileged role's account is asked for its authenticator's code, and, the first time,
    sets the authenticator up from the secret the page shows."""
    page.goto("/console/sign-in")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form[action='/console/sign-in'] button[type=submit]")
    page.wait_for_url(lambda url: "/console/sign-in" not in url or "/code" in url)
    if "/console/sign-in/code" in page.url:
        if page.locator("#totp-secret").count():
            AUTHENTICATOR[username] = page.inner_text("#totp-secret").strip()
            LAST_STEP.pop(username, None)
        page.fill("#code", authenticator_code(username))
        page.click("form[action='/console/sign-in/code'] button[type=submit]")
    # staff land on the console; an enterprise that came in by this door, on its own home
    page.wait_for_url(lambda url: url.endswith(("/console", "/enterprise")))


def signed_in(browser: Browser, url: str, username: str, password: str = PASSWORD) -> Page:
    """A page in a new browser context (its own cookies) at `url`, signed in as `username`."""
    page = browser.new_context(base_url=url, locale="zh-CN").new_page()
    sign_in(page, username, password)
    return page
