"""Check routes: one check (`POST /checks`), a batch of up to 10,000 (`POST /checks/batch`), and
the measures and matter types in force."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Request
from fastapi import Query as QueryParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from xinyong.accounts.rules import Principal
from xinyong.check import feedback, service
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
async def run_check(body: CheckRequest, request: Request,
                    principal: Principal = requires("check.run")) -> Any:
    uscc = body.uscc if body.uscc and body.uscc.strip() else None
    name = None if uscc is not None else (body.name or "")
    engine = engine_of(request)
    answer = partial(service.check, engine, service.caller_of(principal, "api"), body.matter,
                     uscc=uscc, name=name)
    # A check by code against a built index is a dictionary look-up and one indexed read (about
    # 0.2 ms): answered here, in the event loop, it is spared the thread-pool round trip, which
    # costs more CPU than the check itself. A process's first check (which builds the index)
    # and checks by name (a search) go to the thread pool, so they never hold up other requests.
    if uscc is not None and service.index_ready(engine):
        return _json(answer())
    return _json(await run_in_threadpool(answer))


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


# --- feedback (执行反馈) ------------------------------------------------------------------------

class FeedbackItem(BaseModel):
    measure: str = Field(min_length=1, max_length=64, description="核查返回的措施代码")
    outcome: Literal["applied", "not_applied", "not_relevant"] = Field(
        description="applied 已应用；not_applied 未应用（须说明原因）；not_relevant 不适用")
    reason: str | None = Field(default=None, max_length=2000, description="未应用的原因")
    result: str | None = Field(default=None, max_length=2000, description="办理结果")


class FeedbackGiven(BaseModel):
    measure: str
    outcome: str
    outcome_name: str
    reason: str | None
    result: str | None
    reported_at: str | None
    reported_by: str
    department: str | None


class FeedbackStatus(BaseModel):
    status: str = Field(description="none_needed | pending | complete | overdue")
    due_on: str | None
    due_working_days: int
    pending: list[str]
    overdue: bool


class CheckSummary(BaseModel):
    check_id: str
    batch_id: str | None
    at: str | None
    day: str
    caller: str
    department: str | None
    system: str | None
    matter: Named
    query: Query
    subject: dict[str, str | None] | None
    lists: list[str]
    measures: list[Named]
    records_marked: list[int]
    feedback: list[FeedbackGiven]
    feedback_status: FeedbackStatus


class TotalStats(BaseModel):
    checks: int
    checks_with_measures: int
    measures_returned: int
    feedback_given: int
    checks_with_feedback: int
    outcomes: dict[str, int]
    feedback_rate: float | None
    overdue: int


class DepartmentStats(TotalStats):
    department: str | None


class FeedbackStats(BaseModel):
    since: str
    until: str
    today: str
    due_working_days: int
    department: str | None
    departments: list[DepartmentStats]
    total: TotalStats


@router.get("/checks/stats", response_model=FeedbackStats,
            summary="核查与执行反馈统计（按单位：核查次数、返回措施、反馈数、反馈率、逾期未反馈）")
def check_stats(
        request: Request,
        since: Annotated[date | None, QueryParam(description="起始日期（含），默认截止日期前 30 天")] = None,
        until: Annotated[date | None, QueryParam(description="截止日期（含），默认今天")] = None,
        department: Annotated[str | None, QueryParam(max_length=200,
                                                     description="单位（工作人员可选）")] = None,
        principal: Principal = requires("check.run")) -> Any:
    return feedback.stats(engine_of(request), principal, since=since, until=until, department=department)


@router.get("/checks/{check_id}", response_model=CheckSummary,
            summary="一次核查的记录及其执行反馈（仅发起核查的单位或工作人员）")
def check_summary(check_id: str, request: Request, principal: Principal = requires("check.run")) -> Any:
    return feedback.summary(engine_of(request), principal, check_id)


@router.post("/checks/{check_id}/feedback", response_model=CheckSummary,
             summary="反馈核查结果的应用情况（每项措施：已应用 / 未应用及原因 / 不适用，及办理结果）")
def report_feedback(check_id: str, body: list[FeedbackItem], request: Request,
                    principal: Principal = requires("check.run")) -> Any:
    return feedback.report(engine_of(request), principal, check_id,
                           [item.model_dump() for item in body], source="api")
