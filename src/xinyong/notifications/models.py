"""The notification table: one row for each change of a case that its subject is told about.
Rows are written by the objections, repair and lists services inside the transaction of the
change itself, so a notification exists exactly when the change does."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        # the subject's own list, newest first, and its unread count
        Index("ix_notification_subject", "subject_id", "created_at"),
        # what `xinyong notifications deliver` still has to send
        Index("ix_notification_pending", "delivered_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), nullable=False)
    event: Mapped[str] = mapped_column(String(48), nullable=False)  # the audit action, e.g. repair.returned
    case_type: Mapped[str] = mapped_column(String(24), nullable=False)  # objection | repair | list
    case_ref: Mapped[str] = mapped_column(String(32), nullable=False)  # case number or proposal id
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    link: Mapped[str] = mapped_column(String(300), nullable=False)
    # true when the subject is asked to do something (补正 materials, a list notice to answer)
    action_needed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    read_by: Mapped[str | None] = mapped_column(String(128))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    channel: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
