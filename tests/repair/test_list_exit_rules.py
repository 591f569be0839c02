"""Leaving a list by repair as pure rules: whether a subject may apply on a day, from when and
why, around each boundary day (the minimum time listed, term end, removal, month-end dates),
and the rule data (lists.yaml `repair_after`, repair.yaml `list_exit`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from xinyong.core.dates import add_months
from xinyong.core.errors import RuleDataError
from xinyong.lists import rules as list_rules
from xinyong.lists import service as lists
from xinyong.repair import queries as repair
from xinyong.repair import rules


def state(kind: str = "market_serious_illegal", **over: Any) -> rules.EntryState:
    k = lists.current_kinds().kinds[kind]
    listed = date(2024, 3, 11)
    base = rules.EntryState(
        ref="L1", kind_code=k.code, kind_name=k.name, usable=True, list_type=k.list_type,
        repair_allowed=k.repair, repair_after_months=k.repair_after_months, authority=k.authority,
        exit=k.exit, listed_on=listed, ends_on=k.ends_on(listed))
    return replace(base, **over)


def judge(s: rules.EntryState, day: date) -> rules.EntryEligibility:
    return rules.entry_eligibility(repair.current_rules(), s, day, add_months)


D = date.fromisoformat
CASES = [
    # (why, state, day, eligible, eligible_from, words in the reason)
    ("1年未满的前一天", state(), D("2025-03-10"), False, "2025-03-11", "列入满1年后方可申请"),
    ("满1年当天", state(), D("2025-03-11"), True, "2025-03-11", "列入已满1年"),
    ("满1年次日", state(), D("2025-03-12"), True, "2025-03-11", "列入已满1年"),
    ("列入当天", state(), D("2024-03-11"), False, "2025-03-11", "自2025-03-11起可申请"),
    ("尚未列入", state(), D("2024-03-10"), False, None, "尚未列入"),
    ("期满前一天", state(), D("2027-03-10"), True, "2025-03-11", "2027-03-11（不含当日）期满自动移出"),
    ("期满当天", state(), D("2027-03-11"), False, None, "列入期限已于2027-03-11届满"),
    ("闰日列入，满1年为2月28日", state(listed_on=D("2024-02-29"), ends_on=D("2027-02-28")),
     D("2025-02-28"), True, "2025-02-28", "列入已满1年"),
    ("闰日列入，前一天", state(listed_on=D("2024-02-29"), ends_on=D("2027-02-28")),
     D("2025-02-27"), False, "2025-02-28", "列入满1年后"),
    ("不设最短期限：列入当天即可", state("tax_major_violation"), D("2024-03-11"), True, "2024-03-11",
     "不设最短列入期限"),
    ("失信被执行人不适用信用修复", state("court_judgment_defaulter"), D("2025-06-01"), False, None,
     "由人民法院按规定移出"),
    ("红名单无需修复", state("tax_a_grade"), D("2024-06-01"), False, None, "守信激励名单"),
    ("已由认定单位移出（当天）", state(ended_on=D("2025-04-01"), end_reason="removed"), D("2025-04-01"),
     False, None, "由认定单位移出"),
    ("移出前一天仍可申请", state(ended_on=D("2025-04-01"), end_reason="removed"), D("2025-03-31"),
     True, "2025-03-11", "列入已满1年"),
    ("已经信用修复移出", state(ended_on=D("2025-04-01"), end_reason="repaired"), D("2025-05-01"),
     False, None, "经信用修复移出"),
    ("办理中的申请", state(open_case="XF20250311AAAAAAAA"), D("2025-04-01"), False, None, "请勿重复申请"),
    ("异议暂停公示", state(stops=(("suspended", D("2025-03-20")),)), D("2025-04-01"), False, None,
     "因异议处理暂停公示"),
    ("数据名单已修复", state(stops=(("repaired", D("2025-03-20")),)), D("2025-04-01"), False, None,
     "经信用修复移出"),
    ("已被更正的版本", state(superseded=True), D("2025-04-01"), False, None, "已被更正"),
    ("没有法律依据的种类", state(usable=False), D("2025-04-01"), False, None, "没有法律依据"),
]


@pytest.mark.parametrize(("why", "s", "day", "eligible", "eligible_from", "words"), CASES,
                         ids=[c[0] for c in CASES])
def test_entry_eligibility_around_the_boundaries(why: str, s: rules.EntryState, day: date,
                                                  eligible: bool, eligible_from: str | None,
                                                  words: str) -> None:
    found = judge(s, day)
    assert found.eligible is eligible, found.reasons
    assert found.as_json()["eligible_from"] == eligible_from
    assert words in "；".join(found.reasons)
    assert found.as_json()["entry"] == "L1" and "record" not in found.as_json()
    # an eligible answer names what must still be proved; a refusal names none
    assert bool(found.to_prove) is eligible


def test_what_must_be_proved_and_filed_is_per_kind() -> None:
    exit_rules = repair.current_rules().list_exit
    assert exit_rules is not None and exit_rules.name == "移出严重失信主体名单"
    codes = [m.code for m in exit_rules.materials_for("tax_major_violation")]
    assert codes[:2] == ["commitment", "performance"] and "tax_cleared" in codes
    assert [m.code for m in exit_rules.materials_for("market_serious_illegal")][-1] == "court_ruling"
    found = judge(state("tax_major_violation"), D("2024-05-01"))
    assert any("缴清税款" in t for t in found.to_prove)


def test_no_list_exit_rules_means_no_list_repair() -> None:
    found = rules.entry_eligibility(replace(repair.current_rules(), list_exit=None), state(),
                                    D("2025-06-01"), add_months)
    assert not found.eligible and "list_exit" in found.reasons[0]


def test_repair_after_is_data_and_checked(tmp_path: Path) -> None:
    kinds = lists.current_kinds().kinds
    assert kinds["market_serious_illegal"].repair_after_months == 12
    assert kinds["work_safety_serious"].repair_after_months == 12
    assert kinds["tax_major_violation"].repair_after_months is None
    assert not kinds["court_judgment_defaulter"].repair
    local = tmp_path / "lists.yaml"
    local.write_text("kinds:\n  - {code: court_judgment_defaulter, repair_after: {years: 1}}\n", "utf-8")
    with pytest.raises(RuleDataError, match=r"court_judgment_defaulter.*repair: true"):
        list_rules.load([*lists.kinds_paths()[:1], local])
    local.write_text("kinds:\n  - {code: tax_major_violation, repair_after: {months: 6}}\n", "utf-8")
    assert list_rules.load([*lists.kinds_paths()[:1], local]).kinds[
        "tax_major_violation"].repair_after_months == 6


def test_list_exit_rule_data_is_validated(tmp_path: Path) -> None:
    local = tmp_path / "repair.yaml"
    local.write_text("list_exit:\n  kinds:\n    tax_major_violation:\n      materials:\n"
                     "        - {code: commitment, name: 重复, required: true}\n", "utf-8")
    with pytest.raises(RuleDataError, match=r"list_exit\.kinds\.tax_major_violation\.materials\[0\]\.code"):
        rules.load([*repair.rules_paths(tmp_path / "none"), local])
    local.write_text("list_exit:\n  typo: 1\n", "utf-8")
    with pytest.raises(RuleDataError, match="未知的设置 typo"):
        rules.load([*repair.rules_paths(tmp_path / "none"), local])
