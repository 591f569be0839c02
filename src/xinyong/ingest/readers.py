"""Reading submitted files as tables, whatever the department's tool produced.

Detects the format from the content (XLSX is a zip; JSON Lines starts with `{`; anything else
textual is CSV with a sniffed delimiter) and the encoding (UTF-8 with or without BOM, else
GB18030, a superset of GBK). Rows stream: memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import islice
from pathlib import Path
from typing import IO, Any

import orjson

from xinyong.core import xlsx
from xinyong.core.errors import BadFile, CoreError
from xinyong.core.xlsx import temp_dir as temp_dir  # where files in the making are kept

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


def open_table(path: Path, name: str | None = None) -> Table:
    """Open a submitted file as a table, or raise `BadFile` with a one-line reason. Messages
    name the file as `name` (what the department called it), never the server's own copy."""
    name = name or path.name
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(SAMPLE_BYTES)
    except OSError as exc:
        raise BadFile(f"无法读取文件 {name}：{exc.strerror}", code=CoreError.BAD_FILE) from exc
    if size == 0 or not head.strip():
        raise BadFile(f"文件 {name} 为空", code=CoreError.BAD_FILE)
    if xlsx.is_rows_file(head):
        return _open_rows(path, path, name, [])
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, name)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise BadFile(f"文件 {name} 是旧版 Excel（.xls）格式，请另存为 .xlsx 或 CSV 后再报送",
                      code=CoreError.BAD_FILE)
    if b"\x00" in head and not head.startswith(UTF16_BOMS):
        raise BadFile(f"文件 {name} 不是表格文件（含二进制内容）；请报送 CSV、XLSX 或 JSON Lines",
                      code=CoreError.BAD_FILE)
    encoding = detect_encoding(head, complete=size <= SAMPLE_BYTES)
    text = head.decode(encoding, errors="ignore").lstrip("\ufeff \t\r\n")
    if text.startswith("{"):
        return _open_jsonl(path, encoding, size, name)
    if text.startswith("["):
        raise BadFile(f"文件 {name} 是 JSON 数组；请按 JSON Lines 报送（每行一个 JSON 对象）",
                      code=CoreError.BAD_FILE)
    return _open_csv(path, encoding, size, text, name)


# Excel's "Unicode 文本" is UTF-16 (little-endian) with a byte order mark, tab-separated.
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def detect_encoding(sample: bytes, *, complete: bool) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith(UTF16_BOMS):
        return "utf-16"  # the codec reads the byte order from the mark and drops it
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
        raise BadFile("无法识别文件编码：既不是 UTF-8、UTF-16 也不是 GBK/GB18030",
                      code=CoreError.BAD_FILE) from exc


def _progress_of(raw: IO[bytes], size: int) -> Callable[[], float]:
    return lambda: min(1.0, raw.tell() / size) if size else 1.0


def _unreadable(exc: Exception, encoding: str, name: str, row_no: int) -> BadFile:
    if isinstance(exc, UnicodeDecodeError):
        return BadFile(f"文件 {name} 第{row_no}行附近的内容不是 {encoding} 编码，"
                       "请统一文件编码后重新报送", code=CoreError.BAD_FILE)
    return BadFile(f"文件 {name} 第{row_no}行附近 CSV 格式错误：{exc}", code=CoreError.BAD_FILE)


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
                 encoding: str, delimiter: str, name: str) -> None:
        self.path, self.raw, self.text, self.reader, self.name = path, raw, text, reader, name
        self.encoding, self.delimiter = encoding, delimiter
        self.row_no = 1
        self._plain: bool | None = None

    def __iter__(self) -> Iterator[SourceRow]:
        try:
            for cells in self.reader:
                self.row_no += 1
                yield SourceRow(self.row_no, cells)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _unreadable(exc, self.encoding, self.name, self.row_no + 1) from exc

    def plain(self) -> bool:
        """No quote character anywhere in the file: every line is one row, and its cells
        are exactly the pieces between delimiters. (0x22 is never part of a multi-byte
        character in UTF-8 or GB18030, so the bytes can be searched undecoded; in UTF-16 it
        can be, so such a file is never taken as plain.)"""
        if self._plain is None and self.encoding == "utf-16":
            self._plain = False
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
            raise _unreadable(exc, self.encoding, self.name, n + 1) from exc
        self.row_no = n
        return n - start, out


def _open_csv(path: Path, encoding: str, size: int, sample_text: str, name: str) -> Table:
    first_line = sample_text.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    delimiter = max(counts, key=lambda d: counts[d])
    if counts[delimiter] == 0:
        raise BadFile(f"文件 {name} 不是表格：首行没有分隔符（应为带表头的 CSV、XLSX 或 JSON Lines）",
                      code=CoreError.BAD_FILE)
    raw = path.open("rb")
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except (UnicodeDecodeError, csv.Error, StopIteration) as exc:
        text.close()
        raise BadFile(f"文件 {name} 无法读取表头：{exc}", code=CoreError.BAD_FILE) from exc

    rows = _CsvRows(path, raw, text, reader, encoding, delimiter, name)
    return Table("csv", encoding, header, iter(rows), delimiter, _progress_of(raw, size),
                 [text.close], rows.skim)


def _open_jsonl(path: Path, encoding: str, size: int, name: str) -> Table:
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
                raise BadFile(f"文件 {name} 第{line_no}行不是 JSON 对象：{exc}",
                              code=CoreError.BAD_FILE) from exc
            if not isinstance(obj, dict):
                text.close()
                raise BadFile(f"文件 {name} 第{line_no}行不是 JSON 对象", code=CoreError.BAD_FILE)
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

    return Table("jsonl", encoding, header, _decode_guard(rows(), encoding, name), ",",
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


def _open_xlsx(path: Path, name: str) -> Table:
    """A workbook, converted to a rows file by a bounded child process first (see `xlsx`);
    the rows file is deleted when the table is closed."""
    folder = temp_dir()
    target = folder / f"{uuid.uuid4().hex}{xlsx.SUFFIX}"
    xlsx.convert_untrusted(path, target, name)
    return _open_rows(target, path, name, [lambda: target.unlink(missing_ok=True)])


@contextmanager
def readable(path: Path, name: str | None = None) -> Iterator[Path]:
    """The file to read `path` from: itself, or for a workbook the rows file it converts to
    (made once here, then opened as often as needed, and deleted afterwards)."""
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError:
        head = b""  # `open_table` says what is wrong with it
    if head != b"PK\x03\x04":
        yield path
        return
    target = temp_dir() / f"{uuid.uuid4().hex}{xlsx.SUFFIX}"
    xlsx.convert_untrusted(path, target, name or path.name)
    try:
        yield target
    finally:
        target.unlink(missing_ok=True)


def _open_rows(rows_path: Path, source: Path, name: str,
               cleanup: list[Callable[[], None]]) -> Table:
    """The rows file of a converted workbook as the workbook's table: the first row with
    any content is the header."""
    try:
        size = rows_path.stat().st_size
        it: Generator[tuple[int, list[str], int]] = xlsx.read_rows(rows_path)
        header: list[str] = []
        for _, cells, _ in it:
            stripped = [c.strip() for c in cells]
            if any(stripped):
                while stripped and not stripped[-1]:
                    stripped.pop()
                header = stripped
                break
    except BaseException:
        for close in cleanup:
            close()
        raise
    if not header:
        for close in cleanup:
            close()
        raise BadFile(f"文件 {name} 的第一个工作表没有内容", code=CoreError.BAD_FILE)
    done = [0]

    def rows() -> Iterator[SourceRow]:
        for n, cells, length in it:
            done[0] += length
            yield SourceRow(n, cells)

    def finish() -> None:
        it.close()
        for c in cleanup:
            c()

    return Table("xlsx", None, header, rows(), ",",
                 lambda: min(1.0, done[0] / size) if size else 0.0, [finish])
