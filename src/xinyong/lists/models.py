"""List proposals (the admission workflow) and the entries their decisions create.

Entries decided by the authority itself arrive as `list_entry` records through ingest and are
not stored here; the service reads both. Whether an entry is active is derived from its dates
(`listed_on`, `ends_on`, `ended_on`) when asked, never kept as a flag.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId


class ListProposal(Base):
    """One admission case: proposal → notice → waiting period → decision, or withdrawal."""

    __tablename__ = "list_proposal"
    __table_args__ = (Index("ix_list_proposal_status", "status", "kind_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), nullable=False, index=True)
    kind_code: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # see rules.STATUS_NAMES
    facts: Mapped[str] = mapped_column(Text, nullable=False)
    basis: Mapped[str] = mapped_column(Text, nullable=False)  # the provision the facts meet
    record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"))
    proposed_on: Mapped[date] = mapped_column(Date, nullable=False)
    proposed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    proposed_by: Mapped[str] = mapped_column(String(128), nullable=False)
    notified_on: Mapped[date | None] = mapped_column(Date)
    notice_content: Mapped[str | None] = mapped_column(Text)
    notified_by: Mapped[str | None] = mapped_column(String(128))
    objection: Mapped[str | None] = mapped_column(Text)
    objected_on: Mapped[date | None] = mapped_column(Date)
    objected_by: Mapped[str | None] = mapped_column(String(128))
    decided_on: Mapped[date | None] = mapped_column(Date)
    decision_doc_no: Mapped[str | None] = mapped_column(String(128))
    objection_reply: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_by: Mapped[str | None] = mapped_column(String(128))


class ListEntry(Base):
    """A subject on a list by a decision of the workflow. `ends_on` is the term end
    (exclusive; None: until removed); `ended_on` the day it left early, and why."""

    __tablename__ = "list_entry"
    __table_args__ = (Index("ix_list_entry_kind", "kind_code", "listed_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("list_proposal.id"), nullable=False,
                                             unique=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), nullable=False, index=True)
    kind_code: Mapped[str] = mapped_column(String(64), nullable=False)
    list_type: Mapped[str] = mapped_column(String(8), nullable=False)
    authority: Mapped[str] = mapped_column(String(200), nullable=False)
    doc_no: Mapped[str] = mapped_column(String(128), nullable=False)
    basis: Mapped[str] = mapped_column(Text, nullable=False)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"), index=True)
    listed_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(16))  # repaired | removed
    end_note: Mapped[str | None] = mapped_column(Text)
    end_doc_no: Mapped[str | None] = mapped_column(String(128))
    end_case_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
