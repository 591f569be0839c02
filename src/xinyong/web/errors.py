"""How failures leave the service: JSON with a stable code and a Chinese and an English
message on the API, a page in Chinese elsewhere. Never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from xinyong.accounts.error_codes import AccountError
from xinyong.accounts.rules import AuthenticationFailed, Forbidden, SignInRefused
from xinyong.core.errors import (
    BadFile,
    Concealed,
    CoreError,
    ErrorCode,
    InvalidInput,
    NotFound,
    RuleDataError,
    XinyongError,
    collect,
)
from xinyong.web import capabilities, refusals
from xinyong.web.error_codes import WebError
from xinyong.web.events import WebEvent
from xinyong.web.uploads import TooLarge

log = logging.getLogger("xinyong.web")


class AuthenticationRequired(XinyongError):
    code = WebError.AUTHENTICATION_REQUIRED


class RateLimited(XinyongError):
    code = WebError.RATE_LIMITED

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CsrfFailed(XinyongError):
    code = WebError.CSRF_FAILED


STATUS: dict[type[XinyongError], int] = {
    AuthenticationRequired: 401,
    AuthenticationFailed: 401,
    CsrfFailed: 403,
    Forbidden: 403,
    NotFound: 404,
    BadFile: 422,
    InvalidInput: 422,
    RateLimited: 429,
    SignInRefused: 429,
    TooLarge: 413,
    RuleDataError: 500,
}


@lru_cache(maxsize=1)
def registry() -> dict[str, ErrorCode]:
    """Every code of the platform: core's and each capability's `error_codes` module's, found
    the way the app finds routers. Fails on a code two capabilities declare."""
    capabilities.modules("error_codes")
    return collect()


@lru_cache(maxsize=1)
def english_table() -> dict[str, str]:
    """English for each stable code, from every capability's `error_codes` (the Chinese
    message of a raise carries the particulars)."""
    return {code: member.en for code, member in registry().items()}


class ErrorBody(BaseModel):
    """Every error the API returns."""

    code: str
    message: str
    message_en: str
    details: list[dict[str, Any]] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody} for s in (400, 401, 403, 404, 413, 422, 429)
}


def status_of(exc: XinyongError) -> int:
    return status_of_class(type(exc))


def status_of_class(cls: type[XinyongError]) -> int:
    """The HTTP status the edges answer an error of this class with."""
    for base in cls.__mro__:
        if base in STATUS:
            return STATUS[base]
    return CoreError.ERROR.status


# A code no capability declares (a new one not yet given its messages) reads by its status.
FALLBACK_ENGLISH = {401: WebError.AUTHENTICATION_REQUIRED, 403: AccountError.FORBIDDEN,
                    404: CoreError.NOT_FOUND, 429: WebError.RATE_LIMITED}


def english(code: str, status: int) -> str:
    return english_table().get(code) or FALLBACK_ENGLISH.get(status, CoreError.INVALID_INPUT).en


def wants_json(request: Request) -> bool:
    if request.url.path.startswith(("/api/", "/healthz")):
        return True
    accept = request.headers.get("accept", "")
    return accept.startswith("application/json") or "application/x-ndjson" in accept


def error_response(request: Request, status: int, code: str, message: str,
                   details: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    if wants_json(request):
        body = ErrorBody(code=code, message=message, message_en=english(code, status),
                         details=details)
        return JSONResponse(body.model_dump(exclude_none=True), status, headers=headers)
    from xinyong.web.templating import render  # pages import errors; avoid the cycle

    return render(request, "error.html", {"status": status, "code": code, "message": message,
                                          "details": details or []},
                  status_code=status, headers=headers)


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc if p not in ("query", "body", "path", "header", "form"))


# What a page calls the parameters people can get wrong by editing an address or a form; any
# other is "输入的内容", never its code name.
FIELD_NAMES = {
    "page": "页码", "q": "查询内容", "case": "案件编号", "case_no": "案件编号",
    "record": "信用记录", "record_id": "信用记录", "entry": "名单条目", "kind": "类别",
    "department": "部门", "since": "起始日期", "until": "截止日期", "limit": "每页条数",
    "offset": "起始位置", "reason": "理由", "statement": "说明", "uscc": "统一社会信用代码",
    "tier": "严重程度", "format": "导出格式", "plan_id": "抽查计划", "batch_id": "批次",
    "proposal_id": "名单认定", "warning_id": "预警", "username": "用户名", "password": "密码",
    "name": "名称", "code": "代码", "n": "附件", "material_id": "材料", "matter": "事项",
}


def _field_zh(loc: tuple[Any, ...] | list[Any]) -> str:
    names = [str(p) for p in loc if p not in ("query", "body", "path", "header", "form")]
    return FIELD_NAMES.get(names[-1], "输入的内容") if names else "请求"


def problem_zh(error: Mapping[str, Any]) -> str:
    """One validation error of FastAPI (pydantic) in Chinese, e.g. "页码不能大于 1000"."""
    field = _field_zh(error.get("loc", ()))
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    limits = {
        "less_than_equal": f"不能大于 {ctx.get('le')}", "less_than": f"应小于 {ctx.get('lt')}",
        "greater_than_equal": f"不能小于 {ctx.get('ge')}",
        "greater_than": f"应大于 {ctx.get('gt')}",
        "string_too_long": f"不能超过 {ctx.get('max_length')} 个字符",
        "string_too_short": f"至少应有 {ctx.get('min_length')} 个字符",
        "too_long": "项数过多", "too_short": "项数不足",
    }
    if kind in limits:
        return field + limits[kind]
    if kind == "missing":
        return f"缺少{field}"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"{field}应为整数"
    if kind in ("float_parsing", "decimal_parsing", "float_type"):
        return f"{field}应为数字"
    if kind.startswith(("date", "datetime")):
        return f"{field}不是有效的日期，请按 2026-01-31 的格式填写"
    return f"{field}的格式不正确"


def install(app: FastAPI) -> None:
    @app.exception_handler(XinyongError)
    async def on_xinyong_error(request: Request, exc: XinyongError) -> Response:
        status = status_of(exc)
        if status >= 500:
            log.error("rule data error: %s", exc.message)
        if (isinstance(exc, AuthenticationRequired) and not wants_json(request)
                and request.method == "GET"):  # a page that needs an account: sign in, come back
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            door = "/enterprise/sign-in" if request.url.path.startswith("/enterprise") else "/console/sign-in"
            return RedirectResponse(f"{door}?next={quote(target, safe='/')}", 303)
        if status == 403:
            await refusals.record(request, exc.code)
        elif isinstance(exc, Concealed):
            await refusals.record(request, exc.reason)
        elif status == 413:
            await refusals.record(request, exc.code, action=WebEvent.UPLOAD_REFUSED)
        retry = exc.retry_after if isinstance(exc, RateLimited | SignInRefused) else None
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return error_response(request, status, exc.code, exc.message, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        if not wants_json(request):  # a person reads it: Chinese, no parameter names
            problems = list(dict.fromkeys(problem_zh(e) for e in exc.errors()))
            return error_response(request, 422, CoreError.INVALID_INPUT, "；".join(problems) + "。")
        details = [{"field": _field_name(e.get("loc", ())), "problem": e.get("msg", "")}
                   for e in exc.errors()]
        fields = "、".join(sorted({d["field"] for d in details if d["field"]})) or "请求"
        return error_response(request, 422, CoreError.INVALID_INPUT, f"请求参数不正确：{fields}", details)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code, message = {
            404: (CoreError.NOT_FOUND, "页面或资源不存在"),
            405: (WebError.METHOD_NOT_ALLOWED, "不支持此请求方法"),
        }.get(exc.status_code, (CoreError.INVALID_INPUT, str(exc.detail)))
        return error_response(request, exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, 500, WebError.INTERNAL_ERROR,
                              "内部错误，已记录，请稍后再试或联系管理员")
