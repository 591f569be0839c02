"""Portal pages: home with search, search results, the public subject page; the staff
console's full subject history."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal, can
from xinyong.core.errors import InvalidInput, NotFound
from xinyong.evaluation import service as evaluation
from xinyong.ingest import service as ingest
from xinyong.publicity import service as publicity
from xinyong.subjects import search as search_service
from xinyong.subjects import service
from xinyong.subjects.api import read_history
from xinyong.web.ratelimit import limited
from xinyong.web.security import actor, connection, engine_of, requires
from xinyong.web.templating import render

router = APIRouter()
PAGE_SIZE = 20


# Seconds the home page's figures are reused: counting the records in publicity reads the
# whole publicity index, which a busy portal should not do on every visit.
FIGURES_SECONDS = 60.0


def _figures(request: Request, conn: Connection) -> dict[str, Any]:
    """Records collected, departments reporting and records in publicity today, each counted
    by the capability that owns it; reused for FIGURES_SECONDS per server process."""
    today = date.today()
    cached = getattr(request.app.state, "portal_figures", None)
    if cached is not None and cached[0] == today and time.monotonic() - cached[1] < FIGURES_SECONDS:
        return dict(cached[2])
    found = ingest.collected(conn)
    figures = {"records": found["records"], "departments": found["departments"],
               "in_publicity": publicity.count_in_publicity(conn, today), "as_of": today}
    request.app.state.portal_figures = (today, time.monotonic(), figures)
    return figures


@router.get("/", response_class=HTMLResponse)
def home(request: Request, conn: Connection = Depends(connection),
         _: Principal = requires("subject.read_public")) -> HTMLResponse:
    return render(request, "subjects/home.html", _home(request, conn))


def _home(request: Request, conn: Connection) -> dict[str, Any]:
    return {"figures": _figures(request, conn)}


@router.get("/search", response_class=HTMLResponse, dependencies=[Depends(limited)])
def search_page(
    request: Request,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=500)] = 1,
    conn: Connection = Depends(connection),
    _: Principal = requires("subject.read_public"),
) -> HTMLResponse:
    q = q.strip()
    if not q:
        return render(request, "subjects/home.html", {**_home(request, conn), "empty": True})
    found = search_service.search(conn, q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(request, "subjects/search.html", {"q": q, "found": found, "page": page})


@router.get("/subjects/{uscc}", response_class=HTMLResponse, dependencies=[Depends(limited)])
def subject_page(request: Request, uscc: str, conn: Connection = Depends(connection),
                 principal: Principal = requires("subject.read_public")) -> HTMLResponse:
    view = service.public_view(conn, uscc, date.today())
    return render(request, "subjects/subject.html",
                  {**view, "evaluation": _evaluation(request, uscc, principal)})


def _evaluation(request: Request, uscc: str, principal: Principal) -> dict[str, Any] | None:
    """The subject's grade where the asker may see it (evaluation.subject_view): the subject
    itself and supervisors with the reasons; others only if the scorecard discloses grades."""
    try:
        return evaluation.view_for(engine_of(request), uscc, supervisor=can(principal, "evaluation.read"),
                                   own=evaluation.is_own(principal.subject, uscc),
                                   reader=actor(request, principal))
    except NotFound:
        return None


@router.get("/console/subjects", response_class=HTMLResponse)
def console_subjects(request: Request, q: Annotated[str, Query(max_length=100)] = "",
                     conn: Connection = Depends(connection),
                     _: Principal = requires("subject.read_full")) -> HTMLResponse:
    found = None
    if q.strip():
        found = search_service.search(conn, q, limit=50, include_natural_persons=True)
    return render(request, "subjects/console_search.html", {"q": q, "found": found})


@router.get("/console/subjects/{uscc}", response_class=HTMLResponse)
def console_subject(request: Request, uscc: str,
                    principal: Principal = requires("subject.read_full")) -> HTMLResponse:
    if not uscc.strip():
        raise InvalidInput("请输入统一社会信用代码")
    view = read_history(request, uscc, principal)
    return render(request, "subjects/history.html", view)
