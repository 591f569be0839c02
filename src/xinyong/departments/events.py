"""The audit log's names for what happens to the department registry."""

from __future__ import annotations

from enum import StrEnum


class DepartmentEvent(StrEnum):
    REGISTERED = "department.registered"
