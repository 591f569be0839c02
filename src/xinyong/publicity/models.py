"""Why a record left publicity before its window ended: a correction or revocation after an
objection, a suspension while one is examined, an approved repair."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId


class PublicityStop(Base):
    """The record is out of publicity from `since` until `until` (exclusive; None: for good).
    Rows are only added, and `until` set once when a suspension is lifted: the history of why a
    record entered and left publicity is these rows and their audit events."""

    __tablename__ = "publicity_stop"
    __table_args__ = (Index("ix_publicity_stop_record", "record_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), nullable=False)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), nullable=False)
    reason: Mapped[str] = mapped_column(String(16), nullable=False)  # see rules.STOP_REASONS
    since: Mapped[date] = mapped_column(Date, nullable=False)
    until: Mapped[date | None] = mapped_column(Date)
    # the case that decided it: ("objection", "YY…"), ("repair", "XF…") …
    case_type: Mapped[str] = mapped_column(String(16), nullable=False)
    case_id: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
