"""Scorecard rules: bin edges, grade cut-offs, reasons, and the loader refusing bad files with
an error naming the file, the entry and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from xinyong.core.errors import NotFound, RuleDataError
from xinyong.evaluation import rules

PUBLIC = rules.load("public")


@pytest.mark.parametrize(("code", "value", "points"), [
    ("penalties_12m", 0, 0), ("penalties_12m", 1, -40), ("penalties_12m", 2, -80),
    ("penalties_12m", 3, -120), ("penalties_12m", 4, -120), ("penalties_12m", 5, -200),
    ("penalties_12m", 9, -200), ("penalties_12m", 10, -300), ("penalties_12m", 10_000, -300),
    ("penalty_departments_12m", 1, 0), ("penalty_departments_12m", 2, -50),
    ("penalty_departments_12m", 3, -100), ("serious_lists", 1, -400), ("serious_lists", 2, -600),
    ("red_lists", 0, 0), ("red_lists", 1, 50), ("licences", 2, 10), ("licences", 3, 20),
    ("record_years", 2, 0), ("record_years", 3, 10), ("record_years", 9, 10), ("record_years", 10, 20),
])
def test_bin_edges(code: str, value: int, points: int) -> None:
    ind = next(i for i in PUBLIC.indicators if i.code == code)
    assert ind.points(value) == points


@pytest.mark.parametrize(("score", "grade"), [
    (1000, "A"), (980, "A"), (979, "B"), (850, "B"), (849, "C"), (650, "C"), (649, "D"), (0, "D"),
])
def test_grade_cut_offs(score: int, grade: str) -> None:
    assert PUBLIC.grade(score).code == grade


def test_score_is_kept_inside_the_range() -> None:
    assert PUBLIC.score([50, 20]) == 1000
    assert PUBLIC.score([-600, -300, -300, -100]) == 0
    assert PUBLIC.score([-120, 10]) == 890


def test_reasons_largest_first_with_points_in_plain_chinese() -> None:
    values = {"penalties_12m": 3, "licences": 1, "serious_lists": 1, "record_years": 0}
    assert rules.reasons(PUBLIC, values) == [
        "在1个严重失信主体名单上（-400分）", "近12个月受到3次行政处罚（-120分）", "持有1项行政许可（+10分）"]
    assert rules.reasons(PUBLIC, {}) == []


def test_grade_names_and_disclosure_default() -> None:
    assert [(g.code, g.name, g.rank) for g in PUBLIC.grades] == [
        ("A", "信用风险低", 0), ("B", "信用风险一般", 1), ("C", "信用风险较高", 2), ("D", "信用风险高", 3)]
    assert PUBLIC.disclose_grade is False


def test_construction_overlay_adds_indicators_to_the_public_ones() -> None:
    card = rules.load("construction")
    codes = [i.code for i in card.indicators]
    assert codes[:len(PUBLIC.indicators)] == [i.code for i in PUBLIC.indicators]
    assert {"construction_penalties_36m", "safety_penalties_36m"} <= set(codes)
    assert card.industries == ("E",) and card.grades == PUBLIC.grades


def test_industry_from_name() -> None:
    industries = rules.load_industries()
    assert rules.industry_of(industries, "厦门市鑫盛建筑工程有限公司") == "E"
    assert rules.industry_of(industries, "厦门市好味餐饮管理有限公司") == "H"
    assert rules.industry_of(industries, "厦门市某某有限公司") is None


def _local(tmp_path: Path, content: dict[str, object], name: str = "public") -> Path:
    (tmp_path / "scorecards").mkdir(exist_ok=True)
    text = yaml.safe_dump(content, allow_unicode=True)
    (tmp_path / "scorecards" / f"{name}.yaml").write_text(text, "utf-8")
    return tmp_path


def _indicator(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "code": "p12", "name": "处罚", "dimension": "administration", "feature": "penalty_count",
        "params": {"months": 12}, "reason": "受到{value}次处罚",
        "bins": [{"from": 0, "to": 1, "points": 0}, {"from": 1, "points": -10}]}
    base.update(over)
    return base


@pytest.mark.parametrize(("over", "message"), [
    ({"indicators": [_indicator(feature="tax_arrears")]}, "指标 p12：未知的特征 'tax_arrears'"),
    ({"indicators": [_indicator(params={})]}, "指标 p12：特征 penalty_count 缺少参数 months"),
    ({"indicators": [_indicator(params={"months": 12, "color": 1})]}, "不接受参数 color"),
    ({"indicators": [_indicator(bins=[{"from": 0, "to": 2, "points": 0}, {"from": 1, "points": -1}])]},
     "指标 p12 bins 第2项：from 应为 2"),
    ({"indicators": [_indicator(bins=[{"from": 1, "points": 0}])]}, "bins 第1项：from 应为 0"),
    ({"indicators": [_indicator(bins=[{"from": 0, "to": 1, "points": 0},
                                      {"from": 1, "to": 5, "points": 1}])]},
     "最后一项不应写 to"),
    ({"indicators": [_indicator(bins=[{"from": 0, "to": 0, "points": 0}, {"from": 0, "points": 1}])]},
     "to（0）应大于 from（0）"),
    ({"indicators": [_indicator(dimension="nowhere")]}, "维度 'nowhere' 未在 dimensions 中定义"),
    ({"indicators": [_indicator(reason="受到处罚")]}, "reason 应含 {value}"),
    ({"version": None}, "version：缺少版本号"),
    ({"dimensions": {"administration": {"name": "行政管理", "weight": 0}}}, "weight 应为正数"),
    ({"grades": [{"code": "A", "name": "低", "min": 500}, {"code": "B", "name": "高", "min": 600}]},
     "等级 B：min（600）应低于上一等级 A 的 min（500）"),
    ({"grades": [{"code": "A", "name": "低", "min": 500}, {"code": "B", "name": "高", "min": 100}]},
     "最差等级的 min 应等于分数下限 0"),
])
def test_bad_scorecards_are_refused_at_load_naming_file_entry_and_reason(
        tmp_path: Path, over: dict[str, object], message: str) -> None:
    content: dict[str, object] = {"version": "local-1", "indicators": [_indicator()]}
    content.update(over)
    _local(tmp_path, content)
    with pytest.raises(RuleDataError) as caught:
        rules.load("public", tmp_path)
    text = str(caught.value)
    assert text.startswith("评分卡文件 public.yaml（合并 ") and str(tmp_path) in text
    assert message in text


def test_a_locality_scorecard_of_its_own(tmp_path: Path) -> None:
    _local(tmp_path, {"name": "本地评分卡", "version": 3, "extends": "public",
                      "indicators": [_indicator(code="p6", params={"months": 6})]}, "local")
    card = rules.load("local", tmp_path)
    assert card.version == "3" and card.indicators[-1].code == "p6"
    assert "local" in rules.available(tmp_path)


def test_unknown_scorecard() -> None:
    with pytest.raises(NotFound, match="没有评分卡“nope”"):
        rules.load("nope")
