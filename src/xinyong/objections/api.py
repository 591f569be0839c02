"""Objection routes: a subject files an objection with its attachments, anyone holding a case
number follows it, the source department works its queue and decides."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import Connection
from starlette.datastructures import UploadFile as Upload

from xinyong.accounts.rules import Principal
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.core.settings import get_settings
from xinyong.objections import rules, service
from xinyong.objections.error_codes import ObjectionError
from xinyong.objections.service import Attachment
from xinyong.web.errors import ErrorBody
from xinyong.web.pagination import Page, Paging, page_of
from xinyong.web.security import actor, connection, engine_of, requires
from xinyong.web.uploads import CHUNK, stream_to

router = APIRouter(tags=["异议"])

CaseNo = Annotated[str, Path(max_length=32, description="异议案件编号（YY + 日期 + 8 位随机字符）")]


class CaseSubject(BaseModel):
    uscc: str | None
    name: str | None


class CaseRecord(BaseModel):
    id: int
    kind: str
    kind_name: str
    doc_no: str
    department: str
    decision_date: str | None
    version: int
    status: str
    subject: CaseSubject


class Decision(BaseModel):
    action: str
    label: str
    reason: str | None
    decided_at: str | None
    corrected_record: int | None


class HistoryEntry(BaseModel):
    at: str | None
    event: str
    label: str
    status: str | None


class AttachmentView(BaseModel):
    n: int
    name: str
    kind: str
    size: int


class FieldView(BaseModel):
    name: str
    label: str
    type: str
    value: str | None
    editable: bool


class CaseView(BaseModel):
    """A case. The filer's reason, attachments, record fields and the actions open to the
    decider are given only to deciders of the record's department (and to the filer, on
    filing); a follower sees status, due date and decision."""

    case_no: str
    status: str
    status_label: str
    under_objection: bool
    closed: bool
    filed_on: str | None
    due_date: str | None
    overdue: bool
    department: str
    record: CaseRecord
    decision: Decision | None
    history: list[HistoryEntry]
    reason: str | None = None
    filed_by: str | None = None
    filed_at: str | None = None
    attachments: list[AttachmentView] | None = None
    decided_by: str | None = None
    changes: dict[str, Any] | None = None
    fields: list[FieldView] | None = None
    actions: list[str] | None = None


class QueueItem(BaseModel):
    case_no: str
    status: str
    status_label: str
    filed_on: str | None
    due_date: str | None
    overdue: bool
    department: str
    action: str | None
    record: int
    kind: str
    doc_no: str
    subject: CaseSubject


class DecisionIn(BaseModel):
    action: Literal["correct", "revoke", "suspend", "reject", "resume"] = Field(
        description="correct 更正 / revoke 撤销 / suspend 暂停公示 / reject 驳回 / resume 恢复公示")
    reason: str | None = Field(None, max_length=rules.DECISION_REASON_MAX,
                               description="理由（驳回、恢复公示时必填）")
    changes: dict[str, str | None] | None = Field(
        None, description="更正后的字段值（目录字段名 → 值），仅 correct")


async def stage_attachments(uploads: Sequence[Upload]) -> list[Attachment]:
    """Each chosen file streamed to a staging folder, its kind checked by name and content
    and its size capped; empty file inputs (nothing chosen) are skipped. On any refusal
    nothing staged is kept."""
    current = service.current_rules()
    chosen = [u for u in uploads if u.filename]
    if len(chosen) > current.max_files:
        raise InvalidInput(f"附件最多 {current.max_files} 个（现有 {len(chosen)} 个）",
                           code=ObjectionError.TOO_MANY_FILES)
    limit = current.max_mib << 20
    staging = get_settings().files_dir / "objections" / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    staged: list[Attachment] = []
    try:
        for upload in chosen:
            name = upload.filename or ""
            head = await upload.read(CHUNK)
            if not head:
                raise InvalidInput(f"附件“{name}”是空文件", code=CoreError.FILE_TYPE)
            kind = rules.attachment_kind(name, head[:rules.SIGNATURE_BYTES], current)
            path = staging / uuid.uuid4().hex
            size = await stream_to(upload, path, limit, f"附件“{name}”超过 {current.max_mib} MiB 的上限",
                                   head=head)
            staged.append(Attachment(name, path, kind, size))
    except BaseException:
        for a in staged:
            a.path.unlink(missing_ok=True)
        raise
    return staged


async def file_upload(request: Request, principal: Principal, record: int, reason: str,
                      attachments: Sequence[Upload]) -> dict[str, Any]:
    staged = await stage_attachments(attachments)
    try:
        return await run_in_threadpool(service.file_objection, engine_of(request),
                                       actor(request, principal), principal, record, reason, staged)
    finally:
        for a in staged:
            a.path.unlink(missing_ok=True)  # moved into the case's folder when filed


@router.post("/objections", response_model=CaseView, status_code=201,
             responses={403: {"model": ErrorBody, "description": "不是本主体的记录（not_own_subject）"},
                        422: {"model": ErrorBody, "description": "理由或附件不符合要求，或该记录已有异议"}},
             summary="对本主体的一条信用记录提出异议（理由与附件）")
async def file_objection(
    request: Request,
    record: Annotated[int, Form(ge=1, le=2**62, description="信用记录编号")],
    reason: Annotated[str, Form(max_length=20000, description="异议理由（10–2000 字）")],
    attachments: Annotated[list[UploadFile] | None, File(
        description="证明材料：PDF、JPG、PNG，最多 5 个，每个不超过 10 MiB")] = None,
    principal: Principal = requires("objection.file"),
) -> Any:
    return await file_upload(request, principal, record, reason, attachments or [])


@router.get("/objections", response_model=Page[QueueItem],
            summary="异议处理队列（报送部门只看到本部门的；overdue=true 只看超期未办的）")
def list_objections(
    page: Paging,
    status: Annotated[str | None, Query(
        max_length=24, description="状态；under_objection：处理中和暂停公示")] = None,
    overdue: Annotated[bool | None, Query(description="是否超期")] = None,
    department: Annotated[str | None, Query(max_length=100)] = None,
    conn: Connection = Depends(connection),
    principal: Principal = requires("objection.decide"),
) -> Any:
    rows = service.queue(conn, principal, department=department, status=status, overdue=overdue,
                         limit=page.limit + 1, offset=page.offset)
    return page_of(rows, page)


@router.get("/objections/{case_no}", response_model=CaseView,
            summary="按案件编号查询异议的处理状态和结果（公开；处理部门另见理由和材料）")
def get_objection(case_no: CaseNo, conn: Connection = Depends(connection),
                  principal: Principal = requires("subject.read_public")) -> Any:
    return service.case_for(conn, principal, case_no)


@router.post("/objections/{case_no}/decision", response_model=CaseView,
             responses={403: {"model": ErrorBody, "description": "不是本部门的记录（other_department）"},
                        422: {"model": ErrorBody, "description": "案件已办结或当前状态下不能作此决定"}},
             summary="作出处理决定：更正、撤销、暂停公示、驳回（须说明理由），或结束暂停恢复公示")
def decide_objection(request: Request, case_no: CaseNo, body: DecisionIn,
                     principal: Principal = requires("objection.decide")) -> Any:
    return service.decide(engine_of(request), actor(request, principal), principal, case_no,
                          body.action, body.reason, body.changes, today=date.today())
