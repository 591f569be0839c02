"""What an attacker with DDL rights on the database does before rewriting the audit log: drop
the triggers that make `audit_event` append-only. Tests that show tampering is detected start
here, as such an attacker would."""

from __future__ import annotations

from sqlalchemy import Connection, text


def drop_append_only_guard(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_delete"))
    else:
        conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event"))
