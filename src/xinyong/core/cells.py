"""Tables people download (Excel and CSV) written so that no cell is ever run as a formula.

A name, a reason or a detail typed by someone else may begin with `=`, `+`, `-`, `@`, a tab or
a carriage return; a spreadsheet opening the file would take such a cell for a formula (CSV
injection, OWASP "CSV Injection"). Here every text cell is written as text: in a workbook as a
string cell with Excel's quote prefix, in CSV behind a leading apostrophe. Numbers, dates and
empty cells stay what they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHEET_TITLE_LIMIT = 31  # Excel's limit on a sheet name
Cell = str | int | float | date | datetime | None


def looks_like_formula(value: str) -> bool:
    return value.startswith(FORMULA_STARTS)


def csv_text(value: Cell) -> str:
    """A cell as CSV text: a formula-looking text behind an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if isinstance(value, str) and looks_like_formula(text) else text


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
        if looks_like_formula(value):
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
