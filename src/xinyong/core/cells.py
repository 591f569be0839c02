"""Formula-safe cells for every spreadsheet the platform writes (CSV and XLSX).

Exports carry text the platform received from outside (a department's rows, a subject's
name). A spreadsheet program takes a cell beginning with `=`, `+`, `-` or `@` as a formula —
`=HYPERLINK(...)` can send data away when clicked — and a leading tab or carriage return can
hide such a start. So every exported cell goes through here: in CSV such text is prefixed
with an apostrophe (the usual way to make it plain text, visible to the reader); in XLSX it
is stored as a string cell, which no program evaluates. A plain number (`-5`, `+3.2`) is
left as it is: it is not a formula.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


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
