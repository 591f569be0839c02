"""The error codes subjects raise (the store kernel: search, name matching, identity keys).
Codes shared with other capabilities — invalid_uscc, empty_name, unknown_subject — are
`CoreError`'s."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class SubjectError(ErrorCode):
    EMPTY_QUERY = ("empty_query", 422, "请输入要查询的主体名称或统一社会信用代码",
                   "Enter a name or a unified social credit code to search for.")
    INVALID_LIMIT = ("invalid_limit", 422, "条数超出允许的范围",
                     "The number of results asked for is out of range.")
    INVALID_OFFSET = ("invalid_offset", 422, "起始位置超出允许的范围，请缩小查询范围",
                      "The offset is out of range; narrow the search.")
    IDENTITY_KEY_MISSING = ("identity_key_missing", 400,
                            "自然人标识密钥文件缺失或无效，请恢复备份的密钥文件",
                            "The natural-person identity key file is missing or invalid; "
                            "restore it from its backup.")
