"""The repair workflow on both engines: apply → accept → approve ends publicity the same
day; refusals (ineligible, not one's own, illegal transitions) change nothing."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from xinyong.accounts.rules import Forbidden, Principal
from xinyong.core import audit
from xinyong.core.audit import AuditEvent
from xinyong.core.db import writing
from xinyong.core.errors import InvalidInput
from xinyong.core.settings import get_settings
from xinyong.exchange.models import OutboundEvent
from xinyong.ingest import service as ingest
from xinyong.publicity import service as publicity
from xinyong.repair import notice as notices
from xinyong.repair import queries, service
from xinyong.repair.materials import Staged
from xinyong.repair.models import RepairCase, RepairMaterial
from xinyong.subjects.models import Record

from ..factories import numbered_uscc, penalty, write_csv

DEPT = "厦门市思明区市场监督管理局"
TODAY = date.today()
ENTERPRISE = audit.Actor("enterprise1", "enterprise", "test")
REVIEWER = audit.Actor("reviewer1", "reviewer", "test")


def applicant(uscc: str) -> Principal:
    """The enterprise account acting for the subject with this code."""
    return Principal("enterprise1", "enterprise", None, frozenset({"repair.apply"}), subject=uscc)


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def store_penalty(engine: Engine, tmp_path: Path, n: int, days_ago: int) -> int:
    """A 一般 penalty (a fine of 20万元) to subject n, decided `days_ago` days ago."""
    decided = TODAY - timedelta(days=days_ago)
    row = penalty(**{"行政相对人名称": f"厦门市思明区第{n}测试贸易有限公司",
                     "行政相对人代码_1(统一社会信用代码)": numbered_uscc(n),
                     "行政处罚决定书文号": f"厦思市监罚〔2025〕{n}号", "处罚类别": "罚款",
                     "罚款金额（万元）": "20", "处罚决定日期": decided.isoformat(),
                     "处罚有效期": (decided + timedelta(days=400)).isoformat()})
    ingest.ingest_file(engine, write_csv(tmp_path / f"p{n}.csv", [row]), DEPT, kind="penalty",
                       backfill=True)
    with engine.connect() as conn:
        found = conn.execute(select(Record.id).where(Record.doc_no == row["行政处罚决定书文号"]))
        return int(found.scalar_one())


def staged(tmp_path: Path, material: str, body: bytes = PDF) -> Staged:
    path = tmp_path / f"{material}-{len(list(tmp_path.iterdir()))}.pdf"
    path.write_bytes(body)
    return Staged(material, f"{material}.pdf", path, "pdf", len(body), hashlib.sha256(body).hexdigest())


def both(tmp_path: Path) -> list[Staged]:
    return [staged(tmp_path, "commitment"), staged(tmp_path, "performance")]


def in_publicity(engine: Engine, record_id: int, day: date) -> bool:
    r = Record.__table__
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(r).where(
            r.c.id == record_id, publicity.in_publicity(r, day))).scalar_one() == 1


def count(engine: Engine, table: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_apply_accept_approve_ends_publicity_the_same_day(engine: Engine, tmp_path: Path) -> None:
    record = store_penalty(engine, tmp_path, 1, 120)
    assert in_publicity(engine, record, TODAY)
    case = service.apply(engine, ENTERPRISE, applicant(numbered_uscc(1)), record,
                         "罚款已缴清，已整改", both(tmp_path),
                         TODAY)
    assert case["status"] == "submitted" and case["due_on"] and not case["overdue"]
    assert len(case["materials"]) == 2
    folder = get_settings().files_dir / "repairs" / case["case_no"]
    assert sorted(p.name for p in folder.iterdir()) == ["1-commitment-1.pdf", "1-performance-2.pdf"]
    with engine.connect() as conn:
        assert queries.open_cases(conn, [record, 999]) == {
            record: {"case_no": case["case_no"], "status": "submitted", "label": "信用修复中"}}
        assert not queries.eligibility(conn, record, TODAY).eligible  # no second application
    with writing(engine) as conn:
        accepted = service.decide(conn, REVIEWER, case["case_no"], "accept", "材料齐全", day=TODAY)
    assert accepted["status"] == "accepted" and accepted["accepted_on"] == TODAY.isoformat()
    with writing(engine) as conn:
        done = service.decide(conn, REVIEWER, case["case_no"], "approve", "已履行义务并作出承诺", day=TODAY)
    assert done["status"] == "approved" and done["decided_by"] == "reviewer1"
    assert not in_publicity(engine, record, TODAY)
    assert in_publicity(engine, record, TODAY - timedelta(days=1))  # history stays as it was
    with engine.connect() as conn:
        stops = publicity.stops(conn, [record])[record]
        assert [(s["reason"], s["since"], s["case_id"]) for s in stops] == [
            ("repaired", TODAY.isoformat(), case["case_no"])]
        assert queries.open_cases(conn, [record]) == {}
        assert "完成信用修复" in queries.eligibility(conn, record, TODAY).reasons[0]
        events = conn.execute(select(OutboundEvent.type, OutboundEvent.sent_at)).all()
        assert [(e.type, e.sent_at) for e in events] == [("repair.approved", None)]
        actions = list(conn.execute(select(AuditEvent.action).where(
            AuditEvent.object_type == "repair_case").order_by(AuditEvent.id)).scalars())
        assert actions == ["repair.applied", "repair.accepted", "repair.approved"]
    assert [h["label"] for h in done["history"]] == ["提交申请", "受理", "准予修复"]


def test_ineligible_application_is_refused_and_nothing_is_stored(engine: Engine, tmp_path: Path) -> None:
    record = store_penalty(engine, tmp_path, 2, 30)
    with pytest.raises(InvalidInput) as caught:
        service.apply(engine, ENTERPRISE, applicant(numbered_uscc(2)), record,
                      "已整改", both(tmp_path), TODAY)
    assert caught.value.code == "not_eligible" and "最短公示期3个月未满" in caught.value.message
    assert count(engine, RepairCase) == 0 and count(engine, RepairMaterial) == 0
    assert not (get_settings().files_dir / "repairs").exists() or not any(
        (get_settings().files_dir / "repairs").iterdir())


def test_only_the_subject_itself_may_apply(engine: Engine, tmp_path: Path) -> None:
    record = store_penalty(engine, tmp_path, 3, 120)
    with pytest.raises(Forbidden) as caught:
        service.apply(engine, ENTERPRISE, applicant(numbered_uscc(4)), record,
                      "已整改", both(tmp_path), TODAY)
    assert caught.value.code == "not_own_subject"
    with pytest.raises(InvalidInput) as missing:
        service.apply(engine, ENTERPRISE, applicant(numbered_uscc(3)), record, "已整改",
                      [staged(tmp_path, "commitment")], TODAY)
    assert missing.value.code == "materials_missing" and "履行法定义务的证明材料" in missing.value.message
    assert count(engine, RepairCase) == 0


def test_illegal_transitions_change_nothing(engine: Engine, tmp_path: Path) -> None:
    record = store_penalty(engine, tmp_path, 5, 120)
    case_no = service.apply(engine, ENTERPRISE, applicant(numbered_uscc(5)), record, "已整改", both(tmp_path),
                            TODAY)["case_no"]
    for action, reason in (("approve", "理由"), ("reject", "理由")):
        with pytest.raises(InvalidInput) as caught, writing(engine) as conn:
            service.decide(conn, REVIEWER, case_no, action, reason, day=TODAY)
        assert caught.value.code == "illegal_transition"
    with pytest.raises(InvalidInput) as no_missing, writing(engine) as conn:
        service.decide(conn, REVIEWER, case_no, "return", "材料不全", day=TODAY)
    assert no_missing.value.code == "missing_required"
    with writing(engine) as conn:
        returned = service.decide(conn, REVIEWER, case_no, "return", "缴款凭证不清晰",
                                  ["清晰的罚款缴纳凭证"], day=TODAY)
    assert returned["status"] == "returned" and returned["missing"] == ["清晰的罚款缴纳凭证"]
    assert returned["due_on"] is None
    with pytest.raises(InvalidInput), writing(engine) as conn:
        service.decide(conn, REVIEWER, case_no, "accept", "", day=TODAY)
    again = service.resubmit(engine, ENTERPRISE, applicant(numbered_uscc(5)), case_no, "补交凭证",
                             [staged(tmp_path, "performance")], TODAY)
    assert again["status"] == "submitted" and again["rounds"] == 2 and len(again["materials"]) == 3
    with writing(engine) as conn:
        service.decide(conn, REVIEWER, case_no, "accept", "", day=TODAY)
        rejected = service.decide(conn, REVIEWER, case_no, "reject", "未缴清罚款", day=TODAY)
    assert rejected["status"] == "rejected"
    with pytest.raises(InvalidInput) as twice, writing(engine) as conn:
        service.decide(conn, REVIEWER, case_no, "approve", "再次决定", day=TODAY)
    assert twice.value.code == "illegal_transition" and "已办结" in twice.value.message
    assert in_publicity(engine, record, TODAY)
    assert count(engine, OutboundEvent) == 0
    with engine.connect() as conn:
        actions = list(conn.execute(select(AuditEvent.action).where(
            AuditEvent.object_type == "repair_case").order_by(AuditEvent.id)).scalars())
    assert actions == ["repair.applied", "repair.returned", "repair.resubmitted", "repair.accepted",
                       "repair.rejected"]


def test_approving_a_record_no_longer_eligible_is_refused(engine: Engine, tmp_path: Path) -> None:
    record = store_penalty(engine, tmp_path, 6, 120)
    case_no = service.apply(engine, ENTERPRISE, applicant(numbered_uscc(6)), record, "已整改", both(tmp_path),
                            TODAY)["case_no"]
    with writing(engine) as conn:
        service.decide(conn, REVIEWER, case_no, "accept", "", day=TODAY)
        publicity.stop_publicity(conn, REVIEWER, record, "revoked", TODAY, "objection", "YY1")
    with pytest.raises(InvalidInput) as caught, writing(engine) as conn:
        service.decide(conn, REVIEWER, case_no, "approve", "同意", day=TODAY)
    assert caught.value.code == "not_eligible" and "停止公示" in caught.value.message
    with engine.connect() as conn:
        assert queries.case_view(conn, case_no, TODAY)["status"] == "accepted"
    assert count(engine, OutboundEvent) == 0


def test_overdue_and_the_notice(engine: Engine, tmp_path: Path) -> None:
    record = store_penalty(engine, tmp_path, 7, 120)
    case_no = service.apply(engine, ENTERPRISE, applicant(numbered_uscc(7)), record, "已整改", both(tmp_path),
                            TODAY)["case_no"]
    with engine.connect() as conn:
        assert queries.queue(conn, TODAY)[0]["overdue"] is False
        later = TODAY + timedelta(days=30)
        assert queries.queue(conn, later)[0]["overdue"] is True
        assert [c["case_no"] for c in queries.queue(conn, later, overdue_only=True)] == [case_no]
        assert queries.counts(conn, later)["overdue"] == 1
        text = notices.notice_text(notices.notice(conn, record, TODAY))
    assert text.startswith("信用修复告知书") and "信用承诺书" in text and "/repairs/new?record=" in text


def test_cli_eligibility_list_and_notice(engine: Engine, tmp_path: Path) -> None:
    import json

    from ..test_cli import xinyong

    record = store_penalty(engine, tmp_path, 8, 30)
    decided = TODAY - timedelta(days=30)
    r = xinyong("repair", "eligibility", "--record", str(record), "--on", decided.isoformat(), "--json",
                check=True)
    out = json.loads(r.stdout)
    assert set(out) == {"record", "eligible", "eligible_from", "reasons"}
    assert out["record"] == record and out["eligible"] is False
    assert out["eligible_from"] is not None and "最短公示期3个月未满" in out["reasons"][0]
    later = xinyong("repair", "eligibility", "--record", str(record), "--on", out["eligible_from"], "--json",
                    check=True)
    assert json.loads(later.stdout)["eligible"] is True
    assert json.loads(xinyong("repair", "list", "--json", check=True).stdout) == []
    notice = xinyong("repair", "notice", "--record", str(record), check=True)
    assert "信用修复告知书" in notice.stdout and "信用承诺书" in notice.stdout
    missing = xinyong("repair", "eligibility", "--record", "99999", "--json")
    assert missing.returncode == 2 and "99999" in missing.stderr
