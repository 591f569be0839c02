"""Session, account and audit routes: people sign in for a cookie session (privileged roles
with an authenticator code), administrators manage accounts, auditors read the log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from xinyong.accounts import service
from xinyong.accounts.error_codes import AccountError
from xinyong.accounts.rules import Principal, role_table
from xinyong.core import audit
from xinyong.core.db import Db
from xinyong.core.errors import InvalidInput
from xinyong.core.settings import get_settings
from xinyong.web.errors import ErrorBody
from xinyong.web.pagination import Page, Paging, page_of
from xinyong.web.ratelimit import limited
from xinyong.web.schema import UtcDateTime
from xinyong.web.security import (
    OPEN,
    SESSION_COOKIE,
    actor,
    client_address,
    connection,
    cookie_secure,
    csrf_token,
    engine_of,
    requires,
)

router = APIRouter(tags=["账号与审计"])


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    code: str | None = Field(None, max_length=16,
                             description="动态验证码（系统管理员、审计人员、信用办工作人员必填）")


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


def set_session_cookie(request: Request, response: Response, secret: str) -> None:
    """HttpOnly, SameSite=Lax, and without an expiry: the cookie ends when the browser
    closes; the server ends the session itself when it idles or its hours are up."""
    response.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="lax",
                        secure=cookie_secure(request), path="/")


def opened(request: Request, session: service.SessionView) -> Me:
    request.state.principal = session.principal
    request.state.csrf_token = session.csrf_token
    return me_view(session.principal, session.csrf_token)


def sign_in(request: Request, response: Response, username: str, password: str,
            code: str | None = None, *, halfway: bool = False) -> Me | None:
    """Check the password (and the authenticator code of privileged roles), open a session
    and set its cookie. With `halfway` (the console's two-step form) an account that still
    needs its code gets a session that grants nothing until the code is given, and None is
    returned; otherwise it is refused, saying that the code is needed."""
    secret, session = service.sign_in(engine_of(request), username, password, code,
                                      source=client_address(request),
                                      hours=get_settings().session_hours, halfway=halfway)
    set_session_cookie(request, response, secret)
    return opened(request, session) if session.stage == service.ACTIVE else None


def sign_out(request: Request, response: Response, principal: Principal) -> None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and principal.kind == "account":
        service.end_session(engine_of(request), cookie, principal.actor(client_address(request)))
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.post("/session", response_model=Me, dependencies=[Depends(limited)],
             responses={400: {"model": ErrorBody, "description": "请求体不是可解析的 JSON"}},
             summary="账号登录（返回会话 Cookie 和 CSRF 令牌）")
def create_session(request: Request, response: Response, body: SignIn,
                   _: Principal = requires(OPEN)) -> Any:
    return sign_in(request, response, body.username, body.password, body.code)


@router.delete("/session", status_code=204, summary="退出登录")
def delete_session(request: Request, response: Response,
                   principal: Principal = requires(OPEN)) -> Response:
    sign_out(request, response, principal)
    response.status_code = 204
    return response


@router.get("/me", response_model=Me, summary="当前身份及其权限")
def me(request: Request, principal: Principal = requires(OPEN)) -> Any:
    return me_view(principal, csrf_token(request))


class OwnPassword(BaseModel):
    current: str = Field(min_length=1, max_length=256)
    new: str = Field(min_length=1, max_length=256)


@router.put("/me/password", status_code=204, summary="修改本人密码（其他会话随之结束）")
def change_own_password(request: Request, body: OwnPassword,
                        principal: Principal = requires("password.change_own")) -> Response:
    if principal.kind != "account":
        raise InvalidInput("接口令牌没有密码", code=AccountError.NOT_AN_ACCOUNT)
    service.change_own_password(engine_of(request), principal, body.current, body.new,
                                source=client_address(request),
                                keep_session=request.cookies.get(SESSION_COOKIE))
    return Response(status_code=204)


# Accounts (the administrator's) ------------------------------------------------------------

class AccountOut(BaseModel):
    username: str
    display_name: str
    role: str
    role_name: str
    department: str | None
    subject_uscc: str | None
    active: bool
    second_factor: bool
    locked_until: UtcDateTime | None
    created_at: UtcDateTime
    last_login_at: UtcDateTime | None
    password_changed_at: UtcDateTime | None


class AccountCreated(AccountOut):
    password: str | None = Field(None, description="生成的初始密码（只在此返回一次）")


class NewAccount(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    role: str = Field(min_length=1, max_length=32)
    department: str | None = Field(None, max_length=100)
    display_name: str | None = Field(None, max_length=100)
    subject: str | None = Field(None, max_length=18,
                                description="enterprise 角色所代表主体的统一社会信用代码")
    password: str | None = Field(None, max_length=256, description="不给时生成一个并返回")


class AccountChange(BaseModel):
    role: str | None = Field(None, max_length=32)
    department: str | None = Field(None, max_length=100, description="空字符串：不属于任何部门")
    display_name: str | None = Field(None, max_length=100)
    active: bool | None = None


class PasswordReset(BaseModel):
    password: str | None = Field(None, max_length=256, description="不给时生成一个并返回")


class PasswordIssued(BaseModel):
    username: str
    password: str | None = Field(description="生成的新密码（管理员自定的不回显）")


class SessionsEnded(BaseModel):
    username: str
    sessions_ended: int


def account_out(db: Db, view: service.AccountView) -> AccountOut:
    lock = service.lock_of(db, view.username)
    return AccountOut(
        username=view.username, display_name=view.display_name, role=view.role,
        role_name=role_table().roles[view.role].name if view.role in role_table().roles else view.role,
        department=view.department, subject_uscc=view.subject_uscc, active=view.active,
        second_factor=view.second_factor,
        locked_until=lock.locked_until if lock is not None and lock.locked() else None,
        created_at=view.created_at, last_login_at=view.last_login_at,
        password_changed_at=view.password_changed_at)


Username = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/accounts", response_model=Page[AccountOut], summary="账号列表（系统管理员）")
def list_accounts(page: Paging, conn: Connection = Depends(connection),
                  _: Principal = requires("account.manage")) -> Any:
    views = service.list_accounts(conn)[page.offset:page.offset + page.limit + 1]
    return page_of([account_out(conn, v) for v in views], page)


@router.post("/accounts", response_model=AccountCreated, status_code=201, summary="创建账号")
def create_account(request: Request, body: NewAccount,
                   principal: Principal = requires("account.manage")) -> Any:
    password = body.password or service.generated_password(body.role)
    engine = engine_of(request)
    view = service.create_account(engine, actor(request, principal), body.username, body.role,
                                  password=password, department=body.department,
                                  display_name=body.display_name, subject=body.subject)
    out = account_out(engine, view)
    return AccountCreated(**out.model_dump(), password=None if body.password else password)


@router.get("/accounts/{username}", response_model=AccountOut, summary="账号详情")
def get_account(username: Username, conn: Connection = Depends(connection),
                _: Principal = requires("account.manage")) -> Any:
    return account_out(conn, service.get_account(conn, username))


@router.patch("/accounts/{username}", response_model=AccountOut,
              summary="修改账号：角色、部门、显示名，停用或启用")
def change_account(request: Request, username: Username, body: AccountChange,
                   principal: Principal = requires("account.manage")) -> Any:
    engine = engine_of(request)
    view = service.change_account(engine, actor(request, principal), username, role=body.role,
                                  department=body.department, display_name=body.display_name,
                                  active=body.active)
    return account_out(engine, view)


@router.post("/accounts/{username}/password-reset", response_model=PasswordIssued,
             summary="重置密码（同时清除动态验证码绑定、解锁并结束全部会话）")
def reset_password(request: Request, username: Username, body: PasswordReset,
                   principal: Principal = requires("account.manage")) -> Any:
    password = service.reset_password(engine_of(request), actor(request, principal), username,
                                      body.password)
    return PasswordIssued(username=username.strip().lower(),
                          password=None if body.password else password)


@router.delete("/accounts/{username}/lock", response_model=AccountOut, summary="解锁账号")
def unlock_account(request: Request, username: Username,
                   principal: Principal = requires("account.manage")) -> Any:
    engine = engine_of(request)
    service.unlock(engine, actor(request, principal), username)
    with engine.connect() as conn:
        return account_out(conn, service.get_account(conn, username))


@router.delete("/accounts/{username}/sessions", response_model=SessionsEnded,
               summary="结束账号的全部会话")
def end_account_sessions(request: Request, username: Username,
                         principal: Principal = requires("account.manage")) -> Any:
    ended = service.end_sessions(engine_of(request), actor(request, principal), username)
    return SessionsEnded(username=username.strip().lower(), sessions_ended=ended)


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
    rows = service.read_audit_log(
        engine_of(request), principal.actor(client_address(request)), action=action, actor=actor,
        object_type=object_type, object_id=object_id, subject_id=subject_id, since=since,
        until=until, limit=page.limit + 1, offset=page.offset)
    return page_of(rows, page)


@router.get("/audit/verify", response_model=VerificationView, summary="校验审计日志的哈希链")
def audit_verify(conn: Connection = Depends(connection),
                 _: Principal = requires("audit.read")) -> Any:
    return audit.verify(conn)
