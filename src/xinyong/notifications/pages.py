"""The enterprise's notifications on the site: the list (unread first marked) and marking
one or all read. Only accounts of the subject reach them (`service.check_own`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal
from xinyong.notifications import service
from xinyong.web.security import actor, connection, engine_of, requires
from xinyong.web.templating import render

router = APIRouter()
PAGE_SIZE = 30


@router.get("/enterprise/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, page: Annotated[int, Query(ge=1, le=10_000)] = 1,
                       marked: Annotated[int | None, Query(ge=0, le=100_000)] = None,
                       conn: Connection = Depends(connection),
                       principal: Principal = requires("subject.read_own")) -> HTMLResponse:
    rows = service.for_subject(conn, principal, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render(request, "notifications/list.html", {
        "rows": rows[:PAGE_SIZE], "has_more": len(rows) > PAGE_SIZE, "page": page,
        "unread": service.unread_count(conn, principal), "marked": marked})


@router.post("/enterprise/notifications/read")
def mark_read(request: Request, id: Annotated[int | None, Form(ge=1, le=2**62)] = None,
              all: Annotated[str, Form(max_length=1)] = "",
              principal: Principal = requires("subject.read_own")) -> Response:
    changed = service.mark_read(engine_of(request), actor(request, principal), principal,
                                None if all == "1" or id is None else [id])
    return RedirectResponse(f"/enterprise/notifications?marked={changed}", 303)
