"""Objection verbs on both engines: filing marks the record at once, deciding changes
publicity through stops or a new version, every transition is audited, and a refused
transition changes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select, text

from xinyong.accounts.rules import Forbidden, Principal, role_table
from xinyong.core.audit import Actor
from xinyong.core.errors import InvalidInput, NotFound
from xinyong.core.settings import get_settings
from xinyong.core.workdays import add_workdays
from xinyong.ingest.service import ingest_file
from xinyong.objections import service
from xinyong.objections.service import Attachment
from xinyong.publicity.service import in_publicity, stops
from xinyong.subjects.models import Record

from ..factories import numbered_uscc, penalty, write_csv

DEPARTMENT = "厦门市思明区市场监督管理局"
REASON = "该处罚决定已被复议机关撤销，附复议决定书，请撤销公示。"
TODAY = date.today()


def _principal(role: str, department: str | None = None, subject: str | None = None) -> Principal:
    return Principal(f"{role}-1", role, department, role_table().role(role).permissions,
                     subject=subject)


ENTERPRISE = _principal("enterprise", subject=numbered_uscc(7))
REPORTER = _principal("reporter", DEPARTMENT)
OTHER_REPORTER = _principal("reporter", "厦门市税务局")
REVIEWER = _principal("reviewer")


def _actor(p: Principal) -> Actor:
    return p.actor("test")


def _record(engine: Engine, tmp_path: Path, n: int = 7, **over: str) -> int:
    decided = TODAY - timedelta(days=30)
    row = penalty(**{"行政相对人代码_1(统一社会信用代码)": numbered_uscc(n),
                     "行政处罚决定书文号": f"厦思市监罚〔2026〕{n}号",
                     "处罚类别": "罚款", "处罚内容": "罚款20万元", "罚款金额（万元）": "20",
                     "处罚决定日期": decided.isoformat(),
                     "处罚有效期": (decided + timedelta(days=400)).isoformat(), **over})
    ingest_file(engine, write_csv(tmp_path / f"p{n}.csv", [row]), DEPARTMENT)
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT id FROM record WHERE doc_no = :d AND status = 'current'"),
                                {"d": row["行政处罚决定书文号"]}).scalar_one())


def _visible(engine: Engine, record: int, day: date = TODAY) -> bool:
    t = Record.__table__
    with engine.connect() as conn:
        return conn.execute(select(t.c.id).where(t.c.id == record, in_publicity(t, day))).first() is not None


def _file(engine: Engine, record: int, attachments: list[Attachment] | None = None) -> dict[str, Any]:
    return service.file_objection(engine, _actor(ENTERPRISE), ENTERPRISE, record, REASON,
                                  attachments or [])


def _state(engine: Engine) -> tuple[Any, ...]:
    """Everything a refused decision must leave as it was."""
    with engine.connect() as conn:
        return (conn.execute(text("SELECT case_no, status, action, decision_reason, stop_id "
                                  "FROM objection ORDER BY id")).all(),
                conn.execute(text("SELECT count(*) FROM publicity_stop")).scalar_one(),
                conn.execute(text("SELECT id, status FROM record ORDER BY id")).all(),
                conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one())


def _actions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT action FROM audit_event WHERE action LIKE 'objection.%' "
                                      "OR action LIKE 'record.%' ORDER BY id")).scalars())


def test_filing_marks_the_record_at_once_and_queues_it_for_its_department(
        engine: Engine, tmp_path: Path) -> None:
    record = _record(engine, tmp_path)
    pdf = tmp_path / "upload.bin"
    pdf.write_bytes(b"%PDF-1.4\n%test\n")
    case = _file(engine, record, [Attachment("复议决定书.pdf", pdf, "pdf", pdf.stat().st_size)])
    assert case["status"] == "open" and case["under_objection"]
    assert case["due_date"] == add_workdays(TODAY, 7).isoformat() and not case["overdue"]
    assert case["department"] == DEPARTMENT and case["record"]["id"] == record
    stored = get_settings().files_dir / "objections" / case["case_no"] / "1-复议决定书.pdf"
    assert stored.read_bytes().startswith(b"%PDF") and not pdf.exists()
    with engine.connect() as conn:
        assert service.open_cases(conn, [record, 999]) == {record: {
            "case_no": case["case_no"], "status": "open", "due_date": case["due_date"],
            "label": "异议处理中"}}
        queue = service.queue(conn, REPORTER)
        assert [c["case_no"] for c in queue] == [case["case_no"]]
        assert service.queue(conn, OTHER_REPORTER) == []
        assert [c["case_no"] for c in service.queue(conn, REVIEWER, overdue=True,
                                                     today=add_workdays(TODAY, 8))] == [case["case_no"]]
        assert service.queue(conn, REVIEWER, overdue=True) == []
        public = service.case_view(conn, case["case_no"])
    assert "reason" not in public and "attachments" not in public
    assert _visible(engine, record), "under objection the record stays visible with its marker"
    assert _actions(engine) == ["objection.filed"]


def test_one_open_case_per_record_and_only_for_ones_own_subject(engine: Engine, tmp_path: Path) -> None:
    record = _record(engine, tmp_path)
    other = _record(engine, tmp_path, 8)
    _file(engine, record)
    with pytest.raises(InvalidInput) as caught:
        _file(engine, record)
    assert caught.value.code == "objection_open"
    with pytest.raises(Forbidden) as refused:
        _file(engine, other)
    assert refused.value.code == "not_own_subject"
    with pytest.raises(InvalidInput) as short:
        service.file_objection(engine, _actor(ENTERPRISE), ENTERPRISE, record, "太短", [])
    assert short.value.code == "reason_invalid"
    with pytest.raises(NotFound):
        _file(engine, 999_999)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM objection")).scalar_one() == 1


def test_revoke_stops_publicity_for_good_and_a_second_decision_changes_nothing(
        engine: Engine, tmp_path: Path) -> None:
    record = _record(engine, tmp_path)
    case = _file(engine, record)["case_no"]
    with pytest.raises(Forbidden) as other:
        service.decide(engine, _actor(OTHER_REPORTER), OTHER_REPORTER, case, "revoke")
    assert other.value.code == "other_department"
    decided = service.decide(engine, _actor(REPORTER), REPORTER, case, "revoke", "复议决定已撤销原处罚")
    assert decided["status"] == "revoked" and decided["closed"]
    assert decided["decision"]["label"].startswith("撤销")
    assert not _visible(engine, record) and not _visible(engine, record, TODAY + timedelta(days=60))
    with engine.connect() as conn:
        assert service.open_cases(conn, [record]) == {}
        assert [s["reason"] for s in stops(conn, [record])[record]] == ["revoked"]
    before = _state(engine)
    for action, reason in (("revoke", None), ("reject", "再次驳回"), ("suspend", None)):
        with pytest.raises(InvalidInput) as twice:
            service.decide(engine, _actor(REVIEWER), REVIEWER, case, action, reason)
        assert twice.value.code == "objection_closed" and "已办结" in twice.value.message
    assert _state(engine) == before
    assert _actions(engine) == ["objection.filed", "objection.decided"]
    # the record is free for a new objection once its case is closed
    assert _file(engine, record)["status"] == "open"


def test_suspend_then_resume_brings_the_record_back(engine: Engine, tmp_path: Path) -> None:
    record = _record(engine, tmp_path)
    case = _file(engine, record)["case_no"]
    suspended = service.decide(engine, _actor(REPORTER), REPORTER, case, "suspend", "核实期间暂停公示")
    assert suspended["status"] == "suspended" and suspended["under_objection"]
    assert not _visible(engine, record)
    with engine.connect() as conn:
        assert service.open_cases(conn, [record])[record]["status"] == "suspended"
    before = _state(engine)
    with pytest.raises(InvalidInput) as no_reason:
        service.decide(engine, _actor(REPORTER), REPORTER, case, "resume", "")
    assert no_reason.value.code == "reason_required"
    with pytest.raises(InvalidInput) as again:
        service.decide(engine, _actor(REPORTER), REPORTER, case, "suspend")
    assert again.value.code == "objection_transition"
    assert _state(engine) == before
    resumed = service.decide(engine, _actor(REPORTER), REPORTER, case, "resume", "核实无误，恢复公示")
    assert resumed["status"] == "resumed" and _visible(engine, record)
    assert [h["status"] for h in resumed["history"]] == ["open", "suspended", "resumed"]
    with engine.connect() as conn:
        assert service.open_cases(conn, [record]) == {}


def test_reject_needs_a_written_reason_and_leaves_publicity_alone(engine: Engine, tmp_path: Path) -> None:
    record = _record(engine, tmp_path)
    case = _file(engine, record)["case_no"]
    before = _state(engine)
    with pytest.raises(InvalidInput) as caught:
        service.decide(engine, _actor(REVIEWER), REVIEWER, case, "reject", "  ")
    assert caught.value.code == "reason_required"
    assert _state(engine) == before
    rejected = service.decide(engine, _actor(REVIEWER), REVIEWER, case, "reject", "经核实，信息与原件一致")
    assert rejected["decision"]["reason"] == "经核实，信息与原件一致" and _visible(engine, record)


def test_correct_stores_a_new_version_with_its_own_window(engine: Engine, tmp_path: Path) -> None:
    record = _record(engine, tmp_path)
    case = _file(engine, record)["case_no"]
    before = _state(engine)
    with pytest.raises(InvalidInput) as bad:
        service.decide(engine, _actor(REPORTER), REPORTER, case, "correct", None,
                       {"uscc": numbered_uscc(9)})
    assert bad.value.code == "invalid_changes"
    assert _state(engine) == before
    done = service.decide(engine, _actor(REPORTER), REPORTER, case, "correct", "罚款金额录入错误",
                          {"fine_amount": "150", "penalty_content": "罚款150万元"})
    new = done["decision"]["corrected_record"]
    assert done["status"] == "corrected" and new != record
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(text(
            "SELECT id, version, status, payload, publicity_tier, publicity_end, batch_id FROM record"))}
        assert [s["reason"] for s in stops(conn, [record])[record]] == ["corrected"]
    assert rows[record].status == "superseded" and rows[new].status == "current"
    assert rows[new].version == 2 and rows[new].batch_id == rows[record].batch_id
    payload = orjson.loads(rows[new].payload)
    assert payload["fine_amount"] == "150"
    assert payload["doc_no"] == orjson.loads(rows[record].payload)["doc_no"]
    assert (rows[record].publicity_tier, rows[new].publicity_tier) == ("一般", "严重")
    assert _visible(engine, new) and not _visible(engine, record)
    assert _actions(engine) == ["objection.filed", "record.corrected", "objection.decided"]


def test_case_numbers_are_not_found_by_guessing(engine: Engine) -> None:
    with engine.connect() as conn:
        for guess in ("YY20261122AAAAAAAA", "1", "' OR 1=1 --"):
            with pytest.raises(NotFound):
                service.case_view(conn, guess)
