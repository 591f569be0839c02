"""The warning scan and its handling on both engines, over small stores built by ingest: each
default rule at its threshold, the window's edges, idempotence and re-raising after a close only
on new facts, recipients, department scoping, closing with an action, audit events."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, insert, select, update

from xinyong.accounts.rules import Forbidden, Principal, role_table
from xinyong.core.audit import SYSTEM, AuditEvent
from xinyong.core.db import writing
from xinyong.core.errors import InvalidInput
from xinyong.core.settings import get_settings
from xinyong.evaluation import rules as scorecards
from xinyong.evaluation import service as evaluation
from xinyong.evaluation.models import EvaluationChange, EvaluationRun
from xinyong.ingest import service as ingest
from xinyong.lists import service as lists
from xinyong.subjects.models import Subject
from xinyong.warnings import service
from xinyong.warnings.models import RiskWarning

from ..factories import licence, numbered_uscc, penalty, resident_id, write_csv
from ..lists.test_service import list_row

AS_OF = date(2026, 3, 1)
WINDOW_START = date(2025, 3, 1)  # 12 months before AS_OF: not in the window; the day after is
MARKET = "厦门市思明区市场监督管理局"
TAX = "国家税务总局厦门市思明区税务局"
FIRE = "厦门市思明区消防救援大队"
COURT = "厦门市思明区人民法院"


def penalties(engine: Engine, tmp: Path, n: int, count: int, *, department: str = MARKET,
              first: date = date(2025, 6, 1), tag: str = "", **over: str) -> None:
    """`count` penalties against subject `n` by `department`, one a day from `first`."""
    rows = []
    for i in range(count):
        day = (first + timedelta(days=i)).isoformat()
        rows.append(penalty(**{"行政相对人代码_1(统一社会信用代码)": numbered_uscc(n),
                               "行政相对人名称": f"厦门市思明区第{n}测试贸易有限公司",
                               "行政处罚决定书文号": f"罚{tag}{n}-{department[-6:]}-{first}-{i}",
                               "处罚决定日期": day, "处罚有效期": "2027-12-31",
                               "处罚机关": department, "数据来源单位": department, **over}))
    receipt = ingest.ingest_file(engine, write_csv(tmp / f"p{n}{tag}{len(list(tmp.iterdir()))}.csv", rows),
                                 department, received=first + timedelta(days=count), backfill=True)
    assert receipt.rejected == 0, receipt.rejection_reasons


def account_of(name: str) -> Principal:
    """A department's account: it reads and closes the warnings addressed to its department."""
    role = role_table().role("reporter")
    return Principal(f"staff of {name}", role.code, name, role.permissions)


def scan(engine: Engine, *only: str, on: date = AS_OF) -> dict[str, Any]:
    with writing(engine) as conn:
        return service.scan(conn, SYSTEM, on, only=list(only) or None)


def raised(engine: Engine, rule: str) -> dict[str, list[dict[str, Any]]]:
    """The warnings of a rule by subject USCC."""
    with writing(engine) as conn:
        found: dict[str, list[dict[str, Any]]] = {}
        for w in service.warnings(conn, SYSTEM, None, rule=rule, limit=100):
            found.setdefault(w["subject"]["uscc"], []).append(service.warning(conn, SYSTEM, None, w["id"]))
        return found


def events(engine: Engine, action: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(AuditEvent.action == action)).scalar_one())


def test_sixty_penalties_in_a_year_warn_fifty_nine_do_not(engine: Engine, tmp_path: Path) -> None:
    # subject 1: 60 penalties, the first on the window's first day; subject 2: 59 in the window
    # and one on the day before it, which is 12 months before the scan and does not count
    penalties(engine, tmp_path, 1, 60, first=WINDOW_START + timedelta(days=1))
    penalties(engine, tmp_path, 2, 59)
    penalties(engine, tmp_path, 2, 1, first=WINDOW_START, tag="old")
    result = scan(engine, "penalties_many")
    assert result["raised"] == 1
    found = raised(engine, "penalties_many")
    assert list(found) == [numbered_uscc(1)]
    [w] = found[numbered_uscc(1)]
    assert w["value"] == 60 and w["status"] == "open" and w["severity"] == "high"
    assert w["facts"]["penalties"] == 60 and len(w["facts"]["record_ids"]) == 60
    assert w["facts"]["window"] == {"from": "2025-03-02", "to": "2026-03-01"}
    assert w["recipients"] == [MARKET]
    assert "受到60次行政处罚" in w["summary"]
    # on the day after, the first penalty has left the window: 59, and no new warning anyway
    assert scan(engine, "penalties_many", on=AS_OF + timedelta(days=1))["raised"] == 0


def test_three_departments_warn_two_do_not_and_each_receives_it(engine: Engine, tmp_path: Path) -> None:
    for department in (MARKET, TAX, FIRE):
        penalties(engine, tmp_path, 3, 1, department=department)
    for department in (MARKET, TAX):
        penalties(engine, tmp_path, 4, 2, department=department)
    penalties(engine, tmp_path, 4, 1, department=FIRE, first=WINDOW_START)  # outside the window
    assert scan(engine, "penalties_departments")["raised"] == 1
    [w] = raised(engine, "penalties_departments")[numbered_uscc(3)]
    assert sorted(w["recipients"]) == sorted([MARKET, TAX, FIRE])
    assert w["value"] == 3 and len(w["facts"]["departments"]) == 3
    with writing(engine) as conn:
        assert [x["id"] for x in service.warnings(conn, SYSTEM, account_of(TAX))] == [w["id"]]
        assert service.warnings(conn, SYSTEM, account_of("厦门市湖里区市场监督管理局")) == []
    with writing(engine) as conn, pytest.raises(Forbidden):
        service.warning(conn, SYSTEM, account_of("厦门市湖里区市场监督管理局"), w["id"])
    with writing(engine) as conn, pytest.raises(Forbidden):
        service.warnings(conn, SYSTEM, account_of(TAX), department=MARKET)


def _workflow_entry(engine: Engine, n: int, doc_no: str) -> None:
    kind = lists.usable_kind("court_judgment_defaulter")
    with writing(engine) as conn:
        pid = lists.propose(conn, SYSTEM, kind, numbered_uscc(n), "拒不履行生效判决", "法释〔2017〕7号第一条",
                            date(2025, 5, 6))
        lists.decide(conn, SYSTEM, pid, date(2025, 5, 6), doc_no)


def test_two_serious_lists_warn_one_does_not(engine: Engine, tmp_path: Path) -> None:
    # subject 5: a court entry decided by the workflow and a tax entry arriving as data;
    # subject 6: two entries on the same list, and a red list, which is no serious list
    rows = [list_row(**{"统一社会信用代码": numbered_uscc(5), "名单种类": "重大税收违法失信主体",
                        "认定单位": TAX, "认定文书号": "厦税稽〔2025〕5号", "列入日期": "2025-04-01",
                        "移出日期": ""}),
            list_row(**{"统一社会信用代码": numbered_uscc(6), "认定文书号": "(2025)闽0203执61号"}),
            list_row(**{"统一社会信用代码": numbered_uscc(6), "认定文书号": "(2025)闽0203执62号"})]
    ingest.ingest_file(engine, write_csv(tmp_path / "名单.csv", rows), TAX, kind="list_entry",
                       received=date(2025, 4, 2), backfill=True)
    red = [list_row(**{"统一社会信用代码": numbered_uscc(6), "名单种类": "纳税信用A级纳税人",
                       "认定文书号": "A级2025", "列入依据": "《纳税信用管理办法》"})]
    ingest.ingest_file(engine, write_csv(tmp_path / "红名单.csv", red), TAX, kind="list_entry",
                       received=date(2025, 4, 2), backfill=True)
    _workflow_entry(engine, 5, "(2025)闽0203执5号")
    assert scan(engine, "serious_lists")["raised"] == 1
    [w] = raised(engine, "serious_lists")[numbered_uscc(5)]
    assert {x["kind"] for x in w["facts"]["lists"]} == {"court_judgment_defaulter", "tax_major_violation"}
    assert {e["ref"][0] for e in w["facts"]["entries"]} == {"L", "R"}
    # the tax entry's department, and the court entry's deciding authority (no record behind it)
    assert TAX in w["recipients"] and len(w["recipients"]) == 2
    # once the court entry has ended (2 years), one list is left: no warning on a later scan
    with writing(engine) as conn:
        service.close(conn, SYSTEM, None, w["id"], "约谈", "已约谈法定代表人")
    assert scan(engine, "serious_lists", on=date(2027, 6, 1))["raised"] == 0


def test_scan_is_idempotent_and_warns_again_after_a_close_only_on_new_facts(engine: Engine,
                                                                           tmp_path: Path) -> None:
    penalties(engine, tmp_path, 1, 60)
    assert scan(engine)["raised"] == 1
    assert scan(engine)["raised"] == 0  # still open: no second warning
    [w] = raised(engine, "penalties_many")[numbered_uscc(1)]
    with writing(engine) as conn:
        service.close(conn, SYSTEM, None, w["id"], "rectification", "责令整改，已提交整改报告",
                      department=MARKET)
    assert scan(engine)["raised"] == 0  # the same 60 penalties: nothing new
    penalties(engine, tmp_path, 1, 1, first=date(2026, 2, 1), tag="new")
    assert scan(engine)["raised"] == 1  # a new penalty after the close
    found = raised(engine, "penalties_many")[numbered_uscc(1)]
    assert [x["status"] for x in found] == ["open", "closed"]
    assert found[0]["facts"]["penalties"] == 61
    assert found[1]["closed"]["action_name"] == "整改" and found[1]["closed"]["department"] == MARKET
    assert events(engine, "warning.raised") == 2 and events(engine, "warning.closed") == 1


@pytest.mark.parametrize(("action", "note", "code"), [
    (None, "已约谈", "action_required"),
    ("", "已约谈", "action_required"),
    ("罚款", "已约谈", "unknown_action"),
    ("约谈", "", "note_required"),
    ("interview", "   ", "note_required"),
])
def test_closing_needs_an_action_and_a_note_and_changes_nothing_otherwise(
        engine: Engine, tmp_path: Path, action: str | None, note: str, code: str) -> None:
    for department in (MARKET, TAX, FIRE):
        penalties(engine, tmp_path, 3, 1, department=department)
    [warning_id] = scan(engine)["warnings"]
    with writing(engine) as conn, pytest.raises(InvalidInput) as caught:
        service.close(conn, SYSTEM, account_of(MARKET), warning_id, action, note)
    assert caught.value.code == code
    with writing(engine) as conn:
        assert service.warning(conn, SYSTEM, None, warning_id)["status"] == "open"
    assert events(engine, "warning.closed") == 0


def test_only_addressed_departments_close_and_a_closed_warning_stays_closed(engine: Engine,
                                                                            tmp_path: Path) -> None:
    for department in (MARKET, TAX, FIRE):
        penalties(engine, tmp_path, 3, 1, department=department)
    [warning_id] = scan(engine)["warnings"]
    with writing(engine) as conn, pytest.raises(Forbidden):
        service.close(conn, SYSTEM, account_of(COURT), warning_id, "约谈", "已约谈")
    with writing(engine) as conn:
        view = service.close(conn, SYSTEM, account_of(FIRE), warning_id, "约谈", "已约谈法定代表人", AS_OF)
    assert view["closed"] == {**view["closed"], "action": "interview", "department": FIRE,
                              "on": "2026-03-01", "note": "已约谈法定代表人"}
    with writing(engine) as conn, pytest.raises(InvalidInput, match="已处置") as caught:
        service.close(conn, SYSTEM, account_of(FIRE), warning_id, "整改", "再次")
    assert caught.value.code == "warning_closed"
    with engine.connect() as conn:
        row = conn.execute(select(RiskWarning.open_subject_id, RiskWarning.close_action)
                           .where(RiskWarning.id == warning_id)).one()
    assert tuple(row) == (None, "interview")


def test_natural_persons_are_left_out_unless_a_locality_turns_a_count_rule_on(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "data"
    local.mkdir()
    (local / "warnings.yaml").write_text("rules:\n  penalties_many: {threshold: 2}\n", "utf-8")
    monkeypatch.setenv("XINYONG_DATA_DIR", str(local))
    get_settings.cache_clear()
    person = {"行政相对人名称": "张三", "行政相对人类别": "自然人", "行政相对人代码_1(统一社会信用代码)": "",
              "证件类型": "身份证", "证件号码": resident_id(), "法定代表人": "", "法定代表人证件类型": "",
              "法定代表人证件号码": ""}
    penalties(engine, tmp_path, 7, 2, **person)
    penalties(engine, tmp_path, 8, 2)
    assert list(raised(engine, "penalties_many")) == []
    scan(engine, "penalties_many")
    assert list(raised(engine, "penalties_many")) == [numbered_uscc(8)]
    (local / "warnings.yaml").write_text(
        "rules:\n  penalties_many: {threshold: 2, natural_persons: true}\n", "utf-8")
    scan(engine, "penalties_many")
    with writing(engine) as conn:
        views = service.warnings(conn, SYSTEM, None, rule="penalties_many")
    [p] = [v for v in views if v["subject"]["kind"] == "natural_person"]
    assert p["subject"]["uscc"] is None and p["subject"]["name"] != "张三"
    get_settings.cache_clear()


def test_a_grade_drop_of_two_levels_warns_one_level_does_not(engine: Engine, tmp_path: Path) -> None:
    # both start at A (a licence, no penalties); then subject 1 gets 3 penalties (A → B) and
    # subject 2 gets 5 (A → C) between two runs of the public scorecard
    _licensed(engine, tmp_path, 1, 2)
    evaluation.evaluate(engine, SYSTEM, as_of=AS_OF)
    penalties(engine, tmp_path, 1, 3)
    penalties(engine, tmp_path, 2, 4)
    penalties(engine, tmp_path, 2, 1, department=TAX)
    evaluation.evaluate(engine, SYSTEM, as_of=AS_OF)
    with engine.connect() as conn:
        drops = {row.subject_id: (row.previous_grade, row.grade) for row in conn.execute(
            select(EvaluationChange).where(EvaluationChange.previous_grade.is_not(None)))}
    assert sorted(drops.values()) == [("A", "B"), ("A", "C")]
    assert scan(engine, "grade_drop")["raised"] == 1
    [w] = raised(engine, "grade_drop")[numbered_uscc(2)]
    assert w["value"] == 2 and w["facts"]["previous_grade"] == "A" and w["facts"]["grade"] == "C"
    assert sorted(w["recipients"]) == sorted([MARKET, TAX])
    assert "由A降为C" in w["summary"]
    assert scan(engine, "grade_drop")["raised"] == 0


def _licensed(engine: Engine, tmp_path: Path, *numbers: int) -> None:
    rows = [licence(**{"行政相对人代码_1(统一社会信用代码)": numbered_uscc(n), "行政许可决定文书号": f"许{n}",
                       "行政相对人名称": f"厦门市思明区第{n}测试贸易有限公司",
                       "许可机关": MARKET, "数据来源单位": MARKET}) for n in numbers]
    ingest.ingest_file(engine, write_csv(tmp_path / "l.csv", rows), MARKET, kind="licence",
                       received=date(2025, 3, 10), backfill=True)


def _as_before_migration_0018(engine: Engine, legacy: bool) -> None:
    """History rows written before 0018 do not name the version they were compared with."""
    if legacy:
        with writing(engine) as conn:
            conn.execute(update(EvaluationChange).values(previous_version=None))


@pytest.mark.parametrize("legacy", [False, True], ids=["rows", "legacy_rows"])
def test_a_new_scorecard_version_is_no_grade_drop_a_drop_under_one_version_is(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, legacy: bool) -> None:
    # subject 1 (3 penalties) is B under the shipped scorecard; a locality then issues a new
    # version with stricter grade bands, under which the same facts make it D: two levels lower,
    # but because of the scorecard, not the subject. Subject 3 is A under both; then 5 penalties
    # between two runs of the new version make it D: a real drop.
    _licensed(engine, tmp_path, 1, 3)
    penalties(engine, tmp_path, 1, 3)
    evaluation.evaluate(engine, SYSTEM, as_of=AS_OF)
    local = tmp_path / "data"
    (local / "scorecards").mkdir(parents=True)
    (local / "scorecards" / "public.yaml").write_text(
        'version: "2099.1"\ngrades:\n  - {code: A, name: 信用风险低, min: 990}\n'
        "  - {code: B, name: 信用风险一般, min: 980}\n  - {code: C, name: 信用风险较高, min: 970}\n"
        "  - {code: D, name: 信用风险高, min: 0}\n", "utf-8")
    monkeypatch.setenv("XINYONG_DATA_DIR", str(local))
    get_settings.cache_clear()
    scorecards.cached.cache_clear()
    try:
        evaluation.evaluate(engine, SYSTEM, as_of=AS_OF)
        with engine.connect() as conn:
            [row] = conn.execute(select(EvaluationChange).where(EvaluationChange.previous_grade.is_not(None)))
        assert (row.previous_grade, row.grade, row.grade_rank - row.previous_rank) == ("B", "D", 2)
        _as_before_migration_0018(engine, legacy)
        assert scan(engine, "grade_drop")["raised"] == 0
        penalties(engine, tmp_path, 3, 5, tag="v2")
        evaluation.evaluate(engine, SYSTEM, as_of=AS_OF)
        _as_before_migration_0018(engine, legacy)
        assert scan(engine, "grade_drop")["raised"] == 1
        assert list(raised(engine, "grade_drop")) == [numbered_uscc(3)]
        [w] = raised(engine, "grade_drop")[numbered_uscc(3)]
        facts = w["facts"]
        assert (facts["previous_grade"], facts["grade"], facts["version"]) == ("A", "D", "2099.1")
    finally:
        monkeypatch.delenv("XINYONG_DATA_DIR")
        get_settings.cache_clear()
        scorecards.cached.cache_clear()


def test_reading_warnings_is_audited_with_the_filters_and_each_detail_view(engine: Engine,
                                                                           tmp_path: Path) -> None:
    for department in (MARKET, TAX, FIRE):
        penalties(engine, tmp_path, 3, 1, department=department)
    [warning_id] = scan(engine)["warnings"]
    with writing(engine) as conn:
        service.warnings(conn, SYSTEM, account_of(TAX), status="open", rule="penalties_departments")
        service.warning(conn, SYSTEM, account_of(TAX), warning_id)
    with writing(engine) as conn, pytest.raises(Forbidden):  # a refused reading shows nothing
        service.warning(conn, SYSTEM, account_of(COURT), warning_id)
    with engine.connect() as conn:
        found = {row.action: row for row in conn.execute(
            select(AuditEvent).where(AuditEvent.action.in_(["warning.list_read", "warning.read"])))}
    assert events(engine, "warning.list_read") == 1 and events(engine, "warning.read") == 1
    listed = orjson.loads(found["warning.list_read"].detail)
    assert listed["filters"] == {"status": "open", "rule": "penalties_departments", "department": TAX}
    assert listed["warnings"] == [warning_id]
    read = found["warning.read"]
    assert read.object_id == str(warning_id) and read.subject_id is not None


def test_legacy_history_of_runs_out_of_as_of_order_raises_no_false_drop(engine: Engine,
                                                                         tmp_path: Path) -> None:
    # Before migration 0018 an evaluation could run for any as_of and compared with whatever ran
    # last. These rows are what it wrote for `evaluate` (C), `evaluate --as-of 2099-01-01` (A,
    # the penalties out of its windows), `evaluate` (C "from A": a drop of two levels that never
    # happened in time). That code is gone, so the rows are written as it wrote them.
    _licensed(engine, tmp_path, 1)
    with engine.connect() as conn:
        [subject_id] = conn.execute(select(Subject.id).where(Subject.uscc == numbered_uscc(1))).scalars()
    history = [(AS_OF, 850, "C", 2, None, None), (date(2099, 1, 1), 1000, "A", 0, "C", 2),
               (AS_OF, 850, "C", 2, "A", 0)]
    with writing(engine) as conn:
        for as_of, score, grade, rank, before, before_rank in history:
            run = conn.execute(insert(EvaluationRun).values(
                scorecard="public", version="2026.2", as_of=as_of, mode="full",
                started_at=datetime(2026, 3, 1), evaluated=1, skipped_natural_persons=0, actor="system"))
            run_id = run.inserted_primary_key[0]
            conn.execute(insert(EvaluationChange).values(
                subject_id=subject_id, scorecard="public", run_id=run_id, as_of=as_of, score=score,
                grade=grade, grade_rank=rank, previous_grade=before, previous_rank=before_rank,
                version="2026.2"))
    assert scan(engine, "grade_drop")["raised"] == 0
