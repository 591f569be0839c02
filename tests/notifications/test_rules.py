"""The wording of notifications and the naming of channels: pure rules, one row per case."""

from __future__ import annotations

import re

import pytest

from xinyong.core.errors import InvalidInput
from xinyong.notifications import rules


@pytest.mark.parametrize("event", sorted(rules.MESSAGES))
def test_every_event_is_worded_without_leftover_placeholders(event: str) -> None:
    message = rules.compose(event, {"case_no": "XF20261204ABCDEFGH", "reason": "材料齐全"})
    assert message.title and message.body
    assert not re.search(r"[{}]", message.title + message.body)
    assert message.action_needed == (event in rules.ACTION_NEEDED)


@pytest.mark.parametrize(("reason", "note"), [
    ("材料齐全", "说明：材料齐全。"),
    ("材料齐全。", "说明：材料齐全。"),
    ("", ""),
    (None, ""),
])
def test_a_reason_becomes_a_note_only_when_there_is_one(reason: str | None, note: str) -> None:
    body = rules.compose("repair.accepted", {"case_no": "X", "about": "文书号 1", "due_on": "2026-12-31",
                                             "reason": reason}).body
    assert body.endswith("准予修复的决定。" + note)


def test_returned_repair_asks_for_what_is_missing() -> None:
    message = rules.compose("repair.returned", {"case_no": "X", "about": "文书号 1",
                                                "missing": "盖章的信用承诺书"})
    assert "盖章的信用承诺书" in message.body and message.action_needed


def test_an_event_without_wording_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.compose("objection.invented", {})
    assert caught.value.code == "unknown_event"


@pytest.mark.parametrize(("value", "spec"), [
    ("log", ("log", None)),
    (" log ", ("log", None)),
    ("city.channels:Sms", ("city.channels", "Sms")),
    ("mail:Channel", ("mail", "Channel")),
])
def test_channel_names(value: str, spec: tuple[str, str | None]) -> None:
    assert rules.channel_spec(value) == spec


@pytest.mark.parametrize("value", ["", "email", "city.channels", "a:b:c", "a b:C", ":Sms"])
def test_unknown_channel_names_are_refused_in_chinese(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.channel_spec(value)
    assert caught.value.code == "unknown_channel" and "通知渠道" in caught.value.message
