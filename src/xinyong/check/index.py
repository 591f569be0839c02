"""The in-memory check index: what a check by USCC needs, held in the server process so a check
is answered in microseconds — subjects by USCC, each subject's list entries (with their dates),
the penalty records that trigger some measure (with their publicity windows and stops), and
records under objection or repair.

Kept current with the store on every server process: before answering, `sync` compares the
store's change marker, `max(audit_event.id)`, with the one it last saw (one indexed read). Every
state change of list entries, publicity stops, objections, repairs and records is an audited
event carrying `subject_id`; those subjects are reloaded. An ingest batch (`ingest.batch`) names
its batch: the subjects of that batch's records are reloaded (or, for a very large batch, the
whole index lazily rebuilt). Whether an entry is active or a record in publicity is computed at
answer time from the stored dates, never cached as a flag, so a list entry ending at term stops
applying the next day without any job; entries are reloaded when the day changes (an entry may
be listed from a later day).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, String, cast, func, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB

from xinyong.check import rules
from xinyong.core.audit import AuditEvent
from xinyong.core.db import is_sqlite
from xinyong.ingest.events import IngestEvent
from xinyong.lists import service as lists
from xinyong.objections import service as objections
from xinyong.publicity import service as publicity
from xinyong.repair import queries as repairs
from xinyong.subjects.models import Record, Subject

# A batch touching more subjects than this rebuilds the index instead of reloading each.
REBUILD_ABOVE = 50_000
CHUNK = 900
MARKER = "SELECT max(id) FROM audit_event"


@dataclass(frozen=True, slots=True)
class SubjectInfo:
    id: int
    uscc: str | None
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class Marked:
    record_id: int
    doc_no: str
    marker: str
    case_no: str


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start:start + CHUNK])


class MarkerReader:
    """Reads the store's change marker on a connection of its own, kept open in autocommit
    mode: each read is one statement with a fresh snapshot, without the pool check-out, BEGIN
    and ROLLBACK a pooled connection costs (together about half a check's CPU). Used by one
    caller at a time; a busy or broken reader answers None and the caller takes the pooled way."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Any = None
        self.lock = threading.Lock()

    def read(self) -> int | None:
        if not self.lock.acquire(blocking=False):
            return None
        try:
            if self.conn is None:
                self.conn = self.engine.raw_connection()
                if not is_sqlite(self.engine):  # SQLite connections are in autocommit already
                    self.conn.driver_connection.autocommit = True
            cursor = self.conn.cursor()
            try:
                cursor.execute(MARKER)
                row = cursor.fetchone()
            finally:
                cursor.close()
            return int(row[0] or 0)
        except Exception:  # the store went away or restarted: let the pooled way report it
            self.close()
            return None
        finally:
            self.lock.release()

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):  # already unusable; nothing more to release
                self.conn.invalidate()
            self.conn = None


class CheckIndex:
    """One per engine per process (`service.index_for`). Readers never lock; `sync` swaps in
    each subject's new tuples under a lock, so an answer sees a subject either before or after
    a change, never half of it."""

    def __init__(self, catalog: rules.Catalog) -> None:
        self.catalog = catalog
        self.by_uscc: dict[str, SubjectInfo] = {}
        self.by_id: dict[int, SubjectInfo] = {}
        self.entries: dict[int, tuple[rules.Entry, ...]] = {}
        self.penalties: dict[int, tuple[rules.Penalty, ...]] = {}
        self.marked: dict[int, tuple[Marked, ...]] = {}
        self.marker = -1  # the last audit event applied; -1: never built
        self.day: date | None = None  # the day list entries were loaded for
        self.lock = threading.Lock()
        self.reader: MarkerReader | None = None

    # --- keeping current --------------------------------------------------------------------

    def current(self, engine: Engine, day: date) -> bool:
        """Whether the index is built, for `day`, and holds the store's latest change — read on
        the index's own connection. False means: sync on a pooled connection first."""
        if self.marker < 0 or day != self.day:
            return False
        if self.reader is None:
            self.reader = MarkerReader(engine)
        return self.reader.read() == self.marker

    def sync(self, conn: Connection, day: date) -> None:
        """Bring the index up to the store's latest audit event (and to `day`)."""
        # the driver's own SQL: this runs before every check, SQLAlchemy's compilation would
        # cost more than the answer
        latest = conn.exec_driver_sql(MARKER).scalar_one() or 0
        if latest == self.marker and day == self.day:
            return
        with self.lock:
            if self.marker < 0:
                self.build(conn, day, latest)
                return
            if latest != self.marker:
                self._apply_events(conn, day, latest)
            if day != self.day:
                self._load_entries(conn, day, None)
                self.day = day

    def build(self, conn: Connection, day: date, latest: int | None = None) -> None:
        """Load everything (the first check of a process, or after a very large batch)."""
        if latest is None:
            latest = conn.execute(select(func.max(AuditEvent.id))).scalar_one() or 0
        self.by_uscc, self.by_id = {}, {}
        self.entries, self.penalties, self.marked = {}, {}, {}
        self._load_subjects(conn, None)
        self._load_entries(conn, day, None)
        self._load_penalties(conn, day, None)
        self._load_marked(conn, None)
        self.marker, self.day = latest, day

    def _apply_events(self, conn: Connection, day: date, latest: int) -> None:
        a = AuditEvent.__table__
        touched: set[int] = set()
        batches: set[int] = set()
        for row in conn.execute(select(a.c.subject_id, a.c.action, a.c.object_id).where(
                a.c.id > self.marker, a.c.id <= latest)):
            if row.subject_id is not None:
                touched.add(int(row.subject_id))
            if row.action == IngestEvent.BATCH and row.object_id and row.object_id.isdigit():
                batches.add(int(row.object_id))
        r = Record.__table__
        for batch in batches:
            touched.update(conn.execute(select(r.c.subject_id).where(r.c.batch_id == batch)
                                        .distinct()).scalars())
            if len(touched) > REBUILD_ABOVE:
                self.build(conn, day, latest)
                return
        if touched:
            self.reload(conn, sorted(touched), day)
        self.marker = latest

    def reload(self, conn: Connection, subject_ids: Sequence[int], day: date) -> None:
        """Reload these subjects from the store (the subject itself and everything about it)."""
        for ids in _chunks(subject_ids):
            for sid in ids:
                self.entries.pop(sid, None)
                self.penalties.pop(sid, None)
                self.marked.pop(sid, None)
            self._load_subjects(conn, ids)
            self._load_entries(conn, day, ids)
            self._load_penalties(conn, day, ids)
            self._load_marked(conn, ids)

    # --- loading ----------------------------------------------------------------------------

    def _load_subjects(self, conn: Connection, ids: list[int] | None) -> None:
        s = Subject.__table__
        query = select(s.c.id, s.c.uscc, s.c.name, s.c.kind)
        if ids is not None:
            query = query.where(s.c.id.in_(ids))
        for row in conn.execute(query.execution_options(yield_per=50_000)):
            info = SubjectInfo(int(row.id), row.uscc, row.name, row.kind)
            old = self.by_id.get(info.id)
            if old is not None and old.uscc and old.uscc != info.uscc \
                    and self.by_uscc.get(old.uscc) == old:
                del self.by_uscc[old.uscc]
            self.by_id[info.id] = info
            if info.uscc:
                known = self.by_uscc.get(info.uscc)
                # 重错码: two subjects with one code; a check answers for the first, as elsewhere
                if known is None or known.id >= info.id:
                    self.by_uscc[info.uscc] = info

    def _load_entries(self, conn: Connection, day: date, ids: list[int] | None) -> None:
        found: dict[int, list[rules.Entry]] = {}
        if ids is None:
            rows: Iterable[dict[str, Any]] = lists.all_entries(conn, day)
        else:
            rows = (e for group in lists.active_entries_many(conn, ids, day).values() for e in group)
        for e in rows:
            ref = f"entry:{e['entry_id']}" if e["source"] == "workflow" else f"record:{e['record_id']}"
            listed = _date(e["listed_on"])
            assert listed is not None
            found.setdefault(int(e["subject_id"]), []).append(rules.Entry(
                e["kind"], e["kind_name"], e["list_type"], e["authority"] or "", e["doc_no"] or "",
                listed, _date(e["ends_on"]), ref))
        if ids is None:
            self.entries = {sid: tuple(v) for sid, v in found.items()}
        else:
            for sid in ids:
                if sid in found:
                    self.entries[sid] = tuple(found[sid])

    def _conditions(self) -> list[rules.RecordCondition]:
        return [c for m in self.catalog.measures.values() for c in m.records]

    def _load_penalties(self, conn: Connection, day: date, ids: list[int] | None) -> None:
        conditions = self._conditions()
        if not conditions:
            return
        r = Record.__table__
        basis = func.json_extract(r.c.payload, "$.penalty_basis") if is_sqlite(conn) \
            else cast(r.c.payload, JSONB)["penalty_basis"].astext
        tiers = sorted({t for c in conditions for t in c.tiers})
        mentions = sorted({m for c in conditions for m in c.basis_mentions})
        wide = any(not c.tiers and not c.basis_mentions for c in conditions)
        query = select(r.c.id, r.c.subject_id, r.c.doc_no, r.c.publicity_tier, r.c.decision_date,
                       r.c.publicity_start, r.c.publicity_end, cast(basis, String).label("basis")
                       ).where(r.c.item_code == "penalty", r.c.status == "current",
                               r.c.published == true(),
                               or_(r.c.publicity_end.is_(None), r.c.publicity_end > day))
        if not wide:
            # a first cut in SQL (tier, or the article number named); the exact test is below
            query = query.where(or_(r.c.publicity_tier.in_(tiers), *(
                basis.like(f"%{m[m.find('第'):] if '第' in m else m}%") for m in mentions)))
        groups: Iterable[list[int] | None] = _chunks(ids) if ids is not None else [None]
        found: dict[int, list[rules.Penalty]] = {}
        for group in groups:
            q = query if group is None else query.where(r.c.subject_id.in_(group))
            rows = [row for row in conn.execute(q.execution_options(yield_per=50_000))
                    if any(c.matches_statically(row.publicity_tier, rules.basis_key(row.basis or ""))
                           for c in conditions)]
            stops: dict[int, list[rules.Stop]] = {}
            for part in _chunks([row.id for row in rows]):
                for record_id, since, until in publicity.stop_periods(conn, part):
                    stops.setdefault(record_id, []).append(rules.Stop(since, until))
            for row in rows:
                found.setdefault(int(row.subject_id), []).append(rules.Penalty(
                    int(row.id), row.doc_no, row.publicity_tier, row.decision_date,
                    row.publicity_start, row.publicity_end, rules.basis_key(row.basis or ""),
                    tuple(stops.get(int(row.id), ()))))
        for sid, found_rows in found.items():
            self.penalties[sid] = tuple(found_rows)

    def _load_marked(self, conn: Connection, ids: list[int] | None) -> None:
        r = Record.__table__
        if ids is None:
            wanted = sorted(objections.records_under_objection(conn) | repairs.records_in_repair(conn))
        else:
            wanted = [int(i) for group in _chunks(ids) for i in conn.execute(
                select(r.c.id).where(r.c.subject_id.in_(group))).scalars()]
        if not wanted:
            return
        cases = {**repairs.open_cases(conn, wanted), **objections.open_cases(conn, wanted)}
        if not cases:
            return
        found: dict[int, list[Marked]] = {}
        for part in _chunks(sorted(cases)):
            for row in conn.execute(select(r.c.id, r.c.subject_id, r.c.doc_no).where(r.c.id.in_(part))):
                case = cases[int(row.id)]
                found.setdefault(int(row.subject_id), []).append(
                    Marked(int(row.id), row.doc_no, case["label"], case["case_no"]))
        for sid, marks in found.items():
            self.marked[sid] = tuple(marks)

    # --- answering --------------------------------------------------------------------------

    def subject(self, uscc: str) -> SubjectInfo | None:
        return self.by_uscc.get(uscc)

    def add_subject(self, conn: Connection, uscc: str, day: date) -> SubjectInfo | None:
        """A subject the index does not know yet (created without an audited event): look it
        up in the store and load it."""
        s = Subject.__table__
        sid = conn.execute(select(s.c.id).where(s.c.uscc == uscc).order_by(s.c.id).limit(1)
                           ).scalar_one_or_none()
        if sid is None:
            return None
        with self.lock:
            self.reload(conn, [int(sid)], day)
        return self.by_id.get(int(sid))

    def answer(self, info: SubjectInfo, matter: rules.Matter, day: date) -> dict[str, Any]:
        """The check's answer for a known subject (everything but the check id)."""
        entries = self.entries.get(info.id, ())
        penalties = self.penalties.get(info.id, ())
        measures = rules.applicable(self.catalog.by_matter.get(matter.code, ()), entries,
                                    penalties, day)
        state = rules.status(entries, day)
        return {
            "subject": {"uscc": info.uscc, "name": info.name, "kind": info.kind, "status": state,
                        "status_name": rules.STATUS_NAMES[state]},
            "lists": [{"kind": e.kind, "kind_name": e.kind_name, "list_type": e.list_type,
                       "authority": e.authority, "doc_no": e.doc_no,
                       "listed_on": e.listed_on.isoformat(),
                       "ends_on": e.ends_on.isoformat() if e.ends_on else None}
                      for e in entries if e.active(day)],
            "measures": measures,
            "records_marked": [{"record_id": m.record_id, "doc_no": m.doc_no, "marker": m.marker,
                                "case_no": m.case_no} for m in self.marked.get(info.id, ())],
        }


_indexes: dict[int, tuple[Engine, CheckIndex]] = {}
_guard = threading.Lock()


def index_for(engine: Engine, catalog: rules.Catalog) -> CheckIndex:
    """This process's index over `engine`; a new one (built on first use) when the measures
    catalog changed."""
    found = _indexes.get(id(engine))
    if found is not None and found[0] is engine and found[1].catalog is catalog:
        return found[1]
    with _guard:
        found = _indexes.get(id(engine))
        if found is None or found[0] is not engine or found[1].catalog is not catalog:
            found = _indexes[id(engine)] = (engine, CheckIndex(catalog))
        return found[1]
