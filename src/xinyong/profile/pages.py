"""Portal pages that present subjects across capabilities: the home with search and the
platform's figures, search results (which fall back to the home), the public subject page;
the staff console's full subject history. The console's subject search is subjects' own."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal, can
from xinyong.core.errors import CoreError, InvalidInput, NotFound
from xinyong.evaluation import service as evaluation
from xinyong.profile import queries
from xinyong.subjects import search as search_service
from xinyong.web.ratelimit import limited
from xinyong.web.security import actor, connection, engine_of, requires
from xinyong.web.templating import render

router = APIRouter()
PAGE_SIZE = 20


# Seconds the home page's figures are reused: counting the records in publicity reads the
# whole publicity index, which a busy portal should not do on every visit.
FIGURES_SECONDS = 60.0


def _figures(request: Request, conn: Connection) -> dict[str, Any]:
    """Records collected, departments reporting and records in publicity today
    (`queries.portal_figures`); reused for FIGURES_SECONDS per server process."""
    today = date.today()
    cached = getattr(request.app.state, "portal_figures", None)
    if cached is not None and cached[0] == today and time.monotonic() - cached[1] < FIGURES_SECONDS:
        return dict(cached[2])
    figures = queries.portal_figures(conn, today)
    request.app.state.portal_figures = (today, time.monotonic(), figures)
    return figures


@router.get("/", response_class=HTMLResponse)
def home(request: Request, conn: Connection = Depends(connection),
         _: Principal = requires("subject.read_public")) -> HTMLResponse:
    return render(request, "profile/home.html", _home(request, conn))


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
        return render(request, "profile/home.html", {**_home(request, conn), "empty": True})
    found = search_service.search(conn, q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(request, "profile/search.html", {"q": q, "found": found, "page": page})


@router.get("/subjects/{uscc}", response_class=HTMLResponse, dependencies=[Depends(limited)])
def subject_page(request: Request, uscc: str, conn: Connection = Depends(connection),
                 principal: Principal = requires("subject.read_public")) -> HTMLResponse:
    view = queries.public_view(conn, uscc, date.today())
    return render(request, "profile/subject.html",
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


@router.get("/console/subjects/{uscc}", response_class=HTMLResponse)
def console_subject(request: Request, uscc: str,
                    principal: Principal = requires("subject.read_full")) -> HTMLResponse:
    if not uscc.strip():
        raise InvalidInput("请输入统一社会信用代码", code=CoreError.MISSING_FIELD)
    view = queries.read_history(engine_of(request), actor(request, principal), uscc)
    return render(request, "profile/history.html", view)
