"""The audit log's names for what happens to notifications."""

from __future__ import annotations

from enum import StrEnum


class NotificationEvent(StrEnum):
    READ = "notification.read"  # an account of the subject marked some (or all) read
    DELIVERED = "notification.delivered"  # a delivery run, with its counts
