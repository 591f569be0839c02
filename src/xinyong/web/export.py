"""Tables people take away: CSV (UTF-8 with a BOM, so Excel reads the Chinese) and XLSX.

A cell that begins with = + - @, a tab or a carriage return would be read by a spreadsheet as a
formula (CSV injection): in CSV it is written behind an apostrophe, in XLSX as a text cell."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def csv_cell(value: Any) -> str:
    """A cell's CSV text; one a spreadsheet would take for a formula is kept as text."""
    shown = as_text(value)
    return "'" + shown if shown.startswith(FORMULA_START) else shown


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(sheet: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """Every cell a text cell: openpyxl would otherwise store a value beginning with = as a
    formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(list(header))
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws, value=as_text(value))
            cell.data_type = "s"
            cells.append(cell)
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def download(fmt: str, stem: str, sheet: str, header: Sequence[str],
             rows: Iterable[Sequence[Any]]) -> Response:
    """The table as a file to save, named `stem`.csv or `stem`.xlsx (Chinese names kept)."""
    if fmt == "xlsx":
        body, media = xlsx_bytes(sheet, header, rows), XLSX_TYPE
    else:
        body, media, fmt = csv_bytes(header, rows), "text/csv; charset=utf-8", "csv"
    name = f"{stem}.{fmt}"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f"attachment; filename=\"export.{fmt}\"; filename*=UTF-8''{quote(name)}"})
