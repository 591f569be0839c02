"""The demo city's sign-ins: one account per role that signs in with a password, and an
API token for a business system. Demo only: every password is the same, printed openly."""

from __future__ import annotations

from sqlalchemy import Connection

from xinyong.accounts import service
from xinyong.accounts.rules import role_table
from xinyong.accounts.service import AccountView
from xinyong.core.audit import SYSTEM
from xinyong.core.db import Db, transaction
from xinyong.core.errors import NotFound
from xinyong.ingest import service as ingest

DEMO_PASSWORD = "xinyong-demo-2026"
TOKEN_NAME = "演示业务系统"


def busiest_department(db: Db) -> str:
    """The department that reported most: the demo's accounts and plans act for it."""
    return ingest.busiest_department(db) or "演示部门"


def sign_ins(db: Db, password: str, subject: str | None) -> tuple[list[AccountView], str | None]:
    """The demo's accounts (`ensure_accounts`) and its system token (`ensure_token`: its
    secret, or None when it was made before), in one transaction."""
    with transaction(db) as conn:
        return ensure_accounts(conn, password, subject), ensure_token(conn)


def ensure_accounts(conn: Connection, password: str, subject: str | None) -> list[AccountView]:
    """`demo-<role>` for every password role; reporters and the like get the department that
    reported most, so their console has data; the enterprise account acts for `subject` (a
    subject with a penalty in publicity), and is skipped without one. Existing accounts are
    left as they are."""
    department = busiest_department(conn)
    made = []
    for code, role in role_table().roles.items():
        if "password" not in role.credentials or (role.subject == "required" and not subject):
            continue
        username = f"demo-{code}"
        try:
            made.append(service.get_account(conn, username))
            continue
        except NotFound:
            pass
        made.append(service.create_account(
            conn, SYSTEM, username, code, password=password, display_name=f"演示{role.name}",
            department=department if role.department == "required" else None,
            subject=subject if role.subject == "required" else None))
    return made


def ensure_token(conn: Connection) -> str | None:
    """A system token for the busiest department, made once; None when it exists already."""
    if any(t.name == TOKEN_NAME for t in service.list_tokens(conn)):
        return None
    secret, _ = service.create_token(conn, SYSTEM, "system", busiest_department(conn),
                                     name=TOKEN_NAME, days=365)
    return secret
