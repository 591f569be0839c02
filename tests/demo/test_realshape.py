"""The benchmark's real-shaped penalty file has the cardinalities its docstring promises, and
the platform returns exactly its bad rows (every kind of them) and stores the rest."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from xinyong.core.masking import validate_resident_id
from xinyong.core.uscc import is_valid
from xinyong.demo.realshape import BAD_KINDS, HEADER, write_real_penalty_file
from xinyong.ingest import service as ingest

from ..factories import AUTHORITY_USCC, PENALTY_BODY

ROWS = 6000


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    path = tmp_path_factory.mktemp("realshape") / "penalties.csv"
    stats = write_real_penalty_file(path, ROWS, department=PENALTY_BODY,
                                    department_uscc=AUTHORITY_USCC)
    return path, stats


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        assert next(reader) == HEADER
        return [dict(zip(HEADER, r, strict=True)) for r in reader]


def test_cardinalities_are_what_the_docstring_says(generated: tuple[Path, object]) -> None:
    path, stats = generated
    rows = _rows(path)
    assert len(rows) == ROWS
    # subjects: identified by code (organisations, 个体工商户) or identity number (persons)
    keys = [r["行政相对人代码_1(统一社会信用代码)"] or r["证件号码"] for r in rows]
    first_seen: set[str] = set()
    new = 0
    for k in keys:
        new += k not in first_seen
        first_seen.add(k)
    assert 0.75 <= new / ROWS <= 0.85
    # the skewed tail: some subjects recur many times, most appear once
    counts = Counter(keys)
    assert max(counts.values()) >= 5
    assert sum(1 for c in counts.values() if c == 1) / len(counts) > 0.8
    kinds = Counter(r["行政相对人类别"] for r in rows)
    assert 0.17 <= kinds["自然人"] / ROWS <= 0.23
    assert 0.03 <= kinds["个体工商户"] / ROWS <= 0.09
    # bad rows: about 2 %, every kind present
    assert 0.015 <= stats.bad_rows / ROWS <= 0.025  # type: ignore[attr-defined]
    assert set(stats.bad) == set(BAD_KINDS)  # type: ignore[attr-defined]
    good = [r for r in rows if r["处罚机关"] == PENALTY_BODY]
    # document numbers are unique apart from the duplicate-number bad rows
    doc_dupes = len(rows) - len({r["行政处罚决定书文号"] for r in rows})
    assert doc_dupes == stats.bad["duplicate_doc_no"]  # type: ignore[attr-defined]
    # free texts differ case by case
    assert len({r["违法事实"] for r in good}) / len(good) > 0.97
    assert len({r["处罚内容"] for r in good}) / len(good) > 0.5
    # what the stats say is what the file holds (a bad row's broken code can look new)
    assert abs(stats.new_subject_rows - new) <= stats.bad_rows  # type: ignore[attr-defined]
    # codes are valid where the row is not meant to be bad
    uscc = "行政相对人代码_1(统一社会信用代码)"
    organisations = {r[uscc] for r in rows if r[uscc]}
    assert sum(is_valid(c) for c in organisations) / len(organisations) > 0.99
    persons = {r["证件号码"] for r in rows if r["证件号码"]}
    assert sum(validate_resident_id(p) is None for p in persons) / len(persons) > 0.99


def test_the_platform_returns_exactly_the_bad_rows(engine: Engine,
                                                    generated: tuple[Path, object]) -> None:
    path, stats = generated
    receipt = ingest.ingest_file(engine, path, PENALTY_BODY, kind="penalty",
                                 received=date(2026, 11, 20), register_new=True)
    assert receipt.rows == ROWS
    assert receipt.rejected == stats.bad_rows  # type: ignore[attr-defined]
    assert receipt.accepted == ROWS - stats.bad_rows  # type: ignore[attr-defined]
    with engine.connect() as conn:
        subjects = conn.execute(text("SELECT COUNT(*) FROM subject")).scalar_one()
    # every distinct subject of a stored row became one subject (bad rows may name new ones)
    assert stats.subjects - stats.bad_rows <= subjects <= stats.subjects  # type: ignore[attr-defined]
