"""Subject verbs: resolving the subjects rows name, storing record versions, reading a
subject with its records, and detecting duplicate and wrong codes (重错码).

The write verbs here work on whole chunks of rows inside the caller's transaction: ingest
calls them once per few thousand rows, never once per row.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Connection, Date, bindparam, func, insert, select, text

from xinyong.core import uscc as uscc_rules
from xinyong.core.dates import iso
from xinyong.core.db import Db, bulk_insert, in_list, is_sqlite, list_param, transaction, utcnow
from xinyong.core.errors import CoreError, InvalidInput, NotFound
from xinyong.core.masking import mask_id_number, mask_ids_in_values
from xinyong.subjects.identity import Identity
from xinyong.subjects.models import Record, Subject, SubjectName, UsccIssue

SUBJECT_COLUMNS = ("key", "uscc", "name", "name_since", "kind", "region", "reg_no",
                   "org_code", "legal_rep", "legal_rep_id_type", "legal_rep_id_number", "id_type",
                   "id_number", "created_at", "updated_at")
RECORD_COLUMNS = ("source_key", "subject_id", "item_code", "department", "doc_no", "version", "status",
                  "decision_date", "received_date", "on_time", "batch_id", "row_no",
                  "catalog_version_id", "payload", "publicity_tier", "published", "publicity_start",
                  "publicity_repair_from", "publicity_end", "publicity_regime")
# Ingest stores each version with its payload's hash, which the stale-row check compares.
HASHED_RECORD_COLUMNS = (*RECORD_COLUMNS, "payload_hash")
CACHE_LIMIT = 500_000


@dataclass
class _Known:
    id: int
    name: str
    name_since: date | None
    legal_rep: str | None


class SubjectResolver:
    """Maps rows to subject ids for one batch, creating subjects and keeping their facts.

    The newest record of a subject (latest decision date) gives its current name and legal
    representative; every other name it was reported under is kept as a former name
    (subject_name). Rows that agree with the subject as known — nearly all — cost nothing
    beyond a comparison; only a row with another name or representative is looked into.
    """

    def __init__(self, conn: Connection) -> None:
        # a step of the caller's batch: it writes only in the write transaction given to it
        with transaction(conn):
            self.conn = conn
        self.known: dict[str, _Known] = {}

    def resolve(self, rows: Sequence[tuple[Identity, date]]) -> dict[str, int]:
        """Subject id of each identity, given (identity, decision date) of the rows. Call it
        before the rows' records are stored."""
        if len(self.known) > CACHE_LIMIT:
            self.known.clear()
        known = self.known
        # Rows of one subject share one identity object: look at each object once.
        distinct = list({id(i): i for i, _ in rows}.values())
        wanted = {identity.key for identity in distinct}
        self._load(wanted.difference(known))
        missing = wanted.difference(known)
        if missing:
            newest: dict[str, tuple[Identity, date]] = {}
            for identity, day in rows:
                k = identity.key
                if k in missing and (k not in newest or day > newest[k][1]):
                    newest[k] = (identity, day)
            self._create(newest.values())
            self._load(missing)
        self._track_facts(rows, distinct)
        return {k: known[k].id for k in wanted}

    def _load(self, keys: set[str]) -> None:
        if not keys:
            return
        sql = ("SELECT id, key, name, name_since, legal_rep FROM subject WHERE "
               + in_list(self.conn, "key", "keys"))
        for row in self.conn.execute(text(sql).columns(name_since=Date()),
                                     {"keys": list_param(self.conn, list(keys))}):
            self.known[row.key] = _Known(row.id, row.name, row.name_since, row.legal_rep)

    def _create(self, rows: Iterable[tuple[Identity, date]]) -> None:
        now = str(utcnow())
        bulk_insert(self.conn, "subject", SUBJECT_COLUMNS, [
            (i.key, i.uscc, i.name, day.isoformat(), i.kind, i.region, i.reg_no,
             i.org_code, i.legal_rep, i.legal_rep_id_type, i.legal_rep_id_number, i.id_type,
             i.id_number, now, now)
            for i, day in rows
        ])

    def _track_facts(self, rows: Sequence[tuple[Identity, date]],
                     distinct: Sequence[Identity]) -> None:
        known = self.known
        odd: dict[int, list[tuple[Identity, date]]] = {}
        for identity in distinct:
            s = known[identity.key]
            if identity.name != s.name or (identity.legal_rep and identity.legal_rep != s.legal_rep):
                odd[s.id] = []
        if not odd:
            return
        for identity, day in rows:
            items = odd.get(known[identity.key].id)
            if items is not None:
                items.append((identity, day))
        newest = text(
            "SELECT subject_id AS sid, MAX(decision_date) AS day FROM record WHERE "
            + in_list(self.conn, "subject_id", "ids") + " GROUP BY subject_id"
        ).columns(day=Date())
        stored: dict[int, date] = {
            r.sid: r.day
            for r in self.conn.execute(newest, {"ids": list_param(self.conn, list(odd))})}
        seen: dict[tuple[int, str], list[date]] = {}
        updates = []
        for sid, items in odd.items():
            subject = known[items[0][0].key]
            top, top_day = max(items, key=lambda item: item[1])
            last = stored.get(sid)
            if last is None or top_day > last:
                changed = False
                if top.name != subject.name:
                    _widen(seen, (sid, subject.name), subject.name_since or top_day)
                    _widen(seen, (sid, subject.name), last or top_day)
                    subject.name, subject.name_since = top.name, top_day
                    changed = True
                if top.legal_rep and top.legal_rep != subject.legal_rep:
                    subject.legal_rep = top.legal_rep
                    changed = True
                if changed:
                    updates.append({"id": sid, "name": subject.name, "since": subject.name_since,
                                    "rep": subject.legal_rep, "rep_type": top.legal_rep_id_type,
                                    "rep_id": top.legal_rep_id_number, "now": utcnow()})
            for identity, day in items:
                if identity.name != subject.name:
                    _widen(seen, (sid, identity.name), day)
        if updates:
            self.conn.execute(text(
                "UPDATE subject SET name = :name, name_since = :since, legal_rep = :rep, "
                "legal_rep_id_type = :rep_type, legal_rep_id_number = :rep_id, "
                "updated_at = :now WHERE id = :id"), updates)
        if seen:
            least = "min" if is_sqlite(self.conn) else "LEAST"
            most = "max" if is_sqlite(self.conn) else "GREATEST"
            self.conn.execute(text(
                "INSERT INTO subject_name (subject_id, name, first_seen, last_seen) "
                "VALUES (:sid, :name, :first, :last) ON CONFLICT (subject_id, name) DO UPDATE "
                f"SET first_seen = {least}(subject_name.first_seen, excluded.first_seen), "
                f"last_seen = {most}(subject_name.last_seen, excluded.last_seen)"),
                [{"sid": sid, "name": n, "first": min(ds), "last": max(ds)}
                 for (sid, n), ds in seen.items()])


def _widen(seen: dict[tuple[int, str], list[date]], key: tuple[int, str], day: date) -> None:
    seen.setdefault(key, []).append(day)


@dataclass(frozen=True)
class CurrentVersion:
    id: int
    version: int
    payload: str
    batch_id: int
    row_no: int
    on_time: bool | None


def current_versions(conn: Connection, department: str, item_code: str,
                     keys: dict[str, int]) -> dict[str, CurrentVersion]:
    """The current version of each document, given doc_no → its `source_key`."""
    sql = ("SELECT doc_no, id, version, payload, batch_id, row_no, on_time, department, "
           "item_code FROM record WHERE status = 'current' AND "
           + in_list(conn, "source_key", "keys"))
    return {r.doc_no: CurrentVersion(r.id, r.version, r.payload, r.batch_id, r.row_no,
                                     None if r.on_time is None else bool(r.on_time))
            for r in conn.execute(text(sql), {"keys": list_param(conn, list(keys.values()))})
            # the 64-bit key can in principle collide: confirm the identity itself
            if r.department == department and r.item_code == item_code}


def unknown_subjects(conn: Connection, ids: Collection[int]) -> list[int]:
    """Those of `ids` that name no subject (a load that referred to them is broken)."""
    wanted = set(ids)
    if not wanted:
        return []
    param = {"ids": list_param(conn, list(wanted))}
    where = " FROM subject WHERE " + in_list(conn, "id", "ids")
    if conn.execute(text("SELECT COUNT(*)" + where), param).scalar_one() == len(wanted):
        return []  # the usual answer, without moving the ids back
    return sorted(wanted - {int(i) for (i,) in conn.execute(text("SELECT id" + where), param)})


def store_versions(db: Db, rows: Sequence[tuple[Any, ...]],
                   superseded: Sequence[int], columns: Sequence[str] = RECORD_COLUMNS) -> None:
    """Write new record versions (tuples in `columns` order, the payload as the UTF-8
    bytes of its JSON), retiring the ones they replace. The old version stays in the store
    as history. A step of the caller's write (an ingest batch, a correction decided on an
    objection): given its connection, it joins that transaction; it writes no audit event
    of its own, the caller's event names the batch or the case."""
    with transaction(db) as conn:
        if superseded:
            conn.execute(text("UPDATE record SET status = 'superseded' WHERE id = :id"),
                         [{"id": i} for i in superseded])
        if rows:
            bulk_insert(conn, "record", columns, rows, utf8=("payload",))


def earlier_versions(conn: Connection, keys: Sequence[int], hashes: Sequence[int]
                     ) -> list[tuple[int, int, int | None, str | None]]:
    """The superseded versions of the records `keys` whose payload hash is one of `hashes`,
    and those stored without a hash, as (source key, version, hash, payload when it has no
    hash): one query over the (source_key, version) index, for the caller to match pairs."""
    if not keys:
        return []
    sql = ("SELECT source_key, version, payload_hash, "
           "CASE WHEN payload_hash IS NULL THEN payload END FROM record "
           "WHERE status = 'superseded' AND " + in_list(conn, "source_key", "keys")
           + " AND (payload_hash IS NULL OR " + in_list(conn, "payload_hash", "hashes") + ")")
    return [(int(k), int(v), None if h is None else int(h), p) for k, v, h, p in conn.execute(
        text(sql), {"keys": list_param(conn, list(keys)), "hashes": list_param(conn, list(hashes))})]


# Statements the portal runs on every subject page, built once (building them cost more than
# running them).
_SUBJECT_BY_CODE = (select(Subject.__table__).where(Subject.__table__.c.uscc == bindparam("code"))
                    .order_by(Subject.__table__.c.id).limit(1))
_FORMER_NAMES = (select(SubjectName.__table__.c.name, SubjectName.__table__.c.first_seen,
                        SubjectName.__table__.c.last_seen)
                 .where(SubjectName.__table__.c.subject_id == bindparam("subject_id"),
                        SubjectName.__table__.c.name != bindparam("name"))
                 .order_by(SubjectName.__table__.c.last_seen))


def subject_by_code(conn: Connection, code: str) -> Any:
    """The subject row (a mapping) with this normalised code, or None; of two subjects under
    one code (重错码) the first."""
    return conn.execute(_SUBJECT_BY_CODE, {"code": code}).mappings().first()


def former_names(conn: Connection, subject_id: int, name: str) -> list[dict[str, str | None]]:
    """The names the subject was reported under other than `name` (its current one), with
    the first and last day each was used, the most recently used last."""
    return [{"name": r.name, "first_seen": iso(r.first_seen), "last_seen": iso(r.last_seen)}
            for r in conn.execute(_FORMER_NAMES, {"subject_id": subject_id, "name": name})]


def show(conn: Connection, code: str) -> dict[str, Any]:
    """A subject and every version of every record held about it, identity numbers masked."""
    normal = uscc_rules.normalise(code)
    if len(normal) != uscc_rules.LENGTH:
        raise InvalidInput(f"“{code}”不是18位统一社会信用代码", code=CoreError.INVALID_USCC)
    subject = subject_by_code(conn, normal)
    if subject is None:
        raise NotFound(f"没有统一社会信用代码为 {normal} 的主体", code=CoreError.NOT_FOUND)
    names = conn.execute(select(SubjectName.__table__.c.name, SubjectName.__table__.c.first_seen,
                                SubjectName.__table__.c.last_seen)
                         .where(SubjectName.__table__.c.subject_id == subject["id"])
                         .order_by(SubjectName.__table__.c.last_seen)).all()
    t = Record.__table__
    records = conn.execute(select(t).where(t.c.subject_id == subject["id"])
                           .order_by(t.c.decision_date, t.c.doc_no, t.c.version)).mappings()
    return {
        "subject": {
            "id": subject["id"], "uscc": subject["uscc"], "name": subject["name"],
            "former_names": [{"name": n.name, "first_seen": iso(n.first_seen),
                              "last_seen": iso(n.last_seen)} for n in names],
            "kind": subject["kind"], "region": subject["region"],
            "reg_no": subject["reg_no"], "legal_rep": subject["legal_rep"],
            "legal_rep_id_type": subject["legal_rep_id_type"],
            "legal_rep_id_number": mask_id_number(subject["legal_rep_id_number"]),
        },
        "records": [record_view(r) for r in records],
    }



# Fields of a record's payload holding a person's identity number: always shown masked.
PERSONAL_FIELDS = ("legal_rep_id_number", "id_number")


def record_view(r: Any) -> dict[str, Any]:
    """One stored record version (a `record` row as a mapping) as `show` presents it: its
    facts and its payload, identity numbers masked (in free text too)."""
    payload = mask_ids_in_values(orjson.loads(r["payload"]), skip=PERSONAL_FIELDS)
    for f in PERSONAL_FIELDS:
        if f in payload:
            payload[f] = mask_id_number(payload[f])
    return {
        "id": r["id"], "kind": r["item_code"], "doc_no": r["doc_no"],
        "decision_date": iso(r["decision_date"]), "department": r["department"],
        "version": r["version"], "status": r["status"], "batch": r["batch_id"],
        "received_date": iso(r["received_date"]), "on_time": r["on_time"],
        "fields": payload,
    }


# 重错码 detection -------------------------------------------------------------------------

# one name under several codes: one organisation registered twice, or a wrong code
NAME_MULTIPLE_CODES = """
    SELECT name AS key, name AS name, COUNT(*) AS others
    FROM subject WHERE uscc IS NOT NULL AND kind = 'organisation'
    GROUP BY name HAVING COUNT(*) > 1"""


def _names_in_use(conn: Connection) -> str:
    name = ("json_extract(r.payload, '$.subject_name')" if is_sqlite(conn)
            else "(r.payload::json ->> 'subject_name')")
    return f"""
        SELECT s.uscc AS code, {name} AS name, MIN(r.decision_date) AS first_seen,
               MAX(r.decision_date) AS last_seen
        FROM record r JOIN subject s ON s.id = r.subject_id
        WHERE s.uscc IS NOT NULL AND s.id IN (SELECT subject_id FROM subject_name)
        GROUP BY s.uscc, {name} ORDER BY s.uscc"""


def _code_multiple_names(conn: Connection) -> list[tuple[str, str, int]]:
    """Codes reported under several names in a way a rename does not explain: more than two
    names, or two names whose periods of use overlap (A, then B, then A again). A clean
    rename — one name used until the other takes over — is not an issue."""
    by_code: dict[str, list[tuple[str, Any, Any]]] = {}
    for code, name, first, last in conn.execute(text(_names_in_use(conn))):
        by_code.setdefault(code, []).append((name, str(first), str(last)))
    found = []
    for code, names in by_code.items():
        if len(names) < 2:
            continue
        earlier, later = sorted(names, key=lambda n: n[1])[:2]
        if len(names) > 2 or later[1] <= earlier[2]:
            found.append((code, "、".join(n for n, _, _ in names), len(names)))
    return found


def detect_uscc_issues(db: Db) -> int:
    """Add newly found 重错码 cases to the work queue; returns how many were added."""
    with transaction(db) as conn:
        t = UsccIssue.__table__
        existing = {(r.kind, r.key) for r in conn.execute(select(t.c.kind, t.c.key))}
        added = []
        candidates = [("code_multiple_names", *c) for c in _code_multiple_names(conn)]
        candidates += [("name_multiple_codes", r.key, r.name, r.others)
                       for r in conn.execute(text(NAME_MULTIPLE_CODES))]
        for kind, key, name, others in candidates:
            if (kind, key) not in existing:
                added.append({"kind": kind, "key": key, "status": "open", "detected_at": utcnow(),
                              "detail": orjson.dumps({"name": name, "count": others}).decode()})
        # codes that failed validation: counted from returned rows, one issue per distinct code
        for key, detail in _invalid_codes(conn):
            if ("invalid_code", key) not in existing:
                added.append({"kind": "invalid_code", "key": key, "status": "open",
                              "detected_at": utcnow(), "detail": detail})
        if added:
            conn.execute(insert(UsccIssue), added)
        return len(added)


def _invalid_codes(conn: Connection) -> list[tuple[str, str]]:
    rows = conn.execute(text(
        "SELECT r.reasons, r.raw, b.department FROM rejection r JOIN batch b ON b.id = r.batch_id "
        "WHERE r.reasons LIKE '%\"uscc\"%'"))
    found: dict[str, str] = {}
    for reasons, _raw, department in rows:
        for reason in orjson.loads(reasons):
            if reason["code"] == "uscc" and "行政相对人" in reason["field"]:
                code = reason["message"].rsplit("（“", 1)[-1].rstrip("”）")
                found.setdefault(code, orjson.dumps({"department": department,
                                                     "reason": reason["message"]}).decode())
    return list(found.items())


def uscc_issues(db: Db) -> dict[str, Any]:
    """The 重错码 queue and the rate: codes with an open issue over all codes seen (newly
    found cases are added to the queue first, in the same transaction)."""
    with transaction(db) as conn:
        detect_uscc_issues(conn)
        return _uscc_issues(conn)


def _uscc_issues(conn: Connection) -> dict[str, Any]:
    t = UsccIssue.__table__
    issues = [
        {"id": r.id, "kind": r.kind, "key": r.key, "status": r.status,
         "detected_at": r.detected_at.isoformat(sep=" "), **orjson.loads(r.detail)}
        for r in conn.execute(select(t).order_by(t.c.id))
    ]
    s = Subject.__table__
    codes = conn.execute(select(func.count()).select_from(s).where(s.c.uscc.is_not(None))
                         ).scalar_one()
    open_codes = {i["key"] for i in issues if i["status"] == "open"
                  and i["kind"] in ("code_multiple_names", "invalid_code")}
    open_codes |= {c for i in issues if i["status"] == "open"
                   and i["kind"] == "name_multiple_codes"
                   for c in _codes_named(conn, i["key"])}
    total = codes + sum(1 for i in issues if i["kind"] == "invalid_code")
    return {
        "issues": issues,
        "codes": total,
        "codes_with_issues": len(open_codes),
        "rate": (len(open_codes) / total) if total else 0.0,
        "by_kind": {k: sum(1 for i in issues if i["kind"] == k and i["status"] == "open")
                    for k in ("code_multiple_names", "name_multiple_codes", "invalid_code")},
    }


def _codes_named(conn: Connection, name: str) -> list[str]:
    s = Subject.__table__
    return [c for (c,) in conn.execute(select(s.c.uscc).where(s.c.name == name,
                                                              s.c.uscc.is_not(None)))]
