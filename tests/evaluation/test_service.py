"""The batch evaluation on both engines against a small store whose every indicator value,
point, score and grade is computed by hand below; natural persons never get a result; an
incremental run gives exactly what a full run gives on the same data; history and audit."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select

from xinyong.core import audit
from xinyong.core.audit import AuditEvent
from xinyong.core.dates import add_months
from xinyong.core.db import writing
from xinyong.core.settings import get_settings
from xinyong.evaluation import rules, service
from xinyong.evaluation.models import EvaluationChange, EvaluationResult
from xinyong.ingest import service as ingest
from xinyong.publicity import service as publicity
from xinyong.subjects.models import Record, Subject

from ..check.test_service import list_row, listed
from ..factories import licence, numbered_uscc, penalty, resident_id, write_csv

TODAY = date.today()
STAFF = audit.Actor("staff1", "staff", "test")
MARKET = "厦门市思明区市场监督管理局"
BUILDING = "厦门市住房和城乡建设局"
SAFETY = "厦门市应急管理局"
_serial = iter(range(1, 10_000))


def org_name(n: int) -> str:
    return f"厦门市思明区第{n}测试建筑工程有限公司" if n == 1 else f"厦门市思明区第{n}测试贸易有限公司"


def fine(engine: Engine, tmp_path: Path, n: int, department: str, decided: date,
         severity: str = "一般") -> None:
    k = next(_serial)
    row = penalty(**{"行政相对人名称": org_name(n), "行政相对人代码_1(统一社会信用代码)": numbered_uscc(n),
                     "行政处罚决定书文号": f"测罚〔2026〕{k}号", "处罚决定日期": decided.isoformat(),
                     "处罚有效期": (decided + timedelta(days=800)).isoformat(), "失信严重程度": severity,
                     "处罚机关": department, "数据来源单位": department})
    ingest.submit(engine, write_csv(tmp_path / f"p{k}.csv", [row]), department, kind="penalty",
                  backfill=True)


def licensed(engine: Engine, tmp_path: Path, n: int, decided: date) -> None:
    k = next(_serial)
    row = licence(**{"行政相对人名称": org_name(n), "行政相对人代码_1(统一社会信用代码)": numbered_uscc(n),
                     "行政许可决定文书号": f"测许〔2026〕{k}号", "许可决定日期": decided.isoformat(),
                     "有效期自": decided.isoformat(),
                     "有效期至": (decided + timedelta(days=9000)).isoformat(),
                     "许可机关": MARKET, "数据来源单位": MARKET})
    ingest.submit(engine, write_csv(tmp_path / f"l{k}.csv", [row]), MARKET, kind="licence", backfill=True)


def store(engine: Engine, tmp_path: Path) -> None:
    """Subject 1 (a construction company):
      penalties: 3 by 市场监管 in the last 12 months (one 严重), 1 by 住建 8 months ago, 1 严重 by
      应急管理 20 months ago, 1 decided 13 months ago (outside 12, inside 36);
      a licence 11 years ago.
      penalties_12m = 4 (-120); serious_penalties_36m = 2 (-300); penalty_departments_12m = 2
      (-50); licences = 1 (+10); record_years = 11 (+20) → 1000 - 470 + 30 = 560 → D.
    Subject 2: one licence 100 days ago: licences 1 (+10), record_years 0 → 1010, kept at 1000 → A.
    Subject 3: one licence 4 years ago and on 失信被执行人 (workflow): -400 + 10 + 10 = 620 → D.
    Subject 5: one licence 400 days ago and on 纳税信用A级纳税人 (data): +50 + 10 → 1000 → A.
    A natural person with a penalty: never evaluated, counted as skipped."""
    for days in (10, 40, 200):
        fine(engine, tmp_path, 1, MARKET, TODAY - timedelta(days=days), "严重" if days == 40 else "一般")
    fine(engine, tmp_path, 1, BUILDING, add_months(TODAY, -8))
    fine(engine, tmp_path, 1, SAFETY, add_months(TODAY, -20), "严重")
    fine(engine, tmp_path, 1, MARKET, add_months(TODAY, -13))
    licensed(engine, tmp_path, 1, add_months(TODAY, -12 * 11 - 1))
    licensed(engine, tmp_path, 2, TODAY - timedelta(days=100))
    licensed(engine, tmp_path, 3, TODAY - timedelta(days=4 * 365 + 5))
    listed(engine, 3)
    licensed(engine, tmp_path, 5, TODAY - timedelta(days=400))
    red = {**list_row(5, TODAY - timedelta(days=30), TODAY + timedelta(days=300)),
           "名单种类": "纳税信用A级纳税人", "认定单位": "国家税务总局厦门市税务局",
           "认定文书号": "厦税A〔2026〕5号",
           "列入依据": "《纳税信用管理办法（试行）》", "主体名称": org_name(5)}
    ingest.ingest_file(engine, write_csv(tmp_path / "red.csv", [red]), "国家税务总局厦门市税务局",
                       kind="list_entry")
    person = penalty(**{"行政相对人名称": "张三", "行政相对人类别": "自然人",
                        "行政相对人代码_1(统一社会信用代码)": "",
                        "证件类型": "身份证", "证件号码": resident_id(seq="456"),
                        "行政处罚决定书文号": "测罚〔2026〕自1号",
                        "处罚决定日期": (TODAY - timedelta(days=5)).isoformat(),
                        "处罚有效期": (TODAY + timedelta(days=400)).isoformat()})
    ingest.submit(engine, write_csv(tmp_path / "person.csv", [person]), MARKET, kind="penalty", backfill=True)


def results(engine: Engine, scorecard: str = "public") -> dict[str, dict[str, Any]]:
    r, s = EvaluationResult.__table__, Subject.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(s.c.uscc, r).join(s, s.c.id == r.c.subject_id)
                            .where(r.c.scorecard == scorecard)).mappings().all()
    return {row["uscc"]: {"score": row["score"], "grade": row["grade"], "industry": row["industry"],
                          "district": row["district"], "indicators": orjson.loads(row["indicators"]),
                          "reasons": orjson.loads(row["reasons"])} for row in rows}


def values(result: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {k: (v["value"], v["points"]) for k, v in result["indicators"].items()}


def test_each_indicator_against_a_hand_computed_store(engine: Engine, tmp_path: Path) -> None:
    store(engine, tmp_path)
    summary = service.evaluate(engine, STAFF)
    assert summary.as_json() == {"scorecard": "public", "version": "2026.2", "evaluated": 4,
                                 "skipped_natural_persons": 1, "grades": {"A": 2, "B": 0, "C": 0, "D": 2}}
    found = results(engine)
    one, two, three, five = (found[numbered_uscc(n)] for n in (1, 2, 3, 5))
    assert values(one) == {"penalties_12m": (4, -120), "serious_penalties_36m": (2, -300),
                           "penalty_departments_12m": (2, -50), "serious_lists": (0, 0),
                           "red_lists": (0, 0), "licences": (1, 10), "record_years": (11, 20)}
    assert (one["score"], one["grade"], one["industry"], one["district"]) == (560, "D", "E", "350203")
    assert one["reasons"][:3] == ["近36个月受到2次严重失信行政处罚（-300分）",
                                  "近12个月受到4次行政处罚（-120分）", "近12个月被2个部门处罚（-50分）"]
    assert values(two)["licences"] == (1, 10) and values(two)["record_years"] == (0, 0)
    assert (two["score"], two["grade"], two["industry"]) == (1000, "A", "F")
    assert values(three)["serious_lists"] == (1, -400) and values(three)["record_years"] == (4, 10)
    assert (three["score"], three["grade"]) == (620, "D")
    assert values(five)["red_lists"] == (1, 50) and (five["score"], five["grade"]) == (1000, "A")
    with engine.connect() as conn:
        got = service.subject_evaluation(conn, _id(conn, 1))
        assert got is not None and got.grade_name == "信用风险高" and len(got.reasons) == 3
        expected = {_id(conn, n): g for n, g in ((1, "D"), (2, "A"), (3, "D"), (5, "A"))}
        assert service.current_grades(conn) == expected
        assert service.current_grades(conn, subject_ids=[_id(conn, 2)]) == {_id(conn, 2): "A"}
        assert [g.code for g in service.grade_scale()] == ["A", "B", "C", "D"]
        events = conn.execute(select(AuditEvent.detail)
                              .where(AuditEvent.action == "evaluation.run")).scalars().all()
        assert len(events) == 1 and orjson.loads(events[0])["evaluated"] == 4


def _id(conn: Any, n: int) -> int:
    return int(conn.execute(select(Subject.id).where(Subject.uscc == numbered_uscc(n))).scalar_one())


def test_natural_persons_never_get_a_result(engine: Engine, tmp_path: Path) -> None:
    store(engine, tmp_path)
    for card in ("public", "construction"):
        service.evaluate(engine, STAFF, scorecard=card)
    with engine.connect() as conn:
        persons = conn.execute(select(Subject.id).where(Subject.kind == "natural_person")).scalars().all()
        assert len(persons) == 1
        held = select(EvaluationResult.subject_id).where(EvaluationResult.subject_id.in_(persons))
        assert conn.execute(held).first() is None
        assert service.subject_evaluation(conn, persons[0]) is None


def test_construction_overlay_evaluates_construction_companies_only(engine: Engine, tmp_path: Path) -> None:
    store(engine, tmp_path)
    summary = service.evaluate(engine, STAFF, scorecard="construction")
    found = results(engine, "construction")
    assert summary.evaluated == 1 and list(found) == [numbered_uscc(1)]
    one = found[numbered_uscc(1)]
    # the public 560, plus 住建 1 penalty in 36 months (-60) and 安全生产 1 (-80) → 420
    assert values(one)["construction_penalties_36m"] == (1, -60)
    assert values(one)["safety_penalties_36m"] == (1, -80)
    assert one["score"] == 420 and one["grade"] == "D"


def test_incremental_equals_full_and_history_keeps_grade_changes(engine: Engine, tmp_path: Path) -> None:
    store(engine, tmp_path)
    first = service.evaluate(engine, STAFF)
    assert first.mode == "full"
    fine(engine, tmp_path, 2, MARKET, TODAY - timedelta(days=3))  # subject 2: A → B (970)
    licensed(engine, tmp_path, 6, TODAY - timedelta(days=50))  # a new subject
    incremental = service.evaluate(engine, STAFF)
    assert incremental.mode == "incremental" and incremental.evaluated == 2
    after_incremental = results(engine)
    full = service.evaluate(engine, STAFF, full=True)
    assert full.mode == "full" and full.evaluated == 5
    assert results(engine) == after_incremental
    assert after_incremental[numbered_uscc(2)]["grade"] == "B"
    with engine.connect() as conn:
        two = service.history(conn, _id(conn, 2))
        assert [(h["grade"], h["previous_grade"]) for h in two] == [("B", "A"), ("A", None)]
        changes = service.changes(conn, "public", incremental.run_id)
        assert sorted((c["grade"], c["previous_grade"]) for c in changes) == [("A", None), ("B", "A")]
        # the full run on unchanged data records no change
        assert service.changes(conn, "public", full.run_id) == []
        assert len(conn.execute(select(EvaluationChange.id)).all()) == 6


def test_distribution_by_industry_and_district(engine: Engine, tmp_path: Path) -> None:
    store(engine, tmp_path)
    service.evaluate(engine, STAFF)
    with engine.connect() as conn:
        found = service.distribution(conn, by="industry")
    assert found["total"] == 4
    assert [(g["grade"], g["count"], g["share"]) for g in found["grades"]] == [
        ("A", 2, 0.5), ("B", 0, 0.0), ("C", 0, 0.0), ("D", 2, 0.5)]
    groups = {g["key"]: (g["name"], g["total"]) for g in found["groups"]}
    assert groups == {"E": ("建筑业", 1), "F": ("批发和零售业", 3)}


def test_an_as_of_in_the_past_is_a_full_run_over_what_was_known_and_history_only_moves_forward(
        engine: Engine, tmp_path: Path) -> None:
    store(engine, tmp_path)
    past = service.evaluate(engine, STAFF, as_of=TODAY - timedelta(days=150))
    assert past.mode == "full"
    found = results(engine)
    # 150 days ago subject 2's licence (decided 100 days ago) was not yet decided; subject 1's
    # 12 months then held the penalties of 200 days, 8 and 13 months ago (not those of 10, 40 days)
    assert values(found[numbered_uscc(2)])["licences"] == (0, 0)
    assert values(found[numbered_uscc(1)])["penalties_12m"] == (3, -120)
    today = service.evaluate(engine, STAFF)
    assert today.mode == "full" and values(results(engine)[numbered_uscc(1)])["penalties_12m"] == (4, -120)
    # a past-dated run after today's would make old grades current and invent grade changes
    with pytest.raises(service.EarlierThanCurrent) as refused:
        service.evaluate(engine, STAFF, as_of=TODAY - timedelta(days=1))
    assert refused.value.code == "as_of_before_current" and TODAY.isoformat() in refused.value.args[0]
    assert values(results(engine)[numbered_uscc(1)])["penalties_12m"] == (4, -120)
    with engine.connect() as conn:
        # each history row compares consecutive results: past → today, never today → past
        assert [h["as_of"] for h in service.history(conn, _id(conn, 1))] == [
            TODAY.isoformat(), (TODAY - timedelta(days=150)).isoformat()]
        assert service.runs(conn)[0]["id"] == today.run_id


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1949, 12, 31), TODAY + timedelta(days=1),
                                 date(9999, 12, 31)])
def test_a_day_out_of_range_or_in_the_future_is_refused(engine: Engine, tmp_path: Path, day: date) -> None:
    licensed(engine, tmp_path, 2, TODAY - timedelta(days=100))
    with pytest.raises(service.BadDate) as refused:
        service.evaluate(engine, STAFF, as_of=day)
    assert refused.value.code == "bad_date"
    with engine.connect() as conn:
        assert service.runs(conn) == [] and service.current_grades(conn) == {}


def test_window_boundaries_at_exactly_twelve_months(engine: Engine, tmp_path: Path) -> None:
    """penalties_12m counts decisions in (as_of − 12 months, as_of]: exactly 12 months before
    is out, one day later in, one day earlier out; the as_of day itself is in."""
    edge = add_months(TODAY, -12)
    for decided in (edge, edge + timedelta(days=1), edge - timedelta(days=1), TODAY):
        fine(engine, tmp_path, 2, MARKET, decided)
    service.evaluate(engine, STAFF)
    assert values(results(engine)[numbered_uscc(2)])["penalties_12m"] == (2, -80)


def test_window_boundaries_one_day_earlier(engine: Engine, tmp_path: Path) -> None:
    """Evaluated as of yesterday, the same decisions fall differently: the edge (now 12 months
    minus a day back) is in, edge − 1 day (exactly 12 months back) out, today's not yet decided."""
    edge = add_months(TODAY, -12)
    day = TODAY - timedelta(days=1)
    assert add_months(day, -12) in (edge - timedelta(days=1), edge)  # month ends clamp
    for decided in (add_months(day, -12), add_months(day, -12) + timedelta(days=1), TODAY):
        fine(engine, tmp_path, 2, MARKET, decided)
    service.evaluate(engine, STAFF, as_of=day)
    assert values(results(engine)[numbered_uscc(2)])["penalties_12m"] == (1, -40)


def test_record_years_counts_licences_only(engine: Engine, tmp_path: Path) -> None:
    fine(engine, tmp_path, 2, MARKET, add_months(TODAY, -12 * 10))  # a 10-year-old penalty
    licensed(engine, tmp_path, 3, add_months(TODAY, -12 * 10))
    fine(engine, tmp_path, 3, MARKET, add_months(TODAY, -12 * 20))
    service.evaluate(engine, STAFF)
    found = results(engine)
    assert values(found[numbered_uscc(2)])["record_years"] == (0, 0)
    assert values(found[numbered_uscc(3)])["record_years"] == (10, 20)
    assert "最早的行政许可在10年前取得（+20分）" in found[numbered_uscc(3)]["reasons"]


@pytest.mark.parametrize("bad", ["nope", "Bad-Name"])
def test_unknown_scorecard_is_refused(engine: Engine, bad: str) -> None:
    with pytest.raises(service.NotFound):
        service.evaluate(engine, STAFF, scorecard=bad)


def test_a_penalty_taken_out_of_publicity_no_longer_counts_and_triggers_an_incremental_run(
        engine: Engine, tmp_path: Path) -> None:
    store(engine, tmp_path)
    service.evaluate(engine, STAFF)
    r = Record.__table__
    with engine.connect() as conn:
        newest = (select(r.c.id).where(r.c.subject_id == _id(conn, 1), r.c.item_code == "penalty")
                  .order_by(r.c.decision_date.desc()).limit(1))
        record_id = conn.execute(newest).scalar_one()
    with writing(engine) as conn:  # e.g. an approved repair (the repair service calls this)
        publicity.stop_publicity(conn, STAFF, record_id, "repaired", TODAY, "repair", "R-1")
    again = service.evaluate(engine, STAFF)
    assert again.mode == "incremental" and again.evaluated == 1
    assert values(results(engine)[numbered_uscc(1)])["penalties_12m"] == (3, -120)


def _local_scorecard(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, override: dict[str, Any]) -> None:
    local = tmp_path / "local"
    (local / "scorecards").mkdir(parents=True, exist_ok=True)
    (local / "scorecards" / "public.yaml").write_text(orjson.dumps(override).decode(), "utf-8")
    monkeypatch.setenv("XINYONG_DATA_DIR", str(local))
    get_settings.cache_clear()
    rules.cached.cache_clear()


def test_an_edited_scorecard_forces_a_full_run_and_a_new_version_is_on_the_change_rows(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store(engine, tmp_path)
    first = service.evaluate(engine, STAFF)
    try:
        # the same version, a different base: not incremental, every result recomputed
        _local_scorecard(monkeypatch, tmp_path, {"base": 900})
        edited = service.evaluate(engine, STAFF)
        assert edited.mode == "full" and edited.evaluated == 4
        assert results(engine)[numbered_uscc(2)]["score"] == 910
        assert service.evaluate(engine, STAFF).mode == "incremental"  # nothing changed since
        _local_scorecard(monkeypatch, tmp_path, {"base": 900, "version": "2027.1"})
        fine(engine, tmp_path, 2, MARKET, TODAY - timedelta(days=3))
        bumped = service.evaluate(engine, STAFF)
        with engine.connect() as conn:
            rows = service.changes(conn, "public", bumped.run_id)
            edited_rows = service.changes(conn, "public", edited.run_id)
    finally:
        rules.cached.cache_clear()
    assert bumped.mode == "full"
    # 2: 910 → 870 under the new version: the row says which versions it compares
    assert [(r["previous_version"], r["version"], r["previous_grade"], r["grade"], r["score"])
            for r in rows] == [("2026.2", "2027.1", "B", "B", 870)]
    # an edit without a new version is read as the same scorecard (the docs ask for a new one)
    assert {(r["previous_version"], r["version"]) for r in edited_rows} == {("2026.2", "2026.2")}
    assert first.mode == "full"


def test_a_publicity_recompute_forces_a_full_run(engine: Engine, tmp_path: Path) -> None:
    store(engine, tmp_path)
    service.evaluate(engine, STAFF)
    assert service.evaluate(engine, STAFF).mode == "incremental"
    # the recompute rewrites publicity tiers (read by serious_penalties_36m) naming no subject
    publicity.recompute(engine, all_records=True, actor=STAFF)
    again = service.evaluate(engine, STAFF)
    assert again.mode == "full" and again.evaluated == 4
    assert service.evaluate(engine, STAFF).mode == "incremental"


def test_a_record_committed_after_a_later_one_is_not_missed_by_incremental_runs(
        engine: Engine, tmp_path: Path) -> None:
    """Ids are handed out at insert, not at commit: a write still in flight may hold a lower
    id than one committed after it. A run must wait for it (PostgreSQL: the watched tables'
    SHARE locks; SQLite: the write lock) rather than take the later id as its watermark and
    never look at the earlier row again."""
    import threading

    from sqlalchemy import Date, bindparam, text

    store(engine, tmp_path)
    assert service.evaluate(engine, STAFF).mode == "full"
    add = text(
        "INSERT INTO record (subject_id, source_key, item_code, department, doc_no, version, status, "
        "decision_date, received_date, on_time, batch_id, row_no, catalog_version_id, payload, "
        "publicity_tier, published, publicity_start, publicity_end, publicity_regime) "
        "SELECT subject_id, source_key + :k, 'penalty', :dept, doc_no || :k, 1, 'current', :day, "
        "received_date, on_time, batch_id, row_no, catalog_version_id, payload, '一般', published, "
        "publicity_start, publicity_end, publicity_regime FROM record "
        "WHERE subject_id = (SELECT id FROM subject WHERE uscc = :code) AND item_code = 'licence'"
    ).bindparams(bindparam("day", type_=Date()))
    day = TODAY - timedelta(days=2)
    late = engine.connect()
    slow = late.begin()  # the in-flight write: subject 2 gets a penalty (A → B), not committed
    late.execute(add, {"k": 7001, "dept": MARKET, "day": day, "code": numbered_uscc(2)})
    done: list[Any] = []
    runner = threading.Thread(target=lambda: done.append(service.evaluate(engine, STAFF)))
    try:
        if engine.dialect.name != "sqlite":  # a later write commits first (one writer on SQLite)
            with writing(engine) as conn:
                conn.execute(add, {"k": 7002, "dept": MARKET, "day": day, "code": numbered_uscc(5)})
        runner.start()
        runner.join(timeout=3)
        assert runner.is_alive(), "the run did not wait for the write in flight"
    finally:
        slow.commit()
        late.close()
    runner.join(timeout=60)
    assert done and done[0].mode == "incremental"
    service.evaluate(engine, STAFF)  # whatever the first run saw, the next must catch up
    got = results(engine)
    assert values(got[numbered_uscc(2)])["penalties_12m"][0] == 1
    assert got[numbered_uscc(2)]["grade"] == "B"
