"""Anti-scraping: requests one client may make to the public read routes, counted in the
database so that every server process and every server share one count.

Who is a client: an anonymous visitor by address (`security.client_address`: behind trusted
reverse proxies, the rightmost address they did not add themselves), a signed-in enterprise
account by account, and an API token by token (at its own, higher rate). Staff accounts are
not limited: they are accountable through the audit log and hold no public-read-only role.

Counting: fixed windows of `burst × 60 / per_minute` seconds in the `rate_limit_window`
table, one set-based upsert a request. A request is refused when this window's count plus
the previous window's, weighted by the share of it still inside the last window length,
reaches the burst — the usual sliding-window estimate, so a window's edge never lets twice
the burst through. When the store cannot take the write at once (SQLite has one writer, and
an ingest batch may hold it), the process counts that request itself for the moment rather
than keep the visitor waiting.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from xinyong.accounts.rules import Principal
from xinyong.core.db import WRITE, is_sqlite
from xinyong.core.settings import get_settings
from xinyong.web.errors import RateLimited
from xinyong.web.security import client_address, current_principal

MAX_CLIENTS = 100_000  # forget idle clients beyond this many, so memory stays bounded
# How long a rate-limit write may wait for SQLite's write lock before the process counts
# the request itself (everyday writes take a millisecond; an ingest batch can take minutes).
BUSY_MS = 200
SWEEP_SECONDS = 60.0  # how often a process deletes windows that no longer count
# After the store was busy, a process counts in memory for this long before it tries the
# store again: a batch holding SQLite's write lock for minutes then costs each visitor one
# wait of BUSY_MS every few seconds, not every request.
BUSY_BACKOFF_SECONDS = 5.0

UPSERT = text("INSERT INTO rate_limit_window (key, window_start, hits) VALUES (:key, :start, 1) "
              "ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limit_window.hits + 1 "
              "RETURNING hits")
PREVIOUS = text("SELECT hits FROM rate_limit_window WHERE key = :key AND window_start = :start")
SWEEP = text("DELETE FROM rate_limit_window WHERE window_start < :before")


@dataclass(frozen=True)
class Limit:
    """`burst` requests a window of `seconds`: on average `burst × 60 / seconds` a minute."""

    burst: int
    seconds: int

    @classmethod
    def of(cls, per_minute: int, burst: int) -> Limit | None:
        if per_minute <= 0:
            return None
        burst = max(1, burst)
        return cls(burst, max(1, round(burst * 60 / per_minute)))

    def wait(self, current: int, previous: int, elapsed: float) -> float:
        """0 when a request that made this window's count `current` may pass, else the
        seconds until one would (if the client made no more)."""
        weight = 1 - elapsed / self.seconds
        if current - 1 + math.ceil(previous * weight) < self.burst:
            return 0.0
        # Next window: this one's count weighs (1 - t / seconds); it must fall below burst - 1.
        share = max(0.0, 1 - (self.burst - 1) / current) if current else 0.0
        return (self.seconds - elapsed) + self.seconds * share


class Buckets:
    """A token bucket per client in this process: the count when the store is busy."""

    def __init__(self, per_minute: float, burst: int) -> None:
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


class Limiter:
    """The limits of one app, counted in its store."""

    def __init__(self, engine: Engine, public: Limit | None, token: Limit | None) -> None:
        self.engine = engine
        self.public = public
        self.token = token
        self.local = {limit: Buckets(limit.burst * 60 / limit.seconds, limit.burst)
                      for limit in (public, token) if limit is not None}
        self._swept = 0.0
        self._busy_until = 0.0
        self._lock = threading.Lock()

    def client(self, request: Request, principal: Principal) -> tuple[str, Limit] | None:
        """Whose count a request adds to, and under which limit (None: not limited)."""
        if principal.kind == "anonymous":
            return (f"addr:{client_address(request)}", self.public) if self.public else None
        if principal.kind == "token":
            return (f"token:{principal.name}", self.token) if self.token else None
        if principal.subject is not None:  # an enterprise account, or its agent: the public rate
            return (f"account:{principal.name}", self.public) if self.public else None
        return None

    async def check(self, request: Request, principal: Principal) -> None:
        """Count the request once (a route may name the limit twice) and refuse it when over."""
        if getattr(request.state, "rate_counted", False):
            return
        request.state.rate_counted = True
        found = self.client(request, principal)
        if found is None:
            return
        key, limit = found
        wait = await run_in_threadpool(self.take, key[:160], limit)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(f"查询过于频繁，请 {seconds} 秒后再试。如需批量核查，请通过信用核查接口申请",
                              seconds)

    def take(self, key: str, limit: Limit, now: float | None = None) -> float:
        now = time.time() if now is None else now
        start = int(now // limit.seconds) * limit.seconds
        if time.monotonic() < self._busy_until:
            return self.local[limit].take(key)
        try:
            current, previous = self._count(key, start, start - limit.seconds, now)
        except DBAPIError:
            self._busy_until = time.monotonic() + BUSY_BACKOFF_SECONDS
            return self.local[limit].take(key)
        return limit.wait(current, previous, now - start)

    def _count(self, key: str, start: int, previous: int, now: float) -> tuple[int, int]:
        with self.engine.connect() as conn:
            sqlite = is_sqlite(conn)
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None
            if sqlite:  # outside any transaction; the everyday wait is back after
                dbapi.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            try:
                conn.execution_options(**{WRITE: True})
                with conn.begin():
                    current = int(conn.execute(UPSERT, {"key": key, "start": start}).scalar_one())
                    before = conn.execute(PREVIOUS, {"key": key, "start": previous}).scalar()
                    if self._sweep_due(now):
                        conn.execute(SWEEP, {"before": int(now) - 2 * self._longest()})
            finally:
                if sqlite:
                    dbapi.execute("PRAGMA busy_timeout=30000")
        return current, int(before or 0)

    def _sweep_due(self, now: float) -> bool:
        with self._lock:
            if now - self._swept < SWEEP_SECONDS:
                return False
            self._swept = now
            return True

    def _longest(self) -> int:
        return max(limit.seconds for limit in self.local)


async def limited(request: Request, principal: Principal = Depends(current_principal)) -> None:
    """The limit as a route dependency (sign-in routes; public read routes have it through
    `security.requires`)."""
    limiter: Limiter | None = getattr(request.app.state, "limiter", None)
    if limiter is not None:
        await limiter.check(request, principal)


def make_limiter(engine: Engine) -> Limiter | None:
    settings = get_settings()
    public = Limit.of(settings.rate_limit_per_minute, settings.rate_limit_burst)
    if public is None:  # 0 turns every limit off
        return None
    token = Limit.of(settings.rate_limit_token_per_minute, settings.rate_limit_token_burst)
    return Limiter(engine, public, token)
