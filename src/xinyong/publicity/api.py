"""The 双公示 listing: licences and penalties in publicity today."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal
from xinyong.publicity import service
from xinyong.web.pagination import Page, Paging, page_of
from xinyong.web.ratelimit import limited
from xinyong.web.security import connection, requires

router = APIRouter(tags=["双公示"])

Kind = Literal["penalty", "licence"]


class ListedSubject(BaseModel):
    uscc: str | None
    name: str
    kind: str


class Listed(BaseModel):
    id: int
    kind: str
    kind_name: str
    doc_no: str
    decision_date: str | None
    department: str
    tier: str | None
    start: str | None
    end: str | None
    subject: ListedSubject


@router.get("/publicity", response_model=Page[Listed], dependencies=[Depends(limited)],
            summary="公示中的行政许可、行政处罚（按决定日期倒序）")
def publicity_listing(
    page: Paging,
    kind: Annotated[Kind, Query(description="penalty（行政处罚）或 licence（行政许可）")] = "penalty",
    department: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[date | None, Query(description="决定日期不早于")] = None,
    until: Annotated[date | None, Query(description="决定日期不晚于")] = None,
    conn: Connection = Depends(connection),
    _: Principal = requires("subject.read_public"),
) -> Any:
    rows = service.listing(conn, date.today(), kind=kind, department=department, since=since,
                           until=until, limit=page.limit + 1, offset=page.offset)
    return page_of(rows, page)
