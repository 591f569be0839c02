"""Requests refused before any route runs."""

from __future__ import annotations

import asyncio

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from xinyong.core.errors import CoreError

NUL_MESSAGE = "请求中含有空字符（U+0000），已拒绝"


class RejectNul:
    """A NUL character has no place in a name, code or filter, and PostgreSQL cannot store or
    compare one: refuse it in the path or query once, here, with a clear 422."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (b"%00" in scope.get("query_string", b"")
                                        or "\x00" in scope.get("path", "")):
            body = orjson.dumps({"code": CoreError.INVALID_INPUT, "message": NUL_MESSAGE,
                                 "message_en": CoreError.INVALID_INPUT.en})
            await send({"type": "http.response.start", "status": 422, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


class Admission:
    """Works on at most `limit` requests at once; the rest wait here, in the event loop.

    Without it, a burst parks up to 40 requests in the thread pool, each holding or awaiting
    a database connection, until the pool runs dry and requests that already hold one wait
    for threads that wait for connections: every request then stalls until the pool times
    out. Admitting no more than the pool can serve keeps the queue where waiting is free."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.slots = asyncio.Semaphore(max(1, limit))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == "/healthz":
            await self.app(scope, receive, send)
            return
        async with self.slots:
            await self.app(scope, receive, send)
