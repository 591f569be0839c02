"""The check log: one row per credit check (信用核查), the ground the check feedback (执行反馈)
builds on — feedback names a `check_id` and, per measure, one of the measure codes in that
check's `result`.

Checks are logged here, not row by row in the hash-chained audit log: appending to the chain
takes a lock on its last event, which would serialise every check of every server process
(a thousand a second), and a check changes no state. The log is append-only; nothing updates
or deletes its rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId


class CheckLog(Base):
    """One check: who asked (principal, role, department, system), about what (matter, query,
    resolved subject) and what was returned (`result`, JSON)."""

    __tablename__ = "check_log"
    __table_args__ = (
        # per-department statistics over a period (checks made, measures returned)
        Index("ix_check_log_department_at", "department", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # "HC" + 24 random hex digits: unguessable, so a check id given to a caller is a capability
    # to report feedback on that check and nothing else.
    check_id: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    # the batch call it was part of (its own check id for the batch as a whole); None: single
    batch_id: Mapped[str | None] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False)  # naive UTC
    caller: Mapped[str] = mapped_column(String(128), nullable=False)  # principal name
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    department: Mapped[str | None] = mapped_column(String(200))
    # the calling system: an API token's prefix ("xy_…"), else the channel (api/console/cli)
    system: Mapped[str | None] = mapped_column(String(128))
    matter: Mapped[str] = mapped_column(String(64), nullable=False)  # matter type code
    query_type: Mapped[str] = mapped_column(String(8), nullable=False)  # uscc | name
    query: Mapped[str] = mapped_column(String(200), nullable=False)
    # the resolved subject; None when not found (or a name with candidates only). No foreign
    # key: the log must never stop anything else, and it is distributed by subject like records.
    subject_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # {"lists": [kind codes], "measures": [measure codes], "records_marked": [record ids],
    #  "candidates": n}
    result: Mapped[str] = mapped_column(Text, nullable=False)


class CheckFeedback(Base):
    """What the caller did with one measure a check returned (执行反馈): applied, not applied
    (with the reason) or not relevant, and the outcome. Append-only: one row per check and
    measure, never updated; a second report for the same pair is refused."""

    __tablename__ = "check_feedback"
    __table_args__ = (
        UniqueConstraint("check_id", "measure", name="uq_check_feedback_check_id_measure"),
        Index("ix_check_feedback_department_reported_at", "department", "reported_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # the check_log row's check_id (no foreign key, like the log itself: see CheckLog.subject_id)
    check_id: Mapped[str] = mapped_column(String(32), nullable=False)
    measure: Mapped[str] = mapped_column(String(64), nullable=False)  # a code in the check's result
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)  # applied|not_applied|not_relevant
    reason: Mapped[str | None] = mapped_column(Text)  # required when not_applied
    result: Mapped[str | None] = mapped_column(Text)  # what came of it (办理结果)
    reported_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)  # naive UTC
    reported_by: Mapped[str] = mapped_column(String(128), nullable=False)  # principal name
    department: Mapped[str | None] = mapped_column(String(200))  # the reporter's department
