"""The staff console's subject search. The portal's home, search results and subject page and
the console's subject history present subjects across capabilities: they are the profile's
(`xinyong.profile.pages`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal
from xinyong.subjects import search as search_service
from xinyong.web.security import connection, requires
from xinyong.web.templating import render

router = APIRouter()


@router.get("/console/subjects", response_class=HTMLResponse)
def console_subjects(request: Request, q: Annotated[str, Query(max_length=100)] = "",
                     conn: Connection = Depends(connection),
                     _: Principal = requires("subject.read_full")) -> HTMLResponse:
    found = None
    if q.strip():
        found = search_service.search(conn, q, limit=50, include_natural_persons=True)
    return render(request, "subjects/console_search.html", {"q": q, "found": found})
