"""Batch routes: departments submit files and read back receipts and error reports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal, can
from xinyong.ingest import rules, service
from xinyong.ingest.service import Progress, Receipt
from xinyong.web.errors import ErrorBody
from xinyong.web.pagination import Page, Paging, page_of
from xinyong.web.schema import UtcDateTime
from xinyong.web.security import actor, connection, engine_of, requires
from xinyong.web.uploads import discard, save_upload

router = APIRouter(tags=["归集批次"])


def at_startup(engine: Any) -> dict[str, Any]:
    """What a crash left in the files folder (batch files in the making, uploads received):
    moved into place or deleted, before the first request."""
    return service.sweep(engine)

# Batch ids are INTEGER columns (32-bit on PostgreSQL): a larger number is a bad request, not
# a database error.
BatchId = Annotated[int, Path(ge=1, le=2**31 - 1, description="批次编号")]


class ReasonCount(BaseModel):
    reason: str
    label: str
    count: int


class Counts(BaseModel):
    """A batch's row counts, the same on the receipt and in listings."""

    rows: int
    accepted: int
    rejected: int
    new: int
    corrected: int
    unchanged: int
    stale: int
    on_time: int
    late: int
    compliance_rate: float | None
    timeliness_rate: float | None


class BatchView(Counts):
    id: int
    department: str
    item_code: str
    filename: str
    format: str
    encoding: str | None
    received_date: date
    submitted_at: UtcDateTime
    submitted_by: str
    has_error_report: bool
    rejection_reasons: list[ReasonCount]
    unknown_columns: list[str]


class ReceiptView(Counts):
    batch: int
    department: str
    kind: str
    kind_name: str
    filename: str
    format: str
    encoding: str | None
    received: str
    catalog_version: str
    blank_rows: int
    free_text_ids: int = Field(0, description="接收的行中，自由文本（违法事实、备注等）写有身份证号码的"
                                              "行数（公示时已遮蔽）")
    backfill: bool
    correction: bool
    unknown_columns: list[str]
    rejection_reasons: dict[str, int]
    error_report_url: str | None


def receipt_view(receipt: Receipt) -> dict[str, Any]:
    out = receipt.as_dict()
    out.pop("error_report")
    out["error_report_url"] = (f"/api/v1/batches/{receipt.batch}/errors"
                               if receipt.error_report else None)
    return out


async def ingest_upload(request: Request, principal: Principal, upload: UploadFile,
                        department: str | None, kind: str | None, backfill: bool,
                        progress: Progress | None = None, correction: bool = False) -> Receipt:
    """Save the upload, ingest it as the principal's department, index new subjects. A
    department named in the request (staff submitting for one) must be registered; the
    principal's own was set by an operator."""
    dep = rules.submitting_department(principal, department)
    if backfill and not can(principal, "batch.read_all"):
        backfill = False  # only the credit office loads history (补录); reporters report now
    path = await save_upload(upload)
    try:
        return await run_in_threadpool(
            service.submit, engine_of(request), path, dep, kind=kind or None,
            actor=actor(request, principal), filename=upload.filename, backfill=backfill,
            progress=progress, correction=correction,
            registered_only=dep != principal.department)
    finally:
        discard(path)


@router.post("/batches", response_model=ReceiptView, status_code=201,
             responses={400: {"model": ErrorBody, "description": "请求体不是可解析的 multipart 表单"}},
             summary="上传一个文件进行归集，返回回执（报送员只能报送本部门）")
async def submit_batch(
    request: Request,
    file: Annotated[UploadFile, File(description="CSV（UTF-8/GBK）、XLSX 或 JSON Lines")],
    department: Annotated[str | None, Form(max_length=100,
                                           description="报送部门（工作人员代报时填写）")] = None,
    kind: Annotated[str | None, Form(max_length=32, description="目录条目代码；省略时按表头识别")] = None,
    backfill: Annotated[bool, Form(description="历史数据补录（仅信用办）")] = False,
    correction: Annotated[bool, Form(
        description="更正现行版本：与记录旧版本相同的行也作为更正入库（有意恢复旧值时使用）；"
                    "不选时这样的行作为过时数据退回")] = False,
    principal: Principal = requires("batch.submit"),
) -> Any:
    receipt = await ingest_upload(request, principal, file, department, kind, backfill,
                                  correction=correction)
    return receipt_view(receipt)


@router.get("/batches", response_model=Page[BatchView], summary="报送批次（报送员只看到本部门的）")
def list_batches(
    page: Paging,
    department: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[date | None, Query(description="接收日期不早于")] = None,
    conn: Connection = Depends(connection),
    principal: Principal = requires("batch.read_own"),
) -> Any:
    rows = service.readable_batches(conn, principal, department=department, since=since,
                                    limit=page.limit + 1, offset=page.offset)
    return page_of(rows, page)


@router.get("/batches/{batch_id}", response_model=BatchView, summary="批次回执")
def get_batch(batch_id: BatchId, conn: Connection = Depends(connection),
              principal: Principal = requires("batch.read_own")) -> Any:
    return service.batch_view(service.readable_batch(conn, principal, batch_id))


@router.get("/batches/{batch_id}/errors", summary="批次的错误报告（退回的数据行及原因，原文件格式）",
            response_class=FileResponse,
            responses={200: {"description": "错误报告文件", "content": {
                "text/csv": {}, "application/octet-stream": {}}}})
def batch_errors(request: Request, batch_id: BatchId,
                 principal: Principal = requires("batch.read_own")) -> Any:
    path = service.read_error_report(engine_of(request), principal, actor(request, principal),
                                     batch_id)
    return FileResponse(path, filename=f"批次{batch_id}-错误报告{path.suffix}")
