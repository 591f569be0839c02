"""List routes: the kinds and each public list's active entries; the admission workflow for the
credit office (proposal, notice, decision, withdrawal, removal) and the subject's objection."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal, can
from xinyong.lists import service
from xinyong.web.errors import AuthenticationRequired
from xinyong.web.pagination import Page, Paging, page_of
from xinyong.web.ratelimit import limited
from xinyong.web.security import OPEN, actor, connection, engine_of, requires

router = APIRouter(tags=["名单"])

ProposalId = Annotated[int, Path(ge=1, le=2**62, description="名单认定申请编号")]
EntryId = Annotated[int, Path(ge=1, le=2**62, description="名单条目编号")]
KindCode = Annotated[str, Path(min_length=1, max_length=64, description="名单种类代码或名称")]


class Basis(BaseModel):
    document: str
    articles: str


class Kind(BaseModel):
    code: str
    name: str
    list_type: str
    type_name: str
    sector: str
    authority: str
    basis: Basis
    criteria: str
    notice_required: bool
    waiting_workdays: int
    publicity: str
    term: str
    term_months: int | None
    repair: bool
    exit: str
    active: int


class RefusedKind(BaseModel):
    code: str
    name: str
    source: str
    reason: str


class Kinds(BaseModel):
    kinds: list[Kind]
    refused: list[RefusedKind]
    problems: list[str]


class EntrySubject(BaseModel):
    uscc: str | None
    name: str
    kind: str


class Entry(BaseModel):
    kind: str
    kind_name: str
    list_type: str
    authority: str
    doc_no: str
    basis: str
    listed_on: str
    ends_on: str | None
    source: str
    entry_id: int | None
    record_id: int | None
    subject: EntrySubject


class ProposalEntry(BaseModel):
    id: int
    doc_no: str
    listed_on: str | None
    ends_on: str | None
    ended_on: str | None
    end_reason: str | None
    end_note: str | None
    end_doc_no: str | None
    active: bool


class Proposal(BaseModel):
    id: int
    status: str
    status_name: str
    kind: str
    kind_name: str
    kind_usable: bool
    list_type: str | None
    subject: EntrySubject
    facts: str
    basis: str
    kind_basis: str | None
    record_id: int | None
    proposed_on: str | None
    proposed_by: str
    notified_on: str | None
    notice_content: str | None
    objection_until: str | None
    objection: str | None
    objected_on: str | None
    decide_from: str | None
    decision_due: str | None
    overdue: bool
    in_waiting_period: bool
    decided_on: str | None
    decision_doc_no: str | None
    objection_reply: str | None
    withdrawn_on: str | None
    withdrawal_reason: str | None
    steps: list[str]
    entry: ProposalEntry | None = None


class NewProposal(BaseModel):
    uscc: str = Field(min_length=1, max_length=40, description="统一社会信用代码")
    kind: str = Field(min_length=1, max_length=64, description="名单种类代码或名称")
    facts: str = Field(min_length=1, max_length=5000, description="认定事实")
    basis: str = Field(min_length=1, max_length=2000, description="认定依据（具体条款）")
    record_id: int | None = Field(default=None, ge=1, le=2**62, description="所依据的信用记录编号")


class Notice(BaseModel):
    content: str = Field(min_length=1, max_length=5000, description="告知内容")


class ObjectionNote(BaseModel):
    note: str = Field(min_length=1, max_length=5000, description="异议（陈述、申辩）理由")


class Decision(BaseModel):
    doc_no: str = Field(min_length=1, max_length=128, description="认定决定文书号")
    reply: str | None = Field(default=None, max_length=5000, description="对异议的答复（有异议时必填）")


class Withdrawal(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="撤回或不予列入的理由")


class Removal(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="移出理由")
    doc_no: str = Field(min_length=1, max_length=128, description="移出决定文书号")


class Removed(BaseModel):
    entry: int
    removed_on: str


@router.get("/lists", response_model=Kinds, summary="名单种类（含设列依据、认定标准、异议期和退出规则）")
def list_kinds(conn: Connection = Depends(connection),
               principal: Principal = requires("subject.read_public")) -> Any:
    return service.kinds_view(conn, date.today(), public_only=not can(principal, "list.manage"))


@router.get("/lists/{kind}/entries", response_model=Page[Entry], dependencies=[Depends(limited)],
            summary="某一名单今日有效的条目（自然人姓名脱敏，不含证件号码）")
def list_entries(kind: KindCode, page: Paging, conn: Connection = Depends(connection),
                 _: Principal = requires("subject.read_public")) -> Any:
    rows = service.kind_entries(conn, service.public_kind(kind), date.today(),
                                limit=page.limit + 1, offset=page.offset)
    return page_of(rows, page)


@router.post("/list-proposals", response_model=Proposal, status_code=201, summary="提出名单认定申请")
def create_proposal(body: NewProposal, request: Request,
                    principal: Principal = requires("list.manage")) -> Any:
    kind = service.usable_kind(body.kind)
    engine = engine_of(request)
    pid = service.propose(engine, actor(request, principal), kind, body.uscc, body.facts,
                          body.basis, date.today(), record_id=body.record_id)
    return service.proposal_view(engine, pid, date.today())


@router.get("/list-proposals", response_model=Page[Proposal], summary="名单认定申请（新的在前）")
def list_proposals(page: Paging, open_only: Annotated[bool, Query(
                       alias="open", description="只看未办结的")] = False,
                   conn: Connection = Depends(connection),
                   _: Principal = requires("list.manage")) -> Any:
    rows = service.proposals(conn, date.today(), open_only=open_only, limit=page.limit + 1,
                             offset=page.offset)
    return page_of(rows, page)


@router.get("/list-proposals/{proposal_id}", response_model=Proposal, summary="一件名单认定申请")
def get_proposal(proposal_id: ProposalId, conn: Connection = Depends(connection),
                 _: Principal = requires("list.manage")) -> Any:
    return service.proposal_view(conn, proposal_id, date.today())


@router.post("/list-proposals/{proposal_id}/notice", response_model=Proposal,
             summary="告知当事人（开始异议期）")
def notice(proposal_id: ProposalId, body: Notice, request: Request,
           principal: Principal = requires("list.manage")) -> Any:
    engine = engine_of(request)
    service.notify(engine, actor(request, principal), proposal_id, date.today(), body.content)
    return service.proposal_view(engine, proposal_id, date.today())


@router.post("/list-proposals/{proposal_id}/objection", response_model=Proposal,
             summary="当事人在异议期内提出异议（本主体账号，或信用办代为记录）")
def objection(proposal_id: ProposalId, body: ObjectionNote, request: Request,
              principal: Principal = requires(OPEN)) -> Any:
    # Who may object depends on the proposal (its subject): the verb checks it.
    if principal.kind == "anonymous":
        raise AuthenticationRequired("请先以信用主体账号登录，再提出异议")
    engine = engine_of(request)
    service.object_to(engine, actor(request, principal), principal, proposal_id, date.today(),
                      body.note)
    return service.proposal_view(engine, proposal_id, date.today())


@router.post("/list-proposals/{proposal_id}/decision", response_model=Proposal,
             summary="作出列入决定（异议期满后），名单条目即时生效")
def decision(proposal_id: ProposalId, body: Decision, request: Request,
             principal: Principal = requires("list.manage")) -> Any:
    engine = engine_of(request)
    service.decide(engine, actor(request, principal), proposal_id, date.today(), body.doc_no,
                   body.reply)
    return service.proposal_view(engine, proposal_id, date.today())


@router.post("/list-proposals/{proposal_id}/withdrawal", response_model=Proposal,
             summary="撤回或不予列入（须说明理由）")
def withdrawal(proposal_id: ProposalId, body: Withdrawal, request: Request,
               principal: Principal = requires("list.manage")) -> Any:
    engine = engine_of(request)
    service.withdraw(engine, actor(request, principal), proposal_id, date.today(), body.reason)
    return service.proposal_view(engine, proposal_id, date.today())


@router.post("/list-entries/{entry_id}/removal", response_model=Removed,
             summary="认定单位移出名单（须说明理由和文书号）")
def removal(entry_id: EntryId, body: Removal, request: Request,
            principal: Principal = requires("list.manage")) -> Any:
    service.remove(engine_of(request), actor(request, principal), entry_id, date.today(),
                   body.reason, body.doc_no)
    return Removed(entry=entry_id, removed_on=date.today().isoformat())
