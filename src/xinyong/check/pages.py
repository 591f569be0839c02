"""The console's check page: one check by code or name for a matter type, and a batch check
from an Excel upload answered with an Excel file."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from xinyong.accounts.rules import Principal
from xinyong.check import feedback, rules, service
from xinyong.core.errors import InvalidInput
from xinyong.web.forms import errors_of, status_for
from xinyong.web.security import engine_of, requires
from xinyong.web.templating import render
from xinyong.web.uploads import TooLarge, discard, save_upload

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# Which field each refusal is about: the one check's query and matter, the batch's file.
FIELDS = {"invalid_uscc": "query", "empty_name": "query", "too_long": "query",
          "uscc_or_name": "query", "unknown_matter": "matter"}
UPLOAD_FIELDS = {"unknown_matter": "upload_matter", "file_type": "file", "bad_file": "file",
                 "empty_batch": "file", "missing_column": "file", "batch_too_large": "file",
                 "too_large": "file", "file_required": "file"}


def _page(request: Request, status_code: int = 200, **context: Any) -> HTMLResponse:
    return render(request, "check/checks.html", {
        "matters": service.matters_view(), "today": date.today(), "result": None,
        "query": "", "matter": "", "upload_matter": "", "errors": {}, **context},
        status_code=status_code)


@router.get("/console/checks", response_class=HTMLResponse)
def checks_page(request: Request, _: Principal = requires("check.run")) -> HTMLResponse:
    return _page(request)


@router.post("/console/checks", response_class=HTMLResponse)
def check_form(request: Request, query: Annotated[str, Form(max_length=400)],
               matter: Annotated[str, Form(max_length=64)],
               principal: Principal = requires("check.run")) -> HTMLResponse:
    text = query.strip()
    by_code = rules.looks_like_code(text)
    try:
        result = service.check(engine_of(request), service.caller_of(principal, "console"), matter,
                               uscc=text if by_code else None, name=None if by_code else text)
    except InvalidInput as exc:
        return _page(request, status_for(exc), query=query, matter=matter,
                     errors=errors_of(exc, FIELDS))
    return _page(request, result=result, query=text, matter=matter)


@router.post("/console/checks/upload")
async def check_upload(request: Request, matter: Annotated[str, Form(max_length=64)],
                       file: Annotated[UploadFile, File()],
                       principal: Principal = requires("check.run")) -> Response:
    try:
        if not (file.filename or "").lower().endswith(".xlsx"):
            raise InvalidInput("请上传 Excel（.xlsx）文件，第一行为“统一社会信用代码”或“名称”列",
                               code="file_type")
        path = await save_upload(file)
        try:
            subjects = service.read_subjects_xlsx(path)
        finally:
            discard(path)
        batch = service.check_batch(engine_of(request), service.caller_of(principal, "console"),
                                    matter, subjects)
    except (InvalidInput, TooLarge) as exc:
        return _page(request, status_for(exc), upload_matter=matter,
                     errors=errors_of(exc, UPLOAD_FIELDS))
    name = f"check-{batch['batch_id']}.xlsx"
    return Response(service.result_xlsx(batch), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/console/checks/stats", response_class=HTMLResponse)
def stats_page(request: Request, since: str = "", until: str = "", department: str = "",
               principal: Principal = requires("quality.read")) -> HTMLResponse:
    view = feedback.stats(engine_of(request), principal, since=_day(since, "起始日期"),
                          until=_day(until, "截止日期"), department=department[:200] or None)
    return render(request, "check/stats.html", {"view": view, "department": department[:200]})


def _day(value: str, label: str) -> date | None:
    text = value.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{label}应为日期 YYYY-MM-DD，而不是 {text[:40]}", code="bad_date") from None
