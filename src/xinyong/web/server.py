"""How uvicorn serves the app: its HTTP protocol with Nagle's algorithm off on every
connection, even with several worker processes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """With `--workers` > 1 uvicorn hands each worker a listening socket rebuilt without its
    protocol number, so asyncio no longer sets TCP_NODELAY on accepted connections and small
    responses wait ~40 ms for delayed ACKs (uvicorn issue 3149). Set it ourselves."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        sock: Any = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):  # not a TCP socket after all: nothing to tune
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
