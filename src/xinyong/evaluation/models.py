"""Evaluation runs, the current result per subject and scorecard, and the history of changes.

Results are derived data, recomputed from the store by `service.evaluate`; they carry
`subject_id` (the distribution key) without a foreign key, like the check log, so that a
recomputation never stops anything else and the tables can be sharded by subject.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId


class EvaluationRun(Base):
    """One batch evaluation: which scorecard (and version), as of which day, full or
    incremental, how many organisations it evaluated and how many natural persons it skipped.
    The watermarks are the highest ids of records, list entries and audit events the run saw:
    the next run of the scorecard re-evaluates only subjects touched after them."""

    __tablename__ = "evaluation_run"
    __table_args__ = (Index("ix_evaluation_run_scorecard_id", "scorecard", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scorecard: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[str] = mapped_column(String(32), nullable=False)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    mode: Mapped[str] = mapped_column(String(16), nullable=False)  # full | incremental
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)  # naive UTC
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    evaluated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    skipped_natural_persons: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    record_watermark: Mapped[int | None] = mapped_column(BigInteger)
    list_watermark: Mapped[int | None] = mapped_column(BigInteger)
    audit_watermark: Mapped[int | None] = mapped_column(BigInteger)
    # sha256 of the scorecard, industries and list kinds the run used (`rules.fingerprint`): a
    # run under different rules is never incremental (null before migration 0018)
    rules_hash: Mapped[str | None] = mapped_column(String(64))


class EvaluationResult(Base):
    """The current result of one subject under one scorecard (one row per pair, replaced by
    each run that re-evaluates the subject)."""

    __tablename__ = "evaluation_result"
    __table_args__ = (
        # distribution reports and grade-stratified sampling read by scorecard and grade
        Index("ix_evaluation_result_scorecard_grade_rank", "scorecard", "grade_rank"),
    )

    subject_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    scorecard: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(32), nullable=False)
    run_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    grade: Mapped[str] = mapped_column(String(8), nullable=False)
    grade_rank: Mapped[int] = mapped_column(Integer, nullable=False)  # 0 = best grade
    industry: Mapped[str | None] = mapped_column(String(8))  # GB/T 4754 门类 code (data/industries.yaml)
    district: Mapped[str | None] = mapped_column(String(6))  # the subject's 6-digit region
    # {indicator code: {"value": n, "points": p}}
    indicators: Mapped[str] = mapped_column(Text, nullable=False)
    reasons: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of Chinese sentences
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)  # naive UTC


class EvaluationChange(Base):
    """History: one row per subject per run where the result is new or its score or grade
    changed. `previous_grade`/`previous_rank` are None the first time a subject is graded.
    Runs only move forward in as_of (`service.evaluate` refuses an earlier one), so a row always
    compares two consecutive results. `version` is the scorecard version of the new result,
    `previous_version` that of the result it replaced: when they differ the change comes (at
    least partly) from the scorecard, not the subject, and is no grade drop. (Rows written before
    migration 0018 have `previous_version` null.)"""

    __tablename__ = "evaluation_change"
    __table_args__ = (
        Index("ix_evaluation_change_scorecard_run_id", "scorecard", "run_id"),
        Index("ix_evaluation_change_subject_id", "subject_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    scorecard: Mapped[str] = mapped_column(String(64), nullable=False)
    run_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    grade: Mapped[str] = mapped_column(String(8), nullable=False)
    grade_rank: Mapped[int] = mapped_column(Integer, nullable=False)
    previous_grade: Mapped[str | None] = mapped_column(String(8))
    previous_rank: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[str | None] = mapped_column(String(32))
    previous_version: Mapped[str | None] = mapped_column(String(32))
