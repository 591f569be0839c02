"""Ingest verbs: `ingest_file` turns one submitted file into a batch, and `quality` reports
how well each department reports.

A batch is one transaction: its rows are stored, corrected or returned together, or — on any
failure — not at all. Work is done per chunk of rows (bounded memory, bulk writes): validate
in Python, then one query to resolve the chunk's subjects, one to find the current versions
of its documents, and bulk inserts.
"""

from __future__ import annotations

import gc
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, insert, select, text, update

from xinyong.catalog.rules import Item
from xinyong.catalog.service import current_catalog, register_version
from xinyong.core import audit
from xinyong.core.db import bulk_insert, source_key, utcnow, writing
from xinyong.core.errors import BadFile, InvalidInput, NotFound
from xinyong.core.settings import get_settings
from xinyong.core.workdays import add_workdays
from xinyong.ingest import rules
from xinyong.ingest.error_report import ErrorReport
from xinyong.ingest.models import Batch
from xinyong.ingest.readers import SourceRow, Table, open_table
from xinyong.subjects import service as subjects

Progress = Callable[[int, float], None]


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
    on_time: int = 0
    late: int = 0
    blank_rows: int = 0
    backfill: bool = False
    compliance_rate: float | None = None
    timeliness_rate: float | None = None
    unknown_columns: list[str] = field(default_factory=list)
    rejection_reasons: dict[str, int] = field(default_factory=dict)
    error_report: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def finish(self) -> None:
        self.accepted = self.new + self.corrected + self.unchanged
        self.compliance_rate = _rate(self.accepted, self.rows)
        self.timeliness_rate = _rate(self.on_time, self.on_time + self.late)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _chunks(rows: Iterator[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def resolve_item(table: Table, kind: str | None) -> Item:
    catalog = current_catalog()
    if kind:
        item = catalog.item(kind)
        if item is None:
            raise InvalidInput(f"未知的信息类别“{kind}”；可选：{'、'.join(catalog.items)}",
                               code="unknown_kind")
        return item
    item = rules.detect_item(catalog, table.header)
    if item is None:
        raise BadFile("无法从表头识别信息类别（行政许可或行政处罚等），请用 --kind 指定")
    return item


class _BatchRun:
    """The state of one batch while its chunks are processed."""

    def __init__(self, conn: Connection, table: Table, item: Item, receipt: Receipt,
                 received: date, catalog_version_id: int, report: ErrorReport) -> None:
        self.conn = conn
        self.table = table
        self.item = item
        self.receipt = receipt
        self.received = received
        self.catalog_version_id = catalog_version_id
        self.report = report
        header_map = rules.map_headers(item, table.header)
        self.validator = rules.RowValidator(current_catalog(), item, header_map, received)
        self.width = len(table.header)
        self.resolver = subjects.SubjectResolver(conn)
        self.reasons: Counter[str] = Counter()
        self.corrections: list[tuple[int, int, int, str]] = []  # old id, version, subject, doc
        # Every document number of this batch → its row: a second row with the same number is
        # returned, whether the first was new, a correction or unchanged. Keyed by hash to keep
        # a million-row batch small.
        self.seen: dict[int, int] = {}
        self.key_label = item.field(item.key_field).label  # type: ignore[union-attr]
        self.timeliness: dict[date, bool | None] = {}
        self.assess_timeliness = True

    def reject(self, row: SourceRow, errors: list[rules.RowError]) -> tuple[Any, ...]:
        self.receipt.rejected += 1
        for e in errors:
            self.reasons[e.reason_key] += 1
        message = "；".join(e.message for e in errors)
        self.report.add(row, message)
        reasons = orjson.dumps([{"field": e.field, "code": e.code, "message": e.message}
                                for e in errors]).decode()
        raw = orjson.dumps(row.raw if row.raw is not None else row.cells).decode()
        return (self.receipt.batch, row.row_no, reasons, raw)

    def _on_time(self, decision: date) -> bool | None:
        """Whether a first report of a decision made that day arrives in time (counted)."""
        on_time = self.timeliness.get(decision, ...)
        if on_time is ...:
            days = self.item.timeliness_days if self.assess_timeliness else None
            on_time = self.timeliness[decision] = (
                None if not days else self.received <= add_workdays(decision, days))
        if on_time is True:
            self.receipt.on_time += 1
        elif on_time is False:
            self.receipt.late += 1
        return on_time

    def chunk(self, chunk: list[SourceRow]) -> None:
        rejected: list[tuple[Any, ...]] = []
        candidates: list[SourceRow] = []
        width = self.width
        for row in chunk:
            cells = row.cells
            if not any(cells) or not any(c.strip() for c in cells):
                self.receipt.blank_rows += 1
                continue
            self.receipt.rows += 1
            if row.error:
                rejected.append(self.reject(row, [rules.RowError("", "unreadable", row.error)]))
            elif len(cells) > width and any(c.strip() for c in cells[width:]):
                rejected.append(self.reject(row, [rules.RowError(
                    "", "columns", f"该行有{len(cells)}列，多于表头的{width}列")]))
            else:
                candidates.append(row)
        valid, invalid = self.validator.validate_chunk([(r.row_no, r.cells) for r in candidates])
        for i, errors in invalid:
            rejected.append(self.reject(candidates[i], errors))
        if valid:
            sources = {r.row_no: r for r in candidates}
            rejected += self._store(valid, sources)
        if rejected:
            bulk_insert(self.conn, "rejection", ("batch_id", "row_no", "reasons", "raw"),
                        rejected)

    def _store(self, valid: list[rules.ValidRow],
               sources: dict[int, SourceRow]) -> list[tuple[Any, ...]]:
        receipt, item = self.receipt, self.item
        department = receipt.department
        keys = {v.doc_no: source_key(department, item.code, v.doc_no) for v in valid}
        existing = subjects.current_versions(self.conn, department, item.code, keys)
        keep: list[tuple[rules.ValidRow, str, subjects.CurrentVersion | None]] = []
        rejected = []
        seen = self.seen
        for v in valid:
            doc_key = hash(v.doc_no)
            earlier = seen.get(doc_key)
            if earlier is not None:
                rejected.append(self.reject(sources[v.row_no], [rules.RowError(
                    self.key_label, "duplicate_in_batch",
                    f"“{self.key_label}”{v.doc_no}与本批次第{earlier}行重复")]))
                continue
            seen[doc_key] = v.row_no
            payload = orjson.dumps(v.values).decode()
            prev = existing.get(v.doc_no)
            if prev is not None and prev.payload == payload:
                receipt.unchanged += 1
                continue
            keep.append((v, payload, prev))
        ids = self.resolver.resolve([v for v, _, _ in keep])
        received_iso = self.received.isoformat()
        decision_field = item.decision_date_field
        out = []
        superseded = []
        for v, payload, prev in keep:
            subject_id = ids[v.identity.key]
            if prev is None:
                version = 1
                on_time = self._on_time(v.decision_date)
            else:
                # A correction keeps the timeliness of the first report it corrects.
                version = prev.version + 1
                on_time = prev.on_time
                superseded.append(prev.id)
                self.corrections.append((prev.id, version, subject_id, v.doc_no))
            out.append((keys[v.doc_no], subject_id, item.code, department, v.doc_no, version,
                        "current", v.values[decision_field], received_iso, on_time,
                        receipt.batch, v.row_no, self.catalog_version_id, payload))
        receipt.corrected += len(superseded)
        receipt.new += len(out) - len(superseded)
        subjects.store_versions(self.conn, out, superseded)
        return rejected


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
) -> Receipt:
    """Ingest one file for one department as one batch and return its receipt.

    `backfill` marks historical data loaded when a platform goes live (历史数据补录): its
    records are stored as usual, but their timeliness is not assessed — it was never the
    department's to meet."""
    department = department.strip()
    if not department:
        raise InvalidInput("必须指明报送部门（--department）")
    received = received or date.today()
    settings = get_settings()
    table = open_table(path)
    # A batch allocates millions of short-lived, acyclic objects: reference counting frees
    # them, and the cyclic collector would only re-scan them over and over.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        item = resolve_item(table, kind)
        header_map = rules.map_headers(item, table.header)
        if not header_map.columns:
            raise BadFile(f"表头与“{item.name}”的字段都不匹配：{'、'.join(table.header[:8])}")
        catalog = current_catalog()
        with writing(engine) as conn:
            catalog_version_id = register_version(conn, catalog)
            batch_id = _open_batch(conn, table, item, department, received, actor,
                                   catalog_version_id, filename or path.name)
            folder = settings.files_dir / "batches" / str(batch_id)
            folder.mkdir(parents=True, exist_ok=True)
            source = folder / ("source" + (path.suffix or "." + table.format))
            shutil.copyfile(path, source)
            receipt = Receipt(batch_id, department, item.code, item.name,
                              filename or path.name, table.format, table.encoding,
                              received.isoformat(), catalog.version,
                              unknown_columns=list(header_map.unknown))
            report = ErrorReport(table, folder / "errors")
            run = _BatchRun(conn, table, item, receipt, received, catalog_version_id, report)
            run.assess_timeliness = not backfill
            receipt.backfill = backfill
            try:
                for chunk in _chunks(table.rows, settings.ingest_chunk_rows):
                    run.chunk(chunk)
                    if progress:
                        progress(receipt.rows + receipt.blank_rows, table.progress())
            finally:
                report.close()
            if receipt.rows == 0:
                raise BadFile(f"文件 {filename or path.name} 只有表头，没有数据行")
            receipt.rejection_reasons = dict(run.reasons.most_common())
            receipt.error_report = str(report.path) if report.written else None
            receipt.finish()
            _close_batch(conn, receipt, str(source))
            audit.record(conn, actor, "ingest.batch", "batch", batch_id, detail={
                k: v for k, v in receipt.as_dict().items()
                if k in ("department", "kind", "filename", "rows", "accepted", "rejected",
                         "new", "corrected", "unchanged", "on_time", "late")})
            for old_id, version, subject_id, doc_no in run.corrections:
                audit.record(conn, actor, "record.corrected", "record", old_id,
                             subject_id=subject_id,
                             detail={"batch": batch_id, "doc_no": doc_no, "version": version})
        return receipt
    finally:
        table.close()
        if gc_was_enabled:
            gc.enable()


def _open_batch(conn: Connection, table: Table, item: Item, department: str, received: date,
                actor: audit.Actor, catalog_version_id: int, filename: str) -> int:
    result = conn.execute(insert(Batch).values(
        department=department, item_code=item.code, filename=filename[:255],
        format=table.format, encoding=table.encoding, source_path="",
        received_date=received, submitted_at=utcnow(), submitted_by=actor.name,
        catalog_version_id=catalog_version_id))
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def _close_batch(conn: Connection, r: Receipt, source: str) -> None:
    conn.execute(update(Batch).where(Batch.id == r.batch).values(
        source_path=source, error_report=r.error_report, rows=r.rows, accepted=r.accepted,
        rejected=r.rejected, new=r.new, corrected=r.corrected, unchanged=r.unchanged,
        on_time=r.on_time, late=r.late,
        rejection_reasons=orjson.dumps(r.rejection_reasons).decode(),
        unknown_columns=orjson.dumps(r.unknown_columns, option=orjson.OPT_NON_STR_KEYS
                                     ).decode()))


def get_batch(conn: Connection, batch_id: int) -> dict[str, Any]:
    row = conn.execute(select(Batch.__table__).where(Batch.__table__.c.id == batch_id)
                       ).mappings().first()
    if row is None:
        raise NotFound(f"批次 {batch_id} 不存在")
    out = dict(row)
    out["rejection_reasons"] = orjson.loads(out["rejection_reasons"])
    out["unknown_columns"] = orjson.loads(out["unknown_columns"])
    return out


def quality(conn: Connection, *, department: str | None = None,
            month: str | None = None) -> list[dict[str, Any]]:
    """Reporting quality per department and month of receipt: 合规率 = accepted / reported,
    及时率 = on time / (on time + late) over first reports, and rejections by reason."""
    if month is not None and not _is_month(month):
        raise InvalidInput(f"月份“{month}”格式应为 YYYY-MM")
    rows = conn.execute(text(
        "SELECT department, received_date, rows, accepted, rejected, on_time, late, "
        "rejection_reasons FROM batch ORDER BY department, received_date")).all()
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for dep, rec, n, acc, rej, ot, late, reasons in rows:
        m = str(rec)[:7]
        if (department and dep != department) or (month and m != month):
            continue
        g = groups.setdefault((dep, m), {"department": dep, "month": m, "batches": 0,
                                         "rows": 0, "accepted": 0, "rejected": 0,
                                         "on_time": 0, "late": 0, "reasons": Counter()})
        g["batches"] += 1
        g["rows"] += n
        g["accepted"] += acc
        g["rejected"] += rej
        g["on_time"] += ot
        g["late"] += late
        g["reasons"].update(orjson.loads(reasons))
    out = []
    for g in groups.values():
        g["compliance_rate"] = _rate(g["accepted"], g["rows"])
        g["timeliness_rate"] = _rate(g["on_time"], g["on_time"] + g["late"])
        g["rejections_by_reason"] = [
            {"reason": k, "label": _reason_label(k), "count": c}
            for k, c in g.pop("reasons").most_common()]
        out.append(g)
    return out


def _reason_label(key: str) -> str:
    code, _, field = key.partition(":")
    label = rules.REASONS.get(code, code)
    return f"{label}（{field}）" if field else label


def _is_month(text: str) -> bool:
    try:
        date.fromisoformat(text + "-01")
    except ValueError:
        return False
    return len(text) == 7
