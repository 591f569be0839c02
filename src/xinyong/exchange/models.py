"""The outbox: events for the upper-level platform, written in the transaction of the change
they report, and marked sent by whatever pushes them (so none is lost or sent twice)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId


class OutboundEvent(Base):
    __tablename__ = "outbound_event"
    __table_args__ = (Index("ix_outbound_event_unsent", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)  # e.g. repair.approved
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text, nullable=False)  # JSON
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
