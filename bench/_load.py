"""Open-loop HTTP load for the service benchmark: a separate, light process.

Requests are *scheduled* at a fixed arrival rate (request i at start + i / rate), whatever
the server does; each goes out on an idle keep-alive HTTP/1.1 connection (a new one is
opened while fewer than `--connections` are open, otherwise it waits for one). Latency is
measured from the scheduled time to the last byte of the response, so a server that falls
behind shows its queue in the figures (no coordinated omission); the time from the actual
send is kept as well. Raw asyncio streams, no HTTP library: the client should cost the
server's two cores as little as possible (its own CPU time is reported).

    python bench/_load.py --port 8000 --rate 200 --seconds 30 --paths paths.json  # JSON out

where paths.json is a list of [label, path] (GET) or [label, path, body] (POST of the JSON
`body`); `--header "Name: value"` (repeatable) adds a header to every request, e.g. an API token.
Latencies are reported by label.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
from pathlib import Path
from typing import Any

TIMEOUT = 10.0


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def get(self, request: bytes) -> tuple[int, int]:
        """(status, body bytes) of one request on this connection."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = -1
        chunked = False
        closing = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                closing = True
        if chunked:
            size = 0
            while True:
                n = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(n + 2)
                size += n
                if n == 0:
                    break
            length = size
        elif length >= 0:
            await self.reader.readexactly(length)
        else:
            length = len(await self.reader.read())
            closing = True
        if closing:
            raise ConnectionResetError("server closed the connection")
        return status, length


class Pool:
    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port, self.size = host, port, size
        self.idle: asyncio.Queue[Connection] = asyncio.Queue()
        self.open = 0
        self.peak = 0

    async def take(self) -> Connection:
        if self.idle.empty() and self.open < self.size:
            self.open += 1
            self.peak = max(self.peak, self.open)
            try:
                return Connection(*await asyncio.open_connection(self.host, self.port))
            except OSError:
                self.open -= 1
                raise
        return await self.idle.get()

    def give(self, conn: Connection) -> None:
        self.idle.put_nowait(conn)

    def drop(self, conn: Connection) -> None:
        self.open -= 1
        conn.writer.close()


def _request(host: str, port: int, path: str, body: Any, headers: list[str]) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    if body is None:
        return (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: xinyong-bench\r\n{extra}"
                "\r\n").encode()
    data = json.dumps(body, ensure_ascii=False).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: xinyong-bench\r\n{extra}"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data


async def run(host: str, port: int, paths: list[list[Any]], rate: float, seconds: float,
              connections: int, headers: list[str] | None = None) -> dict[str, Any]:
    pool = Pool(host, port, connections)
    requests = [(p[0], _request(host, port, p[1], p[2] if len(p) > 2 else None, headers or []))
                for p in paths]
    total = int(rate * seconds)
    # ms from the scheduled time and from the actual send, of successful responses, by label
    latencies: dict[str, list[float]] = {p[0]: [] for p in paths}
    service: dict[str, list[float]] = {p[0]: [] for p in paths}
    errors: dict[str, int] = {}
    sizes = 0
    tasks: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()

    async def fire(i: int, scheduled: float) -> None:
        nonlocal sizes
        conn = None
        try:
            # the deadline counts from the scheduled time: waiting for a connection is
            # part of the latency, and a request not answered by then is an error
            conn = await asyncio.wait_for(pool.take(), TIMEOUT)
            sent = loop.time()
            label, request = requests[i % len(requests)]
            status, size = await asyncio.wait_for(conn.get(request),
                                                  max(0.001, scheduled + TIMEOUT - sent))
            done = loop.time()
            pool.give(conn)
            conn = None
            if 200 <= status < 300:
                latencies[label].append((done - scheduled) * 1000)
                service[label].append((done - sent) * 1000)
                sizes += size
            else:
                errors[str(status)] = errors.get(str(status), 0) + 1
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as e:
            errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
            if conn is not None:
                pool.drop(conn)

    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = loop.time() + 0.05
    late = 0.0
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            late = max(late, -delay)
        task = asyncio.create_task(fire(i, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    sent_by = loop.time()
    if tasks:
        await asyncio.wait(list(tasks))
    elapsed = loop.time() - start
    used = resource.getrusage(resource.RUSAGE_SELF)
    return {"scheduled": total, "ok": sum(map(len, latencies.values())), "errors": errors, "elapsed": elapsed,
            "send_seconds": sent_by - start, "latencies": latencies, "service": service,
            "bytes": sizes, "peak_connections": pool.peak, "scheduler_late_ms": late * 1000,
            "client_cpu": (used.ru_utime + used.ru_stime) - (cpu.ru_utime + cpu.ru_stime)}


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, default=200.0)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--paths", type=Path, required=True,
                   help="JSON list of [label, request path] or [label, path, JSON body to POST]")
    p.add_argument("--header", action="append", default=[], help="'Name: value' sent with every request")
    args = p.parse_args()
    paths = json.loads(args.paths.read_text())
    print(json.dumps(asyncio.run(run(args.host, args.port, paths, args.rate, args.seconds,
                                     args.connections, args.header))))


if __name__ == "__main__":
    main()
