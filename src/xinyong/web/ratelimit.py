"""Anti-scraping: a token bucket per client address on search and subject routes.

Counted in each server process (a deployment with several processes or servers divides the
figure by their number, or puts the limit in its reverse proxy). Signed-in people and API
tokens are not limited: they are accountable through the audit log."""

from __future__ import annotations

import math
import threading
import time

from fastapi import Depends, Request

from xinyong.accounts.rules import Principal
from xinyong.core.settings import get_settings
from xinyong.web.errors import RateLimited
from xinyong.web.security import client_address, current_principal

MAX_CLIENTS = 100_000  # forget idle clients beyond this many, so memory stays bounded


class Buckets:
    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self._state: dict[str, tuple[float, float]] = {}  # client → (tokens, last time)
        self._lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> float:
        """Take one request's token; 0 when allowed, else the seconds until one is free."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._state.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._state[client] = (tokens - 1, now)
                if len(self._state) > MAX_CLIENTS:
                    self._forget(now)
                return 0.0
            self._state[client] = (tokens, now)
            return (1 - tokens) / self.rate

    def _forget(self, now: float) -> None:
        full = self.burst / self.rate
        for key in [k for k, (_, last) in self._state.items() if now - last > full]:
            del self._state[key]


async def limited(request: Request, principal: Principal = Depends(current_principal)) -> None:
    buckets: Buckets | None = request.app.state.buckets
    if buckets is None or principal.kind != "anonymous":
        return
    wait = buckets.take(client_address(request))
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(f"查询过于频繁，请 {seconds} 秒后再试。如需批量核查，请通过信用核查接口申请",
                          seconds)


def make_buckets() -> Buckets | None:
    settings = get_settings()
    if settings.rate_limit_per_minute <= 0:
        return None
    return Buckets(settings.rate_limit_per_minute, settings.rate_limit_burst)
