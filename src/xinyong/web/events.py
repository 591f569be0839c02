"""The audit log's names for what the web kit itself records (refused requests of the
permission kind are `accounts.events.AccountEvent.ACCESS_*`)."""

from __future__ import annotations

from enum import StrEnum


class WebEvent(StrEnum):
    UPLOAD_REFUSED = "upload.refused"  # a body refused unread (its caller) or too large
