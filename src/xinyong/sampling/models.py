"""Inspection plans, their published draw inputs, the sampled subjects and the inspection
results.

A plan's inputs (parameters, seed, the population snapshot with each subject's grade) are
stored as published text and never changed after the draw; `verify` re-runs the draw from
them. Results are append-only: one per sampled subject, never updated.
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
)
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId


class SamplingPlan(Base):
    """One plan: created → drawn (or cancelled before its draw)."""

    __tablename__ = "sampling_plan"
    __table_args__ = (Index("ix_sampling_plan_department_id", "department", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    department: Mapped[str] = mapped_column(String(200), nullable=False)
    scorecard: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # created | drawn | cancelled
    # rules.Plan.parameters() as JSON: scope, ratios, multipliers, inspector pool
    parameters: Mapped[str] = mapped_column(Text, nullable=False)
    seed: Mapped[str | None] = mapped_column(String(128))
    seed_generated: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
    drawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    drawn_by: Mapped[str | None] = mapped_column(String(128))
    # The published inputs of the draw: {"ratios": …, "population": [[uscc, grade], …]}
    inputs: Mapped[str | None] = mapped_column(Text)
    population_size: Mapped[int | None] = mapped_column(Integer)
    population_sha256: Mapped[str | None] = mapped_column(String(64))
    sample_sha256: Mapped[str | None] = mapped_column(String(64))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class SamplingDraw(Base):
    """One sampled subject of a plan and its assigned inspectors, in USCC order (`position`)."""

    __tablename__ = "sampling_draw"
    __table_args__ = (UniqueConstraint("plan_id", "subject_id"), UniqueConstraint("plan_id", "position"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("sampling_plan.id"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    subject_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    uscc: Mapped[str] = mapped_column(String(18), nullable=False)
    grade: Mapped[str | None] = mapped_column(String(8))
    inspectors: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of names


class SamplingResult(Base):
    """The result of inspecting one sampled subject (检查结果), and the credit record it became."""

    __tablename__ = "sampling_result"
    __table_args__ = (UniqueConstraint("plan_id", "subject_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("sampling_plan.id"), nullable=False)
    subject_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    findings: Mapped[str | None] = mapped_column(Text)
    inspected_on: Mapped[date] = mapped_column(Date, nullable=False)
    inspectors: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of names
    batch_id: Mapped[int | None] = mapped_column(BigInteger)  # the ingest batch of its record
    recorded_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(128), nullable=False)
