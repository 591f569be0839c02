"""Warning rules as data: the shipped defaults, every refusal at load naming file, entry and
reason, the window's edges, the sentences, the close transition and who sees what."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from xinyong.accounts.rules import Forbidden, Principal, role_table
from xinyong.core.errors import InvalidInput, RuleDataError
from xinyong.warnings import rules, service

SHIPPED = service.paths(Path("/nonexistent"))[0]


def load_with(tmp_path: Path, text: str) -> rules.WarningRules:
    local = tmp_path / "warnings.yaml"
    local.write_text(text, "utf-8")
    return rules.load([SHIPPED, local])


def test_the_shipped_defaults_are_the_xiamen_rules_and_a_grade_drop() -> None:
    table = rules.load([SHIPPED])
    found = {r.code: (r.kind, r.threshold, r.window_months, r.natural_persons) for r in table.rules.values()}
    assert found == {
        "penalties_many": ("penalty_count", 60, 12, False),
        "penalties_departments": ("penalty_departments", 3, 12, False),
        "serious_lists": ("serious_lists", 2, None, False),
        "grade_drop": ("grade_drop", 2, 12, False),
    }
    assert list(table.actions.values()) == ["约谈", "整改", "信用修复", "移送", "其他"]
    assert all(r.triggering_recipients and r.basis for r in table.rules.values())


@pytest.mark.parametrize(("text", "reason"), [
    ("rules: {penalties_many: {kind: penalty_sum}}", "未知的条件种类 kind “penalty_sum”"),
    ("rules: {penalties_many: {threshold: 0}}", "threshold 应为正整数"),
    ("rules: {penalties_many: {threshold: 2.5}}", "threshold 应为正整数"),
    ("rules: {penalties_many: {window: {weeks: 2}}}", "window 应为 {months: N} 或 {years: N}"),
    ("rules: {serious_lists: {window: {months: 12}}}", "不设 window"),
    ("rules: {grade_drop: {natural_persons: true}}", "不能用于自然人"),
    ("rules: {penalties_many: {severity: urgent}}", "severity 应为"),
    ("rules: {penalties_many: {colour: red}}", "未知的键 colour"),
    ("rules: {penalties_many: {recipients: {triggering: false}}}", "预警不能无人接收"),
    ("rules: {penalties_many: {scorecard: public}}", "scorecard 只用于 grade_drop"),
    ("rules: {penalties_many: {name: ''}}", "应为非空文字"),
    ("rules: {Bad-Code: {name: x}}", "规则代码应为小写字母"),
    ("close_actions: {interview: ''}", "处置方式 interview"),
    ("thresholds: {}", "未知的顶层键 thresholds"),
])
def test_an_invalid_locality_file_is_refused_naming_file_entry_and_reason(
        tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(RuleDataError) as caught:
        load_with(tmp_path, text)
    assert reason in caught.value.message and "预警规则文件 warnings.yaml" in caught.value.message
    assert str(tmp_path) in caught.value.message  # the locality's file, by full path


def test_a_locality_lowers_a_threshold_switches_a_rule_off_and_adds_one(tmp_path: Path) -> None:
    table = load_with(tmp_path, """
rules:
  penalties_many: {threshold: 30}
  grade_drop: {enabled: false}
  construction_drop:
    name: 建筑业评价等级下降
    kind: grade_drop
    threshold: 1
    window: {years: 1}
    scorecard: construction
    recipients: {triggering: false, also: [厦门市建设局]}
    basis: 本地规则
""")
    assert table.rules["penalties_many"].threshold == 30 and "grade_drop" not in table.rules
    added = table.rules["construction_drop"]
    assert (added.window_months, added.scorecard, added.also) == (12, "construction", ("厦门市建设局",))


@pytest.mark.parametrize(("months", "as_of", "start"), [
    (12, date(2026, 3, 1), date(2025, 3, 1)),   # facts from 2025-03-02 count
    (12, date(2024, 2, 29), date(2023, 2, 28)),  # a leap day: back to the end of February
    (36, date(2026, 3, 31), date(2023, 3, 31)),
])
def test_the_window_starts_the_day_after_n_calendar_months_back(months: int, as_of: date,
                                                                  start: date) -> None:
    rule = rules.load([SHIPPED]).rules["penalties_many"]
    rule = rules.Rule(**{**rule.__dict__, "window_months": months})
    assert rule.window_start(as_of) == start


@pytest.mark.parametrize(("code", "facts", "sentence"), [
    ("penalties_many", {"penalties": 61, "departments": [{"department": "甲"}]},
     "近12个月受到61次行政处罚（1个部门），达到60次的预警线"),
    ("penalties_departments", {"departments": [{"department": d} for d in ("甲", "乙", "丙")]},
     "近12个月被3个部门行政处罚（甲、乙、丙），达到3个部门的预警线"),
    ("serious_lists", {"lists": [{"name": "失信被执行人"}, {"name": "重大税收违法失信主体"}]},
     "同时列入2种严重失信名单（失信被执行人、重大税收违法失信主体），达到2种的预警线"),
    ("grade_drop", {"scorecard": "public", "previous_grade": "A", "grade": "C", "drop": 2,
                    "as_of": "2026-03-01"},
     "综合评价（public）等级由A降为C，下降2级（2026-03-01），达到2级的预警线"),
])
def test_each_warning_reads_as_one_sentence(code: str, facts: dict[str, object], sentence: str) -> None:
    assert rules.summary(rules.load([SHIPPED]).rules[code], facts) == sentence


@pytest.mark.parametrize(("value", "code"), [
    ("约谈", "interview"), ("interview", "interview"), (" 信用修复 ", "repair"), ("移送", "referral"),
])
def test_a_close_action_by_name_or_code(value: str, code: str) -> None:
    assert rules.load([SHIPPED]).action(value) == code


@pytest.mark.parametrize(("status", "action", "note", "error"), [
    ("open", None, "已约谈", "action_required"),
    ("open", "罚款", "已约谈", "unknown_action"),
    ("open", "约谈", " ", "note_required"),
    ("open", "约谈", "长" * 2001, "too_long"),
    ("open", "约谈", "已\x00约谈", "invalid_text"),
    ("closed", "约谈", "已约谈", "warning_closed"),
])
def test_closing_is_refused_without_action_or_note_or_when_closed(status: str, action: str | None,
                                                                   note: str, error: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.load([SHIPPED]).action(action)
        rules.check_close(status, note)
    assert caught.value.code == error


def test_department_accounts_see_their_own_warnings_the_credit_office_all() -> None:
    table = role_table()
    reporter = Principal("r", "reporter", "甲局", frozenset())
    staff = Principal("s", "staff", None, frozenset())
    assert rules.scope(reporter, table.role("reporter")) == "甲局"
    assert rules.scope(staff, table.role("staff")) is None
    rules.check_addressed("甲局", ["甲局", "乙局"], 1)
    rules.check_addressed(None, [], 1)
    with pytest.raises(Forbidden, match="不是发给本部门（丙局）"):
        rules.check_addressed("丙局", ["甲局"], 1)
