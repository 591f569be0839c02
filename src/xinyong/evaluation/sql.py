"""The batch evaluation as SQL: one set-based pass in the database for all organisations (or
the subjects changed since the last run), on SQLite and PostgreSQL alike.

The statements, in one transaction (`run`):
1. (incremental) `eval_changed`: subjects touched by records, list entries or audit events
   after the last run's watermarks.
2. `eval_stage`: one row per evaluated organisation — each indicator's value and points and the
   score — from ONE grouped pass over the record table (conditional aggregates, read from the
   covering index `ix_record_subject_evaluation`, no JSON on this path) left-joined with one
   grouped pass over the active list entries, the industry read off the name by a CASE.
3. `evaluation_change`: the rows whose score or grade differ from the current result (or that
   are new), with the previous grade.
4. `evaluation_result`: the old results of the evaluated subjects deleted and the new ones
   inserted with the grade, the indicators JSON and the reasons JSON built by concatenation.

Bins, points and grades are CASE expressions generated from the scorecard; they compute what
`rules.points_for`, `rules.grade_for` and `rules.reasons` compute in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    BindParameter,
    Connection,
    Date,
    DateTime,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.sql.elements import ClauseElement, TextClause

from xinyong.core.audit import AuditEvent
from xinyong.core.dates import add_months
from xinyong.core.db import is_sqlite
from xinyong.evaluation import rules
from xinyong.lists import service as lists
from xinyong.publicity import service as publicity
from xinyong.subjects.models import Record

STAGE = "eval_stage"
CHANGED = "eval_changed"
RECORD_FEATURES = {"penalty_count", "penalty_departments", "licence_count", "record_years"}
LIST_FEATURES = {"serious_list_count": "black", "red_list_count": "red"}
DAYS_PER_YEAR = 365  # record_years: whole years = days // 365
# Part of the rules fingerprint of a run (`rules.fingerprint`): raise it whenever what a feature
# computes changes, so that the next run is a full one. 2: record_years counts licences only.
REVISION = 2


@dataclass(frozen=True)
class Watched:
    """A source of changes whose highest id is one of a run's watermarks: how to read it, and
    (PostgreSQL) how to settle it — a SHARE lock, which waits for every transaction writing."""

    name: str
    lock: Callable[[Connection], None]
    watermark: Callable[[Connection], int]


def _table(table: Any) -> Watched:
    """A kernel or core table (records, audit events) a run reads itself."""
    def lock(conn: Connection) -> None:
        conn.execute(text(f"LOCK TABLE {table.name} IN SHARE MODE"))

    def watermark(conn: Connection) -> int:
        return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())
    return Watched(table.name, lock, watermark)


# What a run has seen: records, workflow list entries (the lists' own) and audit events.
WATCHED: tuple[Watched, ...] = (_table(Record.__table__),
                                Watched("list entries", lists.lock_entries, lists.entry_watermark),
                                _table(AuditEvent.__table__))


def watermarks(conn: Connection) -> tuple[int, int, int]:
    """The highest record, list entry and audit event ids now: what a run has seen."""
    record, entry, event = (w.watermark(conn) for w in WATCHED)
    return record, entry, event


class _Params:
    """Bound parameters collected while the SQL text is generated (no value is ever spliced
    into the text except integers and the scorecard's own escaped literals)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.dates: set[str] = set()

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        if isinstance(value, date):
            self.dates.add(name)
        return f":{name}"

    def param(self, value: Any) -> BindParameter[Any]:
        """The value as a bound parameter of an owner's SQL expression (`inline`)."""
        name = self.add(value)[1:]
        return bindparam(name, type_=Date() if name in self.dates else None)

    def inline(self, clause: ClauseElement) -> str:
        """An owner's SQL (a select of the lists or publicity service) as text to splice into
        the statement; its parameters must be this statement's (`param`)."""
        compiled = clause.compile()  # the generic dialect: parameters as :name, as text() reads them
        strangers = set(compiled.params) - set(self.values)
        assert not strangers, f"parameters not bound through _Params: {strangers}"
        return str(compiled)

    def statement(self, sql: str) -> TextClause:
        used = {n for n in self.values if f":{n}" in sql}
        return text(sql).bindparams(*(bindparam(n, type_=Date()) for n in self.dates & used))

    def bound(self, sql: str) -> dict[str, Any]:
        return {n: v for n, v in self.values.items() if f":{n}" in sql}


def _literal(value: str) -> str:
    """A string the scorecard or rules file wrote, as an SQL literal."""
    return "'" + value.replace("'", "''") + "'"


def _json_piece(value: str) -> str:
    """`value` escaped for the inside of a JSON string, as an SQL literal."""
    return _literal(orjson.dumps(value).decode()[1:-1])


def _record_aggregate(ind: rules.Indicator, day: date, p: _Params) -> str:
    """The conditional aggregate of one record feature (record columns only, alias r)."""
    params = ind.params
    window = ""
    if params.get("months"):
        window = f" AND r.decision_date > {p.add(add_months(day, -int(params['months'])))}"
    if ind.feature == "record_years":
        # registration data (licences) only: an old penalty must not earn years of good record
        return "MIN(CASE WHEN r.item_code = 'licence' THEN r.decision_date END)"
    if ind.feature == "licence_count":
        return f"SUM(CASE WHEN r.item_code = 'licence'{window} THEN 1 ELSE 0 END)"
    cond = f"r.item_code = 'penalty'{window}"
    if params.get("tiers"):
        cond += f" AND r.publicity_tier IN ({', '.join(p.add(t) for t in params['tiers'])})"
    if params.get("department_contains"):
        likes = " OR ".join(f"r.department LIKE {p.add('%' + w + '%')}"
                            for w in params["department_contains"])
        cond += f" AND ({likes})"
    if ind.feature == "penalty_departments":
        return f"COUNT(DISTINCT CASE WHEN {cond} THEN r.department END)"
    return f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"


def _days_since(sqlite: bool, column: str, day_param: str) -> str:
    if sqlite:
        return f"CAST(julianday({day_param}) - julianday({column}) AS INTEGER)"
    return f"({day_param} - {column})"


def _not_stopped(p: _Params, day: date, column: str, any_stopped: bool = True) -> str:
    """Records taken out of publicity on `day` by a repair or an upheld objection (publicity's
    `stopped_records`) no longer count: that is what the decision means for the subject. When
    no record is stopped that day the condition is left out (it would cost an index probe per
    record for nothing)."""
    if not any_stopped:
        return "1 = 1"
    return f"{column} NOT IN ({p.inline(publicity.stopped_records(p.param(day)))})"


def _json_text(sqlite: bool, column: str, key: str) -> str:
    if sqlite:
        return f"json_extract({column}, '$.{key}')"
    return f"(CAST({column} AS jsonb) ->> '{key}')"


def _list_aggregate(card: rules.Scorecard, day: date, sqlite: bool, p: _Params,
                    changed: bool) -> str | None:
    """One grouped pass over the active list entries of both sources (workflow entries and
    `list_entry` records), counting black and red entries of usable kinds; None when the
    scorecard uses no list feature."""
    wanted = [i for i in card.indicators if i.feature in LIST_FEATURES]
    if not wanted:
        return None
    table = lists.current_kinds()
    codes = {t: [k.code for k in table.kinds.values() if k.list_type == t] for t in ("black", "red")}
    names = {t: [k.name for k in table.kinds.values() if k.list_type == t] + codes[t]
             for t in ("black", "red")}

    def within(values: list[str]) -> str:
        return ", ".join(p.add(v) for v in values) if values else "NULL"

    d = p.add(day)
    only = f" AND {{col}} IN (SELECT subject_id FROM {CHANGED})" if changed else ""
    kind = _json_text(sqlite, "rec.payload", "list_kind")
    ends = _json_text(sqlite, "rec.payload", "ends_on")
    d_iso = p.add(day.isoformat())
    entries = p.inline(lists.workflow_entries_on(p.param(day)))
    workflow = (f"SELECT e.subject_id AS subject_id, "
                f"CASE WHEN e.kind_code IN ({within(codes['black'])}) THEN 1 ELSE 0 END AS black, "
                f"CASE WHEN e.kind_code IN ({within(codes['red'])}) THEN 1 ELSE 0 END AS red "
                f"FROM ({entries}) e"
                + (f" WHERE e.subject_id IN (SELECT subject_id FROM {CHANGED})" if changed else ""))
    data = (f"SELECT rec.subject_id AS subject_id, "
            f"CASE WHEN {kind} IN ({within(names['black'])}) THEN 1 ELSE 0 END AS black, "
            f"CASE WHEN {kind} IN ({within(names['red'])}) THEN 1 ELSE 0 END AS red "
            f"FROM record rec WHERE rec.item_code = 'list_entry' AND rec.status = 'current' "
            f"AND rec.decision_date <= {d} AND ({ends} IS NULL OR {ends} = '' OR {ends} > {d_iso}) "
            f"AND {_not_stopped(p, day, 'rec.id')}" + only.format(col="rec.subject_id"))
    return (f"SELECT u.subject_id AS subject_id, SUM(u.black) AS black, SUM(u.red) AS red "
            f"FROM ({workflow} UNION ALL {data}) u GROUP BY u.subject_id")


def _industry_case(industries: Sequence[rules.Industry], p: _Params) -> str:
    if not industries:
        return "NULL"
    branches = " ".join(
        f"WHEN {' OR '.join(f's.name LIKE {p.add(chr(37) + w + chr(37))}' for w in ind.keywords)} "
        f"THEN {_literal(ind.code)}" for ind in industries)
    return f"CASE {branches} END"


def _points_case(ind: rules.Indicator, value: str) -> str:
    branches = " ".join(f"WHEN {value} < {b.high} THEN {b.points}" for b in ind.bins if b.high is not None)
    return f"CASE {branches} ELSE {ind.bins[-1].points} END"


def _clamp(sqlite: bool, low: int, high: int, value: str) -> str:
    if sqlite:
        return f"max({low}, min({high}, {value}))"
    return f"GREATEST({low}, LEAST({high}, {value}))"


def grade_case(card: rules.Scorecard, score: str, what: str) -> str:
    """CASE giving the grade code (`what` = "code") or rank (`what` = "rank") of a score."""
    branches = " ".join(
        f"WHEN {score} >= {g.min} THEN {_literal(g.code) if what == 'code' else g.rank}"
        for g in card.grades[:-1])
    last = card.grades[-1]
    return f"CASE {branches} ELSE {_literal(last.code) if what == 'code' else last.rank} END"


def _format(sqlite: bool, template: str, args: Sequence[str]) -> str:
    """One call building a string from a template with `%s` slots (SQLite printf, PostgreSQL
    format): one function call per row instead of dozens of concatenations."""
    return f"{'printf' if sqlite else 'format'}({', '.join([_literal(template), *args])})"


def _pct(value: str) -> str:
    return value.replace("%", "%%")


def _indicators_json(card: rules.Scorecard, sqlite: bool) -> str:
    """{"code": {"value": v, "points": p}, …} in file order."""
    template = "{" + ",".join(f'"{ind.code}":{{"value":%s,"points":%s}}' for ind in card.indicators) + "}"
    args = [x for i in range(len(card.indicators)) for x in (f"st.v{i}", f"st.p{i}")]
    return _format(sqlite, template, args)


def _reasons_json(card: rules.Scorecard, sqlite: bool) -> str:
    """Every indicator that moved the score, largest |points| first, ties in file order (what
    `rules.reasons` computes; readers keep the first `top_reasons`). An indicator's points take
    one of its bins' values, so the order of all (indicator, points) pairs is known from the
    scorecard alone: the SQL walks it and emits the pairs a row has."""
    pairs = sorted({(i, b.points) for i, ind in enumerate(card.indicators) for b in ind.bins
                    if b.points != 0}, key=lambda x: (-abs(x[1]), x[0]))
    if not pairs:
        return "'[]'"
    pieces = []
    for i, pts in pairs:
        ind = card.indicators[i]
        text = f"{ind.reason}（{rules.signed(pts)}分）"
        escaped = _pct(orjson.dumps(text).decode()).replace("{value}", "%s")
        pieces.append(f"CASE WHEN st.p{i} = {pts} THEN "
                      f"{_format(sqlite, escaped + ',', [f'st.v{i}'] * text.count('{value}'))} ELSE '' END")
    return f"'[' || rtrim({' || '.join(pieces)}, ',') || ']'"


Progress = Callable[[str, int, int], None]


def run(conn: Connection, card: rules.Scorecard, industries: Sequence[rules.Industry], run_id: int,
        day: date, since: tuple[int | None, int | None, int | None] | None, now: datetime,
        progress: Progress | None = None) -> int:
    """Evaluate and store; returns how many organisations were evaluated. `since`: the last
    run's watermarks for an incremental run, None for a full one."""
    sqlite = is_sqlite(conn)
    steps = 5 if since is not None else 4
    step = 0
    doing = ""

    def tick(what: str) -> None:
        """Report the step just finished (its timing) and the one starting."""
        nonlocal step, doing
        if progress is not None and doing:
            progress(doing, step, steps)
        step += 1
        doing = what

    k = len(card.indicators)
    conn.execute(text(f"DROP TABLE IF EXISTS {STAGE}"))
    conn.execute(text(f"DROP TABLE IF EXISTS {CHANGED}"))
    columns = ", ".join([*(f"v{i} INTEGER NOT NULL" for i in range(k)),
                         *(f"p{i} INTEGER NOT NULL" for i in range(k))])
    conn.execute(text(f"CREATE TEMPORARY TABLE {STAGE} (subject_id BIGINT PRIMARY KEY, "
                      f"industry VARCHAR(8), district VARCHAR(6), {columns}, score INTEGER NOT NULL)"))
    changed = since is not None
    if since is not None:
        tick("找出上次评价后有变化的主体")
        conn.execute(text(f"CREATE TEMPORARY TABLE {CHANGED} (subject_id BIGINT PRIMARY KEY)"))
        entries = lists.entry_subjects_after(bindparam("lw", type_=BigInteger())).compile()
        conn.execute(text(
            f"INSERT INTO {CHANGED} (subject_id) SELECT subject_id FROM record WHERE id > :rw "
            f"UNION {entries} "
            f"UNION SELECT subject_id FROM audit_event WHERE id > :aw AND subject_id IS NOT NULL"),
            {"rw": since[0] or 0, "lw": since[1] or 0, "aw": since[2] or 0})

    tick("计算指标与得分")
    p = _Params()
    d = p.add(day)
    record_inds = [(i, ind) for i, ind in enumerate(card.indicators) if ind.feature in RECORD_FEATURES]
    joins = ""
    value_of: dict[int, str] = {}
    if record_inds:
        aggs = ", ".join(f"{_record_aggregate(ind, day, p)} AS f{i}" for i, ind in record_inds)
        only = f" AND r.subject_id IN (SELECT subject_id FROM {CHANGED})" if changed else ""
        joins += (f" LEFT JOIN (SELECT r.subject_id AS subject_id, {aggs} FROM record r "
                  f"WHERE r.status = 'current' AND r.decision_date <= {d} "
                  f"AND {_not_stopped(p, day, 'r.id', publicity.any_stopped(conn, day))}{only} "
                  f"GROUP BY r.subject_id) ra "
                  f"ON ra.subject_id = s.id")
        for i, ind in record_inds:
            if ind.feature == "record_years":
                value_of[i] = (f"COALESCE({_days_since(sqlite, f'ra.f{i}', d)} / {DAYS_PER_YEAR}, 0)")
            else:
                value_of[i] = f"COALESCE(ra.f{i}, 0)"
    listed = _list_aggregate(card, day, sqlite, p, changed)
    if listed is not None:
        joins += f" LEFT JOIN ({listed}) la ON la.subject_id = s.id"
        for i, ind in enumerate(card.indicators):
            if ind.feature in LIST_FEATURES:
                value_of[i] = f"COALESCE(la.{LIST_FEATURES[ind.feature]}, 0)"
    industry = _industry_case(industries, p)
    points = [_points_case(ind, value_of[i]) for i, ind in enumerate(card.indicators)]
    score = _clamp(sqlite, card.low, card.high, f"{card.base} + " + " + ".join(points))
    kinds = ", ".join(_literal(x) for x in rules.EVALUATED_KINDS)
    where = f"s.kind IN ({kinds})"
    if changed:
        where += f" AND s.id IN (SELECT subject_id FROM {CHANGED})"
    if card.industries:
        where += f" AND ({industry}) IN ({', '.join(_literal(x) for x in card.industries)})"
    names = ", ".join([*(f"v{i}" for i in range(k)), *(f"p{i}" for i in range(k))])
    stage_sql = (f"INSERT INTO {STAGE} (subject_id, industry, district, {names}, score) "
                 f"SELECT s.id, {industry}, s.region, "
                 f"{', '.join(value_of[i] for i in range(k))}, {', '.join(points)}, {score} "
                 f"FROM subject s{joins} WHERE {where}")
    conn.execute(p.statement(stage_sql), p.bound(stage_sql))

    tick("记录等级变化")
    rank = grade_case(card, "st.score", "rank")
    conn.execute(text(
        f"INSERT INTO evaluation_change (subject_id, scorecard, run_id, as_of, score, grade, "
        f"grade_rank, previous_grade, previous_rank, version, previous_version) "
        f"SELECT st.subject_id, :sc, :run, :day, st.score, {grade_case(card, 'st.score', 'code')}, "
        f"{rank}, old.grade, old.grade_rank, :version, old.version FROM {STAGE} st "
        f"LEFT JOIN evaluation_result old "
        f"ON old.subject_id = st.subject_id AND old.scorecard = :sc "
        f"WHERE old.subject_id IS NULL OR old.score <> st.score OR old.grade_rank <> {rank} "
        f"OR old.grade <> {grade_case(card, 'st.score', 'code')}").bindparams(bindparam("day", type_=Date())),
        {"sc": card.code, "run": run_id, "day": day, "version": card.version})

    tick("替换评价结果")
    if changed:
        conn.execute(text(f"DELETE FROM evaluation_result WHERE scorecard = :sc "
                          f"AND subject_id IN (SELECT subject_id FROM {CHANGED})"), {"sc": card.code})
    else:
        conn.execute(text("DELETE FROM evaluation_result WHERE scorecard = :sc"), {"sc": card.code})

    tick("写入评价结果")
    result = conn.execute(text(
        f"INSERT INTO evaluation_result (subject_id, scorecard, version, run_id, as_of, score, grade, "
        f"grade_rank, industry, district, indicators, reasons, updated_at) "
        f"SELECT st.subject_id, :sc, :version, :run, :day, st.score, "
        f"{grade_case(card, 'st.score', 'code')}, {rank}, st.industry, st.district, "
        f"{_indicators_json(card, sqlite)}, {_reasons_json(card, sqlite)}, :now FROM {STAGE} st")
        .bindparams(bindparam("day", type_=Date()), bindparam("now", type_=DateTime())),
        {"sc": card.code, "version": card.version, "run": run_id, "day": day, "now": now})
    evaluated = int(result.rowcount or 0)
    conn.execute(text(f"DROP TABLE IF EXISTS {STAGE}"))
    conn.execute(text(f"DROP TABLE IF EXISTS {CHANGED}"))
    tick("")
    return evaluated
