"""Every action the code records in the audit log has a Chinese name in data/audit_actions.yaml,
and the names turn an event into something a person reads."""

from __future__ import annotations

import ast
import importlib
from datetime import datetime
from pathlib import Path

import xinyong
from xinyong.accounts import audit_labels

SOURCE = Path(xinyong.__file__).parent


def _module_name(path: Path) -> str:
    return "xinyong." + ".".join(path.relative_to(SOURCE).with_suffix("").parts)


def _dynamic(module: str, node: ast.expr) -> set[str]:
    """The actions a call site that does not spell its action out can record: a constant
    (of the module, or an events.py enum's), repair's past-tense verbs, the refusal actions,
    ingest's outcomes."""
    found = importlib.import_module(module)
    if isinstance(node, ast.Name) and isinstance(getattr(found, node.id, None), str):
        return {getattr(found, node.id)}
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):  # Event.NAME
        constant = getattr(getattr(found, node.value.id, None), node.attr, None)
        if isinstance(constant, str):
            return {str(constant)}
    if module == "xinyong.repair.service" and isinstance(node, ast.Subscript):
        return {str(event) for event in found._PAST.values()}  # a decision's event
    if module == "xinyong.ingest.service" and isinstance(node, ast.Name) and node.id == "action":
        return set(found.OUTCOMES)  # a file refused, or failed while stored
    if module == "xinyong.web.refusals" and isinstance(node, ast.Name) and node.id == "action":
        return {*found.ACTIONS.values(), "access.denied"}
    raise AssertionError(f"{module}: audit.record with an action this test cannot read: "
                         f"{ast.unparse(node)} (name it in the test and in audit_actions.yaml)")


def recorded_actions() -> set[str]:
    actions: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "record" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "audit"):
                continue
            action = node.args[2]
            if isinstance(action, ast.Constant) and isinstance(action.value, str):
                actions.add(action.value)
            else:
                actions |= _dynamic(_module_name(path), action)
    return actions


def test_every_recorded_action_has_a_chinese_name() -> None:
    actions = recorded_actions()
    assert len(actions) > 50  # the walk finds the calls (sign-in, batches, cases …)
    assert {"repair.returned", "access.denied", "department.registered"} <= actions
    names = audit_labels.load().actions
    missing = sorted(actions - set(names))
    assert missing == [], f"audit_actions.yaml names no {missing}"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in names.values())


def test_every_family_of_a_recorded_action_has_a_chinese_name() -> None:
    families = {audit_labels.family(action) for action in recorded_actions()}
    names = audit_labels.load().families
    assert sorted(families - set(names)) == [], "audit_actions.yaml's families miss some"
    choices = dict(audit_labels.action_choices())
    assert choices["check."] == "信用核查（全部）" and choices["account."] == "账号管理（全部）"


def test_an_event_reads_in_chinese_and_beijing_time() -> None:
    event = {"id": 7, "at": datetime(2026, 3, 5, 23, 30, 1), "actor": "staff1", "role": "staff",
             "action": "check.feedback", "object_type": "check", "object_id": "C1", "source": "web",
             "detail": {"measures": {"m1": "applied", "m2": "not_applied"}, "check_subject_id": 3,
                        "mystery": [1, 2]}}
    shown = audit_labels.readable_event(event)
    assert shown["at_text"] == "2026年3月6日 07:30:01"  # UTC 23:30 is 07:30 the next day in Beijing
    assert shown["action_name"] == "核查措施执行反馈" and shown["role_name"] == "信用办工作人员"
    assert shown["object_name"] == "信用核查"
    assert shown["detail_lines"] == [("措施", "m1：已应用；m2：未应用"), ("核查主体", "3"),
                                     ("mystery", "1、2")]
    unknown = audit_labels.readable_event({**event, "action": "new.thing", "role": None})
    assert unknown["action_name"] == "new.thing" and unknown["role_name"] == "—"
