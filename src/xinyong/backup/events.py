"""The audit actions of backup and restore (a backup changes nothing: it is not audited)."""

from __future__ import annotations

from enum import StrEnum


class BackupEvent(StrEnum):
    STORE_RESTORED = "store.restored"  # the store was restored from a backup (or pg_restore)
