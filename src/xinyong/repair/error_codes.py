"""The stable error codes of repair. Codes shared with other capabilities (file_type,
illegal_transition, missing_field, not_own_subject, reason_required, unknown_action) are
`CoreError`'s; a list entry that does not exist is lists' `entry_not_found`."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class RepairError(ErrorCode):
    RECORD_NOT_FOUND = ("record_not_found", 404, "没有该信用记录",
                        "No credit record has this number.")
    CASE_NOT_FOUND = ("case_not_found", 404, "没有该信用修复案件",
                      "No credit repair case has this number.")
    UNKNOWN_CASE_STATUS = ("unknown_case_status", 422, "未知的信用修复案件状态",
                           "The repair case status is not known.")
    NOT_ELIGIBLE = ("not_eligible", 422, "不符合信用修复申请条件",
                    "The record or entry may not be repaired (yet).")
    NOT_PENALTY = ("not_penalty", 422, "信用修复告知书只针对行政处罚信息",
                   "A repair notice is only for administrative penalty records.")
    STATEMENT_REQUIRED = ("statement_required", 422, "请填写申请说明",
                          "The application needs a statement.")
    UNKNOWN_MATERIAL = ("unknown_material", 422, "未知的材料类别", "The kind of material is not known.")
    MATERIALS_MISSING = ("materials_missing", 422, "缺少必须提交的材料",
                         "Required materials are missing.")
    MISSING_REQUIRED = ("missing_required", 422, "退回补正须写明需补充或更正的材料",
                        "Returning an application needs the materials that are missing.")
    MATERIAL_NOT_FOUND = ("material_not_found", 404, "案件没有该材料",
                          "The repair case has no such material.")
    MATERIAL_FILE_MISSING = ("material_file_missing", 404, "材料文件已不在文件存储中",
                             "The material's file is no longer in the file store.")
