"""Repair cases and the materials filed with them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId


class RepairCase(Base):
    """One application to end a penalty record's publicity, or to leave a list early. Its
    status moves only through `repair.service` (the state machine of
    `repair.rules.TRANSITIONS`); each move is an audit event `repair.*` with the actor, the day
    and the reason."""

    __tablename__ = "repair_case"
    __table_args__ = (
        Index("ix_repair_case_record", "record_id"),
        Index("ix_repair_case_entry", "entry_id"),
        Index("ix_repair_case_queue", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(18), nullable=False, unique=True)
    # kind `penalty`: the penalty record; kind `list_exit`: the `list_entry` record of a list
    # entry submitted as data, or None for an entry the lists workflow decided (`entry_id`)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("list_entry.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # penalty | list_exit
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # see rules.STATUSES
    statement: Mapped[str] = mapped_column(Text, nullable=False)
    applicant: Mapped[str] = mapped_column(String(128), nullable=False)
    applied_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    applied_on: Mapped[date] = mapped_column(Date, nullable=False)
    # the day the current status began and when staff must act on it (None: not waiting
    # for staff); whether it is overdue is derived on asking
    step_since: Mapped[date] = mapped_column(Date, nullable=False)
    due_on: Mapped[date | None] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)  # of the latest staff step
    missing: Mapped[str | None] = mapped_column(Text)  # JSON list: what a return asks for
    rounds: Mapped[int] = mapped_column(Integer, nullable=False)  # 1 + resubmissions


class RepairMaterial(Base):
    """A file filed with a case, kept under `files_dir/repairs/<case_no>/`."""

    __tablename__ = "repair_material"
    __table_args__ = (Index("ix_repair_material_case", "case_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("repair_case.id"), nullable=False)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), nullable=False)
    material: Mapped[str] = mapped_column(String(32), nullable=False)  # rules Material.code
    filename: Mapped[str] = mapped_column(String(255), nullable=False)  # as sent
    stored: Mapped[str] = mapped_column(String(255), nullable=False)  # relative to files_dir
    file_type: Mapped[str] = mapped_column(String(8), nullable=False)  # by signature
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
