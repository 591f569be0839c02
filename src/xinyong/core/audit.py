"""The append-only, hash-chained audit log.

Every state change and every read of non-public data appends an event inside the same
transaction as the change itself. Each event's hash covers its content and the previous
event's hash, so editing or deleting any event breaks the chain from there on and
`verify` finds the first broken link.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, Connection, DateTime, String, Text, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, lock_for_append, utcnow

GENESIS = "0" * 64


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    object_type: Mapped[str] = mapped_column(String(32), nullable=False)
    object_id: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    source: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)


@dataclass(frozen=True)
class Actor:
    """Who acts: a person or system, its role and where the request came from."""

    name: str
    role: str | None = None
    source: str | None = None


SYSTEM = Actor("system", "system", "xinyong")


def _digest(prev: str, fields: dict[str, Any]) -> str:
    body = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev.encode() + body).hexdigest()


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    at = row["at"]
    return {
        "at": at.isoformat() if isinstance(at, datetime) else str(at),
        "actor": row["actor"], "role": row["role"], "action": row["action"],
        "object_type": row["object_type"], "object_id": row["object_id"],
        "subject_id": row["subject_id"], "source": row["source"], "detail": row["detail"],
    }


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    *,
    subject_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> str:
    """Append one event in the caller's transaction; returns its hash."""
    lock_for_append(conn, "audit_event")
    table = AuditEvent.__table__
    prev = conn.execute(
        select(table.c.hash).order_by(table.c.id.desc()).limit(1)
    ).scalar_one_or_none() or GENESIS
    row: dict[str, Any] = {
        "at": utcnow().replace(microsecond=0),
        "actor": actor.name, "role": actor.role, "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "subject_id": subject_id, "source": actor.source,
        "detail": orjson.dumps(detail or {}, option=orjson.OPT_SORT_KEYS).decode(),
    }
    row["prev_hash"] = prev
    row["hash"] = _digest(prev, _fields(row))
    conn.execute(insert(AuditEvent).values(**row))
    return str(row["hash"])


@dataclass(frozen=True)
class Verification:
    events: int
    ok: bool
    first_bad_id: int | None = None
    reason: str | None = None


def verify(conn: Connection) -> Verification:
    """Walk the chain in id order and report the first event whose link or content is wrong."""
    table = AuditEvent.__table__
    prev = GENESIS
    count = 0
    for row in conn.execute(select(table).order_by(table.c.id)).mappings():
        count += 1
        if row["prev_hash"] != prev:
            return Verification(count, False, row["id"], "前一事件的哈希不符（事件被删除或插入）")
        if _digest(prev, _fields(dict(row))) != row["hash"]:
            return Verification(count, False, row["id"], "事件内容与哈希不符（事件被修改）")
        prev = row["hash"]
    return Verification(count, True)
