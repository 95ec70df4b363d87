"""Fan-out on the job queue: one durable job per tenant, for fleets larger than one machine.

`polyflow migrate --via-jobs` records the run exactly as a local run does, then defers one
``fleet.migrate_tenant`` job per tenant (procrastinate ``lock = tenant:<sub>``, the lock every
job that changes one tenant takes, so it never overlaps that tenant's onboarding job). Any number
of `polyflow worker` processes on any machines run them; each job migrates its tenant with the same
code as a local worker (`tenant.migrate_tenant`: advisory lock in the tenant database, one
transaction, lease, records). With ``--wait`` the CLI follows the run's rows and shows the same
progress; a canary phase is always waited for. ``--max-failures`` works through the run row: the
job that records the K-th failure halts the run, and jobs of a halted run leave their tenant behind.
The last job to finish closes the run (and rebuilds the template), so nobody has to wait.

Register: the task is registered when this module is imported (`jobs.task`); the CLI imports it.
`polyflow.platform.fleet.queue` belongs in `jobs.TASK_MODULES` so that a worker started some other
way registers it too.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING

import psycopg
from procrastinate import App, JobContext, PsycopgConnector
from sqlalchemy import func, update

from polyflow.kit.errors import Unavailable
from polyflow.platform import jobs, migrate
from polyflow.platform.fleet import records
from polyflow.platform.fleet.records import FINISHED, who
from polyflow.platform.fleet.selection import TenantTarget, load_targets
from polyflow.platform.fleet.tenant import Outcome, migrate_tenant
from polyflow.platform.models import MigrationRunTenant

if TYPE_CHECKING:
    from polyflow.platform.fleet.state import Progress, RolloutState, RunOptions, RunReport
    from polyflow.platform.runtime import Platform

log = logging.getLogger(__name__)

MIGRATE_TASK = "fleet.migrate_tenant"
MIGRATIONS_QUEUE = "migrations"
POLL_SECONDS = 0.5

# Used only with explicit connections (deferring from the CLI): never opened, holds no pool.
_client = App(connector=PsycopgConnector())


async def defer(platform: "Platform", run_id: int, tenants: list[TenantTarget]) -> int:
    """One job per tenant, all in one transaction on the main database."""
    try:
        conn = await psycopg.AsyncConnection.connect(jobs.conninfo(platform.settings), connect_timeout=10)
    except psycopg.Error as exc:
        raise Unavailable(f"the job queue (main database) is unavailable: {exc}", retry_after=5) from None
    try:
        async with conn.transaction():
            for t in tenants:
                await _client.configure_task(
                    MIGRATE_TASK, lock=jobs.tenant_lock(t.subdomain), queue=MIGRATIONS_QUEUE, connection=conn,
                ).defer_async(run_id=run_id, tenant_id=str(t.tenant_id))
    finally:
        await conn.close()
    return len(tenants)


def _outcome(row) -> Outcome:
    return Outcome(row.subdomain, row.status, row.from_revision, row.to_revision, row.seconds or 0.0, row.error)


async def follow(platform: "Platform", run_id: int, tenant_ids: set[uuid.UUID], state: "RolloutState",
                 progress: "Progress", seen: set[uuid.UUID]) -> None:
    """Poll the run's rows until these tenants are finished, reporting each once."""
    while True:
        rows = [r for r in await records.tenant_rows(platform.main_engine, run_id) if r.tenant_id in tenant_ids]
        for r in rows:
            if r.status in FINISHED and r.tenant_id not in seen:
                seen.add(r.tenant_id)
                if r.status != "left_behind":
                    outcome = _outcome(r)
                    state.outcomes.append(outcome)
                    progress.tenant_done(outcome)
        if all(r.status in FINISHED for r in rows):
            return
        await asyncio.sleep(POLL_SECONDS)


async def rollout(platform: "Platform", report: "RunReport", work: list[TenantTarget], canaries: list[TenantTarget],
                  options: "RunOptions", state: "RolloutState", progress: "Progress") -> None:
    seen: set[uuid.UUID] = set()
    rest = [t for t in work if t not in canaries]
    if canaries:
        progress.note(f"canary: {', '.join(t.subdomain for t in canaries)} (waiting for their jobs)")
        await defer(platform, report.run_id, canaries)
        await follow(platform, report.run_id, {t.tenant_id for t in canaries}, state, progress, seen)
        bad = [o.subdomain for o in state.outcomes if o.status == "failed"]
        if bad:
            state.halt_reason = f"canary failed ({', '.join(bad)}); the rollout stopped"
            return
    await defer(platform, report.run_id, rest)
    progress.note(f"{len(rest)} job(s) queued on '{MIGRATIONS_QUEUE}' for run {report.run_id}")
    if not options.wait:
        report.status = "queued"
        return
    await follow(platform, report.run_id, {t.tenant_id for t in rest}, state, progress, seen)
    run_row = await records.get_run(platform.main_engine, report.run_id)
    if run_row is not None and run_row.halt_reason:
        state.halt_reason = run_row.halt_reason


async def _close_if_done(platform: "Platform", run_id: int) -> None:
    """The last job of a run closes it and rebuilds the template for the new head."""
    counts = await records.counts(platform.main_engine, run_id)
    if counts.get("pending") or counts.get("running"):
        return
    run_row = await records.get_run(platform.main_engine, run_id)
    if run_row is None or run_row.finished_at is not None:
        return
    summary = {**(run_row.summary or {}), **{k: counts.get(k, 0) for k in FINISHED}}
    await records.finish(platform.main_engine, run_id, summary)
    from polyflow.platform.fleet.refresh import refresh_templates

    await refresh_templates(platform)


async def _set_row(platform: "Platform", run_id: int, tenant_id: uuid.UUID, **values) -> None:
    async with platform.main_engine.begin() as conn:
        await conn.execute(update(MigrationRunTenant).where(
            MigrationRunTenant.run_id == run_id, MigrationRunTenant.tenant_id == tenant_id,
            MigrationRunTenant.status.in_(("pending", "running"))).values(finished_at=func.now(), **values))


@jobs.task(MIGRATE_TASK, queue=MIGRATIONS_QUEUE)
async def migrate_tenant_job(context: JobContext, run_id: int, tenant_id: str) -> dict:
    """Migrate one tenant for a run (see the module docstring)."""
    platform = jobs.platform_of(context)
    migrate.configure(platform.settings)
    tid = uuid.UUID(tenant_id)
    run_row = await records.get_run(platform.main_engine, run_id)
    if run_row is None:
        return {"outcome": "gone"}
    try:
        if run_row.status != "running":
            await _set_row(platform, run_id, tid, status="left_behind")
            return {"outcome": "left_behind", "reason": run_row.halt_reason or run_row.status}
        target = run_row.target_revision
        if not migrate.is_known("tenant", target):
            await _set_row(platform, run_id, tid, status="failed",
                           error=f"this worker's code does not know revision {target} (head "
                                 f"{migrate.head('tenant')}): run the same version on every worker")
            return {"outcome": "failed"}
        found = await load_targets(platform.main_engine, tenant_ids=[tid])
        if not found:
            await _set_row(platform, run_id, tid, status="skipped", error=None)
            return {"outcome": "skipped", "reason": "the tenant has no database any more"}
        outcome = await migrate_tenant(platform, found[0], target=target, run_id=run_id,
                                       worker=f"job {context.job.id} on {who()}")
        limit = (run_row.options or {}).get("max_failures")
        if outcome.status == "failed" and limit:
            failed = (await records.counts(platform.main_engine, run_id)).get("failed", 0)
            if failed >= limit:
                await records.halt(platform.main_engine, run_id,
                                   f"halted after {failed} failed tenant(s) (--max-failures {limit})")
                async with platform.main_engine.begin() as conn:
                    await conn.execute(update(MigrationRunTenant).where(
                        MigrationRunTenant.run_id == run_id, MigrationRunTenant.status == "pending"
                    ).values(status="left_behind", finished_at=func.now()))
        return outcome.as_dict()
    finally:
        try:
            await _close_if_done(platform, run_id)
        except Exception as exc:
            log.warning("closing migration run %s failed: %s", run_id, exc)
