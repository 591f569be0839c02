"""Console catalog browser."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from xinyong.accounts.rules import Principal
from xinyong.catalog.service import item_view, items_view
from xinyong.web.security import requires
from xinyong.web.templating import render

router = APIRouter()


@router.get("/console/catalog", response_class=HTMLResponse)
def catalog_page(request: Request, _: Principal = requires("catalog.read")) -> HTMLResponse:
    return render(request, "catalog/list.html", items_view())


@router.get("/console/catalog/{code}", response_class=HTMLResponse)
def catalog_item_page(request: Request, code: str,
                      _: Principal = requires("catalog.read")) -> HTMLResponse:
    return render(request, "catalog/item.html", {"item": item_view(code)})
