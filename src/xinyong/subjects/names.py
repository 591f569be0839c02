"""Pure rules of name matching: how a Chinese organisation name splits into its parts
(行政区划, 字号, 行业, 组织形式, 分支机构) and how two names compare, with reasons a person can
check.

The words each part is made of are data (`data/names.yaml`, plus `<data_dir>/names.yaml` of
a locality). A name is first brought to one spelling — NFKC (全角 → 半角), brackets unified
to `()`, blanks removed, Latin letters upper-cased (as search does), traditional characters
simplified — then, in this order: a branch's own words are cut off after the company's name,
the legal-form suffix is cut off, bracketed region names are taken out (小米科技（北京）…), and
leading region names are taken off one after another (福建省厦门市思明区…) as long as a 字号
is left. What remains is the core: the 字号 and, when a known word ends it, the 行业.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from xinyong.core.errors import RuleDataError
from xinyong.core.settings import get_settings
from xinyong.subjects.rules import normalise_name

__all__ = ["NameData", "NameParts", "Scored", "best_of", "compare", "load", "name_data",
           "normalise_for_matching", "simplify"]

_BRACKETED = re.compile(r"\(([^()]*)\)")
_NUMBERED = re.compile(r"\(\d+\)$")

# Factors of the score (see `compare`); a name matching in every part scores 1.
TRADE_WEIGHT = 0.75  # of the core's similarity; the rest is the 行业's
REGION_DIFFERENT = 0.55
REGION_UNSTATED = 0.97
FORM_DIFFERENT = 0.75
FORM_UNSTATED = 0.95
BRANCH_DIFFERENT = 0.45
FORMER_NAME = 0.97
# registration by a national authority: says nothing of where the subject is
NATIONAL_REGION = "100000"


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    short: str | None

    @property
    def label(self) -> str:
        return self.short or self.name


@dataclass(frozen=True, eq=False)  # hashed by identity: names are cached per word list
class NameData:
    """The word lists of `names.yaml`, in matching order (longest first)."""

    legal_forms: tuple[tuple[str, str], ...]  # (normalised suffix, family)
    branch_markers: tuple[str, ...]
    industry_words: tuple[str, ...]
    regions: dict[str, tuple[Region, ...]]  # normalised full or short name -> regions
    region_words: tuple[str, ...]
    by_code: dict[str, Region]
    simplified: dict[int, str]  # str.translate table
    sources: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class NameParts:
    """A name split into its parts, all in normalised (simplified, half-width) form."""

    original: str
    normalised: str
    # region names as written (北京, 厦门市 …) and the GB/T 2260 codes each can stand for
    regions: tuple[str, ...]
    region_codes: tuple[frozenset[str], ...]
    legal_form: str | None  # the suffix as written (有限公司)
    legal_family: str | None  # its family (有限责任公司)
    branch: str | None  # a branch's own words (思明分公司), None for the company itself
    core: str  # 字号 + 行业
    trade_name: str  # 字号
    industry: str | None  # 行业 word, when a known one ends the core


@dataclass(frozen=True)
class Scored:
    score: float
    reasons: tuple[str, ...]


# --- loading --------------------------------------------------------------------------------

def _fail(source: str, entry: str, reason: str) -> RuleDataError:
    return RuleDataError(f"{source}：{entry}：{reason}")


def _read(path: Path | None) -> tuple[str, dict[str, Any]]:
    if path is None:
        text = resources.files("xinyong.data").joinpath("names.yaml").read_text("utf-8")
        source = "names.yaml"
    else:
        text, source = path.read_text("utf-8"), str(path)
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise _fail(source, "文件", f"不是有效的 YAML：{exc}") from exc
    if not isinstance(raw, dict):
        raise _fail(source, "文件", "应为映射（键：值）")
    return source, raw


def _words(source: str, raw: dict[str, Any], key: str) -> list[str]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
        raise _fail(source, key, "应为非空字符串的列表")
    return [normalise_name(w) for w in value]


def load(paths: Iterable[Path | None]) -> NameData:
    """The word lists of the given files (None: the shipped `names.yaml`), appended in order.
    Fails on the first invalid entry, naming the file, the entry and the reason."""
    forms: dict[str, str] = {}
    markers: list[str] = []
    industries: list[str] = []
    regions: dict[str, list[Region]] = {}
    by_code: dict[str, Region] = {}
    pairs: dict[str, str] = {}
    sources: list[str] = []
    for path in paths:
        source, raw = _read(path)
        sources.append(source)
        for entry in raw.get("legal_forms") or []:
            if not isinstance(entry, dict) or not entry.get("word") or not entry.get("family"):
                raise _fail(source, "legal_forms", f"组织形式应有 word 和 family：{entry!r}")
            forms[normalise_name(str(entry["word"]))] = str(entry["family"])
        markers += _words(source, raw, "branch_markers")
        industries += _words(source, raw, "industry_words")
        for entry in raw.get("regions") or []:
            code = str(entry.get("code", "")) if isinstance(entry, dict) else ""
            if not re.fullmatch(r"\d{6}", code) or not entry.get("name"):
                raise _fail(source, "regions", f"地区应有 6 位代码 code 和 name：{entry!r}")
            short = entry.get("short")
            region = Region(code, str(entry["name"]), str(short) if short else None)
            by_code[code] = region
            for word in {region.name, region.short} - {None}:
                regions.setdefault(normalise_name(str(word)), []).append(region)
        for line in raw.get("traditional_simplified") or []:
            for pair in str(line).split():
                if len(pair) != 2 or pair[0] == pair[1]:
                    raise _fail(source, "traditional_simplified", f"应为“繁简”两个不同的字：{pair}")
                if pairs.get(pair[0], pair[1]) != pair[1]:
                    raise _fail(source, "traditional_simplified",
                                f"{pair[0]} 已对应 {pairs[pair[0]]}，不能再对应 {pair[1]}")
                pairs[pair[0]] = pair[1]
    chained = sorted(set(pairs) & set(pairs.values()))
    if chained:
        raise _fail(sources[-1] if sources else "names.yaml", "traditional_simplified",
                    f"简体字不能又作繁体字：{''.join(chained)}")
    return NameData(
        legal_forms=tuple((w, forms[w]) for w in _longest(forms)),
        branch_markers=_longest(markers), industry_words=_longest(industries),
        regions={k: tuple(v) for k, v in regions.items()}, region_words=_longest(regions),
        by_code=by_code, simplified=str.maketrans(pairs), sources=tuple(sources))


def _longest(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(words), key=lambda w: (-len(w), w)))


@lru_cache(maxsize=1)
def name_data() -> NameData:
    """The word lists of this installation: shipped, then the locality's `names.yaml`."""
    data_dir = get_settings().data_dir
    local = data_dir / "names.yaml" if data_dir is not None else None
    return load([None, local] if local is not None and local.is_file() else [None])


# --- splitting a name -----------------------------------------------------------------------

def simplify(text: str, data: NameData | None = None) -> str:
    """`text` with the traditional characters of the table simplified."""
    return text.translate((data or name_data()).simplified)


def normalise_for_matching(name: str, data: NameData | None = None) -> NameParts:
    """Split a name into its parts (see the module docstring). Pure; the same name always
    gives the same parts."""
    return _parts(name, data or name_data())


@lru_cache(maxsize=65536)
def _parts(name: str, data: NameData) -> NameParts:
    s = normalise_name(name).translate(data.simplified)
    normalised = s
    rest, branch = _cut_branch(s, data)
    numbered = _NUMBERED.search(rest)
    number = ""
    if numbered and _suffix_form(rest[:numbered.start()], data) is not None:
        # a numbered name (……有限公司（2）) keeps its number in the core
        number, rest = numbered.group()[1:-1], rest[:numbered.start()]
    form = _suffix_form(rest, data)
    family = None
    if form is not None:
        rest = rest[:-len(form)]
        family = dict(data.legal_forms)[form]
    regions: list[str] = []

    def bracketed(m: re.Match[str]) -> str:
        inner = m.group(1)
        if inner in data.regions:
            regions.append(inner)
            return ""
        return inner

    rest = _BRACKETED.sub(bracketed, rest).replace("(", "").replace(")", "")
    leading: list[str] = []
    within: frozenset[str] | None = None
    while True:
        # each region is inside the one before (福建省厦门市思明区): 厦门市海沧区集美小学 is a
        # school named 集美 in 海沧区, not one in 集美区
        word = next((w for w in data.region_words if rest.startswith(w)
                     and _has_trade_name(rest[len(w):], data)), None)
        codes = frozenset(r.code for r in data.regions[word]) if word else None
        if word is None or codes is None or (within is not None and not _agree(within, codes)):
            break
        leading.append(word)
        rest, within = rest[len(word):], codes
    regions[:0] = leading
    industry = next((w for w in data.industry_words if rest.endswith(w) and len(rest) > len(w)),
                    None)
    trade = (rest[:-len(industry)] if industry else rest) + number
    core = rest + number
    return NameParts(name, normalised, tuple(regions),
                     tuple(frozenset(r.code for r in data.regions[w]) for w in regions),
                     form, family, branch, core, trade, industry)


def _suffix_form(text: str, data: NameData) -> str | None:
    return next((w for w, _ in data.legal_forms if text.endswith(w) and len(text) > len(w)), None)


def _cut_branch(s: str, data: NameData) -> tuple[str, str | None]:
    """(the company's name, the branch's own words) of a branch's name; (s, None) otherwise."""
    hits = [i for m in data.branch_markers for i in [s.find(m)] if i > 0]
    if not hits:
        return s, None
    at = min(hits)
    head = s[:at]
    # the company's full name ends with its legal form: the branch's words start after it
    ends = [head.rfind(w) + len(w) for w, _ in data.legal_forms if head.rfind(w) > 0]
    cut = max(ends) if ends else at
    return s[:cut], s[cut:]


def _has_trade_name(rest: str, data: NameData) -> bool:
    """Whether `rest`, left after taking a region off, still holds a 字号 of two characters or
    more (so 集美 in 厦门集美贸易有限公司 is the 字号, not 集美区)."""
    industry = next((w for w in data.industry_words if rest.endswith(w)), "")
    return len(rest) - len(industry) >= 2


# --- comparing two names --------------------------------------------------------------------

def _significant(code: str) -> str:
    """The part of a region code that names the region: 35 (福建), 3502 (厦门), 350203."""
    return code.rstrip("0") if len(code.rstrip("0")) % 2 == 0 else code.rstrip("0") + "0"


def _within(a: str, b: str) -> bool:
    sa, sb = _significant(a), _significant(b)
    return sa.startswith(sb) or sb.startswith(sa)


def _agree(a: frozenset[str], b: frozenset[str]) -> bool:
    return any(_within(x, y) for x in a for y in b)


def _label(parts: NameParts) -> str:
    return "".join(parts.regions)


def _region_label(code: str, data: NameData) -> str:
    region = data.by_code.get(code) or data.by_code.get(code[:4] + "00")
    return f"登记地{region.label}" if region else f"登记地代码{code}"


def _similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def compare(query: NameParts, name: NameParts, *, registered_region: str | None = None,
            former: bool = False, data: NameData | None = None) -> Scored:
    """How well `name` (a subject's current or former name; `former` says which) answers the
    `query`, from 0 to 1, with the reasons in Chinese. The core's similarity (the 字号 weighs
    three quarters, the 行业 one quarter) is multiplied by a factor per part that differs: region
    (`registered_region`, the subject's registration code, stands in when its name has none),
    legal form, branch, and a former name."""
    data = data or name_data()
    reasons: list[str] = []
    if query.industry is None and name.industry is None:
        core = _similarity(query.core, name.core)
        if core == 1.0:
            reasons.append(f"字号一致：{name.core}")
        else:
            reasons.append(f"字号相近：{query.core} vs {name.core}（{core:.2f}）")
    else:
        # squared: one character off in a 字号 of two or three is another 字号
        trade = _similarity(query.trade_name, name.trade_name) ** 2
        if trade == 1.0:
            reasons.append(f"字号一致：{name.trade_name}")
        else:
            reasons.append(f"字号不同：{query.trade_name} vs {name.trade_name}")
        if query.industry == name.industry:
            industry = 1.0
            reasons.append(f"行业用语一致：{name.industry}")
        elif query.industry is None or name.industry is None:
            industry = 0.5
            reasons.append(f"行业用语仅一方写明：{query.industry or name.industry}")
        else:
            nested = query.industry.endswith(name.industry) or name.industry.endswith(query.industry)
            # 科技 and 网络科技 are as different as 科技 and 贸易: another line of business
            industry = 0.35 if nested else 0.3 * _similarity(query.industry, name.industry)
            reasons.append(f"行业用语不同：{query.industry} vs {name.industry}")
        core = TRADE_WEIGHT * trade + (1 - TRADE_WEIGHT) * industry
    score = core

    theirs = name.region_codes
    their_label = _label(name)
    if not theirs and registered_region and registered_region != NATIONAL_REGION:
        theirs = (frozenset([registered_region]),)
        their_label = _region_label(registered_region, data)
    if query.region_codes and theirs:
        if all(_agree(q, t) for q in query.region_codes for t in theirs):
            reasons.append(f"地区一致：{_label(query)}")
        else:
            score *= REGION_DIFFERENT
            reasons.append(f"地区不同：{_label(query)} vs {their_label}")
    elif query.region_codes or theirs:
        score *= REGION_UNSTATED
        reasons.append("查询名称未写地区" if theirs else "候选名称未写地区")

    if query.legal_family == name.legal_family:
        if name.legal_family is not None:
            reasons.append(f"组织形式一致：{name.legal_form}")
    elif query.legal_family is None or name.legal_family is None:
        score *= FORM_UNSTATED
        reasons.append("查询名称未写组织形式" if query.legal_family is None else "候选名称未写组织形式")
    else:
        score *= FORM_DIFFERENT
        reasons.append(f"组织形式不同：{query.legal_form} vs {name.legal_form}")

    if query.branch != name.branch:
        score *= BRANCH_DIFFERENT
        if query.branch and name.branch:
            reasons.append(f"分支机构不同：{query.branch} vs {name.branch}")
        else:
            reasons.append("分公司与总公司不同")
    if former:
        score *= FORMER_NAME
        reasons.append(f"曾用名匹配：{name.original}")
    return Scored(round(score, 4), tuple(reasons))


def best_of(query: NameParts, names: Sequence[tuple[str, bool]], registered_region: str | None,
            data: NameData | None = None) -> tuple[str, Scored]:
    """The best-scoring of a subject's names ((name, is former name)) and its score."""
    data = data or name_data()
    scored = [(n, compare(query, _parts(n, data), registered_region=registered_region,
                          former=former, data=data)) for n, former in names]
    return max(scored, key=lambda item: item[1].score)
