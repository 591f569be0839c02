"""Repair routes: a record's eligibility (public), applying and completing materials (the
subject), the queue and decisions (reviewers), a case by its number."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import Connection
from starlette.datastructures import UploadFile

from xinyong.accounts.rules import Principal
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.core.settings import get_settings
from xinyong.lists import service as lists
from xinyong.repair import queries, rules, service
from xinyong.repair.error_codes import RepairError
from xinyong.repair.materials import Staged
from xinyong.web.errors import ErrorBody
from xinyong.web.pagination import Page, Paging, page_of
from xinyong.web.schema import UtcDateTime
from xinyong.web.security import actor, connection, engine_of, requires
from xinyong.web.uploads import CHUNK, stream_to

router = APIRouter(tags=["信用修复"])

RecordId = Annotated[int, Path(ge=1, le=2**62, description="信用记录编号")]
EntryRef = Annotated[str, Path(pattern=lists.ENTRY_REF_PATTERN,
                               description="名单条目编号：L+条目编号（本平台认定），"
                                           "或 R+名单信息记录编号（部门报送）")]
CaseNo = Annotated[str, Path(pattern=rules.CASE_NO_PATTERN, description="信用修复案件编号（XF…）")]
UNPARSABLE: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "请求体无法解析（不是 JSON 或 multipart 表单）"}}


class EligibilityView(BaseModel):
    record: int
    eligible: bool
    eligible_from: str | None
    reasons: list[str]
    to_prove: list[str] = []


class EntryEligibilityView(BaseModel):
    entry: str
    eligible: bool
    eligible_from: str | None
    reasons: list[str]
    to_prove: list[str] = []


class CaseEntry(BaseModel):
    """The list entry a list-exit case is about."""

    ref: str  # L<entry id> (decided on this platform) or R<record id> (submitted as data)
    source: str  # workflow | data
    kind: str
    kind_name: str
    authority: str
    doc_no: str
    listed_on: str | None
    ends_on: str | None
    ended_on: str | None


class CaseRecord(BaseModel):
    id: int
    doc_no: str
    department: str
    decision_date: str | None
    tier: str | None
    published: bool
    start: str | None
    earliest_repair: str | None
    end: str | None


class CaseSubject(BaseModel):
    uscc: str | None
    name: str
    kind: str


class CaseMaterial(BaseModel):
    id: int | None
    material: str
    name: str
    filename: str | None
    file_type: str
    size: int
    round: int
    uploaded_at: UtcDateTime


class CaseStep(BaseModel):
    at: UtcDateTime
    action: str
    label: str
    reason: str | None
    missing: list[str]


class CaseView(BaseModel):
    case_no: str
    kind: str  # penalty | list_exit
    kind_name: str
    status: str
    status_label: str
    open: bool
    applied_on: str
    applicant: str | None
    step_since: str
    due_on: str | None
    overdue: bool
    accepted_on: str | None
    decided_on: str | None
    decided_by: str | None
    reason: str | None
    missing: list[str]
    rounds: int
    statement: str | None
    record: CaseRecord | None  # kind penalty
    entry: CaseEntry | None  # kind list_exit
    subject: CaseSubject
    materials: list[CaseMaterial]
    history: list[CaseStep]


class QueueItem(BaseModel):
    case_no: str
    kind: str
    kind_name: str
    status: str
    status_label: str
    applied_on: str
    due_on: str | None
    overdue: bool
    rounds: int
    record: int | None
    entry: str | None
    doc_no: str
    department: str
    tier: str | None
    subject: CaseSubject


class Decision(BaseModel):
    action: Literal["accept", "return", "approve", "reject"] = Field(
        description="accept 受理；return 退回补正；approve 准予修复；reject 不予修复")
    reason: str = Field("", max_length=5000, description="理由（准予、不予修复时必填）")
    missing: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list, max_length=20, description="退回补正时需补充的材料（必填）")


# --- uploads ------------------------------------------------------------------------------

async def _stage_one(upload: UploadFile, material: str, repair_rules: rules.RepairRules) -> Staged:
    """Stream one file to a temporary place, checking its real type and its size."""
    name = upload.filename or material
    head = await upload.read(CHUNK)
    kind = rules.sniff(head)
    allowed = "、".join(t.upper() for t in repair_rules.file_types)
    if not head:
        raise InvalidInput(f"材料“{name}”是空文件", code=CoreError.FILE_TYPE)
    if kind is None or kind not in repair_rules.file_types:
        raise InvalidInput(f"材料“{name}”不是 {allowed} 文件（按文件内容判断）",
                           code=CoreError.FILE_TYPE)
    limit = repair_rules.max_file_mib << 20
    folder = get_settings().files_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"repair-{uuid.uuid4().hex}.{kind}"
    digest = hashlib.sha256()
    size = await stream_to(upload, path, limit,
                           f"材料“{name}”超过 {repair_rules.max_file_mib} MiB 的上限",
                           head=head, digest=digest)
    return Staged(material, name, path, kind, size, digest.hexdigest())


async def stage_files(request: Request, repair_rules: rules.RepairRules,
                      materials: tuple[rules.Material, ...] | None = None) -> list[Staged]:
    """Every file of the multipart form, each under the code of its material (the penalty
    materials unless `materials` names those of a list kind)."""
    known = materials if materials is not None else repair_rules.materials
    form = await request.form()
    staged: list[Staged] = []
    try:
        for key, value in form.multi_items():
            if not isinstance(value, UploadFile):
                continue
            if value.filename == "" and value.size == 0:
                continue  # a file input left empty in a browser form
            if not any(m.code == key for m in known):
                codes = "、".join(m.code for m in known)
                raise InvalidInput(f"未知的材料类别“{key}”（可用：{codes}）",
                                   code=RepairError.UNKNOWN_MATERIAL)
            staged.append(await _stage_one(value, key, repair_rules))
    except BaseException:
        discard(staged)
        raise
    return staged


def discard(staged: list[Staged]) -> None:
    for s in staged:
        s.path.unlink(missing_ok=True)


async def apply_from_form(request: Request, principal: Principal, record: int,
                          statement: str) -> dict[str, Any]:
    """Check the record is the applicant's and eligible before reading any file, then stage
    the files and file the application (which checks all again in its transaction)."""
    day = date.today()
    engine = engine_of(request)
    with engine.connect() as conn:
        queries.check_may_apply(conn, principal, record, day)
    staged = await stage_files(request, queries.current_rules())
    try:
        return await run_in_threadpool(service.apply, engine, actor(request, principal),
                                       principal, record, statement, staged, day)
    finally:
        discard(staged)


async def apply_entry_from_form(request: Request, principal: Principal, entry: str,
                                statement: str) -> dict[str, Any]:
    """As `apply_from_form`, for leaving a list: the entry is the applicant's subject's and
    eligible before any file is read; the files are the list kind's materials."""
    day = date.today()
    engine = engine_of(request)
    repair_rules = queries.current_rules()
    with engine.connect() as conn:
        brief = queries.check_may_apply_entry(conn, principal, entry, day)
    staged = await stage_files(request, repair_rules,
                               rules.list_exit_materials(repair_rules, brief["kind_code"]))
    try:
        return await run_in_threadpool(service.apply_entry, engine, actor(request, principal),
                                       principal, entry, statement, staged, day)
    finally:
        discard(staged)


async def resubmit_from_form(request: Request, principal: Principal, case_no: str,
                             statement: str) -> dict[str, Any]:
    repair_rules = queries.current_rules()
    staged = await stage_files(request, repair_rules, rules.all_materials(repair_rules))
    try:
        return await run_in_threadpool(service.resubmit, engine_of(request), actor(request, principal),
                                       principal, case_no, statement, staged, date.today())
    finally:
        discard(staged)


# --- routes -------------------------------------------------------------------------------

@router.get("/records/{record_id}/repair-eligibility", response_model=EligibilityView,
            summary="信用记录能否申请信用修复、自何日起可申请及理由")
def record_eligibility(record_id: RecordId, conn: Connection = Depends(connection),
                       principal: Principal = requires("subject.read_public")) -> Any:
    found = queries.eligibility_of(conn, queries.visible_record(conn, principal, record_id),
                                   date.today())
    return {**found.as_json(), "to_prove": list(found.to_prove)}


@router.get("/list-entries/{entry}/repair-eligibility", response_model=EntryEligibilityView,
            summary="名单条目能否申请信用修复提前移出、自何日起可申请及理由")
def entry_eligibility(entry: EntryRef, conn: Connection = Depends(connection),
                      principal: Principal = requires("subject.read_public")) -> Any:
    found = queries.entry_eligibility_of(conn, queries.visible_entry(conn, principal, entry),
                                         date.today())
    return {**found.as_json(), "to_prove": list(found.to_prove)}


@router.post("/repairs", response_model=CaseView, status_code=201, responses=UNPARSABLE,
             summary="提出信用修复申请（multipart：record 信用记录编号，或 entry 名单条目编号"
                     "（移出严重失信主体名单）；statement，以及每类材料的文件，"
                     "字段名为材料代码：commitment 信用承诺书、performance 履行义务证明等；"
                     "PDF/JPG/PNG，每个≤10 MiB）")
async def apply_repair(
    request: Request,
    statement: Annotated[str, Form(min_length=1, max_length=5000, description="申请说明")],
    record: Annotated[int | None, Form(ge=1, le=2**62, description="信用记录编号（终止公示）")] = None,
    entry: Annotated[str | None, Form(pattern=lists.ENTRY_REF_PATTERN,
                                      description="名单条目编号（移出名单），L…或R…")] = None,
    principal: Principal = requires("repair.apply"),
) -> Any:
    if (record is None) == (entry is None):
        raise InvalidInput("请给出 record（信用记录编号）或 entry（名单条目编号）之一",
                           code=CoreError.MISSING_FIELD)
    if entry is not None:
        return await apply_entry_from_form(request, principal, entry, statement)
    assert record is not None
    return await apply_from_form(request, principal, record, statement)


@router.get("/repairs", response_model=Page[QueueItem], summary="信用修复待办队列（按办理期限排序）")
def repair_queue(page: Paging,
                 status: Annotated[str | None, Query(max_length=16,
                                                     description="案件状态；省略时为办理中的案件")] = None,
                 overdue: bool = False, conn: Connection = Depends(connection),
                 _: Principal = requires("repair.decide")) -> Any:
    rows = queries.queue(conn, date.today(), status=status or None, overdue_only=overdue,
                         limit=page.limit + 1, offset=page.offset)
    return page_of(rows, page)


@router.get("/repairs/{case_no}", response_model=CaseView, summary="按案件编号查看信用修复进度")
def repair_case(case_no: CaseNo, conn: Connection = Depends(connection),
                principal: Principal = requires("subject.read_public")) -> Any:
    return queries.case_for(conn, principal, case_no, date.today())


@router.post("/repairs/{case_no}/decision", response_model=CaseView, responses=UNPARSABLE,
             summary="受理、退回补正、准予或不予修复（须写明理由）")
def decide_repair(request: Request, case_no: CaseNo, decision: Decision,
                  principal: Principal = requires("repair.decide")) -> Any:
    return service.decide(engine_of(request), actor(request, principal), case_no, decision.action,
                          decision.reason, decision.missing, date.today())


@router.post("/repairs/{case_no}/materials", response_model=CaseView, responses=UNPARSABLE,
             summary="补正材料后重新提交（multipart：statement 可选，材料文件字段名为材料代码）")
async def resubmit_repair(
    request: Request, case_no: CaseNo,
    statement: Annotated[str, Form(max_length=5000, description="补正说明")] = "",
    principal: Principal = requires("repair.apply"),
) -> Any:
    return await resubmit_from_form(request, principal, case_no, statement)
