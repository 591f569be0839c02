"""List pages: each public list (/lists, /lists/{kind}); the credit office's proposal queue,
proposal page with its forms and the printable notice (告知书); a subject's own notices."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal
from xinyong.core.errors import InvalidInput
from xinyong.lists import service
from xinyong.web.forms import errors_of, status_for
from xinyong.web.ratelimit import limited
from xinyong.web.security import OPEN, actor, connection, engine_of, requires
from xinyong.web.templating import render

router = APIRouter()
PAGE_SIZE = 30
ProposalId = Annotated[int, Path(ge=1, le=2**62)]
EntryId = Annotated[int, Path(ge=1, le=2**62)]
Text = Annotated[str, Form(max_length=5000)]


def _back(proposal_id: int) -> RedirectResponse:
    return RedirectResponse(f"/console/list-proposals/{proposal_id}", 303)


@router.get("/lists", response_class=HTMLResponse, dependencies=[Depends(limited)])
def lists_page(request: Request, conn: Connection = Depends(connection),
               _: Principal = requires("subject.read_public")) -> HTMLResponse:
    return render(request, "lists/index.html", {
        "kinds": service.kinds_view(conn, date.today(), public_only=True)["kinds"],
        "today": date.today()})


@router.get("/lists/{kind}", response_class=HTMLResponse, dependencies=[Depends(limited)])
def list_page(request: Request, kind: Annotated[str, Path(max_length=64)],
              page: Annotated[int, Query(ge=1, le=1000)] = 1,
              conn: Connection = Depends(connection),
              _: Principal = requires("subject.read_public")) -> HTMLResponse:
    found = service.public_kind(kind)
    rows = service.kind_entries(conn, found, date.today(), limit=PAGE_SIZE + 1,
                                offset=(page - 1) * PAGE_SIZE)
    return render(request, "lists/list.html", {
        "kind": service.kind_view(found), "rows": rows[:PAGE_SIZE],
        "has_more": len(rows) > PAGE_SIZE, "page": page, "today": date.today()})


@router.get("/console/lists", response_class=HTMLResponse)
def queue_page(request: Request, page: Annotated[int, Query(ge=1, le=10_000)] = 1,
               conn: Connection = Depends(connection),
               _: Principal = requires("list.manage")) -> HTMLResponse:
    today = date.today()
    rows = service.proposals(conn, today, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render(request, "lists/queue.html", {
        "rows": rows[:PAGE_SIZE], "has_more": len(rows) > PAGE_SIZE, "page": page,
        "today": today, "kinds": service.kinds_view()})


@router.post("/console/lists", response_class=HTMLResponse)
def propose_form(request: Request, uscc: Annotated[str, Form(max_length=40)],
                 kind: Annotated[str, Form(max_length=64)], facts: Text,
                 basis: Annotated[str, Form(max_length=2000)],
                 record_id: Annotated[str, Form(max_length=20)] = "",
                 principal: Principal = requires("list.manage")) -> Response:
    found = service.usable_kind(kind)
    record = int(record_id) if record_id.strip().isdigit() else None
    pid = service.propose(engine_of(request), actor(request, principal), found, uscc, facts, basis,
                          date.today(), record_id=record)
    return _back(pid)


@router.get("/console/list-proposals/{proposal_id}", response_class=HTMLResponse)
def proposal_page(request: Request, proposal_id: ProposalId, conn: Connection = Depends(connection),
                  _: Principal = requires("list.manage")) -> HTMLResponse:
    view = service.proposal_view(conn, proposal_id, date.today())
    return render(request, "lists/proposal.html", {"p": view, "today": date.today()})


def _refused(request: Request, proposal_id: int, form: str, exc: InvalidInput,
             values: dict[str, str]) -> HTMLResponse:
    """The proposal page again after one of its forms was refused: that form keeps what was
    typed, with the reason beside the field (or above the form when no one field caused it)."""
    view = service.proposal_view(engine_of(request), proposal_id, date.today())
    return render(request, "lists/proposal.html", {
        "p": view, "today": date.today(), "form_errors": {form: errors_of(exc)},
        "values": {form: values}}, status_code=status_for(exc))


@router.get("/console/list-proposals/{proposal_id}/notice", response_class=HTMLResponse)
def notice_page(request: Request, proposal_id: ProposalId, conn: Connection = Depends(connection),
                _: Principal = requires("list.manage")) -> HTMLResponse:
    view = service.proposal_view(conn, proposal_id, date.today())
    kind = service.usable_kind(view["kind"])
    return render(request, "lists/notice.html", {"p": view, "kind": service.kind_view(kind),
                                                 "today": date.today()})


@router.post("/console/list-proposals/{proposal_id}/notice")
def notice_form(request: Request, proposal_id: ProposalId, content: Text,
                principal: Principal = requires("list.manage")) -> Response:
    try:
        service.notify(engine_of(request), actor(request, principal), proposal_id, date.today(),
                       content)
    except InvalidInput as exc:
        return _refused(request, proposal_id, "notice", exc, {"content": content})
    return _back(proposal_id)


@router.post("/console/list-proposals/{proposal_id}/objection")
def objection_form(request: Request, proposal_id: ProposalId, note: Text,
                   principal: Principal = requires(OPEN)) -> Response:
    # Who may object depends on the proposal's subject: the verb checks it.
    if principal.kind == "anonymous":
        return RedirectResponse("/console/sign-in?next=/console/list-notices", 303)
    service.object_to(engine_of(request), actor(request, principal), principal, proposal_id,
                      date.today(), note)
    if principal.subject:
        return RedirectResponse("/console/list-notices?sent=1", 303)
    return _back(proposal_id)


@router.post("/console/list-proposals/{proposal_id}/decision")
def decision_form(request: Request, proposal_id: ProposalId,
                  doc_no: Annotated[str, Form(max_length=128)] = "", reply: Text = "",
                  principal: Principal = requires("list.manage")) -> Response:
    try:
        service.decide(engine_of(request), actor(request, principal), proposal_id, date.today(),
                       doc_no, reply or None)
    except InvalidInput as exc:
        return _refused(request, proposal_id, "decision", exc, {"doc_no": doc_no, "reply": reply})
    return _back(proposal_id)


@router.post("/console/list-proposals/{proposal_id}/withdrawal")
def withdrawal_form(request: Request, proposal_id: ProposalId,
                    reason: Annotated[str, Form(max_length=2000)],
                    principal: Principal = requires("list.manage")) -> Response:
    try:
        service.withdraw(engine_of(request), actor(request, principal), proposal_id, date.today(),
                         reason)
    except InvalidInput as exc:
        return _refused(request, proposal_id, "withdrawal", exc, {"reason": reason})
    return _back(proposal_id)


@router.post("/console/list-entries/{entry_id}/removal")
def removal_form(request: Request, entry_id: EntryId,
                 reason: Annotated[str, Form(max_length=2000)],
                 doc_no: Annotated[str, Form(max_length=128)],
                 proposal: Annotated[int, Form(ge=1, le=2**62)],
                 principal: Principal = requires("list.manage")) -> Response:
    service.remove(engine_of(request), actor(request, principal), entry_id, date.today(), reason,
                   doc_no)
    return _back(proposal)


@router.get("/console/list-notices", response_class=HTMLResponse)
def my_notices(request: Request, conn: Connection = Depends(connection),
               principal: Principal = requires("objection.file")) -> HTMLResponse:
    rows = service.proposals(conn, date.today(), uscc=principal.subject or "", limit=100) \
        if principal.subject else []
    rows = [r for r in rows if r["notified_on"]]
    return render(request, "lists/notices.html", {
        "rows": rows, "today": date.today(), "sent": request.query_params.get("sent") == "1"})
