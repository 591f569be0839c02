"""What a subject is told when one of its cases changes, and how a delivery channel is named.
Pure: the services pass the facts of the change, these rules word the message.

Every change of an objection, a repair application and a list proposal or entry is one
event, named as its audit action (`objection.decided`, `repair.returned` …). Each event has a
title and a body in Chinese, with the case's facts filled in; events that ask the subject to
act (补正 materials, answer a list notice) say so, and the enterprise's home lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from xinyong.core.errors import InvalidInput
from xinyong.notifications.error_codes import NotificationError

TITLE_MAX = 200
BODY_MAX = 4000

# event → (title, body); `{name}` placeholders are the facts the service passes.
MESSAGES: dict[str, tuple[str, str]] = {
    "objection.filed": (
        "异议已提交：{case_no}",
        "您对文书号 {doc_no} 的信用记录提出的异议已提交，该记录标注“异议处理中”。"
        "由 {department} 于 {due_date} 前核实处理。"),
    "objection.decided": (
        "异议处理结果：{status_label}",
        "异议案件 {case_no}（文书号 {doc_no}）：{department}作出“{action_label}”的决定。{note}"),
    "repair.applied": (
        "信用修复申请已提交：{case_no}",
        "您的信用修复申请（{about}）已提交，将于 {due_on} 前决定是否受理。"),
    "repair.accepted": (
        "信用修复申请已受理：{case_no}",
        "您的信用修复申请（{about}）已受理，将于 {due_on} 前作出是否准予修复的决定。{note}"),
    "repair.returned": (
        "请补正信用修复材料：{case_no}",
        "您的信用修复申请（{about}）被退回补正，请补充或更正：{missing}。{note}"),
    "repair.resubmitted": (
        "补正材料已提交：{case_no}",
        "您为信用修复申请（{about}）补正的材料已提交，将于 {due_on} 前决定是否受理。"),
    "repair.approved": (
        "信用修复成功：{case_no}",
        "您的信用修复申请（{about}）准予修复，自 {day} 起停止公示。{note}"),
    "repair.rejected": (
        "信用修复申请不予修复：{case_no}",
        "您的信用修复申请（{about}）不予修复。理由：{reason}"),
    "list.notified": (
        "拟列入名单告知：{kind_name}",
        "{authority}拟将本单位列入{kind_name}。{content}{until}"),
    "list.objected": (
        "名单认定异议已提交：{kind_name}",
        "您对拟列入{kind_name}提出的陈述、申辩已记录，认定单位将在作出决定时答复。"),
    "list.decided": (
        "已列入名单：{kind_name}",
        "{authority}决定将本单位列入{kind_name}（决定文书号 {doc_no}），自 {day} 起。{ends}"),
    "list.withdrawn": (
        "不予列入名单：{kind_name}",
        "拟列入{kind_name}的认定已撤回或不予列入。理由：{reason}"),
    "list.removed": (
        "已移出名单：{kind_name}",
        "本单位自 {day} 起移出{kind_name}（移出决定文书号 {doc_no}）。理由：{reason}"),
    "list.ended": (
        "因信用修复移出名单：{kind_name}",
        "本单位因信用修复（案件 {case_no}）自 {day} 起移出{kind_name}。"),
}
# Events that ask the subject to do something, and what.
ACTION_NEEDED: dict[str, str] = {
    "repair.returned": "补正材料",
    "list.notified": "在异议期内提出陈述、申辩",
}
CASE_TYPES = {"objection": "异议", "repair": "信用修复", "list": "名单"}


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    action_needed: bool


class _Facts(dict[str, Any]):
    """Missing facts read as empty, so a message never fails for want of an optional part."""

    def __missing__(self, key: str) -> str:
        return ""


def compose(event: str, facts: dict[str, Any]) -> Message:
    """The title and body of `event` with its facts; InvalidInput for an event with no message
    (a programming error the tests catch, never a silent notification without text)."""
    if event not in MESSAGES:
        raise InvalidInput(f"没有为事件 {event} 定义通知内容", code=NotificationError.UNKNOWN_EVENT)
    title, body = MESSAGES[event]
    filled = _Facts({k: "" if v is None else v for k, v in facts.items()})
    reason = str(filled.get("reason") or "").strip().rstrip("。")
    filled["note"] = f"说明：{reason}。" if reason else ""
    text = re.sub(r"\s+", " ", body.format_map(filled)).strip()
    return Message(title.format_map(filled)[:TITLE_MAX], text[:BODY_MAX], event in ACTION_NEEDED)


# --- delivery -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipient:
    """An enterprise account of the subject, by its username and display name."""

    username: str
    display_name: str


@dataclass(frozen=True)
class Outgoing:
    """One notification as a channel sends it: to the subject's enterprise accounts."""

    id: int
    subject_uscc: str | None
    subject_name: str
    title: str
    body: str
    link: str
    created_at: datetime
    recipients: tuple[Recipient, ...] = field(default=())


class Channel(Protocol):
    """How notifications leave the platform. `send` raises on failure; the notification then
    stays pending and the next delivery run tries it again. A locality's e-mail or SMS
    channel implements this and is named in XINYONG_NOTIFICATION_CHANNEL."""

    name: str

    def send(self, message: Outgoing) -> None: ...


BUILTIN_CHANNELS = ("log",)
_DOTTED = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def channel_spec(value: str) -> tuple[str, str | None]:
    """("log", None) for a built-in channel, or (module, class) for `package.module:Class`."""
    text = (value or "").strip()
    if text in BUILTIN_CHANNELS:
        return text, None
    if _DOTTED.match(text):
        module, _, cls = text.partition(":")
        return module, cls
    raise InvalidInput(f"通知渠道“{text}”无法识别：可用 log，或以“模块:类名”指定自定义渠道",
                       code=NotificationError.UNKNOWN_CHANNEL)
