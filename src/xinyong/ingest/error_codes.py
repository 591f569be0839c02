"""The stable error codes of ingest. A file that cannot be read as a table at all is
`CoreError.BAD_FILE`, whatever the reason its message gives."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class IngestError(ErrorCode):
    UNKNOWN_KIND = ("unknown_kind", 422, "未知的信息类别",
                    "The kind of information is not in the catalog.")
    NO_ERROR_REPORT = ("no_error_report", 404, "该批次没有退回的数据，没有错误报告",
                       "The batch returned no rows, so it has no error report.")
    ERROR_REPORT_MISSING = ("error_report_missing", 404, "错误报告文件已不在存储目录中",
                            "The batch's error report file is no longer stored.")
    BAD_MONTH = "bad_month", 422, "月份格式应为 YYYY-MM", "The month is not valid; write it as YYYY-MM."
