"""Fallback load generator (when wrk is not installed): fixed-duration GETs from N concurrent
connections, rotating the Host header; prints one JSON line. Runs in its own process.

    python bench/pyload.py --url http://127.0.0.1:8123/api/v1/products --hosts a.localhost,b.localhost \
        --connections 32 --seconds 8
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time

import httpx


async def run(url: str, hosts: list[str], connections: int, seconds: float) -> dict:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    rotation = itertools.cycle(hosts)
    latencies: list[float] = []
    counts = {"non_2xx": 0, "errors": 0}
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker():
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    resp = await client.get(url, headers={"Host": next(rotation)})
                except httpx.HTTPError:
                    counts["errors"] += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                if not 200 <= resp.status_code < 400:
                    counts["non_2xx"] += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e6 if latencies else 0  # noqa: E731
    return {"requests": len(latencies), "seconds": elapsed, "p50_us": pick(0.5), "p99_us": pick(0.99), **counts}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--hosts", required=True)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        result = runner.run(run(args.url, args.hosts.split(","), args.connections, args.seconds))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
