"""Publicity windows as pure rules: tiers, thresholds per subject kind, calendar months, the
licence rule, the rules file and a locality's override. Milliseconds each."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from xinyong.catalog.service import current_catalog
from xinyong.core.errors import RuleDataError
from xinyong.core.ruledata import merge
from xinyong.publicity import rules
from xinyong.publicity.rules import LICENCE_VALIDITY, PENALTY_TIERS
from xinyong.publicity.service import rules_paths

NATIONAL = rules_paths(Path("/nonexistent"))[0]
CATEGORIES = [v.value for v in current_catalog().enums["penalty_category"]]
RULES = rules.load([NATIONAL], CATEGORIES)
ORG, PERSON, BUSINESS = "organisation", "natural_person", "individual_business"


def penalty(categories: str, fine: str | None = None, severity: str | None = None,
            decided: date = date(2024, 10, 11), kind: str = ORG,
            publicity: rules.PublicityRules = RULES) -> rules.Window:
    values = {"penalty_categories": categories}
    if fine is not None:
        values["fine_amount"] = fine
    if severity is not None:
        values["severity"] = severity
    return rules.window(publicity, PENALTY_TIERS, values, decided, kind)


def raw_national() -> dict[str, Any]:
    return dict(yaml.safe_load(NATIONAL.read_text("utf-8")))


# --- tiers: one row per rule ------------------------------------------------------------

@pytest.mark.parametrize(("rule", "categories", "fine", "kind", "tier"), [
    ("警告 alone is 轻微", "警告", None, ORG, "轻微"),
    ("通报批评 alone is 轻微", "通报批评", None, ORG, "轻微"),
    ("警告 and 通报批评 stay 轻微", "警告;通报批评", None, ORG, "轻微"),
    ("a fine just below the organisation threshold is 轻微", "罚款", "9.999999", ORG, "轻微"),
    ("a fine at the organisation threshold is 一般", "罚款", "10", ORG, "一般"),
    ("警告 plus a low fine stays 轻微", "警告;罚款", "0.2", ORG, "轻微"),
    ("警告 plus a larger fine is 一般", "警告;罚款", "50", ORG, "一般"),
    ("a natural person's fine below 1万 is 轻微", "罚款", "0.5", PERSON, "轻微"),
    ("a natural person's fine of 1万 is 一般", "罚款", "1", PERSON, "一般"),
    ("a 个体工商户 follows the natural person: 0.5万 is 轻微", "罚款", "0.5", BUSINESS, "轻微"),
    ("a 个体工商户 follows the natural person: 5万 is 一般", "罚款", "5", BUSINESS, "一般"),
    ("an organisation's 5万 fine is 轻微", "罚款", "5", ORG, "轻微"),
    ("a fine of 100万 is 严重", "罚款", "100", ORG, "严重"),
    ("a fine just below 100万 is 一般", "罚款", "99.999999", ORG, "一般"),
    ("a 罚款 without an amount cannot be shown low: 一般", "罚款", None, ORG, "一般"),
    ("警告 plus a 罚款 without amount is 一般", "警告;罚款", None, ORG, "一般"),
    ("没收违法所得 is 一般", "没收违法所得", None, ORG, "一般"),
    ("没收非法财物 is 一般", "没收非法财物", None, ORG, "一般"),
    ("暂扣许可证件 is 一般", "暂扣许可证件", None, ORG, "一般"),
    ("其他 is 一般", "其他", None, ORG, "一般"),
    ("吊销许可证件 is 严重", "吊销许可证件", None, ORG, "严重"),
    ("降低资质等级 is 严重", "降低资质等级", None, ORG, "严重"),
    ("限制开展生产经营活动 is 严重", "限制开展生产经营活动", None, ORG, "严重"),
    ("责令停产停业 is 严重", "责令停产停业", None, ORG, "严重"),
    ("责令关闭 is 严重", "责令关闭", None, ORG, "严重"),
    ("限制从业 is 严重", "限制从业", None, PERSON, "严重"),
    ("several categories take the longest: 警告 + 吊销", "警告;吊销许可证件", None, ORG, "严重"),
    ("several categories take the longest: low fine + 没收", "罚款;没收违法所得", "0.1", ORG, "一般"),
    ("a positive amount is a fine even without 罚款 listed", "警告", "150", ORG, "严重"),
])
def test_tier(rule: str, categories: str, fine: str | None, kind: str, tier: str) -> None:
    assert penalty(categories, fine, kind=kind).tier == tier, rule


@pytest.mark.parametrize("given_tier", rules.TIERS)
def test_the_tier_the_source_gives_wins(given_tier: str) -> None:
    w = penalty("吊销许可证件" if given_tier == "轻微" else "警告", severity=given_tier)
    assert w.tier == given_tier
    assert "来源标明" in w.reason


def test_reason_names_what_decided_the_tier() -> None:
    assert "吊销许可证件" in penalty("警告;吊销许可证件").reason
    assert "警告" not in penalty("警告;吊销许可证件").reason
    assert "罚款150万元" in penalty("罚款", "150").reason
    assert "未填写金额" in penalty("罚款").reason
    assert "个体工商户的小额罚款标准1万元" in penalty("罚款", "0.5", kind=BUSINESS).reason


# --- windows ------------------------------------------------------------------------------

def test_the_issue_example_one_year_window() -> None:
    w = penalty("罚款", "20", decided=date(2024, 10, 11))
    assert (w.tier, w.published) == ("一般", True)
    assert (w.start, w.earliest_repair, w.end) == (date(2024, 10, 11), date(2025, 1, 11),
                                                   date(2025, 10, 11))
    assert w.regime == "2025"


@pytest.mark.parametrize(("day", "shown"), [
    (date(2024, 10, 10), False),  # the day before the decision
    (date(2024, 10, 11), True),  # the decision day
    (date(2025, 10, 10), True),  # the last day of the year
    (date(2025, 10, 11), False),  # `end`: no longer shown
])
def test_in_publicity_on_the_days_around_each_boundary(day: date, shown: bool) -> None:
    assert penalty("罚款", "20", decided=date(2024, 10, 11)).in_publicity(day) is shown


def test_serious_window_one_to_three_years() -> None:
    w = penalty("责令停产停业", decided=date(2024, 10, 11))
    assert (w.start, w.earliest_repair, w.end) == (date(2024, 10, 11), date(2025, 10, 11),
                                                   date(2027, 10, 11))


def test_minor_is_not_published_and_has_no_dates() -> None:
    w = penalty("警告")
    assert (w.tier, w.published, w.start, w.earliest_repair, w.end) == (
        "轻微", False, None, None, None)
    assert not w.in_publicity(date(2024, 10, 11))
    assert "不予公示" in w.reason


@pytest.mark.parametrize(("decided", "categories", "boundary", "expected"), [
    (date(2024, 1, 31), "罚款", "earliest_repair", date(2024, 4, 30)),  # 3 months from a 31st
    (date(2023, 11, 30), "罚款", "earliest_repair", date(2024, 2, 29)),  # into a leap February
    (date(2024, 2, 29), "罚款", "end", date(2025, 2, 28)),  # 29 February + 1 year
    (date(2024, 2, 29), "责令关闭", "earliest_repair", date(2025, 2, 28)),
    (date(2024, 2, 29), "责令关闭", "end", date(2027, 2, 28)),
    (date(2024, 2, 29), "责令关闭", "end", date(2027, 2, 28)),
    (date(2023, 2, 28), "罚款", "end", date(2024, 2, 28)),  # the 28th stays the 28th
    (date(2024, 12, 31), "罚款", "end", date(2025, 12, 31)),
])
def test_calendar_months_clamp_to_the_month_end(decided: date, categories: str, boundary: str,
                                                expected: date) -> None:
    assert getattr(penalty(categories, decided=decided), boundary) == expected


def test_january_31st_plus_one_month_is_february_29th_in_2024() -> None:
    one_month = rules.parse(merge(raw_national(), {
        "tiers": {"一般": {"minimum_months": 1}}}), categories=CATEGORIES)
    w = penalty("罚款", decided=date(2024, 1, 31), publicity=one_month)
    assert w.earliest_repair == date(2024, 2, 29)


def test_natural_person_records_are_not_published_unless_configured() -> None:
    w = penalty("罚款", "5", kind=PERSON)
    assert (w.tier, w.published, w.start, w.end) == ("一般", False, None, None)
    assert "自然人" in w.reason
    opened = rules.parse(merge(raw_national(), {"natural_persons": {"published": True}}),
                         categories=CATEGORIES)
    w = penalty("罚款", "5", kind=PERSON, publicity=opened)
    assert (w.published, w.start) == (True, date(2024, 10, 11))


def test_licence_is_shown_while_valid() -> None:
    w = rules.window(RULES, LICENCE_VALIDITY, {"valid_to": "2030-03-02"}, date(2025, 3, 3), ORG)
    assert (w.tier, w.published, w.start, w.earliest_repair, w.end) == (
        None, True, date(2025, 3, 3), None, date(2030, 3, 3))
    assert w.in_publicity(date(2030, 3, 2)) and not w.in_publicity(date(2030, 3, 3))


def test_licence_without_an_end_stays_open_and_an_expired_one_is_empty() -> None:
    open_ended = rules.window(RULES, LICENCE_VALIDITY, {}, date(2025, 3, 3), ORG)
    assert (open_ended.start, open_ended.end) == (date(2025, 3, 3), None)
    assert open_ended.in_publicity(date(2099, 1, 1))
    expired = rules.window(RULES, LICENCE_VALIDITY, {"valid_to": "2024-12-31"},
                           date(2025, 3, 3), ORG)
    assert expired.start == expired.end == date(2025, 3, 3)
    assert not expired.in_publicity(date(2025, 3, 3))


def test_licence_written_as_valid_until_2099_is_open_ended() -> None:
    for written in ("2099-12-31", "9999-12-31"):
        w = rules.window(RULES, LICENCE_VALIDITY, {"valid_to": written}, date(2025, 3, 3), ORG)
        assert (w.start, w.end) == (date(2025, 3, 3), None) and "长期" in w.reason
    stricter = rules.parse(merge(raw_national(), {"rules": {"licence_validity": {
        "open_ended_from": "9999-12-31"}}}), categories=CATEGORIES)
    w = rules.window(stricter, LICENCE_VALIDITY, {"valid_to": "2099-12-31"}, date(2025, 3, 3), ORG)
    assert w.end == date(2100, 1, 1)
    with pytest.raises(RuleDataError, match="open_ended_from"):
        rules.parse(merge(raw_national(), {"rules": {"licence_validity": {
            "open_ended_from": "someday"}}}), categories=CATEGORIES)


def test_item_without_a_rule_is_never_published() -> None:
    w = rules.window(RULES, None, {}, date(2025, 3, 3), ORG)
    assert (w.tier, w.published, w.start, w.end) == (None, False, None, None)


def test_unknown_rule_name_is_a_rule_data_error() -> None:
    with pytest.raises(RuleDataError, match="未知的公示规则"):
        rules.window(RULES, "forever", {}, date(2025, 3, 3), ORG)
    with pytest.raises(RuleDataError, match="未知的公示规则"):
        rules.Windows(RULES, "forever")
    with pytest.raises(RuleDataError, match=r"目录条目 honour.*未知的公示规则"):
        rules.check_item(RULES, "honour", "forever", ["x"])
    with pytest.raises(RuleDataError, match="需要字段 penalty_categories"):
        rules.check_item(RULES, "local", PENALTY_TIERS, ["doc_no"])


# --- the fast path equals the rules -------------------------------------------------------

KINDS = st.sampled_from([ORG, PERSON, BUSINESS])
DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
AMOUNTS = st.one_of(st.none(), st.decimals(min_value=0, max_value=1000, places=2).map(
    lambda d: format(d.normalize(), "f")))
CATEGORY_SETS = st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=4, unique=True)


@given(CATEGORY_SETS, AMOUNTS, st.one_of(st.none(), st.sampled_from(rules.TIERS)), DAYS, KINDS)
def test_window_invariants(categories: list[str], fine: str | None, severity: str | None,
                           decided: date, kind: str) -> None:
    w = penalty(";".join(categories), fine, severity, decided, kind)
    assert w.tier in rules.TIERS
    if not w.published:
        assert w.start is w.earliest_repair is w.end is None
        return
    assert w.start is not None and w.earliest_repair is not None and w.end is not None
    assert w.start == decided
    assert w.start <= w.earliest_repair <= w.end
    tier = RULES.tiers[w.tier]
    # A window runs whole calendar months: never shorter than the months' fewest days.
    assert (w.end - w.start) >= timedelta(days=28 * tier.maximum_months - 3)
    assert (w.end - w.start) <= timedelta(days=31 * tier.maximum_months)
    assert w.in_publicity(w.start) and not w.in_publicity(w.end)
    assert w.in_publicity(w.end - timedelta(days=1))


@given(CATEGORY_SETS, AMOUNTS, DAYS, KINDS)
def test_adding_a_category_never_shortens_the_window(categories: list[str], fine: str | None,
                                                     decided: date, kind: str) -> None:
    fewer = penalty(";".join(categories[:1]), fine, None, decided, kind)
    more = penalty(";".join(categories), fine, None, decided, kind)
    assert rules.TIERS.index(more.tier or "") >= rules.TIERS.index(fewer.tier or "")


@given(CATEGORY_SETS, AMOUNTS, st.one_of(st.none(), st.sampled_from(rules.TIERS)), DAYS, KINDS)
def test_memoised_windows_equal_the_rules(categories: list[str], fine: str | None,
                                          severity: str | None, decided: date,
                                          kind: str) -> None:
    values = {"penalty_categories": ";".join(categories)}
    if fine is not None:
        values["fine_amount"] = fine
    if severity is not None:
        values["severity"] = severity
    maker = rules.Windows(RULES, PENALTY_TIERS)
    expected = rules.window(RULES, PENALTY_TIERS, values, decided, kind).stored()
    assert maker.of(values, decided.isoformat(), kind) == expected
    assert maker.of(values, decided.isoformat(), kind) == expected  # from memory


# --- the rules file -----------------------------------------------------------------------

def test_national_defaults() -> None:
    assert RULES.regime == "2025"
    assert "国办发〔2025〕22号" in RULES.basis and "令第36号" in RULES.basis
    assert [(t.name, t.published, t.minimum_months, t.maximum_months)
            for t in RULES.tiers.values()] == [
        ("轻微", False, 0, 3), ("一般", True, 3, 12), ("严重", True, 12, 36)]
    assert RULES.penalty.low_fine_wan == {ORG: Decimal(10), PERSON: Decimal(1),
                                          BUSINESS: Decimal(1)}
    assert RULES.penalty.serious_fine_wan == Decimal(100)


def test_every_category_named_is_a_catalog_category() -> None:
    assert set(RULES.penalty.category_tiers) <= set(CATEGORIES)
    assert RULES.penalty.fine_category in CATEGORIES


def write(path: Path, content: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(content, allow_unicode=True), "utf-8")
    return path


def test_locality_override_merges_over_the_defaults(tmp_path: Path) -> None:
    local = write(tmp_path / "publicity.yaml", {
        "regime": "2025-厦门",
        "tiers": {"一般": {"minimum_months": 6}},
        "rules": {"penalty_tiers": {
            "categories": {"没收违法所得": "严重"},
            "fine": {"low_wan": {"organisation": 5, "individual_business": 2}}}}})
    merged = rules.load([NATIONAL, local], CATEGORIES)
    assert merged.regime == "2025-厦门"
    assert merged.tiers["一般"].minimum_months == 6 and merged.tiers["一般"].maximum_months == 12
    assert merged.penalty.category_tiers["没收违法所得"] == "严重"
    assert merged.penalty.category_tiers["警告"] == "轻微"  # defaults kept
    assert merged.penalty.low_fine_wan == {ORG: Decimal(5), PERSON: Decimal(1),
                                           BUSINESS: Decimal(2)}
    assert penalty("罚款", "5", publicity=merged).tier == "一般"
    assert penalty("罚款", "1.5", kind=BUSINESS, publicity=merged).tier == "轻微"
    assert penalty("罚款", "20", publicity=merged).earliest_repair == date(2025, 4, 11)
    assert penalty("罚款", "20", publicity=merged).regime == "2025-厦门"


def test_individual_business_threshold_follows_a_changed_natural_person_threshold(
        tmp_path: Path) -> None:
    local = write(tmp_path / "publicity.yaml",
                  {"rules": {"penalty_tiers": {"fine": {"low_wan": {"natural_person": 0.5}}}}})
    merged = rules.load([NATIONAL, local], CATEGORIES)
    assert merged.penalty.low_fine_wan[BUSINESS] == Decimal("0.5")


@pytest.mark.parametrize(("override", "message"), [
    ({"tiers": {"一般": {"maximum_months": "一年"}}}, "tiers.一般.maximum_months"),
    ({"tiers": {"一般": {"minimum_months": 24}}}, "不短于最短公示期"),
    ({"tiers": {"一般": {"published": "是"}}}, "true 或 false"),
    ({"tiers": {"特别严重": {"published": True}}}, "未知的设置 特别严重"),
    ({"rules": {"penalty_tiers": {"categories": {"罚金": "严重"}}}},
     "“罚金”不在目录枚举 penalty_category 中"),
    ({"rules": {"penalty_tiers": {"categories": {"警告": "很轻"}}}}, "不是失信严重程度"),
    ({"rules": {"penalty_tiers": {"fine": {"serious_wan": -1}}}}, "serious_wan"),
    ({"rules": {"penalty_tiers": {"fine": {"low_wan": {"organisation": 200}}}}},
     "高于严重罚款标准"),
    ({"rules": {"penalty_tiers": {"fine": {"low_wan": {"organisation": "natural"}}}}},
     "low_wan.organisation"),
    ({"rules": {"forever": {}}}, "未知的设置 forever"),
    ({"regime": "a very long regime name"}, "不能超过16个字符"),
    ({"regim": "2026"}, "未知的设置 regim"),
])
def test_invalid_override_names_file_entry_and_reason(tmp_path: Path, override: dict[str, Any],
                                                      message: str) -> None:
    local = write(tmp_path / "publicity.yaml", override)
    with pytest.raises(RuleDataError) as caught:
        rules.load([NATIONAL, local], CATEGORIES)
    assert message in caught.value.message
    assert caught.value.message.startswith(f"公示规则文件 publicity.yaml（合并 {local}）")


def test_unreadable_file_is_a_rule_data_error(tmp_path: Path) -> None:
    bad = tmp_path / "publicity.yaml"
    bad.write_text("tiers: [", "utf-8")
    with pytest.raises(RuleDataError, match="无法读取"):
        rules.load([NATIONAL, bad])
