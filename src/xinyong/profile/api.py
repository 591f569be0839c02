"""Profile routes: a subject's public view (records in publicity today, open cases on them,
list entries) and, for staff, its full history with the audited read."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal
from xinyong.profile import queries
from xinyong.web.ratelimit import limited
from xinyong.web.schema import UtcDateTime
from xinyong.web.security import actor, connection, engine_of, requires

router = APIRouter(tags=["信用主体"])

Code = Annotated[str, Path(min_length=1, max_length=40, description="统一社会信用代码")]


class FormerName(BaseModel):
    name: str
    first_seen: str | None
    last_seen: str | None


class SubjectBasic(BaseModel):
    uscc: str | None
    name: str
    kind: str
    kind_label: str
    region: str | None
    legal_rep: str | None
    former_names: list[FormerName]


class FieldValue(BaseModel):
    name: str
    label: str
    value: Any


class Window(BaseModel):
    tier: str | None
    start: str | None
    end: str | None


class Marker(BaseModel):
    """An open case on the record: 异议处理中 or 信用修复中, and where to follow it."""

    kind: str
    label: str
    case_no: str
    status: str
    url: str


class ListEntryView(BaseModel):
    kind: str
    kind_name: str
    list_type: str
    authority: str | None
    doc_no: str | None
    basis: str | None
    listed_on: str | None
    ends_on: str | None
    ref: str  # L<id> decided on the platform, R<id> submitted as data
    repair: bool  # whether its kind may be left early by credit repair


class PublicRecord(BaseModel):
    id: int
    markers: list[Marker]
    kind: str
    kind_name: str
    doc_no: str
    decision_date: str | None
    department: str
    publicity: Window
    fields: list[FieldValue]


class SubjectPublic(BaseModel):
    subject: SubjectBasic
    records: list[PublicRecord]
    lists: list[ListEntryView]
    as_of: str


class HistoryWindow(Window):
    published: bool
    repair_from: str | None
    last_day: str | None = None  # the last day in publicity (end - 1 day); None: no end
    reason: str | None = None  # why this window, in the words of the rules in force now


class HistoryStop(BaseModel):
    """Why a version left publicity before its window ended (objection, repair), and when."""

    id: int
    reason: str  # revoked | corrected | suspended | repaired
    label: str
    since: str
    until: str | None  # a suspension ends (publicity resumed) on this day
    case_type: str | None
    case_id: str | None
    case_url: str | None


class HistoryRecord(BaseModel):
    id: int
    kind: str
    kind_name: str
    doc_no: str
    decision_date: str | None
    department: str
    version: int
    status: str
    batch: int
    received_date: str | None
    on_time: bool | None
    submitted_by: str
    submitted_at: UtcDateTime
    filename: str
    publicity: HistoryWindow
    stops: list[HistoryStop] = []
    fields: list[FieldValue]


class SubjectFull(SubjectBasic):
    id: int
    reg_no: str | None
    legal_rep_id_type: str | None
    legal_rep_id_number: str | None
    id_type: str | None
    id_number: str | None


class SubjectHistory(BaseModel):
    subject: SubjectFull
    records: list[HistoryRecord]


@router.get("/subjects/{uscc}", response_model=SubjectPublic, summary="主体的公示信息（当日公示期内的记录）",
            dependencies=[Depends(limited)])
def subject_public(uscc: Code, conn: Connection = Depends(connection),
                   _: Principal = requires("subject.read_public")) -> Any:
    return queries.public_view(conn, uscc, date.today())


@router.get("/subjects/{uscc}/history", response_model=SubjectHistory,
            summary="主体的全部记录及其版本（工作人员，查阅留痕）")
def subject_history(request: Request, uscc: Code,
                    principal: Principal = requires("subject.read_full")) -> Any:
    return queries.read_history(engine_of(request), actor(request, principal), uscc)
