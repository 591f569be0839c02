"""Console catalog browser."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from xinyong.accounts.rules import Principal
from xinyong.catalog.rules import DISCLOSURE_NAMES, FIELD_TYPE_NAMES
from xinyong.catalog.service import current_catalog, item_view, items_view
from xinyong.web.security import requires
from xinyong.web.templating import render

router = APIRouter()


def _catalog_source(source: str) -> str:
    """A catalog file as a person calls it: the shipped national catalog, or the locality's."""
    return "国家公共信用信息基础目录" if source == "national.yaml" else "本地补充目录"


def _item_name(code: str | None) -> str:
    """A catalog item's name (行政处罚信息) for its code (penalty)."""
    item = current_catalog().item(code) if code else None
    return item.name if item else (code or "—")


# The web kit's templates use them on every capability's pages (`item_name` in the audit log,
# the ingest receipts …).
TEMPLATE_FILTERS: dict[str, Any] = {
    "disclosure_name": lambda code: DISCLOSURE_NAMES.get(code, code),
    "field_type_name": lambda code: FIELD_TYPE_NAMES.get(code, code),
    "catalog_source": _catalog_source,
    "item_name": _item_name,
}


@router.get("/console/catalog", response_class=HTMLResponse)
def catalog_page(request: Request, _: Principal = requires("catalog.read")) -> HTMLResponse:
    return render(request, "catalog/list.html", items_view())


@router.get("/console/catalog/{code}", response_class=HTMLResponse)
def catalog_item_page(request: Request, code: str,
                      _: Principal = requires("catalog.read")) -> HTMLResponse:
    return render(request, "catalog/item.html", {"item": item_view(code)})
