"""Warning pages in the console: the list with filters, one warning with its facts and the close
form, and the scan button of the credit office."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xinyong.accounts.rules import Principal
from xinyong.warnings import rules, service
from xinyong.web.security import actor, engine_of, requires
from xinyong.web.templating import render

router = APIRouter()
PAGE_SIZE = 30
WarningId = Annotated[int, Path(ge=1, le=2**62)]
Filter = Annotated[str, Query(max_length=200)]


@router.get("/console/warnings", response_class=HTMLResponse)
def warnings_page(request: Request, status: Annotated[str, Query(max_length=8)] = "open",
                  rule: Filter = "", severity: Annotated[str, Query(max_length=8)] = "",
                  department: Filter = "", uscc: Annotated[str, Query(max_length=40)] = "",
                  page: Annotated[int, Query(ge=1, le=10_000)] = 1, scanned: Filter = "",
                  principal: Principal = requires("warning.read")) -> HTMLResponse:
    rows = service.warnings(engine_of(request), actor(request, principal), principal,  # audited
                            status=status or None, rule=rule or None, severity=severity or None,
                            department=department or None, uscc=uscc or None,
                            limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    own = service.scope_of(principal)  # the page names the department it shows
    return render(request, "warnings/list.html", {
        "rows": rows[:PAGE_SIZE], "has_more": len(rows) > PAGE_SIZE, "page": page, "own": own,
        "filters": {"status": status, "rule": rule, "severity": severity, "department": department,
                    "uscc": uscc},
        "rules": service.rules_view()["rules"], "severities": rules.SEVERITIES,
        "statuses": rules.STATUS_NAMES, "scanned": scanned, "today": date.today()})


@router.get("/console/warnings/{warning_id}", response_class=HTMLResponse)
def warning_page(request: Request, warning_id: WarningId,
                 principal: Principal = requires("warning.read")) -> HTMLResponse:
    view = service.warning(engine_of(request), actor(request, principal), principal, warning_id)  # audited
    return render(request, "warnings/warning.html", {
        "w": view, "actions": service.current_rules().actions,
        "may_close": view["status"] == rules.OPEN and "warning.handle" in principal.permissions})


@router.post("/console/warnings/{warning_id}/close")
def close_form(request: Request, warning_id: WarningId, action: Annotated[str, Form(max_length=32)] = "",
               note: Annotated[str, Form(max_length=2000)] = "",
               principal: Principal = requires("warning.handle")) -> Response:
    service.close(engine_of(request), actor(request, principal), principal, warning_id, action, note)
    return RedirectResponse(f"/console/warnings/{warning_id}", 303)


@router.post("/console/warnings/scan")
def scan_form(request: Request, principal: Principal = requires("evaluation.run")) -> Response:
    result = service.scan(engine_of(request), actor(request, principal))
    return RedirectResponse(f"/console/warnings?scanned={result['raised']}", 303)
