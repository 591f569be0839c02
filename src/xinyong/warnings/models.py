"""Risk warnings and the departments each one is addressed to.

A warning is raised by a scan and closed once, with an action and a note; it keeps the facts
that triggered it as they were on the day of the scan. `open_subject_id` is the subject's id
while the warning is open and NULL once closed: unique with the rule, it makes a second open
warning for the same rule and subject impossible even when two scans race (NULLs never clash,
so closed warnings pile up freely as history).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId


class RiskWarning(Base):
    __tablename__ = "risk_warning"
    __table_args__ = (
        UniqueConstraint("rule_code", "open_subject_id"),
        # the console's list: open warnings first, newest first
        Index("ix_risk_warning_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_code: Mapped[str] = mapped_column(String(64), nullable=False)
    # the rule as it was when the warning was raised (a locality may change it later)
    rule_name: Mapped[str] = mapped_column(String(200), nullable=False)
    rule_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    threshold: Mapped[int] = mapped_column(BigInteger, nullable=False)
    severity: Mapped[str] = mapped_column(String(8), nullable=False)  # high | medium | low
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), nullable=False, index=True)
    open_subject_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8), nullable=False)  # open | closed
    as_of: Mapped[date] = mapped_column(Date, nullable=False)  # the scan day
    value: Mapped[int] = mapped_column(BigInteger, nullable=False)  # what reached the threshold
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    facts: Mapped[str] = mapped_column(Text, nullable=False)  # JSON, see service.scan
    # The highest ids of the triggering facts (records or evaluation changes; workflow list
    # entries): after a close, a new warning needs a fact above these — a new one.
    mark: Mapped[int | None] = mapped_column(BigInteger)
    mark_entry: Mapped[int | None] = mapped_column(BigInteger)
    raised_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)  # naive UTC
    raised_by: Mapped[str] = mapped_column(String(128), nullable=False)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by: Mapped[str | None] = mapped_column(String(128))
    close_department: Mapped[str | None] = mapped_column(String(200))
    close_action: Mapped[str | None] = mapped_column(String(32))
    close_note: Mapped[str | None] = mapped_column(Text)


class RiskWarningRecipient(Base):
    """One department a warning is addressed to (whose records or entries triggered it, or
    named by the rule)."""

    __tablename__ = "risk_warning_recipient"
    __table_args__ = (
        UniqueConstraint("warning_id", "department"),
        Index("ix_risk_warning_recipient_department", "department", "warning_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("risk_warning.id"), nullable=False)
    department: Mapped[str] = mapped_column(String(200), nullable=False)
