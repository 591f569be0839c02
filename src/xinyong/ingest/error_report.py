"""The error report (退回清单): the rejected rows as the department sent them, in the same
format, with two more columns — 行号 and 错误原因 — so they can be fixed and sent again."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any

import orjson

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
            self._ws.append(header)
            return
        # Excel opens UTF-8 CSV only with a BOM; JSON Lines must not have one; GBK files go back
        # as GB18030 like they came.
        encoding = ("gb18030" if self.table.encoding == "gb18030"
                    else "utf-8-sig" if self.table.format == "csv" else "utf-8")
        self._file = self.path.open("w", encoding=encoding, newline="")
        if self.table.format == "csv":
            self._csv = csv.writer(self._file, delimiter=self.table.delimiter)
            self._csv.writerow(header)

    def add(self, row: SourceRow, reasons: str) -> None:
        if not self.rows:
            self._open()
        self.rows += 1
        if self._ws is not None:
            self._ws.append([*row.cells, *[""] * (len(self.table.header) - len(row.cells)),
                             row.row_no, reasons])
        elif self._csv is not None:
            self._csv.writerow([*row.cells, *[""] * (len(self.table.header) - len(row.cells)),
                                row.row_no, reasons])
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
