"""Audit actions are named constants (a `StrEnum` in each capability's `events.py`), never
strings spelled out where an event is written: a reader filtering on them (history views,
the check index's change feed, the audit page) uses the same constants."""

from __future__ import annotations

import ast
import importlib
import re
from enum import StrEnum
from pathlib import Path

import xinyong

SOURCE = Path(xinyong.__file__).parent
ACTION = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")


def _records() -> list[tuple[str, ast.Call]]:
    """Every `audit.record(…)` call of the package, with where it is."""
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "record" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "audit"):
                found.append((f"{path.relative_to(SOURCE.parent)}:{node.lineno}", node))
    return found


def _action(call: ast.Call) -> ast.expr | None:
    if len(call.args) >= 3:
        return call.args[2]
    return next((k.value for k in call.keywords if k.arg == "action"), None)


def test_every_audit_record_names_its_action_by_a_constant() -> None:
    calls = _records()
    assert len(calls) > 50  # the walk finds the calls (sign-in, batches, cases …)
    spelled = []
    for where, call in calls:
        action = _action(call)
        assert action is not None, f"{where}: audit.record without an action"
        if isinstance(action, ast.JoinedStr) or (isinstance(action, ast.Constant)
                                                  and isinstance(action.value, str)):
            spelled.append(f"{where}: {ast.unparse(action)}")
    assert spelled == [], ("audit actions spelled out instead of named by a constant of the "
                           "capability's events.py:\n" + "\n".join(spelled))


def _event_enums() -> list[type[StrEnum]]:
    enums = []
    for path in sorted(SOURCE.glob("*/events.py")):
        module = importlib.import_module(f"xinyong.{path.parent.name}.events")
        enums += [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, StrEnum)
                  and v is not StrEnum and v.__module__ == module.__name__]
    return enums


def test_event_constants_are_actions_declared_once() -> None:
    enums = _event_enums()
    assert len(enums) >= 4
    owner: dict[str, str] = {}
    for enum in enums:
        for member in enum:
            what = f"{enum.__qualname__}.{member.name}"
            assert ACTION.match(member.value), f"{what}: {member.value!r} is not family.action"
            other = owner.setdefault(member.value, what)
            assert other == what, f"{member.value} is declared by both {other} and {what}"
