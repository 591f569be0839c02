"""Formula-safe cells for every spreadsheet the platform writes (CSV and XLSX).

Exports carry text the platform received from outside (a department's rows, a subject's
name, a reason someone typed). A spreadsheet program takes a cell beginning with `=`, `+`,
`-` or `@` as a formula — `=HYPERLINK(...)` can send data away when clicked — and a leading
tab or carriage return can hide such a start (CSV injection). So every exported cell goes
through here: in CSV such text is prefixed with an apostrophe (the usual way to make it plain
text, visible to the reader); in XLSX it is stored as a string cell with Excel's quote
prefix, which no program evaluates. A plain number (`-5`, `+3.2`), dates and empty cells are
left as they are.

Two ways in: `safe_text` / `safe_row` / `write_xlsx_row` for code that writes its own CSV
writer or openpyxl sheet row by row (error reports, the check workbook), and `Sheet` with
`download` for a page's export of whole tables.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def risky(text: str) -> bool:
    """Whether a spreadsheet could take this text as a formula."""
    return text.startswith(FORMULA_STARTS) and _NUMBER.fullmatch(text) is None


def safe_text(value: Any) -> str:
    """A CSV cell: the value as text, prefixed with `'` when it could start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if risky(text) else text


def safe_row(values: Iterable[Any]) -> list[str]:
    """A CSV row of `safe_text` cells."""
    return [safe_text(v) for v in values]


def xlsx_cell(sheet: Any, value: Any) -> Any:
    """A value for `sheet.append` (openpyxl, write-only or not): risky text as a cell typed
    string, so it is kept as text (openpyxl would store text beginning `=` as a formula);
    every other value unchanged."""
    if not isinstance(value, str) or not risky(value):
        return value
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    cell: Any = Cell(sheet, value=value)
    if isinstance(sheet, WriteOnlyWorksheet):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def write_xlsx_row(sheet: Any, values: Iterable[Any]) -> None:
    """Append one row of formula-safe cells to an openpyxl worksheet."""
    sheet.append([xlsx_cell(sheet, v) for v in values])


# Whole tables for a page's download ---------------------------------------------------

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
SHEET_TITLE_LIMIT = 31  # Excel's limit on a sheet name
Cell = str | int | float | date | datetime | None


def csv_text(value: Cell) -> str:
    """A cell as CSV text: a formula-looking text behind an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if isinstance(value, str) and risky(text) else text


@dataclass(frozen=True)
class Sheet:
    """One table: its title (the sheet's name), header row and rows."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Cell]]


def to_csv(sheet: Sheet) -> bytes:
    """One table as UTF-8 CSV with a byte-order mark (so that Excel reads the Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_text(h) for h in sheet.header])
    for row in sheet.rows:
        writer.writerow([csv_text(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _put(ws: Any, row: int, column: int, value: Cell) -> None:
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = value
        # openpyxl makes a text starting with "=" a formula cell: force a string cell, and the
        # quote prefix tells Excel to keep it text when the cell is edited
        cell.data_type = "s"
        if risky(value):
            cell.quotePrefix = True
    else:
        cell.value = value


def to_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """The tables as one workbook, a sheet each, every text cell a string cell."""
    from openpyxl import Workbook

    book = Workbook(write_only=False)
    first = book.active
    if first is not None:
        book.remove(first)
    for sheet in sheets:
        ws = book.create_sheet(title=sheet.title[:SHEET_TITLE_LIMIT] or "Sheet")
        for column, title in enumerate(sheet.header, 1):
            _put(ws, 1, column, title)
        for r, row in enumerate(sheet.rows, 2):
            for column, value in enumerate(row, 1):
                _put(ws, r, column, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(sheets: Sequence[Sheet], fmt: str, filename: str) -> tuple[bytes, str, dict[str, str]]:
    """Body, media type and headers of a download of the tables as `xlsx` or `csv` (CSV holds
    the first table only). `filename` is without its extension; non-ASCII names are sent the
    RFC 6266 way with an ASCII fallback."""
    from urllib.parse import quote

    if fmt == "csv":
        body, media, ext = to_csv(sheets[0]), CSV_TYPE, "csv"
    else:
        body, media, ext = to_xlsx(sheets), XLSX_TYPE, "xlsx"
    name = f"{filename}.{ext}"
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return body, media, {"Content-Disposition": disposition}
