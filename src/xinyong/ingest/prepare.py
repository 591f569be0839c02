"""Preparing a submitted file for the store: read, validate, find duplicates, and hand over
chunks of rows that only need storing.

Nothing here touches the database, so for large files the work runs in worker processes
while the storing process writes earlier chunks. Every worker reads the whole file and
prepares every n-th chunk, so chunks come back in file order without any coordination;
duplicates are found the same way by every worker, from the document numbers of all rows
before. Of the other workers' chunks a worker needs only those numbers: in a CSV file without
quotes it splits each line up to the document number instead of parsing the row (measured on
a million rows: 3 s less for the whole ingest). Small files are prepared in-process.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

import orjson

from xinyong.catalog.rules import Catalog, Item
from xinyong.core.db import source_key_of
from xinyong.core.errors import XinyongError
from xinyong.core.masking import has_resident_id
from xinyong.core.workdays import add_workdays
from xinyong.departments.rules import Bodies
from xinyong.ingest import rules
from xinyong.ingest.readers import SourceRow, open_table
from xinyong.publicity import rules as publicity
from xinyong.subjects.identity import IdentityFields


@dataclass(frozen=True)
class Plan:
    """Everything a preparer needs; plain values, so it can be sent to another process."""

    path: Path
    department: str
    item_code: str
    catalog: Catalog
    received: date
    chunk_rows: int
    assess_timeliness: bool
    # The publicity rules in force: each stored row carries its window (computed here, in the
    # preparing process, so the storing one does no extra work).
    publicity: publicity.PublicityRules
    # Files at least this large are prepared by `workers` processes; below, starting them
    # costs more than it saves.
    parallel_bytes: int = 4 << 20
    workers: int = 2
    # What the rows may name as deciding body and source unit (the submitting department's
    # own bodies, from the registry); None checks nothing.
    bodies: Bodies | None = None


# A row ready to store: (row_no, doc_no, decision date as ISO text, payload as UTF-8 JSON, the
# identity's fields, on time if it is a first report: True/False, or None when not assessed,
# publicity window, source key, payload hash). Everything the storing process — the one that bounds a large
# ingest — would otherwise compute is computed here. Plain values only: text pickles several
# times faster than date objects, and a named tuple pickles through Python-level calls
# (measured: a chunk of 5,000 rows unpickles in 13 ms with the identity as a plain tuple, 37 ms
# as an `Identity`). Rows with the same window or subject share one tuple, which pickle writes
# once per chunk.
Ready = tuple[int, str, str, bytes, IdentityFields, bool | None, publicity.Stored, int, int]
# A returned row: (row_no, reasons as JSON, the row as sent as JSON, the reasons for people,
# and for a valid row refused only as an in-batch duplicate its source key and payload hash)
Returned = tuple[int, str, str, str, int | None, int | None]


@dataclass
class Chunk:
    rows: int = 0
    blank_rows: int = 0
    ready: list[Ready] = field(default_factory=list)
    returned: list[Returned] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    progress: float = 0.0
    free_text_ids: int = 0  # accepted rows whose free text holds a resident ID number


def returned_row(r: Returned) -> SourceRow:
    """The returned row as it was read, for the error report."""
    sent = orjson.loads(r[2])
    if isinstance(sent, list):
        return SourceRow(r[0], [str(c) for c in sent])
    return SourceRow(r[0], [], raw=sent)


# A returned row is kept (and sent back in the error report) as it came, but within bounds: a
# cell past `RAW_CELL_CHARS` (well above any field's maximum length) is cut, cells past the
# header's width and `RAW_EXTRA_CELLS` more are dropped, and a JSON line past `RAW_JSON_CHARS`
# is kept as its truncated text. A hostile file cannot make the store keep megabytes a row.
RAW_CELL_CHARS = 8000
RAW_EXTRA_CELLS = 20
RAW_JSON_CHARS = 64_000
TRUNCATED = "…（已截断）"


def _kept(row: SourceRow, width: int) -> str:
    if row.raw is not None:
        text = orjson.dumps(row.raw).decode()
        if len(text) <= RAW_JSON_CHARS:
            return text
        source = row.raw if isinstance(row.raw, str) else text
        return orjson.dumps(source[:RAW_JSON_CHARS] + TRUNCATED).decode()
    cells = row.cells[:width + RAW_EXTRA_CELLS]
    return orjson.dumps([c if len(c) <= RAW_CELL_CHARS else c[:RAW_CELL_CHARS] + TRUNCATED
                         for c in cells]).decode()


class _Preparer:
    def __init__(self, plan: Plan, header: list[str]) -> None:
        item = plan.catalog.item(plan.item_code)
        assert item is not None
        self.plan = plan
        self.item: Item = item
        header_map = rules.map_headers(item, header)
        self.validator = rules.RowValidator(plan.catalog, item, header_map, plan.received)
        self.width = len(header)
        self.key_label = item.field(item.key_field).label  # type: ignore[union-attr]
        self.key_index = header_map.columns.get(item.key_field)
        # The first row of every document number in the file, by hash of the number to keep a
        # million-row file small: a later row with the same number is returned.
        self.first_row: dict[int, int] = {}
        self.timeliness: dict[date, bool | None] = {}
        self.windows = publicity.Windows(plan.publicity, item.publicity)
        self.source_key = source_key_of(plan.department, plan.item_code)
        self.bodies = rules.BodyCheck(plan.bodies, item) if plan.bodies is not None else None
        # Free text (facts, content, remarks …), where a resident ID number is published unless
        # masked: the receipt tells the department how many rows carry one.
        self.free_text = [f.name for f in item.fields if f.type == "text" and not f.personal]

    def note_documents(self, rows: list[SourceRow]) -> None:
        """Remember where each document number first appears (for every chunk, own or not)."""
        if self.key_index is None:
            return
        first, idx = self.first_row, self.key_index
        for row in rows:
            cells = row.cells
            if idx < len(cells):
                doc = cells[idx].strip()
                if doc:
                    first.setdefault(hash(doc), row.row_no)

    def note_skimmed(self, documents: list[tuple[int, str]]) -> None:
        """`note_documents` for rows passed over: (row number, document number)."""
        first = self.first_row
        for row_no, doc in documents:
            first.setdefault(hash(doc), row_no)

    def reject(self, out: Chunk, row: SourceRow, errors: list[rules.RowError],
               key: int | None = None, digest: int | None = None) -> None:
        for e in errors:
            out.reasons[e.reason_key] += 1
        out.returned.append((
            row.row_no,
            orjson.dumps([{"field": e.field, "code": e.code, "message": e.message}
                          for e in errors]).decode(),
            _kept(row, self.width),
            "；".join(e.message for e in errors), key, digest))

    def on_time(self, decision: date) -> bool | None:
        on_time = self.timeliness.get(decision, ...)
        if on_time is ...:
            days = self.item.timeliness_days if self.plan.assess_timeliness else None
            on_time = self.timeliness[decision] = (
                None if not days else self.plan.received <= add_workdays(decision, days))
        return on_time

    def chunk(self, rows: list[SourceRow]) -> Chunk:
        out = Chunk()
        candidates: list[SourceRow] = []
        width = self.width
        for row in rows:
            cells = row.cells
            if not "".join(cells).strip():
                out.blank_rows += 1
                continue
            out.rows += 1
            if row.error:
                self.reject(out, row, [rules.RowError("", "unreadable", row.error)])
            elif len(cells) > width and any(c.strip() for c in cells[width:]):
                self.reject(out, row, [rules.RowError(
                    "", "columns", f"该行有{len(cells)}列，多于表头的{width}列")])
            else:
                candidates.append(row)
        valid, invalid = self.validator.validate_chunk([(r.row_no, r.cells) for r in candidates])
        by_row = {r.row_no: r for r in candidates} if valid else {}
        for i, errors in invalid:
            self.reject(out, candidates[i], errors)
        first_row = self.first_row
        decision_field = self.item.decision_date_field
        window = self.windows.of
        key = self.source_key
        bodies = self.bodies
        digest = rules.payload_hash
        fields: dict[int, IdentityFields] = {}  # by id(): rows of a subject share one
        accepted: list[dict[str, str]] = []
        for v in valid:
            if bodies is not None:
                foreign = bodies.errors(v.values)
                if foreign:
                    self.reject(out, by_row[v.row_no], foreign)
                    continue
            first = first_row.get(hash(v.doc_no), v.row_no)
            if first != v.row_no:
                self.reject(out, by_row[v.row_no], [rules.RowError(
                    self.key_label, "duplicate_in_batch",
                    f"“{self.key_label}”{v.doc_no}与本批次第{first}行重复")],
                    key(v.doc_no), digest(orjson.dumps(v.values)))
                continue
            decision = v.values[decision_field]
            identity = v.identity
            plain = fields.get(id(identity))
            if plain is None:
                plain = fields[id(identity)] = tuple(identity)
            payload = orjson.dumps(v.values)
            accepted.append(v.values)
            out.ready.append((v.row_no, v.doc_no, decision, payload,
                              plain, self.on_time(v.decision_date),
                              window(v.values, decision, identity.kind), key(v.doc_no),
                              digest(payload)))
        out.returned.sort()
        out.free_text_ids = self.rows_with_ids(accepted)
        return out

    def rows_with_ids(self, rows: list[dict[str, str]]) -> int:
        """How many rows hold a resident ID number in free text: one scan of the chunk's
        text first, since nearly every chunk holds none."""
        names = self.free_text
        if not has_resident_id("\n".join(v.get(n, "") for v in rows for n in names)):
            return 0
        return sum(1 for v in rows if has_resident_id("\n".join(v.get(n, "") for n in names)))


def prepare(plan: Plan, worker: int = 0, workers: int = 1) -> Iterator[Chunk]:
    """The file's chunks ready to store — of them, every `workers`-th from `worker` on.
    Raises `BadFile` and friends."""
    table = open_table(plan.path)
    try:
        preparer = _Preparer(plan, table.header)
        rows, size = table.rows, plan.chunk_rows
        column = preparer.key_index
        skim = table.skim if workers > 1 and column is not None else None
        index = 0
        while True:
            if skim is not None and index % workers != worker:
                # another worker's chunk: only its document numbers matter here
                assert column is not None
                skimmed = skim(size, column)
                if skimmed is not None:
                    if not skimmed[0]:
                        return
                    preparer.note_skimmed(skimmed[1])
                    index += 1
                    continue
                skim = None  # quoted cells: parse every row as before
            batch = list(islice(rows, size))
            if not batch:
                return
            preparer.note_documents(batch)
            if index % workers == worker:
                chunk = preparer.chunk(batch)
                chunk.progress = table.progress()
                yield chunk
            index += 1
    finally:
        table.close()


def prepared(plan: Plan) -> Iterator[Chunk]:
    """The file's chunks in order, prepared by worker processes when the file is large."""
    workers = max(1, plan.workers)
    if plan.path.stat().st_size < plan.parallel_bytes:
        yield from prepare(plan)
        return
    ctx: Any = multiprocessing.get_context(
        "fork" if sys.platform.startswith("linux") else "spawn")
    pipes = []
    procs = []
    for w in range(workers):
        receiver, sender = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_work, args=(plan, w, workers, sender), daemon=True)
        proc.start()
        sender.close()
        pipes.append(receiver)
        procs.append(proc)
    try:
        index = 0
        while True:
            message = _receive(pipes[index % workers])
            if message is None:
                return
            yield message
            index += 1
    finally:
        for pipe in pipes:
            pipe.close()
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()


def _receive(pipe: Pipe) -> Chunk | None:
    try:
        kind, message = pipe.recv()
    except EOFError:
        raise RuntimeError("归集准备进程意外退出") from None
    if kind == "error":
        raise message
    if kind == "crash":
        raise RuntimeError(f"归集准备进程出错：{message}")
    return message if kind == "chunk" else None


def _work(plan: Plan, worker: int, workers: int, sender: Pipe) -> None:
    import gc

    gc.disable()  # as in the storing process: many short-lived, acyclic objects
    try:
        for chunk in prepare(plan, worker, workers):
            sender.send(("chunk", chunk))
        sender.send(("end", None))
    except XinyongError as exc:
        sender.send(("error", exc))
    except BrokenPipeError:
        pass  # the storing process is gone: nothing to report to
    except Exception:
        sender.send(("crash", traceback.format_exc(limit=5)))
    finally:
        sender.close()
        os._exit(0)  # skip atexit and inherited finalisers of the parent's resources
