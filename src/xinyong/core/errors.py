"""Typed errors with stable codes: every edge (CLI, API, pages) shows these, never a traceback."""

from __future__ import annotations


class XinyongError(Exception):
    """A failure the user can act on. `code` is stable; `message` is Chinese-first; `field`
    names the form field the failure is about, so a page can show it beside that field."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class NotFound(XinyongError):
    code = "not_found"


class Concealed(NotFound):
    """A refusal answered as "not found", so a caller cannot tell a record it may not see
    from one that does not exist (another department's batch ids); the edges still audit it
    as a refusal, under `reason`."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class InvalidInput(XinyongError):
    code = "invalid_input"


class BadFile(InvalidInput):
    """A submitted file cannot be read as a table at all."""

    code = "bad_file"


class RuleDataError(XinyongError):
    """A rules data file (catalog, calendar, measures …) is invalid: names file, entry, reason."""

    code = "rule_data_invalid"
