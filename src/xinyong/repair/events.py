"""The audit log's names for what happens to repair cases (the subject is notified of each
step under the same name)."""

from __future__ import annotations

from enum import StrEnum


class RepairEvent(StrEnum):
    APPLIED = "repair.applied"
    ACCEPTED = "repair.accepted"
    RETURNED = "repair.returned"  # back to the applicant for missing materials (补正)
    RESUBMITTED = "repair.resubmitted"
    APPROVED = "repair.approved"  # publicity stops (or the entry ends) that day
    REJECTED = "repair.rejected"
    MATERIAL_READ = "repair.material_read"  # a reviewer opened a filed material (not public)


# The steps of a case, in the words its history shows them.
STEPS = (RepairEvent.APPLIED, RepairEvent.ACCEPTED, RepairEvent.RETURNED,
         RepairEvent.RESUBMITTED, RepairEvent.APPROVED, RepairEvent.REJECTED)
