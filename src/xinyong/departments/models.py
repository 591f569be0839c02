"""Departments registered at run time (the rules files list the others)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base


class Department(Base):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    # JSON lists of text: other spellings, bodies it reports for, items any body may decide.
    aliases: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    reports_for: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    any_authority_for: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    uscc: Mapped[str | None] = mapped_column(String(18))
    registered_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    registered_by: Mapped[str] = mapped_column(String(128), nullable=False)
