"""Random inspection routes: a department's plans (create, draw, cancel, record results,
export the published inputs) under `/sampling-plans`, and what is published (一公开) under
`/sampling/plans`: drawn plans, their seeds, samples and results, and a verification anyone may
ask for."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal
from xinyong.sampling import service
from xinyong.web.pagination import Page, Paging, page_of
from xinyong.web.ratelimit import limited
from xinyong.web.security import actor, connection, engine_of, requires

router = APIRouter(tags=["双随机一公开"])
PlanId = Annotated[int, Path(ge=1, le=2**62)]
MANAGE = "sampling.manage"


class Scope(BaseModel):
    industries: list[str] = Field(default=[], max_length=100, description="行业门类代码，如 E、F；空为不限")
    districts: list[str] = Field(default=[], max_length=500, description="6位行政区划代码；空为不限")
    kinds: list[str] = Field(default=[], max_length=2,
                             description="organisation、individual_business；空为两者（自然人不抽查）")


class PlanRequest(BaseModel):
    name: str = Field(max_length=200, description="计划名称")
    department: str | None = Field(default=None, max_length=200,
                                   description="制定计划的部门；部门账号只能是本部门（默认）")
    scorecard: str | None = Field(default=None, max_length=64, description="评价模型，默认 public")
    scope: Scope = Scope()
    base_ratio: str | float = Field(description="基础抽查比例，如 0.05 或 \"5%\"")
    multipliers: dict[str, str | float] = Field(default={},
                                                description="各等级倍数，默认见 data/sampling.yaml")
    ungraded_multiplier: str | float | None = Field(default=None, description="未评级主体的倍数")
    inspectors: list[str] = Field(max_length=1000, description="执法检查人员库（姓名或编号）")
    inspectors_per_subject: int = Field(default=2, ge=1, le=100, description="每户检查人员数")
    seed: str | None = Field(default=None, max_length=128, description="随机种子；不给则抽取时随机生成并公布")


class PlanScope(BaseModel):
    industries: list[str]
    districts: list[str]
    kinds: list[str]


class PlanSummary(BaseModel):
    id: int
    name: str
    department: str
    scorecard: str
    status: str
    status_name: str
    scope: PlanScope
    base_ratio: str
    multipliers: dict[str, str]
    ungraded_multiplier: str
    cap: str
    inspectors: list[str]
    inspectors_per_subject: int
    seed: str | None
    seed_generated: bool | None
    created_at: str
    created_by: str
    drawn_at: str | None
    population_size: int | None
    population_sha256: str | None
    sample_sha256: str | None
    sampled: int
    results: int
    cancel_reason: str | None


class Result(BaseModel):
    outcome: str
    outcome_name: str
    findings: str | None
    inspected_on: str
    inspectors: list[str]


class Sampled(BaseModel):
    subject: str
    name: str
    grade: str | None = None
    inspectors: list[str]
    result: Result | None


class OutcomeKind(BaseModel):
    code: str
    name: str
    findings_required: bool


class PlanView(PlanSummary):
    ratios: dict[str, str] | None = None
    sample: list[Sampled]
    outcomes: list[OutcomeKind]


class Drawn(BaseModel):
    subject: str
    grade: str | None
    inspectors: list[str]


class DrawResult(BaseModel):
    plan: int
    seed: str
    sample: list[Drawn]


class DrawRequest(BaseModel):
    seed: str | None = Field(default=None, max_length=128, description="随机种子；计划未定种子时可在此给出")


class CancelRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ResultRequest(BaseModel):
    subject: str = Field(max_length=40, description="抽中的检查对象的统一社会信用代码")
    outcome: str = Field(max_length=32,
                         description="检查结果代码（no_problem、rectification、handled、not_found …）")
    findings: str | None = Field(default=None, max_length=5000, description="发现的问题")
    inspected_on: date = Field(description="检查日期")
    inspectors: list[str] = Field(default=[], max_length=20, description="实际检查人员；默认抽中的人员")


class RecordedResult(BaseModel):
    plan: int
    subject: str
    outcome: str
    outcome_name: str
    findings: str | None
    inspected_on: str
    inspectors: list[str]
    batch: int


class Inputs(BaseModel):
    plan_id: int
    plan: dict[str, Any]
    seed: str
    algorithm: str
    ratios: dict[str, str]
    population: list[tuple[str, str | None]]
    population_size: int
    population_sha256: str
    sample: list[Drawn]
    sample_sha256: str


class Verification(BaseModel):
    plan: int
    ok: bool
    reason: str
    sampled: int
    population: int


def _raw(body: PlanRequest) -> dict[str, Any]:
    raw = body.model_dump(exclude_none=True)
    raw["department"] = body.department
    raw["scope"] = {k: v for k, v in body.scope.model_dump().items() if v}
    return raw


@router.get("/sampling-plans", response_model=Page[PlanSummary], summary="抽查计划（部门账号只看本部门的）")
def list_plans(paging: Paging, department: Annotated[str | None, Query(max_length=200)] = None,
               conn: Connection = Depends(connection), principal: Principal = requires(MANAGE)) -> Any:
    rows = service.plans(conn, principal=principal, department=department,
                         limit=paging.limit + 1, offset=paging.offset)
    return page_of(rows, paging)


@router.post("/sampling-plans", response_model=PlanView, status_code=201, summary="制定抽查计划")
def create_plan(body: PlanRequest, request: Request, principal: Principal = requires(MANAGE)) -> Any:
    plan_id = service.new_plan(engine_of(request), actor(request, principal), principal, _raw(body))
    return service.plan_view(engine_of(request), plan_id)


@router.get("/sampling-plans/{plan_id}", response_model=PlanView,
            summary="一个抽查计划（含等级、样本和结果）")
def get_plan(plan_id: PlanId, request: Request, principal: Principal = requires(MANAGE)) -> Any:
    return service.plan_view(engine_of(request), plan_id, principal=principal,
                             reader=actor(request, principal))


@router.post("/sampling-plans/{plan_id}/draw", response_model=DrawResult,
             summary="抽取检查对象和检查人员（随机种子公布）")
def draw(plan_id: PlanId, request: Request, body: DrawRequest | None = None,
         principal: Principal = requires(MANAGE)) -> Any:
    return service.draw_plan(engine_of(request), actor(request, principal), plan_id, principal=principal,
                             seed=(body.seed or None) if body else None)


@router.post("/sampling-plans/{plan_id}/cancellation", response_model=PlanView, summary="撤销未抽取的计划")
def cancel(plan_id: PlanId, body: CancelRequest, request: Request,
           principal: Principal = requires(MANAGE)) -> Any:
    service.cancel(engine_of(request), actor(request, principal), plan_id, body.reason, principal=principal)
    return service.plan_view(engine_of(request), plan_id)


@router.post("/sampling-plans/{plan_id}/results", response_model=RecordedResult, status_code=201,
             summary="登记一户的检查结果（同时作为信用记录归集）")
def record_result(plan_id: PlanId, body: ResultRequest, request: Request,
                  principal: Principal = requires(MANAGE)) -> Any:
    return service.record_result(engine_of(request), actor(request, principal), plan_id, body.subject,
                                 body.outcome, inspected_on=body.inspected_on, findings=body.findings,
                                 inspectors=body.inspectors, principal=principal)


@router.get("/sampling-plans/{plan_id}/inputs", response_model=Inputs,
            summary="一次抽取的公开输入（含等级的名录），供平台外重新抽取核验")
def inputs(plan_id: PlanId, request: Request, principal: Principal = requires(MANAGE)) -> Any:
    # every subject's grade is not public data: the read is an audited event (SPEC §2.3)
    return service.published_inputs(engine_of(request), plan_id, principal=principal,
                                    reader=actor(request, principal))


@router.get("/sampling/plans", response_model=Page[PlanSummary], dependencies=[Depends(limited)],
            summary="已公布的抽查计划（一公开）")
def public_plans(paging: Paging, conn: Connection = Depends(connection),
                 _: Principal = requires("subject.read_public")) -> Any:
    return page_of(service.plans(conn, drawn_only=True, limit=paging.limit + 1, offset=paging.offset),
                   paging)


@router.get("/sampling/plans/{plan_id}", response_model=PlanView, dependencies=[Depends(limited)],
            summary="一个已公布的抽查计划：随机种子、检查对象、检查人员和检查结果（不含信用等级）")
def public_plan(plan_id: PlanId, conn: Connection = Depends(connection),
                _: Principal = requires("subject.read_public")) -> Any:
    return service.plan_view(conn, plan_id, public=True)


@router.get("/sampling/plans/{plan_id}/verification", response_model=Verification,
            dependencies=[Depends(limited)], summary="核验：公开的输入能否重现完全相同的抽取")
def verification(plan_id: PlanId, conn: Connection = Depends(connection),
                 _: Principal = requires("subject.read_public")) -> Any:
    v = service.verify(conn, plan_id)
    return {"plan": v.plan, "ok": v.ok, "reason": v.reason, "sampled": v.sampled, "population": v.population}
