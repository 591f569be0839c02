"""Console sign-in (with the authenticator code of privileged roles) and sign-out, a person's
own password, and the auditor's view of the audit log. The administrator's account pages are
in `admin_pages`."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xinyong.accounts import admin_pages, audit_labels, service
from xinyong.accounts.api import Me, opened, set_session_cookie, sign_in, sign_out
from xinyong.accounts.error_codes import AccountError
from xinyong.accounts.rules import AuthenticationFailed, Principal, SignInRefused, role_table
from xinyong.core import audit, cells
from xinyong.core.dates import BEIJING_OFFSET
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.core.settings import get_settings
from xinyong.web.ratelimit import limited
from xinyong.web.security import (
    OPEN,
    SESSION_COOKIE,
    client_address,
    cookie_secure,
    engine_of,
    requires,
)
from xinyong.web.templating import render

router = APIRouter()
router.include_router(admin_pages.router)
# Sign-in forms carry a double-submit token: nobody is signed in yet to hold a session one.
SIGN_IN_COOKIE = "xinyong_signin"
PAGE_SIZE = 50


@dataclass(frozen=True)
class SignInDoor:
    """A password sign-in form: its path, where it leads by default, and the cookie of its
    double-submit token (nobody is signed in yet to hold a session one). The console's and
    the enterprises' doors differ only in these and in where a signed-in person lands."""

    path: str
    home: str
    cookie: str
    enterprise: bool = False

    def safe_next(self, target: str | None) -> str:
        """Only paths on this site, so a crafted link cannot send people elsewhere after
        sign-in."""
        if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
            return target
        return self.home

    def form(self, request: Request, next_: str, *, error: str | None = None, username: str = "",
             status_code: int = 200) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = render(request, "accounts/sign_in.html", {
            "enterprise": self.enterprise, "action": self.path, "next": self.safe_next(next_),
            "error": error, "username": username, "form_token": token}, status_code=status_code)
        response.set_cookie(self.cookie, token, max_age=3600, httponly=True, samesite="strict",
                            secure=cookie_secure(request), path=self.path)
        return response

    def submit(self, request: Request, username: str, password: str, form_token: str,
               next_: str, land: Callable[[Me | None, str], str]) -> Response:
        """Check the form's token and the password; on success a redirect to where `land`
        says (given the principal — None while the authenticator's code is to come — and
        the safe `next`), else the form again with the reason."""
        expected = request.cookies.get(self.cookie, "")
        if not expected or not hmac.compare_digest(expected, form_token):
            return self.form(request, next_, error="登录表单已过期，请重新输入", username=username,
                             status_code=403)
        target = RedirectResponse(self.safe_next(next_), 303)
        try:
            done = sign_in(request, target, username, password, halfway=True)
        except AuthenticationFailed as exc:
            return self.form(request, next_, error=exc.message, username=username, status_code=401)
        except SignInRefused as exc:
            return self.form(request, next_, error=exc.message, username=username, status_code=429)
        target.headers["location"] = land(done, self.safe_next(next_))
        target.delete_cookie(self.cookie, path=self.path)
        return target


CONSOLE_DOOR = SignInDoor("/console/sign-in", "/console", SIGN_IN_COOKIE)


def _safe_next(target: str | None) -> str:
    return CONSOLE_DOOR.safe_next(target)


def _form(request: Request, next_: str, *, error: str | None = None, username: str = "",
          status_code: int = 200) -> HTMLResponse:
    return CONSOLE_DOOR.form(request, next_, error=error, username=username,
                             status_code=status_code)


@router.get("/console/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None,
                 _: Principal = requires(OPEN)) -> HTMLResponse:
    return _form(request, next or "/console")


@router.post("/console/sign-in", response_class=HTMLResponse, dependencies=[Depends(limited)])
def sign_in_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    form_token: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=500)] = "/console",
    _: Principal = requires(OPEN),
) -> Response:
    def land(done: Me | None, next_: str) -> str:
        # the password was right; the authenticator's code is still to come
        return f"/console/sign-in/code?next={quote(next_)}" if done is None else next_

    return CONSOLE_DOOR.submit(request, username, password, form_token, next, land)


def _halfway(request: Request) -> tuple[str, service.SessionView] | None:
    """The cookie and the session of a sign-in waiting for its code, or None."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    with engine_of(request).connect() as conn:
        for stage in (service.CODE, service.ENROL):
            session = service.session_for(conn, cookie, stage=stage)
            if session is not None:
                return cookie, session
    return None


def _code_form(request: Request, cookie: str, session: service.SessionView, next_: str, *,
               error: str | None = None, status_code: int = 200) -> HTMLResponse:
    enrolment = None
    if session.stage == service.ENROL:
        enrolment = service.enrolment(engine_of(request), session.principal.name)
    return render(request, "accounts/code.html", {
        "next": _safe_next(next_), "error": error, "enrolment": enrolment,
        "halfway_token": session.csrf_token, "username": session.principal.name},
        status_code=status_code)


@router.get("/console/sign-in/code", response_class=HTMLResponse)
def code_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None,
              _: Principal = requires(OPEN)) -> Response:
    found = _halfway(request)
    if found is None:
        return RedirectResponse(f"/console/sign-in?next={quote(_safe_next(next))}", 303)
    return _code_form(request, *found, next or "/console")


@router.post("/console/sign-in/code", response_class=HTMLResponse, dependencies=[Depends(limited)])
def code_submit(
    request: Request,
    code: Annotated[str, Form(max_length=16)],
    halfway_token: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=500)] = "/console",
    _: Principal = requires(OPEN),
) -> Response:
    found = _halfway(request)
    if found is None:
        return _form(request, next, error="登录已超时，请重新输入用户名和密码", status_code=401)
    cookie, session = found
    if not hmac.compare_digest(session.csrf_token, halfway_token):
        return _code_form(request, cookie, session, next, error="表单已过期，请重新输入",
                          status_code=403)
    target = RedirectResponse(_safe_next(next), 303)
    try:
        secret, full = service.complete_sign_in(engine_of(request), cookie, session.principal.name,
                                                code, source=client_address(request),
                                                hours=get_settings().session_hours)
    except AuthenticationFailed:
        return _code_form(request, cookie, session, next,
                          error="动态验证码不正确或已使用过，请输入验证器上当前显示的 6 位数字",
                          status_code=401)
    except SignInRefused as exc:
        return _form(request, next, error=exc.message, status_code=429)
    set_session_cookie(request, target, secret)
    opened(request, full)
    return target


@router.post("/console/sign-out")
def sign_out_submit(request: Request, principal: Principal = requires(OPEN)) -> Response:
    response = RedirectResponse("/", 303)
    sign_out(request, response, principal)
    return response


# Own password ----------------------------------------------------------------------------

@router.get("/console/password", response_class=HTMLResponse)
def own_password_page(request: Request,
                      principal: Principal = requires("password.change_own")) -> HTMLResponse:
    return render(request, "accounts/password.html", {"errors": {}, "done": False})


@router.post("/console/password", response_class=HTMLResponse)
def own_password_submit(
    request: Request,
    current: Annotated[str, Form(max_length=256)],
    new: Annotated[str, Form(max_length=256)],
    again: Annotated[str, Form(max_length=256)],
    principal: Principal = requires("password.change_own"),
) -> HTMLResponse:
    errors: dict[str, str] = {}
    if principal.kind != "account":
        errors["current"] = "接口令牌没有密码"
    elif new != again:
        errors["again"] = "两次输入的新密码不一致"
    else:
        try:
            service.change_own_password(engine_of(request), principal, current, new,
                                        source=client_address(request),
                                        keep_session=request.cookies.get(SESSION_COOKIE))
        except InvalidInput as exc:
            errors["current" if exc.code == AccountError.WRONG_CURRENT_PASSWORD else "new"] = exc.message
    return render(request, "accounts/password.html", {"errors": errors, "done": not errors},
                  status_code=422 if errors else 200)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


AuditText = Annotated[str | None, Query(max_length=128)]
EXPORT_LIMIT = 10_000  # events in one export; narrow the filters for more


@dataclass(frozen=True)
class AuditFilters:
    """The audit page's filters as typed; days are Beijing days."""

    action: str = ""
    actor: str = ""
    role: str = ""
    object_id: str = ""
    since: str = ""
    until: str = ""

    def query(self) -> dict[str, Any]:
        """The filters as `service.audit_events` takes them (instants naive UTC)."""
        start, end = _day(self.since), _day(self.until)
        return {"action": self.action or None, "actor": self.actor or None, "role": self.role or None,
                "object_id": self.object_id or None,
                "since": datetime.combine(start, time()) - BEIJING_OFFSET if start else None,
                "until": datetime.combine(end + timedelta(days=1), time()) - BEIJING_OFFSET
                if end else None}

    def problems(self) -> list[str]:
        found = [f"{label}应为日期（年-月-日），而不是“{value[:20]}”"
                 for label, value in (("起始日期", self.since), ("截止日期", self.until))
                 if value and _day(value) is None]
        start, end = _day(self.since), _day(self.until)
        if start and end and start > end:
            found.append("起始日期晚于截止日期")
        return found


def audit_filters(action: AuditText = None, actor: AuditText = None, role: AuditText = None,
                  object_id: AuditText = None, since: Annotated[str | None, Query(max_length=10)] = None,
                  until: Annotated[str | None, Query(max_length=10)] = None) -> AuditFilters:
    return AuditFilters(*((v or "").strip() for v in (action, actor, role, object_id, since, until)))


@router.get("/console/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    filters: AuditFilters = Depends(audit_filters),
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    principal: Principal = requires("audit.read"),
) -> HTMLResponse:
    problems = filters.problems()
    rows: list[dict[str, Any]] = []
    engine = engine_of(request)
    if not problems:
        rows = service.read_audit_log(
            engine, principal.actor(client_address(request)), **filters.query(),
            limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    verification = None
    if request.query_params.get("verify"):
        with engine.connect() as conn:
            verification = audit.verify(conn)
    return render(request, "accounts/audit.html", {
        "events": [audit_labels.readable_event(e) for e in rows[:PAGE_SIZE]],
        "has_more": len(rows) > PAGE_SIZE, "page": page, "filters": filters, "problems": problems,
        "actions": audit_labels.action_choices(),
        "roles": [(code, r.name) for code, r in role_table().roles.items()],
        "verification": verification}, status_code=422 if problems else 200)


@router.get("/console/audit/export")
def audit_export(
    request: Request,
    filters: AuditFilters = Depends(audit_filters),
    format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx",
    principal: Principal = requires("audit.read"),
) -> Response:
    problems = filters.problems()
    if problems:
        raise InvalidInput("；".join(problems), code=CoreError.BAD_DATE)
    rows = service.read_audit_log(engine_of(request), principal.actor(client_address(request)),
                                  **filters.query(), limit=EXPORT_LIMIT)
    events = [audit_labels.readable_event(e) for e in rows]
    sheet = cells.Sheet("审计日志", ["序号", "时间（北京时间）", "操作人", "角色", "操作", "操作代码", "对象",
                                     "对象编号", "来源", "详情", "哈希"],
                        [[e["id"], e["at_text"], e["actor"], e["role_name"], e["action_name"], e["action"],
                          e["object_name"], e["object_id"], e["source"],
                          "；".join(f"{k}：{v}" for k, v in e["detail_lines"]), e["hash"]] for e in events])
    body, media, headers = cells.download([sheet], format, f"审计日志-{date.today().isoformat()}")
    return Response(body, media_type=media, headers=headers)
