"""The fast path of a fleet migration: a revision's SQL rendered once, applied to every tenant.

The per-tenant cost of the online path was mostly not the DDL: Alembic's start-up (env.py, a
migration context, the revision walk, compiling each operation), a SQLAlchemy engine around the
connection, and two main-database round trips plus two Redis invalidations of bookkeeping. Here:

  * the SQL from revision A to B is rendered once per process (`migrate.upgrade_script`, Alembic's
    offline mode, cached by the pair) and sent to each tenant database at A as one simple query,
    inside the same transaction, after the same advisory lock and revision check as the online path
    (a tenant found at another revision gets that pair's script; a pair that needs Python against
    the database -- ``op.get_bind()`` -- is not rendered and goes the online way, `tenant.py`);
  * each tenant is one plain psycopg connection as its own role (each tenant is its own database, so
    a connection per tenant remains; no Alembic, no engine), several in flight on this event loop:
    no worker processes, so nothing can outlive a killed `polyflow migrate`;
  * the bookkeeping is batched: the "being migrated" lease is taken for the next `CHUNK` tenants in
    one statement (and one route invalidation) before they start, and outcomes are written (run rows,
    registry revision, lease cleared) in one statement per batch. A tenant may therefore be refused
    (503 "being upgraded") up to about one batch longer than its own transaction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from polyflow.platform import migrate
from polyflow.platform.fleet.records import who
from polyflow.platform.fleet.selection import TenantTarget
from polyflow.platform.fleet.tenant import (CONNECT_TIMEOUT, DDL_LOCK_TIMEOUT, LEASE_SECONDS, LOCK_WAIT,
                                            MIGRATION_LOCK, Outcome, describe, migrate_tenant)
from polyflow.platform.tenancy.engines import session_limits
from polyflow.platform.tenancy.registry import route_key

if TYPE_CHECKING:
    from polyflow.platform.fleet.state import Progress, RolloutState
    from polyflow.platform.runtime import Platform

log = logging.getLogger(__name__)

# Tenants leased (and recorded as running) per main-database statement, and outcomes written per
# statement; a batch is also written after FLUSH_SECONDS so a slow tenant does not hold others' leases.
CHUNK = 32
FLUSH_SECONDS = 0.25


def can_script(t: TenantTarget, goal: str) -> bool:
    """Whether this tenant can go the scripted way, judged from the registry (its database decides later)."""
    if t.unfinished or t.registry_revision is None or t.registry_revision == goal:
        return False
    return migrate.upgrade_script("tenant", t.registry_revision, goal) is not None


# -- the tenant database ----------------------------------------------------------------------------

_ROLE_SETTINGS = ("SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = 0 "
                  "AND setrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)")
# Left to right: wait up to LOCK_WAIT for another migrator of this tenant, then DDL waits at most
# DDL_LOCK_TIMEOUT for a table lock (a long request transaction) before the tenant fails.
_LOCK = ("SELECT set_config('lock_timeout', %s, true), pg_advisory_xact_lock(%s), "
         "set_config('lock_timeout', %s, true), to_regclass('alembic_version') IS NOT NULL")


class NeedsOnline(Exception):
    """The database is at a revision whose way to the goal needs the online path."""

    def __init__(self, current: str | None):
        self.current = current


async def _apply(conninfo: str, limits: dict[str, str], goal: str) -> tuple[str | None, str | None]:
    """Upgrade one tenant database to ``goal`` in one transaction: (revision before, revision after)."""
    conn = await psycopg.AsyncConnection.connect(
        conninfo, connect_timeout=CONNECT_TIMEOUT, prepare_threshold=None,  # a handful of statements, once
        # A migration may run (and wait for its lock) far longer than the request limits of the role.
        options="-c statement_timeout=0 -c idle_in_transaction_session_timeout=0")
    try:
        if limits:  # the role's request limits, committed on their own (a failed migration keeps them)
            have = (await (await conn.execute(_ROLE_SETTINGS)).fetchone() or [None])[0] or []
            missing = [(k, v) for k, v in limits.items() if f"{k}={v}" not in have]
            for name, value in missing:
                await conn.execute(f"ALTER ROLE CURRENT_USER SET {name} = {int(value)}")
            await conn.commit()
        exists = (await (await conn.execute(_LOCK, (LOCK_WAIT, MIGRATION_LOCK, DDL_LOCK_TIMEOUT))).fetchone())[3]
        current = None
        if exists:
            current = (await (await conn.execute("SELECT version_num FROM alembic_version")).fetchone() or [None])[0]
        if current == goal:
            return current, current
        script = migrate.upgrade_script("tenant", current, goal) if current and migrate.is_known("tenant", current) \
            else None
        if script is None:
            raise NeedsOnline(current)
        # One simple query (no parameters: several statements), then the version it left behind.
        cur = await conn.execute(script + ";\nSELECT version_num FROM alembic_version")
        while cur.nextset():
            pass
        after = (await cur.fetchone())[0]
        if after != goal:  # the script's version updates did not match: never commit that
            raise RuntimeError(f"the upgrade script left the database at {after}, not {goal}")
        await conn.commit()
        return current, after
    finally:
        await conn.close()  # rolls back whatever was not committed


async def migrate_one(platform: "Platform", t: TenantTarget, goal: str, limits: dict[str, str]) \
        -> tuple[Outcome, datetime]:
    """One tenant by its script (its lease is already held); failures are outcomes, not exceptions."""
    started = time.perf_counter()
    started_at = datetime.now(timezone.utc)
    outcome = Outcome(t.subdomain, "failed", t.registry_revision, t.registry_revision, 0.0, path="scripted")
    try:
        conninfo = t.dsn_with(platform.secrets.decrypt(t.db_password_enc)).url("postgresql")
        before, after = await _apply(conninfo, limits, goal)
        outcome.from_revision, outcome.to_revision = before, after
        if before == after:
            outcome.status = "skipped"
            outcome.note = "already at the target" + ("" if before == t.registry_revision else " (registry corrected)")
        else:
            outcome.status = "migrated"
    except NeedsOnline:
        raise
    except Exception as exc:
        outcome.status, outcome.error = "failed", describe(exc)
        outcome.to_revision = outcome.from_revision  # rolled back: exactly where it was
        log.warning("migrating %s failed: %s", t.subdomain, outcome.error)
    outcome.seconds = time.perf_counter() - started
    return outcome, started_at


# -- the main database: batched lease and records --------------------------------------------------

_IDS = bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))
_LEASE = text("""
WITH lease AS (
    UPDATE tenants SET migrating_until = now() + make_interval(secs => :lease) WHERE id = ANY(:ids) RETURNING id
)
UPDATE migration_run_tenants r SET status = 'running', started_at = now(), worker = :worker
FROM lease WHERE r.run_id = :run_id AND r.tenant_id = lease.id AND r.status = 'pending'
""").bindparams(_IDS)
_RENEW = text("UPDATE tenants SET migrating_until = now() + make_interval(secs => :lease) WHERE id = ANY(:ids)"
              ).bindparams(_IDS)
# Leased but never started (the run halted): the lease goes, the row waits to be left behind.
_RELEASE = text("""
WITH lease AS (UPDATE tenants SET migrating_until = NULL WHERE id = ANY(:ids) RETURNING id)
UPDATE migration_run_tenants r SET status = 'pending', started_at = NULL
FROM lease WHERE r.run_id = :run_id AND r.tenant_id = lease.id AND r.status = 'running'
""").bindparams(_IDS)
# The registry follows only if the tenant still lives in the database we migrated (a move or a
# restore switches it); the lease is cleared whatever happened.
_FINISH = text("""
WITH data AS (
    SELECT * FROM unnest(CAST(:tids AS uuid[]), CAST(:subs AS text[]), CAST(:statuses AS text[]),
                         CAST(:froms AS text[]), CAST(:tos AS text[]), CAST(:starts AS timestamptz[]),
                         CAST(:seconds AS float8[]), CAST(:errors AS text[]), CAST(:set_revs AS boolean[]),
                         CAST(:sids AS uuid[]), CAST(:dbs AS text[]))
        AS d(tid, sub, status, from_rev, to_rev, started, seconds, error, set_rev, sid, db)
), registry AS (
    UPDATE tenants t SET migrating_until = NULL,
        schema_revision = CASE WHEN d.set_rev AND t.server_id = d.sid AND t.db_name = d.db
                               THEN d.to_rev ELSE t.schema_revision END
    FROM data d WHERE t.id = d.tid RETURNING t.id
)
INSERT INTO migration_run_tenants (run_id, tenant_id, subdomain, status, from_revision, to_revision, started_at,
                                   finished_at, seconds, error, worker)
SELECT :run_id, tid, sub, status, from_rev, to_rev, started, now(), seconds, error, :worker FROM data
ON CONFLICT ON CONSTRAINT uq_migration_run_tenants_run_tenant DO UPDATE
SET status = excluded.status, from_revision = excluded.from_revision, to_revision = excluded.to_revision,
    started_at = excluded.started_at, finished_at = excluded.finished_at, seconds = excluded.seconds,
    error = excluded.error, worker = excluded.worker
""")


def _autocommit(platform: "Platform"):
    return platform.main_engine.execution_options(isolation_level="AUTOCOMMIT").connect()


async def _invalidate(platform: "Platform", tenants: list[TenantTarget]) -> None:
    """Every process drops these tenants' routes: one Redis round trip for the batch."""
    keys = [k for t in tenants for k in (route_key("sub", t.subdomain), *(route_key("dom", d) for d in t.domains))]
    await platform.routes.invalidate(keys)
    for t in tenants:
        await platform.engines.evict(t.tenant_id)


async def lease(platform: "Platform", run_id: int, tenants: list[TenantTarget], worker: str) -> None:
    async with _autocommit(platform) as conn:
        await conn.execute(_LEASE, {"lease": LEASE_SECONDS, "ids": [t.tenant_id for t in tenants], "run_id": run_id,
                                    "worker": worker[:200]})
    await _invalidate(platform, tenants)


async def release(platform: "Platform", run_id: int, tenants: list[TenantTarget]) -> None:
    async with _autocommit(platform) as conn:
        await conn.execute(_RELEASE, {"ids": [t.tenant_id for t in tenants], "run_id": run_id})
    await _invalidate(platform, tenants)


async def finish(platform: "Platform", run_id: int, done: list[tuple[TenantTarget, Outcome, datetime]],
                 worker: str) -> None:
    """Record a batch of outcomes; the registry gets the revision each database is really at."""
    cols: dict[str, list] = {k: [] for k in ("tids", "subs", "statuses", "froms", "tos", "starts", "seconds",
                                             "errors", "set_revs", "sids", "dbs")}
    for t, o, started_at in done:
        cols["tids"].append(t.tenant_id)
        cols["subs"].append(t.subdomain)
        cols["statuses"].append(o.status)
        cols["froms"].append(o.from_revision)
        cols["tos"].append(o.to_revision)
        cols["starts"].append(started_at)
        cols["seconds"].append(round(o.seconds, 4))
        cols["errors"].append(o.error if o.status == "failed" else None)
        cols["set_revs"].append(o.status != "failed" and o.to_revision != t.registry_revision)
        cols["sids"].append(t.server_id)
        cols["dbs"].append(t.db_name)
    async with _autocommit(platform) as conn:
        await conn.execute(_FINISH, {**cols, "run_id": run_id, "worker": worker[:200]})
    await _invalidate(platform, [t for t, _, _ in done])


# -- the rollout ------------------------------------------------------------------------------------

async def rollout(platform: "Platform", tenants: list[TenantTarget], *, goal: str, run_id: int, concurrency: int,
                  state: "RolloutState", progress: "Progress") -> None:
    """Keep ``concurrency`` tenant transactions in flight, leasing ahead and recording in batches;
    stop starting new ones once the run halts."""
    worker = who()
    limits = session_limits(platform.settings)
    todo = deque(tenants)
    leased: deque[TenantTarget] = deque()
    inflight: dict[asyncio.Future, TenantTarget] = {}
    done: list[tuple[TenantTarget, Outcome, datetime]] = []
    chunk = max(CHUNK, 2 * concurrency)
    last_flush = time.monotonic()

    async def renew() -> None:  # a long tenant keeps its lease (and those leased behind it keep theirs)
        while True:
            await asyncio.sleep(LEASE_SECONDS / 3)
            held = [t.tenant_id for t in (*leased, *inflight.values())]
            if not held:
                continue
            try:
                async with _autocommit(platform) as conn:
                    await conn.execute(_RENEW, {"lease": LEASE_SECONDS, "ids": held})
            except Exception as exc:  # the main DB blinked: the next renewal tries again
                log.warning("renewing migration leases failed: %s", exc)

    async def one(t: TenantTarget) -> tuple[Outcome, datetime]:
        try:
            return await migrate_one(platform, t, goal, limits)
        except NeedsOnline:
            # Its database is at a revision the registry did not say, whose way needs Python: the
            # online path (it records this tenant itself; the batch below writes the same again).
            started_at = datetime.now(timezone.utc)
            return await migrate_tenant(platform, t, target=goal, run_id=run_id, worker=worker), started_at

    renewer = asyncio.create_task(renew())
    try:
        while todo or leased or inflight:
            if state.halt_reason is None:
                if todo and len(leased) < concurrency:
                    batch = [todo.popleft() for _ in range(min(chunk, len(todo)))]
                    await lease(platform, run_id, batch, worker)
                    leased.extend(batch)
                while leased and len(inflight) < concurrency:
                    t = leased.popleft()
                    inflight[asyncio.ensure_future(one(t))] = t
            if not inflight:
                break
            finished, _ = await asyncio.wait(inflight, timeout=FLUSH_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            for fut in finished:
                t = inflight.pop(fut)
                outcome, started_at = fut.result()
                done.append((t, outcome, started_at))
                state.add(outcome)
                progress.tenant_done(outcome)
            if done and (len(done) >= chunk or not inflight or time.monotonic() - last_flush >= FLUSH_SECONDS):
                await finish(platform, run_id, done, worker)
                done, last_flush = [], time.monotonic()
    finally:
        renewer.cancel()
        if inflight:  # cancelled (Ctrl-C): the open transactions roll back with their connections
            for fut in inflight:
                fut.cancel()
            await asyncio.gather(*inflight, return_exceptions=True)
            leased.extend(inflight.values())
        try:
            if done:
                await finish(platform, run_id, done, worker)
            if leased:
                await release(platform, run_id, list(leased))
        except Exception as exc:  # the main DB is down: the leases expire by themselves
            log.error("recording migration outcomes failed: %s", exc)


