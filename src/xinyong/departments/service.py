"""Department registry verbs: read the registry, register a department (audited), and the
checks the edges use — a web form or API call names only a registered department; an
operator's command that names a new one registers it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson
from sqlalchemy import Connection, insert, select

from xinyong.core import audit
from xinyong.core.db import Db, transaction, utcnow
from xinyong.core.errors import InvalidInput
from xinyong.core.ruledata import UntilChanged, rule_paths
from xinyong.departments import rules
from xinyong.departments.error_codes import DepartmentError
from xinyong.departments.events import DepartmentEvent
from xinyong.departments.models import Department as DepartmentRow
from xinyong.departments.rules import Department, Registry

_loaded = UntilChanged(rules.load)


def _from_files(data_dir: Path | None = None) -> tuple[rules.Fields, tuple[Department, ...]]:
    return _loaded.get(rule_paths(rules.FILE, data_dir))


def registry(conn: Connection) -> Registry:
    """Every department: those of the rules files and those registered in the store."""
    fields, listed = _from_files()
    t = DepartmentRow.__table__
    stored = [Department(r.name, tuple(orjson.loads(r.aliases)), tuple(orjson.loads(r.reports_for)),
                         tuple(orjson.loads(r.any_authority_for)), r.uscc, "registered")
              for r in conn.execute(select(t))]
    return rules.combine(fields, listed, stored)


class UnknownDepartment(InvalidInput):
    code = DepartmentError.UNKNOWN_DEPARTMENT


def require(conn: Connection, name: str | None) -> Department:
    """The registered department `name` stands for (its name or an alias); raises
    `UnknownDepartment` — a typo never becomes a new department."""
    clean = rules.clean_name(name)
    found = registry(conn).find(clean)
    if found is None:
        raise UnknownDepartment(f"部门“{clean}”尚未登记；请从部门列表中选择，或由管理员用"
                                "“xinyong departments add”登记")
    return found


def show(conn: Connection, name: str) -> Department:
    found = registry(conn).find(rules.clean_name(name))
    if found is None:
        raise UnknownDepartment(f"部门“{name.strip()}”尚未登记")
    return found


def register(db: Db, actor: audit.Actor, name: str, *, aliases: Sequence[str] = (),
             reports_for: Sequence[str] = (), any_authority_for: Sequence[str] = (),
             uscc: str | None = None) -> Department:
    """Register a department in the store, with its audit event."""
    with transaction(db) as conn:
        clean = rules.clean_name(name)
        spellings = [rules.clean_name(a) for a in aliases]
        bodies = [rules.clean_name(b) for b in reports_for]
        code = rules.clean_uscc(uscc)
        current = registry(conn)
        for n in (clean, *spellings):
            taken = current.find(n)
            if taken is not None:
                raise InvalidInput(f"“{n}”已登记为部门“{taken.name}”（或其别名）",
                                   code=DepartmentError.DEPARTMENT_EXISTS)
        if code and any(d.uscc == code for d in current.departments.values()):
            raise InvalidInput(f"统一社会信用代码 {code} 已属于另一已登记部门",
                               code=DepartmentError.DEPARTMENT_EXISTS)
        conn.execute(insert(DepartmentRow).values(
            name=clean, aliases=orjson.dumps(spellings).decode(),
            reports_for=orjson.dumps(bodies).decode(),
            any_authority_for=orjson.dumps(list(any_authority_for)).decode(), uscc=code,
            registered_at=utcnow(), registered_by=actor.name[:128]))
        audit.record(conn, actor, DepartmentEvent.REGISTERED, "department", clean, detail={
            "aliases": spellings, "reports_for": bodies, "any_authority_for": list(any_authority_for),
            "uscc": code})
        return Department(clean, tuple(spellings), tuple(bodies), tuple(any_authority_for), code)


def ensure(db: Db, actor: audit.Actor, name: str | None) -> tuple[Department, bool]:
    """The department `name` stands for, registered first if it is new (an operator's command
    on the server names it: scripted loads keep working). True when it was registered now."""
    with transaction(db) as conn:
        clean = rules.clean_name(name)
        found = registry(conn).find(clean)
        if found is not None:
            return found, False
        return register(conn, actor, clean), True


def names(conn: Connection) -> list[str]:
    return registry(conn).names()


def canonical(conn: Connection, name: str | None) -> str | None:
    """The registered name `name` stands for (an alias becomes the name), or `name` itself."""
    if name is None:
        return None
    found = registry(conn).find(name)
    return found.name if found is not None else name
