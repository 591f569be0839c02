"""Refused requests in the audit log: a 403 (a role without the permission, a department
reaching another's records), a failed CSRF check and a refused upload (too large, or sent by
a caller who may not, refused before its body is read) each leave a trace, summed up so that
a script hammering one route writes one event a minute, not one per request.

Only refusals pay for this; a request that is let through never reaches this module.
"""

from __future__ import annotations

import threading
import time

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from xinyong.accounts.events import AccountEvent
from xinyong.accounts.rules import Principal, anonymous
from xinyong.core import audit
from xinyong.core.audit import Actor
from xinyong.core.db import transaction
from xinyong.web.error_codes import WebError

EVERY_SECONDS = 60.0  # one event per principal, route and reason at most this often
MAX_KEYS = 10_000  # forget the counts when this many keys are held, so memory stays bounded
# every other 403 is `access.denied`
ACTIONS: dict[str, AccountEvent] = {WebError.CSRF_FAILED: AccountEvent.ACCESS_CSRF_FAILED}


class Refusals:
    """Per key (principal, route, reason): when the last event was written and how many
    refusals came since. Counted per server process (each writes its own events)."""

    def __init__(self, every: float = EVERY_SECONDS) -> None:
        self.every = every
        self._seen: dict[tuple[str, str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def due(self, key: tuple[str, str, str], now: float | None = None) -> int:
        """Count one refusal; the refusals an event should report now (this one and those
        folded in since the last event), or 0 when this one is only counted."""
        now = time.monotonic() if now is None else now
        with self._lock:
            last, folded = self._seen.get(key, (float("-inf"), 0))
            if now - last >= self.every:
                if len(self._seen) >= MAX_KEYS:
                    self._seen.clear()
                self._seen[key] = (now, 0)
                return folded + 1
            self._seen[key] = (last, folded + 1)
            return 0


def _of(request: Request) -> Refusals:
    """The app's counts (one per app, so that two apps in one process count apart)."""
    found = getattr(request.app.state, "refusals", None)
    if not isinstance(found, Refusals):
        found = request.app.state.refusals = Refusals()
    return found


def _route(request: Request) -> str:
    """`METHOD /template/{param}` of the route refused, with the prefix its router was included
    under (the route knows only its own part: the prefix is the path's leading segments)."""
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    path = request.url.path
    if isinstance(template, str):
        own = template.strip("/").split("/")
        given = path.strip("/").split("/")
        prefix = given[:max(0, len(given) - len(own))]
        path = "/" + "/".join([*prefix, *own]) if template != "/" else "/" + "/".join(given)
    return f"{request.method} {path}"[:64]


def _write(engine: Engine, who: Actor, action: str, route: str, code: str, count: int,
           path: str) -> None:
    with transaction(engine) as conn:
        audit.record(conn, who, action, "route", route,
                     detail={"code": code, "refusals": count, "path": path[:200]})


async def record(request: Request, code: str, *, action: str | None = None) -> None:
    """Audit a refused request (summed up per minute): `access.denied`, `access.csrf_failed`,
    or the `action` given (`upload.refused` for a body refused unread or too large)."""
    principal: Principal = getattr(request.state, "principal", None) or anonymous()
    route = _route(request)
    count = _of(request).due((principal.name, route, code))
    if count == 0:
        return
    from xinyong.web.security import client_address, engine_of  # security imports errors

    await run_in_threadpool(_write, engine_of(request), principal.actor(client_address(request)),
                            action or ACTIONS.get(code, AccountEvent.ACCESS_DENIED), route, code, count,
                            request.url.path)
