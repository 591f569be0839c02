"""Catalog routes: what may be collected, under which law, in which fields."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel

from xinyong.accounts.rules import Principal
from xinyong.catalog.service import item_view, items_view
from xinyong.web.security import requires

router = APIRouter(tags=["目录"])


class CatalogItem(BaseModel):
    code: str
    name: str
    category: str
    disclosure: str
    legal_basis: str
    fields: int
    publicity: str | None
    timeliness_days: int | None


class CatalogList(BaseModel):
    version: str
    sources: list[str]
    items: list[CatalogItem]


class CatalogField(BaseModel):
    name: str
    label: str
    code: str | None
    type: str
    required: bool
    enum: str | None
    values: list[str]


class CatalogItemDetail(BaseModel):
    code: str
    name: str
    category: str
    disclosure: str
    legal_basis: str
    publicity: str | None
    timeliness_days: int | None
    timeliness_basis: str | None
    subject_kinds: list[str]
    fields: list[CatalogField]


@router.get("/catalog", response_model=CatalogList, summary="公共信用信息目录条目")
def catalog(_: Principal = requires("catalog.read")) -> Any:
    return items_view()


@router.get("/catalog/{code}", response_model=CatalogItemDetail, summary="目录条目的字段和依据")
def catalog_item(code: Annotated[str, Path(max_length=64)],
                 _: Principal = requires("catalog.read")) -> Any:
    return item_view(code)
