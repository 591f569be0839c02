"""The audit log's names for what happens to list proposals and list entries (the subject is
notified of each under the same name)."""

from __future__ import annotations

from enum import StrEnum


class ListEvent(StrEnum):
    PROPOSED = "list.proposed"
    NOTIFIED = "list.notified"  # the notice (告知) sent: the objection period starts
    OBJECTED = "list.objected"
    DECIDED = "list.decided"  # listed: the entry is in force
    WITHDRAWN = "list.withdrawn"
    REMOVED = "list.removed"  # taken off by the deciding authority (移出)
    ENDED = "list.ended"  # ended early because the record or entry was repaired
