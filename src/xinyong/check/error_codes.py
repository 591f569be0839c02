"""The error codes of the credit check (核查) and its feedback (执行反馈)."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class CheckError(ErrorCode):
    # the check
    UNKNOWN_MATTER = ("unknown_matter", 422, "未知的办理事项类型",
                      "No matter type has this code or name.")
    USCC_OR_NAME = ("uscc_or_name", 422, "只能提供统一社会信用代码或名称之一",
                    "Give either the unified social credit code or the name, not both.")
    BATCH_TOO_LARGE = ("batch_too_large", 422, "一次核查的主体过多，请分批提交",
                       "Too many subjects in one batch check; split the batch.")
    EMPTY_BATCH = ("empty_batch", 422, "没有要核查的主体",
                   "The batch names no subject to check.")
    MISSING_COLUMN = ("missing_column", 422, "Excel 第一行须有“统一社会信用代码”列或“名称”列",
                      "The first row of the workbook needs a USCC column or a name column.")
    # the feedback
    UNKNOWN_CHECK = "unknown_check", 404, "没有该核查记录", "No check has this id."
    NOT_YOUR_CHECK = ("not_your_check", 403, "该核查不是本单位发起的",
                      "This check was made by another department or caller.")
    EMPTY_FEEDBACK = ("empty_feedback", 422, "请至少反馈一项措施的执行情况",
                      "Report on at least one measure.")
    TOO_MANY_ITEMS = ("too_many", 422, "一次反馈的措施过多",
                      "Too many measures reported at once.")
    INVALID_FEEDBACK = ("invalid_feedback", 422, "反馈内容应为文字",
                        "A feedback field must be text.")
    MISSING_MEASURE = ("missing_measure", 422, "请填写措施代码",
                       "A feedback item names no measure.")
    DUPLICATE_MEASURE = ("duplicate_measure", 422, "同一措施重复反馈",
                         "A measure is reported more than once.")
    MEASURE_NOT_IN_CHECK = ("measure_not_in_check", 422, "该核查未返回此措施",
                            "The check did not return this measure.")
    FEEDBACK_EXISTS = ("feedback_exists", 422, "该措施已反馈过；反馈不可修改",
                       "This measure has feedback already; feedback cannot be changed.")
    BAD_PERIOD = ("bad_period", 422, "起始日期晚于截止日期",
                  "The start day is later than the end day.")
