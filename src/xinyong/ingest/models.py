"""Batches (one submitted file each) and the rows returned to the department."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId


class Batch(Base):
    __tablename__ = "batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    item_code: Mapped[str] = mapped_column(String(32), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    format: Mapped[str] = mapped_column(String(8), nullable=False)
    encoding: Mapped[str | None] = mapped_column(String(16))
    source_path: Mapped[str] = mapped_column(Text, nullable=False)
    error_report: Mapped[str | None] = mapped_column(Text)
    received_date: Mapped[date] = mapped_column(Date, nullable=False)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    submitted_by: Mapped[str] = mapped_column(String(128), nullable=False)
    catalog_version_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_version.id"), nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    accepted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rejected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    new: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    corrected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # rows identical to an older version of their record: returned, nothing changed
    stale: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    on_time: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    late: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # JSON: {"reason_code": count}, and the source columns no field took.
    rejection_reasons: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    unknown_columns: Mapped[str] = mapped_column(Text, nullable=False, default="[]")


class Rejection(Base):
    """A row returned to the department (退回), kept whole with every reason."""

    __tablename__ = "rejection"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), nullable=False, index=True)
    row_no: Mapped[int] = mapped_column(Integer, nullable=False)
    reasons: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of {field, code, message}
    raw: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of the row's cells
    # For a valid row refused only as an in-batch duplicate: its record's source key and its
    # payload's hash, so sending the refused row again is known as stale, not a correction.
    source_key: Mapped[int | None] = mapped_column(BigInteger, index=True)
    payload_hash: Mapped[int | None] = mapped_column(BigInteger)


class BatchIdAllocation(Base):
    """One row: the last batch id handed out on SQLite. Ids are taken in a transaction of
    their own, committed before the batch's, so a batch that rolls back still used its id up
    (SQLite would otherwise give it to the next batch; PostgreSQL's sequence never does)."""

    __tablename__ = "batch_id_allocation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, nullable=False)
