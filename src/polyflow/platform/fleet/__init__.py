"""Migrating the main database, then every tenant database: parallel, locked, recorded, resumable.

    migrate_main                 the main tree, under an advisory lock (two runs take turns)
    run(platform, RunOptions)    every tenant with a schema (selection.py) to the tenant head:
      plan from the registry     at the head -> skipped without a connection; --verify reads them all
      records                    a migration_runs row + a pending row per tenant to work on
      canary, then the rest      scripted.py: the revision's SQL rendered once per (from, to) pair and
                                 applied to each tenant database in one transaction, several tenants in
                                 flight on this process's event loop, leases and records in batches;
                                 the online path (Alembic per tenant, tenant.py) in worker processes
                                 (pool.py) for tenants whose upgrade needs Python against the database
                                 or whose onboarding is unfinished;
                                 --max-failures / a failed canary stop new starts, the rest is left behind
      template + spares          rebuilt for the new head (onboarding clones it)
    status(platform)             where the fleet stands, from the main database alone
    queue.py                     the same per-tenant work as one durable job per tenant (--via-jobs)

A run records its process (host, pid) and a heartbeat; a run whose process is gone (dead pid on this
host, or a heartbeat older than POLYFLOW_FLEET_RUN_STALE_SECONDS) is marked `aborted` by the next
`migrate`, `migrate status` or the admin console, and its tenants' leases are released.

Alembic keeps its context in module globals, so a process runs one online migration at a time; the
online path's parallelism is processes (and, with the job queue, machines).
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import text

from polyflow.platform import migrate
from polyflow.platform.fleet.refresh import refresh_templates
from polyflow.platform.fleet.runner import default_concurrency, make_plan, run
from polyflow.platform.fleet.state import Progress, RunOptions, RunReport
from polyflow.platform.fleet.selection import Plan, TenantTarget
from polyflow.platform.fleet.status import status
from polyflow.platform.fleet.tenant import LEASE_SECONDS, Outcome

__all__ = ["LEASE_SECONDS", "Outcome", "Plan", "Progress", "RunOptions", "RunReport", "TenantTarget",
           "default_concurrency", "make_plan", "migrate_main", "migrate_tenants", "offline_sql",
           "refresh_templates", "run", "status"]

# One main-tree migration at a time across processes (transaction-scoped: released at commit).
_MAIN_LOCK = 0x504D4D31  # "PMM1"


async def migrate_main(platform) -> str | None:
    """Upgrade the main database in one transaction; a concurrent run waits, then finds it done."""
    async with platform.main_engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MAIN_LOCK})
        return await migrate.upgrade_connection(conn, "main")


async def main_revision(platform) -> str | None:
    async with platform.main_engine.connect() as conn:
        return await migrate.current_revision(conn)


def offline_sql(plan: Plan) -> str:
    """The SQL that would bring each group of tenants (by recorded revision) to the head."""
    groups: dict[str | None, list[str]] = {}
    for t in plan.work:
        groups.setdefault(t.registry_revision, []).append(t.subdomain)
    parts = []
    for revision, subs in sorted(groups.items(), key=lambda kv: kv[0] or ""):
        names = ", ".join(subs[:20]) + (f" and {len(subs) - 20} more" if len(subs) > 20 else "")
        parts.append(f"-- {len(subs)} tenant(s) at {revision or 'an empty database'} -> {plan.target}: {names}\n"
                     + migrate.offline_sql("tenant", revision, plan.target))
    return "\n".join(parts)


async def migrate_tenants(platform, on_done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Every tenant to the head, one after another in this process (`polyflow dev`); recorded as a run."""

    class _Callback(Progress):
        def tenant_done(self, outcome: Outcome) -> None:
            if on_done is not None:
                on_done(outcome)

    report = await run(platform, RunOptions(concurrency=1, actor="dev"), _Callback())
    return report.outcomes
