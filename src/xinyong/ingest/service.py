"""Ingest verbs: `ingest_file` turns one submitted file into a batch, and `quality` reports
how well each department reports.

A batch is one transaction: its rows are stored, corrected or returned together, or — on any
failure — not at all. Work is done per chunk of rows (bounded memory, bulk writes): validate
in Python, then one query to resolve the chunk's subjects, one to find the current versions
of its documents, and bulk inserts.
"""

from __future__ import annotations

import gc
import logging
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, case, func, insert, select, text, update

from xinyong.accounts.rules import Forbidden, Principal
from xinyong.catalog.rules import Item
from xinyong.catalog.service import current_catalog, register_version
from xinyong.core import audit
from xinyong.core.db import (
    Db,
    bulk_insert,
    bulk_writing,
    in_list,
    is_sqlite,
    large_cache,
    list_param,
    reading,
    transaction,
    utcnow,
    writing,
)
from xinyong.core.errors import BadFile, Concealed, CoreError, InvalidInput, NotFound, XinyongError
from xinyong.core.settings import get_settings
from xinyong.departments import rules as dept_rules
from xinyong.departments import service as departments
from xinyong.ingest import rules
from xinyong.ingest.error_codes import IngestError
from xinyong.ingest.error_report import ErrorReport
from xinyong.ingest.events import IngestEvent
from xinyong.ingest.models import Batch, BatchIdAllocation
from xinyong.ingest.prepare import Chunk, Plan, Ready, Returned, prepared, returned_row
from xinyong.ingest.readers import Table, open_table, readable, temp_dir
from xinyong.publicity import service as publicity
from xinyong.subjects import identity as person_keys
from xinyong.subjects import service as subjects
from xinyong.subjects.identity import Identity, IdentityFields

Progress = Callable[[int, float], None]
log = logging.getLogger("xinyong.ingest")


@dataclass
class Receipt:
    """What the department gets back for a file (回执)."""

    batch: int
    department: str
    kind: str
    kind_name: str
    filename: str
    format: str
    encoding: str | None
    received: str
    catalog_version: str
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    new: int = 0
    corrected: int = 0
    unchanged: int = 0
    stale: int = 0  # identical to an older version of their record: returned, nothing changed
    on_time: int = 0
    late: int = 0
    blank_rows: int = 0
    # Accepted rows whose free text (违法事实, 备注 …) holds a resident ID number: published
    # masked, but the department should not write one there.
    free_text_ids: int = 0
    backfill: bool = False
    correction: bool = False  # the department marked the file as correcting current versions
    department_registered: bool = False  # the batch registered its department (command line)
    compliance_rate: float | None = None
    timeliness_rate: float | None = None
    unknown_columns: list[str] = field(default_factory=list)
    rejection_reasons: dict[str, int] = field(default_factory=dict)
    error_report: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def finish(self) -> None:
        self.accepted = self.new + self.corrected + self.unchanged
        self.compliance_rate = _compliance(self.rows, self.accepted, self.stale)
        self.timeliness_rate = _rate(self.on_time, self.on_time + self.late)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _compliance(rows: int, accepted: int, stale: int) -> float | None:
    """合规率: the share of rows that were valid. A stale row is valid, only old."""
    return _rate(accepted + stale, rows)


def resolve_item(table: Table, kind: str | None) -> Item:
    catalog = current_catalog()
    if kind:
        item = catalog.item(kind)
        if item is None:
            raise InvalidInput(f"未知的信息类别“{kind}”；可选：{'、'.join(catalog.items)}",
                               code=IngestError.UNKNOWN_KIND)
        return item
    item = rules.detect_item(catalog, table.header)
    if item is None:
        raise BadFile("无法从表头识别信息类别（行政许可或行政处罚等），请指定信息类别",
                      code=CoreError.BAD_FILE)
    return item


class _Store:
    """Stores the prepared chunks of one batch: finds each document's current version,
    resolves subjects, writes new versions and returned rows."""

    def __init__(self, conn: Connection, item: Item, receipt: Receipt,
                 catalog_version_id: int, report: ErrorReport, regime: str,
                 columns: dict[str, int], width: int) -> None:
        self.conn = conn
        self.columns = columns  # field -> column of the file, to return stale rows as sent
        self.width = width
        self.key_label = item.field(item.key_field).label  # type: ignore[union-attr]
        self.regime = regime
        self.report = report
        self.item = item
        self.receipt = receipt
        self.catalog_version_id = catalog_version_id
        self.resolver = subjects.SubjectResolver(conn)
        self.reasons: Counter[str] = Counter()
        self.corrections: list[tuple[int, int, int, str]] = []  # old id, version, subject, doc
        self.days: dict[str, date] = {}
        self.subject_ids: set[int] = set()  # every subject a stored record refers to
        # Until a department has stored records of this kind there is nothing to correct:
        # skip the look-up of current versions (a first load of a million rows saves seconds).
        self.has_records = conn.execute(text(
            "SELECT 1 FROM batch WHERE department = :d AND item_code = :i AND new > 0 LIMIT 1"),
            {"d": receipt.department, "i": item.code}).first() is not None

    def chunk(self, chunk: Chunk) -> None:
        receipt = self.receipt
        receipt.rows += chunk.rows
        receipt.blank_rows += chunk.blank_rows
        receipt.free_text_ids += chunk.free_text_ids
        receipt.rejected += len(chunk.returned)
        self.reasons.update(chunk.reasons)
        returned = chunk.returned
        if chunk.ready:
            stale = self._store(chunk.ready)
            if stale:
                returned = sorted(returned + stale)
        if returned:
            batch = receipt.batch
            bulk_insert(self.conn, "rejection", REJECTION_COLUMNS,
                        [(batch, row_no, reasons, raw, key, digest)
                         for row_no, reasons, raw, _, key, digest in returned])
            for r in returned:
                self.report.add(returned_row(r), r[3])

    def verify_references(self) -> None:
        """What the foreign keys would have checked row by row (`bulk_writing`), once: the
        batch, its catalog version and every subject its records and names refer to exist.
        Raises (and the batch is rolled back) if not — a defect, never the department's."""
        conn = self.conn
        found = conn.execute(text(
            "SELECT (SELECT COUNT(*) FROM batch WHERE id = :b) "
            "+ (SELECT COUNT(*) FROM catalog_version WHERE id = :c)"),
            {"b": self.receipt.batch, "c": self.catalog_version_id}).scalar_one()
        missing = subjects.unknown_subjects(conn, self.subject_ids)
        if found != 2 or missing:
            raise RuntimeError(f"归集批次引用了不存在的批次、目录版本或主体（{missing[:5]}），已回滚")

    def _store(self, ready: list[Ready]) -> list[Returned]:
        """Store the chunk's valid rows; returns the stale ones, to be sent back."""
        receipt, item = self.receipt, self.item
        department = receipt.department
        existing = subjects.current_versions(self.conn, department, item.code,
                                             {r[1]: r[7] for r in ready}) if self.has_records else {}
        keep: list[tuple[Ready, subjects.CurrentVersion | None]] = []
        for r in ready:
            prev = existing.get(r[1]) if existing else None
            if prev is not None and prev.payload == r[3].decode():
                receipt.unchanged += 1
            else:
                keep.append((r, prev))
        stale: list[Returned] = []
        if existing and not receipt.correction:
            keep, stale = self._without_stale(keep)
        days = self.days
        for r, _ in keep:
            if r[2] not in days:
                days[r[2]] = date.fromisoformat(r[2])
        identities = _identities(r[4] for r, _ in keep)
        ids = self.resolver.resolve([(identities[id(r[4])], days[r[2]]) for r, _ in keep])
        self.subject_ids.update(ids.values())
        received_iso = receipt.received
        out = []
        superseded = []
        on_time = late = 0
        regime = self.regime
        for (row_no, doc_no, decision, payload, identity, timely, window, key, digest), prev \
                in keep:
            subject_id = ids[identities[id(identity)].key]
            if prev is None:
                version = 1
                if timely is True:
                    on_time += 1
                elif timely is False:
                    late += 1
            else:
                # A correction keeps the timeliness of the first report it corrects.
                version = prev.version + 1
                timely = prev.on_time
                superseded.append(prev.id)
                self.corrections.append((prev.id, version, subject_id, doc_no))
            out.append((key, subject_id, item.code, department, doc_no, version, "current",
                        decision, received_iso, timely, receipt.batch, row_no,
                        self.catalog_version_id, payload, *window, regime, digest))
        subjects.store_versions(self.conn, out, superseded, subjects.HASHED_RECORD_COLUMNS)
        receipt.on_time += on_time
        receipt.late += late
        receipt.corrected += len(superseded)
        receipt.new += len(out) - len(superseded)
        receipt.stale += len(stale)
        return stale

    def _without_stale(self, keep: list[tuple[Ready, subjects.CurrentVersion | None]]
                       ) -> tuple[list[tuple[Ready, subjects.CurrentVersion | None]],
                                  list[Returned]]:
        """Split the would-be corrections from the stale rows: those identical to an older
        version of their record, or to a row of it already refused as an in-batch duplicate.
        Two queries for the chunk, comparing payload hashes in SQL."""
        changed = [(r, prev) for r, prev in keep if prev is not None]
        if not changed:
            return keep, []
        keys = [r[7] for r, _ in changed]
        hashes = [r[8] for r, _ in changed]
        older: dict[tuple[int, int], int] = {}
        unhashed: dict[int, list[tuple[int, str]]] = {}
        for key, version, digest, payload in subjects.earlier_versions(self.conn, keys, hashes):
            if digest is not None:
                older[(key, digest)] = max(version, older.get((key, digest), 0))
            elif payload is not None:
                unhashed.setdefault(key, []).append((version, payload))
        refused = _refused_duplicates(self.conn, keys, hashes)
        if not older and not unhashed and not refused:
            return keep, []
        out: list[tuple[Ready, subjects.CurrentVersion | None]] = []
        stale: list[Returned] = []
        for r, prev in keep:
            why = None if prev is None else self._stale_reason(r, prev, older, unhashed, refused)
            if why is None:
                out.append((r, prev))
            else:
                self.reasons["stale"] += 1
                stale.append(self._returned(r, why))
        return out, stale

    def _stale_reason(self, r: Ready, prev: subjects.CurrentVersion,
                      older: dict[tuple[int, int], int], unhashed: dict[int, list[tuple[int, str]]],
                      refused: dict[tuple[int, int], tuple[int, int]]) -> str | None:
        key, digest = r[7], r[8]
        version = older.get((key, digest))
        if version is None and key in unhashed:
            text_ = r[3].decode()
            version = max((v for v, p in unhashed[key] if p == text_), default=None)
        label, doc = self.key_label, r[1]
        hint = "本行未入库、记录未改变；如确需以本行内容更正现行版本，请按“更正现行版本”方式重新报送"
        if version is not None:
            return (f"“{label}”{doc}：本行与该记录已被更正的第{version}版相同"
                    f"（现行为第{prev.version}版），是过时数据；{hint}")
        seen = refused.get((key, digest))
        if seen is not None:
            return (f"“{label}”{doc}：本行与批次{seen[0]}第{seen[1]}行相同，该行已因文书号重复"
                    f"被退回，是过时数据；{hint}")
        return None

    def _returned(self, r: Ready, why: str) -> Returned:
        """A stale row as returned: its cells rebuilt from the validated values (what was
        read, in its columns), and the reason."""
        values = orjson.loads(r[3])
        cells = [""] * self.width
        for name, value in values.items():
            column = self.columns.get(name)
            if column is not None:
                cells[column] = value
        reasons = orjson.dumps([{"field": self.key_label, "code": "stale", "message": why}])
        return (r[0], reasons.decode(), orjson.dumps(cells).decode(), why, None, None)


REJECTION_COLUMNS = ("batch_id", "row_no", "reasons", "raw", "source_key", "payload_hash")


def _refused_duplicates(conn: Connection, keys: list[int], hashes: list[int]
                        ) -> dict[tuple[int, int], tuple[int, int]]:
    """(source key, payload hash) of rows refused as in-batch duplicates → (batch, row)."""
    sql = ("SELECT source_key, payload_hash, batch_id, row_no FROM rejection WHERE "
           + in_list(conn, "source_key", "keys") + " AND " + in_list(conn, "payload_hash", "hashes"))
    found: dict[tuple[int, int], tuple[int, int]] = {}
    for key, digest, batch, row in conn.execute(text(sql), {
            "keys": list_param(conn, keys), "hashes": list_param(conn, hashes)}):
        found.setdefault((int(key), int(digest)), (int(batch), int(row)))
    return found


def _identities(fields: Iterable[IdentityFields]) -> dict[int, Identity]:
    """The `Identity` of each distinct fields tuple of a chunk, by id(): rows of one subject
    share one tuple, and go on sharing one identity (the resolver looks at each once)."""
    out: dict[int, Identity] = {}
    for f in fields:
        if id(f) not in out:
            out[id(f)] = Identity._make(f)
    return out


def ingest_file(
    engine: Engine,
    path: Path,
    department: str,
    *,
    kind: str | None = None,
    received: date | None = None,
    actor: audit.Actor = audit.SYSTEM,
    progress: Progress | None = None,
    filename: str | None = None,
    backfill: bool = False,
    correction: bool = False,
    registered_only: bool = False,
    register_new: bool = False,
) -> Receipt:
    """Ingest one file for one department as one batch and return its receipt.

    The department is looked up in the registry (by name or alias; the batch is stored under
    its registered name); rows whose deciding body or source unit is not the department or a
    body it reports for are returned. With `registered_only` (what the web edges pass) a
    department not in the registry is refused; otherwise (the platform's own loads) it stands
    for itself alone. With `register_new` (the command line) a new department is registered
    in the batch's own transaction, so a file that fails leaves no department behind.

    `backfill` marks historical data loaded when a platform goes live (历史数据补录): its
    records are stored as usual, but their timeliness is not assessed — it was never the
    department's to meet.

    `correction` marks the file as correcting the current versions: a row identical to an
    older version of its record then becomes a new version (it restores old values on
    purpose) instead of being returned as stale."""
    department = dept_rules.clean_name(department)
    name = filename or path.name
    allocated: list[int] = []
    try:
        with readable(path, name) as table_path:
            return _ingest(engine, path, table_path, department, name, allocated, kind=kind,
                           received=received or date.today(), actor=actor, progress=progress,
                           backfill=backfill, correction=correction,
                           registered_only=registered_only, register_new=register_new)
    except XinyongError as exc:
        _audit_outcome(engine, actor, IngestEvent.BATCH_REFUSED, allocated, department, name,
                       {"code": exc.code, "message": exc.message[:500]})
        raise
    except Exception as exc:
        _audit_outcome(engine, actor, IngestEvent.BATCH_FAILED, allocated, department, name,
                       {"error": type(exc).__name__})
        raise


# What a file that did not become a batch is audited as (see `_audit_outcome`).
OUTCOMES = (IngestEvent.BATCH_REFUSED, IngestEvent.BATCH_FAILED)


def _audit_outcome(engine: Engine, actor: audit.Actor, action: str, allocated: list[int],
                   department: str, filename: str, detail: dict[str, Any]) -> None:
    """A file that did not become a batch, in the audit log (its own transaction: the
    batch's rolled back). `batch.refused`: the file or request was refused, with the reason
    the department was told; `batch.failed`: the platform failed while storing it."""
    batch = allocated[0] if allocated else None
    try:
        with writing(engine) as conn:
            audit.record(conn, actor, action, "batch", batch, detail={
                "department": department, "filename": filename[:255], **detail})
    except Exception:  # the refusal or failure itself is what the caller must hear about
        log.exception("could not audit %s of %s", action, filename)


def _ingest(engine: Engine, path: Path, table_path: Path, department: str, name: str,
            allocated: list[int], *, kind: str | None, received: date, actor: audit.Actor,
            progress: Progress | None, backfill: bool, correction: bool,
            registered_only: bool, register_new: bool) -> Receipt:
    """`ingest_file` once the file is readable (`table_path`: itself or the rows of its
    workbook). The batch's files are written to a folder of their own under the temporary
    folder and moved to `batches/<id>` only once the batch is committed: a batch that rolls
    back leaves nothing behind in `batches/`, and the startup sweep (`sweep`) deletes or
    finishes what a crash left in the temporary folder."""
    settings = get_settings()
    catalog = current_catalog()
    rules_in_force = publicity.current_rules(catalog)
    table = open_table(table_path, name)
    try:
        item = resolve_item(table, kind)
        header_map = rules.map_headers(item, table.header)
        if not header_map.columns:
            raise BadFile(f"表头与“{item.name}”的字段都不匹配：{'、'.join(table.header[:8])}",
                          code=CoreError.BAD_FILE)
    finally:
        table.close()
    fmt, encoding = table.format, table.encoding
    batch_id = _allocate_batch_id(engine)
    if batch_id is not None:
        allocated.append(batch_id)
    work = temp_dir() / f"batch-{batch_id or 0}-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    # A batch allocates millions of short-lived, acyclic objects: reference counting frees
    # them, and the cyclic collector would only re-scan them over and over.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with bulk_writing(engine) as conn, large_cache(conn, settings.ingest_cache_mib):
            person_keys.ensure_secret(conn)  # before any worker process keys a person
            registry = departments.registry(conn)
            found = registry.find(department)
            if found is None and registered_only:
                departments.require(conn, department)  # raises, naming the department
            registered_now = found is None and register_new
            if registered_now:
                found = departments.register(conn, actor, department)
                registry = departments.registry(conn)
            department = found.name if found is not None else department
            bodies = registry.bodies(department, item.code)
            catalog_version_id = register_version(conn, catalog)
            batch_id = _open_batch(conn, fmt, encoding, item, department, received, actor,
                                   catalog_version_id, name, batch_id)
            if not allocated:
                allocated.append(batch_id)
                named = work.with_name(f"batch-{batch_id}-{work.name.rsplit('-', 1)[-1]}")
                work = work.rename(named)
            folder = batches_dir() / str(batch_id)
            source_name = "source" + (path.suffix or "." + fmt)
            shutil.copyfile(path, work / source_name)
            receipt = Receipt(batch_id, department, item.code, item.name, name, fmt, encoding,
                              received.isoformat(), catalog.version, backfill=backfill,
                              correction=correction, department_registered=registered_now,
                              unknown_columns=list(header_map.unknown))
            report = ErrorReport(table, work / "errors")
            store = _Store(conn, item, receipt, catalog_version_id, report, rules_in_force.regime,
                           header_map.columns, len(table.header))
            plan = Plan(table_path, department, item.code, catalog, received,
                        settings.ingest_chunk_rows, not backfill, rules_in_force,
                        settings.ingest_parallel_bytes, settings.ingest_workers, bodies)
            try:
                for chunk in prepared(plan):
                    store.chunk(chunk)
                    if progress:
                        progress(receipt.rows + receipt.blank_rows, chunk.progress)
            finally:
                report.close()
            receipt.error_report = str(folder / report.path.name) if report.written else None
            if receipt.rows == 0:
                raise BadFile(f"文件 {name} 只有表头，没有数据行", code=CoreError.BAD_FILE)
            receipt.rejection_reasons = dict(store.reasons.most_common())
            receipt.finish()
            _close_batch(conn, receipt, str(folder / source_name))
            store.verify_references()
            audit.record(conn, actor, IngestEvent.BATCH, "batch", batch_id, detail={
                k: v for k, v in receipt.as_dict().items()
                if k in ("department", "kind", "filename", "rows", "accepted", "rejected",
                         "new", "corrected", "unchanged", "stale", "on_time", "late", "backfill",
                         "correction")})
            for old_id, version, subject_id, doc_no in store.corrections:
                audit.record(conn, actor, IngestEvent.RECORD_CORRECTED, "record", old_id,
                             subject_id=subject_id,
                             detail={"batch": batch_id, "doc_no": doc_no, "version": version})
        _settle(work, folder)
        return receipt
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        if gc_was_enabled:
            gc.enable()


def batches_dir() -> Path:
    return get_settings().files_dir / "batches"


def _settle(work: Path, folder: Path) -> None:
    """Move a committed batch's files to their place. A folder already there can only be a
    leftover of an id an older version of the platform reused: it is replaced."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists():
        shutil.rmtree(folder)
    work.rename(folder)


def _allocate_batch_id(engine: Engine) -> int | None:
    """On SQLite, the next batch id, taken in a transaction of its own so it stays taken
    when the batch rolls back; None on PostgreSQL, whose sequence already never reuses one."""
    if not is_sqlite(engine):
        return None
    with writing(engine) as conn:
        t = BatchIdAllocation
        highest = conn.execute(select(func.coalesce(func.max(Batch.id), 0))).scalar_one()
        last = conn.execute(select(t.last_id).where(t.id == 1)).scalar_one_or_none()
        allocated = max(int(last or 0), int(highest)) + 1
        if last is None:
            conn.execute(insert(t).values(id=1, last_id=allocated))
        else:
            conn.execute(update(t).where(t.id == 1).values(last_id=allocated))
    return allocated


STALE_SECONDS = 3600.0  # leftovers younger than this may belong to a batch another process runs


def sweep(engine: Engine, *, older_than: float = STALE_SECONDS) -> dict[str, int]:
    """Clear what a crash left behind (run at startup): the temporary folder's converted
    workbooks, received uploads and batch folders in the making, and the files staged for
    repair applications and objections that were never filed. A batch folder whose batch
    was committed (the crash came between commit and move) is moved to its place; every
    other leftover is deleted. Only entries untouched for `older_than` seconds are looked
    at, so a sweep by one server process spares the batch another is storing."""
    found = {"removed": 0, "settled": 0}
    now = time.time()
    files = get_settings().files_dir
    folders = [temp_dir(), files / "uploads", files / "objections" / ".staging"]
    for folder in folders:
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if now - _newest_change(entry) < older_than:
                continue
            if entry.is_dir() and entry.name.startswith("batch-"):
                batch_id = _int_or_none(entry.name.split("-")[1])
                if batch_id and _committed(engine, batch_id):
                    target = batches_dir() / str(batch_id)
                    if not target.exists():
                        _settle(entry, target)
                        found["settled"] += 1
                        continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            found["removed"] += 1
    return found


def _newest_change(entry: Path) -> float:
    try:
        times = [entry.stat().st_mtime]
        if entry.is_dir():
            times += [p.stat().st_mtime for p in entry.iterdir()]
        return max(times)
    except OSError:
        return 0.0


def _int_or_none(text_: str) -> int | None:
    return int(text_) if text_.isdigit() else None


def _committed(engine: Engine, batch_id: int) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(Batch.id).where(Batch.id == batch_id)).first() is not None


def _open_batch(conn: Connection, fmt: str, encoding: str | None, item: Item, department: str,
                received: date, actor: audit.Actor, catalog_version_id: int,
                filename: str, batch_id: int | None) -> int:
    given = {} if batch_id is None else {"id": batch_id}
    result = conn.execute(insert(Batch).values(
        **given, department=department, item_code=item.code, filename=filename[:255],
        format=fmt, encoding=encoding, source_path="",
        received_date=received, submitted_at=utcnow(), submitted_by=actor.name,
        catalog_version_id=catalog_version_id))
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def _close_batch(conn: Connection, r: Receipt, source: str) -> None:
    conn.execute(update(Batch).where(Batch.id == r.batch).values(
        source_path=source, error_report=r.error_report, rows=r.rows, accepted=r.accepted,
        rejected=r.rejected, new=r.new, corrected=r.corrected, unchanged=r.unchanged,
        stale=r.stale, on_time=r.on_time, late=r.late,
        rejection_reasons=orjson.dumps(r.rejection_reasons).decode(),
        unknown_columns=orjson.dumps(r.unknown_columns, option=orjson.OPT_NON_STR_KEYS
                                     ).decode()))


def submit(engine: Engine, path: Path, department: str, **options: Any) -> Receipt:
    """Ingest a file (see `ingest_file`), then make its new subjects findable by name.

    The search index follows in its own transaction: the batch is already safe, and a
    failure there only delays searchability (the next refresh catches up from its queue)."""
    from xinyong.subjects import search

    receipt = ingest_file(engine, path, department, **options)
    with writing(engine) as conn:
        search.refresh(conn)
    return receipt


BATCH_VIEW = ("id", "department", "item_code", "filename", "format", "encoding", "received_date",
              "submitted_at", "submitted_by", "rows", "accepted", "rejected", "new", "corrected",
              "unchanged", "stale", "on_time", "late")


def batch_view(row: Any) -> dict[str, Any]:
    """A batch as the edges show it: its receipt figures, never the server's file paths."""
    out = {k: row[k] for k in BATCH_VIEW}
    out["compliance_rate"] = _compliance(row["rows"], row["accepted"], row["stale"])
    out["timeliness_rate"] = _rate(row["on_time"], row["on_time"] + row["late"])
    out["has_error_report"] = bool(row["error_report"])
    reasons = row["rejection_reasons"]
    counts = orjson.loads(reasons) if isinstance(reasons, str) else reasons
    out["rejection_reasons"] = [{"reason": k, "label": reason_label(k), "count": c}
                                for k, c in sorted(counts.items(), key=lambda kv: -kv[1])]
    unknown = row["unknown_columns"]
    out["unknown_columns"] = orjson.loads(unknown) if isinstance(unknown, str) else unknown
    return out


def list_batches(conn: Connection, *, department: str | None = None, since: date | None = None,
                 limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
    """Batches newest first, of one department or all, received on or after `since`."""
    t = Batch.__table__
    query = select(t).order_by(t.c.id.desc()).limit(limit).offset(offset)
    if department is not None:
        query = query.where(t.c.department == department)
    if since is not None:
        query = query.where(t.c.received_date >= since)
    return [batch_view(r) for r in conn.execute(query).mappings()]


def department_summary(conn: Connection, *, since: date,
                       department: str | None = None) -> list[dict[str, Any]]:
    """Batches, rows, rejections and timeliness per department since a day (the dashboard)."""
    where = "WHERE received_date >= :since" + (" AND department = :department" if department else "")
    rows = conn.execute(text(
        "SELECT department, COUNT(*) AS batches, SUM(rows) AS rows, SUM(accepted) AS accepted, "
        "SUM(rejected) AS rejected, SUM(stale) AS stale, SUM(on_time) AS on_time, "
        f"SUM(late) AS late FROM batch {where} GROUP BY department ORDER BY department"),
        {"since": since, "department": department}).mappings()
    return [{**r, "compliance_rate": _compliance(r["rows"], r["accepted"], r["stale"]),
             "timeliness_rate": _rate(r["on_time"], r["on_time"] + r["late"])} for r in rows]


def collected(conn: Connection) -> dict[str, int]:
    """What the platform has collected, for the portal's figures: records stored (each record
    once, however often corrected) and the departments that stored them. One pass over the
    small batch table, not the records."""
    t = Batch.__table__
    row = conn.execute(select(func.coalesce(func.sum(t.c.new), 0),
                              func.count(t.c.department.distinct()).filter(t.c.new > 0))).one()
    return {"records": int(row[0]), "departments": int(row[1])}


def error_report_path(conn: Connection, batch_id: int) -> Path:
    """The batch's error report (退回数据), in the format the department submitted."""
    batch = get_batch(conn, batch_id)
    if not batch["error_report"]:
        raise NotFound(f"批次 {batch_id} 没有退回的数据，没有错误报告", code=IngestError.NO_ERROR_REPORT)
    path = Path(batch["error_report"])
    if not path.exists():
        raise NotFound(f"批次 {batch_id} 的错误报告文件已不在存储目录中（{path.name}）",
                       code=IngestError.ERROR_REPORT_MISSING)
    return path


def read_error_report(db: Db, principal: Principal, reader: audit.Actor, batch_id: int) -> Path:
    """The error report of a batch the principal may read (`readable_batch`), for a person to
    download, the read audited: it holds the rows as submitted, identity numbers and all."""
    with transaction(db) as conn:
        readable_batch(conn, principal, batch_id)
        path = error_report_path(conn, batch_id)
        audit.record(conn, reader, IngestEvent.ERROR_REPORT_READ, "batch", batch_id)
    return path


def readable_batch(db: Db, principal: Principal, batch_id: int) -> dict[str, Any]:
    """The batch, if the principal may read it. Another department's batch is answered like
    a missing one (a 404 with the same message, audited as a refusal by the edges): its id is
    nobody else's business, not even that it exists. A role that may read no batch is
    refused (`Forbidden`) before the batch is looked at."""
    rules.readable_department(principal)
    with reading(db) as conn:
        batch = get_batch(conn, batch_id)
    try:
        rules.check_batch_readable(principal, batch["department"])
    except Forbidden:
        raise Concealed(f"批次 {batch_id} 不存在", reason=CoreError.OTHER_DEPARTMENT) from None
    return batch


def readable_batches(db: Db, principal: Principal, *, department: str | None = None,
                     since: date | None = None, limit: int = 20,
                     offset: int = 0) -> list[dict[str, Any]]:
    """`list_batches` of what the principal may read: its own department's batches (asking
    for another's is refused), or those of `department` (None: all) for whoever may read
    every department's."""
    own = rules.readable_department(principal)
    if own is not None and department and department != own:
        rules.check_batch_readable(principal, department)
    with reading(db) as conn:
        return list_batches(conn, department=own or department, since=since, limit=limit,
                            offset=offset)


def get_batch(conn: Connection, batch_id: int) -> dict[str, Any]:
    row = conn.execute(select(Batch.__table__).where(Batch.__table__.c.id == batch_id)
                       ).mappings().first()
    if row is None:
        raise NotFound(f"批次 {batch_id} 不存在", code=CoreError.NOT_FOUND)
    out = dict(row)
    out["rejection_reasons"] = orjson.loads(out["rejection_reasons"])
    out["unknown_columns"] = orjson.loads(out["unknown_columns"])
    return out


def quality(conn: Connection, *, department: str | None = None,
            month: str | None = None) -> list[dict[str, Any]]:
    """Reporting quality per department and month of receipt: 合规率 = accepted / reported,
    及时率 = on time / (on time + late) over first reports, and rejections by reason."""
    if month is not None and not _is_month(month):
        raise InvalidInput(f"月份“{month}”格式应为 YYYY-MM", code=IngestError.BAD_MONTH)
    rows = conn.execute(text(
        "SELECT department, received_date, rows, accepted, rejected, stale, on_time, late, "
        "rejection_reasons FROM batch ORDER BY department, received_date")).all()
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for dep, rec, n, acc, rej, stale, ot, late, reasons in rows:
        m = str(rec)[:7]
        if (department and dep != department) or (month and m != month):
            continue
        g = groups.setdefault((dep, m), {"department": dep, "month": m, "batches": 0,
                                         "rows": 0, "accepted": 0, "rejected": 0,
                                         "stale": 0, "on_time": 0, "late": 0, "reasons": Counter()})
        g["batches"] += 1
        g["rows"] += n
        g["accepted"] += acc
        g["rejected"] += rej
        g["stale"] += stale
        g["on_time"] += ot
        g["late"] += late
        g["reasons"].update(orjson.loads(reasons))
    out = []
    for g in groups.values():
        g["compliance_rate"] = _compliance(g["rows"], g["accepted"], g["stale"])
        g["timeliness_rate"] = _rate(g["on_time"], g["on_time"] + g["late"])
        g["rejections_by_reason"] = [
            {"reason": k, "label": reason_label(k), "count": c}
            for k, c in g.pop("reasons").most_common()]
        out.append(g)
    return out


def reason_label(key: str) -> str:
    code, _, field = key.partition(":")
    label = rules.REASONS.get(code, code)
    return f"{label}（{field}）" if field else label


def _is_month(text: str) -> bool:
    try:
        date.fromisoformat(text + "-01")
    except ValueError:
        return False
    return len(text) == 7


def counts(conn: Connection, *, since: date, department: str | None = None) -> dict[str, int]:
    """Batches received since a day, their rows, rows returned (rejected) and batches with
    returned rows, of one department or all (the console home's figures)."""
    t = Batch.__table__
    query = select(func.count(), func.coalesce(func.sum(t.c.rows), 0),
                   func.coalesce(func.sum(t.c.rejected), 0),
                   func.coalesce(func.sum(case((t.c.rejected > 0, 1), else_=0)), 0)
                   ).where(t.c.received_date >= since)
    if department is not None:
        query = query.where(t.c.department == department)
    batches, rows, rejected, with_rejections = conn.execute(query).one()
    return {"batches": int(batches), "rows": int(rows), "rejected": int(rejected),
            "with_rejections": int(with_rejections)}


def busiest_department(db: Db) -> str | None:
    """The department that submitted the most batches (of equals, the first by name), or
    None before any batch."""
    t = Batch.__table__
    with reading(db) as conn:
        row = conn.execute(select(t.c.department).group_by(t.c.department)
                           .order_by(func.count().desc(), t.c.department).limit(1)).first()
    return str(row[0]) if row else None


def reported_departments(conn: Connection, kinds: Sequence[str]) -> list[str]:
    """Departments that have reported new records of these kinds, by name (read from the small
    batch table, not the records): the 双公示 listing's department filter."""
    b = Batch.__table__
    return list(conn.execute(
        select(b.c.department).distinct().where(b.c.new > 0, b.c.item_code.in_(kinds))
        .order_by(b.c.department)).scalars())


publicity.read_reporters_with(reported_departments)


def submissions(conn: Connection, batch_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Who submitted each of these batches, when and as which file: batch id →
    {submitted_by, submitted_at, filename} (a subject's history shows it beside each record
    version). Batches not found are left out."""
    ids = sorted(set(batch_ids))
    t = Batch.__table__
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 1000):
        for row in conn.execute(select(t.c.id, t.c.submitted_by, t.c.submitted_at, t.c.filename)
                                .where(t.c.id.in_(ids[start:start + 1000]))):
            found[int(row.id)] = {"submitted_by": row.submitted_by,
                                  "submitted_at": row.submitted_at, "filename": row.filename}
    return found
