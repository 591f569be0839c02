"""Credit risk warnings (信用风险预警) as pure rules: the warning rules and close actions loaded
from data and validated completely, the registry of condition kinds the service knows how to
evaluate, the window of a scan, the sentence a warning is summarised by, the workflow of a
warning (open → closed) and who may see which warnings. No I/O beyond reading the files handed
in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from xinyong.accounts.rules import Forbidden, Principal, Role
from xinyong.core.dates import add_months
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.core.ruledata import Where, load_merged, mapping, positive, text
from xinyong.warnings.error_codes import WarningsError

WHAT = "预警规则文件"
CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
SEVERITIES = {"high": "高", "medium": "中", "low": "低"}
RULE_KEYS = {"name", "kind", "threshold", "window", "severity", "natural_persons", "recipients",
             "scorecard", "enabled", "basis"}
TOP_KEYS = {"rules", "close_actions"}
OPEN, CLOSED = "open", "closed"
STATUS_NAMES = {OPEN: "待处置", CLOSED: "已处置"}
NOTE_LIMIT = 2000
# How many triggering record / list-entry ids a warning keeps among its facts: enough to find
# them all for the usual case, bounded for a subject with thousands of penalties.
FACT_IDS_CAP = 100


@dataclass(frozen=True)
class ConditionKind:
    """A condition the service can evaluate in SQL. `windowed`: counts facts dated inside the
    rule's window (required then, refused otherwise); `persons`: may watch natural persons."""

    code: str
    name: str
    unit: str
    windowed: bool
    persons: bool


KINDS: dict[str, ConditionKind] = {k.code: k for k in (
    ConditionKind("penalty_count", "行政处罚次数", "次", windowed=True, persons=True),
    ConditionKind("penalty_departments", "作出行政处罚的部门数", "个部门", windowed=True, persons=True),
    ConditionKind("serious_lists", "在列的严重失信名单种数", "种", windowed=False, persons=True),
    ConditionKind("grade_drop", "综合评价等级下降级数", "级", windowed=True, persons=False),
)}


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    kind: str
    threshold: int
    window_months: int | None
    severity: str
    natural_persons: bool
    triggering_recipients: bool
    also: tuple[str, ...]
    scorecard: str | None
    basis: str

    @property
    def kind_name(self) -> str:
        return KINDS[self.kind].name

    @property
    def severity_name(self) -> str:
        return SEVERITIES[self.severity]

    def window_start(self, as_of: date) -> date | None:
        """The day before the window: facts dated after it and on or before `as_of` count
        (a 12-month window on 2026-03-01 counts 2025-03-02 … 2026-03-01)."""
        return None if self.window_months is None else add_months(as_of, -self.window_months)

    def window_text(self) -> str:
        if self.window_months is None:
            return "扫描当日"
        if self.window_months % 12 == 0:
            return f"近{self.window_months // 12}年" if self.window_months != 12 else "近12个月"
        return f"近{self.window_months}个月"

    def condition_text(self) -> str:
        unit = KINDS[self.kind].unit
        return f"{self.window_text()}{self.kind_name}达到{self.threshold}{unit}及以上"

    def view(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "kind": self.kind, "kind_name": self.kind_name,
                "threshold": self.threshold, "window_months": self.window_months,
                "condition": self.condition_text(), "severity": self.severity,
                "severity_name": self.severity_name, "natural_persons": self.natural_persons,
                "recipients": {"triggering": self.triggering_recipients, "also": list(self.also)},
                "scorecard": self.scorecard, "basis": self.basis}


@dataclass(frozen=True)
class WarningRules:
    """The rules in force (enabled ones only) and the close actions, code → Chinese name."""

    rules: dict[str, Rule]
    actions: dict[str, str]
    sources: tuple[str, ...] = ()

    def rule(self, code: str) -> Rule:
        found = self.rules.get((code or "").strip())
        if found is None:
            known = "、".join(f"{r.name}（{r.code}）" for r in self.rules.values())
            raise InvalidInput(f"未知的预警规则“{code}”；可用：{known}", code=WarningsError.UNKNOWN_RULE)
        return found

    def action(self, value: str | None) -> str:
        """The close action's code for a code or a Chinese name; none or unknown → refused."""
        wanted = (value or "").strip()
        if not wanted:
            raise InvalidInput("处置预警须选择处置方式（" + "、".join(self.actions.values()) + "）",
                               code=WarningsError.ACTION_REQUIRED)
        for code, name in self.actions.items():
            if wanted in (code, name):
                return code
        raise InvalidInput(f"未知的处置方式“{wanted[:40]}”；可用：" + "、".join(
            f"{n}（{c}）" for c, n in self.actions.items()), code=CoreError.UNKNOWN_ACTION)


def _window(raw: Any, where: Where, entry: str) -> int:
    found = mapping(raw, where, f"{entry}：window")
    if len(found) != 1 or next(iter(found)) not in ("months", "years"):
        raise where.fail(entry, "window 应为 {months: N} 或 {years: N}")
    unit, n = next(iter(found.items()))
    return positive(n, where, entry, f"window.{unit}") * (12 if unit == "years" else 1)


def _recipients(raw: Any, where: Where, entry: str) -> tuple[bool, tuple[str, ...]]:
    found = mapping(raw if raw is not None else {"triggering": True}, where, f"{entry}：recipients")
    unknown = set(found) - {"triggering", "also"}
    if unknown:
        raise where.fail(entry, f"recipients 的未知键 {'、'.join(sorted(map(str, unknown)))}")
    triggering = found.get("triggering", True)
    if not isinstance(triggering, bool):
        raise where.fail(entry, "recipients.triggering 应为 true 或 false")
    also = found.get("also") or []
    if not isinstance(also, list) or not all(isinstance(d, str) and d.strip() for d in also):
        raise where.fail(entry, "recipients.also 应为部门名称的列表")
    if not triggering and not also:
        raise where.fail(entry, "recipients 至少要有 triggering: true 或一个 also 部门，预警不能无人接收")
    return triggering, tuple(d.strip() for d in also)


def _rule(code: str, raw: Any, where: Where) -> Rule | None:
    entry = f"规则 {code}"
    if not CODE.match(code):
        raise where.fail(entry, "规则代码应为小写字母、数字和下划线")
    found = mapping(raw, where, entry)
    unknown = set(found) - RULE_KEYS
    if unknown:
        raise where.fail(entry, f"未知的键 {'、'.join(sorted(map(str, unknown)))}")
    enabled = found.get("enabled", True)
    if not isinstance(enabled, bool):
        raise where.fail(entry, "enabled 应为 true 或 false")
    name = text(found.get("name"), where, f"{entry}：name")
    kind = found.get("kind")
    if kind not in KINDS:
        raise where.fail(entry, f"未知的条件种类 kind “{kind}”；可用："
                         + "、".join(f"{k.code}（{k.name}）" for k in KINDS.values()))
    ck = KINDS[kind]
    threshold = positive(found.get("threshold"), where, entry, "threshold")
    if ck.windowed and found.get("window") is None:
        raise where.fail(entry, f"条件 {kind} 须有统计期间 window（如 {{months: 12}}）")
    if not ck.windowed and found.get("window") is not None:
        raise where.fail(entry, f"条件 {kind} 按扫描当日在列的情况判断，不设 window")
    months = _window(found["window"], where, entry) if ck.windowed else None
    severity = found.get("severity", "medium")
    if severity not in SEVERITIES:
        raise where.fail(entry, f"severity 应为 {'、'.join(SEVERITIES)} 之一")
    persons = found.get("natural_persons", False)
    if not isinstance(persons, bool):
        raise where.fail(entry, "natural_persons 应为 true 或 false")
    if persons and not ck.persons:
        raise where.fail(entry, f"条件 {kind} 不能用于自然人：平台不对自然人评价、评级（SPEC §2）")
    scorecard = found.get("scorecard")
    if scorecard is not None and (kind != "grade_drop" or not isinstance(scorecard, str)
                                  or not scorecard.strip()):
        raise where.fail(entry, "scorecard 只用于 grade_drop，应为评价模型代码")
    triggering, also = _recipients(found.get("recipients"), where, entry)
    basis = text(found.get("basis"), where, f"{entry}：basis")
    if not enabled:
        return None
    return Rule(code, name, str(kind), threshold, months, str(severity), persons, triggering, also,
                scorecard.strip() if isinstance(scorecard, str) else None, basis)


def load(paths: Sequence[Path]) -> WarningRules:
    """The shipped rules with each locality file merged over them; any invalid entry refuses
    the whole file with the file, the entry and the reason (`RuleDataError`)."""
    merged, sources = load_merged(paths, WHAT)
    where = Where(WHAT, sources)
    unknown = set(merged) - TOP_KEYS
    if unknown:
        raise where.fail("文件", f"未知的顶层键 {'、'.join(sorted(map(str, unknown)))}")
    rules: dict[str, Rule] = {}
    for code, raw in mapping(merged.get("rules") or {}, where, "rules").items():
        rule = _rule(str(code), raw, where)
        if rule is not None:
            rules[rule.code] = rule
    actions: dict[str, str] = {}
    for code, name in mapping(merged.get("close_actions") or {}, where, "close_actions").items():
        if not CODE.match(str(code)):
            raise where.fail(f"处置方式 {code}", "代码应为小写字母、数字和下划线")
        actions[str(code)] = text(name, where, f"处置方式 {code}")
    if not actions:
        raise where.fail("close_actions", "至少要有一种处置方式")
    return WarningRules(rules, actions, sources)


# --- a warning ------------------------------------------------------------------------------

def summary(rule: Rule, facts: Mapping[str, Any]) -> str:
    """The warning in one Chinese sentence, from its facts."""
    if rule.kind == "penalty_count":
        return (f"{rule.window_text()}受到{facts['penalties']}次行政处罚"
                f"（{len(facts['departments'])}个部门），达到{rule.threshold}次的预警线")
    if rule.kind == "penalty_departments":
        return (f"{rule.window_text()}被{len(facts['departments'])}个部门行政处罚"
                f"（{'、'.join(d['department'] for d in facts['departments'])}），"
                f"达到{rule.threshold}个部门的预警线")
    if rule.kind == "serious_lists":
        names = "、".join(x["name"] for x in facts["lists"])
        return (f"同时列入{len(facts['lists'])}种严重失信名单（{names}），达到{rule.threshold}种的预警线")
    return (f"综合评价（{facts['scorecard']}）等级由{facts['previous_grade']}降为{facts['grade']}，"
            f"下降{facts['drop']}级（{facts['as_of']}），达到{rule.threshold}级的预警线")


def check_close(status: str, note: str | None) -> str:
    """The one transition of a warning: open → closed, with a note of what was done."""
    if status != OPEN:
        raise InvalidInput("该预警已处置，不能再次处置", code=WarningsError.WARNING_CLOSED)
    found = (note or "").strip()
    if not found:
        raise InvalidInput("处置预警须填写处置情况说明", code=WarningsError.NOTE_REQUIRED)
    if len(found) > NOTE_LIMIT:
        raise InvalidInput(f"处置情况说明不能超过{NOTE_LIMIT}个字", code=CoreError.TOO_LONG)
    if "\x00" in found:  # no text holds one, and PostgreSQL cannot store it
        raise InvalidInput("处置情况说明含有不允许的控制字符", code=WarningsError.INVALID_TEXT)
    return found


def scope(principal: Principal, role: Role) -> str | None:
    """The one department whose warnings the principal sees and handles, or None for all: a
    role bound to a department (an enforcement department's account) sees only warnings
    addressed to it; the credit office sees every warning."""
    if role.department == "required":
        if not principal.department:
            raise Forbidden("部门账号须属于一个部门才能查看预警", code=CoreError.NO_DEPARTMENT)
        return principal.department
    return None


def check_addressed(own: str | None, recipients: Sequence[str], warning_id: int) -> None:
    if own is not None and own not in recipients:
        raise Forbidden(f"预警 {warning_id} 不是发给本部门（{own}）的", code=CoreError.OTHER_DEPARTMENT)
