"""Types the API documents the same way everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# Timestamps are stored as naive UTC; they leave with their offset, as RFC 3339 wants.
UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
