"""Reading submitted files as tables, whatever the department's tool produced.

Detects the format from the content (XLSX is a zip; JSON Lines starts with `{`; anything else
textual is CSV with a sniffed delimiter) and the encoding (UTF-8 with or without BOM, else
GB18030, a superset of GBK). Rows stream: memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import islice
from pathlib import Path
from typing import IO, Any

import orjson

from xinyong.core.errors import BadFile

SAMPLE_BYTES = 1 << 20
csv.field_size_limit(16 * 1024 * 1024)


@dataclass(slots=True)
class SourceRow:
    row_no: int  # as the department sees it: spreadsheet row or JSON line number
    cells: list[str]
    error: str | None = None  # the row could not be read at all (e.g. a broken JSON line)
    raw: Any = None  # original form when it is not `cells` (a JSON object)


@dataclass(slots=True)
class Table:
    format: str  # csv | xlsx | jsonl
    encoding: str | None
    header: list[str]
    rows: Iterator[SourceRow]
    delimiter: str = ","
    progress: Callable[[], float] = field(default=lambda: 0.0)  # share of the file read
    closers: list[Callable[[], None]] = field(default_factory=list)
    # Passing over rows by one cell: see `_CsvRows.skim`; None for formats that cannot.
    skim: Callable[[int, int], tuple[int, list[tuple[int, str]]] | None] | None = None

    def close(self) -> None:
        for close in self.closers:
            close()


def open_table(path: Path) -> Table:
    """Open a submitted file as a table, or raise `BadFile` with a one-line reason."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(SAMPLE_BYTES)
    except OSError as exc:
        raise BadFile(f"无法读取文件 {path.name}：{exc.strerror}") from exc
    if size == 0 or not head.strip():
        raise BadFile(f"文件 {path.name} 为空")
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise BadFile(f"文件 {path.name} 是旧版 Excel（.xls）格式，请另存为 .xlsx 或 CSV 后再报送")
    if b"\x00" in head:
        raise BadFile(f"文件 {path.name} 不是表格文件（含二进制内容）；请报送 CSV、XLSX 或 JSON Lines")
    encoding = detect_encoding(head, complete=size <= SAMPLE_BYTES)
    text = head.decode(encoding, errors="ignore").lstrip("\ufeff \t\r\n")
    if text.startswith("{"):
        return _open_jsonl(path, encoding, size)
    if text.startswith("["):
        raise BadFile(f"文件 {path.name} 是 JSON 数组；请按 JSON Lines 报送（每行一个 JSON 对象）")
    return _open_csv(path, encoding, size, text)


def detect_encoding(sample: bytes, *, complete: bool) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # Cut at the last newline so a multi-byte character split by the sample is not blamed.
        cut = sample if complete else sample[: sample.rfind(b"\n") + 1 or len(sample)]
        cut.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        raise BadFile("无法识别文件编码：既不是 UTF-8 也不是 GBK/GB18030") from exc


def _progress_of(raw: IO[bytes], size: int) -> Callable[[], float]:
    return lambda: min(1.0, raw.tell() / size) if size else 1.0


def _unreadable(exc: Exception, encoding: str, name: str, row_no: int) -> BadFile:
    if isinstance(exc, UnicodeDecodeError):
        return BadFile(f"文件 {name} 第{row_no}行附近的内容不是 {encoding} 编码，"
                       "请统一文件编码后重新报送")
    return BadFile(f"文件 {name} 第{row_no}行附近 CSV 格式错误：{exc}")


def _decode_guard(rows: Iterator[SourceRow], encoding: str, name: str) -> Iterator[SourceRow]:
    last = 1
    try:
        for row in rows:
            last = row.row_no
            yield row
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _unreadable(exc, encoding, name, last + 1) from exc


class _CsvRows:
    """The rows of a CSV file after its header, numbered as the department sees them (the
    header is row 1), read in full or passed over by one cell."""

    def __init__(self, path: Path, raw: IO[bytes], text: io.TextIOWrapper, reader: Any,
                 encoding: str, delimiter: str) -> None:
        self.path, self.raw, self.text, self.reader = path, raw, text, reader
        self.encoding, self.delimiter = encoding, delimiter
        self.row_no = 1
        self._plain: bool | None = None

    def __iter__(self) -> Iterator[SourceRow]:
        try:
            for cells in self.reader:
                self.row_no += 1
                yield SourceRow(self.row_no, cells)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _unreadable(exc, self.encoding, self.path.name, self.row_no + 1) from exc

    def plain(self) -> bool:
        """No quote character anywhere in the file: every line is one row, and its cells
        are exactly the pieces between delimiters. (0x22 is never part of a multi-byte
        character in UTF-8 or GB18030, so the bytes can be searched undecoded.)"""
        if self._plain is None:
            with self.path.open("rb") as f:
                self._plain = not any(b'"' in block for block in iter(lambda: f.read(1 << 24), b""))
        return self._plain

    def skim(self, count: int, column: int) -> tuple[int, list[tuple[int, str]]] | None:
        """Pass over the next `count` rows reading only cell `column` of each: (rows passed,
        [(row number, the cell stripped) for rows where it is not blank]); (0, []) at the end.
        About ten times cheaper than parsing the rows, for a process that needs only one
        column of rows another process prepares. None when the file has quoted cells, where
        lines and rows differ: parse them instead."""
        if not self.plain():
            return None
        out = []
        start = n = self.row_no
        delimiter = self.delimiter
        try:
            for line in islice(self.text, count):
                n += 1
                cells = line.split(delimiter, column + 1)
                if len(cells) > column:
                    # csv drops the line ending from a row's last cell; strip() drops it here
                    value = cells[column].strip()
                    if value:
                        out.append((n, value))
        except UnicodeDecodeError as exc:
            raise _unreadable(exc, self.encoding, self.path.name, n + 1) from exc
        self.row_no = n
        return n - start, out


def _open_csv(path: Path, encoding: str, size: int, sample_text: str) -> Table:
    first_line = sample_text.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    delimiter = max(counts, key=lambda d: counts[d])
    if counts[delimiter] == 0:
        raise BadFile(f"文件 {path.name} 不是表格：首行没有分隔符（应为带表头的 CSV、XLSX 或 JSON Lines）")
    raw = path.open("rb")
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except (UnicodeDecodeError, csv.Error, StopIteration) as exc:
        text.close()
        raise BadFile(f"文件 {path.name} 无法读取表头：{exc}") from exc

    rows = _CsvRows(path, raw, text, reader, encoding, delimiter)
    return Table("csv", encoding, header, iter(rows), delimiter, _progress_of(raw, size),
                 [text.close], rows.skim)


def _open_jsonl(path: Path, encoding: str, size: int) -> Table:
    raw = path.open("rb")
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    header: list[str] = []
    first: list[tuple[int, str]] = []
    line_no = 0
    for line in text:
        line_no += 1
        if line.strip():
            first.append((line_no, line))
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                text.close()
                raise BadFile(f"文件 {path.name} 第{line_no}行不是 JSON 对象：{exc}") from exc
            if not isinstance(obj, dict):
                text.close()
                raise BadFile(f"文件 {path.name} 第{line_no}行不是 JSON 对象")
            header = [str(k) for k in obj]
            break
    index = {h: i for i, h in enumerate(header)}

    def convert(line_no: int, line: str) -> SourceRow:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            return SourceRow(line_no, [line.rstrip("\r\n")], f"JSON 格式错误：{exc}", line)
        if not isinstance(obj, dict):
            return SourceRow(line_no, [line.rstrip("\r\n")], "该行不是 JSON 对象", line)
        cells = [""] * len(header)
        extra = []
        for k, v in obj.items():
            i = index.get(k)
            if i is None:
                extra.append(k)
            else:
                cells[i] = _cell_text(v)
        return SourceRow(line_no, cells, f"含表头之外的字段：{'、'.join(extra)}" if extra else None,
                         obj)

    def rows() -> Iterator[SourceRow]:
        for n, line in first:
            yield convert(n, line)
        n = line_no
        for line in text:
            n += 1
            if line.strip():
                yield convert(n, line)

    return Table("jsonl", encoding, header, _decode_guard(rows(), encoding, path.name), ",",
                 _progress_of(raw, size), [text.close])


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == time(0) else v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, bool):
        return "是" if v else "否"
    return str(v)


def _open_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    # A file object, not the path: openpyxl judges a path by its extension, we by content.
    raw = path.open("rb")
    try:
        wb = load_workbook(raw, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raw.close()
        raise BadFile(f"文件 {path.name} 不是有效的 XLSX 文件：{exc}") from exc
    ws = wb.worksheets[0] if wb.worksheets else None
    if ws is None:
        wb.close()
        raw.close()
        raise BadFile(f"文件 {path.name} 没有工作表")
    total = ws.max_row or 0
    it = ws.iter_rows(values_only=True)
    header: list[str] = []
    header_row = 0
    for values in it:
        header_row += 1
        cells = [_cell_text(v).strip() for v in values]
        if any(cells):
            while cells and not cells[-1]:
                cells.pop()
            header = cells
            break
    done = [header_row]

    def rows() -> Iterator[SourceRow]:
        n = header_row
        for values in it:
            n += 1
            done[0] = n
            yield SourceRow(n, [_cell_text(v) for v in values])

    return Table("xlsx", None, header, rows(), ",",
                 lambda: min(1.0, done[0] / total) if total else 0.0, [wb.close, raw.close])
