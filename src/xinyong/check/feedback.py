"""Check feedback (执行反馈): per check and measure, what the caller did — applied, not applied
(with the reason) or not relevant — and what came of it; the checks still without feedback
after N working days; and per-department statistics (checks made, measures returned, feedback
given, feedback rate, overdue).

Feedback is append-only: one row per (check, measure), never updated, a second report refused
(`feedback_exists`); each report is audited (`check.feedback`) in the same transaction. Only the
department that made the check (or, for a check made without a department, the same caller)
may report on it or read it; staff (`quality.read`) may for any check.

Days are China Standard Time days (UTC+8, no daylight saving): the check log's `at` is naive
UTC, and a check made at 07:00 in Xiamen belongs to that day, not the UTC day before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import yaml
from sqlalchemy import JSON, Connection, Engine, and_, case, cast, exists, func, insert, select, type_coerce
from sqlalchemy.exc import IntegrityError

from xinyong.accounts.rules import Forbidden, Principal
from xinyong.check import service
from xinyong.check.error_codes import CheckError
from xinyong.check.events import CheckEvent
from xinyong.check.models import CheckFeedback, CheckLog
from xinyong.core import audit
from xinyong.core.dates import MAX_YEAR, MIN_YEAR, iso_utc
from xinyong.core.db import is_sqlite, utcnow, writing
from xinyong.core.errors import CoreError, InvalidInput, NotFound, RuleDataError
from xinyong.core.ruledata import rule_paths
from xinyong.core.workdays import WorkCalendar, default_calendar
from xinyong.subjects.models import Subject

FILE = "feedback.yaml"
DEFAULT_DUE_WORKING_DAYS = 5
OUTCOMES = {"applied": "已应用", "not_applied": "未应用", "not_relevant": "不适用"}
TEXT_LIMIT = 2000
ITEMS_LIMIT = 100
# Staff see (and may report on) every department's checks.
ALL_DEPARTMENTS = "quality.read"
CST = timedelta(hours=8)  # China Standard Time; the check log's `at` is naive UTC


# --- the rule: when feedback is due -----------------------------------------------------------

def paths(data_dir: Path | None = None) -> list[Path]:
    """The shipped file, then `$XINYONG_DATA_DIR/feedback.yaml` when there is one."""
    return rule_paths(FILE, data_dir)


def due_working_days(data_dir: Path | None = None) -> int:
    """Working days after the check's day by which feedback is expected (default 5); a
    locality's `feedback.yaml` overrides the shipped one. A bad value is a `RuleDataError`."""
    value: Any = DEFAULT_DUE_WORKING_DAYS
    for path in paths(data_dir):
        try:
            raw = yaml.safe_load(path.read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise RuleDataError(f"{path}：无法读取（{exc}）") from exc
        if not isinstance(raw, dict):
            raise RuleDataError(f"{path}：应为映射（due_working_days: 天数）")
        unknown = set(raw) - {"due_working_days"}
        if unknown:
            raise RuleDataError(f"{path}：未知的键 {'、'.join(sorted(map(str, unknown)))}")
        value = raw.get("due_working_days", value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 60:
        raise RuleDataError(f"{FILE}：due_working_days 应为 1 到 60 之间的整数，而不是 {value!r}")
    return value


def check_day(at: datetime) -> date:
    """The (China Standard Time) day of a check logged at naive UTC `at`."""
    return (at + CST).date()


def utc_start(day: date) -> datetime:
    """The naive UTC instant a China Standard Time day starts."""
    return datetime(day.year, day.month, day.day) - CST


def due_on(day: date, n: int, calendar: WorkCalendar | None = None) -> date:
    """The last day feedback on a check made on `day` is on time: the n-th working day after."""
    return (calendar or default_calendar()).add_workdays(day, n)


def overdue_before(today: date, n: int, calendar: WorkCalendar | None = None) -> date:
    """The first check day whose feedback is not yet overdue on `today`: a check made on a day
    before it, with measures and no feedback, is overdue (its due day is before today)."""
    cal = calendar or default_calendar()
    d = today
    while cal.add_workdays(d - timedelta(days=1), n) >= today:
        d -= timedelta(days=1)
    return d


# --- reporting --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Report:
    """One measure's feedback as given by the caller."""

    measure: str
    outcome: str
    reason: str | None
    result: str | None


def _text(value: Any, field: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{where}：{field} 应为文字", code=CheckError.INVALID_FEEDBACK)
    text = value.strip()
    if len(text) > TEXT_LIMIT:
        raise InvalidInput(f"{where}：{field} 不能超过{TEXT_LIMIT}个字符", code=CoreError.TOO_LONG)
    return text or None


def parse_reports(items: Sequence[Mapping[str, Any]]) -> list[Report]:
    """The caller's items, checked: a measure code, an outcome of `OUTCOMES`, a reason when not
    applied, each measure once. Refusals are `InvalidInput` with a stable code."""
    if not items:
        raise InvalidInput("请至少反馈一项措施的执行情况", code=CheckError.EMPTY_FEEDBACK)
    if len(items) > ITEMS_LIMIT:
        raise InvalidInput(f"一次最多反馈{ITEMS_LIMIT}项措施", code=CheckError.TOO_MANY_ITEMS)
    found: list[Report] = []
    for i, item in enumerate(items, 1):
        where = f"第{i}项"
        measure = _text(item.get("measure"), "measure", where)
        if not measure:
            raise InvalidInput(f"{where}：请填写措施代码（measure）", code=CheckError.MISSING_MEASURE)
        outcome = item.get("outcome")
        if outcome not in OUTCOMES:
            raise InvalidInput(f"{where}：执行情况（outcome）应为 "
                               + "、".join(f"{k}（{v}）" for k, v in OUTCOMES.items())
                               + f" 之一，而不是 {outcome!r}", code=CoreError.UNKNOWN_OUTCOME)
        reason = _text(item.get("reason"), "reason", where)
        if outcome == "not_applied" and not reason:
            raise InvalidInput(f"{where}：措施 {measure} 未应用，须说明原因（reason）",
                               code=CoreError.REASON_REQUIRED)
        if any(r.measure == measure for r in found):
            raise InvalidInput(f"{where}：措施 {measure} 重复反馈", code=CheckError.DUPLICATE_MEASURE)
        found.append(Report(measure, str(outcome), reason, _text(item.get("result"), "result", where)))
    return found


def _log_row(conn: Connection, check_id: str) -> Any:
    t = CheckLog.__table__
    return conn.execute(select(t).where(t.c.check_id == check_id)).first()


def find_check(engine: Engine, check_id: str) -> Any:
    """The check log row, waiting for this process's queued rows when it is not stored yet;
    an unknown id is `NotFound` (`unknown_check`)."""
    value = (check_id or "").strip()
    row = None
    if value and len(value) <= 32:
        with engine.connect() as conn:
            row = _log_row(conn, value)
        if row is None:
            service.flush_log(engine)
            with engine.connect() as conn:
                row = _log_row(conn, value)
    if row is None:
        raise NotFound(f"没有编号为 {value or '（空）'} 的核查记录", code=CheckError.UNKNOWN_CHECK)
    return row


def may_see(principal: Principal, row: Any) -> bool:
    """Staff, the department that made the check, or — for a check made without a
    department — the same caller."""
    if ALL_DEPARTMENTS in principal.permissions:
        return True
    if row.department is not None:
        return bool(principal.department == row.department)
    return bool(principal.name == row.caller)


def _own(principal: Principal, row: Any) -> None:
    if not may_see(principal, row):
        raise Forbidden(f"核查 {row.check_id} 不是本单位（{principal.department or principal.name}）"
                        "发起的，不能反馈或查看", code=CheckError.NOT_YOUR_CHECK)


def report(engine: Engine, principal: Principal, check_id: str, items: Sequence[Mapping[str, Any]],
           *, source: str = "api", today: date | None = None) -> dict[str, Any]:
    """Record the caller's feedback on the measures of one check; returns the check summary.
    Unknown check → `unknown_check` (404); another department's check → `not_your_check`
    (403); a measure the check did not return → `measure_not_in_check`; a measure already
    reported → `feedback_exists` (422). All or nothing."""
    reports = parse_reports(items)
    row = find_check(engine, check_id)
    _own(principal, row)
    returned = list(orjson.loads(row.result).get("measures", []))
    strangers = [r.measure for r in reports if r.measure not in returned]
    if strangers:
        raise InvalidInput(f"核查 {row.check_id} 未返回措施 {'、'.join(strangers)}（返回的措施："
                           f"{'、'.join(returned) or '无'}）", code=CheckError.MEASURE_NOT_IN_CHECK)
    f = CheckFeedback.__table__
    try:
        with writing(engine) as conn:
            done = set(conn.execute(select(f.c.measure).where(
                f.c.check_id == row.check_id, f.c.measure.in_([r.measure for r in reports]))).scalars())
            if done:
                raise _exists(row.check_id, done)
            at = utcnow()
            conn.execute(insert(CheckFeedback), [{
                "check_id": row.check_id, "measure": r.measure, "outcome": r.outcome,
                "reason": r.reason, "result": r.result, "reported_at": at,
                "reported_by": principal.name[:128], "department": principal.department}
                for r in reports])
            # No subject_id on the event: the check index reloads every subject an event names,
            # and feedback changes nothing it holds.
            audit.record(conn, principal.actor(source), CheckEvent.FEEDBACK, "check", row.check_id,
                         detail={"check_subject_id": row.subject_id,
                                 "measures": {r.measure: r.outcome for r in reports}})
    except IntegrityError as exc:  # a concurrent report of the same measure won the race
        raise _exists(row.check_id, {r.measure for r in reports}) from exc
    return summary(engine, principal, row.check_id, today=today)


def _exists(check_id: str, measures: set[str]) -> InvalidInput:
    return InvalidInput(f"核查 {check_id} 的措施 {'、'.join(sorted(measures))} 已反馈过；反馈不可修改",
                        code=CheckError.FEEDBACK_EXISTS)


# --- reading ------------------------------------------------------------------------------------

def summary(engine: Engine, principal: Principal, check_id: str, *,
            today: date | None = None) -> dict[str, Any]:
    """One check as logged, with its feedback and whether feedback is complete, pending or
    overdue. Only for those who may report on it (`not_your_check`)."""
    row = find_check(engine, check_id)
    _own(principal, row)
    result = orjson.loads(row.result)
    f = CheckFeedback.__table__
    with engine.connect() as conn:
        given = conn.execute(select(f).where(f.c.check_id == row.check_id).order_by(f.c.id)).all()
        subject = None if row.subject_id is None else conn.execute(
            select(Subject.uscc, Subject.name).where(Subject.id == row.subject_id)).first()
    catalog = service.current_catalog()
    names = {code: m.name for code, m in catalog.measures.items()}
    try:
        matter: dict[str, str] = {"code": row.matter, "name": catalog.matter(row.matter).name}
    except InvalidInput:
        matter = {"code": row.matter, "name": row.matter}
    measures = list(result.get("measures", []))
    reported = {g.measure for g in given}
    day = check_day(row.at)
    n = due_working_days()
    due = due_on(day, n)
    today = today or check_day(utcnow())
    pending = [m for m in measures if m not in reported]
    if not measures:
        status = "none_needed"
    elif not pending:
        status = "complete"
    elif not given and due < today:
        status = "overdue"
    else:
        status = "pending"
    return {
        "check_id": row.check_id, "batch_id": row.batch_id, "at": iso_utc(row.at), "day": day.isoformat(),
        "caller": row.caller, "department": row.department, "system": row.system, "matter": matter,
        "query": {"type": row.query_type, "value": row.query},
        "subject": None if subject is None else {"uscc": subject.uscc, "name": subject.name},
        "lists": list(result.get("lists", [])),
        "measures": [{"code": m, "name": names.get(m, m)} for m in measures],
        "records_marked": list(result.get("records_marked", [])),
        "feedback": [{"measure": g.measure, "outcome": g.outcome,
                      "outcome_name": OUTCOMES.get(g.outcome, g.outcome),
                      "reason": g.reason, "result": g.result, "reported_at": iso_utc(g.reported_at),
                      "reported_by": g.reported_by, "department": g.department} for g in given],
        "feedback_status": {"status": status, "due_on": due.isoformat() if measures else None,
                            "due_working_days": n, "pending": pending, "overdue": status == "overdue"},
    }


def _measure_count(conn: Connection) -> Any:
    """SQL: how many measure codes a check log row's `result` names."""
    t = CheckLog.__table__
    if is_sqlite(conn):
        return func.coalesce(func.json_array_length(t.c.result, "$.measures"), 0)
    doc = cast(t.c.result, JSON)
    return func.coalesce(func.json_array_length(type_coerce(doc["measures"], JSON)), 0)


def _scope(principal: Principal, department: str | None) -> str | None:
    """The department the statistics may cover: any (None) for staff, else the principal's."""
    wanted = (department or "").strip() or None
    if ALL_DEPARTMENTS in principal.permissions:
        return wanted
    if principal.department is None:
        raise Forbidden("统计核查反馈须以所属单位的账号或令牌查看", code=CoreError.NO_DEPARTMENT)
    if wanted is not None and wanted != principal.department:
        raise Forbidden(f"只能查看本单位（{principal.department}）的核查反馈统计",
                        code=CoreError.OTHER_DEPARTMENT)
    return principal.department


def stats(engine: Engine, principal: Principal, *, since: date | None = None, until: date | None = None,
          department: str | None = None, today: date | None = None) -> dict[str, Any]:
    """Per department over the check days `since`..`until` (inclusive; default the last 30
    days): checks made, checks and measures returned, feedback given (by outcome), feedback
    rate (measures reported / measures returned) and checks overdue without any feedback.
    Staff see every department (or the one asked for); others only their own."""
    today = today or check_day(utcnow())
    for label, day in (("起始日期", since), ("截止日期", until)):
        if day is not None and not MIN_YEAR <= day.year <= MAX_YEAR:
            raise InvalidInput(f"{label} {day.isoformat()} 不在 {MIN_YEAR}—{MAX_YEAR} 年之间",
                               code=CoreError.BAD_DATE)
    until = until or today
    since = since or until - timedelta(days=29)
    if since > until:
        raise InvalidInput(f"起始日期 {since} 晚于截止日期 {until}", code=CheckError.BAD_PERIOD)
    scope = _scope(principal, department)
    n = due_working_days()
    cutoff = utc_start(overdue_before(today, n))
    t, f = CheckLog.__table__, CheckFeedback.__table__
    where = [t.c.at >= utc_start(since), t.c.at < utc_start(until + timedelta(days=1))]
    if scope is not None:
        where.append(t.c.department == scope)
    rows: dict[str | None, dict[str, Any]] = {}

    def entry(dept: str | None) -> dict[str, Any]:
        return rows.setdefault(dept, {
            "department": dept, "checks": 0, "checks_with_measures": 0, "measures_returned": 0,
            "feedback_given": 0, "checks_with_feedback": 0,
            "outcomes": {k: 0 for k in OUTCOMES}, "feedback_rate": None, "overdue": 0})

    with engine.connect() as conn:
        count = _measure_count(conn)
        no_feedback = ~exists().where(f.c.check_id == t.c.check_id)
        for r in conn.execute(select(
                t.c.department, func.count(), func.sum(count),
                func.sum(case((count > 0, 1), else_=0)),
                func.sum(case((and_(count > 0, t.c.at < cutoff, no_feedback), 1), else_=0)))
                .where(*where).group_by(t.c.department)):
            e = entry(r[0])
            e["checks"], e["measures_returned"] = int(r[1]), int(r[2] or 0)
            e["checks_with_measures"], e["overdue"] = int(r[3] or 0), int(r[4] or 0)
        for r in conn.execute(select(t.c.department, f.c.outcome, func.count(),
                                     func.count(func.distinct(f.c.check_id)))
                              .select_from(f.join(t, t.c.check_id == f.c.check_id))
                              .where(*where).group_by(t.c.department, f.c.outcome)):
            e = entry(r[0])
            e["outcomes"][r[1]] = e["outcomes"].get(r[1], 0) + int(r[2])
            e["feedback_given"] += int(r[2])
        for r in conn.execute(select(t.c.department, func.count(func.distinct(f.c.check_id)))
                              .select_from(f.join(t, t.c.check_id == f.c.check_id))
                              .where(*where).group_by(t.c.department)):
            entry(r[0])["checks_with_feedback"] = int(r[1])
    for e in rows.values():
        if e["measures_returned"]:
            e["feedback_rate"] = round(e["feedback_given"] / e["measures_returned"], 4)
    ordered = sorted(rows.values(), key=lambda e: (e["department"] is None, e["department"] or ""))
    total = entry_total(ordered)
    return {"since": since.isoformat(), "until": until.isoformat(), "today": today.isoformat(),
            "due_working_days": n, "department": scope, "departments": ordered, "total": total}


def entry_total(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The departments' figures added up."""
    keys = ("checks", "checks_with_measures", "measures_returned", "feedback_given",
            "checks_with_feedback", "overdue")
    total: dict[str, Any] = {k: sum(int(r[k]) for r in rows) for k in keys}
    total["outcomes"] = {k: sum(int(r["outcomes"].get(k, 0)) for r in rows) for k in OUTCOMES}
    total["feedback_rate"] = (round(total["feedback_given"] / total["measures_returned"], 4)
                              if total["measures_returned"] else None)
    return total


def report_view(engine: Engine, principal: Principal, check_id: str, *,
                today: date | None = None) -> dict[str, Any]:
    """One check as a 核查报告: `summary` with each measure's type, basis and implementing body
    and each list's name (the log keeps codes; names and bases are the current catalog's), and
    the outcomes a feedback form offers. Same access as `summary`."""
    from xinyong.lists.service import current_kinds

    view = summary(engine, principal, check_id, today=today)
    catalog = service.current_catalog()
    for m in view["measures"]:
        found = catalog.measures.get(m["code"])
        m.update({"kind_name": found.kind_name, "basis": str(found.basis), "applied_by": found.applied_by,
                  "triggers": found.triggers_text()} if found is not None else
                 {"kind_name": "", "basis": "", "applied_by": "", "triggers": ""})
    kinds = current_kinds()
    view["list_names"] = [(k.name if (k := kinds.by_name_or_code(str(code))) else str(code))
                          for code in view["lists"]]
    given = {f["measure"]: f for f in view["feedback"]}
    for m in view["measures"]:
        m["feedback"] = given.get(m["code"])
    view["outcomes"] = OUTCOMES
    return view
