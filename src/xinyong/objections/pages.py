"""Objection pages: the subject's online form and the public page that follows a case by its
number; the console's queue and decision page for the source department."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection
from starlette.datastructures import UploadFile as StarletteUpload

from xinyong.accounts.rules import Principal, role_table
from xinyong.core.errors import InvalidInput
from xinyong.objections import rules, service
from xinyong.objections.api import CaseNo, file_upload
from xinyong.web.forms import errors_of, status_for
from xinyong.web.security import actor, connection, engine_of, requires
from xinyong.web.templating import render
from xinyong.web.uploads import TooLarge

router = APIRouter()
CASE_HINT = "案件编号应为 YY 加 8 位日期和 8 位字母或数字，如 YY20260105ABCDEFGH"
PAGE_SIZE = 30
FIELD_PREFIX = "field."


@router.get("/objections", response_class=HTMLResponse)
def follow_form(request: Request, case: Annotated[str, Query(max_length=32)] = "",
                _: Principal = requires("subject.read_public")) -> Response:
    case = case.strip().upper()
    if case and rules.CASE_NO.fullmatch(case):
        return RedirectResponse(f"/objections/{case}", 303)
    return render(request, "objections/follow.html", {
        "rules": service.current_rules(), "case": case,
        "case_error": CASE_HINT if case else None},
        status_code=422 if case else 200)


@router.get("/objections/new", response_class=HTMLResponse)
def new_form(request: Request, record: Annotated[int, Query(ge=1, le=2**62)],
             conn: Connection = Depends(connection),
             principal: Principal = requires("objection.file")) -> HTMLResponse:
    return render(request, "objections/new.html", service.filing_view(conn, principal, record))


# Which field of the form each refusal of filing is about (the rest are about the case).
FIELDS = {"reason_invalid": "reason", "too_many_files": "attachments", "file_type": "attachments",
          "too_large": "attachments"}


@router.post("/objections/new", response_class=HTMLResponse)
async def file_form(
    request: Request,
    record: Annotated[int, Form(ge=1, le=2**62)],
    reason: Annotated[str, Form(max_length=20000)] = "",
    principal: Principal = requires("objection.file"),
) -> Response:
    # Read from the form itself: a browser sends an empty file input as a part without a
    # file name, which is a plain (empty) field, not an upload.
    form = await request.form()
    chosen = [f for f in form.getlist("attachments") if isinstance(f, StarletteUpload)]
    try:
        case = await file_upload(request, principal, record, reason, chosen)
    except (InvalidInput, TooLarge) as exc:
        with engine_of(request).connect() as conn:
            view = service.filing_view(conn, principal, record)
        return render(request, "objections/new.html", {
            **view, "errors": errors_of(exc, FIELDS), "reason": reason,
            "had_files": bool([f for f in chosen if f.filename])}, status_code=status_for(exc))
    return RedirectResponse(f"/objections/{case['case_no']}?new=1", 303)


@router.get("/objections/{case_no}", response_class=HTMLResponse)
def case_page(request: Request, case_no: CaseNo, conn: Connection = Depends(connection),
              _: Principal = requires("subject.read_public")) -> HTMLResponse:
    view = service.case_view(conn, case_no)
    return render(request, "objections/case.html",
                  {"case": view, "new": request.query_params.get("new") == "1"})


@router.get("/console/objections", response_class=HTMLResponse)
def queue_page(request: Request, page: Annotated[int, Query(ge=1, le=10_000)] = 1,
               status: Annotated[str, Query(max_length=24)] = "under_objection",
               overdue: Annotated[bool | None, Query()] = None,
               conn: Connection = Depends(connection),
               principal: Principal = requires("objection.decide")) -> HTMLResponse:
    own = rules.decider_department(principal, role_table().role(principal.role))
    rows = service.queue(conn, principal, status=status or None, overdue=overdue,
                         limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render(request, "objections/queue.html", {
        "cases": rows[:PAGE_SIZE], "has_more": len(rows) > PAGE_SIZE, "page": page,
        "status": status, "overdue": overdue, "statuses": rules.STATUSES,
        "department": own, "counts": service.counts(conn, own)})


@router.get("/console/objections/{case_no}", response_class=HTMLResponse)
def decision_page(request: Request, case_no: CaseNo, conn: Connection = Depends(connection),
                  principal: Principal = requires("objection.decide")) -> HTMLResponse:
    view = service.decider_case(conn, principal, case_no)
    return render(request, "objections/decide.html", {
        "case": view, "action_labels": rules.ACTIONS, "reason_required": rules.REASON_REQUIRED,
        "done": request.query_params.get("done") == "1"})


def _changes(form: Any, fields: list[dict[str, Any]]) -> dict[str, str | None]:
    """The fields the decider changed on the form (unchanged inputs are not corrections)."""
    current = {f["name"]: f["value"] or "" for f in fields if f["editable"]}
    out: dict[str, str | None] = {}
    for key, value in form.multi_items():
        name = key[len(FIELD_PREFIX):] if key.startswith(FIELD_PREFIX) else ""
        if name in current and isinstance(value, str) and value.strip() != current[name]:
            out[name] = value.strip()
    return out


@router.post("/console/objections/{case_no}", response_class=HTMLResponse)
async def decide_form(request: Request, case_no: CaseNo,
                      action: Annotated[str, Form(max_length=16)],
                      reason: Annotated[str, Form(max_length=rules.DECISION_REASON_MAX)] = "",
                      principal: Principal = requires("objection.decide")) -> Response:
    form = await request.form()
    engine = engine_of(request)

    def run() -> None:
        changes = None
        if action == "correct":
            with engine.connect() as conn:
                fields = service.decider_case(conn, principal, case_no)["fields"]
            changes = _changes(form, fields)
        service.decide(engine, actor(request, principal), principal, case_no, action, reason,
                       changes, today=date.today())

    await run_in_threadpool(run)
    return RedirectResponse(f"/console/objections/{case_no}?done=1", 303)


@router.get("/console/objections/{case_no}/attachments/{n}")
def attachment(case_no: CaseNo, n: Annotated[int, Path(ge=1, le=100)],
               conn: Connection = Depends(connection),
               principal: Principal = requires("objection.decide")) -> FileResponse:
    path, name, media = service.attachment_path(conn, principal, case_no, n)
    return FileResponse(path, media_type=media, filename=name)
