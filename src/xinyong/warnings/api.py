"""Warning routes: the rules in force, the warnings (a department account sees those addressed to
it), one warning with its facts, closing one with an action, and a scan for the credit office."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from xinyong.accounts.rules import Principal
from xinyong.warnings import service
from xinyong.web.pagination import Page, Paging, page_of
from xinyong.web.security import actor, engine_of, requires

router = APIRouter(tags=["信用风险预警"])
WarningId = Annotated[int, Path(ge=1, le=2**62)]


class RuleRef(BaseModel):
    code: str
    name: str
    kind: str
    threshold: int


class WarnedSubject(BaseModel):
    uscc: str | None = Field(description="统一社会信用代码；自然人不显示")
    name: str = Field(description="名称；自然人姓名脱敏")
    kind: str


class Closing(BaseModel):
    on: str | None
    at: str | None
    by: str | None
    department: str | None
    action: str | None
    action_name: str | None
    note: str | None


class WarningOut(BaseModel):
    id: int
    rule: RuleRef
    severity: str
    severity_name: str
    status: str = Field(description="open（待处置）| closed（已处置）")
    status_name: str
    subject: WarnedSubject
    as_of: str | None = Field(description="触发预警的扫描日")
    value: int = Field(description="达到预警线的数值（处罚次数、部门数、名单种数或下降级数）")
    summary: str
    recipients: list[str] = Field(description="接收预警的部门")
    raised_at: str
    raised_by: str
    closed: Closing | None


class WarningDetail(WarningOut):
    facts: dict[str, Any] = Field(description="触发事实：次数、部门、名单、记录编号（至多100个）、等级等")


class CloseRequest(BaseModel):
    action: str = Field(max_length=32, description="处置方式代码或名称：interview（约谈）、rectification"
                                                   "（整改）、repair（信用修复）、referral（移送）、other（其他）")
    note: str = Field(max_length=2000, description="处置情况说明")
    department: str | None = Field(default=None, max_length=200,
                                   description="处置部门（信用办账号代部门登记时填写；部门账号为本部门）")


class ScanRequest(BaseModel):
    as_of: date | None = Field(default=None, description="扫描日（默认今天）")
    rules: list[str] | None = Field(default=None, max_length=50, description="只扫描这些规则（默认全部）")


class RuleResult(BaseModel):
    code: str
    name: str
    raised: int


class ScanResult(BaseModel):
    as_of: str
    raised: int
    rules: list[RuleResult]
    warnings: list[int]


class RulesView(BaseModel):
    rules: list[dict[str, Any]]
    close_actions: list[dict[str, str]]


@router.get("/warnings/rules", response_model=RulesView)
def rules_in_force(_: Principal = requires("warning.read")) -> dict[str, Any]:
    """The warning rules in force and the close actions."""
    return service.rules_view()


@router.get("/warnings", response_model=Page[WarningOut])
def list_warnings(request: Request, paging: Paging,
                  status: Annotated[str | None, Query(max_length=8, description="open | closed")] = None,
                  rule: Annotated[str | None, Query(max_length=64)] = None,
                  severity: Annotated[str | None, Query(max_length=8, description="high|medium|low")] = None,
                  department: Annotated[str | None, Query(max_length=200, description="接收部门")] = None,
                  uscc: Annotated[str | None, Query(max_length=40)] = None,
                  principal: Principal = requires("warning.read")) -> Page[Any]:
    """Warnings, open ones first; a department account sees only those addressed to it. The
    reading is audited (warnings tell grade changes and enforcement facts)."""
    rows = service.warnings(engine_of(request), actor(request, principal), principal,
                            status=status, rule=rule, severity=severity, department=department,
                            uscc=uscc, limit=paging.limit + 1, offset=paging.offset)
    return page_of(rows, paging)


@router.get("/warnings/{warning_id}", response_model=WarningDetail)
def get_warning(request: Request, warning_id: WarningId,
                principal: Principal = requires("warning.read")) -> dict[str, Any]:
    """One warning with its facts; the reading is audited."""
    return service.warning(engine_of(request), actor(request, principal), principal, warning_id)


@router.post("/warnings/{warning_id}/close", response_model=WarningDetail)
def close_warning(request: Request, warning_id: WarningId, body: CloseRequest,
                  principal: Principal = requires("warning.handle")) -> dict[str, Any]:
    """Close an open warning with an action and a note of what was done."""
    return service.close(engine_of(request), actor(request, principal), principal, warning_id,
                         body.action, body.note, department=body.department)


@router.post("/warnings/scan", response_model=ScanResult)
def scan(request: Request, body: ScanRequest,
         principal: Principal = requires("evaluation.run")) -> dict[str, Any]:
    """Evaluate the rules over the whole store and raise the new warnings (the credit office)."""
    return service.scan(engine_of(request), actor(request, principal), body.as_of, only=body.rules)
