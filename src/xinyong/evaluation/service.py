"""Evaluation's transactions and reads: the batch run (`evaluate`, full or incremental, one
set-based pass in the database — `xinyong.evaluation.sql`), a subject's current result and
history, the grades others read (warnings, sampling) and the distribution report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Engine, Table, and_, case, func, insert, select, text, update
from sqlalchemy.exc import OperationalError

from xinyong.accounts.rules import Principal, can
from xinyong.core import audit
from xinyong.core.audit import AuditEvent
from xinyong.core.dates import MAX_YEAR, MIN_YEAR
from xinyong.core.db import Db, lock_for_append, reading, transaction, utcnow
from xinyong.core.errors import CoreError, InvalidInput, NotFound
from xinyong.evaluation import rules, sql
from xinyong.evaluation.error_codes import EvaluationError
from xinyong.evaluation.events import EvaluationEvent
from xinyong.evaluation.models import EvaluationChange, EvaluationResult, EvaluationRun
from xinyong.lists.service import current_kinds
from xinyong.subjects.models import Subject
from xinyong.subjects.names import name_data

RESULT = cast(Table, EvaluationResult.__table__)
CHANGE = cast(Table, EvaluationChange.__table__)
RUN = cast(Table, EvaluationRun.__table__)


class UnknownSubject(NotFound):
    code = CoreError.UNKNOWN_SUBJECT


class NotEvaluated(NotFound):
    code = EvaluationError.NOT_EVALUATED


class NaturalPerson(InvalidInput):
    code = EvaluationError.NATURAL_PERSON


class BadDate(InvalidInput):
    code = CoreError.BAD_DATE


class EarlierThanCurrent(InvalidInput):
    code = EvaluationError.AS_OF_BEFORE_CURRENT


# publicity/service.py's full recompute rewrites every record's publicity tier (read by the
# tier-filtered penalty features) without naming a subject: a run after one is always full
PUBLICITY_RECOMPUTE = "publicity.recompute"


def scorecard(code: str = "public") -> rules.Scorecard:
    return rules.cached(code)


# --- what others read ------------------------------------------------------------------------

@dataclass(frozen=True)
class GradeInfo:
    code: str
    name: str
    rank: int  # 0 = best
    min: int  # the lowest score of the grade


def grade_scale(scorecard: str = "public") -> list[GradeInfo]:
    """The scorecard's grades, best → worst, with their Chinese names and cut-offs."""
    card = rules.cached(scorecard)
    return [GradeInfo(g.code, g.name, g.rank, g.min) for g in card.grades]


def current_grades(conn: Connection, scorecard: str = "public",
                   subject_ids: Sequence[int] | None = None) -> dict[int, str]:
    """subject_id → current grade under the scorecard (subjects never evaluated are absent)."""
    query = select(RESULT.c.subject_id, RESULT.c.grade).where(RESULT.c.scorecard == scorecard)
    if subject_ids is None:
        return {int(s): str(g) for s, g in conn.execute(query)}
    found: dict[int, str] = {}
    ids = list(dict.fromkeys(subject_ids))
    for start in range(0, len(ids), 1000):
        chunk = query.where(RESULT.c.subject_id.in_(ids[start:start + 1000]))
        found.update({int(s): str(g) for s, g in conn.execute(chunk)})
    return found


def current_results(scorecard: str) -> Any:
    """SQL (a subquery) of the current results under the scorecard, one row per evaluated
    subject: subject_id, grade, industry. For set-based readers (sampling's population) to
    join with subjects; a subject never evaluated has no row."""
    return (select(RESULT.c.subject_id, RESULT.c.grade, RESULT.c.industry)
            .where(RESULT.c.scorecard == scorecard).subquery("evaluation_result"))


def consecutive_results(as_of: date, scorecard: str | None = None) -> Any:
    """SQL (a subquery) of the recorded results (grade changes) dated on or before `as_of`, of
    one scorecard or all, natural persons never among them, each with the result before it
    (`before_grade`, `before_rank`, `before_version`): id, subject_id, scorecard, run_id, as_of,
    score, grade, grade_rank, version and those three. Warnings find grade drops in it.

    A row written since migration 0018 names the version of the result it replaced
    (`previous_version`), and runs then only move forward in as_of, so its stored previous grade
    is the result before. An older row (no `previous_version`) may have been compared with a
    past- or future-dated run, so its result before is derived: the grade of the subject's
    previous row of the scorecard in as_of order (then run order), and the version of the run of
    the scorecard just before the row's run in that order — a new version always forced a full
    run, so the subject's previous result is of that run's version."""
    c, run, s = CHANGE, RUN, Subject.__table__
    prior = func.lag(run.c.version).over(partition_by=run.c.scorecard, order_by=(run.c.as_of, run.c.id))
    runs = select(run.c.id, run.c.version, prior.label("prior_version")).subquery("runs")
    by, order = (c.c.subject_id, c.c.scorecard), (c.c.as_of, c.c.run_id, c.c.id)
    version = func.coalesce(c.c.version, runs.c.version)
    stored = c.c.previous_version.is_not(None)
    where = [c.c.as_of <= as_of, s.c.kind != rules.NATURAL_PERSON]
    if scorecard:
        where.append(c.c.scorecard == scorecard)

    def before(kept: Any, derived: Any, name: str) -> Any:
        return case((stored, kept), else_=derived).label(name)

    return (select(c.c.id, c.c.subject_id, c.c.scorecard, c.c.run_id, c.c.as_of, c.c.score, c.c.grade,
                   c.c.grade_rank, version.label("version"),
                   before(c.c.previous_grade, func.lag(c.c.grade).over(partition_by=by, order_by=order),
                          "before_grade"),
                   before(c.c.previous_rank, func.lag(c.c.grade_rank).over(partition_by=by, order_by=order),
                          "before_rank"),
                   before(c.c.previous_version, runs.c.prior_version, "before_version"))
            .select_from(c.join(runs, runs.c.id == c.c.run_id).join(s, s.c.id == c.c.subject_id))
            .where(*where).subquery("result"))


@dataclass(frozen=True)
class SubjectEvaluation:
    scorecard: str
    version: str
    as_of: date
    score: int
    grade: str
    grade_name: str
    reasons: list[str]
    # {indicator code: {"name", "value", "points"}}
    indicators: dict[str, Any]
    industry: str | None = None
    district: str | None = None


def subject_evaluation(conn: Connection, subject_id: int,
                       scorecard: str = "public") -> SubjectEvaluation | None:
    """The subject's current result under the scorecard; None when it has none (natural
    persons never have one)."""
    row = conn.execute(select(RESULT).where(RESULT.c.subject_id == subject_id,
                                            RESULT.c.scorecard == scorecard)).mappings().first()
    if row is None:
        return None
    card = _card_or_none(scorecard)
    grade = card.grade_by_code(row["grade"]) if card else None
    names = {i.code: i.name for i in card.indicators} if card else {}
    indicators: dict[str, Any] = {
        code: {"name": names.get(code, code), **v}
        for code, v in orjson.loads(row["indicators"]).items()}
    # the stored reasons are every indicator that moved the score, largest first (sql.py)
    top = card.top_reasons if card else None
    return SubjectEvaluation(scorecard, row["version"], row["as_of"], int(row["score"]), row["grade"],
                             grade.name if grade else row["grade"], list(orjson.loads(row["reasons"]))[:top],
                             indicators, row["industry"], row["district"])


def _card_or_none(code: str) -> rules.Scorecard | None:
    try:
        return rules.cached(code)
    except NotFound:
        return None


def history(conn: Connection, subject_id: int, scorecard: str = "public") -> list[dict[str, Any]]:
    """The subject's grade history under the scorecard, newest first."""
    rows = conn.execute(select(CHANGE, RUN.c.version).join(RUN, RUN.c.id == CHANGE.c.run_id)
                        .where(CHANGE.c.subject_id == subject_id, CHANGE.c.scorecard == scorecard)
                        .order_by(CHANGE.c.run_id.desc())).mappings()
    return [{"run_id": r["run_id"], "as_of": r["as_of"].isoformat(), "version": r["version"],
             "score": r["score"], "grade": r["grade"], "previous_grade": r["previous_grade"]}
            for r in rows]


def subject_by_uscc(conn: Connection, uscc: str) -> dict[str, Any]:
    s = Subject.__table__
    row = conn.execute(select(s.c.id, s.c.uscc, s.c.name, s.c.kind, s.c.region)
                       .where(s.c.uscc == uscc.strip().upper())).mappings().first()
    if row is None:
        raise UnknownSubject(f"没有统一社会信用代码为 {uscc} 的主体")
    return dict(row)


# --- the batch run -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RunSummary:
    run_id: int
    scorecard: str
    version: str
    as_of: date
    mode: str
    evaluated: int
    skipped_natural_persons: int
    grades: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        """Exactly the CLI's `--json` (issue 6)."""
        return {"scorecard": self.scorecard, "version": self.version, "evaluated": self.evaluated,
                "skipped_natural_persons": self.skipped_natural_persons, "grades": self.grades}


Progress = Callable[[str, int, int], None]  # (the step just finished, steps done, steps)


def _last_run(conn: Connection, code: str) -> Any:
    return conn.execute(select(RUN).where(RUN.c.scorecard == code, RUN.c.finished_at.is_not(None))
                        .order_by(RUN.c.id.desc()).limit(1)).mappings().first()


def check_as_of(day: date, today: date | None = None) -> date:
    """An evaluation day must be a real past or present day: the future has no data yet (and a
    future run would become everyone's current grade), and the windows reach back years."""
    today = today or date.today()
    if not MIN_YEAR < day.year <= MAX_YEAR:
        raise BadDate(f"评价日 {day.isoformat()} 不在 {MIN_YEAR + 1}—{MAX_YEAR} 年之间")
    if day > today:
        raise BadDate(f"评价日 {day.isoformat()} 晚于今天（{today.isoformat()}），不能评价未来")
    return day


def rules_hash(card: rules.Scorecard, industries: Sequence[rules.Industry]) -> str:
    kinds = [(k.code, k.name, k.list_type) for k in current_kinds().kinds.values()]
    return rules.fingerprint(card, industries, kinds, sql.REVISION)


def _latest_as_of(conn: Connection, code: str) -> date | None:
    """The evaluation day of the scorecard's current results: the latest of its finished runs."""
    found = conn.execute(select(func.max(RUN.c.as_of)).where(
        RUN.c.scorecard == code, RUN.c.finished_at.is_not(None))).scalar_one()
    return cast(date | None, found)


def _recomputed_since(conn: Connection, audit_watermark: int | None) -> bool:
    event = AuditEvent.__table__
    return conn.execute(select(event.c.id).where(
        event.c.action == PUBLICITY_RECOMPUTE, event.c.id > (audit_watermark or 0)).limit(1)).first() \
        is not None


LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout ran out
# How long one attempt to lock a watched table waits (PostgreSQL) before it lets the writers
# queued behind it through and tries again.
SETTLE_LOCK_TIMEOUT = "2s"


def _settled_watermarks(engine: Engine, waiting: Callable[[], None] | None
                        ) -> tuple[int, int, int] | None:
    """PostgreSQL: watermarks below which every row is committed. Ids come from sequences,
    handed out when a row is inserted, not when its transaction commits: an ingest in flight
    may hold a lower id than the highest committed one, and a run that took the highest as its
    watermark would never look at that row again. Taking a table's SHARE lock waits for every
    transaction writing to it, and every id handed out before belongs to one of them; so the
    highest id read under the lock is settled. Each table is locked alone, in its own short
    transaction (no lock is held while waiting for another: no deadlock), and an attempt that
    waits longer than SETTLE_LOCK_TIMEOUT gives up and retries, so that writers queued behind
    it are not held up by a long ingest. None on SQLite: one writer at a time, and the run's
    own write transaction reads settled watermarks."""
    if engine.dialect.name == "sqlite":
        return None
    marks = []
    for source in sql.WATCHED:
        while True:
            try:
                with engine.begin() as conn:
                    conn.execute(text(f"SET LOCAL lock_timeout = '{SETTLE_LOCK_TIMEOUT}'"))
                    source.lock(conn)
                    marks.append(source.watermark(conn))
                break
            except OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                    raise
                if waiting is not None:
                    waiting()
    record, entry, event = marks
    return record, entry, event


def evaluate(engine: Engine, actor: audit.Actor, *, scorecard: str = "public",
             as_of: date | None = None, full: bool = False,
             progress: Progress | None = None) -> RunSummary:
    """Evaluate every organisation under the scorecard as of `as_of` (today by default) in one
    transaction: incremental — only subjects touched since the last run — when the last run of
    this scorecard had the same version, rules fingerprint (`rules_hash`) and as_of and no
    publicity recompute happened since; otherwise full. Runs move forward only: an as_of in the
    future (`bad_date`) or earlier than the current results' (`as_of_before_current`) is
    refused, so each history row compares two consecutive results. Natural persons are never
    evaluated; they are counted as skipped. Audited as `evaluation.run`. `engine`, not a
    connection: the run settles its watermarks in transactions of their own first."""
    card = rules.cached(scorecard)
    industries = rules.load_industries()
    day = check_as_of(as_of or date.today())
    fingerprint = rules_hash(card, industries)
    settled = _settled_watermarks(engine, None if progress is None
                                  else lambda: progress("等待进行中的写入（归集等）完成", 0, 1))
    with transaction(engine) as conn:
        # one run of a scorecard at a time: two would replace the same results
        lock_for_append(conn, f"evaluation:{card.code}")
        latest = _latest_as_of(conn, card.code)
        if latest is not None and day < latest:
            raise EarlierThanCurrent(
                f"评分卡 {card.code} 的当前评价结果的评价日是 {latest.isoformat()}，不能再按更早的 "
                f"{day.isoformat()} 评价：评价只能向前推进（否则历史等级会覆盖当前等级、产生虚假的等级变化）")
        last = _last_run(conn, card.code)
        incremental = (not full and last is not None and last["version"] == card.version
                       and last["as_of"] == day and last["rules_hash"] == fingerprint
                       and not _recomputed_since(conn, last["audit_watermark"]))
        marks = settled or sql.watermarks(conn)
        started = utcnow()
        inserted = conn.execute(insert(RUN).values(
            scorecard=card.code, version=card.version, as_of=day,
            mode="incremental" if incremental else "full", started_at=started, evaluated=0,
            skipped_natural_persons=0, actor=actor.name[:128], record_watermark=marks[0],
            list_watermark=marks[1], audit_watermark=marks[2],
            rules_hash=fingerprint)).inserted_primary_key
        assert inserted is not None
        run_id = int(inserted[0])
        since = (last["record_watermark"], last["list_watermark"], last["audit_watermark"]) \
            if incremental else None
        evaluated = sql.run(conn, card, industries, run_id, day, since, started, progress)
        skipped = int(conn.execute(select(func.count()).select_from(Subject.__table__)
                                   .where(Subject.__table__.c.kind == rules.NATURAL_PERSON)).scalar_one())
        grades = distribution_counts(conn, card)
        conn.execute(update(RUN).where(RUN.c.id == run_id).values(
            evaluated=evaluated, skipped_natural_persons=skipped, finished_at=utcnow()))
        audit.record(conn, actor, EvaluationEvent.RUN, "evaluation_run", run_id, detail={
            "scorecard": card.code, "version": card.version, "as_of": day.isoformat(),
            "mode": "incremental" if incremental else "full", "evaluated": evaluated,
            "skipped_natural_persons": skipped, "grades": grades})
    return RunSummary(run_id, card.code, card.version, day, "incremental" if incremental else "full",
                      evaluated, skipped, grades)


def distribution_counts(conn: Connection, card: rules.Scorecard) -> dict[str, int]:
    """Current results per grade (every grade present, best first)."""
    query = select(RESULT.c.grade, func.count()).where(RESULT.c.scorecard == card.code)
    found: dict[str, int] = {str(g): int(n) for g, n in conn.execute(query.group_by(RESULT.c.grade))}
    return {g.code: int(found.get(g.code, 0)) for g in card.grades}


def distribution(conn: Connection, scorecard: str = "public", by: str | None = None) -> dict[str, Any]:
    """Count and share per grade, overall and (by = "industry" | "district") per group."""
    card = rules.cached(scorecard)
    if by not in (None, "industry", "district"):
        raise InvalidInput("分组只能是 industry（行业）或 district（地区）", code=EvaluationError.BAD_GROUP)
    total_counts = distribution_counts(conn, card)
    total = sum(total_counts.values())
    out: dict[str, Any] = {"scorecard": card.code, "version": card.version, "name": card.name,
                           "total": total, "grades": _shares(card, total_counts)}
    last = _last_run(conn, card.code)
    out["as_of"] = last["as_of"].isoformat() if last else None
    if by is not None:
        column = RESULT.c.industry if by == "industry" else RESULT.c.district
        names = industry_names() if by == "industry" else {}
        groups: dict[str | None, dict[str, int]] = {}
        for key, grade, n in conn.execute(
                select(column, RESULT.c.grade, func.count())
                .where(RESULT.c.scorecard == card.code).group_by(column, RESULT.c.grade)):
            groups.setdefault(key, {})[grade] = int(n)
        out["by"] = by
        out["groups"] = [
            {"key": key, "name": names.get(key or "", key or "未识别") if by == "industry"
             else district_name(key),
             "total": sum(c.values()),
             "grades": _shares(card, {g.code: c.get(g.code, 0) for g in card.grades})}
            for key, c in sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))]
    return out


UNKNOWN = "-"  # the drill-down's key for results without an industry or district


def industry_names() -> dict[str, str]:
    return {i.code: i.name for i in rules.load_industries()}


def district_name(code: str | None) -> str:
    """A GB/T 2260 region code as its name (思明区), from the region list of `names.yaml`."""
    if not code:
        return "未识别"
    region = name_data().by_code.get(code)
    return region.name if region is not None else f"其他地区（{code}）"


def _list_filters(card: rules.Scorecard, grade: str | None, industry: str | None,
                  district: str | None) -> list[Any]:
    where: list[Any] = [RESULT.c.scorecard == card.code]
    if grade:
        if card.grade_by_code(grade) is None:
            raise InvalidInput(f"评分卡 {card.name} 没有等级 {grade[:8]}"
                               f"（等级：{'、'.join(g.code for g in card.grades)}）",
                               code=EvaluationError.UNKNOWN_GRADE)
        where.append(RESULT.c.grade == grade)
    for column, value in ((RESULT.c.industry, industry), (RESULT.c.district, district)):
        if value == UNKNOWN:
            where.append(column.is_(None))
        elif value:
            where.append(column == value)
    return where


def graded_subjects(db: Db, reader: audit.Actor, scorecard: str = "public", *,
                    grade: str | None = None, industry: str | None = None, district: str | None = None,
                    limit: int = 50, offset: int = 0, purpose: str = "list") -> dict[str, Any]:
    """The subjects of one grade (and industry or district; `UNKNOWN` for results without
    one), best score first, with the total. Grades are not public: the reading is an audited
    `evaluation.list_read` event (filters, purpose and how many were shown), in a write
    transaction of its own or the caller's (`core.db.transaction`)."""
    card = rules.cached(scorecard)
    where = _list_filters(card, grade, industry, district)
    s = Subject.__table__
    with transaction(db) as conn:
        total = int(conn.execute(select(func.count()).select_from(RESULT).where(*where)).scalar_one())
        rows = conn.execute(
            select(RESULT.c.subject_id, RESULT.c.score, RESULT.c.grade, RESULT.c.industry,
                   RESULT.c.district, RESULT.c.as_of, s.c.uscc, s.c.name)
            .join(s, s.c.id == RESULT.c.subject_id).where(*where)
            .order_by(RESULT.c.score.desc(), RESULT.c.subject_id).limit(limit).offset(offset)).all()
        filters = {k: v for k, v in (("grade", grade), ("industry", industry), ("district", district))
                   if v}
        audit.record(conn, reader, EvaluationEvent.LIST_READ, "evaluation_run", None, detail={
            "scorecard": card.code, "filters": filters, "purpose": purpose, "offset": offset,
            "subjects": len(rows)})
    industries = industry_names()
    items = [{"uscc": r.uscc, "name": r.name, "score": int(r.score), "grade": r.grade,
              "grade_name": (found.name if (found := card.grade_by_code(r.grade)) else r.grade),
              "industry": r.industry, "industry_name": industries.get(r.industry or "", "未识别"),
              "district": r.district, "district_name": district_name(r.district),
              "as_of": r.as_of.isoformat()} for r in rows]
    return {"scorecard": card.code, "name": card.name, "total": total, "items": items,
            "grade": grade, "grade_name": (g.name if grade and (g := card.grade_by_code(grade)) else None),
            "industry": industry, "industry_name": None if not industry else
            industries.get(industry, "未识别") if industry != UNKNOWN else "未识别",
            "district": district, "district_name": None if not district else
            district_name(None if district == UNKNOWN else district)}


def _shares(card: rules.Scorecard, counts: dict[str, int]) -> list[dict[str, Any]]:
    total = sum(counts.values())
    return [{"grade": g.code, "name": g.name, "count": counts.get(g.code, 0),
             "share": round(counts.get(g.code, 0) / total, 4) if total else 0.0} for g in card.grades]


def runs(conn: Connection, scorecard: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    query = select(RUN).order_by(RUN.c.id.desc()).limit(limit)
    if scorecard is not None:
        query = query.where(RUN.c.scorecard == scorecard)
    return [{**dict(r), "as_of": r["as_of"].isoformat(),
             "started_at": r["started_at"].isoformat(timespec="seconds"),
             "finished_at": r["finished_at"].isoformat(timespec="seconds") if r["finished_at"] else None}
            for r in conn.execute(query).mappings()]


def changes(conn: Connection, scorecard: str, run_id: int) -> list[dict[str, Any]]:
    """The grade changes a run made (for warnings: grade drops). Each row compares the
    subject's previous result with the new one — consecutive results, as runs only move
    forward. `version` / `previous_version` are the scorecard versions of the two: a change
    with `previous_version != version` comes from a new scorecard and is no grade drop of the
    subject (`previous_version` is None the first time, and on rows older than migration
    0018)."""
    rows = conn.execute(select(CHANGE).where(and_(CHANGE.c.scorecard == scorecard,
                                                  CHANGE.c.run_id == run_id))).mappings()
    return [dict(r) for r in rows]


# --- who sees what -------------------------------------------------------------------------------

def view_for(engine: Engine, uscc: str, *, supervisor: bool, own: bool, reader: audit.Actor,
             scorecard: str = "public") -> dict[str, Any]:
    """`subject_view` in the transaction it needs: a read that is logged (supervisors, the
    subject itself) writes its audit event with it; a public read of a disclosed grade is a
    plain read, and with grades undisclosed nothing is asked of the store at all."""
    if supervisor or own:
        with transaction(engine) as conn:
            return subject_view(conn, uscc, supervisor=supervisor, own=own, scorecard=scorecard,
                                reader=reader)
    if not rules.cached(scorecard).disclose_grade:
        raise NotEvaluated("评价等级不对外公开（分级分类监管用）", code=EvaluationError.NOT_PUBLIC)
    with reading(engine) as conn:
        return subject_view(conn, uscc, supervisor=False, own=False, scorecard=scorecard)


def view_as(engine: Engine, principal: Principal, reader: audit.Actor, uscc: str,
            scorecard: str = "public") -> dict[str, Any]:
    """`view_for` as the principal may see it: a supervisor holds `evaluation.read`, an
    enterprise account sees its own subject's result; decided here, once, for every edge."""
    return view_for(engine, uscc, supervisor=can(principal, "evaluation.read"),
                    own=is_own(principal.subject, uscc), reader=reader, scorecard=scorecard)


def is_own(principal_subject: str | None, uscc: str) -> bool:
    """Whether an enterprise account acts for this subject."""
    return principal_subject is not None and principal_subject == uscc.strip().upper()


def subject_view(conn: Connection, uscc: str, *, supervisor: bool, own: bool,
                 scorecard: str = "public", reader: audit.Actor | None = None) -> dict[str, Any]:
    """A subject's evaluation as the asker may see it: supervisors (evaluation.read) and the
    subject's own account get the score, grade, reasons and indicators (supervisors also the
    history); anyone else the grade only, and only where the scorecard discloses grades
    (`disclose_grade`, default false: risk classes are for supervisors). What may not be
    shown is answered as not found, never as a refusal that would reveal it exists."""
    subject = subject_by_uscc(conn, uscc)
    card = rules.cached(scorecard)
    if subject["kind"] == rules.NATURAL_PERSON:
        raise NotEvaluated("自然人不参与公共信用综合评价")
    if not (supervisor or own or card.disclose_grade):
        raise NotEvaluated("评价等级不对外公开（分级分类监管用）", code=EvaluationError.NOT_PUBLIC)
    found = subject_evaluation(conn, int(subject["id"]), scorecard)
    if found is None:
        raise NotEvaluated(f"{subject['name']} 尚未按评分卡 {scorecard} 评价")
    view: dict[str, Any] = {"uscc": subject["uscc"], "name": subject["name"], "scorecard": scorecard,
                            "scorecard_name": card.name, "version": found.version,
                            "as_of": found.as_of.isoformat(),
                            "grade": found.grade, "grade_name": found.grade_name}
    if supervisor or own:
        view.update(score=found.score, reasons=found.reasons, industry=found.industry,
                    district=found.district,
                    indicators=[{"code": k, **v} for k, v in found.indicators.items()])
    if supervisor:
        view["history"] = history(conn, int(subject["id"]), scorecard)
    if (supervisor or own) and reader is not None:
        record_read(conn, reader, int(subject["id"]), subject["uscc"], scorecard)
    return view


def record_read(db: Db, reader: audit.Actor, subject_id: int, uscc: str | None,
                scorecard: str = "public") -> None:
    """A result is not public data: who read it is logged (SPEC §2.3) as `evaluation.read`."""
    with transaction(db) as conn:
        audit.record(conn, reader, EvaluationEvent.READ, "subject", uscc, subject_id=subject_id,
                     detail={"scorecard": scorecard})
