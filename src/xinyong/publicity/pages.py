"""The portal's 双公示 listing page, filterable by kind, department and decision date."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal
from xinyong.core.dates import parse_date
from xinyong.publicity import service
from xinyong.web.ratelimit import limited
from xinyong.web.security import connection, requires
from xinyong.web.templating import render

router = APIRouter()
PAGE_SIZE = 30


def _day(value: str | None) -> date | None:
    """A filter date as typed; an unreadable one is ignored rather than failing the page."""
    if not value:
        return None
    try:
        return parse_date(value)
    except ValueError:
        return None


@router.get("/publicity", response_class=HTMLResponse, dependencies=[Depends(limited)])
def publicity_page(
    request: Request,
    kind: Annotated[str, Query(max_length=16)] = "penalty",
    department: Annotated[str, Query(max_length=100)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    conn: Connection = Depends(connection),
    _: Principal = requires("subject.read_public"),
) -> HTMLResponse:
    kind = kind if kind in service.LISTED_KINDS else "penalty"
    rows = service.listing(conn, date.today(), kind=kind, department=department or None,
                           since=_day(since), until=_day(until), limit=PAGE_SIZE + 1,
                           offset=(page - 1) * PAGE_SIZE)
    return render(request, "publicity/listing.html", {
        "rows": rows[:PAGE_SIZE], "has_more": len(rows) > PAGE_SIZE, "page": page,
        "kind": kind, "department": department, "since": since, "until": until,
        "departments": service.departments(conn), "today": date.today()})
