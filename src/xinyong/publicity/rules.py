"""Publicity windows (公示期) as pure functions: the rules file, a record's tier, and the days
it is shown on. No I/O beyond reading the rule files handed in.

A window is `[start, end)`: a record is in publicity on day D when it is published and
`start <= D < end` (no end: open). Decided 2024-10-11 with a 1-year window, it is shown up to
and including 2025-10-10 and `end` is 2025-10-11; repair may be applied for from
`earliest_repair`. A record that is not published has none of the three dates.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from xinyong.core.dates import add_months, iso
from xinyong.core.errors import RuleDataError
from xinyong.core.ruledata import Where, load_merged, mapping, text, unknown_keys

# Lightest first: "the longest period" of several categories is the last of them here. The
# names are the catalog's `severity` enumeration (失信严重程度), which sources may send.
TIERS = ("轻微", "一般", "严重")
PENALTY_TIERS = "penalty_tiers"
LICENCE_VALIDITY = "licence_validity"
RULE_NAMES = (PENALTY_TIERS, LICENCE_VALIDITY)
RULE_LABELS = {PENALTY_TIERS: "按失信严重程度公示（轻微、一般、严重）",
               LICENCE_VALIDITY: "按许可有效期公示"}
SUBJECT_KINDS = ("organisation", "individual_business", "natural_person")
KIND_LABELS = {"organisation": "法人及非法人组织", "individual_business": "个体工商户",
               "natural_person": "自然人"}
WHAT = "公示规则文件"
REGIME_MAX_LENGTH = 16  # record.publicity_regime
# Why a record leaves publicity before its window ends (publicity_stop.reason).
STOP_REASONS = {
    "revoked": "行政决定已撤销（异议核实后撤销）",
    "corrected": "信息已更正，以新版本公示",
    "suspended": "异议处理期间暂停公示",
    "repaired": "信用修复完成，停止公示",
}
_TOP_KEYS = {"regime", "basis", "tiers", "natural_persons", "rules"}

# What a record stores: (tier, published, start, earliest_repair, end), dates as ISO text —
# plain values, cheap to send between processes and to bulk-insert.
Stored = tuple[str | None, bool, str | None, str | None, str | None]


@dataclass(frozen=True)
class Tier:
    name: str
    published: bool
    minimum_months: int
    maximum_months: int


@dataclass(frozen=True)
class PenaltyRule:
    categories_field: str
    fine_field: str
    severity_field: str
    default_tier: str
    category_tiers: Mapping[str, str]
    fine_category: str
    low_fine_wan: Mapping[str, Decimal]  # by subject kind, references resolved
    serious_fine_wan: Decimal
    missing_amount_tier: str


@dataclass(frozen=True)
class LicenceRule:
    valid_to_field: str
    # 有效期至 on or after this day is how departments write "no end" (长期有效).
    open_ended_from: date | None = None


@dataclass(frozen=True)
class PublicityRules:
    regime: str
    basis: str
    tiers: Mapping[str, Tier]
    publish_natural_persons: bool
    penalty: PenaltyRule
    licence: LicenceRule
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Window:
    """A record's publicity window and why: `tier` is None for records without tiers
    (licences, items with no publicity rule)."""

    tier: str | None
    published: bool
    start: date | None
    earliest_repair: date | None
    end: date | None
    regime: str
    reason: str

    def in_publicity(self, day: date) -> bool:
        return (self.published and self.start is not None and self.start <= day
                and (self.end is None or day < self.end))

    def stored(self) -> Stored:
        return (self.tier, self.published, iso(self.start), iso(self.earliest_repair),
                iso(self.end))


# --- loading ------------------------------------------------------------------------------

def load(paths: Sequence[Path], categories: Collection[str] | None = None) -> PublicityRules:
    """The national defaults (first path) with each locality file merged over them in order.
    `categories`: the penalty categories the catalog knows, to catch misspelt ones."""
    merged, sources = load_merged(paths, WHAT)
    return parse(merged, sources, categories)


def _months(value: Any, where: Where, entry: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise where.fail(entry, f"应为不小于0的整数（月数），而不是 {value!r}")
    return value


def _tier_name(value: Any, where: Where, entry: str) -> str:
    if value not in TIERS:
        raise where.fail(entry, f"“{value}”不是失信严重程度（应为{'、'.join(TIERS)}之一）")
    return str(value)


def _wan(value: Any, where: Where, entry: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise where.fail(entry, f"应为以万元为单位的正数，而不是 {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise where.fail(entry, f"应为以万元为单位的正数，而不是 {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise where.fail(entry, f"应为以万元为单位的正数，而不是 {value!r}")
    return amount


def _category(value: Any, where: Where, entry: str, known: Collection[str] | None) -> str:
    name = text(value, where, entry)
    if known is not None and name not in known:
        raise where.fail(entry, f"处罚类别“{name}”不在目录枚举 penalty_category 中")
    return name


def parse(raw: Mapping[str, Any], sources: tuple[str, ...] = ("publicity.yaml",),
          categories: Collection[str] | None = None) -> PublicityRules:
    """Validate the merged rules completely; every problem names the file, entry and reason."""
    where = Where(WHAT, sources)
    unknown_keys(raw, _TOP_KEYS, where, "顶层")
    regime = text(raw.get("regime"), where, "regime")
    if len(regime) > REGIME_MAX_LENGTH:
        raise where.fail("regime", f"不能超过{REGIME_MAX_LENGTH}个字符")
    tiers_raw = mapping(raw.get("tiers"), where, "tiers")
    missing = [t for t in TIERS if t not in tiers_raw]
    if missing:
        raise where.fail("tiers", f"缺少 {'、'.join(missing)}")
    unknown_keys(tiers_raw, TIERS, where, "tiers")
    tiers: dict[str, Tier] = {}
    for name in TIERS:
        entry = f"tiers.{name}"
        t = mapping(tiers_raw[name], where, entry)
        unknown_keys(t, ("published", "minimum_months", "maximum_months"), where, entry)
        published = t.get("published")
        if not isinstance(published, bool):
            raise where.fail(f"{entry}.published", "应为 true 或 false")
        low = _months(t.get("minimum_months"), where, f"{entry}.minimum_months")
        high = _months(t.get("maximum_months"), where, f"{entry}.maximum_months")
        if high == 0 or low > high:
            raise where.fail(entry, f"最长公示期应大于0且不短于最短公示期（{low}—{high}个月）")
        tiers[name] = Tier(name, published, low, high)
    people = mapping(raw.get("natural_persons", {"published": False}), where, "natural_persons")
    unknown_keys(people, ("published",), where, "natural_persons")
    if not isinstance(people.get("published"), bool):
        raise where.fail("natural_persons.published", "应为 true 或 false")
    rules_raw = mapping(raw.get("rules"), where, "rules")
    unknown_keys(rules_raw, RULE_NAMES, where, "rules")
    for name in RULE_NAMES:
        if name not in rules_raw:
            raise where.fail("rules", f"缺少公示规则 {name}")
    return PublicityRules(
        regime=regime, basis=str(raw.get("basis") or ""), tiers=tiers,
        publish_natural_persons=bool(people["published"]),
        penalty=_penalty_rule(rules_raw[PENALTY_TIERS], where, categories),
        licence=_licence_rule(rules_raw[LICENCE_VALIDITY], where), sources=sources)


def _penalty_rule(value: Any, where: Where, known: Collection[str] | None) -> PenaltyRule:
    entry = f"rules.{PENALTY_TIERS}"
    raw = mapping(value, where, entry)
    unknown_keys(raw, ("fields", "default_tier", "categories", "fine"), where, entry)
    fields = mapping(raw.get("fields"), where, f"{entry}.fields")
    unknown_keys(fields, ("categories", "fine", "severity"), where, f"{entry}.fields")
    names = {k: text(fields.get(k), where, f"{entry}.fields.{k}")
             for k in ("categories", "fine", "severity")}
    category_tiers = {
        _category(c, where, f"{entry}.categories", known):
            _tier_name(t, where, f"{entry}.categories.{c}")
        for c, t in mapping(raw.get("categories", {}), where, f"{entry}.categories").items()}
    fine = mapping(raw.get("fine"), where, f"{entry}.fine")
    unknown_keys(fine, ("category", "low_wan", "serious_wan", "missing_amount_tier"), where,
                  f"{entry}.fine")
    fine_category = _category(fine.get("category"), where, f"{entry}.fine.category", known)
    if fine_category in category_tiers:
        raise where.fail(f"{entry}.categories.{fine_category}",
                         "罚款的严重程度按金额认定，不能同时列在 categories 中")
    low_raw = mapping(fine.get("low_wan"), where, f"{entry}.fine.low_wan")
    unknown_keys(low_raw, SUBJECT_KINDS, where, f"{entry}.fine.low_wan")
    low: dict[str, Decimal] = {}
    for kind in SUBJECT_KINDS:
        e = f"{entry}.fine.low_wan.{kind}"
        v = low_raw.get(kind)
        if v is None:
            raise where.fail(e, "缺少该类主体的小额罚款标准")
        if isinstance(v, str) and v in SUBJECT_KINDS:
            v = low_raw.get(v)
            if isinstance(v, str):
                raise where.fail(e, "引用的主体类型本身也是引用，应直接给出金额")
        low[kind] = _wan(v, where, e)
    serious = _wan(fine.get("serious_wan"), where, f"{entry}.fine.serious_wan")
    for kind, amount in low.items():
        if amount > serious:
            raise where.fail(f"{entry}.fine.low_wan.{kind}",
                             f"小额罚款标准{amount}万元高于严重罚款标准{serious}万元")
    return PenaltyRule(
        categories_field=names["categories"], fine_field=names["fine"],
        severity_field=names["severity"],
        default_tier=_tier_name(raw.get("default_tier"), where, f"{entry}.default_tier"),
        category_tiers=category_tiers, fine_category=fine_category, low_fine_wan=low,
        serious_fine_wan=serious,
        missing_amount_tier=_tier_name(fine.get("missing_amount_tier"), where,
                                       f"{entry}.fine.missing_amount_tier"))


def _licence_rule(value: Any, where: Where) -> LicenceRule:
    entry = f"rules.{LICENCE_VALIDITY}"
    raw = mapping(value, where, entry)
    unknown_keys(raw, ("fields", "open_ended_from"), where, entry)
    fields = mapping(raw.get("fields"), where, f"{entry}.fields")
    unknown_keys(fields, ("valid_to",), where, f"{entry}.fields")
    open_ended = raw.get("open_ended_from")
    if open_ended is not None and not isinstance(open_ended, date):
        try:
            open_ended = date.fromisoformat(str(open_ended))
        except ValueError:
            raise where.fail(f"{entry}.open_ended_from", "应为日期 YYYY-MM-DD") from None
    return LicenceRule(text(fields.get("valid_to"), where, f"{entry}.fields.valid_to"), open_ended)


def check_item(rules: PublicityRules, item_code: str, rule_name: str | None,
               field_names: Collection[str]) -> None:
    """A catalog item can be given windows: its rule exists and its fields are there."""
    if rule_name is None:
        return
    if rule_name not in RULE_NAMES:
        raise RuleDataError(f"目录条目 {item_code}：未知的公示规则“{rule_name}”"
                            f"（可用：{'、'.join(RULE_NAMES)}）")
    needed = ((rules.penalty.categories_field,) if rule_name == PENALTY_TIERS
              else (rules.licence.valid_to_field,))
    missing = [f for f in needed if f not in field_names]
    if missing:
        raise RuleDataError(f"目录条目 {item_code}：公示规则 {rule_name} 需要字段"
                            f" {'、'.join(missing)}，条目中没有")


# --- tiers and windows ----------------------------------------------------------------------

def _rank(tier: str) -> int:
    return TIERS.index(tier)


def penalty_tier(rule: PenaltyRule, categories: Iterable[str], fine: Decimal | None,
                 kind: str, severity: str | None = None) -> tuple[str, str]:
    """The tier of a penalty decision and why, in Chinese.

    The source's own 失信严重程度 wins. Otherwise every category has a tier (a fine's
    follows its amount) and the heaviest decides; the reason names what reached it."""
    if severity:
        if severity not in TIERS:
            raise ValueError(f"失信严重程度“{severity}”不是{'、'.join(TIERS)}之一")
        return severity, f"来源标明失信严重程度为“{severity}”"
    found: list[tuple[str, str]] = []
    cats = list(dict.fromkeys(c for c in categories if c))
    fined = rule.fine_category in cats or (fine is not None and fine > 0)
    for c in cats:
        if c != rule.fine_category:
            found.append((rule.category_tiers.get(c, rule.default_tier), f"处罚类别“{c}”"))
    if fined:
        found.append(_fine_tier(rule, fine, kind))
    if not found:
        return rule.default_tier, "未填写处罚类别"
    top = max(found, key=lambda f: _rank(f[0]))[0]
    return top, "；".join(why for tier, why in found if tier == top)


def _fine_tier(rule: PenaltyRule, fine: Decimal | None, kind: str) -> tuple[str, str]:
    if fine is None:
        return rule.missing_amount_tier, "罚款未填写金额，不能认定为小额罚款"
    shown = f"罚款{fine:f}万元"
    if fine >= rule.serious_fine_wan:
        return "严重", f"{shown}，达到{rule.serious_fine_wan:f}万元"
    low = rule.low_fine_wan.get(kind, rule.low_fine_wan["organisation"])
    if fine < low:
        return "轻微", f"{shown}，低于{KIND_LABELS.get(kind, kind)}的小额罚款标准{low:f}万元"
    return "一般", f"{shown}，不低于{KIND_LABELS.get(kind, kind)}的小额罚款标准{low:f}万元"


def tier_window(rules: PublicityRules, tier: str, decision: date, kind: str,
                reason: str) -> Window:
    """The window of a penalty of `tier` decided on `decision`."""
    t = rules.tiers[tier]
    if not t.published:
        return Window(tier, False, None, None, None, rules.regime, f"{reason}：{tier}，不予公示")
    if kind == "natural_person" and not rules.publish_natural_persons:
        return Window(tier, False, None, None, None, rules.regime,
                      f"{reason}：{tier}；自然人的信息按配置不公示")
    return Window(tier, True, decision, add_months(decision, t.minimum_months),
                  add_months(decision, t.maximum_months), rules.regime,
                  f"{reason}：{tier}，公示{_period(t.minimum_months)}至{_period(t.maximum_months)}")


def _period(months: int) -> str:
    if months == 0:
        return "即时"
    return f"{months // 12}年" if months % 12 == 0 else f"{months}个月"


def licence_window(rules: PublicityRules, decision: date, valid_to: date | None,
                   kind: str) -> Window:
    """Shown from the decision while the licence is valid: up to and including 有效期至."""
    if kind == "natural_person" and not rules.publish_natural_persons:
        return Window(None, False, None, None, None, rules.regime,
                      "行政许可按有效期公示；自然人的信息按配置不公示")
    if valid_to is None:
        return Window(None, True, decision, None, None, rules.regime,
                      "行政许可未填写有效期至，公示不设截止日期")
    open_ended = rules.licence.open_ended_from
    if open_ended is not None and valid_to >= open_ended:
        return Window(None, True, decision, None, None, rules.regime,
                      f"行政许可长期有效（有效期至{valid_to.isoformat()}），公示不设截止日期")
    end = max(valid_to + timedelta(days=1), decision)
    return Window(None, True, decision, None, end, rules.regime,
                  f"行政许可按有效期公示，有效期至{valid_to.isoformat()}")


def _decimal(text: str | None) -> Decimal | None:
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def window(rules: PublicityRules, rule_name: str | None, values: Mapping[str, str],
           decision: date, kind: str) -> Window:
    """The window of one record, from its catalog item's publicity rule (`rule_name`), its
    payload values as stored (canonical text), its decision date and its subject kind."""
    if rule_name is None:
        return Window(None, False, None, None, None, rules.regime, "目录条目未规定公示规则，不予公示")
    if rule_name == PENALTY_TIERS:
        p = rules.penalty
        tier, reason = penalty_tier(
            p, values.get(p.categories_field, "").split(";"),
            _decimal(values.get(p.fine_field)), kind, values.get(p.severity_field) or None)
        return tier_window(rules, tier, decision, kind, reason)
    if rule_name == LICENCE_VALIDITY:
        return licence_window(rules, decision, _day(values.get(rules.licence.valid_to_field)),
                              kind)
    raise RuleDataError(f"未知的公示规则“{rule_name}”（可用：{'、'.join(RULE_NAMES)}）")


class Windows:
    """Stored windows of many records of one catalog item, remembered by what decides them:
    a million-row file has a few thousand decision dates and a handful of category mixes, so
    nearly every row costs one dictionary look-up."""

    _LIMIT = 200_000
    _UNUSED = "\x00"  # a field name no payload has

    def __init__(self, rules: PublicityRules, rule_name: str | None) -> None:
        if rule_name is not None and rule_name not in RULE_NAMES:
            raise RuleDataError(f"未知的公示规则“{rule_name}”（可用：{'、'.join(RULE_NAMES)}）")
        self.rules = rules
        self.rule_name = rule_name
        p, unused = rules.penalty, self._UNUSED
        # The payload fields that decide a window under this rule, looked up for every row.
        self.fields = ((p.categories_field, p.fine_field, p.severity_field)
                       if rule_name == PENALTY_TIERS
                       else (rules.licence.valid_to_field, unused, unused)
                       if rule_name == LICENCE_VALIDITY else (unused, unused, unused))
        self.rows: dict[tuple[str | None, str | None, str | None, str, str], Stored] = {}
        self.tiers: dict[tuple[str | None, str | None, str | None, str], str] = {}
        self.windows: dict[tuple[str | None, str, str | None, str], Stored] = {}

    def of(self, values: Mapping[str, str], decision: str, kind: str) -> Stored:
        """The stored window of a record: payload values, decision date as ISO text, kind."""
        get = values.get
        a, b, c = self.fields
        key = (get(a), get(b), get(c), decision, kind)
        found = self.rows.get(key)
        if found is None:
            if len(self.rows) > self._LIMIT:
                self.rows.clear()
            found = self.rows[key] = self._window(*key)
        return found

    def _window(self, first: str | None, second: str | None, third: str | None, decision: str,
                kind: str) -> Stored:
        tier: str | None = None
        valid_to: str | None = None
        if self.rule_name == PENALTY_TIERS:
            tkey = (first, second, third, kind)
            tier = self.tiers.get(tkey)
            if tier is None:
                if len(self.tiers) > self._LIMIT:
                    self.tiers.clear()
                tier = self.tiers[tkey] = penalty_tier(
                    self.rules.penalty, (first or "").split(";"), _decimal(second), kind,
                    third or None)[0]
        elif self.rule_name == LICENCE_VALIDITY:
            valid_to = first
        wkey = (tier, decision, valid_to, kind)
        found = self.windows.get(wkey)
        if found is None:
            if len(self.windows) > self._LIMIT:
                self.windows.clear()
            found = self.windows[wkey] = self._compute(tier, date.fromisoformat(decision),
                                                       valid_to, kind)
        return found

    def _compute(self, tier: str | None, decision: date, valid_to: str | None,
                 kind: str) -> Stored:
        if self.rule_name == PENALTY_TIERS:
            assert tier is not None
            return tier_window(self.rules, tier, decision, kind, "").stored()
        if self.rule_name == LICENCE_VALIDITY:
            return licence_window(self.rules, decision, _day(valid_to), kind).stored()
        return (None, False, None, None, None)
