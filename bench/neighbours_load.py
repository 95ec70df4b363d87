"""The two load workers of `bench/neighbours.py`, each run in its own process so that neither shares an
event loop (or a GIL) with the other, the bench or the server:

    python bench/neighbours_load.py victim --spec FILE   # paced GETs for a fixed time, then a JSON line
    python bench/neighbours_load.py attack --spec FILE   # prints "ready", floods until stdin closes, JSON

FILE (JSON, in the bench's private temp folder: it holds tokens) gives the base URL, the timeout and the
requests; the result is printed as one `RESULT {...}` line.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import json
import random
import string
import sys
import time
from pathlib import Path

import httpx


async def victim(spec: dict) -> dict:
    """Paced GETs; latency from the scheduled send time, every attempt counted (errors included)."""
    clients, rate, seconds = spec["clients"], spec["rate"], spec["seconds"]
    interval = 1 / rate
    latencies: list[float] = []
    status: collections.Counter = collections.Counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=spec["base_url"], timeout=spec["timeout"], limits=limits) as client:
        start = time.perf_counter()
        end = start + seconds
        # A stalled server leaves a backlog of due requests; it is sent back to back until `hard_end`,
        # what is still unsent then is counted as such (so one phase never runs much past its time).
        hard_end = end + spec["grace"]

        async def worker(k: int) -> None:
            due = start + k * interval / clients  # staggered, so the clients do not fire in step
            while due < end:
                if time.perf_counter() >= hard_end:
                    status["unsent"] += 1
                    due += interval
                    continue
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                try:
                    r = await client.get(spec["path"], headers=spec["headers"])
                    status[str(r.status_code)] += 1
                except httpx.TimeoutException:
                    status["timeout"] += 1
                except httpx.HTTPError as e:
                    status[type(e).__name__] += 1
                latencies.append(time.perf_counter() - due)
                due += interval

        await asyncio.gather(*(worker(k) for k in range(clients)))
    latencies.sort()
    return {"latencies": latencies, "status": dict(status), "scheduled": len(latencies) + status["unsent"]}


def _login_body(size: int) -> bytes:
    """A JSON sign-in body of about `size` bytes: the email is a long list of short strings (a 422 today)."""
    item = '"' + "x" * 14 + '"'
    n = max(1, size // (len(item) + 1))
    return ('{"email": [' + ",".join([item] * n) + '], "password": "x"}').encode()


async def attack(spec: dict) -> dict:
    """Each client loops over its requests (paced at `rate`/s, or back to back) until stdin closes."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # EOF on stdin is the stop signal; it also comes when the parent dies.
    reader = loop.run_in_executor(None, sys.stdin.read)
    reader.add_done_callback(lambda _: loop.call_soon_threadsafe(stop.set))
    bodies = {size: _login_body(size) for size in {c.get("body", 0) for c in spec["clients"]} if size}
    status: collections.Counter = collections.Counter()
    sizes: list[int] = []
    sent = pages_followed = 0
    rate = spec.get("rate") or 0
    n = len(spec["clients"])
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    print("ready", flush=True)
    async with httpx.AsyncClient(base_url=spec["base_url"], timeout=spec["timeout"], limits=limits) as client:
        async def worker(k: int, c: dict) -> None:
            nonlocal sent, pages_followed
            cursors: dict[int, str] = {}  # request index -> the `next_cursor` its last answer gave
            due = time.perf_counter() + (k / n / rate if rate else 0)
            for i in itertools.count():
                if rate:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(stop.wait(), max(0.0, due - time.perf_counter()))
                    due += 1 / rate
                if stop.is_set():
                    return
                j = i % len(c["requests"])
                req = c["requests"][j]
                path = req["path"]
                if j in cursors:  # paged lists: read on through the whole history, page after page
                    path += ("&" if "?" in path else "?") + str(httpx.QueryParams({"cursor": cursors.pop(j)}))
                headers = dict(req.get("headers", {}))
                if c.get("random_host"):
                    name = "".join(random.choices(string.ascii_lowercase + string.digits, k=12))
                    headers["Host"] = f"{name}.{c['random_host']}"
                sent += 1
                try:
                    r = await client.request(req["method"], path, headers=headers, json=req.get("json"),
                                             content=bodies.get(c.get("body", 0)))
                    status[str(r.status_code)] += 1
                    sizes.append(len(r.content))
                    if req.get("follow_cursor") and r.status_code == 200:
                        with contextlib.suppress(ValueError, AttributeError):
                            if nxt := r.json().get("next_cursor"):
                                cursors[j] = nxt
                                pages_followed += 1
                except httpx.TimeoutException:
                    status["timeout"] += 1
                except httpx.HTTPError as e:
                    status[type(e).__name__] += 1

        tasks = [asyncio.create_task(worker(k, c)) for k, c in enumerate(spec["clients"])]
        started = time.perf_counter()
        await stop.wait()
        seconds = time.perf_counter() - started
        # In-flight requests get a short grace, then are cut off (the next phase waits for the server).
        _done, pending = await asyncio.wait(tasks, timeout=2)
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        cut = len(pending)
    return {"sent": sent, "status": dict(status), "cut_off": cut, "max_bytes": max(sizes, default=0),
            "cursors_followed": pages_followed, "seconds": seconds}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=("victim", "attack"))
    p.add_argument("--spec", required=True, help="JSON file: base_url, timeout and the requests")
    args = p.parse_args()
    spec = json.loads(Path(args.spec).read_text())
    try:  # uvloop when installed, as uvicorn and the other load generators use it
        import uvloop
    except ImportError:
        uvloop = None
    with asyncio.Runner(loop_factory=uvloop.new_event_loop if uvloop else None) as runner:
        result = runner.run(victim(spec) if args.kind == "victim" else attack(spec))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
