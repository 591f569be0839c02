"""Check routes: one check (`POST /checks`), a batch of up to 10,000 (`POST /checks/batch`), and
the measures and matter types in force."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from xinyong.accounts.rules import Principal
from xinyong.check import service
from xinyong.web.security import engine_of, requires

router = APIRouter(tags=["信用核查"])


def _json(value: Any) -> Response:
    """The answer serialised once, by orjson. The service builds exactly the documented shape
    (the response models below are its OpenAPI description); validating every answer again
    would cost about as much CPU as answering it, at a thousand checks a second."""
    return Response(orjson.dumps(value), media_type="application/json")


class CheckRequest(BaseModel):
    uscc: str | None = Field(default=None, max_length=40, description="统一社会信用代码（优先）")
    name: str | None = Field(default=None, max_length=400, description="主体名称（无代码时）")
    matter: str = Field(min_length=1, max_length=64,
                        description="办理事项类型代码或名称，如 bidding、招标投标")


class BatchItem(BaseModel):
    uscc: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=400)


class BatchRequest(BaseModel):
    matter: str = Field(min_length=1, max_length=64, description="办理事项类型代码或名称")
    subjects: list[BatchItem] = Field(description="要核查的主体（每项给出 uscc 或 name），至多 10000 个")


class Named(BaseModel):
    code: str
    name: str


class Query(BaseModel):
    type: str
    value: str


class CheckedSubject(BaseModel):
    uscc: str | None
    name: str
    kind: str
    status: str
    status_name: str


class Candidate(BaseModel):
    uscc: str | None
    name: str
    matched_name: str
    score: float
    reasons: list[str]


class ListEntry(BaseModel):
    kind: str
    kind_name: str
    list_type: str
    authority: str
    doc_no: str
    listed_on: str
    ends_on: str | None


class Trigger(BaseModel):
    type: str
    id: int
    description: str
    source: str | None = None


class AppliedMeasure(BaseModel):
    code: str
    name: str
    kind: str
    group: str
    basis: str
    applied_by: str
    triggered_by: Trigger
    until: str | None


class MarkedRecord(BaseModel):
    record_id: int
    doc_no: str
    marker: str
    case_no: str


class CheckResult(BaseModel):
    check_id: str
    matter: Named
    query: Query
    subject: CheckedSubject | None
    candidates: list[Candidate]
    lists: list[ListEntry]
    measures: list[AppliedMeasure]
    records_marked: list[MarkedRecord]


class ItemError(BaseModel):
    code: str
    message: str


class BatchResultItem(BaseModel):
    check_id: str | None
    matter: Named | None = None
    query: Query | dict[str, str] | None = None
    subject: CheckedSubject | None = None
    candidates: list[Candidate] = []
    lists: list[ListEntry] = []
    measures: list[AppliedMeasure] = []
    records_marked: list[MarkedRecord] = []
    error: ItemError | None = None


class BatchResult(BaseModel):
    batch_id: str
    matter: Named
    count: int
    checked: int
    results: list[BatchResultItem]


class Basis(BaseModel):
    document: str
    article: str
    text: str


class RecordTrigger(BaseModel):
    tiers: list[str]
    within_years: int | None
    basis_mentions: list[str]
    description: str


class Triggers(BaseModel):
    lists: list[str]
    records: list[RecordTrigger]


class Measure(BaseModel):
    code: str
    name: str
    group: str
    kind: str
    kind_name: str
    triggers: Triggers
    triggers_text: str
    matters: list[str]
    applied_by: str
    basis: Basis
    source: str


class Matter(BaseModel):
    code: str
    name: str
    aliases: list[str]
    description: str
    measures: list[str]


@router.post("/checks", response_model=CheckResult,
             summary="信用核查：按统一社会信用代码（或名称）核查主体在某类事项中适用的惩戒和激励措施")
def run_check(body: CheckRequest, request: Request, principal: Principal = requires("check.run")) -> Any:
    uscc = body.uscc if body.uscc and body.uscc.strip() else None
    name = None if uscc is not None else (body.name or "")
    return _json(service.check(engine_of(request), service.caller_of(principal, "api"), body.matter,
                               uscc=uscc, name=name))


@router.post("/checks/batch", response_model=BatchResult,
             summary="批量信用核查（至多 10000 个主体，如一次招标的全部投标人）")
def run_batch(body: BatchRequest, request: Request, principal: Principal = requires("check.run")) -> Any:
    return _json(service.check_batch(engine_of(request), service.caller_of(principal, "api"),
                                     body.matter, [item.model_dump() for item in body.subjects]))


@router.get("/measures", response_model=list[Measure],
            summary="惩戒和激励措施清单（含法律依据、触发条件和适用事项）")
def list_measures(_: Principal = requires("catalog.read")) -> Any:
    return service.measures_view()


@router.get("/matters", response_model=list[Matter], summary="办理事项类型及其适用的措施")
def list_matters(_: Principal = requires("catalog.read")) -> Any:
    return service.matters_view()
