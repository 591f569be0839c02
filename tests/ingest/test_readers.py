"""Reading CSV rows by one cell (`Table.skim`): what a worker needs of the rows other workers
prepare must be exactly what parsing them would give."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from xinyong.core.errors import BadFile
from xinyong.ingest.readers import open_table


def _write(path: Path, rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",",
           terminator: str = "\r\n") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter, lineterminator=terminator).writerows(rows)
    return path


def _parsed(path: Path, column: int) -> list[tuple[int, str]]:
    table = open_table(path)
    try:
        return [(r.row_no, r.cells[column].strip()) for r in table.rows
                if len(r.cells) > column and r.cells[column].strip()]
    finally:
        table.close()


def _skimmed_then_parsed(path: Path, column: int, count: int) -> tuple[list[tuple[int, str]], list[int]]:
    """Skim `count` rows, then parse the rest: the parsed rows must keep their numbers."""
    table = open_table(path)
    try:
        assert table.skim is not None
        result = table.skim(count, column)
        assert result is not None
        return result[1], [r.row_no for r in table.rows]
    finally:
        table.close()


cell = st.text(st.characters(blacklist_characters='"\r\n,\x00', blacklist_categories=("Cs",)),
               max_size=6)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(cell, min_size=0, max_size=5), min_size=1, max_size=12),
       count=st.integers(0, 14), terminator=st.sampled_from(["\r\n", "\n"]))
def test_skimming_a_plain_file_gives_what_parsing_gives(tmp_path_factory: pytest.TempPathFactory,
                                                        rows: list[list[str]], count: int,
                                                        terminator: str) -> None:
    path = _write(tmp_path_factory.mktemp("skim") / "t.csv", [["文号", "名称", "日期"], *rows],
                  terminator=terminator)
    assume(b'"' not in path.read_bytes())  # csv quotes a lone empty cell
    column = 1
    want = _parsed(path, column)
    got, rest = _skimmed_then_parsed(path, column, count)
    passed = min(count, len(rows))
    assert got == [x for x in want if x[0] <= passed + 1]
    assert rest == list(range(passed + 2, len(rows) + 2))


def test_a_gb18030_file_with_another_delimiter_is_skimmed_by_its_own_rules(tmp_path: Path) -> None:
    rows = [["文号", "名称"], ["厦罚〔2025〕1号", " 甲公司 "], ["厦罚〔2025〕2号", ""], [], ["厦罚3"]]
    path = _write(tmp_path / "g.csv", rows, encoding="gb18030", delimiter=";")
    got, rest = _skimmed_then_parsed(path, 0, 4)
    assert got == [(2, "厦罚〔2025〕1号"), (3, "厦罚〔2025〕2号"), (5, "厦罚3")]
    assert rest == []
    assert _skimmed_then_parsed(path, 1, 2) == ([(2, "甲公司")], [4, 5])


def test_a_file_with_quoted_cells_is_not_skimmed(tmp_path: Path) -> None:
    """A quoted cell may hold the delimiter or a line break: lines are not rows there."""
    path = _write(tmp_path / "q.csv", [["文号", "事实"], ["1", "第一行\n第二行"], ["2", "甲,乙"]])
    table = open_table(path)
    try:
        assert table.skim is not None
        assert table.skim(1, 0) is None
        assert [(r.row_no, r.cells) for r in table.rows] == [
            (2, ["1", "第一行\n第二行"]), (3, ["2", "甲,乙"])]
    finally:
        table.close()


def test_a_badly_encoded_line_met_while_skimming_fails_with_its_row_number(tmp_path: Path) -> None:
    # past the sample the encoding is told from, so only reading the line finds it
    good = [[f"厦罚〔2025〕{i}号", "厦门甲有限公司"] for i in range(40_000)]
    path = _write(tmp_path / "b.csv", [["文号", "名称"], *good])
    with path.open("ab") as f:
        f.write("厦门".encode("gb18030") + b",x\r\n")
    table = open_table(path)
    try:
        assert table.skim is not None
        with pytest.raises(BadFile, match="内容不是 utf-8") as raised:
            table.skim(50_000, 0)
        # lines are decoded a block at a time: the row named is the one the block began near
        near = int(str(raised.value).split("第")[1].split("行")[0])
        assert 39_500 < near <= 40_002
    finally:
        table.close()
