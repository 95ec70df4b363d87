"""`polyflow migrate status`: where the fleet stands, from the main database alone.

Four small queries whatever the fleet size (a GROUP BY over the registry, the tenants not at the
head with their latest attempt through the (tenant_id, id) index, the live leases, the last run);
no tenant database is ever connected to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select, text

from polyflow.kit.errors import Conflict
from polyflow.platform import migrate
from polyflow.platform.fleet.selection import HAS_SCHEMA_STEPS, SERVED, UNFINISHED, has_schema
from polyflow.platform.models import MigrationRun, Tenant

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform


def _state(revision: str | None, target: str) -> str:
    if revision == target:
        return "head"
    if revision is None:
        return "unrecorded"
    return "behind" if migrate.is_known("tenant", revision) else "ahead"


_NOT_AT_TARGET = text(f"""
SELECT t.subdomain, t.status, t.schema_revision, a.status AS last_status, a.error AS last_error,
       a.finished_at AS last_at, a.run_id AS last_run
FROM tenants t
LEFT JOIN LATERAL (SELECT r.status, r.error, r.finished_at, r.run_id FROM migration_run_tenants r
                   WHERE r.tenant_id = t.id ORDER BY r.id DESC LIMIT 1) a ON true
WHERE (t.status IN {SERVED!r} OR (t.status IN {UNFINISHED!r} AND t.onboarding_step IN {HAS_SCHEMA_STEPS!r}))
  AND t.schema_revision IS DISTINCT FROM :target
ORDER BY t.subdomain
""")


async def status(platform: "Platform") -> dict:
    """Counts per revision, tenants behind, failed tenants with their last error, leases, last run."""
    from polyflow.platform.fleet.records import abort_dead_runs

    target = migrate.head("tenant")
    async with platform.main_engine.connect() as conn:
        main_revision = await migrate.current_revision(conn)
        if (await conn.execute(text("SELECT to_regclass('migration_runs')"))).scalar() is None:
            raise Conflict(f"the main database is at revision {main_revision}, before the migration records "
                           "(run `polyflow migrate` first)")
        runner_known = (await conn.execute(text(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'migration_runs' "
            "AND column_name = 'runner_pid'"))).scalar() is not None
    if runner_known:  # a run whose process is gone is shown (and settled) as aborted, its leases released
        await abort_dead_runs(platform, stale_after=platform.settings.fleet_run_stale_seconds)
    async with platform.main_engine.connect() as conn:
        per_revision = (await conn.execute(
            select(Tenant.schema_revision, func.count()).where(has_schema())
            .group_by(Tenant.schema_revision))).all()
        not_at_target = (await conn.execute(_NOT_AT_TARGET, {"target": target})).all()
        migrating = (await conn.execute(
            select(Tenant.subdomain, Tenant.migrating_until).where(Tenant.migrating_until > func.now())
            .order_by(Tenant.subdomain))).all()
        table = MigrationRun.__table__
        columns = [table.c[c] for c in ("id", "status", "target_revision", "actor", "started_at", "finished_at",
                                        "halt_reason", "summary")]
        last = (await conn.execute(select(*columns).order_by(table.c.id.desc()).limit(1))).first()
    revisions = sorted(
        ({"revision": rev, "tenants": n, "state": _state(rev, target)} for rev, n in per_revision),
        key=lambda r: (r["state"] != "head", r["revision"] or ""))
    behind = [r for r in not_at_target if _state(r.schema_revision, target) in ("behind", "unrecorded")]
    return {
        "target": target,
        "main": {"revision": main_revision, "head": migrate.head("main"),
                 "at_head": main_revision == migrate.head("main")},
        "tenants": sum(r["tenants"] for r in revisions),
        "at_head": sum(r["tenants"] for r in revisions if r["state"] == "head"),
        "revisions": revisions,
        "behind": [{"subdomain": r.subdomain, "revision": r.schema_revision, "status": r.status} for r in behind],
        "ahead": [{"subdomain": r.subdomain, "revision": r.schema_revision} for r in not_at_target
                  if _state(r.schema_revision, target) == "ahead"],
        "failed": [{"subdomain": r.subdomain, "revision": r.schema_revision, "error": r.last_error,
                    "at": r.last_at.isoformat() if r.last_at else None, "run_id": r.last_run}
                   for r in behind if r.last_status == "failed"],
        "migrating": [{"subdomain": s, "until": u.isoformat()} for s, u in migrating],
        "last_run": None if last is None else {
            "id": last.id, "status": last.status, "target": last.target_revision, "actor": last.actor,
            "started_at": last.started_at.isoformat(),
            "finished_at": last.finished_at.isoformat() if last.finished_at else None,
            "halt_reason": last.halt_reason, "summary": last.summary,
        },
    }
