"""Notification verbs: `notify` (called by the objections, repair and lists services inside
the transaction of the change), reading a subject's notifications, marking them read, and
delivering them through the configured channel.

Only enterprise accounts of the subject see its notifications: every read and write here
takes the principal and refuses any other (`check_own`).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from xinyong.accounts import service as accounts
from xinyong.accounts.rules import Forbidden, Principal
from xinyong.core import audit
from xinyong.core.db import Db, reading, transaction, utcnow
from xinyong.core.errors import CoreError, InvalidInput, NotFound
from xinyong.core.masking import mask_person_name
from xinyong.core.settings import get_settings
from xinyong.notifications import rules
from xinyong.notifications.error_codes import NotificationError
from xinyong.notifications.events import NotificationEvent
from xinyong.notifications.models import Notification
from xinyong.subjects.models import Subject

log = logging.getLogger("xinyong.notifications")
PAGE_MAX = 200
BEIJING = timedelta(hours=8)  # China Standard Time, no daylight saving; stored times are UTC


# --- writing ----------------------------------------------------------------------------------

def notify(db: Db, subject_id: int, event: str, case_type: str, case_ref: str | int,
           link: str, **facts: Any) -> int:
    """Tell the subject of a change of its case. Call it in the transaction of the change, so
    the notification exists if and only if the change does. Returns the notification's id."""
    with transaction(db) as conn:
        if case_type not in rules.CASE_TYPES:
            raise InvalidInput(f"未知的案件类别 {case_type}", code=NotificationError.UNKNOWN_CASE_TYPE)
        message = rules.compose(event, {"case_no": case_ref, **facts})
        result = conn.execute(insert(Notification).values(
            subject_id=subject_id, event=event, case_type=case_type, case_ref=str(case_ref)[:32],
            title=message.title, body=message.body, link=link[:300],
            action_needed=int(message.action_needed), created_at=utcnow().replace(microsecond=0),
            attempts=0))
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])


# --- who may see ------------------------------------------------------------------------------

def check_own(principal: Principal, uscc: str | None) -> None:
    """Only an account acting for this very subject."""
    if not principal.subject or principal.subject != uscc:
        raise Forbidden("只能查看本主体的通知", code=CoreError.NOT_OWN_SUBJECT)


def _subject_id(conn: Connection, uscc: str) -> int | None:
    s = Subject.__table__
    found = conn.execute(select(s.c.id).where(s.c.uscc == uscc).order_by(s.c.id).limit(1)).scalar()
    return int(found) if found is not None else None


def _row_view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "event": row.event, "case_type": row.case_type,
            "case_type_name": rules.CASE_TYPES.get(row.case_type, row.case_type),
            "case_ref": row.case_ref, "title": row.title, "body": row.body, "link": row.link,
            "action_needed": bool(row.action_needed), "created_at": row.created_at,
            "created_beijing": row.created_at + BEIJING,
            "read": row.read_at is not None, "read_at": row.read_at,
            "delivered": row.delivered_at is not None}


def for_subject(conn: Connection, principal: Principal, *, unread_only: bool = False,
                limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """The principal's subject's notifications, newest first."""
    uscc = principal.subject
    check_own(principal, uscc)
    assert uscc is not None
    subject_id = _subject_id(conn, uscc)
    if subject_id is None:
        return []
    n = Notification.__table__
    query = select(n).where(n.c.subject_id == subject_id)
    if unread_only:
        query = query.where(n.c.read_at.is_(None))
    query = query.order_by(n.c.id.desc()).limit(min(limit, PAGE_MAX)).offset(offset)
    return [_row_view(row) for row in conn.execute(query)]


def unread_count(db: Db, principal: Principal) -> int:
    """How many of the subject's notifications nobody of it has read; 0 for anyone else."""
    if not principal.subject:
        return 0
    with reading(db) as conn:
        subject_id = _subject_id(conn, principal.subject)
        if subject_id is None:
            return 0
        n = Notification.__table__
        return int(conn.execute(select(func.count()).select_from(n).where(
            n.c.subject_id == subject_id, n.c.read_at.is_(None))).scalar_one())


def mark_read(db: Db, actor: audit.Actor, principal: Principal,
              ids: Sequence[int] | None = None) -> int:
    """Mark the given notifications (or, with None, all) of the principal's subject read.
    A notification of another subject is refused and nothing changes. Audited
    `notification.read`; returns how many changed."""
    with transaction(db) as conn:
        uscc = principal.subject
        check_own(principal, uscc)
        assert uscc is not None
        subject_id = _subject_id(conn, uscc)
        n = Notification.__table__
        scope = n.c.subject_id == subject_id
        if ids is not None:
            wanted = sorted(set(ids))
            owners = {row.id: row.subject_id for row in conn.execute(
                select(n.c.id, n.c.subject_id).where(n.c.id.in_(wanted)))}
            missing = [i for i in wanted if i not in owners]
            if missing:
                raise NotFound(f"没有编号为 {missing[0]} 的通知",
                               code=NotificationError.NOTIFICATION_NOT_FOUND)
            if any(owner != subject_id for owner in owners.values()):
                raise Forbidden("只能查看本主体的通知", code=CoreError.NOT_OWN_SUBJECT)
            scope = scope & n.c.id.in_(wanted)
        if subject_id is None:
            return 0
        changed = conn.execute(update(Notification).where(scope, n.c.read_at.is_(None)).values(
            read_at=utcnow().replace(microsecond=0), read_by=actor.name[:128])).rowcount
        if changed:
            audit.record(conn, actor, NotificationEvent.READ, "subject", uscc, subject_id=subject_id,
                         detail={"ids": list(ids) if ids is not None else "all", "count": changed})
        return int(changed)


# --- delivery ---------------------------------------------------------------------------------

class LogChannel:
    """The default channel: one line in the application log per notification (operators
    see it; nobody outside is contacted)."""

    name = "log"

    def send(self, message: rules.Outgoing) -> None:
        to = "、".join(r.username for r in message.recipients) or "（该主体暂无企业账号）"
        log.info("通知 %s → %s（%s）：%s —— %s %s", message.id, message.subject_name, to,
                 message.title, message.body, message.link,
                 extra={"fields": {"notification": message.id, "subject": message.subject_uscc,
                                   "recipients": [r.username for r in message.recipients],
                                   "title": message.title, "link": message.link}})


def channel(name: str | None = None) -> rules.Channel:
    """The channel `name` (default: XINYONG_NOTIFICATION_CHANNEL): `log`, or a class named as
    `package.module:Class` whose instances have `name` and `send(message)`."""
    module, cls = rules.channel_spec(name or get_settings().notification_channel)
    if cls is None:
        return LogChannel()
    try:
        found = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(f"无法加载通知渠道 {module}:{cls}（{exc}）",
                           code=NotificationError.UNKNOWN_CHANNEL) from None
    made = found()
    if not callable(getattr(made, "send", None)):
        raise InvalidInput(f"通知渠道 {module}:{cls} 没有 send 方法", code=NotificationError.UNKNOWN_CHANNEL)
    made_channel: rules.Channel = made
    return made_channel


@dataclass(frozen=True)
class DeliveryReport:
    channel: str
    delivered: int
    failed: int
    pending: int  # still waiting after this run (failed, or beyond the limit)

    def as_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "delivered": self.delivered, "failed": self.failed,
                "pending": self.pending}


def _recipients(conn: Connection) -> dict[str, tuple[rules.Recipient, ...]]:
    found: dict[str, list[rules.Recipient]] = {}
    for a in accounts.list_accounts(conn):
        if a.active and a.subject_uscc:
            found.setdefault(a.subject_uscc, []).append(rules.Recipient(a.username, a.display_name))
    return {k: tuple(v) for k, v in found.items()}


def _pending(conn: Connection, limit: int) -> list[Any]:
    n, s = Notification.__table__, Subject.__table__
    return list(conn.execute(
        select(n.c.id, n.c.title, n.c.body, n.c.link, n.c.created_at, s.c.uscc, s.c.name, s.c.kind)
        .join(s, s.c.id == n.c.subject_id).where(n.c.delivered_at.is_(None))
        .order_by(n.c.id).limit(limit)))


def deliver(db: Db, actor: audit.Actor, using: rules.Channel | None = None, *,
            limit: int = 1000) -> DeliveryReport:
    """Send pending notifications, oldest first, through the channel; each sent one is marked
    delivered, each failure is counted and kept for the next run. Audited
    `notification.delivered` with the counts."""
    sender = using or channel()
    with reading(db) as conn:
        rows = _pending(conn, limit)
        to = _recipients(conn)
    sent: list[int] = []
    failed: dict[int, str] = {}
    for row in rows:
        person = row.kind == "natural_person"
        message = rules.Outgoing(
            id=row.id, subject_uscc=None if person else row.uscc,
            subject_name=(mask_person_name(row.name) or "") if person else row.name,
            title=row.title, body=row.body, link=row.link, created_at=row.created_at,
            recipients=to.get(row.uscc or "", ()))
        try:
            sender.send(message)
        except Exception as exc:  # a channel's failure is any exception: keep it and go on
            failed[row.id] = f"{type(exc).__name__}: {exc}"[:1000]
            continue
        sent.append(row.id)
    n = Notification.__table__
    with transaction(db) as conn:
        if sent:
            conn.execute(update(Notification).where(n.c.id.in_(sent)).values(
                delivered_at=utcnow().replace(microsecond=0), channel=sender.name[:100],
                attempts=n.c.attempts + 1, last_error=None))
        for nid, error in failed.items():
            conn.execute(update(Notification).where(n.c.id == nid).values(
                attempts=n.c.attempts + 1, last_error=error))
        pending = int(conn.execute(select(func.count()).select_from(n).where(
            n.c.delivered_at.is_(None))).scalar_one())
        if rows:
            audit.record(conn, actor, NotificationEvent.DELIVERED, "notification_channel", sender.name,
                         detail={"delivered": len(sent), "failed": len(failed), "pending": pending})
    return DeliveryReport(sender.name, len(sent), len(failed), pending)

