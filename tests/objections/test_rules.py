"""Objection rules as tables: due dates in working days around Chinese holidays, overdue on the
days around the due date, the case's state machine, who may file and decide, what an objection
must carry, and a correction's values."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from xinyong.accounts.rules import Forbidden, Principal, role_table
from xinyong.catalog.service import current_catalog
from xinyong.core.errors import InvalidInput, RuleDataError
from xinyong.core.workdays import add_workdays
from xinyong.objections import rules
from xinyong.objections.service import rules_paths

from ..factories import numbered_uscc

DEFAULTS = rules.load(rules_paths(Path("/nonexistent")))


@pytest.mark.parametrize(("rule", "filed", "due"), [
    ("an ordinary week: 7 working days skip one weekend", date(2026, 11, 20), date(2026, 12, 1)),
    ("filed on a Saturday: counting starts on Monday", date(2026, 11, 21), date(2026, 12, 1)),
    ("National Day 2025: Oct 1–8 off, Sat Oct 11 is worked", date(2025, 9, 30), date(2025, 10, 16)),
    ("make-up Sunday Sep 28 2025 counts as a working day", date(2025, 9, 26), date(2025, 10, 13)),
    ("Spring Festival 2026: Feb 15–23 off, Sat Feb 14 and 28 worked", date(2026, 2, 13),
     date(2026, 3, 2)),
])
def test_due_date_counts_official_working_days(rule: str, filed: date, due: date) -> None:
    assert rules.due_date(filed, DEFAULTS, add_workdays) == due, rule


@pytest.mark.parametrize(("rule", "status", "today", "overdue"), [
    ("not overdue on the due day itself", "open", date(2026, 12, 1), False),
    ("overdue the day after the due day", "open", date(2026, 12, 2), True),
    ("not overdue the day before", "open", date(2026, 11, 30), False),
    ("a suspended case had its decision in time", "suspended", date(2027, 1, 1), False),
    ("a closed case is never overdue", "rejected", date(2027, 1, 1), False),
])
def test_overdue_is_derived_from_status_and_day(rule: str, status: str, today: date,
                                                 overdue: bool) -> None:
    assert rules.is_overdue(status, date(2026, 12, 1), today) is overdue, rule


@pytest.mark.parametrize(("status", "action", "reason", "after"), [
    ("open", "correct", None, "corrected"),
    ("open", "revoke", None, "revoked"),
    ("open", "suspend", None, "suspended"),
    ("open", "reject", "决定书文号与原件一致，信息无误", "rejected"),
    ("suspended", "resume", "核实无误，恢复公示", "resumed"),
    ("suspended", "revoke", None, "revoked"),
    ("suspended", "correct", None, "corrected"),
])
def test_allowed_transitions(status: str, action: str, reason: str | None, after: str) -> None:
    assert rules.next_status(status, action, reason) == after


@pytest.mark.parametrize(("rule", "status", "action", "reason", "code"), [
    ("deciding a closed case", "rejected", "revoke", None, "objection_closed"),
    ("deciding twice (revoked, then reject)", "revoked", "reject", "理由", "objection_closed"),
    ("suspending twice", "suspended", "suspend", None, "objection_transition"),
    ("rejecting a suspended case: resume instead", "suspended", "reject", "理由", "objection_transition"),
    ("resuming what was never suspended", "open", "resume", "理由", "objection_transition"),
    ("a rejection without a written reason", "open", "reject", "  ", "reason_required"),
    ("an unknown action", "open", "delete", None, "invalid_action"),
    ("a reason PostgreSQL cannot store", "open", "reject", "理由\x00", "reason_invalid"),
])
def test_refused_transitions(rule: str, status: str, action: str, reason: str | None,
                             code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.next_status(status, action, reason)
    assert caught.value.code == code, rule


def test_case_numbers_are_dated_and_random() -> None:
    no = rules.case_no(date(2026, 11, 22), b"\x00\x01\x02\x03\x04")
    assert no == "YY20261122AAAQEAYE" and len(no) == rules.CASE_NO_LENGTH
    assert rules.is_case_no(no) and not rules.is_case_no("YY2026112200000001")
    with pytest.raises(ValueError):
        rules.case_no(date(2026, 11, 22), b"\x00")


def _principal(role: str, department: str | None = None, subject: str | None = None) -> Principal:
    r = role_table().role(role)
    return Principal(f"{role}1", role, department, r.permissions, subject=subject)


def test_only_the_subjects_own_enterprise_may_file() -> None:
    mine = numbered_uscc(5)
    rules.check_own_subject(_principal("enterprise", subject=mine), mine)
    for principal, code in ((_principal("enterprise", subject=numbered_uscc(6)), mine),
                            (_principal("enterprise", subject=mine), None),
                            (_principal("reviewer"), mine)):
        with pytest.raises(Forbidden) as caught:
            rules.check_own_subject(principal, code)
        assert caught.value.code == "not_own_subject"


@pytest.mark.parametrize(("role", "department", "record_department", "allowed"), [
    ("reporter", "市场监管局", "市场监管局", True),
    ("reporter", "市场监管局", "税务局", False),
    ("reviewer", None, "税务局", True),
    ("reviewer", "信用办", "税务局", True),  # the credit office's reviewers decide for all
])
def test_deciders_are_scoped_to_their_department(role: str, department: str | None,
                                                 record_department: str, allowed: bool) -> None:
    principal = _principal(role, department)
    if allowed:
        rules.check_decider(principal, role_table().role(role), record_department)
    else:
        with pytest.raises(Forbidden) as caught:
            rules.check_decider(principal, role_table().role(role), record_department)
        assert caught.value.code == "other_department"


@pytest.mark.parametrize(("text", "ok"), [
    ("太短了", False), ("一二三四五六七八九", False), ("一二三四五六七八九十", True),
    ("  一二三四五六七八九  ", False), ("字" * 2000, True), ("字" * 2001, False),
    ("一二三四五六七八九十\x00", False),
])
def test_reason_length_is_10_to_2000_characters(text: str, ok: bool) -> None:
    assert (rules.reason_problem(text, DEFAULTS) is None) is ok


@pytest.mark.parametrize(("name", "head", "kind"), [
    ("决定书.pdf", b"%PDF-1.7\n", "pdf"),
    ("照片.JPG", b"\xff\xd8\xff\xe0\x00\x10JF", "jpg"),
    ("照片.jpeg", b"\xff\xd8\xff\xe1\x00\x10Ex", "jpg"),
    ("截图.png", b"\x89PNG\r\n\x1a\n", "png"),
    ("伪装.pdf", b"MZ\x90\x00\x03\x00\x00\x00", None),  # an executable renamed .pdf
    ("错配.png", b"%PDF-1.4\n", None),  # content and name disagree
    ("说明.docx", b"PK\x03\x04\x14\x00", None),
    ("无扩展名", b"%PDF-1.4\n", None),
])
def test_attachments_are_recognised_by_content_and_name(name: str, head: bytes,
                                                        kind: str | None) -> None:
    if kind is None:
        with pytest.raises(InvalidInput) as caught:
            rules.attachment_kind(name, head, DEFAULTS)
        assert caught.value.code == "file_type"
    else:
        assert rules.attachment_kind(name, head, DEFAULTS) == kind


@pytest.mark.parametrize(("name", "safe"), [
    ("../../etc/passwd", "passwd"), ("C:\\x\\决定书 (1).pdf", "决定书_(1).pdf"), (".hidden", "hidden"),
    ("", "附件"),
])
def test_stored_names_cannot_leave_the_case_folder(name: str, safe: str) -> None:
    assert rules.safe_name(name) == safe


def test_a_locality_overrides_the_deadline(tmp_path: Path) -> None:
    (tmp_path / rules.FILE).write_text("decide_working_days: 5\nattachments: {max_files: 3}\n",
                                       encoding="utf-8")
    local = rules.load(rules_paths(tmp_path))
    assert local.decide_working_days == 5 and local.max_files == 3 and local.max_mib == 10
    assert rules.due_date(date(2026, 11, 20), local, add_workdays) == date(2026, 11, 27)


@pytest.mark.parametrize(("content", "message"), [
    ("decide_working_days: 0\n", "decide_working_days：应为 1 到 60"),
    ("decide_wroking_days: 5\n", "未知的键 decide_wroking_days"),
    ("attachments: {types: [pdf, exe]}\n", "不支持的附件类型 'exe'"),
    ("reason: {min_chars: 50, max_chars: 20}\n", "max_chars（20）小于 min_chars（50）"),
])
def test_a_bad_locality_file_names_file_entry_and_reason(tmp_path: Path, content: str,
                                                         message: str) -> None:
    (tmp_path / rules.FILE).write_text(content, encoding="utf-8")
    with pytest.raises(RuleDataError) as caught:
        rules.load(rules_paths(tmp_path))
    assert "异议规则文件 objections.yaml（合并" in caught.value.message
    assert message in caught.value.message


PAYLOAD = {"subject_name": "厦门市测试贸易有限公司", "subject_category": "法人及非法人组织",
           "uscc": numbered_uscc(5), "doc_no": "厦思市监罚〔2026〕1号", "penalty_categories": "罚款",
           "fine_amount": "20", "decision_date": "2026-10-01", "valid_until": "2027-10-01"}


def test_a_correction_validates_values_as_ingest_does() -> None:
    catalog = current_catalog()
    item = catalog.item("penalty")
    assert item is not None
    payload, fine = dict(PAYLOAD), "fine_amount"
    values = rules.corrected_values(catalog, item, payload, {fine: "5"}, date(2026, 11, 22))
    assert values[fine] == "5" and values["doc_no"] == payload["doc_no"]
    for changes, code, text in (
            ({}, "changes_required", "至少一项"),
            ({fine: "20"}, "changes_required", "相同"),
            ({"uscc": numbered_uscc(6)}, "invalid_changes", "不能通过异议更正"),
            ({"doc_no": "另一个文号"}, "invalid_changes", "不能通过异议更正"),
            ({"nonsense": "x"}, "invalid_changes", "不是"),
            ({fine: "很多"}, "invalid_changes", "金额"),
            ({"decision_date": "2030-01-01"}, "invalid_changes", "晚于今天"),
            ({"valid_until": "2026-09-01"}, "invalid_changes", "不能早于"),
            ({"doc_no": ""}, "invalid_changes", "不能通过异议更正")):
        with pytest.raises(InvalidInput) as caught:
            rules.corrected_values(catalog, item, payload, changes, date(2026, 11, 22))
        assert caught.value.code == code and text in caught.value.message, (changes, caught.value)
