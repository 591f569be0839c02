"""The audit actions of the credit check (a check itself goes to the check log, not the
audit log)."""

from __future__ import annotations

from enum import StrEnum


class CheckEvent(StrEnum):
    FEEDBACK = "check.feedback"  # a department's feedback on the measures of one check
