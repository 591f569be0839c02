"""Warning verbs: the rules in force, the scan that raises warnings, reading them (scoped to the
reader's department) and closing one with an action.

The scan evaluates each rule as one SQL statement over the whole store (a group-by over the
subjects' records, list entries or grade changes, filtered by the threshold), then reads the
facts of the subjects it raises warnings for in chunks. Idempotent: a rule raises no second open
warning for a subject, and after a warning was closed raises a new one only when a triggering
fact newer than the closed warning's (`mark`: the highest triggering record / evaluation change
id, `mark_entry`: the highest workflow list entry id) exists — a new penalty, a new listing, a
new grade drop. Facts that merely persist do not warn twice.

Every raise and every close is an audited event in the same transaction (`warning.raised`,
`warning.closed`), and so is every reading of warnings (`warning.list_read`, `warning.read`):
they tell grade changes and enforcement facts, which are not public (SPEC §2.3). Each verb
opens its write transaction (or joins the caller's, `core.db.transaction`) and takes the
`Principal` it acts for: a department account sees and closes only the warnings addressed to
it (`scope_of`), decided here for every edge; None is the platform's operator at the command
line, who sees every warning.

The facts are the owners': records and subjects (the store kernel), list entries through the
lists service, grade changes through the evaluation service, revocations through publicity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from xinyong.accounts.rules import Forbidden, Principal, role_table
from xinyong.core import audit
from xinyong.core import uscc as uscc_rules
from xinyong.core.dates import MAX_YEAR, MIN_YEAR, iso
from xinyong.core.db import Db, is_sqlite, lock_for_append, reading, transaction, utcnow
from xinyong.core.errors import CoreError, InvalidInput, NotFound
from xinyong.core.masking import mask_person_name
from xinyong.core.ruledata import UntilChanged, rule_paths
from xinyong.evaluation import service as evaluation
from xinyong.lists import service as lists
from xinyong.publicity import service as publicity
from xinyong.subjects.models import Record, Subject
from xinyong.warnings import rules
from xinyong.warnings.error_codes import WarningsError
from xinyong.warnings.events import WarningEvent
from xinyong.warnings.models import RiskWarning, RiskWarningRecipient
from xinyong.warnings.rules import Rule

FILE = "warnings.yaml"
PERSON = "natural_person"
CHUNK = 500  # subjects per statement when reading the facts of raised warnings
Progress = Callable[[int, int], None]


# --- the rules in force ---------------------------------------------------------------------

def paths(data_dir: Path | None = None) -> list[Path]:
    """The shipped rules, then `$XINYONG_DATA_DIR/warnings.yaml` when there is one."""
    return rule_paths(FILE, data_dir)


_loaded = UntilChanged(rules.load)


def current_rules() -> rules.WarningRules:
    """The rules in force; remembered until a file changes. An invalid file is a
    `RuleDataError` naming the file, the entry and the reason."""
    return _loaded.get(paths())


def rules_view() -> dict[str, Any]:
    table = current_rules()
    return {"rules": [r.view() for r in table.rules.values()],
            "close_actions": [{"code": c, "name": n} for c, n in table.actions.items()]}


def scope_of(principal: Principal | None) -> str | None:
    """The department whose warnings the principal sees (None: all — the credit office, and
    the platform's operator at the command line, who acts without a principal)."""
    if principal is None:
        return None
    return rules.scope(principal, role_table().role(principal.role))


# --- the facts each condition kind counts, as SQL ----------------------------------------------

def _subjects(persons: bool) -> list[ColumnElement[bool]]:
    s = Subject.__table__
    return [] if persons else [s.c.kind != PERSON]


def _penalties(rule: Rule, as_of: date, *, persons: bool | None = None) -> list[ColumnElement[bool]]:
    """Current penalty records decided inside the rule's window, on subjects it watches. A
    penalty revoked after an objection is not a fact; a repaired one still happened."""
    r = Record.__table__
    start = rule.window_start(as_of)
    assert start is not None
    return [r.c.item_code == "penalty", r.c.status == "current", r.c.decision_date > start,
            r.c.decision_date <= as_of, ~publicity.revoked_by(r.c.id, as_of),
            *_subjects(rule.natural_persons if persons is None else persons)]


def _no_id() -> ColumnElement[Any]:
    """A typed NULL id: PostgreSQL takes an untyped NULL for text, which no id compares with."""
    return cast(null(), BigInteger)


def _json_text(sqlite: bool, column: Any, key: str) -> ColumnElement[Any]:
    if sqlite:
        extracted: ColumnElement[Any] = func.json_extract(column, f"$.{key}")
        return extracted
    astext: ColumnElement[Any] = cast(column, JSONB)[key].astext
    return astext


def _serious_entries(sqlite: bool, rule: Rule, as_of: date) -> Any:
    """Active entries on black lists of both sources (workflow decisions and list data), one
    row each: subject_id, kind (code), entry_id | record_id, department, listed_on. Whether an
    entry is active is the lists service's own condition, so warnings and checks agree."""
    table = lists.current_kinds()
    black = [k for k in table.kinds.values() if k.list_type == "black"]
    e = lists.workflow_entries_on(as_of).subquery("entry")
    r, s = Record.__table__, Subject.__table__
    rec = Record.__table__.alias("based_on")
    workflow = (select(e.c.subject_id, e.c.kind_code.label("kind"), e.c.id.label("entry_id"),
                       _no_id().label("record_id"),
                       func.coalesce(rec.c.department, e.c.authority).label("department"),
                       e.c.listed_on.label("listed_on"))
                .select_from(e.join(s, s.c.id == e.c.subject_id)
                             .outerjoin(rec, rec.c.id == e.c.record_id))
                .where(e.c.kind_code.in_([k.code for k in black]), *_subjects(rule.natural_persons)))
    named = _json_text(sqlite, r.c.payload, "list_kind")
    by_name = {k.name: k.code for k in black} | {k.code: k.code for k in black}
    data = (select(r.c.subject_id, case(by_name, value=named, else_=named).label("kind"),
                   _no_id().label("entry_id"), r.c.id.label("record_id"),
                   r.c.department.label("department"), r.c.decision_date.label("listed_on"))
            .select_from(r.join(s, s.c.id == r.c.subject_id))
            .where(lists.data_entry_active_on(sqlite, as_of, as_of.isoformat()),
                   named.in_(list(by_name)), *_subjects(rule.natural_persons)))
    return union_all(workflow, data).subquery("serious")


def _results(rule: Rule, as_of: date) -> Any:
    """The recorded results dated on or before `as_of` of the rule's scorecard (or all), each
    with the result before it: the evaluation's own `consecutive_results`."""
    return evaluation.consecutive_results(as_of, rule.scorecard)


def _grade_drops(rule: Rule, as_of: date, results: Any) -> list[ColumnElement[bool]]:
    """A drop is between two consecutive results of one scorecard version, the later dated in
    the window; the first result under a new version is a new baseline, not a drop (its grades
    mean something else)."""
    start = rule.window_start(as_of)
    assert start is not None
    u = results.c
    return [u.before_rank.is_not(None), u.before_version == u.version,
            u.grade_rank - u.before_rank >= rule.threshold, u.as_of > start]


def _candidates(conn: Connection, rule: Rule, as_of: date) -> Select[Any]:
    """Per subject reaching the threshold: the value and the marks of its newest facts."""
    s = Subject.__table__
    if rule.kind in ("penalty_count", "penalty_departments"):
        r = Record.__table__
        value = func.count() if rule.kind == "penalty_count" else func.count(func.distinct(r.c.department))
        return (select(r.c.subject_id, value.label("value"), func.max(r.c.id).label("mark"),
                       _no_id().label("mark_entry"))
                .select_from(r.join(s, s.c.id == r.c.subject_id)).where(*_penalties(rule, as_of))
                .group_by(r.c.subject_id).having(value >= rule.threshold))
    if rule.kind == "serious_lists":
        u = _serious_entries(is_sqlite(conn), rule, as_of)
        value = func.count(func.distinct(u.c.kind))
        return (select(u.c.subject_id, value.label("value"), func.max(u.c.record_id).label("mark"),
                       func.max(u.c.entry_id).label("mark_entry"))
                .group_by(u.c.subject_id).having(value >= rule.threshold))
    u = _results(rule, as_of)
    return (select(u.c.subject_id, func.max(u.c.grade_rank - u.c.before_rank).label("value"),
                   func.max(u.c.id).label("mark"), _no_id().label("mark_entry"))
            .where(*_grade_drops(rule, as_of, u)).group_by(u.c.subject_id))


def _fresh(conn: Connection, rule: Rule, as_of: date) -> list[Any]:
    """The candidates without an open warning of the rule and with a fact newer than any
    closed one's."""
    cand = _candidates(conn, rule, as_of).subquery("candidate")
    w = RiskWarning.__table__
    known = exists().where(
        w.c.rule_code == rule.code, w.c.subject_id == cand.c.subject_id,
        or_(w.c.status == rules.OPEN,
            and_(func.coalesce(w.c.mark, 0) >= func.coalesce(cand.c.mark, 0),
                 func.coalesce(w.c.mark_entry, 0) >= func.coalesce(cand.c.mark_entry, 0))))
    return list(conn.execute(select(cand).where(~known).order_by(cand.c.subject_id)))


# --- the facts of the warnings raised ---------------------------------------------------------

Facts = dict[int, dict[str, Any]]


def _penalty_facts(conn: Connection, rule: Rule, as_of: date, ids: Sequence[int]) -> Facts:
    r = Record.__table__
    start = rule.window_start(as_of)
    assert start is not None
    where = [*_penalties(rule, as_of), r.c.subject_id.in_(list(ids))]
    s = Subject.__table__
    base = r.join(s, s.c.id == r.c.subject_id)
    facts: dict[int, dict[str, Any]] = {
        i: {"window": {"from": _next_day(start), "to": as_of.isoformat()}, "penalties": 0,
            "departments": [], "record_ids": [], "record_ids_capped": False} for i in ids}
    for row in conn.execute(select(r.c.subject_id, r.c.department, func.count().label("n"))
                            .select_from(base).where(*where).group_by(r.c.subject_id, r.c.department)
                            .order_by(r.c.subject_id, func.count().desc(), r.c.department)):
        f = facts[row.subject_id]
        f["penalties"] += int(row.n)
        f["departments"].append({"department": row.department, "penalties": int(row.n)})
    order = func.row_number().over(partition_by=r.c.subject_id,
                                   order_by=(r.c.decision_date.desc(), r.c.id.desc())).label("n")
    ranked = select(r.c.subject_id, r.c.id, order).select_from(base).where(*where).subquery()
    for row in conn.execute(select(ranked.c.subject_id, ranked.c.id)
                            .where(ranked.c.n <= rules.FACT_IDS_CAP)
                            .order_by(ranked.c.subject_id, ranked.c.n)):
        facts[row.subject_id]["record_ids"].append(int(row.id))
    for f in facts.values():
        f["record_ids_capped"] = f["penalties"] > len(f["record_ids"])
    return facts


def _list_facts(conn: Connection, rule: Rule, as_of: date, ids: Sequence[int]) -> Facts:
    u = _serious_entries(is_sqlite(conn), rule, as_of)
    names = {k.code: k.name for k in lists.current_kinds().kinds.values()}
    facts: dict[int, dict[str, Any]] = {i: {"on": as_of.isoformat(), "lists": [], "entries": [],
                                            "departments": []} for i in ids}
    for row in conn.execute(select(u).where(u.c.subject_id.in_(list(ids)))
                            .order_by(u.c.subject_id, u.c.kind, u.c.listed_on)):
        f = facts[row.subject_id]
        if len(f["entries"]) < rules.FACT_IDS_CAP:
            ref = f"L{row.entry_id}" if row.entry_id is not None else f"R{row.record_id}"
            f["entries"].append({"ref": ref, "kind": row.kind, "department": row.department,
                                 "listed_on": iso(row.listed_on)})
        if not any(x["kind"] == row.kind for x in f["lists"]):
            f["lists"].append({"kind": row.kind, "name": names.get(row.kind, row.kind)})
        if row.department not in f["departments"]:
            f["departments"].append(row.department)
    for f in facts.values():
        f["departments"] = [{"department": d} for d in f["departments"]]
    return facts


def _grade_facts(conn: Connection, rule: Rule, as_of: date, ids: Sequence[int]) -> Facts:
    """The newest qualifying drop of each subject, and the departments that penalised it in
    the window (they receive the warning)."""
    u = _results(rule, as_of)
    order = func.row_number().over(partition_by=u.c.subject_id,
                                   order_by=(u.c.as_of.desc(), u.c.run_id.desc(), u.c.id.desc())).label("n")
    ranked = select(u, order).where(*_grade_drops(rule, as_of, u), u.c.subject_id.in_(list(ids))).subquery()
    facts: dict[int, dict[str, Any]] = {}
    for row in conn.execute(select(ranked).where(ranked.c.n == 1)):
        facts[row.subject_id] = {
            "scorecard": row.scorecard, "version": row.version, "change_id": int(row.id),
            "run_id": int(row.run_id), "as_of": iso(row.as_of), "score": int(row.score),
            "grade": row.grade, "previous_grade": row.before_grade,
            "drop": int(row.grade_rank - row.before_rank), "departments": []}
    r = Record.__table__
    for row in conn.execute(select(r.c.subject_id, r.c.department, func.count().label("n"))
                            .where(*_penalties(rule, as_of, persons=True), r.c.subject_id.in_(list(ids)))
                            .group_by(r.c.subject_id, r.c.department)
                            .order_by(r.c.subject_id, func.count().desc(), r.c.department)):
        if row.subject_id in facts:
            facts[row.subject_id]["departments"].append({"department": row.department,
                                                         "penalties": int(row.n)})
    return facts


FACTS = {"penalty_count": _penalty_facts, "penalty_departments": _penalty_facts,
         "serious_lists": _list_facts, "grade_drop": _grade_facts}


def _next_day(d: date) -> str:
    return date.fromordinal(d.toordinal() + 1).isoformat()


# --- the scan -------------------------------------------------------------------------------

def scan(db: Db, actor: audit.Actor, as_of: date | None = None, *,
         only: Sequence[str] | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Evaluate every rule in force (or the codes in `only`) on `as_of` (default today) and
    raise the new warnings, each with its facts, recipients and a `warning.raised` event, in
    one transaction. Returns {as_of, raised, rules: [{code, name, raised}], warnings: [ids]}."""
    day = as_of or date.today()
    if not MIN_YEAR < day.year <= MAX_YEAR:  # the window reaches back up to years before it
        raise InvalidInput(f"扫描日 {day.isoformat()} 不在 {MIN_YEAR + 1}—{MAX_YEAR} 年之间",
                           code=CoreError.BAD_DATE)
    table = current_rules()
    chosen = [table.rule(code) for code in only] if only else list(table.rules.values())
    raised: list[int] = []
    per_rule: list[dict[str, Any]] = []
    at = utcnow().replace(microsecond=0)
    with transaction(db) as conn:
        lock_for_append(conn, RiskWarning.__tablename__)  # two scans at once would race
        for done, rule in enumerate(chosen, 1):
            fresh = _fresh(conn, rule, day)
            new = 0
            for start in range(0, len(fresh), CHUNK):
                chunk = fresh[start:start + CHUNK]
                facts = FACTS[rule.kind](conn, rule, day, [c.subject_id for c in chunk])
                for cand in chunk:
                    if cand.subject_id in facts:
                        raised.append(_raise(conn, actor, rule, day, cand, facts[cand.subject_id], at))
                        new += 1
            per_rule.append({"code": rule.code, "name": rule.name, "raised": new})
            if progress is not None:
                progress(done, len(chosen))
    return {"as_of": day.isoformat(), "raised": len(raised), "rules": per_rule, "warnings": raised}


def _raise(conn: Connection, actor: audit.Actor, rule: Rule, day: date, cand: Any,
           facts: dict[str, Any], at: Any) -> int:
    recipients = list(dict.fromkeys(
        [d["department"] for d in facts["departments"]] if rule.triggering_recipients else []))
    recipients += [d for d in rule.also if d not in recipients]
    summary = rules.summary(rule, facts)
    result = conn.execute(insert(RiskWarning).values(
        rule_code=rule.code, rule_name=rule.name, rule_kind=rule.kind, threshold=rule.threshold,
        severity=rule.severity, subject_id=cand.subject_id, open_subject_id=cand.subject_id,
        status=rules.OPEN, as_of=day, value=int(cand.value), summary=summary,
        facts=orjson.dumps(facts).decode(), mark=cand.mark, mark_entry=cand.mark_entry,
        raised_at=at, raised_by=actor.name[:128]))
    pk = result.inserted_primary_key
    assert pk is not None
    warning_id = int(pk[0])
    if recipients:
        conn.execute(insert(RiskWarningRecipient),
                     [{"warning_id": warning_id, "department": d[:200]} for d in recipients])
    audit.record(conn, actor, WarningEvent.RAISED, "risk_warning", warning_id, subject_id=cand.subject_id,
                 detail={"rule": rule.code, "value": int(cand.value), "as_of": day.isoformat(),
                         "summary": summary, "recipients": recipients})
    return warning_id


# --- reading --------------------------------------------------------------------------------

def _addressed_to(department: str) -> ColumnElement[bool]:
    w, t = RiskWarning.__table__, RiskWarningRecipient.__table__
    return exists().where(t.c.warning_id == w.c.id, t.c.department == department)


def _department(own: str | None, wanted: str | None) -> str | None:
    """The department filter: the reader's own for a department account (asking for another
    is refused), any or the one asked for otherwise."""
    value = (wanted or "").strip() or None
    if own is None:
        return value
    if value is not None and value != own:
        raise Forbidden(f"只能查看发给本部门（{own}）的预警", code=CoreError.OTHER_DEPARTMENT)
    return own


def _subject_view(row: Any) -> dict[str, Any]:
    person = row.subject_kind == PERSON
    return {"uscc": None if person else row.uscc,
            "name": (mask_person_name(row.subject_name) if person else row.subject_name) or "",
            "kind": row.subject_kind}


def _recipients(conn: Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    t = RiskWarningRecipient.__table__
    found: dict[int, list[str]] = {}
    if ids:
        for row in conn.execute(select(t.c.warning_id, t.c.department)
                                .where(t.c.warning_id.in_(list(ids))).order_by(t.c.id)):
            found.setdefault(row.warning_id, []).append(row.department)
    return found


def _view(row: Any, recipients: list[str], *, full: bool) -> dict[str, Any]:
    actions = current_rules().actions
    view: dict[str, Any] = {
        "id": row.id, "rule": {"code": row.rule_code, "name": row.rule_name, "kind": row.rule_kind,
                               "threshold": int(row.threshold)},
        "severity": row.severity, "severity_name": rules.SEVERITIES.get(row.severity, row.severity),
        "status": row.status, "status_name": rules.STATUS_NAMES.get(row.status, row.status),
        "subject": _subject_view(row), "as_of": iso(row.as_of), "value": int(row.value),
        "summary": row.summary, "recipients": recipients,
        "raised_at": row.raised_at.isoformat() + "Z", "raised_by": row.raised_by,
        "closed": None if row.status != rules.CLOSED else {
            "on": iso(row.closed_on), "at": row.closed_at.isoformat() + "Z" if row.closed_at else None,
            "by": row.closed_by, "department": row.close_department, "action": row.close_action,
            "action_name": actions.get(row.close_action or "", row.close_action), "note": row.close_note},
    }
    if full:
        view["facts"] = orjson.loads(row.facts)
    return view


def _select() -> Select[Any]:
    w, s = RiskWarning.__table__, Subject.__table__
    return select(w, s.c.uscc, s.c.name.label("subject_name"), s.c.kind.label("subject_kind")) \
        .join(s, s.c.id == w.c.subject_id)


def warnings(db: Db, reader: audit.Actor, principal: Principal | None, *, status: str | None = None,
             rule: str | None = None, severity: str | None = None, department: str | None = None,
             uscc: str | None = None, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
    """Warnings, open ones first, then newest; a department account (`scope_of` the
    principal) sees only the warnings addressed to it. A warning tells grade changes and
    enforcement facts, which are not public (SPEC §2.3): the reading is an audited
    `warning.list_read` event naming the filters and the warnings shown."""
    own = scope_of(principal)
    w, s = RiskWarning.__table__, Subject.__table__
    query = _select()
    if status:
        if status not in rules.STATUS_NAMES:
            raise InvalidInput(f"状态应为 {'、'.join(f'{k}（{v}）' for k, v in rules.STATUS_NAMES.items())}"
                               " 之一", code=WarningsError.UNKNOWN_STATUS)
        query = query.where(w.c.status == status)
    if rule:
        query = query.where(w.c.rule_code == rule.strip())
    if severity:
        if severity not in rules.SEVERITIES:
            raise InvalidInput(f"预警级别应为 {'、'.join(rules.SEVERITIES)} 之一",
                               code=WarningsError.UNKNOWN_SEVERITY)
        query = query.where(w.c.severity == severity)
    dept = _department(own, department)
    if dept is not None:
        query = query.where(_addressed_to(dept))
    if uscc:
        code = uscc_rules.normalise(uscc)
        query = query.where(s.c.uscc == code)
    with transaction(db) as conn:
        rows = list(conn.execute(query.order_by(case((w.c.status == rules.OPEN, 0), else_=1),
                                                w.c.id.desc()).limit(limit).offset(offset)))
        found = _recipients(conn, [r.id for r in rows])
        filters = {"status": status, "rule": rule, "severity": severity, "department": dept, "uscc": uscc}
        audit.record(conn, reader, WarningEvent.LIST_READ, "risk_warning", None,
                     subject_id=rows[0].subject_id if uscc and rows else None,
                     detail={"filters": {k: v for k, v in filters.items() if v}, "limit": limit,
                             "offset": offset, "warnings": [int(r.id) for r in rows]})
    return [_view(r, found.get(r.id, []), full=False) for r in rows]


def counts(db: Db, principal: Principal) -> dict[str, int]:
    """Open warnings by severity, of those addressed to the principal's department (a
    department account's scope, `scope_of`) or all: the console home's to-do count. Only
    numbers: no warning is read."""
    own = scope_of(principal)
    w = RiskWarning.__table__
    query = select(w.c.severity, func.count()).where(w.c.status == rules.OPEN)
    if own is not None:
        query = query.where(_addressed_to(own))
    with reading(db) as conn:
        found = {str(severity): int(n) for severity, n in conn.execute(query.group_by(w.c.severity))}
    return {"open": sum(found.values()), **found}


def _row(conn: Connection, warning_id: int) -> Any:
    w = RiskWarning.__table__
    row = conn.execute(_select().where(w.c.id == warning_id)).first()
    if row is None:
        raise NotFound(f"没有编号为 {warning_id} 的预警", code=WarningsError.UNKNOWN_WARNING)
    return row


def warning(db: Db, reader: audit.Actor, principal: Principal | None, warning_id: int) -> dict[str, Any]:
    """One warning with its facts; a department account only if it is addressed to it. The
    reading is an audited `warning.read` event (not public data, SPEC §2.3); a refused reading
    shows nothing and records nothing."""
    own = scope_of(principal)
    with transaction(db) as conn:
        view, subject_id = _detail(conn, own, warning_id)
        audit.record(conn, reader, WarningEvent.READ, "risk_warning", warning_id, subject_id=subject_id,
                     detail={"rule": view["rule"]["code"], "status": view["status"]})
    return view


def _detail(conn: Connection, own: str | None, warning_id: int) -> tuple[dict[str, Any], int]:
    """The warning's full view and its subject, once the reader's scope allows it."""
    row = _row(conn, warning_id)
    recipients = _recipients(conn, [warning_id]).get(warning_id, [])
    rules.check_addressed(own, recipients, warning_id)
    return _view(row, recipients, full=True), int(row.subject_id)


def close(db: Db, actor: audit.Actor, principal: Principal | None, warning_id: int, action: str | None,
          note: str | None, day: date | None = None, *, department: str | None = None) -> dict[str, Any]:
    """Close an open warning with an action (约谈, 整改 …, code or name) and a note of what was
    done; audited `warning.closed`. A department account closes only warnings addressed to it;
    `department` records who handled it when the closer is not bound to one. Refused, changing
    nothing: no or an unknown action, no note, already closed, another department's."""
    own = scope_of(principal)
    with transaction(db) as conn:
        row = _row(conn, warning_id)
        recipients = _recipients(conn, [warning_id]).get(warning_id, [])
        rules.check_addressed(own, recipients, warning_id)
        code = current_rules().action(action)
        text = rules.check_close(row.status, note)
        on = day or date.today()
        handled_by = own or ((department or "").replace("\x00", "").strip()[:200] or None)
        w = RiskWarning.__table__
        done = conn.execute(update(RiskWarning).where(w.c.id == warning_id, w.c.status == rules.OPEN).values(
            status=rules.CLOSED, open_subject_id=None, closed_on=on,
            closed_at=utcnow().replace(microsecond=0), closed_by=actor.name[:128],
            close_department=handled_by, close_action=code, close_note=text))
        if done.rowcount != 1:
            raise InvalidInput("该预警已被他人处置，请刷新后查看", code=CoreError.CONCURRENT_CHANGE)
        audit.record(conn, actor, WarningEvent.CLOSED, "risk_warning", warning_id, subject_id=row.subject_id,
                     detail={"rule": row.rule_code, "action": code, "note": text, "on": on.isoformat(),
                             "department": handled_by})
        return _detail(conn, own, warning_id)[0]  # the close event covers what the closer sees
