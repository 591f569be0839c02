"""The stable error codes of objections. Codes shared with other capabilities (file_type,
reason_required, not_own_subject, other_department) are `CoreError`'s; a record or a case
that does not exist answers the generic `not_found`, as it always has."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class ObjectionError(ErrorCode):
    # Filing
    REASON_INVALID = ("reason_invalid", 422, "异议理由不符合要求",
                      "The reason for the objection does not meet the requirements.")
    TOO_MANY_FILES = ("too_many_files", 422, "附件数量超过上限", "Too many attachments.")
    RECORD_SUPERSEDED = ("record_superseded", 422, "该记录已被更正为新版本",
                         "The record has been superseded by a corrected version.")
    OBJECTION_OPEN = ("objection_open", 422, "该记录已有正在处理的异议",
                      "An objection to this record is already being handled.")
    # Deciding
    INVALID_ACTION = ("invalid_action", 422, "未知的处理决定", "The decision is not known.")
    OBJECTION_CLOSED = ("objection_closed", 422, "该异议已办结，不能再作决定",
                        "The objection is closed; no further decision can be made.")
    OBJECTION_TRANSITION = ("objection_transition", 422, "异议当前状态下不能作此决定",
                            "This decision is not possible in the objection's current state.")
    REASON_TOO_LONG = ("reason_too_long", 422, "理由过长", "The reason is too long.")
    INVALID_CHANGES = ("invalid_changes", 422, "更正内容有误", "The corrections are not valid.")
    CHANGES_REQUIRED = ("changes_required", 422, "更正须提供更正后的字段值",
                        "A correction needs at least one changed field value.")
    # Reading
    INVALID_STATUS = ("invalid_status", 422, "未知的异议状态", "The objection status is not known.")
    UNKNOWN_ATTACHMENT = ("unknown_attachment", 404, "异议案件没有该附件",
                          "The objection case has no such attachment.")
    ATTACHMENT_MISSING = ("attachment_missing", 404, "附件文件已不在文件存储中",
                          "The attachment's file is no longer in the file store.")
