"""Evaluation routes: run an evaluation (`POST /evaluations`), the runs, the distribution per
grade (overall, by industry or district) and a subject's result."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal
from xinyong.evaluation import service
from xinyong.web.security import actor, connection, engine_of, requires

router = APIRouter(tags=["公共信用综合评价"])
Conn = Annotated[Connection, Depends(connection)]
Scorecard = Annotated[str, Query(max_length=64, description="评分卡名称，默认 public")]


class RunRequest(BaseModel):
    scorecard: str = Field(default="public", max_length=64, description="评分卡名称")
    as_of: date | None = Field(default=None, description="评价日，默认今天")
    full: bool = Field(default=False, description="全量重算（否则在可能时增量）")


class RunAnswer(BaseModel):
    scorecard: str
    version: str
    evaluated: int
    skipped_natural_persons: int
    grades: dict[str, int]
    run_id: int
    as_of: str
    mode: Literal["full", "incremental"]


class GradeShare(BaseModel):
    grade: str
    name: str
    count: int
    share: float


class Group(BaseModel):
    key: str | None
    name: str
    total: int
    grades: list[GradeShare]


class Distribution(BaseModel):
    scorecard: str
    version: str
    name: str
    as_of: str | None
    total: int
    grades: list[GradeShare]
    by: str | None = None
    groups: list[Group] | None = None


class Run(BaseModel):
    id: int
    scorecard: str
    version: str
    as_of: str
    mode: str
    started_at: str
    finished_at: str | None
    evaluated: int
    skipped_natural_persons: int
    actor: str


class Indicator(BaseModel):
    code: str
    name: str
    value: int
    points: int


class HistoryItem(BaseModel):
    run_id: int
    as_of: str
    version: str
    score: int
    grade: str
    previous_grade: str | None


class SubjectEvaluation(BaseModel):
    uscc: str | None
    name: str
    scorecard: str
    version: str
    as_of: str
    grade: str
    grade_name: str
    score: int | None = None
    reasons: list[str] | None = None
    industry: str | None = None
    district: str | None = None
    indicators: list[Indicator] | None = None
    history: list[HistoryItem] | None = None


@router.post("/evaluations", response_model=RunAnswer)
def run_evaluation(request: Request, body: RunRequest,
                   principal: Principal = requires("evaluation.run")) -> dict[str, Any]:
    """运行一次评价（全部组织；可能时增量）。自然人从不评价。"""
    summary = service.evaluate(engine_of(request), actor(request, principal), scorecard=body.scorecard,
                               as_of=body.as_of, full=body.full)
    return {**summary.as_json(), "run_id": summary.run_id, "as_of": summary.as_of.isoformat(),
            "mode": summary.mode}


@router.get("/evaluations/runs", response_model=list[Run])
def evaluation_runs(conn: Conn, scorecard: Scorecard | None = None,
                    _: Principal = requires("evaluation.read")) -> list[dict[str, Any]]:
    """最近的评价运行（最新在前）。"""
    return service.runs(conn, scorecard)


@router.get("/evaluations/distribution", response_model=Distribution, response_model_exclude_unset=True)
def evaluation_distribution(conn: Conn, scorecard: Scorecard = "public",
                            by: Annotated[Literal["industry", "district"] | None,
                                          Query(description="分组：industry 或 district")] = None,
                            _: Principal = requires("evaluation.read")) -> dict[str, Any]:
    """各等级的数量和占比，可按行业（GB/T 4754 门类）或地区（行政区划代码）分组。"""
    return service.distribution(conn, scorecard, by)


@router.get("/subjects/{uscc}/evaluation", response_model=SubjectEvaluation,
            response_model_exclude_unset=True)
def subject_evaluation(request: Request, uscc: str, scorecard: Scorecard = "public",
                       principal: Principal = requires("subject.read_public")) -> dict[str, Any]:
    """一个主体的评价结果：监管部门和信用办（evaluation.read）及主体本身可见得分、理由和指标；
    其他人仅在评分卡公开等级时可见等级。查看非公开的评价结果记入审计日志。"""
    return service.view_as(engine_of(request), principal, actor(request, principal), uscc[:40], scorecard)
