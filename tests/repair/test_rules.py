"""Repair rules as tables: eligibility on the days around each boundary, the case's state
machine, deadlines over Chinese holidays, file signatures and the rules file."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from xinyong.core.errors import InvalidInput, RuleDataError
from xinyong.core.workdays import add_workdays
from xinyong.repair import rules
from xinyong.repair.queries import current_rules, rules_paths

R = current_rules()

# 一般, decided 2024-10-11: shown 2024-10-11 … 2025-10-10, repair from 2025-01-11 (3 months)
ORDINARY = rules.RecordState(record=1, item_code="penalty", status="current", tier="一般",
                             published=True, start=date(2024, 10, 11), repair_from=date(2025, 1, 11),
                             end=date(2025, 10, 11), regime="2025")
# 严重, decided 2024-02-29: repair from 2025-02-28 (1 year, clamped), end 2027-02-28
SERIOUS = replace(ORDINARY, tier="严重", start=date(2024, 2, 29), repair_from=date(2025, 2, 28),
                  end=date(2027, 2, 28))
MINOR = replace(ORDINARY, tier="轻微", published=False, start=None, repair_from=None, end=None)


@pytest.mark.parametrize(("name", "state", "day", "eligible", "eligible_from", "reason"), [
    ("一般: the day before the 3-month minimum ends", ORDINARY, date(2025, 1, 10), False,
     date(2025, 1, 11), "最短公示期3个月未满，自2025-01-11起可申请"),
    ("一般: repair eligible the day the 3-month minimum ends", ORDINARY, date(2025, 1, 11), True,
     date(2025, 1, 11), "最短公示期3个月已满（自2025-01-11起可申请）"),
    ("一般: the last day in publicity", ORDINARY, date(2025, 10, 10), True, date(2025, 1, 11),
     "最短公示期3个月已满"),
    ("一般: the day publicity ends there is nothing to repair", ORDINARY, date(2025, 10, 11), False,
     None, "公示期已于2025-10-11届满，已停止公示，无需信用修复"),
    ("一般: decided today", ORDINARY, date(2024, 10, 11), False, date(2025, 1, 11), "3个月未满"),
    ("严重: the day before the 1-year minimum ends", SERIOUS, date(2025, 2, 27), False,
     date(2025, 2, 28), "最短公示期1年未满，自2025-02-28起可申请"),
    ("严重: eligible the day the 1-year minimum ends", SERIOUS, date(2025, 2, 28), True,
     date(2025, 2, 28), "最短公示期1年已满"),
    ("严重: the last day of 3 years", SERIOUS, date(2027, 2, 27), True, date(2025, 2, 28), "已满"),
    ("严重: after 3 years", SERIOUS, date(2027, 2, 28), False, None, "届满"),
    ("轻微 is not published: nothing to repair", MINOR, date(2025, 1, 11), False, None,
     "失信程度轻微的行政处罚信息不予公示，无需信用修复"),
    ("a natural person's record not published", replace(MINOR, tier="一般"), date(2025, 1, 11), False,
     None, "该记录不予公示，无需信用修复"),
    ("already repaired", replace(ORDINARY, repaired_on=date(2025, 2, 1),
                                 stops=(("repaired", date(2025, 2, 1)),)),
     date(2025, 3, 1), False, None, "该记录已于2025-02-01完成信用修复"),
    ("an open case", replace(ORDINARY, open_case="XF20250201ABCDEFGH"), date(2025, 3, 1), False, None,
     "已有办理中的信用修复申请（XF20250201ABCDEFGH）"),
    ("suspended during an objection", replace(ORDINARY, stops=(("suspended", date(2025, 2, 1)),)),
     date(2025, 3, 1), False, None, "因异议处理暂停公示"),
    ("revoked after an objection", replace(ORDINARY, stops=(("revoked", date(2025, 2, 1)),)),
     date(2025, 3, 1), False, None, "已于2025-02-01停止公示"),
    ("a superseded version", replace(ORDINARY, status="superseded"), date(2025, 3, 1), False, None,
     "请对现行版本申请"),
    ("a licence is not dishonesty information", replace(ORDINARY, item_code="licence", tier=None),
     date(2025, 3, 1), False, None, "不是行政处罚信息"),
])
def test_eligibility(name: str, state: rules.RecordState, day: date, eligible: bool,
                     eligible_from: date | None, reason: str) -> None:
    found = rules.eligibility(R, state, day)
    assert (found.eligible, found.eligible_from) == (eligible, eligible_from), name
    assert any(reason in r for r in found.reasons), (name, found.reasons)
    assert bool(found.to_prove) == eligible  # an eligible record still has duties to prove


def test_excluded_regime_and_tier_are_data() -> None:
    strict = replace(R, tiers=("一般",), excluded_regimes={"2019": "特定严重失信信息不予修复"})
    assert not rules.eligibility(strict, SERIOUS, date(2025, 3, 1)).eligible
    old = rules.eligibility(strict, replace(ORDINARY, regime="2019"), date(2025, 3, 1))
    assert not old.eligible and "特定严重失信信息不予修复" in old.reasons[0]


def test_json_shape() -> None:
    assert rules.eligibility(R, ORDINARY, date(2025, 1, 10)).as_json() == {
        "record": 1, "eligible": False, "eligible_from": "2025-01-11",
        "reasons": ["最短公示期3个月未满，自2025-01-11起可申请"]}


@pytest.mark.parametrize(("status", "action", "after"), [
    ("submitted", "accept", "accepted"), ("submitted", "return", "returned"),
    ("returned", "resubmit", "submitted"), ("accepted", "approve", "approved"),
    ("accepted", "reject", "rejected"),
])
def test_allowed_transitions(status: str, action: str, after: str) -> None:
    assert rules.next_status(status, action) == after


@pytest.mark.parametrize(("status", "action", "says"), [
    ("submitted", "approve", "当前可以：受理、退回补正"),  # approving an un-accepted case
    ("approved", "approve", "已办结"),  # deciding twice
    ("rejected", "accept", "已办结"),
    ("returned", "accept", "当前可以：补正后重新提交"),
    ("accepted", "return", "不能退回补正"),
])
def test_illegal_transitions(status: str, action: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.next_status(status, action)
    assert caught.value.code == "illegal_transition" and says in caught.value.message


@pytest.mark.parametrize(("status", "since", "due"), [
    # 3 working days over the 2025 National Day holiday (10-01…10-08; 10-11 a make-up Saturday)
    ("submitted", date(2025, 9, 30), date(2025, 10, 11)),
    ("accepted", date(2025, 9, 30), date(2025, 10, 21)),  # 10 working days
    ("submitted", date(2025, 3, 7), date(2025, 3, 12)),  # a plain week: Fri + 3 = Wed
    ("returned", date(2025, 9, 30), None),  # waiting for the subject
    ("approved", date(2025, 9, 30), None),
])
def test_due_dates_count_chinese_working_days(status: str, since: date, due: date | None) -> None:
    assert rules.due_on(R, status, since, add_workdays) == due


@pytest.mark.parametrize(("due", "status", "day", "late"), [
    (date(2025, 10, 11), "submitted", date(2025, 10, 11), False),
    (date(2025, 10, 11), "submitted", date(2025, 10, 12), True),
    (date(2025, 10, 11), "accepted", date(2025, 10, 12), True),
    (None, "returned", date(2030, 1, 1), False),
    (date(2025, 10, 11), "approved", date(2030, 1, 1), False),
])
def test_overdue_is_derived(due: date | None, status: str, day: date, late: bool) -> None:
    assert rules.overdue(due, status, day) is late


def test_case_numbers_are_unguessable() -> None:
    numbers = {rules.new_case_no(date(2025, 3, 14)) for _ in range(200)}
    assert len(numbers) == 200
    assert all(re.match(rules.CASE_NO_PATTERN, n) and n.startswith("XF20250314") for n in numbers)


@pytest.mark.parametrize(("head", "kind"), [
    (b"%PDF-1.7\n", "pdf"), (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpg"),
    (b"\x89PNG\r\n\x1a\n\x00", "png"), (b"PK\x03\x04", None), (b"<html>", None), (b"", None),
])
def test_sniff_by_content(head: bytes, kind: str | None) -> None:
    assert rules.sniff(head) == kind


def test_shipped_rules() -> None:
    assert [m.code for m in R.required] == ["commitment", "performance"]
    assert R.material("commitment") and R.material("commitment").name == "信用承诺书"  # type: ignore[union-attr]
    assert (R.accept_workdays, R.return_workdays, R.decide_workdays) == (3, 3, 10)
    assert R.tiers == ("一般", "严重") and R.max_file_mib == 10


@pytest.mark.parametrize(("local", "says"), [
    ("deadlines: {decide_workdays: 0}\n", "deadlines.decide_workdays：应为不小于1的整数"),
    ("penalty: {tiers: [中等]}\n", "“中等”不是失信严重程度"),
    ("files: {types: [exe]}\n", "不支持的文件类型“exe”"),
    ("penalty: {material: []}\n", "未知的设置 material"),
    ("penalty: {materials: [{code: a, name: 甲, required: 是}]}\n", "required：应为 true 或 false"),
])
def test_a_locality_file_is_validated(tmp_path: Path, local: str, says: str) -> None:
    (tmp_path / "repair.yaml").write_text(local, "utf-8")
    with pytest.raises(RuleDataError) as caught:
        rules.load(rules_paths(tmp_path))
    assert says in caught.value.message and str(tmp_path / "repair.yaml") in caught.value.message


def test_a_locality_overrides_a_deadline(tmp_path: Path) -> None:
    (tmp_path / "repair.yaml").write_text("deadlines: {decide_workdays: 5}\n", "utf-8")
    local = rules.load(rules_paths(tmp_path))
    assert local.decide_workdays == 5 and local.accept_workdays == 3
