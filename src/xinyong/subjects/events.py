"""The audit actions about subjects."""

from __future__ import annotations

from enum import StrEnum


class SubjectEvent(StrEnum):
    # a staff member read a subject's full history (non-public data): the profile's
    # `read_history` writes it
    READ_FULL = "subject.read_full"
