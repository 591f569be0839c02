"""Repair pages: the online application (eligibility shown before the form), the public
follow page of a case, the printable 信用修复告知书, and the console's queue and case page."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal, can
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.lists import service as lists
from xinyong.repair import materials, notice, queries, rules, service
from xinyong.repair.api import (
    CaseNo,
    RecordId,
    apply_entry_from_form,
    apply_from_form,
    resubmit_from_form,
)
from xinyong.web.forms import errors_of, status_for
from xinyong.web.security import actor, connection, engine_of, requires
from xinyong.web.templating import render
from xinyong.web.uploads import TooLarge

router = APIRouter()
CASE_HINT = "案件编号应为 XF 加 8 位日期和 8 位字母或数字，如 XF20260105ABCDEFGH"
PAGE_SIZE = 30


@router.get("/repairs", response_class=HTMLResponse)
def entrance(request: Request, case: Annotated[str, Query(max_length=64)] = "",
             _: Principal = requires("subject.read_public")) -> Response:
    """The public entrance of 信用修复: what may be repaired, how to apply and with which
    materials, and the look-up of a case by its number."""
    case = case.strip().upper()
    if case and re.fullmatch(rules.CASE_NO_PATTERN, case):
        return RedirectResponse(f"/repairs/{case}", 303)
    repair_rules = queries.current_rules()
    return render(request, "repair/entrance.html", {
        "rules": repair_rules, "case": case,
        "case_error": CASE_HINT if case else None},
        status_code=422 if case else 200)


@router.get("/repairs/new", response_class=HTMLResponse)
def new_repair(request: Request, record: Annotated[int | None, Query(ge=1, le=2**62)] = None,
               entry: Annotated[str | None, Query(pattern=lists.ENTRY_REF_PATTERN)] = None,
               conn: Connection = Depends(connection),
               principal: Principal = requires("repair.apply")) -> Response:
    """Eligibility and why first, then the form (only when eligible): for a penalty record
    (`?record=ID`) or a list entry (`?entry=L12` / `?entry=R34`, 移出名单)."""
    if record is None and entry is None:  # nothing chosen: the entrance says how to choose
        return RedirectResponse("/repairs", 303)
    return _application(request, conn, principal, record, entry)


def _application(request: Request, conn: Connection, principal: Principal, record: int | None,
                 entry: str | None, *, errors: dict[str, str] | None = None, statement: str = "",
                 status_code: int = 200) -> HTMLResponse:
    """The application page; after a refusal, with the statement as typed and the reason
    beside the field it is about."""
    kept = {"errors": errors or {}, "statement": statement}
    day = date.today()
    repair_rules = queries.current_rules()
    accept = ",".join(
        {"pdf": ".pdf,application/pdf", "jpg": ".jpg,.jpeg,image/jpeg", "png": ".png,image/png"}[t]
        for t in repair_rules.file_types)
    if entry is not None:
        brief = queries.own_entry(conn, principal, entry)
        exit_rules = repair_rules.list_exit
        return render(request, "repair/new.html", {
            "record": None, "entry": queries.entry_view(brief),
            "eligibility": queries.entry_eligibility_of(conn, brief, day), "rules": repair_rules,
            "kind_name": exit_rules.name if exit_rules else repair_rules.kind_name,
            "materials": rules.list_exit_materials(repair_rules, brief["kind_code"]), "accept": accept,
            **kept}, status_code=status_code)
    if record is None:
        raise InvalidInput("请从主体页面选择要修复的信用记录或名单条目", code=CoreError.MISSING_FIELD)
    brief = queries.own_record(conn, principal, record)
    found = queries.eligibility_of(conn, brief, day)
    return render(request, "repair/new.html", {
        "record": queries.record_view(brief), "entry": None, "eligibility": found,
        "rules": repair_rules, "kind_name": repair_rules.kind_name,
        "materials": repair_rules.materials, "accept": accept, **kept}, status_code=status_code)


@router.post("/repairs", response_class=HTMLResponse)
async def submit_repair(request: Request, record: Annotated[int | None, Form(ge=1, le=2**62)] = None,
                        entry: Annotated[str | None, Form(pattern=lists.ENTRY_REF_PATTERN)] = None,
                        statement: Annotated[str, Form(max_length=5000)] = "",
                        principal: Principal = requires("repair.apply")) -> Response:
    if entry is None and record is None:
        raise InvalidInput("请从主体页面选择要修复的信用记录或名单条目", code=CoreError.MISSING_FIELD)
    try:
        if entry is not None:
            case = await apply_entry_from_form(request, principal, entry, statement)
        else:
            case = await apply_from_form(request, principal, record or 0, statement)
    except (InvalidInput, TooLarge) as exc:
        with engine_of(request).connect() as conn:
            return _application(request, conn, principal, record, entry, statement=statement,
                                errors=errors_of(exc, FIELDS), status_code=status_for(exc))
    return RedirectResponse(f"/repairs/{case['case_no']}?new=1", 303)


# Which field of the application each refusal is about (the rest are about the case).
FIELDS = {"statement_required": "statement", "materials_missing": "materials",
          "unknown_material": "materials", "file_type": "materials", "too_large": "materials"}


@router.get("/repairs/{case_no}", response_class=HTMLResponse)
def follow_repair(request: Request, case_no: CaseNo, conn: Connection = Depends(connection),
                  principal: Principal = requires("subject.read_public")) -> HTMLResponse:
    return _case_page(request, conn, principal, case_no)


def _case_page(request: Request, conn: Connection, principal: Principal, case_no: str, *,
               errors: dict[str, str] | None = None, statement: str = "",
               status_code: int = 200) -> HTMLResponse:
    """A case as its follower sees it; after a refused 补正, with the text kept and the reason."""
    view = queries.case_for(conn, principal, case_no, date.today())
    own = principal.subject is not None and principal.subject == view["subject"]["uscc"]
    repair_rules = queries.current_rules()
    needed = (rules.list_exit_materials(repair_rules, view["entry"]["kind"])
              if view["entry"] else repair_rules.materials)
    return render(request, "repair/case.html", {
        "case": view, "own": own and can(principal, "repair.apply"),
        "rules": repair_rules, "materials": needed,
        "new": request.query_params.get("new") == "1", "errors": errors or {},
        "statement": statement}, status_code=status_code)


@router.post("/repairs/{case_no}/materials", response_class=HTMLResponse)
async def resubmit_page(request: Request, case_no: CaseNo,
                        statement: Annotated[str, Form(max_length=5000)] = "",
                        principal: Principal = requires("repair.apply")) -> Response:
    try:
        await resubmit_from_form(request, principal, case_no, statement)
    except (InvalidInput, TooLarge) as exc:
        if exc.code == "illegal_transition":  # nothing to complete any more: show the case
            raise
        with engine_of(request).connect() as conn:
            return _case_page(request, conn, principal, case_no, statement=statement,
                              errors=errors_of(exc, FIELDS), status_code=status_for(exc))
    return RedirectResponse(f"/repairs/{case_no}", 303)


@router.get("/records/{record_id}/repair-notice", response_class=HTMLResponse)
def repair_notice(request: Request, record_id: RecordId, conn: Connection = Depends(connection),
                  principal: Principal = requires("subject.read_public")) -> HTMLResponse:
    return render(request, "repair/notice.html",
                  {"n": notice.notice_for(conn, principal, record_id, date.today())})


@router.get("/console/repairs", response_class=HTMLResponse)
def console_queue(request: Request, status: Annotated[str, Query(max_length=16)] = "",
                  overdue: bool = False, page: Annotated[int, Query(ge=1, le=10_000)] = 1,
                  conn: Connection = Depends(connection),
                  _: Principal = requires("repair.decide")) -> HTMLResponse:
    day = date.today()
    status = status if status in rules.STATUSES else ""
    rows = queries.queue(conn, day, status=status or None, overdue_only=overdue,
                         limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render(request, "repair/queue.html", {
        "rows": rows[:PAGE_SIZE], "has_more": len(rows) > PAGE_SIZE, "page": page, "status": status,
        "overdue": overdue, "statuses": rules.STATUSES, "counts": queries.counts(conn, day),
        "today": day})


@router.get("/console/repairs/{case_no}", response_class=HTMLResponse)
def console_case(request: Request, case_no: CaseNo, conn: Connection = Depends(connection),
                 _: Principal = requires("repair.decide")) -> HTMLResponse:
    day = date.today()
    view = queries.case_view(conn, case_no, day)
    # judged as approval would judge it: as if this case were not open
    eligibility: Any = None
    if view["open"] and view["entry"]:
        eligibility = queries.entry_eligibility(conn, view["entry"]["ref"], day, excluding=case_no)
    elif view["open"]:
        eligibility = queries.eligibility(conn, view["record"]["id"], day, excluding=case_no)
    actions = [a for (s, a) in rules.TRANSITIONS if s == view["status"] and a != "resubmit"]
    return render(request, "repair/console_case.html", {
        "case": view, "eligibility": eligibility, "actions": actions, "labels": rules.ACTIONS,
        "rules": queries.current_rules()})


@router.post("/console/repairs/{case_no}/decision", response_class=HTMLResponse)
def console_decide(request: Request, case_no: CaseNo,
                   action: Annotated[str, Form(max_length=16)],
                   reason: Annotated[str, Form(max_length=5000)] = "",
                   missing: Annotated[str, Form(max_length=5000)] = "",
                   principal: Principal = requires("repair.decide")) -> Response:
    service.decide(engine_of(request), actor(request, principal), case_no, action, reason,
                   [line for line in missing.splitlines() if line.strip()], date.today())
    return RedirectResponse(f"/console/repairs/{case_no}?done={action}", 303)


@router.get("/console/repairs/{case_no}/files/{material_id}")
def console_material(request: Request, case_no: CaseNo,
                     material_id: Annotated[int, Path(ge=1, le=2**62)],
                     principal: Principal = requires("repair.decide")) -> Response:
    """A filed material, for the reviewer; reading it is audited (it is not public data)."""
    path, filename = materials.read_material(engine_of(request), actor(request, principal), case_no,
                                             material_id)
    return FileResponse(path, filename=filename)
