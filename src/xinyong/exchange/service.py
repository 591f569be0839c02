"""Outbox verbs: add an event for the upper-level platform; read those not yet sent."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, insert, select

from xinyong.core.db import Db, transaction, utcnow
from xinyong.exchange.models import OutboundEvent


def emit(db: Db, type: str, subject_id: int | None, payload: dict[str, Any]) -> int:
    """Queue one event in the transaction of the change (the caller's connection is given):
    it exists exactly when the change does."""
    with transaction(db) as conn:
        result = conn.execute(insert(OutboundEvent).values(
            type=type, subject_id=subject_id,
            payload=orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode(),
            created_at=utcnow().replace(microsecond=0)))
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])


def pending(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Events not yet sent, oldest first."""
    t = OutboundEvent.__table__
    rows = conn.execute(select(t).where(t.c.sent_at.is_(None)).order_by(t.c.id).limit(limit)).mappings()
    return [{"id": r["id"], "type": r["type"], "subject_id": r["subject_id"],
             "payload": orjson.loads(r["payload"]), "created_at": r["created_at"]} for r in rows]
