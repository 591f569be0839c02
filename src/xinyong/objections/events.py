"""The audit log's names for what happens to objection cases (the subject is notified of
each under the same name)."""

from __future__ import annotations

from enum import StrEnum


class ObjectionEvent(StrEnum):
    FILED = "objection.filed"
    DECIDED = "objection.decided"  # corrected, revoked, suspended, rejected or resumed
    # A decision "correct" stores a new version of the record. Ingest records the same
    # action when a batch supersedes a record: ingest (the lower layer) is to own the
    # constant, and this one is to give way to it once ingest declares it.
