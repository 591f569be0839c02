"""Every list is paged the same way: `limit` and `offset` in, `items` and `has_more` out."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

T = TypeVar("T")
MAX_LIMIT = 100


class PageParams(BaseModel):
    limit: int
    offset: int


async def _page(limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="每页条数")] = 20,
          offset: Annotated[int, Query(ge=0, le=1_000_000, description="跳过的条数")] = 0) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Paging = Annotated[PageParams, Depends(_page)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    has_more: bool


def page_of(rows: list[T], params: PageParams) -> Page[T]:
    """`rows` fetched with limit + 1, so one extra row says whether more follow."""
    return Page[T](items=rows[: params.limit], limit=params.limit, offset=params.offset,
                   has_more=len(rows) > params.limit)
