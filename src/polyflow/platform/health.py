"""Platform endpoints answered on any host: liveness, readiness, landing page.

`/healthz` says the process answers (a liveness probe: restart it if not). `/readyz` says whether a load
balancer should send it requests: start-up is done and shutdown has not begun, the main database answers and
is not behind this code's migrations, and Redis answers when one is configured. Nothing in it touches a tenant
database: one tenant's trouble must not take the node out of rotation for all of them.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text

from polyflow.platform import migrate

log = logging.getLogger(__name__)
router = APIRouter()

# Without POLYFLOW_DRAIN_SECONDS: long enough for a load balancer probing every few seconds to see the 503.
PRODUCTION_DRAIN_SECONDS = 5.0


class Readiness:
    """The process's own part of readiness: started, draining, and the cached main-database revision."""

    def __init__(self, settings):
        self.settings = settings
        self.started = False
        self.draining = False
        drain = settings.drain_seconds
        self.drain_seconds = drain if drain is not None else (
            PRODUCTION_DRAIN_SECONDS if settings.env == "production" else 0.0)
        # (monotonic time read, revision) of the last successful read of the main database's revision.
        self._revision: tuple[float, str | None] | None = None

    def start(self) -> None:
        """The lifespan's start-up is done: ready (if the checks pass); from now on SIGTERM drains first."""
        self.started = True
        self._install_drain()

    def stop(self) -> None:
        """Shutdown has begun: not ready any more."""
        self.draining = True

    def _install_drain(self) -> None:
        # uvicorn stops listening as soon as it gets SIGTERM: a load balancer that has not noticed yet sends
        # the next requests into a closed port. So on SIGTERM we first say 503 on /readyz while still serving,
        # and hand the signal to uvicorn `drain_seconds` later. Only where uvicorn installed its handler (the
        # main thread of a server process); a second SIGTERM stops at once.
        if self.drain_seconds <= 0 or threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):
            return
        loop = asyncio.get_running_loop()

        def on_sigterm(signum, frame):
            if self.draining:
                previous(signum, frame)
                return
            self.draining = True
            log.warning("SIGTERM: draining, /readyz answers 503; stopping in %.1f s", self.drain_seconds)
            loop.call_soon_threadsafe(loop.call_later, self.drain_seconds, previous, signum, None)

        signal.signal(signal.SIGTERM, on_sigterm)

    async def main_revision(self, conn) -> str | None:
        """The main database's Alembic revision, read at most every POLYFLOW_READY_REVISION_CACHE_SECONDS."""
        now = time.monotonic()
        cached = self._revision
        if cached is not None and now - cached[0] < self.settings.ready_revision_cache_seconds:
            return cached[1]
        # Read directly (not through Alembic's MigrationContext, which logs two lines per use).
        exists = await conn.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
        rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all() if exists else []
        revision = rows[0] if len(rows) == 1 else None
        self._revision = (now, revision)
        return revision


async def _check_main_db(platform, readiness: Readiness, checks: dict[str, str]) -> None:
    try:
        async with asyncio.timeout(readiness.settings.ready_timeout):
            async with platform.main_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                checks["main_db"] = "ok"
                revision = await readiness.main_revision(conn)
    except TimeoutError:
        checks.setdefault("main_db", f"error: no answer within {readiness.settings.ready_timeout:g} s")
        checks.setdefault("migrations", "unknown")
        return
    except Exception as exc:  # report, never raise: this is a probe
        checks.setdefault("main_db", f"error: {type(exc).__name__}")
        checks.setdefault("migrations", "unknown")
        return
    head = migrate.head("main")
    if revision is None:
        checks["migrations"] = f"not migrated (code needs {head}; run `polyflow migrate`)"
    elif migrate.is_behind("main", revision):
        checks["migrations"] = f"behind: main database at {revision}, code needs {head} (run `polyflow migrate`)"
    else:
        # The head, or a revision this code does not know (newer code migrated it: a rolling deploy).
        checks["migrations"] = "ok"


async def _check_redis(platform, readiness: Readiness, checks: dict[str, str]) -> None:
    if platform.redis is None:
        checks["redis"] = "disabled"
        return
    try:
        async with asyncio.timeout(readiness.settings.ready_timeout):
            await platform.redis.ping()
        checks["redis"] = "ok"
    except TimeoutError:
        checks["redis"] = f"error: no answer within {readiness.settings.ready_timeout:g} s"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"


@router.get("/healthz", tags=["platform"])
async def healthz():
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", tags=["platform"])
async def readyz(request: Request):
    """Readiness: started and not draining, main database answering and migrated, Redis (if configured) answering."""
    platform = request.app.state.platform
    readiness: Readiness = request.app.state.readiness
    checks: dict[str, str] = {}
    if readiness.draining:
        checks["lifecycle"] = "draining"
    elif not readiness.started:
        checks["lifecycle"] = "starting"
    else:
        checks["lifecycle"] = "ok"
        # Both at once: a hung Redis does not add its timeout to the database's.
        await asyncio.gather(_check_main_db(platform, readiness, checks), _check_redis(platform, readiness, checks))
    failing = sorted(name for name, value in checks.items() if value not in ("ok", "disabled"))
    body = {"status": "unavailable" if failing else "ok", **checks}
    if failing:
        body["failing"] = failing
    return JSONResponse(body, status_code=503 if failing else 200, headers={"Cache-Control": "no-store"})


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def landing(request: Request):
    """The bare root domain: what Polyflow is and where to go (styled by the site's stylesheet: CSP-clean)."""
    from polyflow.web import render

    return render(request, "landing.html", root=request.app.state.platform.settings.root_domain)
