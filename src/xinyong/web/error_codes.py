"""The stable error codes of the web kit itself: who is asking, the form's token, the rate
limits and upload limits, and the answers of the framework (method, internal error)."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class WebError(ErrorCode):
    AUTHENTICATION_REQUIRED = ("authentication_required", 401, "请先登录",
                               "Sign in or send an API token to use this.")
    CSRF_FAILED = (
        "csrf_failed", 403, "表单已过期或不是从本站提交的",
        "The form has expired or did not come from this site; reload it and try again.")
    RATE_LIMITED = ("rate_limited", 429, "请求过于频繁",
                    "Too many requests; slow down and try again later.")
    TOO_LARGE = ("too_large", 413, "文件超过平台的大小上限",
                 "The file is larger than the platform accepts.")
    FILE_REQUIRED = "file_required", 422, "请选择要上传的文件", "Choose a file to upload."
    METHOD_NOT_ALLOWED = ("method_not_allowed", 405, "不支持此请求方法",
                          "This method is not allowed here.")
    INTERNAL_ERROR = ("internal_error", 500, "内部错误，已记录",
                      "Internal error; it has been logged.")
