"""Subjects, their names over time, the credit records held about them, and the 重错码 queue.

Large tables carry `subject_id` so they can be distributed by subject (e.g. Citus).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId


class Subject(Base):
    __tablename__ = "subject"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # uscc for organisations; a derived key when there is none (工商注册号, or a hash of a
    # natural person's identity document, so the key itself never reveals the number).
    key: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    name_since: Mapped[date | None] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    region: Mapped[str | None] = mapped_column(String(6))
    reg_no: Mapped[str | None] = mapped_column(String(50))
    org_code: Mapped[str | None] = mapped_column(String(50))
    legal_rep: Mapped[str | None] = mapped_column(String(50))
    legal_rep_id_type: Mapped[str | None] = mapped_column(String(32))
    legal_rep_id_number: Mapped[str | None] = mapped_column(String(64))
    id_type: Mapped[str | None] = mapped_column(String(32))
    id_number: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class SubjectName(Base):
    """Names a subject has been reported under other than its current one (former names)."""

    __tablename__ = "subject_name"
    __table_args__ = (UniqueConstraint("subject_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    first_seen: Mapped[date | None] = mapped_column(Date)
    last_seen: Mapped[date | None] = mapped_column(Date)


class Record(Base):
    """One version of a credit record. A correction adds a version and supersedes the old
    one; nothing is updated in place except that `status` marker."""

    __tablename__ = "record"
    __table_args__ = (
        # source_key = db.source_key(department, item_code, doc_no): finds a document's
        # versions at its source through an integer index.
        UniqueConstraint("source_key", "version"),
        # The portal's listings of what is in publicity, newest decisions first.
        Index("ix_record_publicity", "item_code", "published", "decision_date"),
        # A subject's records; and the batch evaluation's one grouped pass reads every column it
        # needs from this index in subject order, never the rows with their JSON payload
        # (xinyong.evaluation.sql). It replaced the plain (subject_id) index: one index less
        # for every ingested row to write.
        Index("ix_record_subject_evaluation", "subject_id", "item_code", "status", "decision_date",
              "publicity_tier", "department"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), nullable=False)
    source_key: Mapped[int] = mapped_column(BigInteger, nullable=False)
    item_code: Mapped[str] = mapped_column(String(32), nullable=False)
    department: Mapped[str] = mapped_column(String(100), nullable=False)
    doc_no: Mapped[str] = mapped_column(String(128), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # current | superseded
    decision_date: Mapped[date] = mapped_column(Date, nullable=False)
    received_date: Mapped[date] = mapped_column(Date, nullable=False)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), nullable=False)
    row_no: Mapped[int] = mapped_column(Integer, nullable=False)
    catalog_version_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_version.id"), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    # 64-bit blake2b of the payload (db.payload_hash): a re-submitted row is matched against the
    # record's earlier versions in SQL. None for versions stored before it existed.
    payload_hash: Mapped[int | None] = mapped_column(BigInteger)
    # The publicity window (xinyong.publicity), computed once when the version is stored and
    # kept with the regime it was computed under. Being in publicity on a day is derived from
    # these when asked (`publicity.service.in_publicity`), never stored as a flag.
    publicity_tier: Mapped[str | None] = mapped_column(String(8))  # 轻微/一般/严重; None: no tiers
    published: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    publicity_start: Mapped[date | None] = mapped_column(Date)
    publicity_repair_from: Mapped[date | None] = mapped_column(Date)
    publicity_end: Mapped[date | None] = mapped_column(Date)  # exclusive; None: open-ended
    publicity_regime: Mapped[str | None] = mapped_column(String(16))  # None: not yet computed


class UsccIssue(Base):
    """The 重错码 work queue: one row per detected problem, kept until staff resolve it."""

    __tablename__ = "uscc_issue"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    detected_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolution: Mapped[str | None] = mapped_column(Text)


class SubjectSearch(Base):
    """The name search index: one row per name of a subject (current and former), with the
    tokens it is found by (`xinyong.subjects.rules.name_tokens`). `id` is the name's order
    key (`rules.order_key`), so index order is ranking order. SQLite indexes `tokens` in the
    FTS5 table `subject_search_fts`, PostgreSQL in a GIN index; both are made by migration
    0002, which also adds the triggers that queue changed subjects in SubjectSearchQueue."""

    __tablename__ = "subject_search"
    __table_args__ = (
        # PostgreSQL's token index (SQLite's is the FTS5 table); alembic cannot compare
        # expression indexes on SQLite and skips it there.
        Index("ix_subject_search_tokens", text("string_to_array(tokens, ' ')"),
              postgresql_using="gin").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    # No foreign key: the index is derived data and must never stop a subject being deleted;
    # the refresh after the deletion removes its names.
    subject_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    tokens: Mapped[str] = mapped_column(Text, nullable=False)


class SubjectSearchQueue(Base):
    """Subjects created, renamed, given a former name or deleted since the search index was
    last refreshed; filled by triggers, emptied by `xinyong.subjects.search.refresh`."""

    __tablename__ = "subject_search_queue"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_id: Mapped[int] = mapped_column(BigInteger, nullable=False)


# SQLite's index of `subject_search.tokens`: an FTS5 virtual table made by migration 0002
# (virtual tables cannot be models), with shadow tables named after it.
SEARCH_FTS_TABLE = "subject_search_fts"


def is_search_fts_table(name: str) -> bool:
    """Whether a table is the FTS5 index or one of its shadow tables: schema comparisons
    against the models skip these (alembic's `include_name`)."""
    return name == SEARCH_FTS_TABLE or name.startswith(SEARCH_FTS_TABLE + "_")
