"""Structured logs: one JSON object a line, for requests and for errors."""

from __future__ import annotations

import logging
import os
import random
import sys
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                  + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name,
            "pid": record.process,  # which server worker (`serve --workers N`)
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


LEVEL_ENV = "XINYONG_SERVE_LOG_LEVEL"


def configure(level: str = "info") -> None:
    """JSON lines on stderr at `level`, in this process and in the worker processes it starts
    (uvicorn starts each `--workers` process afresh: they learn the level from the environment)."""
    os.environ[LEVEL_ENV] = level
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("xinyong")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def configure_worker() -> None:
    """In a server worker: log the way `xinyong serve` asked for, if it did."""
    level = os.environ.get(LEVEL_ENV)
    if level:
        configure(level)


access = logging.getLogger("xinyong.access")


class AccessLog:
    """Logs every request with its status, duration, client and who made it, and gives each
    response an X-Request-ID to quote when reporting a problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # not a secret, only a name to quote: the Mersenne twister spares a system call per request
        request_id = f"{random.getrandbits(64):016x}"
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access.isEnabledFor(logging.INFO):
                principal = scope.get("state", {}).get("principal")
                client = scope.get("client")
                access.info("request", extra={"fields": {
                    "request_id": request_id, "method": scope["method"], "path": scope["path"],
                    "status": status, "ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": client[0] if client else None,
                    "principal": getattr(principal, "name", None),
                }})
