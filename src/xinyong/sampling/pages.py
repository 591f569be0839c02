"""Random inspection pages: what is published (一公开, /sampling and /sampling/{id}) and the
department's console — its plans with the form for a new one (/console/sampling) and a plan
with its draw and the result entry (/console/sampling/{id})."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.sampling import rules, service
from xinyong.web.ratelimit import limited
from xinyong.web.security import actor, connection, engine_of, requires
from xinyong.web.templating import render

router = APIRouter()
PAGE_SIZE = 30
MANAGE = "sampling.manage"
PlanId = Annotated[int, Path(ge=1, le=2**62)]
Short = Annotated[str, Form(max_length=200)]


def _back(plan_id: int) -> RedirectResponse:
    return RedirectResponse(f"/console/sampling/{plan_id}", 303)


@router.get("/sampling", response_class=HTMLResponse, dependencies=[Depends(limited)])
def public_index(request: Request, page: Annotated[int, Query(ge=1, le=1000)] = 1,
                 conn: Connection = Depends(connection),
                 _: Principal = requires("subject.read_public")) -> HTMLResponse:
    rows = service.plans(conn, drawn_only=True, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render(request, "sampling/public_index.html", {
        "rows": rows[:PAGE_SIZE], "has_more": len(rows) > PAGE_SIZE, "page": page})


@router.get("/sampling/{plan_id}", response_class=HTMLResponse, dependencies=[Depends(limited)])
def public_plan(request: Request, plan_id: PlanId, conn: Connection = Depends(connection),
                _: Principal = requires("subject.read_public")) -> HTMLResponse:
    return render(request, "sampling/public_plan.html", {"p": service.plan_view(conn, plan_id, public=True)})


@router.get("/console/sampling", response_class=HTMLResponse)
def console_index(request: Request, page: Annotated[int, Query(ge=1, le=10_000)] = 1,
                  conn: Connection = Depends(connection),
                  principal: Principal = requires(MANAGE)) -> HTMLResponse:
    rows = service.plans(conn, principal=principal, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    config = service.current_config()
    return render(request, "sampling/plans.html", {
        "rows": rows[:PAGE_SIZE], "has_more": len(rows) > PAGE_SIZE, "page": page,
        "grades": service.grade_names(rules.DEFAULT_SCORECARD), "config": config,
        "kind_names": rules.KIND_NAMES})


@router.post("/console/sampling", response_class=HTMLResponse)
async def create_form(request: Request, principal: Principal = requires(MANAGE)) -> Response:
    form = await request.form()
    field = {k: v for k, v in form.items() if isinstance(v, str)}
    raw: dict[str, Any] = {
        "name": field.get("name", ""),
        "department": field.get("department"),
        "scorecard": field.get("scorecard") or None,
        "scope": {"industries": field.get("industries", ""), "districts": field.get("districts", ""),
                  "kinds": [v for v in form.getlist("kinds") if isinstance(v, str)]},
        "base_ratio": field.get("base_ratio", ""),
        "multipliers": {k[len("multiplier_"):]: v for k, v in field.items()
                        if k.startswith("multiplier_") and v.strip()},
        "ungraded_multiplier": field.get("ungraded_multiplier") or None,
        "inspectors": field.get("inspectors", ""),
        "inspectors_per_subject": field.get("inspectors_per_subject", ""),
        "seed": field.get("seed") or None,
    }
    if any(len(v) > 20_000 for v in field.values()):
        raise InvalidInput("表单内容过长", code=CoreError.TOO_LONG)
    return _back(service.new_plan(engine_of(request), actor(request, principal), principal, raw))


@router.get("/console/sampling/{plan_id}", response_class=HTMLResponse)
def console_plan(request: Request, plan_id: PlanId, principal: Principal = requires(MANAGE)) -> HTMLResponse:
    engine = engine_of(request)
    view = service.plan_view(engine, plan_id, principal=principal, reader=actor(request, principal))
    verification = service.verify(engine, plan_id) if view["status"] == "drawn" else None
    return render(request, "sampling/plan.html", {"p": view, "verification": verification,
                                                  "today": date.today()})


@router.post("/console/sampling/{plan_id}/draw")
def draw_form(request: Request, plan_id: PlanId, seed: Annotated[str, Form(max_length=128)] = "",
              principal: Principal = requires(MANAGE)) -> Response:
    service.draw_plan(engine_of(request), actor(request, principal), plan_id, principal=principal,
                      seed=seed.strip() or None)
    return _back(plan_id)


@router.post("/console/sampling/{plan_id}/cancellation")
def cancel_form(request: Request, plan_id: PlanId, reason: Annotated[str, Form(max_length=2000)],
                principal: Principal = requires(MANAGE)) -> Response:
    service.cancel(engine_of(request), actor(request, principal), plan_id, reason, principal=principal)
    return _back(plan_id)


@router.post("/console/sampling/{plan_id}/results")
def result_form(request: Request, plan_id: PlanId, subject: Annotated[str, Form(max_length=40)],
                outcome: Annotated[str, Form(max_length=32)],
                inspected_on: Annotated[str, Form(max_length=10)],
                findings: Annotated[str, Form(max_length=5000)] = "",
                inspectors: Short = "",
                principal: Principal = requires(MANAGE)) -> Response:
    try:
        day = date.fromisoformat(inspected_on.strip())
    except ValueError:
        raise InvalidInput(f"检查日期应为 YYYY-MM-DD，而不是 {inspected_on[:20]}",
                           code=CoreError.BAD_DATE) from None
    names = [n for n in re.split(r"[,，、;；\s]+", inspectors) if n]
    service.record_result(engine_of(request), actor(request, principal), plan_id, subject, outcome,
                          inspected_on=day, findings=findings or None, inspectors=names or None,
                          principal=principal)
    return _back(plan_id)
