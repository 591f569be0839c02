"""The draw and plan checks as pure rules: the same inputs always give the same sample, another
seed another one, the realised rate per grade converges to the configured ratio, inspectors are
balanced, natural persons are refused, and every bad plan field gets a clear reason."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from xinyong.core.errors import InvalidInput, RuleDataError
from xinyong.core.ruledata import rule_paths
from xinyong.sampling import rules

from ..factories import numbered_uscc

CONFIG = rules.load_config(rule_paths(rules.FILE, Path("/nonexistent")))
GRADES = ("A", "B", "C", "D")
POOL = ("张一", "李二", "王三", "赵四", "钱五")


def plan(**over: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"name": "2026年第一批食品经营抽查", "department": "厦门市思明区市场监督管理局",
                           "base_ratio": "5%", "inspectors": list(POOL), "inspectors_per_subject": 2}
    raw.update(over)
    return raw


def population(n: int, grades: tuple[str | None, ...] = ("A", "B", "C", "D", None),
               ) -> list[tuple[str, str | None]]:
    """n synthetic subjects, grades dealt round-robin, sorted by code."""
    return sorted((numbered_uscc(i), grades[i % len(grades)]) for i in range(n))


def test_the_shipped_defaults() -> None:
    assert CONFIG.multipliers == {"A": Decimal("0.5"), "B": Decimal(1), "C": Decimal(2), "D": Decimal(4)}
    assert CONFIG.cap == 1 and CONFIG.ungraded_multiplier == 1
    assert "natural_person" not in CONFIG.subject_kinds
    assert {o.code for o in CONFIG.outcomes.values()} >= {"no_problem", "not_found"}


def test_ratios_are_base_times_multiplier_capped_at_100_percent() -> None:
    p = rules.parse_plan(plan(base_ratio="30%"), CONFIG, GRADES)
    assert p.ratios() == {"A": Decimal("0.15"), "B": Decimal("0.3"), "C": Decimal("0.6"), "D": Decimal(1),
                          rules.UNGRADED: Decimal("0.3")}
    assert p.kinds == ("organisation", "individual_business") and p.seed is None


@pytest.mark.parametrize(("size", "ratio", "whole"), [
    (10, "0.05", 0),    # 0.5: 0 or 1
    (9, "0.05", 0),     # 0.45
    (30, "0.05", 1),    # 1.5: 1 or 2
    (4, "0.1", 0),      # 0.4: a small group is still inspected in 40 % of draws (不免抽)
    (3, "0.5", 1),      # 1.5, exactly: no floating-point 1.4999…
])
def test_quota_is_floor_plus_one_more_with_the_probability_of_the_fraction(size: int, ratio: str,
                                                                           whole: int) -> None:
    counts = [rules.quota(size, Decimal(ratio), f"seed-{i}", "A") for i in range(2000)]
    assert set(counts) == {whole, whole + 1}
    expected = size * float(Decimal(ratio))
    assert abs(sum(counts) / len(counts) - expected) < 0.04


@pytest.mark.parametrize(("size", "ratio", "expected"), [(7, "1", 7), (0, "0.5", 0), (20, "0.05", 1),
                                                         (40, "0.25", 10)])
def test_a_whole_quota_is_never_rounded(size: int, ratio: str, expected: int) -> None:
    assert {rules.quota(size, Decimal(ratio), f"s{i}", "B") for i in range(200)} == {expected}


def test_the_quota_follows_the_documented_formula_with_hashlib_and_fractions_alone() -> None:
    from fractions import Fraction
    for i in range(300):
        seed, name = f"doc-{i}", ("A", "ungraded")[i % 2]
        exact = 7 * Fraction("0.13")
        u = int(hashlib.sha256(f"{seed}|#quota|{name}".encode()).hexdigest(), 16)
        expected = int(exact) + (1 if u < (exact - int(exact)) * 2 ** 256 else 0)
        assert rules.quota(7, Decimal("0.13"), seed, name) == expected


def test_the_same_inputs_and_seed_always_give_the_same_sample() -> None:
    pop = population(2000)
    ratios = rules.parse_plan(plan(), CONFIG, GRADES).ratios()
    first = rules.draw(pop, "seed-2026", ratios, POOL, 2)
    assert first == rules.draw(pop, "seed-2026", ratios, POOL, 2)
    assert first == rules.draw(list(pop), "seed-2026", dict(reversed(ratios.items())), list(POOL), 2)
    assert len(first) > 0 and [d.uscc for d in first] == sorted(d.uscc for d in first)


def test_a_changed_seed_gives_a_different_sample() -> None:
    pop = population(2000)
    ratios = rules.parse_plan(plan(), CONFIG, GRADES).ratios()
    a = {d.uscc for d in rules.draw(pop, "seed-a", ratios, POOL, 2)}
    b = {d.uscc for d in rules.draw(pop, "seed-b", ratios, POOL, 2)}
    assert len(a) == len(b) and a != b


def test_the_sample_follows_the_documented_algorithm_with_hashlib_alone() -> None:
    pop = population(200)
    seed = "doc"
    drawn = rules.draw(pop, seed, {g: Decimal("0.1") for g in (*GRADES, rules.UNGRADED)}, POOL, 1)
    by_grade: dict[str, list[tuple[str, str]]] = {}
    for uscc, grade in pop:
        key = hashlib.sha256(f"{seed}|{uscc}".encode()).hexdigest()
        by_grade.setdefault(grade or "ungraded", []).append((key, uscc))
    expected = sorted(u for members in by_grade.values() for _, u in sorted(members)[:4])  # 40 × 0.1 = 4
    assert [d.uscc for d in drawn] == expected


def test_the_realised_rate_per_grade_converges_to_the_configured_ratio() -> None:
    pop = population(50_000)
    p = rules.parse_plan(plan(base_ratio="0.1"), CONFIG, GRADES)
    sample = rules.draw(pop, "large-scope", p.ratios(), POOL, 2)
    counts = rules.stratum_counts(pop, sample)
    for grade, ratio in p.ratios().items():
        c = counts[grade]
        assert c["population"] == 10_000
        assert abs(c["sampled"] / c["population"] - float(ratio)) < 0.001, grade
    # a random subset of each stratum: about the same share of low and high codes is drawn
    low = sum(1 for d in sample if d.uscc < pop[len(pop) // 2][0])
    assert abs(low / len(sample) - 0.5) < 0.03


@pytest.mark.parametrize("size", [2, 4, 7])
def test_over_many_seeds_the_mean_rate_of_a_small_group_is_the_configured_ratio(size: int) -> None:
    """Small groups (N × ratio < 1) are where rounding bites: round-half-up drew nobody from a
    group of 4 at 10 %. Over many seeds the mean realised rate per grade is the ratio."""
    pop = population(5 * size)
    ratios = rules.parse_plan(plan(base_ratio="0.1"), CONFIG, GRADES).ratios()  # A 5 %, D 40 %
    seeds = 3000
    sampled = dict.fromkeys(ratios, 0)
    for i in range(seeds):
        for d in rules.draw(pop, f"small-{size}-{i}", ratios, POOL, 1):
            sampled[rules.stratum(d.grade)] += 1
    for grade, ratio in ratios.items():
        mean = sampled[grade] / (seeds * size)
        assert abs(mean - float(ratio)) < 0.012, (grade, mean, ratio)


def test_inspectors_are_distinct_per_subject_and_workloads_differ_by_at_most_one() -> None:
    sample = rules.draw(population(997), "pool", {g: Decimal("0.3") for g in (*GRADES, rules.UNGRADED)},
                        POOL, 3)
    loads = dict.fromkeys(POOL, 0)
    for d in sample:
        assert len(set(d.inspectors)) == 3 and set(d.inspectors) <= set(POOL)
        for i in d.inspectors:
            loads[i] += 1
    assert max(loads.values()) - min(loads.values()) <= 1


def test_population_digest_covers_codes_grades_and_order() -> None:
    pop = population(5)
    assert rules.population_digest(pop) == hashlib.sha256(
        "".join(f"{u},{g or ''}\n" for u, g in pop).encode()).hexdigest()
    changed = [(pop[0][0], "D" if pop[0][1] != "D" else "A"), *pop[1:]]
    assert rules.population_digest(changed) != rules.population_digest(pop)


def test_draw_refuses_an_unsorted_or_repeated_population_and_a_grade_without_ratio() -> None:
    ratios = {g: Decimal("0.1") for g in (*GRADES, rules.UNGRADED)}
    pop = population(3)
    with pytest.raises(InvalidInput, match="升序"):
        rules.draw(list(reversed(pop)), "s", ratios, POOL, 1)
    with pytest.raises(InvalidInput, match="升序"):
        rules.draw([pop[0], pop[0]], "s", ratios, POOL, 1)
    with pytest.raises(InvalidInput, match="E"):
        rules.draw([(pop[0][0], "E")], "s", ratios, POOL, 1)


@pytest.mark.parametrize(("over", "code", "words"), [
    ({"name": " "}, "missing_name", "计划名称"),
    ({"department": None}, "missing_department", "部门"),
    ({"base_ratio": "0"}, "bad_ratio", "基础抽查比例"),
    ({"base_ratio": "120%"}, "bad_ratio", "不超过 1"),
    ({"base_ratio": "五成"}, "bad_ratio", "五成"),
    ({"multipliers": {"E": 2}}, "unknown_grade", "没有等级 E"),
    ({"multipliers": {"D": -1}}, "bad_multiplier", "等级 D"),
    ({"scope": {"kinds": ["natural_person"]}}, "natural_person_refused", "自然人"),
    ({"scope": {"kinds": ["自然人"]}}, "natural_person_refused", "自然人"),
    ({"scope": {"kinds": ["government"]}}, "bad_scope", "government"),
    ({"scope": {"districts": ["35020"]}}, "bad_scope", "6位行政区划代码"),
    ({"scope": {"industries": ["食品"]}}, "bad_scope", "行业门类代码"),
    ({"scope": {"regions": ["350203"]}}, "bad_scope", "regions"),
    ({"inspectors": []}, "bad_inspectors", "检查人员库"),
    ({"inspectors": ["张一", "张一"]}, "duplicate_inspector", "张一"),
    ({"inspectors": ["张一|李二"]}, "bad_inspectors", "|"),
    ({"inspectors_per_subject": 0}, "bad_inspectors_per_subject", "每户检查人员数"),
    ({"inspectors": ["张一"], "inspectors_per_subject": 2}, "pool_too_small", "只有 1 人"),
    ({"seed": "有 空格"}, "bad_seed", "随机种子"),
    ({"sede": "x"}, "unknown_field", "sede"),
])
def test_plan_validation_names_the_field_and_the_reason(over: dict[str, Any], code: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.parse_plan(plan(**over), CONFIG, GRADES)
    assert caught.value.code == code and words in caught.value.message
    assert caught.value.message.startswith("抽查计划：")


def test_a_form_writes_lists_as_text_and_percentages() -> None:
    scope = {"districts": "350203，350206", "industries": "e f", "kinds": "个体工商户"}
    p = rules.parse_plan(plan(scope=scope,
                              inspectors="张一\n李二\n\n王三", multipliers={"D": "3"}, seed="abc-1"),
                         CONFIG, GRADES)
    assert p.districts == ("350203", "350206") and p.industries == ("E", "F")
    assert p.kinds == ("individual_business",) and p.inspectors == ("张一", "李二", "王三")
    assert p.multipliers["D"] == 3 and p.multipliers["A"] == Decimal("0.5") and p.seed == "abc-1"


def test_a_grade_without_default_multiplier_must_be_set() -> None:
    with pytest.raises(InvalidInput, match="等级 E 没有默认倍数"):
        rules.parse_plan(plan(), CONFIG, ("A", "E"))


@pytest.mark.parametrize(("text", "words"), [
    ("cap: 2\n", "cap"),
    ("multipliers: {A: x}\n", "multipliers.A"),
    ("subject_kinds: [natural_person]\n", "自然人"),
    ("outcomes: {found: {name: 发现问题, findings_required: maybe}}\n", "findings_required"),
    ("speed: 3\n", "未知的键"),
])
def test_a_bad_local_rules_file_is_refused_with_file_entry_and_reason(tmp_path: Path, text: str,
                                                                      words: str) -> None:
    (tmp_path / rules.FILE).write_text(text, "utf-8")
    with pytest.raises(RuleDataError) as caught:
        rules.load_config(rule_paths(rules.FILE, tmp_path))
    assert "sampling.yaml" in caught.value.message and words in caught.value.message
