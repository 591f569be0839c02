"""Public name search: normalisation rules, and search on both engines through the real
ingest path (the index is refreshed after each batch, as the CLI and demo do)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text

from xinyong.core.db import writing
from xinyong.core.errors import InvalidInput
from xinyong.ingest.service import ingest_file
from xinyong.subjects import rules, search
from xinyong.subjects.identity import Identity
from xinyong.subjects.service import SubjectResolver

from ..factories import numbered_uscc, penalty, resident_id, write_csv

DEPT = "厦门市思明区市场监督管理局"


# --- rules -------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "normal"), [
    ("小米科技（北京）有限公司", "小米科技(北京)有限公司"),        # full-width brackets
    ("小米科技【北京】有限公司", "小米科技(北京)有限公司"),        # other brackets
    ("ＡＢＣ　贸易 有限公司", "ABC贸易有限公司"),                 # full-width letters, blanks
    ("abc贸易有限公司", "ABC贸易有限公司"),                       # Latin upper-cased
    ("厦门１号商行", "厦门1号商行"),                              # full-width digits
])
def test_names_are_normalised(raw: str, normal: str) -> None:
    assert search.normalise_name(raw) == normal


def test_search_key_keeps_only_letters_and_digits() -> None:
    assert rules.search_key("小米科技（北京）有限公司") == "小米科技北京有限公司"
    assert rules.search_key("（）·") == ""


def test_tokens_are_characters_start_markers_and_pairs_in_order() -> None:
    assert search.name_tokens("小米（科技）") == [
        "小", "米", "科", "技", rules.START + "小", rules.START + "小米",
        "小米", "米科", "科技"]
    assert search.name_tokens("()") == []


def test_order_key_ranks_organisations_then_shorter_names_then_subject() -> None:
    keys = [rules.order_key(9, 0, 4, False), rules.order_key(1, 0, 5, False),
            rules.order_key(2, 0, 5, False), rules.order_key(2, 1, 5, False),
            rules.order_key(1, 0, 2, True)]
    assert keys == sorted(keys)
    with pytest.raises(ValueError, match="range"):
        rules.order_key(1 << 46, 0, 4, False)


# --- search on a store -------------------------------------------------------------------

def identity(n: int, name: str, kind: str = "organisation") -> Identity:
    code = numbered_uscc(n) if kind != "natural_person" else None
    return Identity(code or f"person-{n}", kind, name, code, "350203", None, None, None, None,
                    None, None, None)


def subjects(conn: Connection, names: Sequence[str | tuple[str, str]]) -> list[int]:
    """Store subjects through the subject service, as ingest does, and refresh the index."""
    people = [identity(n, *([entry] if isinstance(entry, str) else entry))
              for n, entry in enumerate(names, 1)]
    ids = SubjectResolver(conn).resolve([(p, date(2025, 1, 2)) for p in people])
    search.refresh(conn)
    return [ids[p.key] for p in people]


def found(conn: Connection, q: str, **kw: object) -> list[str]:
    return [i.name for i in search.search(conn, q, **kw).items]  # type: ignore[arg-type]


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    with writing(engine) as c:
        yield c


class _Discard(Exception):
    pass


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A write transaction (the subject verbs join the caller's) whose work is then discarded."""
    with contextlib.suppress(_Discard), writing(engine) as c:
        yield c
        raise _Discard


NAMES = ["厦门小米科技有限公司", "小米", "北京小米电子有限公司", "厦门大米粮油商行",
         "小米科技（北京）有限公司", "小米手机有限公司"]


def test_one_character_finds_every_name_with_it(conn: Connection) -> None:
    subjects(conn, NAMES)
    assert found(conn, "米") == ["小米", "厦门大米粮油商行", "小米手机有限公司",
                                 "厦门小米科技有限公司", "北京小米电子有限公司",
                                 "小米科技（北京）有限公司"]
    assert found(conn, "粮") == ["厦门大米粮油商行"]


def test_two_characters_rank_exact_then_starting_then_shorter(conn: Connection) -> None:
    subjects(conn, NAMES)
    assert found(conn, "小米") == ["小米", "小米手机有限公司", "小米科技（北京）有限公司",
                                  "厦门小米科技有限公司", "北京小米电子有限公司"]


def test_longer_queries_match_in_order_only(conn: Connection) -> None:
    subjects(conn, [*NAMES, "科技小米有限公司"])
    assert found(conn, "小米科技") == ["小米科技（北京）有限公司", "厦门小米科技有限公司"]
    assert found(conn, "米科技有限") == ["厦门小米科技有限公司"]
    assert found(conn, "小米科技北京有限") == ["小米科技（北京）有限公司"]
    assert found(conn, "米小") == []


@pytest.mark.parametrize("q", ["ＡＢＣ贸易", "abc贸易", "A B C 贸易", "abc贸易（厦门）", "【厦门】有限"])
def test_width_case_blank_and_bracket_variants_find_each_other(conn: Connection, q: str) -> None:
    subjects(conn, ["ABC贸易(厦门)有限公司", "XYZ贸易有限公司"])
    assert found(conn, q) == ["ABC贸易(厦门)有限公司"]


def test_query_without_letters_or_digits_finds_nothing(conn: Connection) -> None:
    subjects(conn, NAMES)
    assert found(conn, "（）") == []


@pytest.mark.parametrize("q", ["", "   ", "\u3000"])
def test_empty_query_is_refused(conn: Connection, q: str) -> None:
    with pytest.raises(InvalidInput, match="请输入"):
        search.search(conn, q)


@pytest.mark.parametrize("limit", [0, 101])
def test_limit_outside_1_to_100_is_refused(conn: Connection, limit: int) -> None:
    with pytest.raises(InvalidInput, match="每页条数"):
        search.search(conn, "小米", limit=limit)


def test_pages_continue_where_the_last_ended(conn: Connection) -> None:
    subjects(conn, [f"鑫源{i:03d}贸易有限公司" for i in range(150)])
    pages = [search.search(conn, "鑫源", limit=40, offset=o) for o in (0, 40, 80, 120)]
    names = [i.name for p in pages for i in p.items]
    assert names == [f"鑫源{i:03d}贸易有限公司" for i in range(150)]
    assert [p.has_more for p in pages] == [True, True, True, False]


def test_natural_persons_only_when_asked(conn: Connection) -> None:
    subjects(conn, [("王小米", "natural_person"), "小米手机有限公司", ("小米", "natural_person")])
    assert found(conn, "小米") == ["小米手机有限公司"]
    assert found(conn, "小米", include_natural_persons=True) == [
        "小米", "小米手机有限公司", "王小米"]


def test_uscc_finds_its_subject_first(conn: Connection) -> None:
    subjects(conn, NAMES)
    code = numbered_uscc(3)
    result = search.search(conn, code.lower())
    assert [(i.uscc, i.name) for i in result.items] == [(code, "北京小米电子有限公司")]
    assert found(conn, " " + code[:9] + " " + code[9:]) == ["北京小米电子有限公司"]


def test_refresh_after_a_rename_finds_both_names(conn: Connection) -> None:
    [sid] = subjects(conn, ["嘉禾贸易有限公司"])
    assert search.refresh(conn) == 0
    SubjectResolver(conn).resolve([(identity(1, "鹭达科技有限公司"), date(2025, 3, 1))])
    assert search.pending(conn)
    assert search.refresh(conn) == 1
    assert not search.pending(conn)
    [by_old] = search.search(conn, "嘉禾").items
    assert (by_old.name, by_old.matched_name) == ("鹭达科技有限公司", "嘉禾贸易有限公司")
    [by_new] = search.search(conn, "鹭达").items
    assert (by_new.name, by_new.matched_name) == ("鹭达科技有限公司", "鹭达科技有限公司")
    conn.execute(text("DELETE FROM subject_name WHERE subject_id = :id"), {"id": sid})
    conn.execute(text("DELETE FROM subject WHERE id = :id"), {"id": sid})
    assert search.refresh(conn) == 1
    assert found(conn, "鹭达") == found(conn, "嘉禾") == []
    assert conn.execute(text("SELECT COUNT(*) FROM subject_search")).scalar_one() == 0


def test_subjects_of_a_batch_are_queued_then_indexed_with_former_names(
        engine: Engine, tmp_path: Path) -> None:
    first = penalty(**{"行政相对人名称": "厦门市鹭达贸易有限公司"})
    person = penalty(**{"行政相对人类别": "自然人", "行政相对人名称": "鹭达",
                        "行政相对人代码_1(统一社会信用代码)": "", "证件类型": "身份证",
                        "证件号码": resident_id(seq="456"), "行政处罚决定书文号": "厦思罚〔2025〕2号"})
    ingest_file(engine, write_csv(tmp_path / "a.csv", [first, person]), DEPT,
                received=date(2025, 2, 10))
    renamed = penalty(**{"行政相对人名称": "厦门市嘉禾科技有限公司", "处罚决定日期": "2025-03-03",
                         "行政处罚决定书文号": "厦思罚〔2025〕9号"})
    ingest_file(engine, write_csv(tmp_path / "b.csv", [renamed]), DEPT,
                received=date(2025, 3, 5))
    with engine.connect() as conn:
        assert search.pending(conn)  # queued by the batches, indexed by the next refresh
    with writing(engine) as conn:
        assert search.refresh(conn) == 2
    with engine.connect() as conn:
        assert not search.pending(conn)
        [hit] = search.search(conn, "鹭达").items
        assert (hit.uscc, hit.name, hit.matched_name, hit.kind) == (
            numbered_uscc(1), "厦门市嘉禾科技有限公司", "厦门市鹭达贸易有限公司", "organisation")
        assert found(conn, "嘉禾科技") == ["厦门市嘉禾科技有限公司"]
        people = search.search(conn, "鹭达", include_natural_persons=True).items
        assert [(i.name, i.kind) for i in people] == [
            ("鹭达", "natural_person"), ("厦门市嘉禾科技有限公司", "organisation")]


def test_command_lists_matches_and_refuses_an_empty_query(engine: Engine, tmp_path: Path) -> None:
    with writing(engine) as conn:
        subjects(conn, NAMES)
        # a store filled before the index existed: the command indexes it first
        conn.execute(text("INSERT INTO subject_search_queue (subject_id) SELECT id FROM subject"))

    def xinyong(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "xinyong", "subject", "search", *args],
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "COLUMNS": "160"})

    out = json.loads(xinyong("小米科技", "--limit", "1", "--json").stdout)
    assert [i["name"] for i in out["items"]] == ["小米科技（北京）有限公司"]
    assert out["has_more"] is True
    assert "厦门大米粮油商行" in xinyong("大米").stdout
    empty = xinyong(" ")
    assert empty.returncode != 0 and "请输入" in empty.stderr


# Characters of company names, with brackets, blanks and full-width forms in between.
NAME_CHARS = st.sampled_from(list("小米科技厦门鹭达有限公司AbＣ１2（）【】 ·"))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(NAME_CHARS, min_size=1, max_size=12), min_size=1, max_size=6))
def test_every_name_is_found_by_every_part_of_it(engine: Engine, names: list[str]) -> None:
    with rolled_back(engine) as conn:
        ids = subjects(conn, names)
        for sid, name in zip(ids, names, strict=True):
            for size in range(1, 7):
                for start in range(len(name) - size + 1):
                    part = name[start:start + size]
                    if not rules.search_key(part):
                        continue
                    hits = search.search(conn, part, limit=100).items
                    assert sid in {h.subject_id for h in hits}, (name, part)


@pytest.mark.parametrize("window", [1, 3, 7])
def test_the_window_and_the_index_give_the_same_ranked_pages(
        engine: Engine, window: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL reads a window of the index in ranking order, then the GIN index for what
    lies beyond a sparse window: with any window size, every page of every query is the one
    a full read in ranking order gives (on SQLite, which has no window, the same)."""
    rng = random.Random(window)
    chars = "小米科技厦门鹭达有限公司集团"
    names = ["".join(rng.choice(chars) for _ in range(rng.randint(2, 9))) for _ in range(120)]
    names += ["小米", "米", "有限公司", "厦门有限公司"]
    with rolled_back(engine) as conn:
        subjects(conn, names)
        expected = {}
        for q in ("米", "有", "限公", "有限公司", "鹭达", "集团有", "门小米"):
            expected[q] = [i.subject_id for i in search.search(conn, q, limit=100).items]
        monkeypatch.setattr(search, "PG_WINDOW", window)
        for q, ids in expected.items():
            assert [i.subject_id for i in search.search(conn, q, limit=100).items] == ids, q
            paged: list[int] = []
            for offset in range(0, len(ids) + 3, 3):
                paged += [i.subject_id for i in search.search(conn, q, limit=3, offset=offset).items]
            assert paged == ids, q
