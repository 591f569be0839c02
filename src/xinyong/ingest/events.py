"""The audit log's names for what happens to submitted files and the records they bring."""

from __future__ import annotations

from enum import StrEnum


class IngestEvent(StrEnum):
    BATCH = "ingest.batch"  # a file stored as a batch
    RECORD_CORRECTED = "record.corrected"  # a record superseded by a batch's new version
    BATCH_REFUSED = "batch.refused"  # a file or request refused, nothing stored
    BATCH_FAILED = "batch.failed"  # the platform failed while storing a file (rolled back)
    ERROR_REPORT_READ = "batch.error_report_read"
