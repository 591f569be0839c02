"""What `xinyong demo` writes besides the batches it ingests: the city's departments, the
search index over its new subjects, and the credit office's first risk warnings. Each is
one transaction of its own, as the platform's own verbs are."""

from __future__ import annotations

from collections.abc import Mapping

from xinyong.core.audit import SYSTEM
from xinyong.core.db import Db, transaction
from xinyong.demo.accounts import busiest_department
from xinyong.departments import service as departments
from xinyong.subjects import search
from xinyong.warnings import service as warnings


def register_departments(db: Db, codes: Mapping[str, str | None]) -> None:
    """The city's departments (name → 统一社会信用代码) into the registry, those not there yet,
    as a platform going live lists its departments before they report."""
    with transaction(db) as conn:
        known = departments.registry(conn)
        for name, code in sorted(codes.items()):
            if known.find(name) is None:
                departments.register(conn, SYSTEM, name, uscc=code)


def refresh_search(db: Db) -> None:
    """Make the subjects the demo's batches brought findable by name."""
    with transaction(db) as conn:
        search.refresh(conn)


def raise_warnings(db: Db) -> tuple[int, str]:
    """The risk warnings of the demo city (how many were raised) and the department that
    reported most (whose inspection plan the demo draws)."""
    with transaction(db) as conn:
        raised = int(warnings.scan(conn, SYSTEM)["raised"])
        return raised, busiest_department(conn)
