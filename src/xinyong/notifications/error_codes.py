"""The stable error codes of notifications. `not_own_subject` is `CoreError`'s."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class NotificationError(ErrorCode):
    NOTIFICATION_NOT_FOUND = ("notification_not_found", 404, "没有该通知",
                              "No notification has this number.")
    UNKNOWN_CASE_TYPE = ("unknown_case_type", 422, "未知的案件类别", "The kind of case is not known.")
    UNKNOWN_EVENT = ("unknown_event", 422, "没有为该事件定义通知内容",
                     "No notification is defined for this event.")
    UNKNOWN_CHANNEL = ("unknown_channel", 422, "无法识别或加载该通知渠道",
                       "The notification channel cannot be recognised or loaded.")
