"""Check verbs: the measures catalog and matter types in force, a check by USCC or by name, a
batch check, and the check log every check is written to.

A check is answered from this process's in-memory index (`check.index`), synced with the store
before each answer. Each check gets an unguessable `check_id` and one row in `check_log` (who
asked, for which matter, about whom, what was returned) — the ground of check feedback. Checks
are not written to the hash-chained audit log: a check changes no state, and appending to the
chain takes a lock that would serialise every check of every process.

Log rows are written by one thread per process, in groups (`LogWriter`): a thousand checks a
second as a thousand write transactions would queue every request on SQLite's single write lock
(measured: 165 checks/s and timeouts at an offered 1,000/s); as groups of a few milliseconds'
worth they cost one transaction each. A row is in the store a few milliseconds after its answer;
`flush_log(engine)` waits for it (the CLI before it exits, tests, and feedback for a check id not
yet seen).
"""

from __future__ import annotations

import atexit
import logging
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, insert

from xinyong.accounts.rules import Principal
from xinyong.check import rules
from xinyong.check.error_codes import CheckError
from xinyong.check.index import CheckIndex, index_for
from xinyong.check.models import CheckLog
from xinyong.core import uscc as uscc_rules
from xinyong.core.cells import write_xlsx_row
from xinyong.core.db import utcnow, writing
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.core.ruledata import rule_paths
from xinyong.core.xlsx import workbook_rows
from xinyong.lists import service as lists
from xinyong.subjects import matching

MEASURES_FILE, MATTERS_FILE = "measures.yaml", "matters.yaml"
CANDIDATES = 10
# A name check resolves the subject when one candidate alone has the top score, at least this.
RESOLVE_SCORE = 0.95
NAME_LIMIT = 200
log = logging.getLogger("xinyong.check")


# --- the catalog ----------------------------------------------------------------------------

def paths(file: str, data_dir: Path | None = None) -> list[Path]:
    """The shipped file, then `$XINYONG_DATA_DIR/<file>` when there is one."""
    return rule_paths(file, data_dir)


_loaded: dict[tuple[Any, ...], rules.Catalog] = {}
# The files are looked at (stat) at most this often: every check asks for the catalog.
RECHECK_SECONDS = 1.0
_last: list[tuple[float, rules.Catalog]] = []


def current_catalog() -> rules.Catalog:
    """The measures and matter types in force; remembered until a file (or the list kinds)
    changes, looked at no more than once a second. Refuses to load — `RuleDataError` naming
    file, entry and reason — when a measure has no legal basis."""
    now = time.monotonic()
    if _last and now - _last[0][0] < RECHECK_SECONDS:
        return _last[0][1]
    kinds = lists.current_kinds()
    files = (tuple(paths(MEASURES_FILE)), tuple(paths(MATTERS_FILE)))
    key = (files, tuple(p.stat().st_mtime for group in files for p in group), id(kinds))
    found = _loaded.get(key)
    if found is None:
        _loaded.clear()
        found = _loaded[key] = rules.load(files[0], files[1], {
            k.code: k.list_type for k in kinds.kinds.values()})
    _last[:] = [(now, found)]
    return found


def measure_view(m: rules.Measure) -> dict[str, Any]:
    return {"code": m.code, "name": m.name, "group": m.group, "kind": m.kind,
            "kind_name": m.kind_name, "triggers": {
                "lists": list(m.lists),
                "records": [{"tiers": list(c.tiers), "within_years": c.within_years,
                             "basis_mentions": list(c.basis_mentions), "description": c.describe()}
                            for c in m.records]},
            "triggers_text": m.triggers_text(), "matters": list(m.matters),
            "applied_by": m.applied_by,
            "basis": {"document": m.basis.document, "article": m.basis.article,
                      "text": str(m.basis)}, "source": m.source}


def measures_view() -> list[dict[str, Any]]:
    return [measure_view(m) for m in current_catalog().measures.values()]


def matters_view() -> list[dict[str, Any]]:
    catalog = current_catalog()
    return [{"code": m.code, "name": m.name, "aliases": list(m.aliases),
             "description": m.description,
             "measures": [x.code for x in catalog.by_matter.get(m.code, ())]}
            for m in catalog.matters.values()]


def matter(value: str) -> rules.Matter:
    return current_catalog().matter(value)


# --- callers --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Caller:
    """Who checks: the principal's name and role, its department and the calling system."""

    name: str
    role: str
    department: str | None
    system: str | None


def caller_of(principal: Principal, channel: str) -> Caller:
    """A token's prefix is its system; a person's channel (api, console, cli) stands in."""
    system = principal.name.removeprefix("token:") if principal.kind == "token" else channel
    return Caller(principal.name[:128], principal.role[:32], principal.department, system[:128])


# --- checks ---------------------------------------------------------------------------------

def new_check_id() -> str:
    return "HC" + secrets.token_hex(12)


def parse_uscc(value: str) -> str:
    """The normalised code; a malformed one is refused with the reasons (`invalid_uscc`)."""
    code = uscc_rules.normalise(value or "")
    errors = uscc_rules.validate(code)
    if errors:
        raise InvalidInput("统一社会信用代码不正确：" + "；".join(e.message for e in errors)
                           + f"（“{value}”）", code=CoreError.INVALID_USCC)
    return code


def parse_name(value: str) -> str:
    name = (value or "").strip()
    if not name:
        raise InvalidInput("请填写要核查的主体名称或统一社会信用代码", code=CoreError.EMPTY_NAME)
    if len(name) > NAME_LIMIT:
        raise InvalidInput(f"主体名称不能超过{NAME_LIMIT}个字符", code=CoreError.TOO_LONG)
    return name


def _index(engine: Engine) -> CheckIndex:
    return index_for(engine, current_catalog())


def index_ready(engine: Engine) -> bool:
    """Whether this process's index over `engine` is built (a check then costs a dictionary
    look-up and one indexed read, not a build)."""
    return _index(engine).marker >= 0


def _empty(matter_: rules.Matter, query_type: str, query: str) -> dict[str, Any]:
    return {"check_id": "", "matter": {"code": matter_.code, "name": matter_.name},
            "query": {"type": query_type, "value": query}, "subject": None, "candidates": [],
            "lists": [], "measures": [], "records_marked": []}


def _by_uscc(conn: Connection, index: CheckIndex, code: str, matter_: rules.Matter,
             day: date) -> tuple[dict[str, Any], int | None]:
    out = _empty(matter_, "uscc", code)
    info = index.subject(code) or index.add_subject(conn, code, day)
    if info is None:
        return out, None
    out.update(index.answer(info, matter_, day))
    return out, info.id


def candidates(conn: Connection, name: str, limit: int = CANDIDATES) -> list[dict[str, Any]]:
    """Subjects a name may mean, best first, each with a score (0–1) and its reasons, from the
    name-matching engine (`xinyong.subjects.matching`)."""
    return [{"subject_id": c.subject_id, "uscc": c.uscc, "name": c.name,
             "matched_name": c.matched_name, "score": round(float(c.score), 3),
             "reasons": list(c.reasons)} for c in matching.candidates(conn, name, limit=limit)]


def _by_name(conn: Connection, index: CheckIndex, name: str, matter_: rules.Matter,
             day: date) -> tuple[dict[str, Any], int | None]:
    out = _empty(matter_, "name", name)
    found = candidates(conn, name)
    out["candidates"] = [{k: v for k, v in c.items() if k != "subject_id"} for c in found]
    top = [c for c in found if found and c["score"] == found[0]["score"]]
    if len(top) != 1 or top[0]["score"] < RESOLVE_SCORE:
        return out, None
    sid = int(top[0]["subject_id"])
    info = index.by_id.get(sid)
    if info is None:
        with index.lock:
            index.reload(conn, [sid], day)
        info = index.by_id.get(sid)
    if info is None:
        return out, None
    out.update(index.answer(info, matter_, day))
    return out, sid


def _summary(answer: dict[str, Any]) -> str:
    return orjson.dumps({"lists": [e["kind"] for e in answer["lists"]],
                         "measures": [m["code"] for m in answer["measures"]],
                         "records_marked": [r["record_id"] for r in answer["records_marked"]],
                         "candidates": len(answer["candidates"])}).decode()


def _log_row(caller: Caller, answer: dict[str, Any], subject_id: int | None,
             batch_id: str | None, at: Any) -> dict[str, Any]:
    return {"check_id": answer["check_id"], "batch_id": batch_id, "at": at, "caller": caller.name,
            "role": caller.role, "department": caller.department, "system": caller.system,
            "matter": answer["matter"]["code"], "query_type": answer["query"]["type"],
            "query": answer["query"]["value"][:200], "subject_id": subject_id,
            "result": _summary(answer)}


class LogWriter:
    """Writes queued check-log rows in groups from one daemon thread per engine and process.
    Rows wait up to `LINGER` seconds (or until `GROUP` have gathered, or somebody flushes) so
    that a thousand checks a second cost a few transactions, not a thousand: each write takes
    the store's write lock and, while it runs Python, the lock every request needs (the GIL).
    A failed write is retried with the next group; after `ATTEMPTS` failures in a row (the
    store is gone) the rows are given up, with an error in the log naming how many."""

    ATTEMPTS = 3
    LINGER = 0.2
    GROUP = 2000

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rows: list[dict[str, Any]] = []
        self.busy = False
        self.flushing = 0
        self.cond = threading.Condition()
        self.thread: threading.Thread | None = None
        self.failures = 0

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        with self.cond:
            waiting = bool(self.rows)
            self.rows.extend(rows)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="check-log", daemon=True)
                self.thread.start()
            if not waiting or len(self.rows) >= self.GROUP:
                self.cond.notify_all()

    def _next_group(self) -> list[dict[str, Any]]:
        with self.cond:
            while not self.rows:
                self.cond.wait()
            self.cond.wait_for(lambda: self.flushing > 0 or len(self.rows) >= self.GROUP, self.LINGER)
            group, self.rows, self.busy = self.rows, [], True
            return group

    def _run(self) -> None:
        while True:
            group = self._next_group()
            try:
                with writing(self.engine) as conn:
                    conn.execute(insert(CheckLog), group)
                self.failures = 0
            except Exception:
                self.failures += 1
                if self.failures >= self.ATTEMPTS:
                    log.exception("check log: %d rows could not be written and are given up", len(group))
                    self.failures = 0
                else:
                    log.warning("check log: %d rows not written yet; retrying", len(group))
                    with self.cond:
                        self.rows[:0] = group
                    threading.Event().wait(0.5)
            finally:
                with self.cond:
                    self.busy = False
                    self.cond.notify_all()

    def flush(self, timeout: float = 30.0) -> None:
        with self.cond:
            self.flushing += 1
            self.cond.notify_all()
            try:
                self.cond.wait_for(lambda: not self.rows and not self.busy, timeout)
            finally:
                self.flushing -= 1


_writers: dict[int, tuple[Engine, LogWriter]] = {}
_writers_guard = threading.Lock()


def _writer(engine: Engine) -> LogWriter:
    found = _writers.get(id(engine))
    if found is None or found[0] is not engine:
        with _writers_guard:
            found = _writers.get(id(engine))
            if found is None or found[0] is not engine:
                found = _writers[id(engine)] = (engine, LogWriter(engine))
    return found[1]


def flush_log(engine: Engine | None = None) -> None:
    """Wait until the queued check-log rows (of `engine`, or of every engine) are stored."""
    for eng, writer in list(_writers.values()):
        if engine is None or eng is engine:
            writer.flush()


atexit.register(flush_log)


def check(engine: Engine, caller: Caller, matter_value: str, *, uscc: str | None = None,
          name: str | None = None, day: date | None = None) -> dict[str, Any]:
    """One check, by USCC or (when no code is known) by name, for a matter type; logged.
    Malformed code → `invalid_uscc`; empty name → `empty_name`; unknown matter →
    `unknown_matter`; an unknown code answers `subject: null`."""
    matter_ = matter(matter_value)
    if uscc is not None and name is not None:
        raise InvalidInput("请只提供统一社会信用代码或名称之一", code=CheckError.USCC_OR_NAME)
    code = parse_uscc(uscc) if uscc is not None else None
    query = parse_name(name or "") if code is None else None
    day = day or date.today()
    index = _index(engine)
    known = index.subject(code) if code is not None and index.current(engine, day) else None
    subject_id: int | None
    if known is not None:  # the common case: answered from memory, no pooled connection
        answer, subject_id = _empty(matter_, "uscc", known.uscc or ""), known.id
        answer.update(index.answer(known, matter_, day))
    else:
        with engine.connect() as conn:
            index.sync(conn, day)
            if code is not None:
                answer, subject_id = _by_uscc(conn, index, code, matter_, day)
            else:
                assert query is not None
                answer, subject_id = _by_name(conn, index, query, matter_, day)
    answer["check_id"] = new_check_id()
    _writer(engine).add([_log_row(caller, answer, subject_id, None, utcnow())])
    return answer


def check_batch(engine: Engine, caller: Caller, matter_value: str, subjects: Sequence[dict[str, Any]],
                day: date | None = None) -> dict[str, Any]:
    """Up to `BATCH_LIMIT` checks in one call (e.g. all bidders of a tender), each with its own
    check id, logged together under the batch's id. Each item is `{"uscc": …}` or
    `{"name": …}`; a malformed item is answered with its error, not refused with the batch."""
    matter_ = matter(matter_value)
    if len(subjects) > rules.BATCH_LIMIT:
        raise InvalidInput(f"一次最多核查{rules.BATCH_LIMIT}个主体（收到{len(subjects)}个），请分批提交",
                           code=CheckError.BATCH_TOO_LARGE)
    if not subjects:
        raise InvalidInput("请至少提供一个要核查的主体", code=CheckError.EMPTY_BATCH)
    day = day or date.today()
    batch_id = new_check_id()
    index = _index(engine)
    results: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    at = utcnow()
    with engine.connect() as conn:
        index.sync(conn, day)
        for item in subjects:
            try:
                if item.get("uscc"):
                    answer, sid = _by_uscc(conn, index, parse_uscc(str(item["uscc"])), matter_, day)
                else:
                    answer, sid = _by_name(conn, index, parse_name(str(item.get("name") or "")),
                                           matter_, day)
            except InvalidInput as exc:
                results.append({"check_id": None, "error": {"code": exc.code, "message": exc.message},
                                "query": {k: item.get(k) for k in ("uscc", "name") if item.get(k)}})
                continue
            answer["check_id"] = new_check_id()
            results.append(answer)
            rows.append(_log_row(caller, answer, sid, batch_id, at))
    if rows:
        _writer(engine).add(rows)
    return {"batch_id": batch_id, "matter": {"code": matter_.code, "name": matter_.name},
            "count": len(results), "checked": len(rows), "results": results}


# --- Excel in, Excel out (the console's batch check) ----------------------------------------

USCC_HEADERS = ("统一社会信用代码", "USCC", "uscc", "代码")
NAME_HEADERS = ("名称", "主体名称", "企业名称", "单位名称", "name")


def read_subjects_xlsx(path: Path) -> list[dict[str, str]]:
    """The subjects of an uploaded workbook: the first sheet, a header row with a 统一社会信用代码
    column and/or a 名称 column; a row with a code is checked by code, else by name."""
    # An uploaded workbook is untrusted: read in a bounded child process, as departments'
    # are (a refusal is a BadFile, an InvalidInput saying which bound it passed).
    rows: list[list[str]] = workbook_rows(path, path.name)
    if not rows:
        raise InvalidInput("Excel 文件是空的", code=CheckError.EMPTY_BATCH)
    header = [str(c or "").strip() for c in rows[0]]
    code_col = next((i for i, h in enumerate(header) if h in USCC_HEADERS), None)
    name_col = next((i for i, h in enumerate(header) if h in NAME_HEADERS), None)
    if code_col is None and name_col is None:
        raise InvalidInput("Excel 第一行须有“统一社会信用代码”列或“名称”列", code=CheckError.MISSING_COLUMN)
    found: list[dict[str, str]] = []
    for row in rows[1:]:
        def cell(i: int | None, row: Sequence[Any] = row) -> str:
            return "" if i is None or i >= len(row) or row[i] is None else str(row[i]).strip()
        code, name = cell(code_col), cell(name_col)
        if code:
            found.append({"uscc": code, "name": name})
        elif name:
            found.append({"name": name})
    return found


def result_xlsx(batch: dict[str, Any]) -> bytes:
    """The batch's answers as a workbook: one row per subject, one per applied measure. Cells
    are formula-safe: a query, a name or a document number is outside text."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "核查结果"
    write_xlsx_row(sheet, ["核查编号", "办理事项", "查询", "统一社会信用代码", "主体名称", "信用状态",
                           "在列名单", "措施代码", "措施名称", "类型", "法律依据", "实施主体", "触发依据",
                           "截止日期", "异议/修复中的记录", "说明"])
    matter_name = batch["matter"]["name"]
    for r in batch["results"]:
        query = r["query"]
        asked = query.get("value") if "value" in query else query.get("uscc") or query.get("name")
        if r.get("error"):
            write_xlsx_row(sheet, [None, matter_name, asked] + [None] * 12 + [r["error"]["message"]])
            continue
        s = r["subject"] or {}
        lists = "；".join(f"{e['kind_name']}（{e['doc_no']}）" for e in r["lists"])
        marked = "；".join(f"{m['doc_no']}：{m['marker']}" for m in r["records_marked"])
        note = "" if r["subject"] else (
            "未找到该主体" if not r["candidates"] else
            "可能是：" + "；".join(f"{c['name']}（{c['uscc'] or '无代码'}，{c['score']}）"
                                  for c in r["candidates"][:5]))
        head = [r["check_id"], matter_name, asked, s.get("uscc"), s.get("name"), s.get("status_name"),
                lists]
        if not r["measures"]:
            write_xlsx_row(sheet, [*head, *[None] * 7, marked, note or "无适用措施"])
        for m in r["measures"]:
            kind = "惩戒" if m["kind"] == "penalty" else "激励"
            write_xlsx_row(sheet, [*head, m["code"], m["name"], kind, m["basis"], m["applied_by"],
                                   m["triggered_by"]["description"], m["until"], marked, note])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
