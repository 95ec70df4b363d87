"""A tiny HTTP/1.1 round-robin load balancer for benchmarks (asyncio, no dependencies).

Each *request* (not each connection) goes to the next backend, over a kept-alive backend connection, so one
client connection's requests are spread over every app process as behind a real load balancer. The answer gets
an ``X-Served-By: <backend name>`` header, and per-backend counters (requests, 5xx, connection failures) are
kept. Enough for JSON APIs: bodies with Content-Length or chunked; no upgrades, no pipelining.

    proxy = RoundRobinProxy([("app1", "127.0.0.1", 8001), ("app2", "127.0.0.1", 8002)])
    await proxy.start()          # proxy.port
"""

from __future__ import annotations

import asyncio
import collections
import itertools
from dataclasses import dataclass, field


@dataclass
class BackendStats:
    requests: int = 0
    errors: int = 0  # 5xx answers and requests the backend could not take
    statuses: collections.Counter = field(default_factory=collections.Counter)


class _BadRequest(Exception):
    pass


async def _read_head(reader: asyncio.StreamReader) -> bytes | None:
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise _BadRequest("truncated head") from None
        return None  # the peer closed between messages


def _headers(head: bytes) -> dict[bytes, bytes]:
    out = {}
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            name, _, value = line.partition(b":")
            out[name.strip().lower()] = value.strip()
    return out


async def _read_body(reader: asyncio.StreamReader, headers: dict[bytes, bytes]) -> bytes:
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        chunks = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            chunks.append(size_line + data)
            if size == 0:
                return b"".join(chunks)
    length = int(headers.get(b"content-length", b"0"))
    return await reader.readexactly(length) if length else b""


class RoundRobinProxy:
    def __init__(self, backends: list[tuple[str, str, int]], host: str = "127.0.0.1", port: int = 0):
        self.backends = backends
        self.host, self.port = host, port
        self.stats = {name: BackendStats() for name, _, _ in backends}
        self._next = itertools.cycle(range(len(backends)))
        # Idle kept-alive connections per backend.
        self._idle: dict[str, list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {
            name: [] for name, _, _ in backends}
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> "RoundRobinProxy":
        self._server = await asyncio.start_server(self._client, self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for conns in self._idle.values():
            for _, writer in conns:
                writer.close()

    def reset_stats(self) -> None:
        self.stats = {name: BackendStats() for name, _, _ in self.backends}

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await _read_head(reader)
                if head is None:
                    break
                body = await _read_body(reader, _headers(head))
                answer = await self._forward(head, body)
                writer.write(answer)
                await writer.drain()
        except (_BadRequest, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _forward(self, head: bytes, body: bytes) -> bytes:
        name, host, port = self.backends[next(self._next)]
        stats = self.stats[name]
        stats.requests += 1
        for attempt in (1, 2):  # a kept-alive connection the backend closed meanwhile: once more, on a new one
            fresh = attempt == 2 or not self._idle[name]
            try:
                r, w = self._idle[name].pop() if not fresh else await asyncio.open_connection(host, port)
            except OSError:
                break
            try:
                w.write(head + body)
                await w.drain()
                resp_head = await _read_head(r)
                if resp_head is None:
                    raise ConnectionError("backend closed")
                resp_headers = _headers(resp_head)
                resp_body = await _read_body(r, resp_headers)
            except (ConnectionError, asyncio.IncompleteReadError, _BadRequest):
                w.close()
                if fresh or attempt == 2:
                    break
                continue
            if resp_headers.get(b"connection", b"").lower() == b"close":
                w.close()
            else:
                self._idle[name].append((r, w))
            status = int(resp_head.split(b" ", 2)[1])
            stats.statuses[status] += 1
            if status >= 500:
                stats.errors += 1
            served_by = b"X-Served-By: " + name.encode() + b"\r\n"
            return resp_head[:-2] + served_by + b"\r\n" + resp_body
        stats.errors += 1
        stats.statuses[502] += 1
        message = b'{"detail":"bad gateway"}'
        return (b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\ncontent-length: "
                + str(len(message)).encode() + b"\r\nX-Served-By: " + name.encode() + b"\r\n\r\n" + message)


def main() -> None:
    """`python bench/proxy.py PORT NAME=HOST:PORT ...`: serve until killed (its own process, as a real balancer)."""
    import sys

    port = int(sys.argv[1])
    backends = []
    for spec in sys.argv[2:]:
        name, _, address = spec.partition("=")
        host, _, backend_port = address.rpartition(":")
        backends.append((name, host, int(backend_port)))

    async def serve():
        proxy = await RoundRobinProxy(backends, port=port).start()
        print(f"listening on {proxy.port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
