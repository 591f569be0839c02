"""The stable error codes of publicity."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class PublicityError(ErrorCode):
    UNKNOWN_STOP_REASON = ("unknown_stop_reason", 422, "未知的停止公示原因",
                           "The reason for stopping publicity is not known.")
    UNKNOWN_STOP = ("unknown_stop", 404, "没有该停止公示记录",
                    "No stop of publicity has this number.")
    ALREADY_RESUMED = ("already_resumed", 422, "该停止公示已经结束",
                       "This stop of publicity has already ended.")
