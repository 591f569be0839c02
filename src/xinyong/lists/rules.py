"""List kinds and the admission workflow as pure rules: loading the kinds, the states of a
proposal and what each step allows, the waiting period, an entry's term and whether it is
active on a day. No I/O beyond reading the files handed in.

A `ListKind` can only be built with a legal basis (its constructor refuses an empty one). The
loader keeps kinds without a basis out of the usable table and reports them; the service's
verbs that create entries take a `ListKind`, so no path creates an entry for a kind without a
basis (SPEC §2.1, "严禁信用惩戒泛化").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from xinyong.accounts.rules import Forbidden, Principal, can
from xinyong.core.dates import add_months
from xinyong.core.errors import CoreError, InvalidInput, RuleDataError
from xinyong.core.workdays import WorkCalendar
from xinyong.lists.error_codes import ListsError

LIST_TYPES = {"black": "失信惩戒名单", "red": "守信激励名单"}
PUBLICITY = {"public": "向社会公开", "shared": "政务共享（不向社会公开）"}
KIND_KEYS = {"code", "name", "list_type", "sector", "authority", "basis", "criteria",
             "notice_required", "waiting_workdays", "publicity", "term", "repair", "repair_after",
             "exit"}
TOP_KEYS = {"decision_due_workdays", "kinds"}


@dataclass(frozen=True)
class LegalBasis:
    document: str
    articles: str = ""

    def __post_init__(self) -> None:
        if not self.document.strip():
            raise ValueError("名单种类必须有法律依据（法律、法规或中央政策文件）")

    def __str__(self) -> str:
        return f"{self.document}{self.articles}"


@dataclass(frozen=True)
class ListKind:
    """A usable list kind. `basis` is not optional: there is no ListKind without one."""

    code: str
    name: str
    list_type: str  # black | red
    sector: str
    authority: str
    basis: LegalBasis
    criteria: str
    notice_required: bool
    waiting_workdays: int
    publicity: str  # public | shared
    term_months: int | None  # None: until removed
    repair: bool
    exit: str
    # how long an entry must have been listed before repair may be applied for (None: at once)
    repair_after_months: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.basis, LegalBasis):
            raise TypeError("basis must be a LegalBasis")

    @property
    def type_name(self) -> str:
        return LIST_TYPES[self.list_type]

    @property
    def term_text(self) -> str:
        if self.term_months is None:
            return "至认定单位移出"
        years, months = divmod(self.term_months, 12)
        return f"{years}年" if not months else (f"{self.term_months}个月")

    def ends_on(self, listed_on: date) -> date | None:
        """First day no longer listed (exclusive), by the kind's fixed term."""
        return None if self.term_months is None else add_months(listed_on, self.term_months)


@dataclass(frozen=True)
class Refused:
    """A kind the loader kept out of the usable table, and why."""

    code: str
    name: str
    source: str
    reason: str


@dataclass(frozen=True)
class KindTable:
    kinds: dict[str, ListKind]  # usable kinds by code
    refused: tuple[Refused, ...]
    decision_due_workdays: int
    sources: tuple[str, ...] = ()

    def by_name_or_code(self, value: str) -> ListKind | None:
        value = value.strip()
        found = self.kinds.get(value)
        return found or next((k for k in self.kinds.values() if k.name == value), None)

    def refused_named(self, value: str) -> Refused | None:
        value = value.strip()
        return next((r for r in self.refused if value in (r.code, r.name)), None)


def _fail(source: str, entry: str, reason: str) -> RuleDataError:
    return RuleDataError(f"名单种类文件 {source}：{entry}：{reason}")


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise _fail(path.name, "文件", f"无法读取：{exc}") from exc
    if not isinstance(raw, dict):
        raise _fail(path.name, "文件", "顶层应为映射")
    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise _fail(path.name, "文件", f"未知的键 {'、'.join(sorted(map(str, unknown)))}")
    return raw


def _term_months(raw: Any, source: str, entry: str) -> int | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) != 1 or not set(raw) <= {"years", "months"}:
        raise _fail(source, entry, "term 应为 {years: N}、{months: N} 或 null（至移出）")
    (unit, n), = raw.items()
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise _fail(source, entry, f"term 的 {unit} 应为正整数")
    return n * 12 if unit == "years" else n


def _basis(raw: Any) -> LegalBasis | None:
    if isinstance(raw, dict) and str(raw.get("document") or "").strip():
        return LegalBasis(str(raw["document"]).strip(), str(raw.get("articles") or "").strip())
    if isinstance(raw, str) and raw.strip():
        return LegalBasis(raw.strip())
    return None


def _kind(raw: Mapping[str, Any], source: str) -> ListKind | Refused:
    code = str(raw["code"])
    entry = f"名单种类 {code}"
    unknown = set(raw) - KIND_KEYS
    if unknown:
        raise _fail(source, entry, f"未知的键 {'、'.join(sorted(map(str, unknown)))}")
    name = str(raw.get("name") or "").strip()
    if not name:
        raise _fail(source, entry, "缺少 name")
    basis = _basis(raw.get("basis"))
    if basis is None:
        return Refused(code, name, source, "没有法律依据（basis.document），不得使用该名单种类")
    if raw.get("list_type") not in LIST_TYPES:
        raise _fail(source, entry, f"list_type 应为 {'、'.join(LIST_TYPES)} 之一")
    if raw.get("publicity", "public") not in PUBLICITY:
        raise _fail(source, entry, f"publicity 应为 {'、'.join(PUBLICITY)} 之一")
    waiting = raw.get("waiting_workdays", 0)
    if not isinstance(waiting, int) or isinstance(waiting, bool) or waiting < 0:
        raise _fail(source, entry, "waiting_workdays 应为不小于0的整数（工作日）")
    notice = raw.get("notice_required", True)
    if not isinstance(notice, bool):
        raise _fail(source, entry, "notice_required 应为 true 或 false")
    if waiting and not notice:
        raise _fail(source, entry, "不告知就没有异议期：waiting_workdays 大于0时 notice_required 须为 true")
    for key in ("authority", "criteria", "exit"):
        if not str(raw.get(key) or "").strip():
            raise _fail(source, entry, f"缺少 {key}（认定单位须公布认定标准、程序和退出条件）")
    return ListKind(
        code=code, name=name, list_type=raw["list_type"], sector=str(raw.get("sector") or ""),
        authority=str(raw["authority"]), basis=basis, criteria=str(raw["criteria"]),
        notice_required=notice, waiting_workdays=waiting,
        publicity=raw.get("publicity", "public"),
        term_months=_term_months(raw.get("term"), source, entry),
        repair=bool(raw.get("repair", False)), exit=str(raw["exit"]),
        repair_after_months=_repair_after(raw, source, entry))


def _repair_after(raw: Mapping[str, Any], source: str, entry: str) -> int | None:
    """`repair_after: {years: 1}`: the minimum time listed before repair may be applied for;
    only meaningful (and only allowed) where the kind allows repair."""
    value = raw.get("repair_after")
    if value is None:
        return None
    if not isinstance(raw.get("repair", False), bool) or not raw.get("repair"):
        raise _fail(source, entry, "repair_after 只适用于允许信用修复（repair: true）的名单种类")
    if not isinstance(value, dict) or len(value) != 1 or not set(value) <= {"years", "months"}:
        raise _fail(source, entry, "repair_after 应为 {years: N} 或 {months: N}")
    return _term_months(value, source, entry)


def load(paths: Iterable[Path]) -> KindTable:
    """The shipped kinds, then each locality file merged over them by `code`, key by key."""
    merged: dict[str, tuple[str, dict[str, Any]]] = {}
    due = 10
    sources: list[str] = []
    for path in paths:
        raw = _read(path)
        sources.append(path.name)
        if "decision_due_workdays" in raw:
            value = raw["decision_due_workdays"]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise _fail(path.name, "decision_due_workdays", "应为正整数（工作日）")
            due = value
        kinds = raw.get("kinds") or []
        if not isinstance(kinds, list):
            raise _fail(path.name, "kinds", "应为列表")
        for entry in kinds:
            if not isinstance(entry, dict) or not entry.get("code"):
                raise _fail(path.name, "kinds", f"名单种类缺少 code：{entry!r}")
            code = str(entry["code"])
            before = merged.get(code, ("", {}))[1]
            merged[code] = (path.name, {**before, **entry})
    usable: dict[str, ListKind] = {}
    refused: list[Refused] = []
    names: dict[str, str] = {}
    for code, (source, raw) in merged.items():
        kind = _kind(raw, source)
        if kind.name in names:
            raise _fail(source, f"名单种类 {code}", f"名称“{kind.name}”与 {names[kind.name]} 重复")
        names[kind.name] = code
        if isinstance(kind, Refused):
            refused.append(kind)
        else:
            usable[code] = kind
    return KindTable(usable, tuple(refused), due, tuple(sources))


def refusal_message(value: str, table: KindTable) -> str:
    """Why `value` (a code or name) cannot be used as a list kind, in Chinese."""
    refused = table.refused_named(value)
    if refused is not None:
        return f"名单种类“{refused.name}”没有法律依据，不能使用（{refused.source}）"
    return f"未知的名单种类“{value}”；可用：{'、'.join(k.name for k in table.kinds.values())}"


# --- the admission workflow -----------------------------------------------------------------

PROPOSED, NOTIFIED, DECIDED, WITHDRAWN = "proposed", "notified", "decided", "withdrawn"
STATUS_NAMES = {PROPOSED: "待告知", NOTIFIED: "已告知（异议期）", DECIDED: "已认定列入",
                WITHDRAWN: "已撤回"}
STEPS = {"notice": "告知", "objection": "异议", "decision": "认定", "withdrawal": "撤回"}


def allowed_steps(status: str, kind: ListKind) -> set[str]:
    """The steps a proposal in `status` may take next (the state machine)."""
    if status == PROPOSED:
        return {"notice", "withdrawal"} | (set() if kind.notice_required else {"decision"})
    if status == NOTIFIED:
        return {"objection", "decision", "withdrawal"}
    return set()


def check_step(step: str, status: str, kind: ListKind) -> None:
    if step in allowed_steps(status, kind):
        return
    if step == "decision" and status == PROPOSED:
        raise InvalidInput(f"“{kind.name}”须先告知当事人，告知后方可认定", code=ListsError.NOTICE_REQUIRED)
    raise InvalidInput(f"名单认定申请处于“{STATUS_NAMES.get(status, status)}”状态，不能{STEPS[step]}",
                       code=CoreError.ILLEGAL_TRANSITION)


def objection_last_day(kind: ListKind, notified_on: date, calendar: WorkCalendar) -> date | None:
    """The last day the subject may object: the `waiting_workdays`-th working day after the
    notice (the notice day itself does not count). None when the kind has no waiting period."""
    if kind.waiting_workdays == 0:
        return None
    return calendar.add_workdays(notified_on, kind.waiting_workdays)


def decide_from(kind: ListKind, notified_on: date | None, proposed_on: date,
                calendar: WorkCalendar) -> date:
    """The first day a decision may be made: the day after the waiting period."""
    if notified_on is None:
        return proposed_on
    last = objection_last_day(kind, notified_on, calendar)
    return notified_on if last is None else last + timedelta(days=1)


def decision_due(kind: ListKind, notified_on: date | None, proposed_on: date, due_workdays: int,
                 calendar: WorkCalendar) -> date:
    """By when the decision should be made: `due_workdays` working days after it may be."""
    start = decide_from(kind, notified_on, proposed_on, calendar)
    return calendar.add_workdays(start - timedelta(days=1), due_workdays)


def check_decision_day(day: date, first: date) -> None:
    if day < first:
        raise InvalidInput(f"异议期尚未届满：{first.isoformat()}起方可作出认定决定",
                           code=ListsError.WAITING_PERIOD)


def check_objection_day(day: date, last: date | None) -> None:
    if last is None:
        raise InvalidInput("该名单种类不设异议期", code=ListsError.NO_WAITING_PERIOD)
    if day > last:
        raise InvalidInput(f"异议期已于{last.isoformat()}届满，不能再提出异议",
                           code=ListsError.WAITING_PERIOD_OVER)


def is_active(day: date, listed_on: date, ends_on: date | None, ended_on: date | None) -> bool:
    """An entry is active on `day` from its listing up to (not including) its term end or the
    day it was ended early (repair, removal) — derived from dates, never a stored flag."""
    return listed_on <= day and (ends_on is None or day < ends_on) \
        and (ended_on is None or day < ended_on)


def require_text(value: str | None, label: str, limit: int, field: str | None = None) -> str:
    """The text, trimmed; refused when empty or too long (`field`: the form field it came from)."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"请填写{label}", code=CoreError.MISSING_FIELD, field=field)
    if len(text) > limit:
        raise InvalidInput(f"{label}不能超过{limit}个字符", code=CoreError.TOO_LONG, field=field)
    return text


def check_may_object(principal: Principal, subject_uscc: str | None) -> None:
    """Who may record an objection to a proposal: the credit office (a note of what the subject
    said), or an account acting for that very subject."""
    if can(principal, "list.manage"):
        return
    if can(principal, "objection.file") and principal.subject and principal.subject == subject_uscc:
        return
    raise Forbidden("只有被告知的信用主体本人（或信用办代为记录）可以对名单认定提出异议",
                    code=ListsError.NOT_THE_SUBJECT)
