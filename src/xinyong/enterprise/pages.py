"""The enterprise's entrance and home: a sign-in page worded for enterprises (the accounts'
session machinery behind it) and /enterprise, the subject's own records, cases, notices and
notifications. The notification list itself is `notifications.pages`."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from xinyong.accounts.api import Me
from xinyong.accounts.pages import SignInDoor
from xinyong.accounts.rules import Principal
from xinyong.enterprise import service
from xinyong.web.ratelimit import limited
from xinyong.web.security import OPEN, connection, requires
from xinyong.web.templating import render

router = APIRouter()
HOME = "/enterprise"
SIGN_IN = "/enterprise/sign-in"
# the sign-in form's double-submit token (nobody is signed in yet to hold a session one)
FORM_COOKIE = "xinyong_enterprise_signin"


DOOR = SignInDoor(SIGN_IN, HOME, FORM_COOKIE, enterprise=True)


@router.get(SIGN_IN, response_class=HTMLResponse)
def sign_in_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None,
                 _: Principal = requires(OPEN)) -> HTMLResponse:
    return DOOR.form(request, next or HOME)


@router.post(SIGN_IN, response_class=HTMLResponse, dependencies=[Depends(limited)])
def sign_in_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    form_token: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=500)] = HOME,
    _: Principal = requires(OPEN),
) -> Response:
    def land(done: Me | None, next_: str) -> str:
        if done is None:  # a staff account with an authenticator: finish on the console's form
            return "/console/sign-in/code?next=/console"
        if "subject.read_own" not in done.permissions:  # staff at the wrong door: their console
            return "/console"
        return next_

    return DOOR.submit(request, username, password, form_token, next, land)


@router.get(HOME, response_class=HTMLResponse)
def home(request: Request, conn: Connection = Depends(connection),
         principal: Principal = requires("subject.read_own")) -> Response:
    if not principal.subject:
        return RedirectResponse(f"{SIGN_IN}?next={quote(HOME)}", 303)
    return render(request, "enterprise/home.html", service.home(conn, principal, date.today()))
