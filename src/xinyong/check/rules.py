"""The credit check (信用核查, "逢办必查") as pure rules: the measures catalog and the matter types
loaded from data, which measures a subject's active list entries and penalty records trigger
for a matter on a day, the subject's credit status, and the score of a name candidate. No I/O
beyond reading the files handed in.

A `Measure` cannot be built without a `Basis` (its constructor refuses an empty document), and
the loader refuses the whole file when a measure has none: a measure without a legal basis can
never be activated (SPEC §2.1, "严禁信用惩戒泛化").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from xinyong.check.error_codes import CheckError
from xinyong.core import uscc as uscc_rules
from xinyong.core.dates import add_months, iso
from xinyong.core.errors import InvalidInput, RuleDataError

KINDS = {"penalty": "失信惩戒措施", "incentive": "守信激励措施"}
TIERS = ("轻微", "一般", "严重")
MEASURE_KEYS = {"code", "name", "group", "kind", "triggers", "matters", "applied_by", "basis"}
TRIGGER_KEYS = {"lists", "records"}
RECORD_KEYS = {"tiers", "within_years", "basis_mentions"}
MATTER_KEYS = {"code", "name", "aliases", "description"}
CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
# Batch checks: up to this many subjects per call (e.g. all bidders of a tender).
BATCH_LIMIT = 10_000
STATUS_NAMES = {"dishonest": "失信惩戒对象（在失信名单上）", "honoured": "守信激励对象（在红名单上）",
                "normal": "无在列名单"}


# --- the catalog ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Basis:
    document: str
    article: str = ""

    def __post_init__(self) -> None:
        if not self.document.strip():
            raise ValueError("措施必须有法律依据（法律、法规或中央政策文件）")

    def __str__(self) -> str:
        return f"{self.document} {self.article}".strip()


@dataclass(frozen=True)
class RecordCondition:
    """A current, published penalty record in publicity on the day of the check, narrowed by
    tier, age and the provisions its 处罚依据 names."""

    tiers: tuple[str, ...] = ()
    within_years: int | None = None
    basis_mentions: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = ["公示期内的行政处罚"]
        if self.tiers:
            parts.append(f"（{'、'.join(self.tiers)}）")
        if self.within_years:
            parts.append(f"，{self.within_years}年内作出")
        if self.basis_mentions:
            parts.append(f"，依据{'或'.join(self.basis_mentions)}")
        return "".join(parts)

    def matches_statically(self, tier: str | None, basis_key: str) -> bool:
        """The part that does not depend on the day: tier and the provisions named."""
        if self.tiers and tier not in self.tiers:
            return False
        return not self.basis_mentions or any(m in basis_key for m in self.basis_mentions)

    def until(self, decision_date: date, publicity_end: date | None) -> date | None:
        """The first day the record no longer triggers (exclusive): its publicity end, or the
        end of the `within_years` span when earlier."""
        ends = [d for d in (publicity_end, add_months(decision_date, 12 * self.within_years)
                            if self.within_years else None) if d is not None]
        return min(ends) if ends else None


@dataclass(frozen=True)
class Measure:
    """A usable measure. `basis` is not optional: there is no Measure without one."""

    code: str
    name: str
    group: str
    kind: str  # penalty | incentive
    lists: tuple[str, ...]
    records: tuple[RecordCondition, ...]
    matters: tuple[str, ...]
    applied_by: str
    basis: Basis
    source: str = "measures.yaml"

    def __post_init__(self) -> None:
        if not isinstance(self.basis, Basis):
            raise TypeError("basis must be a Basis")

    @property
    def kind_name(self) -> str:
        return KINDS[self.kind]

    def triggers_text(self) -> str:
        parts = [f"名单：{'、'.join(self.lists)}"] if self.lists else []
        parts += [r.describe() for r in self.records]
        return "；".join(parts)


@dataclass(frozen=True)
class Matter:
    code: str
    name: str
    aliases: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Catalog:
    """The measures and matter types in force, checked against each other and the list kinds."""

    measures: dict[str, Measure]
    matters: dict[str, Matter]
    sources: tuple[str, ...] = ()
    by_matter: dict[str, tuple[Measure, ...]] = field(default_factory=dict)

    def matter(self, value: str) -> Matter:
        """The matter type with this code, Chinese name or alias; unknown → `unknown_matter`."""
        text = (value or "").strip()
        found = self.matters.get(text) or next(
            (m for m in self.matters.values() if text == m.name or text in m.aliases), None)
        if found is None:
            known = "、".join(f"{m.name}（{m.code}）" for m in self.matters.values())
            raise InvalidInput(f"未知的办理事项类型“{value}”；可用：{known}", code=CheckError.UNKNOWN_MATTER)
        return found


def _fail(source: str, entry: str, reason: str) -> RuleDataError:
    return RuleDataError(f"措施或事项文件 {source}：{entry}：{reason}")


def read(path: Path, top: str) -> list[dict[str, Any]]:
    """The entries under `top` of one file, each checked to be a mapping with a code."""
    try:
        raw = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise _fail(path.name, "文件", f"无法读取：{exc}") from exc
    if not isinstance(raw, dict) or set(raw) - {top}:
        raise _fail(path.name, "文件", f"顶层应为只含 {top} 的映射")
    entries = raw.get(top) or []
    if not isinstance(entries, list):
        raise _fail(path.name, top, "应为列表")
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("code"):
            raise _fail(path.name, top, f"条目缺少 code：{entry!r}")
    return entries


def merge(files: Iterable[tuple[str, list[dict[str, Any]]]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Entries of later files merged over earlier ones by `code`, key by key."""
    merged: dict[str, tuple[str, dict[str, Any]]] = {}
    for source, entries in files:
        for entry in entries:
            code = str(entry["code"])
            merged[code] = (source, {**merged.get(code, ("", {}))[1], **entry})
    return merged


def _texts(value: Any, source: str, entry: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(source, entry, f"{key} 应为非空文本的列表")
    return tuple(v.strip() for v in value)


def basis_key(text: str) -> str:
    """A provision as compared: without 《》, blanks and the 中华人民共和国 prefix of laws."""
    return re.sub(r"[《》〈〉\s]", "", text or "").replace("中华人民共和国", "")


def _record_condition(raw: Any, source: str, entry: str) -> RecordCondition:
    if not isinstance(raw, dict) or not raw or set(raw) - RECORD_KEYS:
        raise _fail(source, entry, f"records 的每项应为含 {'、'.join(sorted(RECORD_KEYS))} 的映射")
    tiers = _texts(raw.get("tiers"), source, entry, "tiers")
    if set(tiers) - set(TIERS):
        raise _fail(source, entry, f"tiers 应取 {'、'.join(TIERS)}")
    years = raw.get("within_years")
    if years is not None and (not isinstance(years, int) or isinstance(years, bool) or years < 1):
        raise _fail(source, entry, "within_years 应为正整数")
    mentions = tuple(basis_key(m) for m in _texts(raw.get("basis_mentions"), source, entry,
                                                   "basis_mentions"))
    return RecordCondition(tiers, years, mentions)


def _basis(raw: Any, source: str, entry: str) -> Basis:
    if isinstance(raw, str):
        raw = {"document": raw}
    document = str(raw.get("document") or "").strip() if isinstance(raw, dict) else ""
    if not document:
        raise _fail(source, entry, "没有法律依据（basis.document），措施不得启用")
    assert isinstance(raw, dict)
    return Basis(document, str(raw.get("article") or "").strip())


def _measure(raw: Mapping[str, Any], source: str, list_kinds: Mapping[str, str],
             matters: Mapping[str, Matter]) -> Measure:
    code = str(raw["code"])
    entry = f"措施 {code}"
    if not CODE.match(code):
        raise _fail(source, entry, "code 应为小写字母、数字和下划线")
    unknown = set(raw) - MEASURE_KEYS
    if unknown:
        raise _fail(source, entry, f"未知的键 {'、'.join(sorted(map(str, unknown)))}")
    basis = _basis(raw.get("basis"), source, entry)
    for key in ("name", "group", "applied_by"):
        if not str(raw.get(key) or "").strip():
            raise _fail(source, entry, f"缺少 {key}")
    if raw.get("kind") not in KINDS:
        raise _fail(source, entry, f"kind 应为 {'、'.join(KINDS)} 之一")
    triggers = raw.get("triggers")
    if not isinstance(triggers, dict) or not triggers or set(triggers) - TRIGGER_KEYS:
        raise _fail(source, entry, "triggers 应为含 lists 和/或 records 的映射")
    lists = _texts(triggers.get("lists"), source, entry, "triggers.lists")
    for kind in lists:
        if kind not in list_kinds:
            raise _fail(source, entry, f"名单种类 {kind} 不存在或没有法律依据")
        wanted = "red" if raw["kind"] == "incentive" else "black"
        if list_kinds[kind] != wanted:
            raise _fail(source, entry, f"{KINDS[raw['kind']]}不能由{list_kinds[kind]}名单 {kind} 触发")
    records_raw = triggers.get("records") or []
    if not isinstance(records_raw, list):
        raise _fail(source, entry, "triggers.records 应为列表")
    records = tuple(_record_condition(r, source, entry) for r in records_raw)
    if records and raw["kind"] == "incentive":
        raise _fail(source, entry, "激励措施不能由行政处罚记录触发")
    if not lists and not records:
        raise _fail(source, entry, "triggers 至少要有一个名单种类或记录条件")
    matter_codes = _texts(raw.get("matters"), source, entry, "matters")
    if not matter_codes:
        raise _fail(source, entry, "matters 至少要有一个办理事项类型")
    for m in matter_codes:
        if m not in matters:
            raise _fail(source, entry, f"办理事项类型 {m} 不存在")
    return Measure(code=code, name=str(raw["name"]).strip(), group=str(raw["group"]).strip(),
                   kind=raw["kind"], lists=lists, records=records, matters=matter_codes,
                   applied_by=str(raw["applied_by"]).strip(), basis=basis, source=source)


def _matter(raw: Mapping[str, Any], source: str) -> Matter:
    code = str(raw["code"])
    entry = f"事项 {code}"
    if not CODE.match(code):
        raise _fail(source, entry, "code 应为小写字母、数字和下划线")
    unknown = set(raw) - MATTER_KEYS
    if unknown:
        raise _fail(source, entry, f"未知的键 {'、'.join(sorted(map(str, unknown)))}")
    name = str(raw.get("name") or "").strip()
    if not name:
        raise _fail(source, entry, "缺少 name")
    return Matter(code, name, _texts(raw.get("aliases"), source, entry, "aliases"),
                  str(raw.get("description") or "").strip())


def load(measure_files: Sequence[Path], matter_files: Sequence[Path],
         list_kinds: Mapping[str, str]) -> Catalog:
    """The shipped measures and matter types, each locality file merged over them by `code`.
    `list_kinds` maps the usable list kinds' codes to their list type (black | red). Any
    invalid entry — above all a measure without a legal basis — refuses the whole catalog."""
    matters: dict[str, Matter] = {}
    names: dict[str, str] = {}
    for code, (source, raw) in merge((p.name, read(p, "matters")) for p in matter_files).items():
        matter = _matter(raw, source)
        for name in (matter.name, *matter.aliases):
            if names.setdefault(name, code) != code:
                raise _fail(source, f"事项 {code}", f"名称“{name}”与事项 {names[name]} 重复")
        matters[code] = matter
    measures = {code: _measure(raw, source, list_kinds, matters) for code, (source, raw)
                in merge((p.name, read(p, "measures")) for p in measure_files).items()}
    by_matter = {m: tuple(x for x in measures.values() if m in x.matters) for m in matters}
    return Catalog(measures, matters, tuple(p.name for p in (*measure_files, *matter_files)),
                   by_matter)


# --- what applies ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Entry:
    """An active-or-not list entry as the check sees it; active on day D when
    `listed_on <= D < ends_on` (ends_on: term end, removal or repair; None: open)."""

    kind: str
    kind_name: str
    list_type: str
    authority: str
    doc_no: str
    listed_on: date
    ends_on: date | None
    ref: str  # "entry:<id>" (workflow) or "record:<id>" (data)

    def active(self, day: date) -> bool:
        return self.listed_on <= day and (self.ends_on is None or day < self.ends_on)


@dataclass(frozen=True, slots=True)
class Stop:
    since: date
    until: date | None


@dataclass(frozen=True, slots=True)
class Penalty:
    """A current, published penalty record that some measure's static condition matches."""

    record_id: int
    doc_no: str
    tier: str | None
    decision_date: date
    publicity_start: date | None
    publicity_end: date | None
    basis_key: str
    stops: tuple[Stop, ...] = ()

    def in_publicity(self, day: date) -> bool:
        if self.publicity_start is None or day < self.publicity_start:
            return False
        if self.publicity_end is not None and day >= self.publicity_end:
            return False
        return not any(s.since <= day and (s.until is None or day < s.until) for s in self.stops)


def applicable(measures: Sequence[Measure], entries: Sequence[Entry], penalties: Sequence[Penalty],
               day: date) -> list[dict[str, Any]]:
    """The measures (of one matter) that apply on `day`: one item per measure and trigger, each
    with its basis, the list entry or record that triggers it and that trigger's end date.
    Whether an entry or a record is active is computed here, from its dates."""
    active = [e for e in entries if e.active(day)]
    live = [p for p in penalties if p.in_publicity(day)]
    out: list[dict[str, Any]] = []
    for m in measures:
        for e in active:
            if e.kind in m.lists:
                kind, ref = e.ref.split(":", 1)
                source = "workflow" if kind == "entry" else "data"
                out.append(_applied(m, {"type": "list_entry", "id": int(ref), "source": source,
                                        "description": f"{e.kind_name}（{e.authority}，{e.doc_no}，"
                                                       f"{e.listed_on.isoformat()}列入）"},
                                    e.ends_on))
        for p in live:
            for cond in m.records:
                until = cond.until(p.decision_date, p.publicity_end)
                if cond.matches_statically(p.tier, p.basis_key) and (until is None or day < until):
                    out.append(_applied(m, {"type": "record", "id": p.record_id,
                                            "description": f"行政处罚 {p.doc_no}（{p.tier or '未分级'}，"
                                                           f"{p.decision_date.isoformat()}作出）"},
                                        until))
                    break
    return out


def _applied(m: Measure, trigger: dict[str, Any], until: date | None) -> dict[str, Any]:
    return {"code": m.code, "name": m.name, "kind": m.kind, "group": m.group,
            "basis": str(m.basis), "applied_by": m.applied_by, "triggered_by": trigger,
            "until": iso(until)}


def status(entries: Sequence[Entry], day: date) -> str:
    """The subject's credit status for the check: on a black list, on a red list, or neither."""
    types = {e.list_type for e in entries if e.active(day)}
    return "dishonest" if "black" in types else "honoured" if "red" in types else "normal"


def looks_like_code(text: str) -> bool:
    """Whether a free-text query is meant as a code (18 letters and digits, as typed) rather
    than a name; a code that then fails validation is refused, not searched as a name."""
    code = uscc_rules.normalise(text or "")
    return len(code) == uscc_rules.LENGTH and code.isascii() and code.isalnum()


# --- names ----------------------------------------------------------------------------------

_BLANKS = re.compile(r"[\s\u3000]+")
_BRACKETS = str.maketrans({"（": "(", "）": ")"})


def name_key(name: str) -> str:
    """A name as compared: full-width folded, brackets unified, blanks removed."""
    folded = "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in name)
    return _BLANKS.sub("", folded.translate(_BRACKETS)).lower()
