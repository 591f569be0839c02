"""Subject verbs: resolving the subjects rows name, storing record versions, reading a
subject with its records, and detecting duplicate and wrong codes (重错码).

The write verbs here work on whole chunks of rows inside the caller's transaction: ingest
calls them once per few thousand rows, never once per row.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, Date, bindparam, func, insert, select, text

from xinyong.catalog.rules import Item
from xinyong.core import uscc as uscc_rules
from xinyong.core.db import bulk_insert, in_list, is_sqlite, list_param, utcnow
from xinyong.core.errors import InvalidInput, NotFound
from xinyong.core.masking import mask_id_number, mask_ids_in_text, mask_ids_in_values
from xinyong.ingest.rules import Identity
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


def store_versions(conn: Connection, rows: Sequence[tuple[Any, ...]],
                   superseded: Sequence[int], columns: Sequence[str] = RECORD_COLUMNS) -> None:
    """Write new record versions (tuples in `columns` order, the payload as the UTF-8
    bytes of its JSON), retiring the ones they replace. The old version stays in the store
    as history."""
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


@lru_cache(maxsize=1)
def _in_publicity_of_subject() -> Any:
    from xinyong.publicity.service import in_publicity

    t = Record.__table__
    return (select(t).where(t.c.subject_id == bindparam("subject_id"), t.c.status == "current",
                            in_publicity(t, bindparam("day", type_=Date())))
            .order_by(t.c.decision_date.desc(), t.c.id.desc()))


def _subject_row(conn: Connection, code: str) -> Any:
    return conn.execute(_SUBJECT_BY_CODE, {"code": code}).mappings().first()


def show(conn: Connection, code: str) -> dict[str, Any]:
    """A subject and every version of every record held about it, identity numbers masked."""
    normal = uscc_rules.normalise(code)
    if len(normal) != 18:
        raise InvalidInput(f"“{code}”不是18位统一社会信用代码")
    subject = _subject_row(conn, normal)
    if subject is None:
        raise NotFound(f"没有统一社会信用代码为 {normal} 的主体")
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
            "former_names": [{"name": n.name, "first_seen": _iso(n.first_seen),
                              "last_seen": _iso(n.last_seen)} for n in names],
            "kind": subject["kind"], "region": subject["region"],
            "reg_no": subject["reg_no"], "legal_rep": subject["legal_rep"],
            "legal_rep_id_type": subject["legal_rep_id_type"],
            "legal_rep_id_number": mask_id_number(subject["legal_rep_id_number"]),
        },
        "records": [_record_view(r) for r in records],
    }


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


PERSONAL_FIELDS = ("legal_rep_id_number", "id_number")


def _record_view(r: Any) -> dict[str, Any]:
    payload = mask_ids_in_values(orjson.loads(r["payload"]), skip=PERSONAL_FIELDS)
    for f in PERSONAL_FIELDS:
        if f in payload:
            payload[f] = mask_id_number(payload[f])
    return {
        "id": r["id"], "kind": r["item_code"], "doc_no": r["doc_no"],
        "decision_date": _iso(r["decision_date"]), "department": r["department"],
        "version": r["version"], "status": r["status"], "batch": r["batch_id"],
        "received_date": _iso(r["received_date"]), "on_time": r["on_time"],
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


def detect_uscc_issues(conn: Connection) -> int:
    """Add newly found 重错码 cases to the work queue; returns how many were added."""
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


def uscc_issues(conn: Connection) -> dict[str, Any]:
    """The 重错码 queue and the rate: codes with an open issue over all codes seen."""
    detect_uscc_issues(conn)
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


# Views for the portal and the console ------------------------------------------------------

KIND_LABELS = {"organisation": "法人和非法人组织", "individual_business": "个体工商户",
               "natural_person": "自然人"}


def _public_subject_row(conn: Connection, code: str) -> Any:
    normal = uscc_rules.normalise(code)
    if len(normal) != uscc_rules.LENGTH:
        raise InvalidInput(f"“{code}”不是18位统一社会信用代码", code="invalid_uscc")
    subject = _subject_row(conn, normal)
    # Natural persons have no public page: they are found only by a check with a basis.
    if subject is None or subject["kind"] == "natural_person":
        raise NotFound(f"没有统一社会信用代码为 {normal} 的主体")
    return subject


def _basic(conn: Connection, subject: Any) -> dict[str, Any]:
    names = conn.execute(_FORMER_NAMES, {"subject_id": subject["id"], "name": subject["name"]}).all()
    return {
        "uscc": subject["uscc"], "name": subject["name"], "kind": subject["kind"],
        "kind_label": KIND_LABELS.get(subject["kind"], subject["kind"]),
        "region": subject["region"], "legal_rep": subject["legal_rep"],
        "former_names": [{"name": r.name, "first_seen": _iso(r.first_seen),
                          "last_seen": _iso(r.last_seen)} for r in names],
    }


def _labelled(item: Item | None, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's fields in the order of its catalog item, with their labels, personal
    numbers masked, and resident ID numbers written into free text (a 违法事实 naming
    the person) masked too (fields the item does not know follow, unlabelled)."""
    fields = item.fields if item else ()
    out = [{"name": f.name, "label": f.label,
            "value": mask_id_number(payload[f.name]) if f.personal else _free(payload[f.name])}
           for f in fields if payload.get(f.name) not in (None, "")]
    known = {f.name for f in fields}
    out += [{"name": k, "label": k, "value": _free(v)} for k, v in payload.items()
            if k not in known and v not in (None, "") and k not in PERSONAL_FIELDS]
    return out


def _free(value: Any) -> Any:
    return mask_ids_in_text(value) if isinstance(value, str) else value


def public_view(conn: Connection, code: str, day: date) -> dict[str, Any]:
    """What the public may see of a subject on `day`: its basic information and the records
    in publicity that day (current versions only), personal numbers masked."""
    from xinyong.catalog.service import current_catalog

    subject = _public_subject_row(conn, code)
    rows = conn.execute(_in_publicity_of_subject(),
                        {"subject_id": subject["id"], "day": day}).mappings().all()
    catalog = current_catalog()
    records = []
    markers = _markers(conn, [r["id"] for r in rows])
    for r in rows:
        item = catalog.item(r["item_code"])
        records.append({
            "markers": markers.get(r["id"], []),
            "id": r["id"], "kind": r["item_code"], "kind_name": item.name if item else r["item_code"],
            "doc_no": r["doc_no"], "decision_date": _iso(r["decision_date"]),
            "department": r["department"],
            "publicity": {"tier": r["publicity_tier"], "start": _iso(r["publicity_start"]),
                          "end": _iso(r["publicity_end"])},
            "fields": _labelled(item, orjson.loads(r["payload"])),
        })
    return {"subject": _basic(conn, subject), "records": records, "as_of": day.isoformat(),
            "lists": _public_list_entries(conn, subject["id"], day)}


def _markers(conn: Connection, record_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The open objection and repair cases on each record, as the markers pages show
    ("异议处理中", "信用修复中") with the case to follow."""
    from xinyong.objections.service import open_cases as objections_open
    from xinyong.repair.queries import open_cases as repairs_open

    found: dict[int, list[dict[str, Any]]] = {}
    for kind, path, cases in (("objection", "/objections/", objections_open(conn, record_ids)),
                              ("repair", "/repairs/", repairs_open(conn, record_ids))):
        for record_id, case in cases.items():
            found.setdefault(record_id, []).append({
                "kind": kind, "label": case["label"], "case_no": case["case_no"],
                "status": case["status"], "url": path + case["case_no"]})
    return found


def _public_list_entries(conn: Connection, subject_id: int, day: date) -> list[dict[str, Any]]:
    """The subject's list entries active on `day` that are published (not those only shared
    between authorities)."""
    from xinyong.lists.service import active_entries

    return [{k: e[k] for k in ("kind", "kind_name", "list_type", "authority", "doc_no", "basis",
                               "listed_on", "ends_on", "ref", "repair")}
            for e in active_entries(conn, subject_id, day) if e.get("publicity") == "public"]


def history(conn: Connection, code: str) -> dict[str, Any]:
    """Everything held about a subject, for staff: every version of every record, published
    or not, with the batch and person that submitted it. Reading it is audited by the caller."""
    from xinyong.ingest.models import Batch

    normal = uscc_rules.normalise(code)
    subject = _subject_row(conn, normal) if len(normal) == uscc_rules.LENGTH else None
    if subject is None:
        raise NotFound(f"没有统一社会信用代码为 {code} 的主体")
    from datetime import timedelta

    from xinyong.catalog.service import current_catalog
    from xinyong.publicity import rules as publicity_rules
    from xinyong.publicity import service as publicity

    catalog = current_catalog()
    rules_now = publicity.current_rules(catalog)
    t, b = Record.__table__, Batch.__table__
    rows = list(conn.execute(select(t, b.c.submitted_by, b.c.submitted_at, b.c.filename)
                             .join(b, b.c.id == t.c.batch_id).where(t.c.subject_id == subject["id"])
                             .order_by(t.c.item_code, t.c.department, t.c.doc_no, t.c.version))
                .mappings())
    # why each version left publicity early (objection, repair), with the case that decided it
    stops = publicity.stops(conn, [r["id"] for r in rows])
    records = []
    for r in rows:
        view = _record_view(r)
        item = catalog.item(r["item_code"])
        payload = orjson.loads(r["payload"])
        end = r["publicity_end"]
        # why it entered publicity (tier and period) in the words of the rules in force now;
        # nothing new is stored for it, so an old record reads with today's wording
        reason = (publicity_rules.window(rules_now, item.publicity if item else None, payload,
                                         r["decision_date"], subject["kind"]).reason
                  if r["decision_date"] is not None else None)
        view.update(kind_name=item.name if item else r["item_code"],
                    submitted_by=r["submitted_by"], submitted_at=r["submitted_at"],
                    filename=r["filename"],
                    fields=_labelled(item, payload),
                    publicity={"tier": r["publicity_tier"], "published": bool(r["published"]),
                               "start": _iso(r["publicity_start"]),
                               "repair_from": _iso(r["publicity_repair_from"]),
                               "end": _iso(end),
                               "last_day": _iso(end - timedelta(days=1)) if end else None,
                               "reason": reason},
                    stops=[{**s, "case_url": _case_url(s["case_type"], s["case_id"])}
                           for s in stops.get(r["id"], [])])
        records.append(view)
    basic = _basic(conn, subject)
    basic.update(id=subject["id"], reg_no=subject["reg_no"],
                 legal_rep_id_type=subject["legal_rep_id_type"],
                 legal_rep_id_number=mask_id_number(subject["legal_rep_id_number"]),
                 id_type=subject["id_type"], id_number=mask_id_number(subject["id_number"]))
    return {"subject": basic, "records": records}


def _case_url(case_type: str | None, case_id: str | None) -> str | None:
    """Where the case that stopped a record's publicity is followed (part of `history`)."""
    if not case_id or case_type not in ("objection", "repair"):
        return None
    return f"/{case_type}s/{case_id}"
