"""Run records in the main database: one `migration_runs` row per run, one `migration_run_tenants`
row per tenant the run had to look at (the ones skipped from the registry alone are only counted)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from polyflow.platform.fleet.selection import TenantTarget
from polyflow.platform.models import MigrationRun, MigrationRunTenant

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform

log = logging.getLogger(__name__)

FINISHED = ("migrated", "skipped", "failed", "left_behind")
# How often a running run's process says it is alive (`migration_runs.heartbeat_at`).
HEARTBEAT_SECONDS = 5.0


def who() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def create_run(engine: AsyncEngine, *, target: str, main_revision: str | None, actor: str, options: dict,
                     work: list[TenantTarget], summary: dict, runner: bool = False) -> int:
    """The run row and a `pending` row per tenant to work on, in one transaction. ``runner``: this
    process drives the run (its host, pid and heartbeat are recorded, see `abort_dead_runs`)."""
    where = {"runner_host": socket.gethostname()[:255], "runner_pid": os.getpid(),
             "heartbeat_at": func.now()} if runner else {}
    async with engine.begin() as conn:
        run_id = (await conn.execute(
            insert(MigrationRun).values(status="running", target_revision=target, main_revision=main_revision,
                                        actor=actor[:200], options=options, summary=summary, **where)
            .returning(MigrationRun.id))).scalar_one()
        if work:
            await conn.execute(insert(MigrationRunTenant), [
                {"run_id": run_id, "tenant_id": t.tenant_id, "subdomain": t.subdomain, "status": "pending",
                 "from_revision": t.registry_revision} for t in work
            ])
    return run_id


async def upsert_tenant(conn: AsyncConnection, run_id: int, t: TenantTarget, **values) -> None:
    """Set a tenant's row of a run (created if the run did not list it, e.g. a job for a new tenant)."""
    stmt = pg_insert(MigrationRunTenant).values(run_id=run_id, tenant_id=t.tenant_id, subdomain=t.subdomain,
                                                **values)
    await conn.execute(stmt.on_conflict_do_update(constraint="uq_migration_run_tenants_run_tenant", set_=values))


async def fail_tenant(engine: AsyncEngine, run_id: int, tenant_id: uuid.UUID, error: str) -> None:
    """A tenant the worker could not report on (its process died): failed, unless it already finished."""
    async with engine.begin() as conn:
        await conn.execute(
            update(MigrationRunTenant)
            .where(MigrationRunTenant.run_id == run_id, MigrationRunTenant.tenant_id == tenant_id,
                   MigrationRunTenant.status.in_(("pending", "running")))
            .values(status="failed", error=error[:4000], finished_at=func.now()))


async def leave_behind(engine: AsyncEngine, run_id: int) -> list[str]:
    """Rows never started (the run halted) become `left_behind`. Returns every left-behind subdomain."""
    async with engine.begin() as conn:
        await conn.execute(
            update(MigrationRunTenant)
            .where(MigrationRunTenant.run_id == run_id, MigrationRunTenant.status == "pending")
            .values(status="left_behind", finished_at=func.now()))
        rows = (await conn.execute(
            select(MigrationRunTenant.subdomain)
            .where(MigrationRunTenant.run_id == run_id, MigrationRunTenant.status == "left_behind")
            .order_by(MigrationRunTenant.subdomain))).scalars().all()
    return list(rows)


async def interrupted(engine: AsyncEngine, run_id: int) -> None:
    """The run was stopped (Ctrl-C): in-flight tenants rolled back, the rest never started."""
    await halt(engine, run_id, "interrupted")
    async with engine.begin() as conn:
        await conn.execute(update(MigrationRunTenant).where(
            MigrationRunTenant.run_id == run_id, MigrationRunTenant.status == "running"
        ).values(status="failed", error="interrupted (rolled back)", finished_at=func.now()))
    await leave_behind(engine, run_id)
    await finish(engine, run_id, {"interrupted": True, **await counts(engine, run_id)})


async def halt(engine: AsyncEngine, run_id: int, reason: str) -> bool:
    """Stop a run from starting more tenants (jobs check this before they start). First reason wins."""
    async with engine.begin() as conn:
        result = await conn.execute(update(MigrationRun)
                                    .where(MigrationRun.id == run_id, MigrationRun.status == "running")
                                    .values(status="halted", halt_reason=reason[:2000]))
    return result.rowcount > 0


async def get_run(engine: AsyncEngine, run_id: int):
    """The run's row (columns of migration_runs), or None."""
    table = MigrationRun.__table__
    async with engine.connect() as conn:
        return (await conn.execute(select(table).where(table.c.id == run_id))).first()


async def counts(engine: AsyncEngine, run_id: int) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(MigrationRunTenant.status, func.count()).where(MigrationRunTenant.run_id == run_id)
            .group_by(MigrationRunTenant.status))).all()
    return {status: n for status, n in rows}


async def tenant_rows(engine: AsyncEngine, run_id: int) -> list:
    """Every tenant row of a run, by subdomain."""
    table = MigrationRunTenant.__table__
    async with engine.connect() as conn:
        return (await conn.execute(select(table).where(table.c.run_id == run_id)
                                   .order_by(table.c.subdomain))).all()


async def finish(engine: AsyncEngine, run_id: int, summary: dict, finished_at: datetime | None = None) -> str:
    """Close the run: halted (kept), failed (a tenant failed or was left behind) or completed."""
    bad = summary.get("failed", 0) or summary.get("left_behind", 0)
    async with engine.begin() as conn:
        status = (await conn.execute(select(MigrationRun.status).where(MigrationRun.id == run_id))).scalar_one()
        if status == "running":
            status = "failed" if bad else "completed"
        await conn.execute(update(MigrationRun).where(MigrationRun.id == run_id)
                           .values(status=status, summary=summary,
                                   finished_at=finished_at if finished_at is not None else func.now()))
    return status


async def keep_alive(engine: AsyncEngine, run_id: int) -> None:
    """Run forever: the run's heartbeat, every HEARTBEAT_SECONDS (cancelled when the run ends)."""
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            async with engine.begin() as conn:
                await conn.execute(update(MigrationRun).where(MigrationRun.id == run_id)
                                   .values(heartbeat_at=func.now()))
        except Exception as exc:  # the main DB blinked: the next beat tries again
            log.warning("migration run %s: heartbeat not recorded: %s", run_id, exc)


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


_UNFINISHED_RUNS = text("""
SELECT id, runner_host, runner_pid, heartbeat_at < now() - make_interval(secs => :stale) AS stale
FROM migration_runs
WHERE finished_at IS NULL AND status IN ('running', 'halted') AND runner_pid IS NOT NULL
""")
_ABORT_RUN = text("""
UPDATE migration_runs SET status = 'aborted', finished_at = now(),
    halt_reason = coalesce(halt_reason || '; ', '') || :reason
WHERE id = :run_id AND finished_at IS NULL
""")
# Its tenants: the leases it held go (their transactions rolled back with the dead connections).
_ABORT_TENANTS = text("""
WITH rows AS (
    UPDATE migration_run_tenants SET
        status = CASE WHEN status = 'running' THEN 'failed' ELSE 'left_behind' END,
        error = CASE WHEN status = 'running' THEN :error ELSE error END, finished_at = now()
    WHERE run_id = :run_id AND status IN ('pending', 'running') RETURNING tenant_id
)
UPDATE tenants SET migrating_until = NULL FROM rows
WHERE tenants.id = rows.tenant_id AND tenants.migrating_until IS NOT NULL
RETURNING tenants.id, tenants.subdomain
""")


async def abort_dead_runs(platform: "Platform", *, stale_after: float) -> list[int]:
    """Mark `aborted` every unfinished run whose process is gone: a dead pid on this host, or a heartbeat
    older than ``stale_after`` seconds. Its leases are released and its unfinished tenant rows closed
    (in flight: failed, rolled back; not started: left behind). Returns the aborted run ids."""
    engine = platform.main_engine
    here = socket.gethostname()[:255]
    async with engine.connect() as conn:
        rows = (await conn.execute(_UNFINISHED_RUNS, {"stale": stale_after})).all()
    dead = [(r.id, r.runner_host, r.runner_pid) for r in rows
            if r.stale or (r.runner_host == here and r.runner_pid != os.getpid() and _pid_gone(r.runner_pid))]
    released = []
    for run_id, host, pid in dead:
        reason = f"aborted: its process ({host}:{pid}) is gone"
        async with engine.begin() as conn:
            if (await conn.execute(_ABORT_RUN, {"run_id": run_id, "reason": reason})).rowcount == 0:
                continue  # finished or aborted meanwhile by someone else
            released += (await conn.execute(_ABORT_TENANTS, {
                "run_id": run_id, "error": "aborted: the migrating process died (its transaction rolled back; "
                                          "the next run checks the database)"})).all()
            counts_ = dict((await conn.execute(
                select(MigrationRunTenant.status, func.count()).where(MigrationRunTenant.run_id == run_id)
                .group_by(MigrationRunTenant.status))).all())
            summary = (await conn.execute(select(MigrationRun.summary).where(MigrationRun.id == run_id))).scalar()
            await conn.execute(update(MigrationRun).where(MigrationRun.id == run_id).values(summary={
                **(summary or {}), "aborted": True,
                **{k: counts_.get(k, 0) for k in ("migrated", "skipped", "failed", "left_behind")}}))
        log.warning("migration run %s marked aborted: %s", run_id, reason)
    for tenant_id, subdomain in released:
        try:
            await platform.tenant_changed(subdomain, tenant_id=tenant_id)
        except Exception as exc:  # the leases are gone in the registry; caches follow with their TTL
            log.warning("route invalidation after aborting a run failed: %s", exc)
    return [run_id for run_id, _, _ in dead]
