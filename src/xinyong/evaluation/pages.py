"""The console's evaluation pages: the distribution per grade (overall, by industry and by
district) with the recent runs and a run form, and one subject's result with its indicators,
points, reasons and grade history."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xinyong.accounts.rules import Principal
from xinyong.core.errors import InvalidInput
from xinyong.evaluation import rules, service
from xinyong.web.security import actor, engine_of, requires
from xinyong.web.templating import render

router = APIRouter()


@router.get("/console/evaluations", response_class=HTMLResponse)
def distribution_page(request: Request, scorecard: Annotated[str, Query(max_length=64)] = "public",
                      uscc: Annotated[str, Query(max_length=40)] = "",
                      _: Principal = requires("evaluation.read")) -> Response:
    if uscc.strip():
        return RedirectResponse(f"/console/evaluations/subjects/{uscc.strip().upper()}?scorecard={scorecard}",
                                303)
    with engine_of(request).connect() as conn:
        views = {by: service.distribution(conn, scorecard, by) for by in ("industry", "district")}
        runs = service.runs(conn, scorecard, limit=10)
    return render(request, "evaluation/distribution.html", {
        "view": views["industry"], "districts": views["district"]["groups"], "runs": runs,
        "scorecards": [(code, rules.cached(code).name) for code in rules.available()],
        "scorecard": scorecard, "today": date.today()})


@router.post("/console/evaluations")
def run_form(request: Request, scorecard: Annotated[str, Form(max_length=64)] = "public",
             as_of: Annotated[str, Form(max_length=10)] = "", full: Annotated[str, Form(max_length=8)] = "",
             principal: Principal = requires("evaluation.run")) -> RedirectResponse:
    day = None
    if as_of.strip():
        try:
            day = date.fromisoformat(as_of.strip())
        except ValueError:
            raise InvalidInput(f"评价日应为日期 YYYY-MM-DD，而不是 {as_of[:10]}", code="bad_date") from None
    service.evaluate(engine_of(request), actor(request, principal), scorecard=scorecard, as_of=day,
                     full=bool(full))
    return RedirectResponse(f"/console/evaluations?scorecard={scorecard}", 303)


@router.get("/console/evaluations/subjects/{uscc}", response_class=HTMLResponse)
def subject_page(request: Request, uscc: str, scorecard: Annotated[str, Query(max_length=64)] = "public",
                 principal: Principal = requires("evaluation.read")) -> HTMLResponse:
    view = service.view_for(engine_of(request), uscc[:40], supervisor=True, own=False,
                            reader=actor(request, principal), scorecard=scorecard)
    card = rules.cached(scorecard)
    return render(request, "evaluation/subject.html", {"e": view, "card": card})
