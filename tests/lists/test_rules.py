"""List rules, table-driven: loading kinds (a kind without basis is refused), the state machine,
the waiting period in working days across Chinese holidays, and activity on boundary days."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from xinyong.core.errors import InvalidInput, RuleDataError
from xinyong.core.workdays import default_calendar
from xinyong.lists import rules
from xinyong.lists.service import kinds_paths

SHIPPED = kinds_paths(data_dir=None)[:1]


def table(tmp_path: Path, text: str) -> rules.KindTable:
    local = tmp_path / "lists.yaml"
    local.write_text(text, "utf-8")
    return rules.load([*SHIPPED, local])


def kind(**over: object) -> rules.ListKind:
    base = rules.load(SHIPPED).kinds["market_serious_illegal"]
    values = {**base.__dict__, **over}
    return rules.ListKind(**values)


def test_shipped_kinds_all_have_a_basis_and_both_colours() -> None:
    loaded = rules.load(SHIPPED)
    assert not loaded.refused
    assert {"court_judgment_defaulter", "tax_major_violation", "market_serious_illegal",
            "tax_a_grade"} <= set(loaded.kinds)
    assert {k.list_type for k in loaded.kinds.values()} == {"black", "red"}
    assert all(k.basis.document for k in loaded.kinds.values())


def test_a_kind_without_basis_is_kept_out_of_the_usable_table_and_reported(tmp_path: Path) -> None:
    loaded = table(tmp_path, """
kinds:
  - {code: local_bad, name: 本地失信名单, list_type: black, authority: 某局, criteria: 某标准, exit: 三年}
""")
    assert "local_bad" not in loaded.kinds
    assert loaded.refused[0].code == "local_bad" and "法律依据" in loaded.refused[0].reason
    assert loaded.by_name_or_code("本地失信名单") is None
    assert "没有法律依据" in rules.refusal_message("本地失信名单", loaded)


def test_a_locality_removing_the_basis_of_a_national_kind_makes_it_unusable(tmp_path: Path) -> None:
    loaded = table(tmp_path, "kinds:\n  - {code: tax_a_grade, basis: null}\n")
    assert "tax_a_grade" not in loaded.kinds and loaded.refused_named("纳税信用A级纳税人")


def test_a_basis_cannot_be_empty_in_code_either() -> None:
    with pytest.raises(ValueError, match="法律依据"):
        rules.LegalBasis("  ")
    with pytest.raises(TypeError):
        kind(basis=None)


def test_a_locality_overrides_a_kind_key_by_key(tmp_path: Path) -> None:
    loaded = table(tmp_path, "kinds:\n  - {code: tax_major_violation, waiting_workdays: 10}\n")
    tax = loaded.kinds["tax_major_violation"]
    assert tax.waiting_workdays == 10 and tax.term_months == 36 and tax.basis.document


@pytest.mark.parametrize(("text", "reason"), [
    ("kinds:\n  - {code: x, name: 甲, list_type: grey, basis: 某法, authority: a, criteria: b, exit: c}",
     "list_type"),
    ("kinds:\n  - {code: tax_a_grade, term: {weeks: 2}}", "term"),
    ("kinds:\n  - {code: tax_a_grade, waiting_workdays: -1}", "waiting_workdays"),
    ("kinds:\n  - {code: tax_a_grade, waiting_workdays: 3}", "notice_required"),
    ("kinds:\n  - {code: tax_a_grade, colour: red}", "未知的键"),
    ("kinds:\n  - {code: tax_a_grade, name: 失信被执行人}", "重复"),
    ("decision_due_workdays: 0", "decision_due_workdays"),
    ("lists: []", "未知的键"),
])
def test_broken_files_name_the_file_the_entry_and_the_reason(tmp_path: Path, text: str,
                                                             reason: str) -> None:
    with pytest.raises(RuleDataError, match=reason) as caught:
        table(tmp_path, text)
    assert "lists.yaml" in str(caught.value)


@pytest.mark.parametrize(("status", "notice_required", "allowed"), [
    ("proposed", True, {"notice", "withdrawal"}),
    ("proposed", False, {"notice", "withdrawal", "decision"}),
    ("notified", True, {"objection", "decision", "withdrawal"}),
    ("decided", True, set()),
    ("withdrawn", True, set()),
])
def test_the_state_machine(status: str, notice_required: bool, allowed: set[str]) -> None:
    k = kind(notice_required=notice_required, waiting_workdays=5 if notice_required else 0)
    assert rules.allowed_steps(status, k) == allowed
    for step in set(rules.STEPS) - allowed:
        with pytest.raises(InvalidInput):
            rules.check_step(step, status, k)


def test_deciding_before_notice_names_the_missing_notice() -> None:
    with pytest.raises(InvalidInput, match="须先告知") as caught:
        rules.check_step("decision", "proposed", kind())
    assert caught.value.code == "notice_required"


CAL = default_calendar()


@pytest.mark.parametrize(("rule", "notified", "waiting", "last", "first"), [
    ("5 working days from a Monday end the next Monday", date(2025, 3, 3), 5,
     date(2025, 3, 10), date(2025, 3, 11)),
    ("the notice day itself does not count (Friday notice)", date(2025, 3, 7), 1,
     date(2025, 3, 10), date(2025, 3, 11)),
    ("National Day 2025-10-01..08 does not count; make-up Saturday 10-11 does", date(2025, 9, 30), 5,
     date(2025, 10, 14), date(2025, 10, 15)),
    ("make-up workday Sunday 2025-09-28 counts", date(2025, 9, 26), 1,
     date(2025, 9, 28), date(2025, 9, 29)),
    ("Spring Festival 2025-01-28..02-04 does not count", date(2025, 1, 27), 2,
     date(2025, 2, 6), date(2025, 2, 7)),
    ("no waiting period: decide on the notice day", date(2025, 3, 3), 0, None, date(2025, 3, 3)),
])
def test_waiting_period_in_working_days(rule: str, notified: date, waiting: int,
                                        last: date | None, first: date) -> None:
    k = kind(waiting_workdays=waiting)
    assert rules.objection_last_day(k, notified, CAL) == last, rule
    assert rules.decide_from(k, notified, notified, CAL) == first, rule
    if last is not None:
        rules.check_objection_day(last, last)
        with pytest.raises(InvalidInput, match=last.isoformat()):
            rules.check_objection_day(first, last)
    rules.check_decision_day(first, first)
    with pytest.raises(InvalidInput, match=first.isoformat()):
        rules.check_decision_day(date.fromordinal(first.toordinal() - 1), first)


def test_decision_due_counts_working_days_after_the_waiting_period() -> None:
    k = kind(waiting_workdays=5)
    assert rules.decision_due(k, date(2025, 3, 3), date(2025, 3, 1), 10, CAL) == date(2025, 3, 24)


@pytest.mark.parametrize(("rule", "day", "ends_on", "ended_on", "active"), [
    ("active on the listing day", date(2025, 1, 10), date(2028, 1, 10), None, True),
    ("not active the day before listing", date(2025, 1, 9), date(2028, 1, 10), None, False),
    ("active the last day of the term", date(2028, 1, 9), date(2028, 1, 10), None, True),
    ("leaves on the term end", date(2028, 1, 10), date(2028, 1, 10), None, False),
    ("no term: active until removed", date(2040, 1, 1), None, None, True),
    ("removed: gone from that day", date(2026, 5, 1), None, date(2026, 5, 1), False),
    ("removed later: still active the day before", date(2026, 4, 30), None, date(2026, 5, 1), True),
])
def test_an_entry_is_active_by_its_dates(rule: str, day: date, ends_on: date | None,
                                         ended_on: date | None, active: bool) -> None:
    assert rules.is_active(day, date(2025, 1, 10), ends_on, ended_on) is active, rule


@pytest.mark.parametrize(("months", "listed", "ends"), [
    (36, date(2024, 2, 29), date(2027, 2, 28)),
    (12, date(2025, 10, 11), date(2026, 10, 11)),
    (None, date(2025, 10, 11), None),
])
def test_term_end_is_calendar_arithmetic(months: int | None, listed: date, ends: date | None) -> None:
    assert kind(term_months=months).ends_on(listed) == ends
