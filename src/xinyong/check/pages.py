"""The console's check pages: one check by code or name for a matter type (candidates of a
name link to their subject), a batch check from an Excel upload answered with an Excel file,
one check as a printable 核查报告, and 执行反馈 on its measures through a form."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from xinyong.accounts.rules import Principal
from xinyong.check import feedback, rules, service
from xinyong.core.dates import beijing_text
from xinyong.core.db import utcnow
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.web.forms import errors_of, status_for
from xinyong.web.security import client_address, engine_of, requires
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
                               code=CoreError.FILE_TYPE)
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
        raise InvalidInput(f"{label}应为日期 YYYY-MM-DD，而不是 {text[:40]}",
                           code=CoreError.BAD_DATE) from None


CheckId = Annotated[str, Path(pattern=r"^HC[0-9a-f]{24}$")]


def _report(request: Request, principal: Principal, check_id: str, *, typed: dict[str, Any] | None = None,
            error: str | None = None, sent: bool = False) -> HTMLResponse:
    view = feedback.report_view(engine_of(request), principal, check_id)
    return render(request, "check/report.html", {
        "r": view, "typed": typed or {}, "error": error, "sent": sent,
        "checked_at": beijing_text(_at(view["at"])), "printed_at": beijing_text(utcnow())},
        status_code=422 if error else 200)


def _at(iso: str | None) -> datetime | None:
    return None if not iso else datetime.fromisoformat(iso.rstrip("Z"))


@router.get("/console/checks/{check_id}", response_class=HTMLResponse)
def report_page(request: Request, check_id: CheckId, sent: bool = False,
                principal: Principal = requires("check.run")) -> HTMLResponse:
    """The check as a printable 核查报告, with the form to give feedback on its measures."""
    return _report(request, principal, check_id, sent=sent)


@router.post("/console/checks/{check_id}/feedback", response_class=HTMLResponse)
async def feedback_form(request: Request, check_id: CheckId,
                        principal: Principal = requires("check.run")) -> Response:
    """执行反馈 from the console: per measure an outcome (left empty: not reported now), the
    reason when not applied and what came of it; recorded and audited by `feedback.report`."""
    form = await request.form()
    typed = {str(k): str(v)[:feedback.TEXT_LIMIT + 1] for k, v in form.items()
             if isinstance(v, str) and k != "csrf_token"}
    measures = [k.removeprefix("outcome:") for k in typed if k.startswith("outcome:")]
    items = [{"measure": m, "outcome": typed[f"outcome:{m}"], "reason": typed.get(f"reason:{m}") or None,
              "result": typed.get(f"result:{m}") or None} for m in measures if typed.get(f"outcome:{m}")]
    problem = _form_problem(request, principal, check_id, items)
    if problem:
        return _report(request, principal, check_id, typed=typed, error=problem)
    try:
        await run_in_threadpool(feedback.report, engine_of(request), principal, check_id, items,
                                source=client_address(request))
    except InvalidInput as exc:
        return _report(request, principal, check_id, typed=typed, error=exc.message)
    return RedirectResponse(f"/console/checks/{check_id}?sent=true", 303)


def _form_problem(request: Request, principal: Principal, check_id: str,
                  items: list[dict[str, Any]]) -> str | None:
    """The form's own refusals, in the words of the form (the service's name API fields)."""
    if not items:
        return "请至少为一项措施选择执行情况"
    measures = feedback.summary(engine_of(request), principal, check_id)["measures"]
    names = {m["code"]: m["name"] for m in measures}
    for item in items:
        if item["outcome"] == "not_applied" and not (item["reason"] or "").strip():
            return f"措施“{names.get(item['measure'], item['measure'])}”未应用，请填写原因"
    return None
