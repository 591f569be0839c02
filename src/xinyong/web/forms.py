"""A form refused for its input comes back filled in, with the reason beside the field: the
pages catch the typed error, find the field it is about, and render the form again (422)."""

from __future__ import annotations

from collections.abc import Mapping

from xinyong.core.errors import XinyongError
from xinyong.web.errors import status_of

FORM = "form"  # the key of a refusal no single field caused (shown at the top of the form)


def errors_of(exc: XinyongError, fields: Mapping[str, str] | None = None) -> dict[str, str]:
    """{field: message}: the field the error names, else the one its code belongs to on this
    form (`fields`: code → field), else the form as a whole."""
    name = exc.field or (fields or {}).get(exc.code) or FORM
    return {name: exc.message}


def status_for(exc: XinyongError) -> int:
    """422 for input the user can correct; a file too large keeps its own 413."""
    status = status_of(exc)
    return status if status in (413, 422) else 422
