"""Notification routes: the enterprise's own notifications and marking them read. Only
accounts of the subject (`service.check_own`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal
from xinyong.notifications import service
from xinyong.web.pagination import Page, Paging, page_of
from xinyong.web.security import actor, connection, engine_of, requires

router = APIRouter(tags=["通知"])


class NotificationOut(BaseModel):
    id: int
    event: str = Field(description="案件变化，如 objection.decided、repair.returned")
    case_type: str = Field(description="objection | repair | list")
    case_ref: str = Field(description="案件编号（名单为认定申请编号）")
    title: str
    body: str
    link: str = Field(description="案件页面（站内路径）")
    action_needed: bool = Field(description="是否要求企业办理（补正材料、答复名单告知）")
    created_at: datetime = Field(description="产生时间（UTC）")
    read: bool
    delivered: bool


class ReadRequest(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(
        default=None, max_length=1000, description="要标为已读的通知编号；省略则全部标为已读")


class ReadResult(BaseModel):
    marked: int
    unread: int


@router.get("/notifications", response_model=Page[NotificationOut],
            summary="本主体的通知（最新的在前；unread=true 只看未读）")
def list_notifications(page: Paging, unread: Annotated[bool, Query()] = False,
                       conn: Connection = Depends(connection),
                       principal: Principal = requires("subject.read_own")) -> Any:
    rows = service.for_subject(conn, principal, unread_only=unread, limit=page.limit + 1,
                               offset=page.offset)
    return page_of(rows, page)


@router.post("/notifications/read", response_model=ReadResult, summary="把本主体的通知标为已读")
def read_notifications(request: Request, body: ReadRequest,
                       principal: Principal = requires("subject.read_own")) -> Any:
    engine = engine_of(request)
    marked = service.mark_read(engine, actor(request, principal), principal, body.ids)
    return {"marked": marked, "unread": service.unread_count(engine, principal)}
