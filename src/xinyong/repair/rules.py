"""Credit repair (信用修复) as pure functions: the rules file, whether a penalty record may be
repaired on a day and why, the case's state machine and deadlines, and what an uploaded file
really is. No I/O beyond reading the rule files handed in.

Eligibility answers the rule-based part of 令第36号 — the minimum publicity period has passed
and no exclusion applies — and names what the application must still prove (duties performed,
a commitment), which staff verify on review.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from xinyong.core.errors import CoreError, InvalidInput
from xinyong.core.ruledata import Where, load_merged, mapping, text, texts, unknown_keys
from xinyong.publicity.rules import STOP_REASONS, TIERS

FILE = "repair.yaml"
WHAT = "信用修复规则文件"
FILE_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}
_TOP_KEYS = {"basis", "deadlines", "penalty", "files", "list_exit"}

# The case's states and the verbs that move it. `resubmit` is the subject's, the rest staff's.
STATUSES = {
    "submitted": "已提交，待受理",
    "returned": "已退回补正，待申请人补充材料",
    "accepted": "已受理，审核中",
    "approved": "修复成功，已停止公示",
    "rejected": "不予修复",
}
OPEN_STATUSES = ("submitted", "returned", "accepted")
TRANSITIONS: dict[tuple[str, str], str] = {
    ("submitted", "accept"): "accepted",
    ("submitted", "return"): "returned",
    ("returned", "resubmit"): "submitted",
    ("accepted", "approve"): "approved",
    ("accepted", "reject"): "rejected",
}
ACTIONS = {"accept": "受理", "return": "退回补正", "resubmit": "补正后重新提交",
           "approve": "准予修复", "reject": "不予修复"}
LABEL_OPEN = "信用修复中"


@dataclass(frozen=True)
class Material:
    code: str
    name: str
    required: bool
    note: str = ""


@dataclass(frozen=True)
class RepairRules:
    basis: str
    accept_workdays: int
    return_workdays: int
    decide_workdays: int
    kind_name: str
    tiers: tuple[str, ...]
    excluded_regimes: Mapping[str, str]  # regime → why its records cannot be repaired
    to_prove: tuple[str, ...]
    materials: tuple[Material, ...]
    max_file_mib: int
    file_types: tuple[str, ...]
    sources: tuple[str, ...] = ()
    list_exit: ListExitRules | None = None  # None: no repair of list entries configured

    def material(self, code: str) -> Material | None:
        return next((m for m in self.materials if m.code == code), None)

    @property
    def required(self) -> tuple[Material, ...]:
        return tuple(m for m in self.materials if m.required)


@dataclass(frozen=True)
class ListExitRules:
    """Leaving a list by repair (移出严重失信主体名单): the common materials and what each list
    kind adds (by kind code)."""

    name: str
    to_prove: tuple[str, ...]
    materials: tuple[Material, ...]
    kind_materials: Mapping[str, tuple[Material, ...]] = field(default_factory=dict)
    kind_to_prove: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def materials_for(self, kind: str) -> tuple[Material, ...]:
        return self.materials + tuple(self.kind_materials.get(kind, ()))

    def to_prove_for(self, kind: str) -> tuple[str, ...]:
        return self.to_prove + tuple(self.kind_to_prove.get(kind, ()))


# --- loading ------------------------------------------------------------------------------

def load(paths: Sequence[Path]) -> RepairRules:
    """The national defaults (first path) with each locality file merged over them in order."""
    merged, sources = load_merged(paths, WHAT)
    return parse(merged, sources)


def _count(value: Any, where: Where, entry: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise where.fail(entry, f"应为不小于{low}的整数，而不是 {value!r}")
    return value


def parse(raw: Mapping[str, Any], sources: tuple[str, ...] = (FILE,)) -> RepairRules:
    """Validate the merged rules completely; every problem names the file, entry and reason."""
    where = Where(WHAT, sources)
    unknown_keys(raw, _TOP_KEYS, where, "顶层")
    deadlines = mapping(raw.get("deadlines"), where, "deadlines")
    keys = ("accept_workdays", "return_workdays", "decide_workdays")
    unknown_keys(deadlines, keys, where, "deadlines")
    days = {k: _count(deadlines.get(k), where, f"deadlines.{k}") for k in keys}
    penalty = mapping(raw.get("penalty"), where, "penalty")
    unknown_keys(penalty, ("name", "tiers", "excluded_regimes", "to_prove", "materials"), where,
                  "penalty")
    tiers = texts(penalty.get("tiers"), where, "penalty.tiers")
    for t in tiers:
        if t not in TIERS:
            raise where.fail("penalty.tiers", f"“{t}”不是失信严重程度（应为{'、'.join(TIERS)}之一）")
    excluded = {str(k): text(v, where, f"penalty.excluded_regimes.{k}") for k, v in
                mapping(penalty.get("excluded_regimes", {}), where, "penalty.excluded_regimes").items()}
    materials = _materials(penalty.get("materials"), where, "penalty.materials")
    files = mapping(raw.get("files"), where, "files")
    unknown_keys(files, ("max_mib", "types"), where, "files")
    types = texts(files.get("types"), where, "files.types")
    for t in types:
        if t not in FILE_TYPES:
            raise where.fail("files.types", f"不支持的文件类型“{t}”（可用：{'、'.join(FILE_TYPES)}）")
    return RepairRules(
        basis=str(raw.get("basis") or ""), kind_name=text(penalty.get("name"), where, "penalty.name"),
        tiers=tiers, excluded_regimes=excluded,
        to_prove=texts(penalty.get("to_prove", []), where, "penalty.to_prove"),
        materials=materials, max_file_mib=_count(files.get("max_mib"), where, "files.max_mib"),
        file_types=types, sources=sources, list_exit=_list_exit(raw.get("list_exit"), where), **days)


def _materials(raw: Any, where: Where, entry_name: str, *, empty: bool = False,
               taken: Collection[str] = ()) -> tuple[Material, ...]:
    materials: list[Material] = []
    if not isinstance(raw, list) or (not raw and not empty):
        raise where.fail(entry_name, "应为非空列表" if not empty else "应为列表")
    for i, m in enumerate(raw):
        entry = f"{entry_name}[{i}]"
        m = mapping(m, where, entry)
        unknown_keys(m, ("code", "name", "required", "note"), where, entry)
        code = text(m.get("code"), where, f"{entry}.code")
        if not code.isidentifier() or not code.isascii() or code in ("record", "entry", "statement"):
            raise where.fail(f"{entry}.code", f"“{code}”应为英文字母、数字和下划线组成的代码")
        if any(x.code == code for x in materials) or code in taken:
            raise where.fail(f"{entry}.code", f"材料代码“{code}”重复")
        if not isinstance(m.get("required"), bool):
            raise where.fail(f"{entry}.required", "应为 true 或 false")
        materials.append(Material(code, text(m.get("name"), where, f"{entry}.name"),
                                  bool(m["required"]), str(m.get("note") or "")))
    return tuple(materials)


def _list_exit(raw: Any, where: Where) -> ListExitRules | None:
    if raw is None:
        return None
    raw = mapping(raw, where, "list_exit")
    unknown_keys(raw, ("name", "to_prove", "materials", "kinds"), where, "list_exit")
    common = _materials(raw.get("materials"), where, "list_exit.materials")
    kind_materials: dict[str, tuple[Material, ...]] = {}
    kind_to_prove: dict[str, tuple[str, ...]] = {}
    for code, extra in mapping(raw.get("kinds", {}), where, "list_exit.kinds").items():
        entry = f"list_exit.kinds.{code}"
        extra = mapping(extra, where, entry)
        unknown_keys(extra, ("materials", "to_prove"), where, entry)
        kind_materials[str(code)] = _materials(extra.get("materials", []), where, f"{entry}.materials",
                                               empty=True, taken=[m.code for m in common])
        kind_to_prove[str(code)] = texts(extra.get("to_prove", []), where, f"{entry}.to_prove")
    return ListExitRules(text(raw.get("name"), where, "list_exit.name"),
                         texts(raw.get("to_prove", []), where, "list_exit.to_prove"), common,
                         kind_materials, kind_to_prove)


# --- eligibility --------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordState:
    """What eligibility needs to know of a record's current version and its cases."""

    record: int
    item_code: str
    status: str  # current | superseded
    tier: str | None
    published: bool
    start: date | None
    repair_from: date | None
    end: date | None
    regime: str | None
    # publicity stops in force on the day: (reason, since)
    stops: tuple[tuple[str, date], ...] = ()
    repaired_on: date | None = None
    open_case: str | None = None


@dataclass(frozen=True)
class Eligibility:
    record: int
    eligible: bool
    eligible_from: date | None
    reasons: tuple[str, ...]
    to_prove: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {"record": self.record, "eligible": self.eligible,
                "eligible_from": self.eligible_from.isoformat() if self.eligible_from else None,
                "reasons": list(self.reasons)}


def period_label(start: date, until: date) -> str:
    """The minimum period in the words of the rules (3个月, 1年, 18个月). `until` is
    `add_months(start, n)`, whose whole-month difference is n even when the day was clamped."""
    months = (until.year - start.year) * 12 + until.month - start.month
    return f"{months // 12}年" if months and months % 12 == 0 else f"{months}个月"


def eligibility(rules: RepairRules, state: RecordState, day: date) -> Eligibility:
    """May the subject apply on `day` to end this record's publicity, and why (Chinese,
    specific). `eligible_from` is the first day it may (null when it never will)."""

    def no(reason: str, eligible_from: date | None = None) -> Eligibility:
        return Eligibility(state.record, False, eligible_from, (reason,))

    if state.item_code != "penalty":
        return no("只有行政处罚信息可以申请终止公示的信用修复，该记录不是行政处罚信息")
    if state.status != "current":
        return no("该版本已被更正，请对现行版本申请")
    if state.repaired_on is not None:
        return no(f"该记录已于{state.repaired_on.isoformat()}完成信用修复，已停止公示")
    if state.open_case is not None:
        return no(f"该记录已有办理中的信用修复申请（{state.open_case}），请勿重复申请")
    if not state.published:
        if state.tier is not None and state.tier not in rules.tiers:
            return no(f"失信程度{state.tier}的行政处罚信息不予公示，无需信用修复")
        return no("该记录不予公示，无需信用修复")
    if state.regime is not None and state.regime in rules.excluded_regimes:
        return no(f"按{state.regime}规则认定的记录不可修复：{rules.excluded_regimes[state.regime]}")
    if state.tier not in rules.tiers:
        return no(f"失信程度{state.tier or '未认定'}的记录不属于可修复范围"
                  f"（可修复：{'、'.join(rules.tiers)}）")
    if state.end is not None and day >= state.end:
        return no(f"公示期已于{state.end.isoformat()}届满，已停止公示，无需信用修复")
    for reason, since in state.stops:
        if reason == "suspended":
            return no(f"该记录自{since.isoformat()}起因异议处理暂停公示，请待异议处理完毕后再申请")
        why = STOP_REASONS.get(reason, reason)
        return no(f"该记录已于{since.isoformat()}停止公示（{why}），无需信用修复")
    start = state.start
    repair_from = state.repair_from or start
    if start is None or repair_from is None:
        return no("该记录没有公示期，无需信用修复")
    if day < repair_from:
        if repair_from > start:
            why = f"最短公示期{period_label(start, repair_from)}未满，自{repair_from.isoformat()}起可申请"
        else:
            why = f"公示尚未开始，自{repair_from.isoformat()}起可申请"
        return no(why, repair_from)
    reasons = [f"最短公示期{period_label(start, repair_from)}已满（自{repair_from.isoformat()}起可申请）"
               if repair_from > start else "该失信程度没有最短公示期，履行法定义务后即可申请"]
    if state.end is not None:
        reasons.append(f"未修复的，公示至{state.end.isoformat()}（不含当日）自动停止")
    return Eligibility(state.record, True, repair_from, tuple(reasons), rules.to_prove)


# --- leaving a list by repair ---------------------------------------------------------------

@dataclass(frozen=True)
class EntryState:
    """What list-exit eligibility needs to know of an entry (workflow or data) and its cases.
    `ref` is the entry's reference (`L<entry id>` or `R<record id>`)."""

    ref: str
    kind_code: str
    kind_name: str
    usable: bool  # the kind is in the usable table (has a basis)
    list_type: str | None  # black | red
    repair_allowed: bool
    repair_after_months: int | None
    authority: str
    exit: str
    listed_on: date
    ends_on: date | None  # term end (exclusive)
    ended_on: date | None = None  # left early (removed, repaired, or a data entry's 移出日期)
    end_reason: str | None = None  # repaired | removed
    superseded: bool = False  # a data entry corrected by a newer version
    # publicity stops in force on the day of a data entry: (reason, since)
    stops: tuple[tuple[str, date], ...] = ()
    open_case: str | None = None


@dataclass(frozen=True)
class EntryEligibility:
    entry: str
    eligible: bool
    eligible_from: date | None
    reasons: tuple[str, ...]
    to_prove: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {"entry": self.entry, "eligible": self.eligible,
                "eligible_from": self.eligible_from.isoformat() if self.eligible_from else None,
                "reasons": list(self.reasons)}


def entry_eligibility(rules: RepairRules, state: EntryState, day: date,
                      add_months: Callable[[date, int], date]) -> EntryEligibility:
    """May the subject apply on `day` to leave this list early by repair, and why (Chinese,
    specific): the kind must allow repair, the entry be active, no case open, and the minimum
    time listed (`repair_after`) passed."""

    def no(reason: str, eligible_from: date | None = None) -> EntryEligibility:
        return EntryEligibility(state.ref, False, eligible_from, (reason,))

    if rules.list_exit is None:
        return no("本平台未配置名单信用修复（repair.yaml 缺少 list_exit）")
    if not state.usable:
        return no(f"名单种类“{state.kind_name}”没有法律依据或已停用，不能办理")
    if state.list_type == "red":
        return no(f"“{state.kind_name}”是守信激励名单，无需信用修复")
    if state.superseded:
        return no("该名单信息已被更正，请对现行版本申请")
    if state.end_reason == "repaired" and state.ended_on is not None:
        return no(f"该名单条目已于{state.ended_on.isoformat()}经信用修复移出")
    if day < state.listed_on:
        return no(f"该主体自{state.listed_on.isoformat()}起列入名单，尚未列入")
    if state.ended_on is not None and day >= state.ended_on:
        why = "由认定单位移出" if state.end_reason == "removed" else "移出"
        return no(f"该名单条目已于{state.ended_on.isoformat()}{why}，无需信用修复")
    if state.ends_on is not None and day >= state.ends_on:
        return no(f"列入期限已于{state.ends_on.isoformat()}届满，已自动移出，无需信用修复")
    for reason, since in state.stops:
        if reason == "suspended":
            return no(f"该名单信息自{since.isoformat()}起因异议处理暂停公示，请待异议处理完毕后再申请")
        if reason == "repaired":
            return no(f"该名单条目已于{since.isoformat()}经信用修复移出")
        return no(f"该名单信息已于{since.isoformat()}停止公示（{STOP_REASONS.get(reason, reason)}），"
                  "无需信用修复")
    if state.open_case is not None:
        return no(f"该名单条目已有办理中的信用修复申请（{state.open_case}），请勿重复申请")
    if not state.repair_allowed:
        return no(f"“{state.kind_name}”不适用信用修复，由{state.authority}按规定移出：{state.exit}")
    if state.repair_after_months:
        start = add_months(state.listed_on, state.repair_after_months)
        period = period_label(state.listed_on, start)
        if day < start:
            return no(f"列入满{period}后方可申请信用修复提前移出，自{start.isoformat()}起可申请", start)
        reasons = [f"列入已满{period}（自{start.isoformat()}起可申请）"]
    else:
        start = state.listed_on
        reasons = ["该名单不设最短列入期限，纠正失信行为、履行义务后即可申请提前移出"]
    if state.ends_on is not None:
        reasons.append(f"未修复的，至{state.ends_on.isoformat()}（不含当日）期满自动移出")
    return EntryEligibility(state.ref, True, start, tuple(reasons),
                            rules.list_exit.to_prove_for(state.kind_code))


# --- materials ----------------------------------------------------------------------------

def all_materials(rules: RepairRules) -> tuple[Material, ...]:
    """Every material code any kind of application may carry (for names and upload checks)."""
    found = {m.code: m for m in rules.materials}
    if rules.list_exit is not None:
        for m in rules.list_exit.materials:
            found.setdefault(m.code, m)
        for extra in rules.list_exit.kind_materials.values():
            for m in extra:
                found.setdefault(m.code, m)
    return tuple(found.values())


def list_exit_materials(rules: RepairRules, kind_code: str) -> tuple[Material, ...]:
    """The materials of an application to leave a list of this kind (common + the kind's own)."""
    if rules.list_exit is None:
        return ()
    return rules.list_exit.materials_for(kind_code)

# --- the case -----------------------------------------------------------------------------

def next_status(status: str, action: str) -> str:
    """The state after `action`, or InvalidInput saying why it is not allowed now."""
    if action not in ACTIONS:
        raise InvalidInput(f"未知的操作“{action}”（可用：{'、'.join(ACTIONS)}）",
                           code=CoreError.UNKNOWN_ACTION)
    found = TRANSITIONS.get((status, action))
    if found is None:
        allowed = [ACTIONS[a] for (s, a) in TRANSITIONS if s == status]
        now = STATUSES.get(status, status)
        raise InvalidInput(
            f"案件当前状态为“{now}”，不能{ACTIONS[action]}"
            + (f"（当前可以：{'、'.join(allowed)}）" if allowed else "（已办结）"),
            code=CoreError.ILLEGAL_TRANSITION)
    return found


def due_on(rules: RepairRules, status: str, since: date,
           add_workdays: Callable[[date, int], date]) -> date | None:
    """When staff must have acted on a case that entered `status` on `since`: accept or return
    a submitted one, decide an accepted one. None while it waits for the subject, or is done."""
    if status == "submitted":
        return add_workdays(since, min(rules.accept_workdays, rules.return_workdays))
    if status == "accepted":
        return add_workdays(since, rules.decide_workdays)
    return None


def overdue(due: date | None, status: str, day: date) -> bool:
    """Past its due date and still waiting for staff (derived on asking, never stored)."""
    return due is not None and status in ("submitted", "accepted") and day > due


def new_case_no(day: date) -> str:
    """`XF` + yyyymmdd + 8 random base32 characters (40 bits): unguessable, so the public
    follow page by number shows a case only to whoever was given its number."""
    return f"XF{day:%Y%m%d}{base64.b32encode(secrets.token_bytes(5)).decode()}"


CASE_NO_PATTERN = r"^XF\d{8}[A-Z2-7]{8}$"


def sniff(head: bytes) -> str | None:
    """What a file is by its first bytes (its signature), whatever its name says."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None
