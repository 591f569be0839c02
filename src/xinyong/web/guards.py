"""Requests refused before any route runs."""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from xinyong.web.errors import ENGLISH

NUL_MESSAGE = "请求中含有空字符（U+0000），已拒绝"


class RejectNul:
    """A NUL character has no place in a name, code or filter, and PostgreSQL cannot store or
    compare one: refuse it in the path or query once, here, with a clear 422."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (b"%00" in scope.get("query_string", b"")
                                        or "\x00" in scope.get("path", "")):
            body = orjson.dumps({"code": "invalid_input", "message": NUL_MESSAGE,
                                 "message_en": ENGLISH["invalid_input"]})
            await send({"type": "http.response.start", "status": 422, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
