"""Run records in the main database: one `migration_runs` row per run, one `migration_run_tenants`
row per tenant the run had to look at (the ones skipped from the registry alone are only counted)."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from polyflow.platform.fleet.selection import TenantTarget
from polyflow.platform.models import MigrationRun, MigrationRunTenant

FINISHED = ("migrated", "skipped", "failed", "left_behind")


def who() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def create_run(engine: AsyncEngine, *, target: str, main_revision: str | None, actor: str, options: dict,
                     work: list[TenantTarget], summary: dict) -> int:
    """The run row and a `pending` row per tenant to work on, in one transaction."""
    async with engine.begin() as conn:
        run_id = (await conn.execute(
            insert(MigrationRun).values(status="running", target_revision=target, main_revision=main_revision,
                                        actor=actor[:200], options=options, summary=summary)
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
