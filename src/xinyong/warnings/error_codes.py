"""The error codes of credit risk warnings."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class WarningsError(ErrorCode):
    UNKNOWN_WARNING = "unknown_warning", 404, "没有该预警", "No warning has this number."
    UNKNOWN_RULE = ("unknown_warning_rule", 422, "没有该预警规则",
                    "No warning rule has this code.")
    UNKNOWN_STATUS = ("unknown_status", 422, "预警状态应为待处置或已处置",
                      "The status must be open or closed.")
    UNKNOWN_SEVERITY = ("unknown_severity", 422, "预警级别应为高、中或低",
                        "The severity must be high, medium or low.")
    ACTION_REQUIRED = ("action_required", 422, "处置预警须选择处置方式",
                       "Closing a warning needs an action.")
    NOTE_REQUIRED = ("note_required", 422, "处置预警须填写处置情况说明",
                     "Closing a warning needs a note of what was done.")
    WARNING_CLOSED = ("warning_closed", 422, "该预警已处置",
                      "The warning has been closed already.")
    INVALID_TEXT = ("invalid_text", 422, "内容含有不允许的控制字符",
                    "The text contains a control character that is not allowed.")
