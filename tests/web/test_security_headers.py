"""Security headers on every response (issue 20 item 8), and no inline script in any
template (the content security policy would refuse it)."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from xinyong.core.settings import get_settings
from xinyong.web.app import create_app

from .conftest import DEPARTMENT, Platform

CSP = "default-src 'self'; frame-ancestors 'none'"


def _common(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"


def test_public_pages_and_api_carry_the_headers_and_may_be_cached(platform: Platform) -> None:
    c = platform.client
    for path in ("/", "/search?q=测试", "/publicity", "/api/v1/publicity", "/static/style.css",
                 "/api/v1/subjects?q=测试", "/nowhere"):
        r = c.get(path)
        _common(r)
        assert "no-store" not in r.headers.get("cache-control", ""), path
        assert "strict-transport-security" not in r.headers  # cookies are not Secure here


def test_console_and_credentialed_api_answers_are_never_stored(platform: Platform) -> None:
    anonymous = platform.client
    sign_in = anonymous.get("/console/sign-in")
    _common(sign_in)
    assert sign_in.headers["cache-control"] == "no-store"
    staff = platform.as_role("staff")
    for path in ("/console", "/api/v1/me", "/api/v1/batches", "/", "/api/v1/publicity"):
        r = staff.get(path)
        _common(r)
        assert r.headers["cache-control"] == "no-store", path
    assert "no-store" not in staff.get("/static/style.css").headers.get("cache-control", "")
    token = platform.token("system", DEPARTMENT)
    r = TestClient(anonymous.app).get("/api/v1/publicity", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    _common(r)
    assert r.headers["cache-control"] == "no-store"
    refused = TestClient(anonymous.app).get("/api/v1/batches", headers={"Authorization": "Bearer xy_bad"})
    assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"
    _common(refused)


def test_hsts_when_cookies_are_secure(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_COOKIE_SECURE", "true")
    get_settings.cache_clear()
    r = platform.client.get("/")
    assert r.headers["strict-transport-security"] == "max-age=31536000"
    monkeypatch.delenv("XINYONG_COOKIE_SECURE")
    get_settings.cache_clear()
    # The default: Secure (and HSTS) unless the site is reached as localhost.
    assert "strict-transport-security" in platform.client.get("https://credit.example.gov.cn/").headers
    assert "strict-transport-security" not in platform.client.get("http://localhost/").headers


def test_refusals_before_any_route_carry_the_headers(platform: Platform) -> None:
    r = platform.client.get("/search?q=%00")
    assert r.status_code == 422
    _common(r)


def test_api_reference_page_gets_only_what_it_needs(engine: object) -> None:
    client = TestClient(create_app(engine))  # type: ignore[arg-type]
    policy = client.get("/api/v1/docs").headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy  # nothing inline, no other host
    assert client.get("/api/v1/openapi.json").headers["content-security-policy"] == CSP


SOURCE = Path(str(resources.files("xinyong")))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


def test_no_template_holds_inline_script_handlers_or_styles() -> None:
    templates = sorted(SOURCE.glob("**/templates/**/*.html"))
    assert len(templates) > 20
    found = [f"{path.relative_to(SOURCE)}: {m.group(0)}" for path in templates
             for pattern in (INLINE_SCRIPT, HANDLER, STYLE) for m in pattern.finditer(path.read_text())
             if "javascript:" not in m.group(0)]
    found += [str(path.relative_to(SOURCE)) for path in templates if "javascript:" in path.read_text()]
    assert found == []
    for script in re.findall(r'<script src="/static/([^"]+)"',
                             "".join(p.read_text() for p in templates)):
        assert (SOURCE / "web" / "static" / script).is_file(), script
