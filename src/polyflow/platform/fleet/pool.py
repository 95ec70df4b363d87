"""Worker processes for the online path of a fleet migration: tenants whose upgrade needs Python
against the database (the scripted path, scripted.py, needs no process), or whose onboarding is
unfinished.

A killed `polyflow migrate` (SIGKILL: no shutdown runs) must not leave its workers behind holding
connections: each worker dies with its parent (`die_with_parent`); the fork server exits when the
run's process is gone (its "alive" pipe closes), and the resource tracker when the last of them has.

Alembic keeps ``alembic.context`` and ``alembic.op`` in module globals, so two migrations in one
process (interleaved on an event loop, or in threads) would run each other's operations on the
wrong connection; `migrate` serialises them per process. Parallelism therefore comes from
processes: each worker has its own event loop, its own small `Platform` (main database, Redis
invalidation) and migrates one tenant at a time (`tenant.migrate_tenant`).

Workers are forked from a ``forkserver`` that imports the code once (1-2 s, overlapping the
parent's bookkeeping), so starting them is cheap and none inherits the parent's event loop,
threads, sockets or connections. As with any non-fork start method, a *script* that calls
`fleet.run` with more than one worker needs the ``if __name__ == "__main__":`` guard (the
`polyflow` command has it).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import multiprocessing.util
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from polyflow.config import Settings
from polyflow.platform import migrate
from polyflow.platform.fleet.selection import TenantTarget
from polyflow.platform.fleet.tenant import Outcome, migrate_tenant
from polyflow.platform.fleet.records import who

_STATE: dict[str, Any] = {}
_PR_SET_PDEATHSIG = 1
WATCHDOG_SECONDS = 0.5


def die_with_parent(runner_pid: int) -> None:
    """End this process when the one driving the run is gone (SIGKILL leaves no chance to shut a pool
    down): Linux's parent-death signal (the parent here is the fork server, which exits when the run's
    process does), and, anywhere, a thread that checks the runner's pid. The tenant transaction in
    flight rolls back with the connection."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the watchdog below does it
            pass
    parent = os.getppid()

    def watch() -> None:
        while True:
            if os.getppid() != parent or not _alive(runner_pid):
                os._exit(1)
            time.sleep(WATCHDOG_SECONDS)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
    if os.getppid() != parent or not _alive(runner_pid):  # it died before the signal was armed
        os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _init(settings: Settings, extra: tuple[str, ...], log_level: int, runner_pid: int) -> None:
    die_with_parent(runner_pid)
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")
    migrate.use_extra_locations("tenant", extra)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    _STATE.update(loop=loop, settings=settings, platform=None)
    # Runs when the pool shuts the worker down: close the main-DB pool and Redis cleanly.
    multiprocessing.util.Finalize(None, _close, exitpriority=10)


def _close() -> None:
    loop, platform = _STATE.get("loop"), _STATE.get("platform")
    if loop is None:
        return
    if platform is not None:
        loop.run_until_complete(platform.stop())
    loop.close()


def _platform():
    from polyflow.platform.runtime import Platform

    if _STATE["platform"] is None:
        _STATE["platform"] = Platform(_STATE["settings"])
    return _STATE["platform"]


def _warm() -> int:
    """Get ready while the parent records the run: revision map built, main-DB connection open."""
    from sqlalchemy import text

    migrate.script("tenant")

    async def ping():
        async with _platform().main_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    _STATE["loop"].run_until_complete(ping())
    return multiprocessing.current_process().pid


def _run(target: TenantTarget, goal: str, run_id: int | None) -> Outcome:
    return _STATE["loop"].run_until_complete(
        migrate_tenant(_platform(), target, target=goal, run_id=run_id, worker=f"{who()} (pool)"))


class WorkerPool:
    """``size`` worker processes; `migrate` runs one tenant in one of them."""

    def __init__(self, settings: Settings, size: int):
        ctx = multiprocessing.get_context("forkserver")
        # Imported once in the fork server (Alembic's env.py imports the tenant models on every run).
        ctx.set_forkserver_preload([__name__, "polyflow.erp.models", "sqlalchemy.dialects.postgresql.psycopg",
                                    "alembic.command"])
        self.size = size
        self._executor = ProcessPoolExecutor(size, mp_context=ctx, initializer=_init,
                                             initargs=(settings, migrate.extra_locations("tenant"),
                                                       logging.getLogger().getEffectiveLevel(), os.getpid()))
        # Start every worker now (they start on demand otherwise), so their start-up overlaps the
        # parent's bookkeeping; a failure here shows up again on the first real task.
        for _ in range(size):
            self._executor.submit(_warm).add_done_callback(lambda f: f.exception())

    async def migrate(self, target: TenantTarget, goal: str, run_id: int | None) -> Outcome:
        return await asyncio.get_running_loop().run_in_executor(self._executor, _run, target, goal, run_id)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)


class InProcess:
    """The sequential loop: this process's own Platform, one tenant after another."""

    size = 1

    def __init__(self, platform):
        self.platform = platform

    async def migrate(self, target: TenantTarget, goal: str, run_id: int | None) -> Outcome:
        return await migrate_tenant(self.platform, target, target=goal, run_id=run_id, worker=who())

    async def close(self) -> None:
        pass
