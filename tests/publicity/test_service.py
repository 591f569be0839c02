"""Windows as ingest stores them, on both engines: what each record gets, the portal's
"in publicity on day D" condition, corrections, recomputing old records, and the CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from xinyong.core.db import writing
from xinyong.core.errors import NotFound, RuleDataError
from xinyong.core.settings import get_settings
from xinyong.ingest import service as ingest
from xinyong.publicity import service
from xinyong.subjects.models import Record

from ..factories import licence, numbered_uscc, penalty, resident_id, write_csv
from ..test_cli import xinyong

DEPT = "厦门市思明区市场监督管理局"
RECEIVED = date(2025, 2, 10)


def rows() -> list[dict[str, str]]:
    """One penalty per tier rule, decided on days that make the boundaries easy to read."""
    person = {"行政相对人类别": "自然人", "行政相对人代码_1(统一社会信用代码)": "",
              "证件类型": "身份证", "证件号码": resident_id(), "法定代表人": "",
              "法定代表人证件类型": "", "法定代表人证件号码": ""}
    return [
        penalty(**{"行政处罚决定书文号": "罚1", "处罚类别": "警告", "罚款金额（万元）": "",
                   "处罚决定日期": "2024-10-11"}),
        penalty(**{"行政处罚决定书文号": "罚2", "处罚类别": "罚款", "罚款金额（万元）": "20",
                   "处罚决定日期": "2024-10-11"}),
        penalty(**{"行政处罚决定书文号": "罚3", "处罚类别": "罚款;吊销许可证件",
                   "罚款金额（万元）": "5", "处罚决定日期": "2024-02-29"}),
        penalty(**{"行政处罚决定书文号": "罚4", "处罚类别": "罚款", "罚款金额（万元）": "",
                   "处罚决定日期": "2024-01-31"}),
        penalty(**{"行政处罚决定书文号": "罚5", "处罚类别": "罚款", "罚款金额（万元）": "2",
                   "行政相对人名称": "厦门市思明区某某小吃店", "行政相对人类别": "个体工商户",
                   "行政相对人代码_1(统一社会信用代码)": numbered_uscc(5, "92350203"),
                   "处罚决定日期": "2025-01-24"}),
        penalty(**{"行政处罚决定书文号": "罚6", "处罚类别": "警告", "失信严重程度": "严重",
                   "罚款金额（万元）": "", "处罚决定日期": "2025-01-24"}),
        penalty(**{"行政处罚决定书文号": "罚7", "处罚类别": "罚款", "罚款金额（万元）": "5",
                   "行政相对人名称": "张三", "处罚决定日期": "2025-01-24", **person}),
    ]


EXPECTED = {  # doc_no: (tier, published, start, earliest_repair, end)
    "罚1": ("轻微", False, None, None, None),
    "罚2": ("一般", True, date(2024, 10, 11), date(2025, 1, 11), date(2025, 10, 11)),
    "罚3": ("严重", True, date(2024, 2, 29), date(2025, 2, 28), date(2027, 2, 28)),
    "罚4": ("一般", True, date(2024, 1, 31), date(2024, 4, 30), date(2025, 1, 31)),
    # a 个体工商户 takes the natural person's 1万 threshold
    "罚5": ("一般", True, date(2025, 1, 24), date(2025, 4, 24), date(2026, 1, 24)),
    "罚6": ("严重", True, date(2025, 1, 24), date(2026, 1, 24), date(2028, 1, 24)),
    "罚7": ("一般", False, None, None, None),  # a natural person: not published by default
}


def ingest_rows(engine: Engine, path: Path, data: list[dict[str, str]],
                received: date = RECEIVED) -> ingest.Receipt:
    return ingest.ingest_file(engine, write_csv(path, data), DEPT, received=received)


def stored(engine: Engine) -> dict[str, Any]:
    t = Record.__table__
    with engine.connect() as conn:
        found = conn.execute(select(
            t.c.doc_no, t.c.publicity_tier, t.c.published, t.c.publicity_start,
            t.c.publicity_repair_from, t.c.publicity_end, t.c.publicity_regime)
            .where(t.c.status == "current")).all()
    return {r[0]: (r[1], bool(r[2]), r[3], r[4], r[5], r[6]) for r in found}


def shown_on(engine: Engine, day: date) -> set[str]:
    t = Record.__table__
    with engine.connect() as conn:
        return set(conn.execute(select(t.c.doc_no).where(
            t.c.status == "current", service.in_publicity(t, day))).scalars())


def test_ingest_stores_each_record_with_its_window(engine: Engine, tmp_path: Path) -> None:
    receipt = ingest_rows(engine, tmp_path / "p.csv", rows())
    assert receipt.accepted == len(EXPECTED), receipt.rejection_reasons
    got = stored(engine)
    assert {doc: v[:5] for doc, v in got.items()} == EXPECTED
    assert {v[5] for v in got.values()} == {"2025"}


def test_windows_computed_in_worker_processes_are_the_same(engine: Engine, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_INGEST_PARALLEL_BYTES", "0")  # always prepare in workers
    monkeypatch.setenv("XINYONG_INGEST_CHUNK_ROWS", "2")
    get_settings.cache_clear()
    ingest_rows(engine, tmp_path / "p.csv", rows())
    assert {doc: v[:5] for doc, v in stored(engine).items()} == EXPECTED


@pytest.mark.parametrize(("day", "docs"), [
    (date(2024, 1, 30), set()),
    (date(2024, 1, 31), {"罚4"}),
    (date(2024, 10, 11), {"罚2", "罚3", "罚4"}),
    (date(2025, 1, 23), {"罚2", "罚3", "罚4"}),
    (date(2025, 1, 24), {"罚2", "罚3", "罚4", "罚5", "罚6"}),
    (date(2025, 1, 31), {"罚2", "罚3", "罚5", "罚6"}),  # 罚4's year is over
    (date(2025, 10, 10), {"罚2", "罚3", "罚5", "罚6"}),
    (date(2025, 10, 11), {"罚3", "罚5", "罚6"}),
    (date(2026, 1, 24), {"罚3", "罚6"}),
    (date(2027, 2, 27), {"罚3", "罚6"}),
    (date(2027, 2, 28), {"罚6"}),
    (date(2028, 1, 24), set()),
])
def test_in_publicity_condition_on_chosen_days(engine: Engine, tmp_path: Path, day: date,
                                               docs: set[str]) -> None:
    ingest_rows(engine, tmp_path / "p.csv", rows())
    assert shown_on(engine, day) == docs


def test_listing_of_what_is_in_publicity(engine: Engine, tmp_path: Path) -> None:
    ingest_rows(engine, tmp_path / "p.csv", rows())
    with engine.connect() as conn:
        listed = service.listing(conn, date(2025, 2, 1))
        assert [r["doc_no"] for r in listed] == ["罚6", "罚5", "罚2", "罚3"]  # newest first
        assert listed[0]["tier"] == "严重" and listed[0]["end"] == "2028-01-24"
        assert listed[0]["subject"]["uscc"] == numbered_uscc(1)
        assert listed[0]["kind_name"] == "行政处罚信息"
        assert [r["doc_no"] for r in service.listing(
            conn, date(2025, 2, 1), since=date(2024, 3, 1), until=date(2024, 12, 31))] == ["罚2"]
        assert service.listing(conn, date(2025, 2, 1), department="别的部门") == []
        assert [r["doc_no"] for r in service.listing(conn, date(2025, 2, 1), limit=2,
                                                     offset=1)] == ["罚5", "罚2"]
        assert service.listing(conn, date(2025, 2, 1), kind="licence") == []
        assert service.departments(conn) == [DEPT]


def test_licences_are_shown_until_their_validity_ends(engine: Engine, tmp_path: Path) -> None:
    ingest_rows(engine, tmp_path / "l.csv", [licence(**{"许可机关": DEPT, "数据来源单位": DEPT})],
                received=date(2025, 3, 10))
    got = stored(engine)["厦湖市监许〔2025〕8号"]
    assert got == (None, True, date(2025, 3, 3), None, date(2030, 3, 3), "2025")
    assert shown_on(engine, date(2030, 3, 2)) == {"厦湖市监许〔2025〕8号"}
    assert shown_on(engine, date(2030, 3, 3)) == set()


def test_a_correction_gets_its_window_recomputed(engine: Engine, tmp_path: Path) -> None:
    first = penalty(**{"行政处罚决定书文号": "罚9", "处罚类别": "罚款", "罚款金额（万元）": "20",
                       "处罚决定日期": "2024-10-11"})
    ingest_rows(engine, tmp_path / "a.csv", [first])
    corrected = dict(first, **{"处罚类别": "罚款;责令停产停业"})
    receipt = ingest_rows(engine, tmp_path / "b.csv", [corrected], received=date(2025, 2, 11))
    assert receipt.corrected == 1
    assert stored(engine)["罚9"][:5] == (
        "严重", True, date(2024, 10, 11), date(2025, 10, 11), date(2027, 10, 11))
    t = Record.__table__
    with engine.connect() as conn:
        old = conn.execute(select(t.c.publicity_tier, t.c.publicity_end)
                           .where(t.c.status == "superseded")).one()
    assert tuple(old) == ("一般", date(2025, 10, 11))  # the old version keeps its own window
    assert shown_on(engine, date(2026, 1, 1)) == {"罚9"}


def test_recompute_gives_old_records_their_windows_and_is_audited(engine: Engine,
                                                                  tmp_path: Path) -> None:
    ingest_rows(engine, tmp_path / "p.csv", rows())
    expected = stored(engine)
    with writing(engine) as conn:  # as stored before migration 0004
        conn.execute(text("UPDATE record SET publicity_tier = NULL, published = :f, "
                          "publicity_start = NULL, publicity_repair_from = NULL, "
                          "publicity_end = NULL, publicity_regime = NULL"), {"f": False})
    assert shown_on(engine, date(2025, 2, 1)) == set()
    seen: list[tuple[int, int]] = []
    counts = service.recompute(engine, chunk_rows=3, progress=lambda d, t: seen.append((d, t)))
    assert stored(engine) == expected
    assert counts["records"] == 7 and counts["published"] == 5
    assert counts["tiers"] == {"一般": 4, "严重": 2, "轻微": 1}
    assert seen == [(3, 7), (6, 7), (7, 7)]
    assert service.recompute(engine)["records"] == 0  # nothing left without a window
    assert service.recompute(engine, all_records=True)["records"] == 7
    with engine.connect() as conn:
        events = conn.execute(text("SELECT detail FROM audit_event "
                                   "WHERE action = 'publicity.recompute' ORDER BY id")).scalars()
        details = [json.loads(d) for d in events]
    assert [d["records"] for d in details] == [7, 0, 7]
    assert details[2]["all"] is True


def test_window_of_a_record_and_of_an_unknown_one(engine: Engine, tmp_path: Path) -> None:
    ingest_rows(engine, tmp_path / "p.csv", rows())
    t = Record.__table__
    with engine.connect() as conn:
        rid = conn.execute(select(t.c.id).where(t.c.doc_no == "罚3")).scalar_one()
    w = service.window(engine, rid)
    assert (w["tier"], w["published"], w["start"], w["earliest_repair"], w["end"]) == (
        "严重", True, "2024-02-29", "2025-02-28", "2027-02-28")
    assert w["stored"] and "吊销许可证件" in w["reason"]
    with pytest.raises(NotFound, match="没有编号为 999999 的信用记录"):
        service.window(engine, 999999)


def test_locality_override_applies_at_ingest(engine: Engine, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "publicity.yaml").write_text(
        'regime: "2025-厦门"\ntiers:\n  一般: {minimum_months: 6}\n', "utf-8")
    monkeypatch.setenv("XINYONG_DATA_DIR", str(data))
    get_settings.cache_clear()
    ingest_rows(engine, tmp_path / "p.csv", rows()[1:2])
    assert stored(engine)["罚2"] == ("一般", True, date(2024, 10, 11), date(2025, 4, 11),
                                    date(2025, 10, 11), "2025-厦门")


def test_invalid_override_stops_ingest_with_a_clear_error(engine: Engine, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "publicity.yaml").write_text("rules:\n  penalty_tiers:\n    categories: {罚金: 严重}\n",
                                         "utf-8")
    monkeypatch.setenv("XINYONG_DATA_DIR", str(data))
    get_settings.cache_clear()
    with pytest.raises(RuleDataError, match="罚金"):
        ingest_rows(engine, tmp_path / "p.csv", rows()[1:2])


# --- the command line ---------------------------------------------------------------------

def test_cli_window_json_table_and_unknown_record(engine: Engine, tmp_path: Path) -> None:
    ingest_rows(engine, tmp_path / "p.csv", rows(), received=date(2025, 3, 10))
    ingest_rows(engine, tmp_path / "l.csv", [licence(**{"许可机关": DEPT, "数据来源单位": DEPT})],
                received=date(2025, 3, 10))
    t = Record.__table__
    with engine.connect() as conn:
        ids = dict(conn.execute(select(t.c.doc_no, t.c.id)).all())
    r = xinyong("publicity", "window", "--record", str(ids["罚2"]), "--json", check=True)
    assert json.loads(r.stdout) == {"record": ids["罚2"], "tier": "一般", "published": True,
                                    "start": "2024-10-11", "earliest_repair": "2025-01-11",
                                    "end": "2025-10-11"}
    minor = json.loads(xinyong("publicity", "window", "--record", str(ids["罚1"]), "--json",
                               check=True).stdout)
    assert minor == {"record": ids["罚1"], "tier": "轻微", "published": False, "start": None,
                     "earliest_repair": None, "end": None}
    lic = json.loads(xinyong("publicity", "window", "--record",
                             str(ids["厦湖市监许〔2025〕8号"]), "--json", check=True).stdout)
    assert lic["tier"] is None and lic["end"] == "2030-03-03"
    human = xinyong("publicity", "window", "--record", str(ids["罚3"]), check=True).stdout
    for text_ in ("严重", "2025-02-28", "吊销许可证件", "认定理由"):
        assert text_ in human
    missing = xinyong("publicity", "window", "--record", "999999")
    assert missing.returncode == 2
    assert "没有编号为 999999 的信用记录" in missing.stderr and "Traceback" not in missing.stderr


def test_cli_recompute(engine: Engine, tmp_path: Path) -> None:
    ingest_rows(engine, tmp_path / "p.csv", rows())
    with writing(engine) as conn:
        conn.execute(text("UPDATE record SET publicity_regime = NULL WHERE doc_no = '罚2'"))
    r = xinyong("publicity", "recompute", "--json", check=True)
    assert json.loads(r.stdout)["records"] == 1
    r = xinyong("publicity", "recompute", "--all", check=True)
    assert "已按规则 2025 计算 7 条记录的公示期" in r.stdout
