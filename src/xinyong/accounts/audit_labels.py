"""The audit log as people read it: Beijing time, Chinese names of actions, roles and objects,
and details as "名称：值" lines instead of raw JSON. The names are data
(`data/audit_actions.yaml`, a locality's file laid over it); anything without a name is shown
as written, so nothing recorded is ever hidden."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from xinyong.accounts.rules import role_table
from xinyong.core.dates import beijing_text
from xinyong.core.errors import RuleDataError
from xinyong.core.ruledata import merge, rule_paths

FILE = "audit_actions.yaml"
SECTIONS = ("actions", "families", "objects", "fields", "values")
VALUE_LIMIT = 200  # a detail value longer than this is cut (the export keeps it whole)


@dataclass(frozen=True)
class Labels:
    actions: dict[str, str]
    families: dict[str, str]
    objects: dict[str, str]
    fields: dict[str, str]
    values: dict[str, str]

    def action(self, code: str) -> str:
        return self.actions.get(code, code)


def load() -> Labels:
    raw: dict[str, Any] = {}
    for path in rule_paths(FILE):
        try:
            found = yaml.safe_load(path.read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise RuleDataError(f"{path}：无法读取（{exc}）") from exc
        if not isinstance(found, dict) or set(found) - set(SECTIONS):
            raise RuleDataError(f"{path}：应为映射，只含 {'、'.join(SECTIONS)}")
        raw = merge(raw, found)
    parts: dict[str, dict[str, str]] = {}
    for section in SECTIONS:
        value = raw.get(section) or {}
        if not isinstance(value, dict):
            raise RuleDataError(f"{FILE}：{section} 应为“代码: 名称”的映射")
        parts[section] = {str(k): str(v) for k, v in value.items()}
    return Labels(**parts)


@lru_cache(maxsize=1)
def labels() -> Labels:
    return load()


def role_name(code: str | None) -> str:
    if not code:
        return "—"
    role = role_table().roles.get(code)
    return role.name if role is not None else code


def _value(value: Any, names: Labels) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return names.values.get(str(value).lower(), str(value))
    if isinstance(value, Mapping):
        return "；".join(f"{names.fields.get(str(k), names.action(str(k)) if '.' in str(k) else str(k))}："
                        f"{_value(v, names)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "、".join(_value(v, names) for v in value) or "无"
    text = str(value)
    return names.values.get(text, names.actions.get(text, names.families.get(text, text)))


def detail_lines(detail: Mapping[str, Any], names: Labels | None = None) -> list[tuple[str, str]]:
    """An event's details as (name, value) pairs, each value readable text."""
    names = names or labels()
    lines = []
    for key, value in detail.items():
        text = _value(value, names)
        if len(text) > VALUE_LIMIT:
            text = text[:VALUE_LIMIT] + "…"
        lines.append((names.fields.get(str(key), str(key)), text))
    return lines


def readable_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """One event of `accounts.service.audit_events` with its names and Beijing time."""
    names = labels()
    detail = event.get("detail") or {}
    return {**event, "at_text": beijing_text(event.get("at")),
            "action_name": names.action(str(event["action"])),
            "role_name": role_name(event.get("role")),
            "object_name": names.objects.get(str(event.get("object_type")), str(event.get("object_type"))),
            "detail_lines": detail_lines(detail if isinstance(detail, Mapping) else {"": detail}, names)}


def action_choices() -> list[tuple[str, str]]:
    """(code, name) of every named action and family, for the audit page's filter."""
    names = labels()
    families = sorted({family(code) for code in names.actions})
    out = [(f, names.families.get(f, f)) for f in families]
    return out + sorted(names.actions.items(), key=lambda kv: kv[0])


def family(event: str) -> str:
    """The family an action belongs to: `account.` for `account.create`."""
    return event.split(".", 1)[0] + "."

