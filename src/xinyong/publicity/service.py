"""Publicity verbs: which rules are in force, the window of a record, recomputing stored
windows, and the SQL condition "in publicity on day D" the portal filters by.

Windows are computed once, when ingest stores a record version (in the preparing worker,
`windows_for`), and kept on the record with the regime they were computed under. Whether a
record is in publicity is never stored: it follows from those dates on the day of asking.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Engine,
    FromClause,
    Select,
    and_,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    true,
    update,
)

from xinyong.catalog.rules import Catalog, Item
from xinyong.catalog.service import current_catalog
from xinyong.core import audit
from xinyong.core.dates import iso
from xinyong.core.db import Db, transaction, utcnow, writing
from xinyong.core.errors import CoreError, InvalidInput, NotFound
from xinyong.core.masking import mask_person_name
from xinyong.core.ruledata import rule_paths
from xinyong.publicity import rules
from xinyong.publicity.error_codes import PublicityError
from xinyong.publicity.events import PublicityEvent
from xinyong.publicity.models import PublicityStop
from xinyong.subjects.models import Record, Subject

FILE = "publicity.yaml"
Progress = Callable[[int, int], None]


def rules_paths(data_dir: Path | None = None) -> list[Path]:
    """The national defaults shipped with the package, then the locality's own
    `$XINYONG_DATA_DIR/publicity.yaml` if there is one."""
    return rule_paths(FILE, data_dir)


_loaded: dict[tuple[tuple[Path, ...], tuple[float, ...], str], rules.PublicityRules] = {}


def _load(paths: tuple[Path, ...], catalog: Catalog) -> rules.PublicityRules:
    categories = [v.value for v in catalog.enums.get("penalty_category", ())]
    loaded = rules.load(paths, categories or None)
    for item in catalog.items.values():
        rules.check_item(loaded, item.code, item.publicity, [f.name for f in item.fields])
    return loaded


def current_rules(catalog: Catalog | None = None) -> rules.PublicityRules:
    """The publicity rules in force, checked against the catalog: an item naming an unknown
    rule, or a rule naming a category the catalog does not know, is a RuleDataError.
    Remembered until a rules file or the catalog changes."""
    catalog = catalog or current_catalog()
    paths = tuple(rules_paths())
    key = (paths, tuple(p.stat().st_mtime for p in paths), catalog.digest)
    found = _loaded.get(key)
    if found is None:
        if len(_loaded) > 8:
            _loaded.clear()
        found = _loaded[key] = _load(paths, catalog)
    return found


def windows_for(item: Item, publicity: rules.PublicityRules) -> rules.Windows:
    """The window maker of one catalog item's records (used while preparing ingest chunks)."""
    return rules.Windows(publicity, item.publicity)


def in_publicity(table: FromClause, day: date | BindParameter[date]) -> ColumnElement[bool]:
    """SQL condition: a row of `table` (the record table or an alias of it) is in publicity on
    `day` — published, started, not yet ended (no end: open), and not stopped that day by an
    objection or repair decision (`publicity_stop`). Current versions only is the caller's
    filter (`status = 'current'`): a superseded version keeps its window as history."""
    c = table.c
    stop = PublicityStop.__table__
    stopped = exists().where(stop.c.record_id == c.id, stop.c.since <= day,
                             or_(stop.c.until.is_(None), stop.c.until > day))
    return and_(c.published == true(), c.publicity_start <= day,
                or_(c.publicity_end.is_(None), c.publicity_end > day), ~stopped)


def stop_publicity(db: Db, actor: audit.Actor, record_id: int, reason: str, since: date,
                   case_type: str, case_id: str, *, until: date | None = None) -> int:
    """Take a record out of publicity from `since` (until `until`, or for good), for the case
    that decided it; audited as `publicity.stopped`. Returns the stop's id."""
    with transaction(db) as conn:
        if reason not in rules.STOP_REASONS:
            raise InvalidInput(f"未知的停止公示原因 {reason}（{'、'.join(rules.STOP_REASONS)}）",
                               code=PublicityError.UNKNOWN_STOP_REASON)
        r = Record.__table__
        subject_id = conn.execute(select(r.c.subject_id).where(r.c.id == record_id)).scalar_one_or_none()
        if subject_id is None:
            raise NotFound(f"没有编号为 {record_id} 的记录", code=CoreError.UNKNOWN_RECORD)
        result = conn.execute(insert(PublicityStop).values(
            record_id=record_id, subject_id=subject_id, reason=reason, since=since, until=until,
            case_type=case_type, case_id=case_id, created_at=utcnow().replace(microsecond=0),
            created_by=actor.name[:128]))
        pk = result.inserted_primary_key
        assert pk is not None
        audit.record(conn, actor, PublicityEvent.STOPPED, "record", record_id, subject_id=subject_id,
                     detail={"reason": reason, "since": since.isoformat(),
                             "until": until.isoformat() if until else None,
                             "case_type": case_type, "case_id": case_id})
        return int(pk[0])


def resume_publicity(db: Db, actor: audit.Actor, stop_id: int, on: date) -> None:
    """End a suspension: the record is back in publicity from `on` (if its window still runs)."""
    with transaction(db) as conn:
        t = PublicityStop.__table__
        row = conn.execute(select(t).where(t.c.id == stop_id)).mappings().one_or_none()
        if row is None:
            raise NotFound(f"没有编号为 {stop_id} 的停止公示记录", code=PublicityError.UNKNOWN_STOP)
        if row["until"] is not None:
            raise InvalidInput(f"停止公示 {stop_id} 已于 {row['until']} 结束",
                               code=PublicityError.ALREADY_RESUMED)
        conn.execute(update(PublicityStop).where(t.c.id == stop_id).values(until=max(on, row["since"])))
        audit.record(conn, actor, PublicityEvent.RESUMED, "record", row["record_id"],
                     subject_id=row["subject_id"],
                     detail={"stop": stop_id, "on": on.isoformat(), "case_id": row["case_id"]})


def stops(conn: Connection, record_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each record's stops, oldest first, with the reason in words: why it left publicity."""
    t = PublicityStop.__table__
    found: dict[int, list[dict[str, Any]]] = {}
    if not record_ids:
        return found
    for row in conn.execute(select(t).where(t.c.record_id.in_(record_ids)).order_by(t.c.id)).mappings():
        found.setdefault(row["record_id"], []).append({
            "id": row["id"], "reason": row["reason"], "label": rules.STOP_REASONS[row["reason"]],
            "since": iso(row["since"]), "until": iso(row["until"]),
            "case_type": row["case_type"], "case_id": row["case_id"]})
    return found


# The 双公示 items the portal lists (C4: public records appear only inside their window).
LISTED_KINDS = ("penalty", "licence")


def _listed(day: date, kind: str, department: str | None, since: date | None,
            until: date | None, keyword: str | None, tier: str | None) -> Select[Any]:
    """The listing's rows before ordering and paging: current records of `kind` in publicity
    on `day`, with the filters the portal offers. The keyword matches the 文书号 or, for
    organisations only, the subject's name: a natural person, listed by a masked name, must not
    be found by their name."""
    r, s = Record.__table__, Subject.__table__
    query = (select(r.c.id, r.c.item_code, r.c.doc_no, r.c.decision_date, r.c.department,
                    r.c.publicity_tier, r.c.publicity_start, r.c.publicity_end,
                    s.c.uscc, s.c.name, s.c.kind)
             .join(s, s.c.id == r.c.subject_id)
             .where(r.c.item_code == kind, r.c.status == "current", in_publicity(r, day)))
    if department is not None:
        query = query.where(r.c.department == department)
    if since is not None:
        query = query.where(r.c.decision_date >= since)
    if until is not None:
        query = query.where(r.c.decision_date <= until)
    if tier is not None:
        query = query.where(r.c.publicity_tier == tier)
    if keyword:
        pattern = "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(r.c.doc_no.like(pattern, escape="\\"),
                                and_(s.c.kind != "natural_person",
                                     s.c.name.like(pattern, escape="\\"))))
    return query


def listing(conn: Connection, day: date, *, kind: str = "penalty", department: str | None = None,
            since: date | None = None, until: date | None = None, keyword: str | None = None,
            tier: str | None = None, limit: int = 30, offset: int = 0) -> list[dict[str, Any]]:
    """Current records of one kind in publicity on `day`, newest decision first, optionally of
    one department, decided between `since` and `until` (inclusive), of one tier (失信严重程度),
    and whose 文书号 or subject name contains `keyword`."""
    r = Record.__table__
    query = (_listed(day, kind, department, since, until, keyword, tier)
             .order_by(r.c.decision_date.desc(), r.c.id.desc()).limit(limit).offset(offset))
    item = current_catalog().item(kind)
    kind_name = item.name if item else kind
    return [{"id": row.id, "kind": row.item_code, "kind_name": kind_name, "doc_no": row.doc_no,
             "decision_date": iso(row.decision_date), "department": row.department,
             "tier": row.publicity_tier, "start": iso(row.publicity_start),
             "end": iso(row.publicity_end),
             "subject": _listed_subject(row.uscc, row.name, row.kind)}
            for row in conn.execute(query)]


def listing_count(conn: Connection, day: date, *, kind: str = "penalty",
                  department: str | None = None, since: date | None = None,
                  until: date | None = None, keyword: str | None = None,
                  tier: str | None = None) -> int:
    """How many rows `listing` has with the same filters, all pages together."""
    query = _listed(day, kind, department, since, until, keyword, tier)
    return int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())


def published_tiers() -> list[str]:
    """The tiers (失信严重程度) whose records are shown, mildest first, for the 严重程度 filter."""
    return [t.name for t in current_rules().tiers.values() if t.published]


def count_in_publicity(conn: Connection, day: date) -> int:
    """Current records of any item in publicity on `day`, for the portal's figures (one
    COUNT over the publicity index)."""
    r = Record.__table__
    return int(conn.execute(select(func.count()).select_from(r)
                            .where(r.c.status == "current", in_publicity(r, day))).scalar_one())


def _listed_subject(uscc: str | None, name: str, kind: str) -> dict[str, Any]:
    """A natural person (published only where a locality configures it) is listed by a masked
    name and no code: a listing must not become a way to look people up."""
    if kind == "natural_person":
        return {"uscc": None, "name": mask_person_name(name) or "", "kind": kind}
    return {"uscc": uscc, "name": name, "kind": kind}


# Which departments have reported records of some kinds: the batches say so, and they are
# ingest's. Ingest stands a layer above publicity, so it hands its query down when it is
# loaded (`ingest.service.reported_departments`), rather than publicity reaching up for it.
ReportedDepartments = Callable[[Connection, Sequence[str]], list[str]]
_reported_departments: list[ReportedDepartments] = []


def read_reporters_with(query: ReportedDepartments) -> None:
    """Install the query `departments` answers with (the owner of the batches calls this)."""
    _reported_departments[:] = [query]


def departments(conn: Connection) -> list[str]:
    """Departments that have reported 双公示 records, for the listing's filter (read from the
    small batch table through its owner, not from the records)."""
    return _reported_departments[0](conn, LISTED_KINDS) if _reported_departments else []


def _subject_kinds(catalog: Catalog) -> dict[str, str]:
    return {ev.value: ev.kind or "organisation" for ev in catalog.enums.get("subject_category", ())}


def window(engine: Engine, record_id: int) -> dict[str, Any]:
    """A record's window as stored, with why (`reason`, from the rules in force) and the
    regime it was computed under. A record stored before windows existed (no regime yet)
    gets its window computed now, not stored (`stored: false`)."""
    t = Record.__table__
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.id == record_id)).mappings().first()
    if row is None:
        raise NotFound(f"没有编号为 {record_id} 的信用记录", code=CoreError.UNKNOWN_RECORD)
    catalog = current_catalog()
    item = catalog.item(row["item_code"])
    publicity = current_rules(catalog)
    payload = orjson.loads(row["payload"])
    kind = _subject_kinds(catalog).get(payload.get("subject_category", ""), "organisation")
    computed = rules.window(publicity, item.publicity if item else None, payload,
                            row["decision_date"], kind)
    stored = row["publicity_regime"] is not None
    return {
        "record": row["id"], "item_code": row["item_code"], "doc_no": row["doc_no"],
        "version": row["version"], "status": row["status"],
        "decision_date": iso(row["decision_date"]),
        "tier": row["publicity_tier"] if stored else computed.tier,
        "published": bool(row["published"]) if stored else computed.published,
        "start": iso(row["publicity_start"]) if stored else iso(computed.start),
        "earliest_repair": (iso(row["publicity_repair_from"]) if stored
                            else iso(computed.earliest_repair)),
        "end": iso(row["publicity_end"]) if stored else iso(computed.end),
        "regime": row["publicity_regime"] if stored else computed.regime,
        "stored": stored,
        "reason": computed.reason,
        "current_regime": publicity.regime,
        "basis": publicity.basis,
    }


_UPDATE = text(
    "UPDATE record SET publicity_tier = :tier, published = :published, "
    "publicity_start = :start, publicity_repair_from = :repair, publicity_end = :end, "
    "publicity_regime = :regime WHERE id = :id")


def recompute(engine: Engine, *, all_records: bool = False, chunk_rows: int = 5000,
              actor: audit.Actor = audit.SYSTEM,
              progress: Progress | None = None) -> dict[str, Any]:
    """Give stored records their windows under the rules in force: those stored before
    windows existed (no regime), or with `all_records` every version. One transaction per
    chunk of records (resumable: a second run continues where one stopped), then one audit
    event `publicity.recompute` with the counts."""
    catalog = current_catalog()
    publicity = current_rules(catalog)
    kinds = _subject_kinds(catalog)
    makers = {code: windows_for(item, publicity) for code, item in catalog.items.items()}
    no_rule = rules.Windows(publicity, None)
    t = Record.__table__
    scope = t.c.publicity_regime.is_(None) if not all_records else true()
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(t).where(scope)).scalar_one())
    tiers: Counter[str] = Counter()
    done = published = 0
    last = 0
    while True:
        with writing(engine) as conn:
            rows = conn.execute(
                select(t.c.id, t.c.item_code, t.c.decision_date, t.c.payload)
                .where(scope, t.c.id > last).order_by(t.c.id).limit(chunk_rows)).all()
            if not rows:
                break
            params = []
            for rid, item_code, decision, payload in rows:
                values = orjson.loads(payload)
                maker = makers.get(item_code, no_rule)
                tier, is_published, start, repair, end = maker.of(
                    values, decision.isoformat() if isinstance(decision, date) else str(decision),
                    kinds.get(values.get("subject_category", ""), "organisation"))
                params.append({"id": rid, "tier": tier, "published": is_published,
                               "start": _day(start), "repair": _day(repair), "end": _day(end),
                               "regime": publicity.regime})
                tiers[tier or "不分级"] += 1
                published += is_published
            conn.execute(_UPDATE, params)
            last = rows[-1][0]
            done += len(rows)
        if progress:
            progress(done, total)
    counts = {"records": done, "published": published, "tiers": dict(tiers.most_common()),
              "regime": publicity.regime, "all": all_records}
    with writing(engine) as conn:
        audit.record(conn, actor, PublicityEvent.RECOMPUTE, "record", None, detail=counts)
    return counts


def _day(iso: str | None) -> date | None:
    return date.fromisoformat(iso) if iso is not None else None


# --- for the set-based reads of other capabilities (evaluation, warnings) -------------------

def stopped_records(day: date | BindParameter[date]) -> Select[Any]:
    """SQL (a select): the ids of the records out of publicity on `day` by a stop — repaired,
    revoked or suspended after an objection. What such a decision means for the subject: the
    record no longer counts (evaluation's indicators)."""
    stop = PublicityStop.__table__
    return select(stop.c.record_id).where(stop.c.since <= day,
                                          or_(stop.c.until.is_(None), stop.c.until > day))


def any_stopped(conn: Connection, day: date) -> bool:
    """Whether any record is out of publicity by a stop on `day`."""
    return conn.execute(stopped_records(day).limit(1)).first() is not None


def revoked_by(record_id: ColumnElement[Any], day: date | BindParameter[date]) -> ColumnElement[bool]:
    """SQL condition: the record `record_id` (a column of the caller's query) was revoked after
    an objection on or before `day`: it is no fact any more (warnings)."""
    stop = PublicityStop.__table__
    return exists().where(stop.c.record_id == record_id, stop.c.reason == "revoked",
                          stop.c.since <= day)


def stop_periods(conn: Connection, record_ids: list[int]) -> list[tuple[int, date, date | None]]:
    """(record id, since, until) of each stop of these records, in no order: the bare periods
    the check index keeps to tell on any day whether a record is stopped (`stops` for the
    words and the case)."""
    t = PublicityStop.__table__
    if not record_ids:
        return []
    return [(int(r.record_id), r.since, r.until) for r in conn.execute(
        select(t.c.record_id, t.c.since, t.c.until).where(t.c.record_id.in_(record_ids)))]


def stopped_on(table: FromClause, day: date | BindParameter[date]) -> ColumnElement[bool]:
    """SQL condition: a row of `table` (the record table or an alias of it) is taken out of
    publicity on `day` by a stop (objection, repair). For owners that decide themselves
    whether a record counts (lists: a `list_entry` record is in force by its own dates)."""
    stop = PublicityStop.__table__
    return exists().where(stop.c.record_id == table.c.id, stop.c.since <= day,
                          or_(stop.c.until.is_(None), stop.c.until > day))
