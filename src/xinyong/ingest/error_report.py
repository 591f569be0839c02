"""The error report (退回清单): the rejected rows as the department sent them, in the same
format, with two more columns — 行号 and 错误原因 — so they can be fixed and sent again.
Spreadsheet cells are written formula-safe (`core.cells`): a returned row is the department's
text, and may be anybody's."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any

import orjson

from xinyong.core.cells import safe_row, write_xlsx_row
from xinyong.ingest.readers import SourceRow, Table

ROW_NO = "行号"
REASON = "错误原因"


class ErrorReport:
    """Opened on the first rejected row, so a clean batch leaves no empty report behind."""

    def __init__(self, table: Table, stem: Path) -> None:
        self.table = table
        self.suffix = {"csv": ".csv", "xlsx": ".xlsx", "jsonl": ".jsonl"}[table.format]
        self.path = stem.with_suffix(self.suffix)
        self._file: IO[str] | None = None
        self._csv: Any = None
        self._wb: Any = None
        self._ws: Any = None
        self.rows = 0

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        header = [*self.table.header, ROW_NO, REASON]
        if self.table.format == "xlsx":
            from openpyxl import Workbook

            self._wb = Workbook(write_only=True)
            self._ws = self._wb.create_sheet("退回数据")
            write_xlsx_row(self._ws, header)
            return
        # Excel opens UTF-8 CSV only with a BOM; JSON Lines must not have one; GBK files go back
        # as GB18030 and UTF-16 ones ("Unicode 文本") as UTF-16, like they came.
        encoding = (self.table.encoding if self.table.encoding in ("gb18030", "utf-16")
                    else "utf-8-sig" if self.table.format == "csv" else "utf-8")
        self._file = self.path.open("w", encoding=encoding, newline="")
        if self.table.format == "csv":
            self._csv = csv.writer(self._file, delimiter=self.table.delimiter)
            self._csv.writerow(safe_row(header))

    def add(self, row: SourceRow, reasons: str) -> None:
        if not self.rows:
            self._open()
        self.rows += 1
        if self._ws is not None:
            write_xlsx_row(self._ws, [*row.cells, *[""] * (len(self.table.header) - len(row.cells)),
                                      row.row_no, reasons])
        elif self._csv is not None:
            self._csv.writerow(safe_row([*row.cells,
                                         *[""] * (len(self.table.header) - len(row.cells)),
                                         row.row_no, reasons]))
        else:
            assert self._file is not None
            obj = dict(row.raw) if isinstance(row.raw, dict) else {"原始内容": row.raw}
            obj[ROW_NO] = row.row_no
            obj[REASON] = reasons
            self._file.write(orjson.dumps(obj).decode() + "\n")

    @property
    def written(self) -> bool:
        return self.rows > 0

    def close(self) -> None:
        if self._wb is not None:
            self._wb.save(self.path)
            self._wb = None
        if self._file is not None:
            self._file.close()
            self._file = None
