"""Server-rendered pages: one Jinja environment over every capability's `templates/`
folder, addressed as `capability/name.html` (`web/base.html` is the layout)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, PrefixLoader, select_autoescape
from starlette.templating import Jinja2Templates

from xinyong.accounts.rules import Principal, anonymous, role_table
from xinyong.core.audit import SYSTEM
from xinyong.web import capabilities
from xinyong.web.portal import current_portal


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


# Pages show times as people in China read them: Beijing time, to the minute.
BEIJING = timezone(timedelta(hours=8), "北京时间")


def beijing(value: datetime) -> datetime:
    """A stored timestamp (naive UTC, see core.db.utcnow) in Beijing time."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.astimezone(BEIJING)


def _day(value: date | datetime | str | None) -> str:
    """A date as 2026-03-05; a timestamp (a datetime, or ISO text with a time) as 2026-03-05
    14:30 in Beijing time."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return beijing(value).strftime("%Y-%m-%d %H:%M")
    return value.isoformat() if isinstance(value, date) else str(value)


def last_day(end: str | None) -> str:
    """An exclusive end date as the last day included, the way people read a period."""
    if not end:
        return "长期"
    return (date.fromisoformat(end) - timedelta(days=1)).isoformat()


def _who(name: str | None) -> str:
    """Who did something: a person's or system's name; the platform itself as 系统."""
    if not name:
        return "—"
    return "系统（平台自动）" if name == SYSTEM.name else name


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    env = Environment(
        loader=PrefixLoader({c: PackageLoader(f"xinyong.{c}", "templates")
                             for c in ("web", *capabilities.with_templates())}),
        autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True,
        auto_reload=False)
    # tojson writes Chinese as itself, not as \u escapes a person cannot read (it still
    # escapes < > & ' so the output is safe in HTML)
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}
    env.filters["percent"] = _percent
    env.filters["day"] = _day
    env.filters["last_day"] = last_day
    env.filters["who"] = _who
    # the capabilities' own words for their codes (catalog's item names, publicity's rules)
    for filters in capabilities.offered("pages", "TEMPLATE_FILTERS"):
        env.filters.update(filters)
    env.globals["role_name"] = lambda code: role_table().roles[code].name if code in role_table().roles \
        else code
    return Jinja2Templates(env=env)


def query_with(request: Request, **changes: Any) -> str:
    """The current query string with some parameters changed (for pagers and filters)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params)


def render(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    principal: Principal = getattr(request.state, "principal", None) or anonymous()
    full = {"principal": principal, "csrf_token": getattr(request.state, "csrf_token", None),
            "portal": current_portal(),
            "query_with": lambda **kw: query_with(request, **kw), **context}
    name = name if "/" in name else f"web/{name}"
    response: HTMLResponse = templates().TemplateResponse(request, name, full,
                                                          status_code=status_code, headers=headers)
    return response
