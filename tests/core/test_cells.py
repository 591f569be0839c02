"""Spreadsheet downloads keep every text cell text: formula-looking text in XLSX is a string
cell with the quote prefix, in CSV it sits behind an apostrophe; numbers and dates stay typed."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import openpyxl
from hypothesis import given
from hypothesis import strategies as st

from xinyong.core import cells

PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")

# (a leading CR is also refused, but XML reads it back as LF, so it is checked in CSV only)
DANGEROUS = ["=1+1", "+86 592", "-2+3", "@SUM(A1)", "\tx", '=HYPERLINK("http://x","y")']


def test_xlsx_writes_formula_looking_text_as_text() -> None:
    body = cells.to_xlsx([cells.Sheet("名单", ["名称", "数量", "日期"],
                                      [[v, i, date(2026, 1, i + 1)] for i, v in enumerate(DANGEROUS)])])
    sheet = openpyxl.load_workbook(io.BytesIO(body))["名单"]
    rows = list(sheet.iter_rows(min_row=2))
    assert [r[0].value for r in rows] == DANGEROUS
    assert all(r[0].data_type == "s" and r[0].quotePrefix for r in rows)
    assert [r[1].value for r in rows] == list(range(len(DANGEROUS))) and rows[0][1].data_type == "n"
    assert rows[0][2].is_date


def test_csv_puts_an_apostrophe_before_formula_looking_text_only() -> None:
    rows_in: list[list[cells.Cell]] = [["=1+1", 5], ["厦门", None], ["a=b", 1.5], ["\rx", 0]]
    body = cells.to_csv(cells.Sheet("t", ["名称", "n"], rows_in))
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [["名称", "n"], ["'=1+1", "5"], ["厦门", ""], ["a=b", "1.5"], ["'\rx", "0"]]


@given(st.text(max_size=30))
def test_no_csv_cell_starts_like_a_formula(value: str) -> None:
    # a plain signed number ("-0", "+86") is a value, not a formula, and stays as it is
    text = cells.csv_text(value)
    assert not text.startswith(cells.FORMULA_STARTS) or PLAIN_NUMBER.fullmatch(text)


def test_download_names_the_file_in_chinese_with_an_ascii_fallback() -> None:
    body, media, headers = cells.download([cells.Sheet("t", ["a"], [])], "csv", "审计日志-2026")
    assert media.startswith("text/csv") and body.startswith("\ufeff".encode())
    encoded = "%E5%AE%A1%E8%AE%A1%E6%97%A5%E5%BF%97-2026.csv"
    assert headers["Content-Disposition"].endswith(f"filename*=UTF-8''{encoded}")
    assert 'filename="____-2026.csv"' in headers["Content-Disposition"]
