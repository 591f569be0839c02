"""The admission workflow and active entries on both engines: proposal → notice → waiting period
→ decision → entry → exit at term, removal and repair; lists arriving as data; kinds without basis
refused at proposal and at ingest; every transition audited, illegal ones change nothing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from xinyong.accounts.rules import Principal
from xinyong.core.audit import SYSTEM, AuditEvent
from xinyong.core.db import writing
from xinyong.core.errors import InvalidInput
from xinyong.core.settings import get_settings
from xinyong.ingest import service as ingest
from xinyong.lists import service
from xinyong.lists.models import ListProposal
from xinyong.subjects.models import Record, Subject

from ..factories import AUTHORITY_USCC, numbered_uscc, penalty, resident_id, write_csv
from ..test_cli import xinyong

DEPT = "厦门市思明区市场监督管理局"
MONDAY = date(2025, 3, 3)
# The credit office, recording what the subject said (`rules.check_may_object`).
OFFICE = Principal("office", "credit_office", None, frozenset({"list.manage"}))


def list_row(**over: str) -> dict[str, str]:
    row = {"主体名称": "厦门市思明区测试贸易有限公司", "主体类别": "法人及非法人组织",
           "统一社会信用代码": numbered_uscc(1), "名单种类": "失信被执行人",
           "认定单位": "厦门市思明区人民法院", "认定单位统一社会信用代码": AUTHORITY_USCC,
           "认定文书号": "(2025)闽0203执1号", "列入依据": "《民事诉讼法》第二百六十六条",
           "列入日期": "2025-01-10", "移出日期": "2027-01-10"}
    row.update(over)
    return row


def store(engine: Engine, tmp_path: Path) -> int:
    """A subject with one penalty; returns the penalty's record id."""
    ingest.ingest_file(engine, write_csv(tmp_path / "p.csv", [penalty()]), DEPT,
                       received=date(2025, 2, 10))
    with engine.connect() as conn:
        return int(conn.execute(select(Record.id)).scalar_one())


def subject_id(engine: Engine, n: int = 1) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(Subject.id).where(Subject.uscc == numbered_uscc(n))).scalar_one())


def actions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [a for a in conn.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars()
                if a.startswith("list.")]


def test_admission_notice_waiting_decision_entry_and_exit_at_term(engine: Engine, tmp_path: Path) -> None:
    record = store(engine, tmp_path)
    kind = service.usable_kind("market_serious_illegal")
    with writing(engine) as conn:
        pid = service.propose(conn, SYSTEM, kind, numbered_uscc(1), "受到吊销营业执照处罚",
                              "总局令第44号第二条", MONDAY, record_id=record)
        with pytest.raises(InvalidInput, match="须先告知"):
            service.decide(conn, SYSTEM, pid, MONDAY, "厦市监列〔2025〕1号")
        assert service.notify(conn, SYSTEM, pid, MONDAY, "拟列入") == date(2025, 3, 10)
    with writing(engine) as conn, pytest.raises(InvalidInput, match="2025-03-11") as caught:
        service.decide(conn, SYSTEM, pid, date(2025, 3, 10), "厦市监列〔2025〕1号")
    assert caught.value.code == "waiting_period"
    with writing(engine) as conn:
        service.object_to(conn, SYSTEM, OFFICE, pid, date(2025, 3, 10), "已整改")
        with pytest.raises(InvalidInput, match="答复"):
            service.decide(conn, SYSTEM, pid, date(2025, 3, 11), "厦市监列〔2025〕1号")
    with writing(engine) as conn:
        entry = service.decide(conn, SYSTEM, pid, date(2025, 3, 11), "厦市监列〔2025〕1号",
                               reply="整改不影响认定")
    sid = subject_id(engine)
    with engine.connect() as conn:
        assert service.active_entries(conn, sid, date(2025, 3, 10)) == []
        [e] = service.active_entries(conn, sid, date(2025, 3, 11))
        assert (e["kind"], e["list_type"], e["doc_no"], e["source"], e["ends_on"]) == (
            "market_serious_illegal", "black", "厦市监列〔2025〕1号", "workflow", "2028-03-11")
        assert e["entry_id"] == entry and e["record_id"] == record
        assert service.active_entries(conn, sid, date(2028, 3, 10))
        assert service.active_entries(conn, sid, date(2028, 3, 11)) == []  # exit at term end
        view = service.proposal_view(conn, pid, date(2025, 3, 11))
        assert view["status"] == "decided" and view["entry"]["active"]
    assert actions(engine) == ["list.proposed", "list.notified", "list.objected", "list.decided"]


def test_illegal_transitions_change_nothing(engine: Engine, tmp_path: Path) -> None:
    store(engine, tmp_path)
    kind = service.usable_kind("tax_major_violation")
    with writing(engine) as conn:
        pid = service.propose(conn, SYSTEM, kind, numbered_uscc(1), "偷税", "第六条", MONDAY)
        service.withdraw(conn, SYSTEM, pid, MONDAY, "证据不足")
    for step in (lambda c: service.notify(c, SYSTEM, pid, MONDAY, "x"),
                 lambda c: service.decide(c, SYSTEM, pid, MONDAY, "x"),
                 lambda c: service.withdraw(c, SYSTEM, pid, MONDAY, "x"),
                 lambda c: service.object_to(c, SYSTEM, OFFICE, pid, MONDAY, "x")):
        with writing(engine) as conn, pytest.raises(InvalidInput, match="已撤回"):
            step(conn)
    with engine.connect() as conn:
        status = conn.execute(select(ListProposal.status)).scalar_one()
    assert status == "withdrawn"
    assert actions(engine) == ["list.proposed", "list.withdrawn"]


def test_late_objection_is_refused_with_the_last_day(engine: Engine, tmp_path: Path) -> None:
    store(engine, tmp_path)
    with writing(engine) as conn:
        pid = service.propose(conn, SYSTEM, service.usable_kind("wage_arrears"), numbered_uscc(1),
                              "拖欠工资", "第五条", MONDAY)
        service.notify(conn, SYSTEM, pid, MONDAY, "拟列入")
    with writing(engine) as conn, pytest.raises(InvalidInput, match="2025-03-10"):
        service.object_to(conn, SYSTEM, OFFICE, pid, date(2025, 3, 11), "迟到的异议")


def test_red_list_without_notice_decides_at_once_and_removal_ends_it(engine: Engine,
                                                                   tmp_path: Path) -> None:
    store(engine, tmp_path)
    with writing(engine) as conn:
        pid = service.propose(conn, SYSTEM, service.usable_kind("纳税信用A级纳税人"), numbered_uscc(1),
                              "2024年度评价A级", "第二十四条", MONDAY)
        entry = service.decide(conn, SYSTEM, pid, MONDAY, "厦税信〔2025〕1号")
    sid = subject_id(engine)
    with writing(engine) as conn:
        [e] = service.active_entries(conn, sid, MONDAY)
        assert e["list_type"] == "red" and e["ends_on"] == "2026-03-03"
        service.remove(conn, SYSTEM, entry, date(2025, 6, 1), "评价结果更正", "厦税信〔2025〕9号")
        with pytest.raises(InvalidInput, match="已不在名单上"):
            service.remove(conn, SYSTEM, entry, date(2025, 6, 2), "再次", "x")
    with engine.connect() as conn:
        assert service.active_entries(conn, sid, date(2025, 5, 31))
        assert service.active_entries(conn, sid, date(2025, 6, 1)) == []
    assert actions(engine)[-1] == "list.removed"


def test_end_for_record_ends_entries_resting_on_a_repaired_record(engine: Engine, tmp_path: Path) -> None:
    record = store(engine, tmp_path)
    with writing(engine) as conn:
        pid = service.propose(conn, SYSTEM, service.usable_kind("market_serious_illegal"),
                              numbered_uscc(1), "吊销", "第二条", MONDAY, record_id=record)
        service.notify(conn, SYSTEM, pid, MONDAY, "拟列入")
        service.decide(conn, SYSTEM, pid, date(2025, 3, 11), "厦市监列〔2025〕2号")
    with writing(engine) as conn:
        assert service.end_for_record(conn, SYSTEM, record, date(2026, 4, 1), "XF2026000001") == 1
        assert service.end_for_record(conn, SYSTEM, record, date(2026, 4, 2), "XF2026000001") == 0
    sid = subject_id(engine)
    with engine.connect() as conn:
        assert service.active_entries(conn, sid, date(2026, 3, 31))
        assert service.active_entries(conn, sid, date(2026, 4, 1)) == []
    assert actions(engine)[-1] == "list.ended"


def test_a_kind_without_basis_is_refused_at_proposal(engine: Engine, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "local"
    local.mkdir()
    (local / "lists.yaml").write_text(
        "kinds:\n  - {code: local_bad, name: 本地失信名单, list_type: black, authority: 某局,"
        " criteria: 某标准, exit: 三年}\n", "utf-8")
    monkeypatch.setenv("XINYONG_DATA_DIR", str(local))
    get_settings.cache_clear()
    with pytest.raises(InvalidInput, match="没有法律依据") as caught:
        service.usable_kind("local_bad")
    assert caught.value.code == "list_kind_without_basis"
    assert [r["code"] for r in service.kinds_view()["refused"]] == ["local_bad"]
    with pytest.raises(InvalidInput, match="未知的名单种类"):
        service.usable_kind("no_such_list")


def test_the_catalog_enum_and_the_usable_kinds_agree() -> None:
    assert service.catalog_problems() == []


def test_lists_arriving_as_data_are_validated_and_active_by_their_dates(engine: Engine,
                                                                        tmp_path: Path) -> None:
    person = list_row(**{"主体名称": "张三", "主体类别": "自然人", "统一社会信用代码": "",
                         "证件类型": "身份证", "证件号码": resident_id(), "认定文书号": "(2025)闽0203执2号",
                         "移出日期": ""})
    rows = [list_row(), person,
            list_row(**{"认定文书号": "X3", "名单种类": "本地失信名单"}),
            list_row(**{"认定文书号": "X4", "列入依据": ""}),
            list_row(**{"认定文书号": "X5", "移出日期": "2024-01-01"})]
    receipt = ingest.ingest_file(engine, write_csv(tmp_path / "名单.csv", rows), "厦门市思明区人民法院",
                                 kind="list_entry", received=date(2025, 2, 10))
    assert (receipt.accepted, receipt.rejected) == (2, 3), receipt.rejection_reasons
    with engine.connect() as conn:
        published = conn.execute(select(Record.published)).scalars().all()
        assert published == [False, False]  # the publicity windows do not apply to list data
        kind = service.usable_kind("court_judgment_defaulter")
        entries = service.kind_entries(conn, kind, date(2025, 2, 10), limit=10, offset=0)
        assert {e["subject"]["name"] for e in entries} == {"厦门市思明区测试贸易有限公司", "张*"}
        assert all(e["source"] == "data" for e in entries)
        assert service.kind_entries(conn, kind, date(2027, 1, 10), limit=10, offset=0)[0][
            "subject"]["name"] == "张*"  # the company's entry left on its 移出日期
        many = service.active_entries_many(conn, [subject_id(engine)], date(2025, 1, 9))
        assert many == {}
    result = xinyong("lists", "entries", "--kind", "失信被执行人", "--json", check=True)
    assert '"source": "data"' in result.stdout


def test_cli_kinds_json() -> None:
    result = xinyong("lists", "kinds", "--json", check=True)
    assert '"market_serious_illegal"' in result.stdout


def test_entries_older_than_today_do_not_leak_across_days(engine: Engine, tmp_path: Path) -> None:
    store(engine, tmp_path)
    today = date.today()
    with writing(engine) as conn:
        pid = service.propose(conn, SYSTEM, service.usable_kind("tax_a_grade"), numbered_uscc(1),
                              "A级", "第二十四条", today - timedelta(days=400))
        service.decide(conn, SYSTEM, pid, today - timedelta(days=400), "厦税信〔2024〕1号")
    with engine.connect() as conn:
        assert service.active_entries(conn, subject_id(engine), today) == []


def test_a_resident_id_in_a_listing_basis_is_masked(engine: Engine, tmp_path: Path) -> None:
    number = resident_id(seq="778")
    row = list_row(**{"列入依据": f"《民事诉讼法》第二百六十六条；被执行人担保人身份证号码{number}"})
    receipt = ingest.ingest_file(engine, write_csv(tmp_path / "名单.csv", [row]), "厦门市思明区人民法院",
                                 kind="list_entry", received=date(2025, 2, 10))
    assert receipt.accepted == 1 and receipt.free_text_ids == 1
    with engine.connect() as conn:
        kind = service.usable_kind("court_judgment_defaulter")
        [entry] = service.kind_entries(conn, kind, date(2025, 2, 10), limit=10, offset=0)
        [active] = service.active_entries(conn, subject_id(engine), date(2025, 2, 10))
    for shown in (entry, active):
        assert number not in shown["basis"] and f"350***********{number[-4:]}" in shown["basis"]
