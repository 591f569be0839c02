"""Typed errors with stable codes: every edge (CLI, API, pages) shows these, never a traceback."""

from __future__ import annotations

import importlib
import pkgutil
from enum import StrEnum
from functools import lru_cache
from typing import Any


class ErrorCode(StrEnum):
    """A stable error code with its HTTP status and its Chinese and English message. Each
    capability declares its own in `error_codes.py`:

        class CatalogError(ErrorCode):
            UNKNOWN_ITEM = "unknown_catalog_item", 404, "目录中没有该条目", "No such catalog item."

    The code is what callers match on; the Chinese message of a raise carries particulars
    (which item, which date), the one here is the summary a table of codes shows."""

    status: int
    zh: str
    en: str

    def __new__(cls, code: str, status: int, zh: str, en: str) -> ErrorCode:
        member = str.__new__(cls, code)
        member._value_ = code
        member.status = status
        member.zh = zh
        member.en = en
        return member


class CoreError(ErrorCode):
    ERROR = "error", 400, "操作未能完成", "The request could not be completed."
    NOT_FOUND = "not_found", 404, "没有找到", "Not found."
    INVALID_INPUT = "invalid_input", 422, "输入的内容不正确", "The request is not valid."
    BAD_FILE = "bad_file", 422, "文件无法按表格读取", "The file cannot be read as a table."
    RULE_DATA_INVALID = ("rule_data_invalid", 500, "平台的规则数据文件有误，请告知管理员",
                         "A rules data file of the platform is invalid; tell the administrator.")
    BAD_DATE = "bad_date", 422, "日期格式不正确", "The date is not valid; write it as YYYY-MM-DD."
    # Codes several capabilities raise; one capability's own codes live in its error_codes.py.
    CONCURRENT_CHANGE = ("concurrent_change", 422, "该事项刚被他人处理，请刷新后重试",
                         "Someone else has just changed this; reload and try again.")
    EMPTY_NAME = "empty_name", 422, "名称不能为空", "The name must not be empty."
    FILE_TYPE = "file_type", 422, "不支持该文件类型", "This type of file is not accepted."
    ILLEGAL_TRANSITION = ("illegal_transition", 422, "当前状态下不能进行该操作",
                          "This step is not possible in the current state.")
    INVALID_USCC = ("invalid_uscc", 422, "统一社会信用代码不正确",
                    "The unified social credit code is not valid.")
    MISSING_FIELD = "missing_field", 422, "缺少必填内容", "A required field is missing."
    NO_DEPARTMENT = ("no_department", 403, "账号未归属任何部门",
                     "The account belongs to no department.")
    NOT_OWN_SUBJECT = ("not_own_subject", 403, "只能办理本账号绑定的信用主体的事项",
                       "Only the credit subject bound to this account may do this.")
    OTHER_DEPARTMENT = ("other_department", 403, "只能办理本部门的事项",
                        "This belongs to another department.")
    REASON_REQUIRED = "reason_required", 422, "须说明理由", "A reason is required."
    TOO_LONG = "too_long", 422, "内容过长", "The text is too long."
    UNKNOWN_ACTION = "unknown_action", 422, "不支持该操作", "This action is not known."
    UNKNOWN_OUTCOME = "unknown_outcome", 422, "不支持该处理结果", "This outcome is not known."
    UNKNOWN_SUBJECT = ("unknown_subject", 404, "没有该信用主体",
                       "No credit subject has this code.")
    UNKNOWN_RECORD = ("unknown_record", 404, "没有该信用记录",
                      "No credit record has this number.")


@lru_cache(maxsize=1)
def registry() -> dict[str, ErrorCode]:
    """Every code of the platform, from core and each capability's `error_codes` module.
    Two capabilities may not declare the same code: a shared one belongs to `CoreError`."""
    import xinyong

    for found in pkgutil.iter_modules(xinyong.__path__):
        if found.ispkg:
            try:
                importlib.import_module(f"xinyong.{found.name}.error_codes")
            except ModuleNotFoundError as exc:
                if exc.name != f"xinyong.{found.name}.error_codes":
                    raise
    codes: dict[str, ErrorCode] = {}
    for enum in _subclasses(ErrorCode):
        for member in enum:
            other = codes.setdefault(member.value, member)
            if other is not member:
                raise RuntimeError(f"error code {member.value} is declared by both "
                                   f"{type(other).__qualname__} and {enum.__qualname__}")
    return codes


def _subclasses(cls: type[Any]) -> list[type[ErrorCode]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


class XinyongError(Exception):
    """A failure the user can act on. `code` is stable; `message` is Chinese-first; `field`
    names the form field the failure is about, so a page can show it beside that field."""

    code: str = CoreError.ERROR

    def __init__(self, message: str, *, code: ErrorCode | str | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class NotFound(XinyongError):
    code: str = CoreError.NOT_FOUND


class Concealed(NotFound):
    """A refusal answered as "not found", so a caller cannot tell a record it may not see
    from one that does not exist (another department's batch ids); the edges still audit it
    as a refusal, under `reason`."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class InvalidInput(XinyongError):
    code: str = CoreError.INVALID_INPUT


class BadFile(InvalidInput):
    """A submitted file cannot be read as a table at all."""

    code: str = CoreError.BAD_FILE


class RuleDataError(XinyongError):
    """A rules data file (catalog, calendar, measures …) is invalid: names file, entry, reason."""

    code: str = CoreError.RULE_DATA_INVALID
