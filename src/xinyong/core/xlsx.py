"""Reading untrusted workbooks within bounds.

An XLSX file is a zip of XML: a 1 MB upload can inflate to gigabytes, declare a sheet of
20,000 × 16,384 cells, or list millions of shared strings. So a workbook is never handed to a
general-purpose reader in the server process. Instead a child process (`python -m
xinyong.core.xlsx`), with its address space and CPU time limited and a wall-clock timeout,
streams the first sheet through expat and writes its rows to a plain rows file the server
then reads like any other table. While it reads it counts: the bytes each zip member inflates
to, the shared strings, the rows, the columns, the characters of each cell and the bytes
written; the first bound passed ends the work with a clear message. Declared dimensions are
ignored: only cells actually present count.

The rows file: the line `MAGIC`, then one JSON array per row, `[row number, [cells as text]]`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

import orjson

from xinyong.core.errors import BadFile, CoreError

MAGIC = b"XINYONG-XLSX-ROWS/1\n"
SUFFIX = ".xrows"
EXCEL_CELL_CHARS = 32_767  # Excel's own limit for one cell
REFUSED_EXIT = 3  # the child's exit status when it refuses the workbook (message on stdout)
READ = 1 << 16
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
# Number formats Excel has built in that show dates or times (ECMA-376 §18.8.30).
BUILTIN_DATE_FORMATS = frozenset({*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)})
_QUOTED = re.compile(r'"[^"]*"|\[(?!(?:h|hh|m|mm|s|ss)\])[^\]]*\]|\\.')


@dataclass(frozen=True)
class Limits:
    """The bounds a workbook is read within (settings `xlsx_*`)."""

    member_bytes: int = 256 << 20  # what one zip member may inflate to
    rows: int = 200_000
    columns: int = 512
    shared_strings: int = 2_000_000
    cell_chars: int = EXCEL_CELL_CHARS
    output_bytes: int = 1 << 30  # the rows file written
    memory_bytes: int = 1 << 30  # the child's address space
    seconds: int = 300  # the child's CPU time and wall-clock time

    @classmethod
    def from_settings(cls) -> Limits:
        from xinyong.core.settings import get_settings

        s = get_settings()
        return cls(member_bytes=s.xlsx_max_member_mib << 20, rows=s.xlsx_max_rows,
                   columns=s.xlsx_max_columns, shared_strings=s.xlsx_max_shared_strings,
                   output_bytes=s.xlsx_max_output_mib << 20, memory_bytes=s.xlsx_memory_mib << 20,
                   seconds=s.xlsx_timeout_seconds)


class Refused(Exception):
    """The workbook passed a bound or is malformed: `message` says which, for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- the parent's side ------------------------------------------------------------------------

def is_rows_file(head: bytes) -> bool:
    return head.startswith(MAGIC)


def convert_untrusted(source: Path, target: Path, name: str, limits: Limits | None = None) -> None:
    """Write the first sheet of workbook `source` as a rows file `target`, in a child process
    within `limits`; raise `BadFile` (naming the file as `name`, never a temporary path) if
    the workbook is refused or the child runs out of memory or time. `target` is removed on
    failure."""
    limits = limits or Limits.from_settings()
    command = [sys.executable, "-m", "xinyong.core.xlsx", str(source), str(target),
               orjson.dumps(asdict(limits)).decode()]
    try:
        done = subprocess.run(command, capture_output=True, timeout=limits.seconds + 5,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        target.unlink(missing_ok=True)
        raise BadFile(f"文件 {name} 读取超时（超过 {limits.seconds} 秒）：工作簿过于庞大或复杂，"
                      "请精简后重新报送或改用 CSV",
                  code=CoreError.BAD_FILE) from None
    if done.returncode == 0:
        return
    target.unlink(missing_ok=True)
    if done.returncode == REFUSED_EXIT:
        message = done.stdout.decode("utf-8", "replace").strip()
        raise BadFile(f"文件 {name} 未被接收：{message}", code=CoreError.BAD_FILE)
    raise BadFile(f"文件 {name} 未被接收：读取时超出了平台为单个工作簿设定的内存或时间上限"
                  f"（{limits.memory_bytes >> 20} MiB、{limits.seconds} 秒），请精简后重新报送或改用 CSV",
                  code=CoreError.BAD_FILE)


def read_rows(path: Path) -> Generator[tuple[int, list[str], int]]:
    """The rows of a rows file, streamed: (row number, cells, bytes the row took)."""
    with path.open("rb") as f:
        if f.readline() != MAGIC:
            raise BadFile("内部转换文件已损坏，请重新报送", code=CoreError.BAD_FILE)
        for line in f:
            row_no, cells = orjson.loads(line)
            yield int(row_no), cells, len(line)


def temp_dir() -> Path:
    """Where files in the making are kept: the files folder's `tmp`, swept at startup
    (`ingest.service.sweep`), so a crash leaves nothing behind."""
    from xinyong.core.settings import get_settings

    folder = get_settings().files_dir / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def workbook_rows(path: Path, name: str) -> list[list[str]]:
    """Every row of the first sheet of an untrusted workbook, read within the bounds (for a
    small workbook read whole, such as a list of subjects to check); `BadFile` if refused."""
    target = temp_dir() / f"{os.urandom(16).hex()}{SUFFIX}"
    convert_untrusted(path, target, name)
    try:
        return [cells for _, cells, _ in read_rows(target)]
    finally:
        target.unlink(missing_ok=True)


# --- the child's side -------------------------------------------------------------------------

class _Budget:
    """Bytes inflated from one zip member, counted as they are read."""

    def __init__(self, member: str, limit: int) -> None:
        self.member, self.limit, self.used = member, limit, 0

    def take(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise Refused(f"工作簿中的部件“{self.member}”解压后超过 {self.limit >> 20} MiB 的上限"
                          "（可能是压缩炸弹），已拒绝")


def _local(name: str) -> str:
    return name.rsplit(" ", 1)[-1]


def _parse(book: zipfile.ZipFile, member: str, limits: Limits,
           start: Callable[[str, dict[str, str]], None] | None = None,
           end: Callable[[str], None] | None = None,
           chars: Callable[[str], None] | None = None) -> None:
    """Stream one member through expat, counting what it inflates to. No DTDs (no entity
    expansion); names are the local part of namespaced names."""
    try:
        info = book.getinfo(member)
    except KeyError:
        raise Refused(f"工作簿缺少部件“{member}”，不是有效的 XLSX 文件") from None
    budget = _Budget(member, limits.member_bytes)
    if info.file_size > limits.member_bytes:
        budget.take(info.file_size)
    parser = expat.ParserCreate(namespace_separator=" ")

    def no_dtd(*_: Any) -> None:
        raise Refused("工作簿含有文档类型定义（DTD），已拒绝")

    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    if start is not None:
        parser.StartElementHandler = lambda n, a: start(_local(n), a)
    if end is not None:
        parser.EndElementHandler = lambda n: end(_local(n))
    if chars is not None:
        parser.CharacterDataHandler = chars
    try:
        with book.open(info) as f:
            while block := f.read(READ):
                budget.take(len(block))
                parser.Parse(block, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise Refused(f"工作簿部件“{member}”不是有效的 XML：{exc}") from None
    except (zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError) as exc:
        raise Refused(f"工作簿已损坏，无法解压：{exc}") from None
    except OSError as exc:
        raise Refused(f"工作簿已损坏，无法解压（{exc.strerror or '读取错误'}）") from None


def _resolve(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts = [p for p in base.split("/")[:-1] if p]
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece and piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _relations(book: zipfile.ZipFile, part: str, limits: Limits) -> dict[str, tuple[str, str]]:
    """Id → (type's last segment, member) of a part's relationships."""
    folder, _, file = part.rpartition("/")
    rels = f"{folder}/_rels/{file}.rels" if folder else f"_rels/{file}.rels"
    out: dict[str, tuple[str, str]] = {}
    if rels not in book.namelist():
        return out

    def start(name: str, attrs: dict[str, str]) -> None:
        if name == "Relationship" and attrs.get("TargetMode") != "External":
            out[attrs.get("Id", "")] = (attrs.get("Type", "").rsplit("/", 1)[-1],
                                        _resolve(part, attrs.get("Target", "")))

    _parse(book, rels, limits, start)
    return out


class _Text:
    """The text of `<t>` elements inside an element (a shared string or an inline string),
    leaving out phonetic runs, bounded in characters."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.in_t = False
        self.phonetic = 0

    def add(self, data: str) -> None:
        if self.in_t and not self.phonetic:
            self.size += len(data)
            if self.size > self.limit:
                raise Refused(f"工作簿中有单元格超过 {self.limit} 个字符（Excel 单元格的上限），已拒绝")
            self.parts.append(data)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts, self.size = [], 0
        return text


def _shared_strings(book: zipfile.ZipFile, member: str | None, limits: Limits) -> list[str]:
    strings: list[str] = []
    if member is None or member not in book.namelist():
        return strings
    text = _Text(limits.cell_chars)

    def start(name: str, attrs: dict[str, str]) -> None:
        if name == "t":
            text.in_t = True
        elif name == "rPh":
            text.phonetic += 1
        elif name == "si" and len(strings) >= limits.shared_strings:
            raise Refused(f"工作簿的共享字符串超过 {limits.shared_strings} 个的上限，已拒绝")

    def end(name: str) -> None:
        if name == "t":
            text.in_t = False
        elif name == "rPh":
            text.phonetic -= 1
        elif name == "si":
            strings.append(text.take())

    _parse(book, member, limits, start, end, text.add)
    return strings


def _is_date_format(code: str) -> bool:
    code = _QUOTED.sub("", code.split(";")[0])
    return re.search(r"(?<![_\\])[dmhysDMHYS]", code) is not None


def _date_styles(book: zipfile.ZipFile, member: str | None, limits: Limits) -> set[int]:
    """The indexes of cell formats (`s` of a cell) that show a number as a date or time."""
    found: set[int] = set()
    if member is None or member not in book.namelist():
        return found
    custom: dict[int, str] = {}
    xfs: list[int] = []
    inside = [False]

    def start(name: str, attrs: dict[str, str]) -> None:
        if name == "numFmt":
            custom[_int(attrs.get("numFmtId"))] = attrs.get("formatCode", "")
        elif name == "cellXfs":
            inside[0] = True
        elif name == "xf" and inside[0]:
            if len(xfs) >= 65_536:
                raise Refused("工作簿的单元格格式过多，已拒绝")
            xfs.append(_int(attrs.get("numFmtId")))

    def end(name: str) -> None:
        if name == "cellXfs":
            inside[0] = False

    _parse(book, member, limits, start, end)
    for index, fmt in enumerate(xfs):
        if (fmt in custom and _is_date_format(custom[fmt])) or (
                fmt not in custom and fmt in BUILTIN_DATE_FORMATS):
            found.add(index)
    return found


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return -1


def _column(ref: str) -> int:
    """1-based column of a cell reference such as `AB12` (0 when it has no letters)."""
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            n = n * 26 + ord(ch) - 96
        else:
            break
        if n > 1 << 20:
            break
    return n


def _excel_date(serial: float, epoch1904: bool) -> date | datetime | time:
    day, fraction = divmod(serial, 1)
    diff = timedelta(milliseconds=round(fraction * 86_400_000))
    if 0 <= serial < 1 and diff.days == 0:
        return (datetime.min + diff).time()
    if epoch1904:
        base = datetime(1904, 1, 1)
    else:
        base = datetime(1899, 12, 30)
        if 0 < serial < 60:
            day += 1  # Excel counts 29 February 1900, which never was
    return base + timedelta(days=day) + diff


def _text_of(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Sheet:
    """Streams a worksheet's cells into rows, written to `out` as they end."""

    def __init__(self, out: IO[bytes], strings: list[str], dates: set[int], epoch1904: bool,
                 limits: Limits) -> None:
        self.out, self.strings, self.dates, self.epoch1904 = out, strings, dates, epoch1904
        self.limits = limits
        self.text = _Text(limits.cell_chars)
        self.written = len(MAGIC)
        self.row_no = 0
        self.rows = 0
        self.cells: dict[int, str] = {}
        self.column = 0
        self.cell: dict[str, str] | None = None
        self.inline = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "row":
            number = _int(attrs.get("r")) if attrs.get("r") else self.row_no + 1
            self.row_no = max(number, self.row_no + 1)
            self.rows += 1
            if self.row_no > self.limits.rows or self.rows > self.limits.rows:
                raise Refused(f"工作表超过 {self.limits.rows} 行的上限；请分批报送或改用 CSV")
            self.cells, self.column = {}, 0
        elif name == "c":
            ref = attrs.get("r")
            self.column = _column(ref) if ref else self.column + 1
            if self.column == 0:
                self.column = 1
            if self.column > self.limits.columns:
                raise Refused(f"工作表超过 {self.limits.columns} 列的上限，已拒绝")
            self.cell = attrs
        elif name == "v" and self.cell is not None:
            self.text.in_t = True
        elif name == "is":
            self.inline = True
        elif name == "t" and self.inline:
            self.text.in_t = True
        elif name == "rPh":
            self.text.phonetic += 1

    def end(self, name: str) -> None:
        if name in ("v", "t"):
            self.text.in_t = False
        elif name == "rPh":
            self.text.phonetic -= 1
        elif name == "is":
            self.inline = False
        elif name == "c" and self.cell is not None:
            value = self._value(self.cell, self.text.take())
            if value:
                self.cells[self.column] = value
            self.cell = None
        elif name == "row":
            self._write()

    def _value(self, cell: dict[str, str], raw: str) -> str:
        kind = cell.get("t", "n")
        if kind == "inlineStr" or kind == "str":
            return raw
        if not raw:
            return ""
        if kind == "s":
            index = _int(raw)
            if not 0 <= index < len(self.strings):
                raise Refused(f"单元格引用了不存在的共享字符串（{raw[:20]}），工作簿已损坏")
            return self.strings[index]
        if kind == "b":
            return "是" if raw.strip() not in ("0", "") else "否"
        if kind in ("e", "d"):
            return raw
        try:
            number: float | int = float(raw) if any(c in raw for c in ".eE") else int(raw)
        except ValueError:
            return raw
        if _int(cell.get("s")) in self.dates:
            try:
                return _text_of(_excel_date(float(number), self.epoch1904))
            except (OverflowError, ValueError):
                return "#VALUE!"
        return _text_of(number)

    def _write(self) -> None:
        if not self.cells:
            return
        width = max(self.cells)
        row = [self.cells.get(i, "") for i in range(1, width + 1)]
        line = orjson.dumps([self.row_no, row]) + b"\n"
        self.written += len(line)
        if self.written > self.limits.output_bytes:
            raise Refused(f"工作表内容展开后超过 {self.limits.output_bytes >> 20} MiB 的上限；"
                          "请分批报送或改用 CSV")
        self.out.write(line)


def convert(source: Path, target: Path, limits: Limits) -> None:
    """The bounded conversion itself (run in the child)."""
    try:
        book = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, ValueError) as exc:
        raise Refused(f"不是有效的 XLSX 文件（{exc}）") from None
    except OSError as exc:  # its text would name the server's copy of the file
        raise Refused(f"无法读取文件（{exc.strerror}）") from None
    with book:
        if len(book.infolist()) > 10_000:
            raise Refused("工作簿的部件过多，不是正常的 XLSX 文件，已拒绝")
        office = next((m for kind, m in _relations(book, "", limits).values()
                       if kind == "officeDocument"), "xl/workbook.xml")
        sheets: list[str] = []
        epoch1904 = [False]

        def start(name: str, attrs: dict[str, str]) -> None:
            if name == "sheet":
                sheets.append(attrs.get(f"{REL_NS} id", ""))
            elif name == "workbookPr":
                epoch1904[0] = attrs.get("date1904", "0").lower() in ("1", "true")

        _parse(book, office, limits, start)
        rels = _relations(book, office, limits)
        worksheets = [rels[r][1] for r in sheets if r in rels and rels[r][0] == "worksheet"]
        if not worksheets:
            raise Refused("工作簿没有工作表")
        by_kind = {kind: member for kind, member in rels.values()}
        strings = _shared_strings(book, by_kind.get("sharedStrings"), limits)
        dates = _date_styles(book, by_kind.get("styles"), limits)
        with target.open("wb") as out:
            out.write(MAGIC)
            sheet = _Sheet(out, strings, dates, epoch1904[0], limits)
            _parse(book, worksheets[0], limits, sheet.start, sheet.end, sheet.text.add)


def _limit_self(limits: Limits) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.seconds, limits.seconds + 1))


def main(argv: list[str]) -> int:
    source, target, given = Path(argv[0]), Path(argv[1]), orjson.loads(argv[2])
    limits = Limits(**given)
    _limit_self(limits)
    try:
        convert(source, target, limits)
    except Refused as exc:
        sys.stdout.write(exc.message)
        return REFUSED_EXIT
    except MemoryError:
        sys.stdout.write(f"读取时超出 {limits.memory_bytes >> 20} MiB 的内存上限；"
                         "请精简后重新报送或改用 CSV")
        return REFUSED_EXIT
    return 0


if __name__ == "__main__":
    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    code = main(sys.argv[1:])
    sys.stdout.flush()
    os._exit(code)
