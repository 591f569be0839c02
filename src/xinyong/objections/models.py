"""Objection cases (异议). A case row holds where the case stands and its latest decision; every
transition is also an audit event (`objection.filed`, `objection.decided`), which is the
case's history."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId


class Objection(Base):
    __tablename__ = "objection"
    __table_args__ = (
        Index("ix_objection_record", "record_id"),
        # the source department's queue, by status
        Index("ix_objection_queue", "department", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(18), nullable=False, unique=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), nullable=False)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), nullable=False)
    department: Mapped[str] = mapped_column(String(100), nullable=False)  # the record's source
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # see rules.STATUSES
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    # [{"name", "stored", "kind", "size"}] — files under files_dir/objections/<case_no>/
    attachments: Mapped[str] = mapped_column(Text, nullable=False)
    filed_on: Mapped[date] = mapped_column(Date, nullable=False)
    filed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    filed_by: Mapped[str] = mapped_column(String(128), nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    # the latest decision (suspend, then resume / revoke / correct, is two)
    action: Mapped[str | None] = mapped_column(String(16))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    changes: Mapped[str | None] = mapped_column(Text)  # a correction's field values, JSON
    corrected_record_id: Mapped[int | None] = mapped_column(BigInteger)  # the new version
    stop_id: Mapped[int | None] = mapped_column(BigInteger)  # the publicity stop it made
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
