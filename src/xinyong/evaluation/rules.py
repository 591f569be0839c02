"""Scorecards as pure rules: the feature registry, the scorecard and industry files loaded and
validated, and the arithmetic of bins, points, scores, grades and reasons. No I/O beyond
reading the files handed in.

A scorecard is data (data/scorecards/<name>.yaml, overridable from `$XINYONG_DATA_DIR`); the
features it may use are code (`FEATURES`), because each is a set-based SQL expression over the
store (`xinyong.evaluation.sql`). The SQL computes the same bins and points as `points_for`
and `grade_for` here; the tests hold the two to the same hand-computed values.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from xinyong.core.errors import NotFound
from xinyong.core.ruledata import Where, load_merged, mapping, rule_paths, text, whole
from xinyong.evaluation.error_codes import EvaluationError

TIERS = ("轻微", "一般", "严重")
CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
GRADE_CODE = re.compile(r"^[A-Z][A-Z0-9+\-]{0,7}$")
SCORECARD_KEYS = {"name", "version", "extends", "industries", "base", "range", "top_reasons",
                  "disclose_grade", "grades", "dimensions", "indicators"}
INDICATOR_KEYS = {"code", "name", "dimension", "feature", "params", "reason", "bins"}
# Organisations are evaluated; natural persons never (SPEC §2.4).
EVALUATED_KINDS = ("organisation", "individual_business")
NATURAL_PERSON = "natural_person"


# --- the feature registry -------------------------------------------------------------------

@dataclass(frozen=True)
class Param:
    kind: str  # months | tiers | texts
    required: bool = False


@dataclass(frozen=True)
class Feature:
    """A feature a scorecard may name: what it measures and the parameters it takes. Its SQL
    lives in `xinyong.evaluation.sql` under the same code."""

    code: str
    name: str
    params: Mapping[str, Param] = field(default_factory=dict)


FEATURES: dict[str, Feature] = {f.code: f for f in (
    Feature("penalty_count", "行政处罚次数（当前版本、决定日期在窗口内、未因修复或异议停止公示）",
            {"months": Param("months", required=True), "tiers": Param("tiers"),
             "department_contains": Param("texts")}),
    Feature("penalty_departments", "作出行政处罚的不同部门数", {"months": Param("months", required=True)}),
    Feature("licence_count", "当前有效版本的行政许可数", {"months": Param("months")}),
    Feature("record_years", "最早一条当前行政许可的决定日期距评价日的整年数（只看登记许可类信息，处罚不算）"),
    Feature("serious_list_count", "评价日在列的严重失信（惩戒）名单条目数"),
    Feature("red_list_count", "评价日在列的红名单（守信激励）条目数"),
)}


# --- scorecards -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Bin:
    low: int  # inclusive
    high: int | None  # exclusive; None: open
    points: int  # already multiplied by the dimension weight


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    dimension: str
    feature: str
    params: Mapping[str, Any]
    reason: str
    bins: tuple[Bin, ...]

    def points(self, value: int) -> int:
        return points_for(self.bins, value)

    def reason_text(self, value: int, points: int) -> str:
        return f"{self.reason.replace('{value}', str(value))}（{signed(points)}分）"


@dataclass(frozen=True)
class Grade:
    code: str
    name: str
    min: int
    rank: int  # 0 = best


@dataclass(frozen=True)
class Scorecard:
    code: str
    name: str
    version: str
    base: int
    low: int
    high: int
    top_reasons: int
    disclose_grade: bool
    grades: tuple[Grade, ...]  # best → worst
    dimensions: Mapping[str, str]  # code → name
    indicators: tuple[Indicator, ...]
    industries: tuple[str, ...] = ()  # empty: every organisation
    sources: tuple[str, ...] = ()

    def grade(self, score: int) -> Grade:
        return grade_for(self.grades, score)

    def grade_by_code(self, code: str) -> Grade | None:
        return next((g for g in self.grades if g.code == code), None)

    def score(self, points: Sequence[int]) -> int:
        return max(self.low, min(self.high, self.base + sum(points)))


def signed(points: int) -> str:
    return f"+{points}" if points > 0 else str(points)


def points_for(bins: Sequence[Bin], value: int) -> int:
    for b in bins:
        if value >= b.low and (b.high is None or value < b.high):
            return b.points
    return 0  # values below 0 do not occur (counts and years)


def grade_for(grades: Sequence[Grade], score: int) -> Grade:
    for g in grades:
        if score >= g.min:
            return g
    return grades[-1]


def reasons(scorecard: Scorecard, values: Mapping[str, int]) -> list[str]:
    """The top reasons: indicators with points, largest |points| first, ties in file order —
    the order the SQL builds (`sql.reasons_json`)."""
    scored = [(i, ind, values.get(ind.code, 0), ind.points(values.get(ind.code, 0)))
              for i, ind in enumerate(scorecard.indicators)]
    ranked = sorted((s for s in scored if s[3] != 0), key=lambda s: (-abs(s[3]), s[0]))
    return [ind.reason_text(v, p) for _, ind, v, p in ranked[:scorecard.top_reasons]]


def _bins(raw: Any, weight: float, where: Where, entry: str) -> tuple[Bin, ...]:
    if not isinstance(raw, list) or not raw:
        raise where.fail(entry, "bins 应为非空列表")
    out: list[Bin] = []
    expected = 0
    for i, b in enumerate(raw):
        at = f"{entry} bins 第{i + 1}项"
        b = mapping(b, where, at)
        if set(b) - {"from", "to", "points"}:
            raise where.fail(at, "只能有 from、to、points")
        low = whole(b.get("from"), where, f"{at} from")
        if low != expected:
            raise where.fail(at, f"from 应为 {expected}（第一项从 0 开始，之后各项接上一项的 to；"
                                 "区间不得重叠或留空）")
        high = b.get("to")
        last = i == len(raw) - 1
        if high is None:
            if not last:
                raise where.fail(at, "只有最后一项可以不写 to（开区间）")
        else:
            high = whole(high, where, f"{at} to")
            if high <= low:
                raise where.fail(at, f"to（{high}）应大于 from（{low}）")
            if last:
                raise where.fail(at, "最后一项不应写 to：每个取值都要落在某一区间")
        points = b.get("points")
        if not isinstance(points, int | float) or isinstance(points, bool):
            raise where.fail(at, "points 应为数")
        out.append(Bin(low, high, round(points * weight)))
        expected = high if high is not None else expected
    return tuple(out)


def _params(feature: Feature, raw: Any, where: Where, entry: str) -> dict[str, Any]:
    raw = {} if raw is None else mapping(raw, where, f"{entry} params")
    unknown = set(raw) - set(feature.params)
    if unknown:
        allowed = "、".join(feature.params) or "无"
        raise where.fail(entry, f"特征 {feature.code} 不接受参数 {'、'.join(sorted(map(str, unknown)))}"
                                f"（可用：{allowed}）")
    out: dict[str, Any] = {}
    for name, spec in feature.params.items():
        value = raw.get(name)
        if value is None:
            if spec.required:
                raise where.fail(entry, f"特征 {feature.code} 缺少参数 {name}")
            continue
        if spec.kind == "months":
            out[name] = whole(value, where, f"{entry} params.{name}", minimum=1)
        else:
            if not isinstance(value, list) or not value or not all(
                    isinstance(v, str) and v.strip() for v in value):
                raise where.fail(entry, f"params.{name} 应为非空文字的列表")
            if spec.kind == "tiers" and set(value) - set(TIERS):
                raise where.fail(entry, f"params.{name} 应取 {'、'.join(TIERS)}")
            out[name] = tuple(v.strip() for v in value)
    return out


def _indicator(raw: Any, weights: Mapping[str, float], where: Where, i: int) -> Indicator:
    entry = f"indicators 第{i + 1}项"
    raw = mapping(raw, where, entry)
    code = str(raw.get("code") or "")
    if not CODE.match(code):
        raise where.fail(entry, "code 应为小写字母、数字和下划线")
    entry = f"指标 {code}"
    unknown = set(raw) - INDICATOR_KEYS
    if unknown:
        raise where.fail(entry, f"未知的键 {'、'.join(sorted(map(str, unknown)))}")
    feature_code = raw.get("feature")
    feature = FEATURES.get(str(feature_code))
    if feature is None:
        raise where.fail(entry, f"未知的特征 {feature_code!r}（可用：{'、'.join(FEATURES)}）")
    dimension = str(raw.get("dimension") or "")
    if dimension not in weights:
        raise where.fail(entry, f"维度 {dimension!r} 未在 dimensions 中定义")
    reason = text(raw.get("reason"), where, f"{entry} reason")
    if "{value}" not in reason:
        raise where.fail(entry, "reason 应含 {value}")
    return Indicator(code, text(raw.get("name"), where, f"{entry} name"), dimension, feature.code,
                     _params(feature, raw.get("params"), where, entry), reason,
                     _bins(raw.get("bins"), weights[dimension], where, entry))


def _grades(raw: Any, low: int, where: Where) -> tuple[Grade, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise where.fail("grades", "应为至少两个等级的列表（由好到差）")
    out: list[Grade] = []
    for i, g in enumerate(raw):
        g = mapping(g, where, f"grades 第{i + 1}项")
        code = str(g.get("code") or "")
        if not GRADE_CODE.match(code):
            raise where.fail(f"grades 第{i + 1}项", "code 应为大写字母开头的短代码（如 A、B+）")
        entry = f"等级 {code}"
        if any(o.code == code for o in out):
            raise where.fail(entry, "代码重复")
        cut = whole(g.get("min"), where, f"{entry} min")
        if out and cut >= out[-1].min:
            raise where.fail(entry, f"min（{cut}）应低于上一等级 {out[-1].code} 的 min（{out[-1].min}）"
                                    "：等级由好到差排列，分界递减")
        out.append(Grade(code, text(g.get("name"), where, f"{entry} name"), cut, i))
    if out[-1].min != low:
        raise where.fail(f"等级 {out[-1].code}", f"最差等级的 min 应等于分数下限 {low}")
    return tuple(out)


def build(code: str, raw: Mapping[str, Any], where: Where, sources: tuple[str, ...],
          parent: Mapping[str, Any] | None = None) -> Scorecard:
    """A validated scorecard from its merged file content (and its parent's, for overlays)."""
    unknown = set(raw) - SCORECARD_KEYS
    if unknown:
        raise where.fail("文件", f"未知的键 {'、'.join(sorted(map(str, unknown)))}")
    version = raw.get("version")
    if not isinstance(version, str | int | float) or isinstance(version, bool) or not str(version).strip():
        raise where.fail("version", "缺少版本号：每个结果都要记下评分卡版本")
    data = dict(parent or {})
    own_indicators = raw.get("indicators") or []
    data.update({k: v for k, v in raw.items() if k != "indicators"})
    if parent is not None:
        if not isinstance(own_indicators, list):
            raise where.fail("indicators", "应为列表")
        inherited = [i for i in parent.get("indicators") or []
                     if not any(isinstance(o, Mapping) and o.get("code") == i.get("code")
                                for o in own_indicators)]
        data["indicators"] = [*inherited, *own_indicators]
    else:
        data["indicators"] = own_indicators
    rng = mapping(data.get("range"), where, "range")
    low = whole(rng.get("min"), where, "range.min")
    high = whole(rng.get("max"), where, "range.max")
    if high <= low:
        raise where.fail("range", "max 应大于 min")
    base = whole(data.get("base"), where, "base")
    if not low <= base <= high:
        raise where.fail("base", f"应在 {low}–{high} 之间")
    dims_raw = mapping(data.get("dimensions"), where, "dimensions")
    weights: dict[str, float] = {}
    names: dict[str, str] = {}
    for d, spec in dims_raw.items():
        spec = mapping(spec, where, f"维度 {d}")
        w = spec.get("weight", 1)
        if not isinstance(w, int | float) or isinstance(w, bool) or w <= 0:
            raise where.fail(f"维度 {d}", "weight 应为正数")
        weights[str(d)] = float(w)
        names[str(d)] = text(spec.get("name"), where, f"维度 {d} name")
    indicators_raw = data["indicators"]
    if not isinstance(indicators_raw, list) or not indicators_raw:
        raise where.fail("indicators", "应为非空列表")
    indicators = tuple(_indicator(x, weights, where, i) for i, x in enumerate(indicators_raw))
    seen: set[str] = set()
    for ind in indicators:
        if ind.code in seen:
            raise where.fail(f"指标 {ind.code}", "代码重复")
        seen.add(ind.code)
    industries = raw.get("industries") or ()
    if not isinstance(industries, list | tuple) or not all(isinstance(x, str) for x in industries):
        raise where.fail("industries", "应为门类代码的列表")
    top = whole(data.get("top_reasons", 3), where, "top_reasons", minimum=1)
    disclose = data.get("disclose_grade", False)
    if not isinstance(disclose, bool):
        raise where.fail("disclose_grade", "应为 true 或 false")
    return Scorecard(code, text(data.get("name"), where, "name"), str(version).strip(), base, low, high,
                     top, disclose, _grades(data.get("grades"), low, where), names, indicators,
                     tuple(industries), sources)


def load(code: str, data_dir: Path | None = None) -> Scorecard:
    """The scorecard `code` (data/scorecards/<code>.yaml, a locality's file merged over it, or a
    locality's own scorecard), validated; an overlay is built over its parent."""
    if not CODE.match(code):
        raise NotFound(f"没有评分卡“{code}”", code=EvaluationError.UNKNOWN_SCORECARD)
    raw, sources = _read(code, data_dir)
    where = Where("评分卡文件", sources)
    parent = raw.get("extends")
    if parent is None:
        return build(code, raw, where, sources)
    if parent == code or not isinstance(parent, str):
        raise where.fail("extends", "应为另一个评分卡的名称")
    parent_raw, parent_sources = _read(parent, data_dir)
    if parent_raw.get("extends") is not None:
        raise where.fail("extends", f"评分卡 {parent} 本身是叠加评分卡，不能再被叠加")
    return build(code, raw, where, (*sources, *parent_sources), parent_raw)


def _read(code: str, data_dir: Path | None) -> tuple[dict[str, Any], tuple[str, ...]]:
    paths = [p for p in rule_paths(f"scorecards/{code}.yaml", data_dir) if p.is_file()]
    if not paths:
        raise NotFound(f"没有评分卡“{code}”（可用：{'、'.join(available(data_dir))}）",
                       code=EvaluationError.UNKNOWN_SCORECARD)
    return load_merged(paths, "评分卡文件")


def available(data_dir: Path | None = None) -> list[str]:
    """The scorecards shipped and the locality's own."""
    dirs = [p.parent for p in rule_paths("scorecards/public.yaml", data_dir)]
    local = (data_dir / "scorecards") if data_dir is not None else None
    if local is not None:
        dirs.append(local)
    names = {p.stem for d in dirs if d.is_dir() for p in d.glob("*.yaml")}
    return sorted(names, key=lambda n: (n != "public", n))


@lru_cache(maxsize=16)
def cached(code: str, data_dir: Path | None = None) -> Scorecard:
    return load(code, data_dir)


def fingerprint(card: Scorecard, industries: Sequence[Industry],
                list_kinds: Sequence[tuple[str, str, str]], revision: int) -> str:
    """sha256 of everything a run's numbers depend on besides the store: the loaded scorecard
    (after overlays and local overrides), the industry sections, the list kinds (code, name,
    black|red) and the revision of the feature SQL. A scorecard edited without a new version, a
    changed industries.yaml or lists.yaml, or new feature code thus force a full run."""
    # the file paths it came from do not change a number
    content = repr((replace(card, sources=()), tuple(industries), tuple(sorted(list_kinds)), revision))
    return hashlib.sha256(content.encode()).hexdigest()


# --- industries -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Industry:
    code: str
    name: str
    keywords: tuple[str, ...]


def load_industries(data_dir: Path | None = None) -> tuple[Industry, ...]:
    paths = rule_paths("industries.yaml", data_dir)
    raw, sources = load_merged(paths[-1:], "行业文件")
    where = Where("行业文件", sources)
    sections = raw.get("sections")
    if not isinstance(sections, list) or not sections:
        raise where.fail("sections", "应为非空列表")
    out: list[Industry] = []
    for i, s in enumerate(sections):
        s = mapping(s, where, f"sections 第{i + 1}项")
        code = text(s.get("code"), where, f"sections 第{i + 1}项 code")
        words = s.get("keywords")
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
            raise where.fail(f"门类 {code}", "keywords 应为非空文字的列表")
        if any(o.code == code for o in out):
            raise where.fail(f"门类 {code}", "代码重复")
        out.append(Industry(code, text(s.get("name"), where, f"门类 {code} name"), tuple(words)))
    return tuple(out)


def industry_of(industries: Sequence[Industry], name: str) -> str | None:
    """The first section with a keyword in the name (what the SQL CASE computes)."""
    for ind in industries:
        if any(w in name for w in ind.keywords):
            return ind.code
    return None
