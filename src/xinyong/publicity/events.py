"""The audit log's names for what happens to records' publicity."""

from __future__ import annotations

from enum import StrEnum


class PublicityEvent(StrEnum):
    STOPPED = "publicity.stopped"
    RESUMED = "publicity.resumed"
    RECOMPUTE = "publicity.recompute"
