"""Tables of the web layer: the rate-limit counters every server process shares."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base


class RateLimitWindow(Base):
    """Requests one client (an address, an enterprise account or a token) made in one fixed
    window of time. In the database, so that every server process and every server counts
    the same requests; old windows are deleted as they pass."""

    __tablename__ = "rate_limit_window"
    __table_args__ = (Index("ix_rate_limit_window_window_start", "window_start"),)

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    # Unix seconds at which the window began (a multiple of the window's length).
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, nullable=False)
