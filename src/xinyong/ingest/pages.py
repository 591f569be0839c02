"""Console pages for batches: upload with visible progress, receipts and error reports (the
console home is `xinyong.workspaces`)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal, can
from xinyong.catalog.service import items_view
from xinyong.core.errors import CoreError, InvalidInput, XinyongError
from xinyong.departments import service as departments
from xinyong.departments.error_codes import DepartmentError
from xinyong.ingest import rules, service
from xinyong.ingest.api import BatchId, batch_errors, ingest_upload
from xinyong.ingest.error_codes import IngestError
from xinyong.web.error_codes import WebError
from xinyong.web.errors import english, status_of
from xinyong.web.forms import errors_of, status_for
from xinyong.web.security import connection, engine_of, requires
from xinyong.web.templating import render
from xinyong.web.uploads import TooLarge

router = APIRouter()
PAGE_SIZE = 30


@router.get("/console/upload", response_class=HTMLResponse)
def upload_form(request: Request, conn: Connection = Depends(connection),
                principal: Principal = requires("batch.submit")) -> HTMLResponse:
    return _upload_page(request, conn, principal)


def _upload_page(request: Request, conn: Connection, principal: Principal, *,
                 chosen: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                 status_code: int = 200) -> HTMLResponse:
    """The upload form; after a refusal, with the choices kept and the reason beside the field."""
    choose = can(principal, "batch.read_all")
    return render(request, "ingest/upload.html", {
        "items": items_view()["items"], "choose_department": choose,
        "departments": departments.names(conn) if choose else [],
        "chosen": chosen or {}, "errors": errors or {}}, status_code=status_code)


# Which field of the upload form each refusal is about.
UPLOAD_FIELDS: dict[str, str] = {
    WebError.FILE_REQUIRED: "file", CoreError.FILE_TYPE: "file", CoreError.BAD_FILE: "file",
    WebError.TOO_LARGE: "file", IngestError.UNKNOWN_KIND: "kind",
    DepartmentError.DEPARTMENT_REQUIRED: "department", DepartmentError.INVALID_DEPARTMENT: "department",
    DepartmentError.UNKNOWN_DEPARTMENT: "department"}


def _progress_stream(request: Request, principal: Principal, upload: UploadFile,
                     department: str | None, kind: str | None,
                     correction: bool) -> StreamingResponse:
    """Progress as JSON lines while the file is ingested, then the receipt's address."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def progress(rows: int, share: float) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, {"rows": rows, "share": round(share, 4)})

    async def run() -> None:
        try:
            receipt = await ingest_upload(request, principal, upload, department, kind, False,
                                          progress=progress, correction=correction)
            await queue.put({"done": True, "batch": receipt.batch,
                             "receipt": f"/console/batches/{receipt.batch}"})
        except XinyongError as exc:
            await queue.put({"error": {"code": exc.code, "message": exc.message,
                                       "message_en": english(exc.code, status_of(exc))}})
        finally:
            await queue.put(None)

    async def lines() -> Any:
        task = asyncio.create_task(run())
        while (event := await queue.get()) is not None:
            yield orjson.dumps(event) + b"\n"
        await task

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.post("/console/upload", response_class=HTMLResponse)
async def upload(
    request: Request,
    file: Annotated[UploadFile, File()],
    department: Annotated[str | None, Form(max_length=100)] = None,
    kind: Annotated[str | None, Form(max_length=32)] = None,
    correction: Annotated[bool, Form()] = False,
    principal: Principal = requires("batch.submit"),
) -> Response:
    if "application/x-ndjson" in request.headers.get("accept", ""):
        return _progress_stream(request, principal, file, department, kind, correction)
    try:
        receipt = await ingest_upload(request, principal, file, department, kind, False,
                                      correction=correction)
    except (InvalidInput, TooLarge) as exc:
        with engine_of(request).connect() as conn:
            return _upload_page(request, conn, principal, errors=errors_of(exc, UPLOAD_FIELDS),
                                chosen={"kind": kind or "", "department": department or "",
                                        "correction": correction, "file": file.filename or ""},
                                status_code=status_for(exc))
    return RedirectResponse(f"/console/batches/{receipt.batch}?new=1", 303)


@router.get("/console/batches", response_class=HTMLResponse)
def batches_page(request: Request, page: Annotated[int, Query(ge=1, le=10_000)] = 1,
                 department: Annotated[str | None, Query(max_length=100)] = None,
                 conn: Connection = Depends(connection),
                 principal: Principal = requires("batch.read_own")) -> HTMLResponse:
    rows = service.readable_batches(conn, principal, department=department or None,
                                    limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    own = rules.readable_department(principal)
    return render(request, "ingest/batches.html", {
        "batches": rows[:PAGE_SIZE], "has_more": len(rows) > PAGE_SIZE, "page": page,
        "department": own or department or ""})


@router.get("/console/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(request: Request, batch_id: BatchId, conn: Connection = Depends(connection),
               principal: Principal = requires("batch.read_own")) -> HTMLResponse:
    batch = service.batch_view(service.readable_batch(conn, principal, batch_id))
    return render(request, "ingest/batch.html", {"batch": batch,
                                                 "new": request.query_params.get("new") == "1"})


@router.get("/console/batches/{batch_id}/errors")
def batch_errors_download(request: Request, batch_id: BatchId,
                          principal: Principal = requires("batch.read_own")) -> Response:
    response: Response = batch_errors(request, batch_id, principal)
    return response
