"""Objections (异议) as pure rules: the rules file, case numbers, the due date, the case's state
machine, who may file and decide, what an objection must carry, and a correction's new values.
No I/O beyond reading the rule files handed in.

A case is `open` from filing (the record shows "异议处理中" at once) until the source department
decides: `correct` (a new version of the record), `revoke`, `suspend` publicity while it
verifies (the case stays `suspended` until it `resume`s publicity, revokes or corrects), or
`reject` with a written reason. Overdue is derived when asked: open and past the due date.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from xinyong.accounts.rules import Forbidden, Principal, Role
from xinyong.catalog.rules import Catalog, Item
from xinyong.core.errors import CoreError, InvalidInput, RuleDataError
from xinyong.core.ruledata import merge, read_mapping
from xinyong.ingest.rules import IDENTITY_KEY, column
from xinyong.objections.error_codes import ObjectionError

FILE = "objections.yaml"
CASE_PREFIX = "YY"
# YY + yyyymmdd + 8 base32 characters (40 random bits): a number nobody can guess, since
# holding it is what lets anyone follow the case.
CASE_NO = re.compile(r"^YY\d{8}[A-Z2-7]{8}$")
CASE_NO_LENGTH = 18
MARKER = "异议处理中"

STATUSES = {
    "open": "异议处理中",
    "suspended": "暂停公示，核实中",
    "corrected": "异议成立，信息已更正",
    "revoked": "异议成立，信息已撤销",
    "rejected": "异议不成立",
    "resumed": "核实完毕，恢复公示",
}
# A record is "under objection" while its case is in one of these.
UNDER_OBJECTION = ("open", "suspended")
CLOSED = ("corrected", "revoked", "rejected", "resumed")

ACTIONS = {
    "correct": "更正信息（生成新版本）",
    "revoke": "撤销信息（停止公示）",
    "suspend": "暂停公示（核实期间）",
    "reject": "驳回异议（须说明理由）",
    "resume": "恢复公示（结束暂停）",
}
# (status, action) → the status after it. Anything else is refused and changes nothing.
TRANSITIONS: Mapping[tuple[str, str], str] = {
    ("open", "correct"): "corrected",
    ("open", "revoke"): "revoked",
    ("open", "suspend"): "suspended",
    ("open", "reject"): "rejected",
    ("suspended", "correct"): "corrected",
    ("suspended", "revoke"): "revoked",
    ("suspended", "resume"): "resumed",
}
# A refusal must say why (rules.md §4: "a refusal gives reasons"); so must lifting a suspension.
REASON_REQUIRED = ("reject", "resume")
DECISION_REASON_MAX = 2000
NUL_PROBLEM = "理由中含有空字符（U+0000），请删除后重新提交"

# Attachment kinds and how each is recognised: by its name's suffix AND its first bytes.
FILE_KINDS: Mapping[str, tuple[tuple[str, ...], tuple[bytes, ...], str]] = {
    "pdf": ((".pdf",), (b"%PDF-",), "application/pdf"),
    "jpg": ((".jpg", ".jpeg"), (b"\xff\xd8\xff",), "image/jpeg"),
    "png": ((".png",), (b"\x89PNG\r\n\x1a\n",), "image/png"),
}
SIGNATURE_BYTES = 8


@dataclass(frozen=True)
class ObjectionRules:
    basis: str
    decide_working_days: int
    reason_min: int
    reason_max: int
    max_files: int
    max_mib: int
    types: tuple[str, ...]
    sources: tuple[str, ...] = ()


# --- loading ------------------------------------------------------------------------------

def load(paths: Sequence[Path]) -> ObjectionRules:
    merged: dict[str, Any] = {}
    for path in paths:
        merged = merge(merged, read_mapping(path, "异议规则文件", str(path)))
    return parse(merged, tuple(str(p) for p in paths))


def _fail(sources: tuple[str, ...], entry: str, reason: str) -> RuleDataError:
    where = FILE if len(sources) < 2 else f"{FILE}（合并 {sources[-1]}）"
    return RuleDataError(f"异议规则文件 {where}：{entry}：{reason}")


def _whole(value: Any, sources: tuple[str, ...], entry: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(sources, entry, f"应为 {low} 到 {high} 之间的整数，而不是 {value!r}")
    return value


def _section(raw: Mapping[str, Any], key: str, allowed: set[str],
             sources: tuple[str, ...]) -> Mapping[str, Any]:
    value = raw.get(key)
    if not isinstance(value, Mapping):
        raise _fail(sources, key, "应为映射")
    unknown = set(value) - allowed
    if unknown:
        raise _fail(sources, key, f"未知的键 {'、'.join(sorted(map(str, unknown)))}")
    return value


def parse(raw: Mapping[str, Any], sources: tuple[str, ...] = (FILE,)) -> ObjectionRules:
    """Validate the merged rules completely; unknown keys are refused so a typo never
    silently keeps a default."""
    unknown = set(raw) - {"basis", "decide_working_days", "reason", "attachments"}
    if unknown:
        raise _fail(sources, "文件", f"未知的键 {'、'.join(sorted(map(str, unknown)))}")
    basis = raw.get("basis")
    if not isinstance(basis, str) or not basis.strip():
        raise _fail(sources, "basis", "缺少依据说明")
    days = _whole(raw.get("decide_working_days"), sources, "decide_working_days", 1, 60)
    reason = _section(raw, "reason", {"min_chars", "max_chars"}, sources)
    low = _whole(reason.get("min_chars"), sources, "reason.min_chars", 1, 1000)
    high = _whole(reason.get("max_chars"), sources, "reason.max_chars", 1, 20000)
    if high < low:
        raise _fail(sources, "reason", f"max_chars（{high}）小于 min_chars（{low}）")
    files = _section(raw, "attachments", {"max_files", "max_mib", "types"}, sources)
    max_files = _whole(files.get("max_files"), sources, "attachments.max_files", 0, 20)
    max_mib = _whole(files.get("max_mib"), sources, "attachments.max_mib", 1, 100)
    types = files.get("types")
    if not isinstance(types, list) or not types:
        raise _fail(sources, "attachments.types", "应为非空列表")
    for t in types:
        if t not in FILE_KINDS:
            raise _fail(sources, "attachments.types",
                        f"不支持的附件类型 {t!r}（可选：{'、'.join(FILE_KINDS)}）")
    return ObjectionRules(basis.strip(), days, low, high, max_files, max_mib, tuple(types), sources)


# --- case numbers and dates ---------------------------------------------------------------

def case_no(day: date, entropy: bytes) -> str:
    """`YY` + the filing day + 8 base32 characters of `entropy` (at least 5 random bytes)."""
    if len(entropy) < 5:
        raise ValueError("案件编号至少需要 5 字节随机数")
    return CASE_PREFIX + day.strftime("%Y%m%d") + base64.b32encode(entropy[:5]).decode()


def is_case_no(text: str) -> bool:
    return CASE_NO.match(text) is not None


def due_date(filed_on: date, rules: ObjectionRules, add_workdays: Callable[[date, int], date]) -> date:
    """The last day the source department may decide: N working days after the filing day."""
    return add_workdays(filed_on, rules.decide_working_days)


def is_overdue(status: str, due: date, today: date) -> bool:
    """Still awaiting the department's decision after its last day. A suspended case has had
    a decision in time (publicity is already stopped) and is not overdue."""
    return status == "open" and today > due


# --- the state machine --------------------------------------------------------------------

def next_status(status: str, action: str, reason: str | None) -> str:
    """The case's status after `action`, or InvalidInput with the reason it is not allowed."""
    if action not in ACTIONS:
        raise InvalidInput(f"未知的处理决定“{action}”（可选：{'、'.join(ACTIONS)}）",
                           code=ObjectionError.INVALID_ACTION)
    if status in CLOSED:
        raise InvalidInput(f"该异议已办结（{STATUSES[status]}），不能再作决定",
                           code=ObjectionError.OBJECTION_CLOSED)
    after = TRANSITIONS.get((status, action))
    if after is None:
        allowed = "、".join(f"{a}（{ACTIONS[a]}）" for (s, a) in TRANSITIONS if s == status)
        raise InvalidInput(f"异议当前状态为“{STATUSES.get(status, status)}”，不能“{ACTIONS[action]}”"
                           f"；可作的决定：{allowed}", code=ObjectionError.OBJECTION_TRANSITION)
    if action in REASON_REQUIRED and not (reason or "").strip():
        raise InvalidInput(f"“{ACTIONS[action]}”须写明理由", code=CoreError.REASON_REQUIRED)
    if reason is not None and "\x00" in reason:
        raise InvalidInput(NUL_PROBLEM, code=ObjectionError.REASON_INVALID)
    if reason is not None and len(reason) > DECISION_REASON_MAX:
        raise InvalidInput(f"理由不能超过 {DECISION_REASON_MAX} 个字符", code=ObjectionError.REASON_TOO_LONG)
    return after


# --- who may do what ----------------------------------------------------------------------

def check_own_subject(principal: Principal, subject_uscc: str | None) -> None:
    """An enterprise objects only to records about the subject it acts for."""
    if not principal.subject or subject_uscc != principal.subject:
        raise Forbidden("只能对本主体（本账号所代表的信用主体）的信用记录提出异议",
                        code=CoreError.NOT_OWN_SUBJECT)


def decider_department(principal: Principal, role: Role) -> str | None:
    """The one department whose cases the principal decides, or None for all: a role bound to
    a department (the source department's reporter) decides only its own records; reviewers
    of the credit office decide all."""
    if role.department == "required":
        return principal.department
    return None


def check_decider(principal: Principal, role: Role, department: str) -> None:
    own = decider_department(principal, role)
    if own is not None and own != department:
        raise Forbidden(f"只能处理本部门（{own}）提供的信息的异议", code=CoreError.OTHER_DEPARTMENT)


# --- what an objection carries ------------------------------------------------------------

def reason_problem(text: str, rules: ObjectionRules) -> str | None:
    if "\x00" in text:
        return NUL_PROBLEM
    n = len(text.strip())
    if n < rules.reason_min:
        return f"异议理由至少 {rules.reason_min} 个字（现有 {n} 个），请写明哪项信息有误及事实依据"
    if n > rules.reason_max:
        return f"异议理由不能超过 {rules.reason_max} 个字（现有 {n} 个）"
    return None


def sniff(head: bytes) -> str | None:
    """The attachment kind the first bytes of a file show, or None."""
    for kind, (_, signatures, _) in FILE_KINDS.items():
        if any(head.startswith(s) for s in signatures):
            return kind
    return None


def attachment_kind(name: str, head: bytes, rules: ObjectionRules) -> str:
    """The kind of an accepted attachment; InvalidInput when its name or content is not one
    of the accepted kinds, or they disagree (a renamed executable is not a PDF)."""
    accepted = "、".join(t.upper() for t in rules.types)
    suffix = Path(name).suffix.lower()
    by_name = next((k for k in rules.types if suffix in FILE_KINDS[k][0]), None)
    if by_name is None:
        raise InvalidInput(f"附件“{name}”的类型“{suffix or '无扩展名'}”不被接受：请上传 {accepted} 文件",
                           code=CoreError.FILE_TYPE)
    if sniff(head) != by_name:
        raise InvalidInput(f"附件“{name}”的内容不是有效的 {by_name.upper()} 文件", code=CoreError.FILE_TYPE)
    return by_name


def safe_name(name: str) -> str:
    """A file name safe to store: no folders, no control or shell-special characters."""
    base = Path(name.replace("\\", "/")).name
    cleaned = re.sub(r"[^\w.\-（）()\u4e00-\u9fff]", "_", base).lstrip(".")
    return cleaned[-100:] or "附件"


# --- a correction -------------------------------------------------------------------------

def fixed_fields(item: Item) -> set[str]:
    """Fields a correction cannot change: who the record is about and its document number."""
    return set(IDENTITY_KEY) | {item.key_field}


def corrected_values(catalog: Catalog, item: Item, payload: Mapping[str, str],
                     changes: Mapping[str, Any], today: date) -> dict[str, str]:
    """The record's values with the department's corrections, each validated as ingest
    validates it. Who the record is about and its document number cannot be corrected here:
    a record about the wrong subject is revoked, and the right one reported anew."""
    if not changes:
        raise InvalidInput("更正须提供至少一项更正后的字段值", code=ObjectionError.CHANGES_REQUIRED)
    fixed = fixed_fields(item)
    problems: list[str] = []
    values = dict(payload)
    for name, raw in changes.items():
        f = item.field(name)
        if f is None:
            problems.append(f"“{name}”不是{item.name}的字段")
            continue
        if name in fixed:
            problems.append(f"“{f.label}”不能通过异议更正（主体和文书号不变；如有误应撤销后重新报送）")
            continue
        text = "" if raw is None else str(raw).strip()
        if not text:
            if f.required:
                problems.append(f"“{f.label}”为必填项，不能为空")
            else:
                values.pop(name, None)
            continue
        converted, failures = column(catalog, f).run([text])
        if failures:
            problems.append(f"“{f.label}”{failures[0][1]}")
        else:
            values[name] = converted[0]
    decision = values.get(item.decision_date_field, "")
    if decision and decision > today.isoformat():
        problems.append(f"决定日期 {decision} 晚于今天")
    labels = {f.name: f.label for f in item.fields}
    for check in item.checks:
        late, early = values.get(check.field), values.get(check.other)
        if late and early and late < early:
            problems.append(f"“{labels.get(check.field, check.field)}”：{check.message}")
    if problems:
        raise InvalidInput("更正内容有误：" + "；".join(problems), code=ObjectionError.INVALID_CHANGES)
    if values == dict(payload):
        raise InvalidInput("更正后的内容与现有内容相同", code=ObjectionError.CHANGES_REQUIRED)
    return values
