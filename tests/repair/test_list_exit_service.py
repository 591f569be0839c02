"""Leaving a list by repair on both engines: a workflow entry and a list entry submitted as
data, each applied for by its own subject, accepted and approved — the entry ends that day,
a data entry leaves publicity as repaired, and `repair.approved` is queued. Refusals (not
eligible, someone else's entry, illegal transitions, an entry removed meanwhile) change
nothing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from xinyong.accounts.rules import Forbidden
from xinyong.core.audit import SYSTEM, AuditEvent
from xinyong.core.dates import add_months
from xinyong.core.db import writing
from xinyong.core.errors import InvalidInput
from xinyong.exchange.models import OutboundEvent
from xinyong.ingest import service as ingest
from xinyong.lists import service as lists
from xinyong.lists.models import ListEntry
from xinyong.publicity import service as publicity
from xinyong.repair import queries, service
from xinyong.repair.models import RepairCase, RepairMaterial
from xinyong.subjects.models import Record, Subject

from ..factories import AUTHORITY_USCC, numbered_uscc, write_csv
from .test_service import ENTERPRISE, REVIEWER, TODAY, applicant, both, staged, store_penalty


def listed_entry(engine: Engine, tmp_path: Path, n: int, listed_days_ago: int,
                 kind: str = "market_serious_illegal") -> str:
    """Subject n listed by the workflow `listed_days_ago` days ago; its entry's reference."""
    store_penalty(engine, tmp_path, n, 30)
    proposed = TODAY - timedelta(days=listed_days_ago + 20)
    k = lists.usable_kind(kind)
    with writing(engine) as conn:
        pid = lists.propose(conn, SYSTEM, k, numbered_uscc(n), "受到吊销许可证件处罚", "总局令第44号",
                            proposed)
        if k.notice_required:
            lists.notify(conn, SYSTEM, pid, proposed, "拟列入严重违法失信名单")
        entry = lists.decide(conn, SYSTEM, pid, TODAY - timedelta(days=listed_days_ago),
                             f"厦市监列〔2025〕{n}号")
    return f"L{entry}"


def data_entry(engine: Engine, tmp_path: Path, n: int, listed_days_ago: int) -> str:
    """Subject n on 严重违法失信名单 as data submitted by the authority; `R<record id>`."""
    row = {"主体名称": f"厦门市思明区第{n}测试贸易有限公司", "主体类别": "法人及非法人组织",
           "统一社会信用代码": numbered_uscc(n), "名单种类": "严重违法失信名单",
           "认定单位": "厦门市市场监督管理局", "认定单位统一社会信用代码": AUTHORITY_USCC,
           "认定文书号": f"厦市监严〔2025〕{n}号", "列入依据": "总局令第44号第二条",
           "列入日期": (TODAY - timedelta(days=listed_days_ago)).isoformat(), "移出日期": ""}
    receipt = ingest.ingest_file(engine, write_csv(tmp_path / f"l{n}.csv", [row]), "厦门市市场监督管理局",
                                 kind="list_entry")
    assert receipt.accepted == 1, receipt.rejection_reasons
    with engine.connect() as conn:
        found = conn.execute(select(Record.id).where(Record.doc_no == row["认定文书号"]))
        return f"R{found.scalar_one()}"


def sid(engine: Engine, n: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(Subject.id).where(Subject.uscc == numbered_uscc(n))).scalar_one())


def active_refs(engine: Engine, n: int, day: date = TODAY) -> list[str]:
    with engine.connect() as conn:
        return [lists.entry_ref(e) for e in lists.active_entries(conn, sid(engine, n), day)]


def count(engine: Engine, table: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_workflow_entry_ends_the_day_its_repair_is_approved(engine: Engine, tmp_path: Path) -> None:
    ref = listed_entry(engine, tmp_path, 1, 400)
    assert active_refs(engine, 1) == [ref]
    with engine.connect() as conn:
        found = queries.entry_eligibility(conn, ref, TODAY)
    assert found.eligible and found.eligible_from == add_months(TODAY - timedelta(days=400), 12)
    case = service.apply_entry(engine, ENTERPRISE, applicant(numbered_uscc(1)), ref, "罚款已缴清，已整改到位",
                               both(tmp_path), TODAY)
    assert case["kind"] == "list_exit" and case["record"] is None and case["entry"]["ref"] == ref
    assert case["kind_name"] == "移出严重失信主体名单" and case["status"] == "submitted"
    with engine.connect() as conn:
        assert "请勿重复申请" in queries.entry_eligibility(conn, ref, TODAY).reasons[0]
        queue = queries.queue(conn, TODAY)
    assert [(q["case_no"], q["kind"], q["entry"], q["record"]) for q in queue] == [
        (case["case_no"], "list_exit", ref, None)]
    with writing(engine) as conn, pytest.raises(InvalidInput) as caught:
        service.decide(conn, REVIEWER, case["case_no"], "approve", "同意", day=TODAY)
    assert caught.value.code == "illegal_transition"
    assert active_refs(engine, 1) == [ref] and count(engine, OutboundEvent) == 0
    for action in ("accept", "approve"):
        with writing(engine) as conn:
            done = service.decide(conn, REVIEWER, case["case_no"], action, "已履行义务并作出承诺", day=TODAY)
    assert done["status"] == "approved" and done["entry"]["ended_on"] == TODAY.isoformat()
    assert active_refs(engine, 1) == [] and active_refs(engine, 1, TODAY - timedelta(days=1)) == [ref]
    with engine.connect() as conn:
        row = conn.execute(select(ListEntry.end_reason, ListEntry.end_case_id)).one()
        assert tuple(row) == ("repaired", case["case_no"])
        events = conn.execute(select(OutboundEvent.type, OutboundEvent.payload)).all()
        assert [e.type for e in events] == ["repair.approved"]
        assert '"list_exit"' in events[0].payload and ref in events[0].payload
        audited = list(conn.execute(select(AuditEvent.action).where(
            AuditEvent.action.in_(["list.ended", "repair.approved"])).order_by(AuditEvent.id)).scalars())
        assert audited == ["list.ended", "repair.approved"]
        assert "经信用修复移出" in queries.entry_eligibility(conn, ref, TODAY).reasons[0]
    with writing(engine) as conn, pytest.raises(InvalidInput) as caught:
        service.decide(conn, REVIEWER, case["case_no"], "approve", "再次", day=TODAY)
    assert caught.value.code == "illegal_transition"


def test_a_data_entry_leaves_publicity_as_repaired(engine: Engine, tmp_path: Path) -> None:
    ref = data_entry(engine, tmp_path, 2, 400)
    assert active_refs(engine, 2) == [ref]
    case = service.apply_entry(engine, ENTERPRISE, applicant(numbered_uscc(2)), ref,
                               "已整改", both(tmp_path), TODAY)
    record = int(ref[1:])
    with engine.connect() as conn:
        assert queries.open_cases(conn, [record])[record]["case_no"] == case["case_no"]
    for action in ("accept", "approve"):
        with writing(engine) as conn:
            service.decide(conn, REVIEWER, case["case_no"], action, "准予", day=TODAY)
    assert active_refs(engine, 2) == []
    with engine.connect() as conn:
        stops = publicity.stops(conn, [record])[record]
    assert [(s["reason"], s["since"], s["case_type"], s["case_id"]) for s in stops] == [
        ("repaired", TODAY.isoformat(), "repair", case["case_no"])]


def test_refusals_change_nothing(engine: Engine, tmp_path: Path) -> None:
    young = listed_entry(engine, tmp_path, 3, 100)  # listed 100 days ago: 1 year not yet
    with pytest.raises(InvalidInput) as caught:
        service.apply_entry(engine, ENTERPRISE, applicant(numbered_uscc(3)), young,
                            "已整改", both(tmp_path), TODAY)
    assert caught.value.code == "not_eligible" and "列入满1年后方可申请" in caught.value.message
    ref = listed_entry(engine, tmp_path, 4, 400)
    with pytest.raises(Forbidden) as forbidden:
        service.apply_entry(engine, ENTERPRISE, applicant(numbered_uscc(3)), ref,
                            "已整改", both(tmp_path), TODAY)
    assert forbidden.value.code == "not_own_subject"
    with pytest.raises(InvalidInput) as caught:
        service.apply_entry(engine, ENTERPRISE, applicant(numbered_uscc(4)), ref, "已整改",
                            [staged(tmp_path, "commitment")], TODAY)
    assert caught.value.code == "materials_missing"
    assert count(engine, RepairCase) == 0 and count(engine, RepairMaterial) == 0
    # the kind's own materials: 重大税收违法失信主体 also needs the tax receipts
    tax = listed_entry(engine, tmp_path, 5, 30, kind="tax_major_violation")
    with pytest.raises(InvalidInput, match="缴清税款、滞纳金和罚款的凭证"):
        service.apply_entry(engine, ENTERPRISE, applicant(numbered_uscc(5)), tax,
                            "已缴清", both(tmp_path), TODAY)
    done = service.apply_entry(engine, ENTERPRISE, applicant(numbered_uscc(5)), tax, "已缴清",
                               [*both(tmp_path), staged(tmp_path, "tax_cleared")], TODAY)
    assert [m["name"] for m in done["materials"]][-1] == "缴清税款、滞纳金和罚款的凭证"

    # removed by the authority after acceptance: approval is refused, nothing changes
    case = service.apply_entry(engine, ENTERPRISE, applicant(numbered_uscc(4)), ref,
                               "已整改", both(tmp_path), TODAY)
    with writing(engine) as conn:
        service.decide(conn, REVIEWER, case["case_no"], "accept", "材料齐全", day=TODAY)
        lists.remove(conn, SYSTEM, int(ref[1:]), TODAY, "法院撤销原处罚", "厦市监移〔2025〕1号")
    with writing(engine) as conn, pytest.raises(InvalidInput) as caught:
        service.decide(conn, REVIEWER, case["case_no"], "approve", "同意", day=TODAY)
    assert caught.value.code == "not_eligible" and "由认定单位移出" in caught.value.message
    with engine.connect() as conn:
        assert queries.case_view(conn, case["case_no"], TODAY)["status"] == "accepted"
        assert conn.execute(select(ListEntry.end_reason).where(ListEntry.id == int(ref[1:]))
                            ).scalar_one() == "removed"
    assert count(engine, OutboundEvent) == 0


def test_a_court_defaulter_cannot_be_repaired(engine: Engine, tmp_path: Path) -> None:
    ref = listed_entry(engine, tmp_path, 6, 300, kind="court_judgment_defaulter")
    with engine.connect() as conn:
        found = queries.entry_eligibility(conn, ref, TODAY)
    assert not found.eligible and "不适用信用修复" in found.reasons[0]
    with pytest.raises(InvalidInput) as caught:
        service.apply_entry(engine, ENTERPRISE, applicant(numbered_uscc(6)), ref,
                            "已履行", both(tmp_path), TODAY)
    assert caught.value.code == "not_eligible"
