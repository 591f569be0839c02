"""Subject routes: public search. A subject's public view and its full history for staff
are the profile's (`xinyong.profile.api`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal
from xinyong.subjects import search as search_service
from xinyong.web.pagination import Page, Paging
from xinyong.web.ratelimit import limited
from xinyong.web.security import connection, requires

router = APIRouter(tags=["信用主体"])


class SearchHit(BaseModel):
    uscc: str | None
    name: str
    matched_name: str
    kind: str
    region: str | None


@router.get("/subjects", response_model=Page[SearchHit], summary="按名称、曾用名或统一社会信用代码查询主体",
            dependencies=[Depends(limited)])
def search_subjects(
    page: Paging,
    q: Annotated[str, Query(min_length=1, max_length=100, description="名称片段（一个字起）或代码")],
    conn: Connection = Depends(connection),
    _: Principal = requires("subject.read_public"),
) -> Any:
    found = search_service.search(conn, q, limit=page.limit, offset=page.offset)
    return {"items": [SearchHit(uscc=i.uscc, name=i.name, matched_name=i.matched_name, kind=i.kind,
                                region=i.region) for i in found.items],
            "limit": page.limit, "offset": page.offset, "has_more": found.has_more}
