"""Fallback load generator (when wrk is not installed): fixed-duration GETs from N concurrent
connections, rotating the Host header (and that host's own credentials); prints one JSON line. Runs
in its own process.

    python bench/pyload.py --url http://127.0.0.1:8123/api/v1/products --hosts a.localhost,b.localhost \
        --tokens pft_<a id>_<secret>,pft_<b id>_<secret> --connections 32 --seconds 8
    python bench/pyload.py --url ... --headers-file requests.json    # [{"Host": ..., "Authorization": ...}, ...]

The tenant API answers 401 without credentials: ``--tokens`` (one per host, same order) sends
``Authorization: Bearer <token>`` with its host; ``--headers-file`` gives each rotated request its
whole header set (Host included), e.g. a session ``Cookie`` instead of a token. The harness uses the
file, so that tokens stay out of the process list.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time

import httpx


async def run(url: str, header_sets: list[dict[str, str]], connections: int, seconds: float) -> dict:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    rotation = itertools.cycle(header_sets)
    latencies: list[float] = []
    counts = {"non_2xx": 0, "errors": 0}
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker():
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    resp = await client.get(url, headers=next(rotation))
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


def header_sets(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[dict[str, str]]:
    if args.headers_file:
        if args.hosts or args.tokens:
            parser.error("--headers-file already names the hosts: drop --hosts/--tokens")
        with open(args.headers_file) as f:
            sets = json.load(f)
        if not sets or not all(isinstance(h, dict) and "Host" in h for h in sets):
            parser.error("--headers-file: a non-empty JSON list of objects, each with a Host")
        return sets
    if not args.hosts:
        parser.error("give --hosts (with --tokens) or --headers-file")
    hosts = args.hosts.split(",")
    tokens = args.tokens.split(",") if args.tokens else []
    if tokens and len(tokens) != len(hosts):
        parser.error(f"{len(tokens)} tokens for {len(hosts)} hosts: one token per host, same order")
    return [{"Host": h, **({"Authorization": f"Bearer {tokens[k]}"} if tokens else {})} for k, h in enumerate(hosts)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--hosts", help="comma-separated Host values, rotated round-robin")
    parser.add_argument("--tokens", help="comma-separated API tokens, one per host (sent as Bearer with it)")
    parser.add_argument("--headers-file", help="JSON list of header objects (Host + credentials), rotated")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    sets = header_sets(parser, args)
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        result = runner.run(run(args.url, sets, args.connections, args.seconds))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
