"""The console home (`GET /console`): the signed-in person's to-do counts, with links."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xinyong.accounts import audit_labels as labels
from xinyong.accounts.rules import Principal, can
from xinyong.core.dates import beijing_text
from xinyong.core.db import utcnow as now
from xinyong.web.security import OPEN, client_address, engine_of, requires
from xinyong.web.templating import render
from xinyong.workspaces import service

router = APIRouter()


@router.get("/console", response_class=HTMLResponse)
def home(request: Request, principal: Principal = requires(OPEN)) -> Response:
    if principal.kind == "anonymous":
        return RedirectResponse("/console/sign-in?next=/console", 303)
    if can(principal, "subject.read_own"):  # an enterprise's workspace is its own home
        return RedirectResponse("/enterprise", 303)
    view = service.home(engine_of(request), principal, client_address(request))
    events = [labels.readable_event(e) for e in view.security_events or []]
    return render(request, "workspaces/home.html", {
        "home": view, "today": view.today, "events": events, "verified_at": beijing_text(now())})
