"""Console sign-in and sign-out, and the auditor's view of the audit log."""

from __future__ import annotations

import hmac
import secrets
from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xinyong.accounts import service
from xinyong.accounts.api import sign_in, sign_out
from xinyong.accounts.rules import AuthenticationFailed, Principal
from xinyong.core import audit
from xinyong.core.db import writing
from xinyong.core.settings import get_settings
from xinyong.web.security import OPEN, client_address, engine_of, requires
from xinyong.web.templating import render

router = APIRouter()
# Sign-in forms carry a double-submit token: nobody is signed in yet to hold a session one.
SIGN_IN_COOKIE = "xinyong_signin"
PAGE_SIZE = 50


def _safe_next(target: str | None) -> str:
    """Only paths on this site, so a crafted link cannot send people elsewhere after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console"


def _form(request: Request, next_: str, *, error: str | None = None, username: str = "",
          status_code: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "accounts/sign_in.html", {
        "next": _safe_next(next_), "error": error, "username": username, "form_token": token},
        status_code=status_code)
    response.set_cookie(SIGN_IN_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=get_settings().cookie_secure, path="/console/sign-in")
    return response


@router.get("/console/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None,
                 _: Principal = requires(OPEN)) -> HTMLResponse:
    return _form(request, next or "/console")


@router.post("/console/sign-in", response_class=HTMLResponse)
def sign_in_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    form_token: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=500)] = "/console",
    _: Principal = requires(OPEN),
) -> Response:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, form_token):
        return _form(request, next, error="登录表单已过期，请重新输入", username=username,
                     status_code=403)
    target = RedirectResponse(_safe_next(next), 303)
    try:
        sign_in(request, target, username, password)
    except AuthenticationFailed as exc:
        return _form(request, next, error=exc.message, username=username, status_code=401)
    target.delete_cookie(SIGN_IN_COOKIE, path="/console/sign-in")
    return target


@router.post("/console/sign-out")
def sign_out_submit(request: Request, principal: Principal = requires(OPEN)) -> Response:
    response = RedirectResponse("/", 303)
    sign_out(request, response, principal)
    return response


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/console/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=128)] = None,
    object_id: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    principal: Principal = requires("audit.read"),
) -> HTMLResponse:
    start, end = _day(since), _day(until)
    with writing(engine_of(request)) as conn:
        rows = service.read_audit_log(
            conn, principal.actor(client_address(request)), action=action or None,
            actor=actor or None, object_id=object_id or None,
            since=datetime.combine(start, time()) if start else None,
            until=datetime.combine(end + timedelta(days=1), time()) if end else None,
            limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        verification = audit.verify(conn) if request.query_params.get("verify") else None
    return render(request, "accounts/audit.html", {
        "events": rows[:PAGE_SIZE], "has_more": len(rows) > PAGE_SIZE, "page": page,
        "filters": {"action": action or "", "actor": actor or "", "object_id": object_id or "",
                    "since": since or "", "until": until or ""},
        "verification": verification})
