"""The audit actions of credit risk warnings."""

from __future__ import annotations

from enum import StrEnum


class WarningEvent(StrEnum):
    RAISED = "warning.raised"  # a scan raised a warning, with its facts' summary and recipients
    LIST_READ = "warning.list_read"  # warnings were listed (not public data, SPEC §2.3)
    READ = "warning.read"  # one warning was read with its facts
    CLOSED = "warning.closed"  # a warning was closed with an action and a note
