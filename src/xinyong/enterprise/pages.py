"""The enterprise's entrance and home: a sign-in page worded for enterprises (the accounts'
session machinery behind it) and /enterprise, the subject's own records, cases, notices and
notifications. The notification list itself is `notifications.pages`."""

from __future__ import annotations

import hmac
import secrets
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from xinyong.accounts.api import sign_in
from xinyong.accounts.rules import AuthenticationFailed, Principal, SignInRefused
from xinyong.enterprise import service
from xinyong.web.ratelimit import limited
from xinyong.web.security import OPEN, connection, cookie_secure, requires
from xinyong.web.templating import render

router = APIRouter()
HOME = "/enterprise"
SIGN_IN = "/enterprise/sign-in"
# the sign-in form's double-submit token (nobody is signed in yet to hold a session one)
FORM_COOKIE = "xinyong_enterprise_signin"


def _safe_next(target: str | None) -> str:
    """Only paths on this site, so a crafted link cannot send people elsewhere after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


def _form(request: Request, next_: str, *, error: str | None = None, username: str = "",
          status_code: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "accounts/sign_in.html", {
        "enterprise": True, "action": SIGN_IN, "next": _safe_next(next_), "error": error,
        "username": username, "form_token": token}, status_code=status_code)
    response.set_cookie(FORM_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=cookie_secure(request), path=SIGN_IN)
    return response


@router.get(SIGN_IN, response_class=HTMLResponse)
def sign_in_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None,
                 _: Principal = requires(OPEN)) -> HTMLResponse:
    return _form(request, next or HOME)


@router.post(SIGN_IN, response_class=HTMLResponse, dependencies=[Depends(limited)])
def sign_in_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    form_token: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=500)] = HOME,
    _: Principal = requires(OPEN),
) -> Response:
    expected = request.cookies.get(FORM_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, form_token):
        return _form(request, next, error="登录表单已过期，请重新输入", username=username,
                     status_code=403)
    target = RedirectResponse(_safe_next(next), 303)
    try:
        done = sign_in(request, target, username, password, halfway=True)
    except AuthenticationFailed as exc:
        return _form(request, next, error=exc.message, username=username, status_code=401)
    except SignInRefused as exc:
        return _form(request, next, error=exc.message, username=username, status_code=429)
    if done is None:  # a staff account with an authenticator: finish on the console's form
        target.headers["location"] = "/console/sign-in/code?next=/console"
    elif "subject.read_own" not in done.permissions:  # staff at the wrong door: their console
        target.headers["location"] = "/console"
    target.delete_cookie(FORM_COOKIE, path=SIGN_IN)
    return target


@router.get(HOME, response_class=HTMLResponse)
def home(request: Request, conn: Connection = Depends(connection),
         principal: Principal = requires("subject.read_own")) -> Response:
    if not principal.subject:
        return RedirectResponse(f"{SIGN_IN}?next={quote(HOME)}", 303)
    return render(request, "enterprise/home.html", service.home(conn, principal, date.today()))
