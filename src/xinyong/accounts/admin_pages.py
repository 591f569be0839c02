"""The administrator's account pages: list and create accounts, change role and department,
reset a password, unlock, end sessions, deactivate and reactivate. Every change is a service
verb, audited with the administrator as actor. A refused form is shown again with what was
typed and each reason beside its field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from xinyong.accounts import service
from xinyong.accounts.error_codes import AccountError
from xinyong.accounts.rules import Principal, role_table
from xinyong.core.audit import Actor
from xinyong.core.db import Db
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.web.security import actor, engine_of, requires
from xinyong.web.templating import render

router = APIRouter()
Username = Annotated[str, Path(min_length=1, max_length=64)]

# Which field of the form a refusal belongs beside (by its stable code).
FIELD_OF: dict[str, str] = {
    AccountError.USERNAME: "username", AccountError.ACCOUNT_EXISTS: "username",
    AccountError.WEAK_PASSWORD: "password", AccountError.DEPARTMENT: "department",
    AccountError.SUBJECT: "subject", CoreError.INVALID_USCC: "subject",
    AccountError.UNKNOWN_ROLE: "role", AccountError.ROLE_CREDENTIAL: "role"}


def _field(exc: InvalidInput) -> str:
    return FIELD_OF.get(exc.code, "form")


def _password_roles() -> list[tuple[str, str, bool]]:
    """(code, Chinese name, privileged) of every role an account may have."""
    return [(r.code, r.name, r.privileged) for r in role_table().roles.values()
            if "password" in r.credentials]


def _list(request: Request, *, form: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, issued: dict[str, str] | None = None,
          status_code: int = 200) -> HTMLResponse:
    with engine_of(request).connect() as conn:
        accounts = service.list_accounts(conn)
        locked = service.locked_usernames(conn)
    return render(request, "accounts/accounts.html", {
        "accounts": accounts, "locked": locked, "roles": _password_roles(),
        "form": form or {}, "errors": errors or {}, "issued": issued},
        status_code=status_code)


@router.get("/console/accounts", response_class=HTMLResponse)
def accounts_page(request: Request,
                  _: Principal = requires("account.manage")) -> HTMLResponse:
    return _list(request)


@router.post("/console/accounts", response_class=HTMLResponse)
def create_account_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=32)],
    display_name: Annotated[str, Form(max_length=100)] = "",
    department: Annotated[str, Form(max_length=100)] = "",
    subject: Annotated[str, Form(max_length=18)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    principal: Principal = requires("account.manage"),
) -> HTMLResponse:
    form = {"username": username, "role": role, "display_name": display_name,
            "department": department, "subject": subject}
    chosen = password or service.generated_password(role)
    try:
        view = service.create_account(engine_of(request), actor(request, principal), username, role,
                                      password=chosen, department=department,
                                      display_name=display_name, subject=subject)
    except InvalidInput as exc:
        return _list(request, form=form, errors={_field(exc): exc.message}, status_code=422)
    issued = {"username": view.username, "password": "" if password else chosen,
              "what": "已创建账号"}
    return _list(request, issued=issued, status_code=201)


def _detail(request: Request, username: str, *, form: dict[str, str] | None = None,
            errors: dict[str, str] | None = None, notice: str | None = None,
            issued: str | None = None, status_code: int = 200) -> HTMLResponse:
    with engine_of(request).connect() as conn:
        account = service.get_account(conn, username)
        lock = service.lock_of(conn, username)
        sessions = service.live_sessions(conn, username)
    return render(request, "accounts/account.html", {
        "account": account, "lock": lock if lock is not None and lock.locked() else None,
        "sessions": sessions, "roles": _password_roles(),
        "privileged": role_table().role(account.role).privileged,
        "form": form or {"role": account.role, "department": account.department or "",
                         "display_name": account.display_name},
        "errors": errors or {}, "notice": notice, "issued": issued}, status_code=status_code)


@router.get("/console/accounts/{username}", response_class=HTMLResponse)
def account_page(request: Request, username: Username,
                 _: Principal = requires("account.manage")) -> HTMLResponse:
    return _detail(request, username)


@router.post("/console/accounts/{username}", response_class=HTMLResponse)
def change_account_submit(
    request: Request, username: Username,
    role: Annotated[str, Form(max_length=32)],
    department: Annotated[str, Form(max_length=100)] = "",
    display_name: Annotated[str, Form(max_length=100)] = "",
    principal: Principal = requires("account.manage"),
) -> HTMLResponse:
    form = {"role": role, "department": department, "display_name": display_name}
    try:
        service.update_account(engine_of(request), actor(request, principal), username, role=role,
                               department=department, display_name=display_name)
    except InvalidInput as exc:
        return _detail(request, username, form=form, errors={_field(exc): exc.message},
                       status_code=422)
    return _detail(request, username, notice="已保存角色、部门和显示名")


@router.post("/console/accounts/{username}/password-reset", response_class=HTMLResponse)
def reset_password_submit(
    request: Request, username: Username,
    password: Annotated[str, Form(max_length=256)] = "",
    principal: Principal = requires("account.manage"),
) -> HTMLResponse:
    try:
        new = service.reset_password(engine_of(request), actor(request, principal), username,
                                     password or None)
    except InvalidInput as exc:
        return _detail(request, username, errors={"password": exc.message},
                       form=None, status_code=422)
    notice = ("密码已重置：动态验证码绑定已清除（下次登录时重新绑定），账号已解锁，"
              "原有会话已全部结束。")
    return _detail(request, username, notice=notice, issued=None if password else new)


Verb = Callable[[Db, Actor, str], object]


def _act(request: Request, username: str, principal: Principal, verb: Verb,
         done: str) -> Response:
    try:
        verb(engine_of(request), actor(request, principal), username)
    except InvalidInput as exc:
        return _detail(request, username, errors={"form": exc.message}, status_code=422)
    return _detail(request, username, notice=done)


@router.post("/console/accounts/{username}/unlock", response_class=HTMLResponse)
def unlock_submit(request: Request, username: Username,
                  principal: Principal = requires("account.manage")) -> Response:
    return _act(request, username, principal, service.unlock, "已解锁")


@router.post("/console/accounts/{username}/end-sessions", response_class=HTMLResponse)
def end_sessions_submit(request: Request, username: Username,
                        principal: Principal = requires("account.manage")) -> Response:
    return _act(request, username, principal, service.end_sessions, "已结束该账号的全部会话")


@router.post("/console/accounts/{username}/deactivation", response_class=HTMLResponse)
def deactivate_submit(request: Request, username: Username,
                      principal: Principal = requires("account.manage")) -> Response:
    if principal.name == username.strip().lower():
        return _detail(request, username, errors={"form": "不能停用自己正在使用的账号"},
                       status_code=422)
    return _act(request, username, principal, service.deactivate_account,
                "已停用：该账号不能再登录，原有会话已结束")


@router.post("/console/accounts/{username}/activation", response_class=HTMLResponse)
def activate_submit(request: Request, username: Username,
                    principal: Principal = requires("account.manage")) -> Response:
    return _act(request, username, principal, service.activate_account, "已重新启用")
