"""Serve the app for a benchmark: one uvicorn worker, settings from the POLYFLOW_* environment.

    python bench/serve.py --port 8123 [--engine-per-request]

The app is wrapped in a small probe that times every HTTP request server-side (from the ASGI call
until the response is sent) and answers ``/__bench/reset`` and ``/__bench/stats`` itself, before
the tenancy middleware. ``--engine-per-request`` swaps the platform's ``TenantEngines`` for the
seed architecture's naive approach (a brand-new engine per request, disposed after it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import summarize  # noqa: E402
from polyflow.config import Settings  # noqa: E402
from polyflow.main import create_app  # noqa: E402
from polyflow.platform.tenancy.engines import TenantEngines  # noqa: E402
from polyflow.platform.tenancy.route import TenantRoute  # noqa: E402


class EnginePerRequest(TenantEngines):
    """Baseline: every lease builds a new AsyncEngine for the tenant and disposes it afterwards.

    No cache, no pool reuse, no budget: each request pays engine construction, a TCP connect, SCRAM
    authentication and the backend start-up of PostgreSQL.
    """

    @asynccontextmanager
    async def lease(self, route: TenantRoute) -> AsyncIterator[AsyncEngine]:
        engine = create_async_engine(route.dsn(self._decrypt(route.db_password_enc)).url())
        self.created += 1
        try:
            yield engine
        finally:
            await engine.dispose()


class Probe:
    """Outermost ASGI wrapper: server-side request timings and a tiny control API for the bench."""

    def __init__(self, app, platform):
        self.app = app
        self.platform = platform
        self.samples: list[float] = []
        self.created_at_reset = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith("/__bench/"):
            await self._control(path, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.samples.append(time.perf_counter() - started)

    async def _control(self, path: str, send) -> None:
        engines = self.platform.engines
        budget = getattr(engines, "budget", None)  # tolerate a TenantEngines without these counters
        if path == "/__bench/reset":
            self.samples = []
            self.created_at_reset = getattr(engines, "created", 0)
            if budget is not None:
                budget.peak = budget.used
            body = {"ok": True}
        elif path == "/__bench/stats":
            s = summarize(self.samples)
            body = {
                "requests": s["n"],
                "p50_us": s["p50"] * 1e6 if s["n"] else None,
                "p99_us": s["p99"] * 1e6 if s["n"] else None,
                "engines_created": getattr(engines, "created", 0) - self.created_at_reset,
                "engines_cached": len(engines),
                "budget_peak": getattr(budget, "peak", None),
                "open_connections": getattr(budget, "used", None),
                "route_stats": dict(self.platform.routes.stats),
            }
        else:
            body = {"error": "unknown"}
        raw = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]})
        await send({"type": "http.response.body", "body": raw})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--engine-per-request", action="store_true")
    args = parser.parse_args()

    settings = Settings()
    app = create_app(settings)
    platform = app.state.platform
    if args.engine_per_request:
        # Swapped before the lifespan starts: the original TenantEngines has opened nothing yet.
        platform.engines = EnginePerRequest.from_settings(settings, platform.secrets.decrypt)
    uvicorn.run(Probe(app, platform), host="127.0.0.1", port=args.port, workers=1, proxy_headers=False,
                log_level="warning", access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
