"""Benchmark: migrating the tenant fleet, parallel vs the sequential loop; a fleet already at the head.

    python bench/fleet.py                         # 1,000 tenants; 500 migrated per mode; fsync ON when timed
    python bench/fleet.py --tenants 200 --migrate 100 --fast     # a quick look (fsync off throughout)

Starts its own PostgreSQL cluster and Redis. The fleet is built fast and *outside* the timing:

  1. the onboarding template of the shipped head (`templates.ensure_template`, the real code),
  2. a prototype cloned from it with ``--products`` products (an ERP tenant with some data), frozen
     as a template database,
  3. per tenant, its own login role and ``CREATE DATABASE ... TEMPLATE prototype STRATEGY FILE_COPY
     OWNER role``, then ``REASSIGN OWNED`` to the role (what onboarding's `adopt_clone` does), four
     at a time, with fsync off,
  4. the registry rows (status active, revision = head, Fernet-encrypted passwords) in one insert.

Then the cluster is restarted with fsync ON (unless ``--fast``) and timed:

  * at head: ``polyflow migrate --json`` as its own process over all tenants (process start, main
    tree, registry, run record, template check), and ``polyflow migrate status --json``;
  * one new tenant revision, x1001 (tests/fixtures/fleet_revisions/backfill: add products.search_name,
    backfill lower(name), index it) on the same ``--migrate`` tenants in three modes, the tenants
    put back (drop the column, index and revision; VACUUM) between modes:
      - legacy: the sequential loop this issue replaced (git 30589d2 `fleet.migrate_tenants`, with
        its per-tenant `command.upgrade`), copied below,
      - sequential: this code with ``--concurrency 1`` (records, locks, lease, invalidation),
      - parallel: this code with the default concurrency. x1001 is plain SQL, so both take the
        scripted path (fleet/scripted.py: the SQL rendered once, one psycopg connection per tenant,
        that many tenants in flight on one event loop, leases and records batched); a revision that
        needs Python would take the online path (Alembic per tenant in worker processes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets as pysecrets
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from bench import harness  # noqa: E402
from polyflow.kit.db import PgDsn, quote_ident  # noqa: E402
from polyflow.platform import fleet, migrate, templates  # noqa: E402
from polyflow.platform.localpg import LocalCluster  # noqa: E402
from polyflow.platform.models import DatabaseServer, Tenant  # noqa: E402
from polyflow.platform.runtime import Platform  # noqa: E402
from tests.fixtures.fleet_revisions import BACKFILL  # noqa: E402

out = Console() if sys.stdout.isatty() else Console(width=160)
PROTOTYPE = "pf_bench_prototype"
TARGET_PARALLEL_S = 60.0
TARGET_RATIO = 4.0
TARGET_AT_HEAD_S = 5.0


# -- building the fleet (not timed) ------------------------------------------------------------------
async def build_fleet(platform: Platform, admin: PgDsn, count: int, products: int) -> list[str]:
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as s:
        server = (await s.execute(select(DatabaseServer))).scalar_one()
    template = await templates.ensure_template(server, platform.secrets)
    conn = await asyncpg.connect(**admin.asyncpg_kwargs())
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {PROTOTYPE}")
        await conn.execute(f"CREATE DATABASE {PROTOTYPE} TEMPLATE {quote_ident(template)}")
    finally:
        await conn.close()
    proto = await asyncpg.connect(**admin.with_database(PROTOTYPE).asyncpg_kwargs())
    try:
        await proto.executemany(
            "INSERT INTO products (id, sku, name, unit, sell_price, is_active) "
            "VALUES (gen_random_uuid(), $1, $2, 'KG', $3, true)",
            [(f"SKU-{j:04d}", f"Granule Grade {j}", j * 1000) for j in range(1, products + 1)])
    finally:
        await proto.close()
    conn = await asyncpg.connect(**admin.asyncpg_kwargs())
    try:
        await conn.execute(f"ALTER DATABASE {PROTOTYPE} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
    finally:
        await conn.close()

    subs = [f"pt-{i:04d}" for i in range(1, count + 1)]
    idents = {s: f"t_{s.replace('-', '_')}_{pysecrets.token_hex(3)}" for s in subs}
    passwords = {s: pysecrets.token_urlsafe(18) for s in subs}
    queue: asyncio.Queue = asyncio.Queue()
    for s in subs:
        queue.put_nowait(s)

    async def cloner() -> None:  # CREATE DATABASE cannot run in a transaction: a few connections at once
        c = await asyncpg.connect(**admin.asyncpg_kwargs())
        try:
            while not queue.empty():
                s = queue.get_nowait()
                ident = quote_ident(idents[s])
                await c.execute(f"CREATE ROLE {ident} LOGIN PASSWORD '{passwords[s]}' "
                                "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION")
                await c.execute(f"CREATE DATABASE {ident} TEMPLATE {PROTOTYPE} STRATEGY FILE_COPY OWNER {ident}")
                await c.execute(f"REVOKE ALL ON DATABASE {ident} FROM PUBLIC")
                await c.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {ident} TO {ident}")
                a = await asyncpg.connect(**admin.with_database(idents[s]).asyncpg_kwargs())
                try:
                    await a.execute(f"REASSIGN OWNED BY {templates.TEMPLATE_ROLE} TO {ident}")
                    await a.execute(f"REVOKE ALL ON SCHEMA public FROM {templates.TEMPLATE_ROLE}")
                finally:
                    await a.close()
        finally:
            await c.close()

    await asyncio.gather(*(cloner() for _ in range(4)))
    now = datetime.now(timezone.utc)
    head = migrate.head("tenant")
    async with platform.main_engine.begin() as c:
        await c.execute(insert(Tenant), [
            {"id": uuid.uuid4(), "name": f"PT Bench {s}", "subdomain": s, "status": "active", "plan": "basic",
             "server_id": server.id, "db_name": idents[s], "db_user": idents[s],
             "db_password_enc": platform.secrets.encrypt(passwords[s]), "schema_revision": head,
             "onboarding_step": "active", "activated_at": now, "onboarding_attempts": 1}
            for s in subs])
    return subs


async def put_back(platform: Platform, admin: PgDsn, subs: list[str]) -> None:
    """Undo x1001 on these tenants (not timed): the next mode starts from the same state."""
    async with platform.main_engine.connect() as c:
        rows = (await c.execute(select(Tenant.subdomain, Tenant.db_name).where(Tenant.subdomain.in_(subs)))).all()
    sem = asyncio.Semaphore(6)

    async def one(db: str) -> None:
        async with sem:
            a = await asyncpg.connect(**admin.with_database(db).asyncpg_kwargs())
            try:
                await a.execute("DROP INDEX IF EXISTS ix_products_search_name; "
                                "ALTER TABLE products DROP COLUMN IF EXISTS search_name; "
                                f"UPDATE alembic_version SET version_num = '{migrate.code_head('tenant')}'")
                await a.execute("VACUUM products")
            finally:
                await a.close()

    await asyncio.gather(*(one(db) for _, db in rows))
    async with platform.main_engine.begin() as c:
        from sqlalchemy import update

        await c.execute(update(Tenant).where(Tenant.subdomain.in_(subs))
                        .values(schema_revision=migrate.code_head("tenant"), migrating_until=None))


# -- the loop this issue replaced (git 30589d2), for the baseline ---------------------------------------
async def legacy_loop(platform: Platform, subs: list[str]) -> list[float]:
    """For each tenant: a NullPool engine, `command.upgrade` in one transaction, record the revision."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from polyflow.platform.provisioning import maintenance_engine, tenant_dsn

    def _upgrade(sync_conn, tree, target):  # as migrate._upgrade was: a fresh Config + ScriptDirectory
        cfg = migrate.alembic_config(tree)
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, target)
        return MigrationContext.configure(sync_conn).get_current_revision()

    Session = async_sessionmaker(platform.main_engine, expire_on_commit=False)
    async with Session() as session:
        tenants = (await session.execute(select(Tenant).where(Tenant.subdomain.in_(subs))
                                         .order_by(Tenant.subdomain))).scalars().all()
    times = []
    for tenant in tenants:
        started = time.perf_counter()
        engine = maintenance_engine(tenant_dsn(tenant, platform.secrets))
        try:
            async with engine.begin() as conn:
                current = await migrate.current_revision(conn)
                revision = current if current == migrate.head("tenant") else await conn.run_sync(
                    _upgrade, "tenant", "head")
        finally:
            await engine.dispose()
        async with Session() as session:
            row = await session.get(Tenant, tenant.id)
            row.schema_revision = revision
            await session.commit()
        times.append(time.perf_counter() - started)
    return times


# -- timed parts ---------------------------------------------------------------------------------------
def cli(settings, *args: str, extra: tuple = ()) -> tuple[float, str]:
    """`polyflow ARGS` as its own process: (wall seconds from process start to exit, stdout)."""
    env = harness.settings_env(settings)
    env["POLYFLOW_TENANT_MIGRATIONS_EXTRA"] = os.pathsep.join(str(p) for p in extra)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", "from polyflow.cli import main; main()", *args], env=env,
                          capture_output=True, text=True, cwd=str(harness.ROOT))
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"polyflow {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed, proc.stdout


async def run_mode(platform: Platform, subs: list[str], concurrency: int) -> tuple[float, list[float]]:
    t = time.perf_counter()
    report = await fleet.run(platform, fleet.RunOptions(only=subs, concurrency=concurrency, refresh_templates=False,
                                                        actor="bench"))
    elapsed = time.perf_counter() - t
    if not report.ok or report.count("migrated") != len(subs):
        raise RuntimeError(f"run failed: {report.summary()} {[o.error for o in report.failed][:3]}")
    return elapsed, [o.seconds for o in report.outcomes]


async def main_async(args) -> None:
    results: dict = {}
    with contextlib.ExitStack() as stack:
        cluster, admin = harness.start_postgres(stack, fast=True)
        redis = harness.start_redis(stack)
        settings = harness.bench_settings(admin.with_database(harness.MAIN_DB).url("postgresql"), redis.url,
                                          spare_databases=0)
        await harness.build_main_database(admin, settings)
        platform = Platform(settings)
        try:
            t = time.perf_counter()
            subs = await build_fleet(platform, admin, args.tenants, args.products)
            results["build_s"] = time.perf_counter() - t
        finally:
            await platform.stop()
        if not args.fast:  # the timed part as in production: fsync on
            cluster.stop()
            t = time.perf_counter()
            os.sync()  # the clones were written with fsync off: flush them now, not during the timing
            results["sync_s"] = time.perf_counter() - t
            timed = LocalCluster(cluster.root, cluster.port, fast=False)
            timed.start()
        await harness.admin_exec(admin, "CHECKPOINT")
        fsync = (await _show(admin, "fsync"))
        results["fsync"] = fsync

        # 1. the whole fleet at the head (a first, untimed run builds the warm spares, as in production)
        cli(settings, "migrate", "--json")
        at_head = [cli(settings, "migrate", "--json")[0] for _ in range(3)]
        status = [cli(settings, "migrate", "status", "--json")[0] for _ in range(3)]
        results["at_head"] = (statistics.median(at_head), min(at_head), max(at_head))
        results["status"] = (statistics.median(status), min(status), max(status))

        # 2. one new revision on --migrate tenants, three ways
        chosen = subs[:args.migrate]
        platform = Platform(settings)
        try:
            with migrate.extra_locations_set("tenant", [BACKFILL]):
                t = time.perf_counter()
                legacy = await legacy_loop(platform, chosen)
                results["legacy"] = (time.perf_counter() - t, legacy, 1)
                await put_back(platform, admin, chosen)
                seq_s, seq = await run_mode(platform, chosen, 1)
                results["sequential"] = (seq_s, seq, 1)
                await put_back(platform, admin, chosen)
                concurrency = args.concurrency or fleet.default_concurrency(settings)
                par_s, par = await run_mode(platform, chosen, concurrency)
                results["parallel"] = (par_s, par, concurrency)
                # The whole command as an operator runs it: process start, main tree, plan, records,
                # the worker processes, the template rebuild for the new head.
                await put_back(platform, admin, chosen)
                wall, stdout = cli(settings, "migrate", "--json", "--only", ",".join(chosen), extra=(BACKFILL,))
                doc = json.loads(stdout)
                if doc["migrated"] != len(chosen):
                    raise RuntimeError(f"CLI run: {doc['migrated']} migrated, {doc['failed']} failed")
                results["cli"] = (wall, [t["seconds"] for t in doc["tenants_attempted"]], doc["concurrency"])
                results["scan"] = []
                for n in args.scan:  # other worker counts, for the table only
                    await put_back(platform, admin, chosen)
                    wall, per = await run_mode(platform, chosen, n)
                    results["scan"].append((f"this code, {n} workers", (wall, per, n)))
        finally:
            await platform.stop()
    report(args, results)


async def _show(admin: PgDsn, name: str) -> str:
    conn = await asyncpg.connect(**admin.asyncpg_kwargs())
    try:
        return await conn.fetchval(f"SHOW {name}")
    finally:
        await conn.close()


def report(args, r: dict) -> None:
    out.print(f"Machine: nproc={os.cpu_count()}; PostgreSQL fsync={r['fsync']} for the timed part "
              f"(the fleet was built with fsync off); Redis invalidation on; fleet of {args.tenants} tenants, "
              f"{args.products} products each, built in {r['build_s']:.0f} s (clones of a prototype)", highlight=False)
    t = Table(title=f"x1001 (add column + backfill + index) on {args.migrate} tenants "
                    f"(the other {args.tenants - args.migrate} at the head)")
    for col in ("mode", "workers", "wall s", "tenants/s", "per tenant p50 ms", "p95 ms"):
        t.add_column(col, justify="left" if col == "mode" else "right")
    rows = [(label, r[name]) for name, label in (
        ("legacy", "legacy loop (before this issue)"), ("sequential", "this code, --concurrency 1"),
        ("parallel", "this code, parallel (default workers)"),
        ("cli", "`polyflow migrate --only ...`, whole command"))] + r.get("scan", [])
    for label, (wall, per, workers) in rows:
        s = sorted(per)
        t.add_row(label, str(workers), f"{wall:.1f}", f"{len(s) / wall:.1f}", f"{statistics.median(s) * 1000:.0f}",
                  f"{harness.percentile(s, 95) * 1000:.0f}")
    out.print(t)
    h = Table(title=f"{args.tenants} tenants already at the head (`polyflow migrate --json` as its own process, "
                    "median of 3)")
    for col in ("command", "median s", "min s", "max s"):
        h.add_column(col, justify="left" if col == "command" else "right")
    h.add_row("polyflow migrate --json", *(f"{v:.2f}" for v in r["at_head"]))
    h.add_row("polyflow migrate status --json", *(f"{v:.2f}" for v in r["status"]))
    out.print(h)
    par = r["parallel"][0]
    summary = Table(title="Targets (ratios from this run)")
    for col in ("measure", "target", "result", ""):
        summary.add_column(col)
    summary.add_row(f"{args.migrate} tenants, parallel", f"< {TARGET_PARALLEL_S:.0f} s", f"{par:.1f} s",
                    "met" if par < TARGET_PARALLEL_S else "NOT met")
    for name, label in (("legacy", "legacy loop / parallel"), ("sequential", "--concurrency 1 / parallel")):
        ratio = r[name][0] / par
        summary.add_row(label, f">= {TARGET_RATIO:.0f}x", f"{ratio:.1f}x", "met" if ratio >= TARGET_RATIO else "NOT met")
    summary.add_row(f"{args.tenants} at head, whole command", f"< {TARGET_AT_HEAD_S:.0f} s", f"{r['at_head'][0]:.2f} s",
                    "met" if r["at_head"][0] < TARGET_AT_HEAD_S else "NOT met")
    out.print(summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000, help="tenants in the fleet (default 1000)")
    parser.add_argument("--migrate", type=int, default=500, help="tenants migrated in each mode (default 500)")
    parser.add_argument("--products", type=int, default=200, help="products per tenant (default 200)")
    parser.add_argument("--concurrency", type=int, default=None, help="workers of the parallel mode (default: "
                                                                      "fleet.default_concurrency)")
    parser.add_argument("--scan", type=lambda v: [int(x) for x in v.split(",") if x], default=[],
                        help="also time these worker counts, e.g. 2,8 (table only)")
    parser.add_argument("--fast", action="store_true", help="keep fsync off for the timed part too")
    args = parser.parse_args()
    if args.migrate > args.tenants:
        parser.error("--migrate cannot exceed --tenants")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
