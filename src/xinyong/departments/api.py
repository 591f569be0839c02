"""Department routes: the registered departments, for the pickers of upload and account forms
(a department is chosen from this list, never typed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal
from xinyong.departments import service
from xinyong.web.security import connection, requires

router = APIRouter(tags=["报送部门"])


class DepartmentView(BaseModel):
    name: str
    aliases: list[str]
    reports_for: list[str]
    any_authority_for: list[str]
    uscc: str | None
    origin: str


class DepartmentList(BaseModel):
    items: list[DepartmentView]


@router.get("/departments", response_model=DepartmentList, summary="已登记的报送部门（供选择）")
def list_departments(conn: Connection = Depends(connection),
                     principal: Principal = requires("catalog.read")) -> Any:
    return {"items": [d.as_dict() for d in service.registry(conn).departments.values()]}
