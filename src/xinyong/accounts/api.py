"""Session and audit routes: people sign in for a cookie session; auditors read the log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from xinyong.accounts import service
from xinyong.accounts.rules import Principal, role_table
from xinyong.core import audit
from xinyong.core.db import writing
from xinyong.core.settings import get_settings
from xinyong.web.errors import ErrorBody
from xinyong.web.pagination import Page, Paging, page_of
from xinyong.web.schema import UtcDateTime
from xinyong.web.security import (
    OPEN,
    SESSION_COOKIE,
    client_address,
    connection,
    csrf_token,
    engine_of,
    requires,
)

router = APIRouter(tags=["账号与审计"])


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    name: str
    kind: str
    role: str
    role_name: str
    department: str | None
    permissions: list[str]
    csrf_token: str | None = None


def me_view(principal: Principal, csrf: str | None) -> Me:
    return Me(name=principal.name, kind=principal.kind, role=principal.role,
              role_name=role_table().role(principal.role).name, department=principal.department,
              permissions=sorted(principal.permissions), csrf_token=csrf)


def sign_in(request: Request, response: Response, username: str, password: str) -> Me:
    """Check the password, open a session and set its cookie (HttpOnly, SameSite=Lax)."""
    source = client_address(request)
    settings = get_settings()
    with writing(engine_of(request)) as conn:
        principal = service.authenticate_password(conn, username, password, source=source)
        secret, session = service.start_session(conn, principal, source=source,
                                                hours=settings.session_hours)
    response.set_cookie(SESSION_COOKIE, secret, max_age=settings.session_hours * 3600, httponly=True,
                        samesite="lax", secure=settings.cookie_secure, path="/")
    request.state.principal = session.principal
    request.state.csrf_token = session.csrf_token
    return me_view(session.principal, session.csrf_token)


def sign_out(request: Request, response: Response, principal: Principal) -> None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and principal.kind == "account":
        with writing(engine_of(request)) as conn:
            service.end_session(conn, cookie, principal.actor(client_address(request)))
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.post("/session", response_model=Me,
             responses={400: {"model": ErrorBody, "description": "请求体不是可解析的 JSON"}},
             summary="账号登录（返回会话 Cookie 和 CSRF 令牌）")
def create_session(request: Request, response: Response, body: SignIn,
                   _: Principal = requires(OPEN)) -> Any:
    return sign_in(request, response, body.username, body.password)


@router.delete("/session", status_code=204, summary="退出登录")
def delete_session(request: Request, response: Response,
                   principal: Principal = requires(OPEN)) -> Response:
    sign_out(request, response, principal)
    response.status_code = 204
    return response


@router.get("/me", response_model=Me, summary="当前身份及其权限")
def me(request: Request, principal: Principal = requires(OPEN)) -> Any:
    return me_view(principal, csrf_token(request))


class AuditEventView(BaseModel):
    id: int
    at: UtcDateTime
    actor: str
    role: str | None
    action: str
    object_type: str
    object_id: str | None
    subject_id: int | None
    source: str | None
    detail: dict[str, Any]
    hash: str

class VerificationView(BaseModel):
    events: int
    ok: bool
    first_bad_id: int | None
    reason: str | None


Text = Annotated[str | None, Query(max_length=128)]


@router.get("/audit", response_model=Page[AuditEventView], summary="审计日志（审计人员）")
def audit_log(
    request: Request,
    page: Paging,
    action: Text = None, actor: Text = None, object_type: Text = None, object_id: Text = None,
    subject_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    since: datetime | None = None, until: datetime | None = None,
    principal: Principal = requires("audit.read"),
) -> Any:
    with writing(engine_of(request)) as conn:
        rows = service.read_audit_log(
            conn, principal.actor(client_address(request)), action=action, actor=actor,
            object_type=object_type, object_id=object_id, subject_id=subject_id, since=since,
            until=until, limit=page.limit + 1, offset=page.offset)
    return page_of(rows, page)


@router.get("/audit/verify", response_model=VerificationView, summary="校验审计日志的哈希链")
def audit_verify(conn: Connection = Depends(connection),
                 _: Principal = requires("audit.read")) -> Any:
    return audit.verify(conn)
