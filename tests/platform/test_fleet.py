"""Fleet migrations: parallel, one transaction per tenant, locked, recorded, resumable, and served
honestly while they run.

The tenant revisions used here (tests/fixtures/fleet_revisions) exist only for tests: x1001 adds
products.search_name (column + backfill + index), x1002 makes it unique, which fails exactly on a
tenant holding two products whose names differ only in case. `polyflow migrate` runs as a real
process (with POLYFLOW_TENANT_MIGRATIONS_EXTRA) where the test is about the command; the rest calls
`fleet.run` in-process with the extra revisions set for the duration of the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import asyncpg
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from polyflow.cli import app as cli_app
from polyflow.platform import fleet, jobs, migrate, provisioning
from polyflow.platform.models import MigrationRun, MigrationRunTenant, Tenant
from polyflow.platform.tenancy.middleware import refusal
from tests.fixtures.fleet_revisions import BACKFILL, STRICT

HEAD = migrate.code_head("tenant")


# --- helpers -------------------------------------------------------------------------------------


def _env(settings, *extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYFLOW_")}
    env.update({
        "POLYFLOW_DATABASE_URL": settings.database_url, "POLYFLOW_SECRET_KEY": settings.secret_key.get_secret_value(),
        "POLYFLOW_ENV": "test", "POLYFLOW_REDIS_URL": settings.redis_url,
        "POLYFLOW_REDIS_NAMESPACE": settings.redis_namespace, "COLUMNS": "200",
        "POLYFLOW_TENANT_MIGRATIONS_EXTRA": os.pathsep.join(str(p) for p in extra),
    })
    return env


_POLYFLOW = [sys.executable, "-c", "from polyflow.cli import main; main()"]


def polyflow(settings, *args: str, extra=(BACKFILL,), timeout: float = 180) -> subprocess.CompletedProcess:
    """`polyflow ARGS` as its own process (the way an operator or CI runs it)."""
    return subprocess.run([*_POLYFLOW, *args], env=_env(settings, *extra), capture_output=True, text=True,
                          timeout=timeout)


async def make_tenants(platform, prefix: str, count: int) -> list[str]:
    """Tenants created by the real onboarding (cloned from the template, four at a time), each with
    two products."""
    subs = [f"{prefix}{i:02d}" for i in range(1, count + 1)]
    sem = asyncio.Semaphore(4)

    async def one(sub: str) -> None:
        async with sem:
            await provisioning.create_tenant(platform, name=sub.upper(), subdomain=sub)
            await tenant_exec(platform, sub, "INSERT INTO products (id, sku, name, unit, is_active) VALUES "
                                             "(gen_random_uuid(), 'P1', 'Granule HD', 'KG', true), "
                                             "(gen_random_uuid(), 'P2', 'Film roll', 'ROLL', true)")

    await asyncio.gather(*(one(sub) for sub in subs))
    return subs


async def tenant_row(platform, sub: str) -> Tenant:
    async with AsyncSession(platform.main_engine) as s:
        return (await s.execute(select(Tenant).where(Tenant.subdomain == sub))).scalar_one()


async def tenant_conn(platform, sub: str) -> asyncpg.Connection:
    """A connection to a tenant database as its own role."""
    t = await tenant_row(platform, sub)
    return await asyncpg.connect(**provisioning.tenant_dsn(t, platform.secrets).asyncpg_kwargs())


async def tenant_exec(platform, sub: str, sql: str):
    conn = await tenant_conn(platform, sub)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def make_case_duplicate(platform, sub: str) -> None:
    """The data condition x1002 cannot live with: two names equal but for case."""
    await tenant_exec(platform, sub, "INSERT INTO products (id, sku, name, unit, is_active) VALUES "
                                     "(gen_random_uuid(), 'P3', 'GRANULE HD', 'KG', true)")


async def revisions(platform) -> dict[str, str | None]:
    async with platform.main_engine.connect() as conn:
        return dict((await conn.execute(select(Tenant.subdomain, Tenant.schema_revision))).all())


async def run_rows(platform, run_id: int) -> dict[str, tuple]:
    async with platform.main_engine.connect() as conn:
        rows = (await conn.execute(select(
            MigrationRunTenant.subdomain, MigrationRunTenant.status, MigrationRunTenant.from_revision,
            MigrationRunTenant.to_revision, MigrationRunTenant.error, MigrationRunTenant.seconds,
        ).where(MigrationRunTenant.run_id == run_id))).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def report_of(result: subprocess.CompletedProcess) -> dict:
    assert result.stdout.strip().startswith("{"), (result.returncode, result.stdout, result.stderr)
    return json.loads(result.stdout)


# --- the acceptance tests ------------------------------------------------------------------------


async def test_thirty_tenants_one_fails_on_its_data_then_retry_failed_completes(platform, settings, pg_admin):
    subs = await make_tenants(platform, "pt-f", 30)
    bad = "pt-f17"
    await make_case_duplicate(platform, bad)

    result = await asyncio.to_thread(polyflow, settings, "migrate", "--json", "--concurrency", "4",
                                     extra=(BACKFILL, STRICT))

    assert result.returncode == 1, result.stderr
    report = report_of(result)
    assert (report["target"], report["tenants"], report["migrated"], report["failed"]) == ("x1002", 30, 29, 1)
    assert report["concurrency"] == 4
    [failure] = [t for t in report["tenants_attempted"] if t["status"] == "failed"]
    assert failure["subdomain"] == bad and "uq_products_search_name" in failure["error"]
    assert "duplicated" in failure["error"]
    revs = await revisions(platform)
    assert {s: r for s, r in revs.items() if r != "x1002"} == {bad: HEAD}
    # The failing tenant is exactly at its old revision, with its data, no trace of x1001's column.
    assert [r["version_num"] for r in await tenant_exec(platform, bad, "SELECT version_num FROM alembic_version")] == [HEAD]
    assert len(await tenant_exec(platform, bad, "SELECT 1 FROM products")) == 3
    assert not await tenant_exec(platform, bad, "SELECT 1 FROM information_schema.columns "
                                                "WHERE table_name = 'products' AND column_name = 'search_name'")
    # Migrated tenants really were: column backfilled, index there.
    assert [r["search_name"] for r in await tenant_exec(platform, "pt-f01", "SELECT search_name FROM products "
                                                                           "ORDER BY sku")] == ["granule hd", "film roll"]
    # The records: one row per tenant, the error kept.
    rows = await run_rows(platform, report["run_id"])
    assert len(rows) == 30
    assert sorted(s for s, r in rows.items() if r[0] == "migrated") == sorted(set(subs) - {bad})
    assert rows[bad][0] == "failed" and "duplicated" in rows[bad][3] and rows[bad][1] == rows[bad][2] == HEAD
    assert all(r[4] is not None and r[4] >= 0 for r in rows.values())
    async with platform.main_engine.connect() as conn:
        run = (await conn.execute(select(MigrationRun.status, MigrationRun.target_revision)
                                  .where(MigrationRun.id == report["run_id"]))).one()
        assert tuple(run) == ("failed", "x1002")
        # The onboarding template follows the new head.
        assert await conn.scalar(text("SELECT count(*) FROM pg_database WHERE datname = 'polyflow_tpl_x1002'")) == 1
    # `status` names it with its error, from the main database.
    status = report_of(await asyncio.to_thread(polyflow, settings, "migrate", "status", "--json",
                                               extra=(BACKFILL, STRICT)))
    assert [f["subdomain"] for f in status["failed"]] == [bad] and "duplicated" in status["failed"][0]["error"]
    assert [b["subdomain"] for b in status["behind"]] == [bad]
    assert {r["revision"]: r["tenants"] for r in status["revisions"]} == {"x1002": 29, HEAD: 1}

    # Fix the data, resume: only the failed tenant is touched; the 29 are skipped without a connection.
    await tenant_exec(platform, bad, "UPDATE products SET name = 'Granule HD (drum)' WHERE sku = 'P3'")
    result = await asyncio.to_thread(polyflow, settings, "migrate", "--retry-failed", "--json",
                                     extra=(BACKFILL, STRICT))
    assert result.returncode == 0, result.stderr
    report = report_of(result)
    assert (report["at_target"], report["migrated"], report["failed"]) == (29, 1, 0)
    assert [t["subdomain"] for t in report["tenants_attempted"]] == [bad]
    assert set((await revisions(platform)).values()) == {"x1002"}
    status = report_of(await asyncio.to_thread(polyflow, settings, "migrate", "status", "--json",
                                               extra=(BACKFILL, STRICT)))
    assert status["failed"] == [] and status["behind"] == [] and status["at_head"] == 30


async def test_two_processes_started_together_migrate_each_tenant_exactly_once(platform, settings, pg_admin):
    subs = await make_tenants(platform, "pt-two", 12)
    # Hold every tenant's products table until both runs have planned: both see all 12 tenants behind
    # and really compete for them (the per-tenant advisory lock decides), however the processes start.
    holders = []
    for sub in subs:
        conn = await asyncpg.connect(**pg_admin.with_database((await tenant_row(platform, sub)).db_name).asyncpg_kwargs())
        await conn.execute("BEGIN; LOCK TABLE products IN ACCESS SHARE MODE")
        holders.append(conn)
    cmd = [*_POLYFLOW, "migrate", "--json", "--concurrency", "3"]
    env = _env(settings, BACKFILL)
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        async with platform.main_engine.connect() as conn:
            while (await conn.scalar(select(text("count(*)")).select_from(MigrationRunTenant))) < 24:
                assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
                await asyncio.sleep(0.05)
                await conn.rollback()
    finally:
        for conn in holders:
            await conn.close()  # ends the transactions: the migrations go on
    outputs = [await asyncio.to_thread(p.communicate, timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outputs]
    run_ids = [json.loads(out)["run_id"] for out, _ in outputs]

    migrated: dict[str, int] = {}
    for run_id in run_ids:
        rows = await run_rows(platform, run_id)
        assert sorted(rows) == subs  # both runs planned every tenant...
        for sub, (status, *_rest) in rows.items():
            assert status in ("migrated", "skipped"), (sub, status)
            migrated[sub] = migrated.get(sub, 0) + (status == "migrated")
    assert migrated == {sub: 1 for sub in subs}  # ...and each was migrated exactly once across both runs
    assert set((await revisions(platform)).values()) == {"x1001"}
    for sub in subs[:3]:  # the backfill ran once: values in place
        assert [r["search_name"] for r in await tenant_exec(platform, sub, "SELECT search_name FROM products "
                                                                           "ORDER BY sku")] == ["granule hd", "film roll"]


async def test_canary_failure_stops_the_rollout(platform, settings):
    subs = await make_tenants(platform, "pt-c", 6)
    await make_case_duplicate(platform, "pt-c01")
    with migrate.extra_locations_set("tenant", [BACKFILL, STRICT]):  # the CLI, in this process
        result = await asyncio.to_thread(CliRunner().invoke, cli_app, ["migrate", "--canary", "2", "--json"],
                                         env=_env(settings))
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "halted" and "canary" in report["halt_reason"] and "pt-c01" in report["halt_reason"]
    assert sorted((o["subdomain"], o["status"]) for o in report["tenants_attempted"]) == [
        ("pt-c01", "failed"), ("pt-c02", "migrated")]
    assert report["left_behind_tenants"] == subs[2:]
    revs = await revisions(platform)
    assert revs["pt-c02"] == "x1002" and all(revs[s] == HEAD for s in subs if s != "pt-c02")
    rows = await run_rows(platform, report["run_id"])
    assert {s: r[0] for s, r in rows.items()} == {"pt-c01": "failed", "pt-c02": "migrated",
                                                   **{s: "left_behind" for s in subs[2:]}}

    # Named canaries that pass: the rollout goes on to everyone else (the bad tenant fails on its own).
    with migrate.extra_locations_set("tenant", [BACKFILL, STRICT]):
        report = await fleet.run(platform, fleet.RunOptions(canary=["pt-c05", "pt-c06"], concurrency=2,
                                                            refresh_templates=False))
    assert report.halt_reason is None and report.left_behind == []
    assert {o.subdomain: o.status for o in report.outcomes} == {
        "pt-c01": "failed", "pt-c03": "migrated", "pt-c04": "migrated", "pt-c05": "migrated", "pt-c06": "migrated"}
    assert [o.subdomain for o in report.outcomes[:2]] in (["pt-c05", "pt-c06"], ["pt-c06", "pt-c05"])


async def test_max_failures_halts_after_k_failures(platform, settings):
    subs = await make_tenants(platform, "pt-m", 8)
    for sub in ("pt-m02", "pt-m04", "pt-m06"):
        await make_case_duplicate(platform, sub)
    with migrate.extra_locations_set("tenant", [BACKFILL, STRICT]):
        report = await fleet.run(platform, fleet.RunOptions(max_failures=2, concurrency=1, refresh_templates=False))
    # One at a time, in subdomain order: m01 ok, m02 fails, m03 ok, m04 fails -> halt; nothing else starts.
    assert [(o.subdomain, o.status) for o in report.outcomes] == [
        ("pt-m01", "migrated"), ("pt-m02", "failed"), ("pt-m03", "migrated"), ("pt-m04", "failed")]
    assert report.status == "halted" and "--max-failures 2" in report.halt_reason
    assert report.left_behind == subs[4:]
    async with platform.main_engine.connect() as conn:
        run = (await conn.execute(select(MigrationRun.status, MigrationRun.halt_reason, MigrationRun.summary)
                                  .where(MigrationRun.id == report.run_id))).one()
    assert run.status == "halted" and run.summary["left_behind"] == 4 and run.summary["failed"] == 2
    revs = await revisions(platform)
    assert [s for s in subs if revs[s] == "x1002"] == ["pt-m01", "pt-m03"]

    # The same limit with worker processes: once K failures are in, no new tenant starts.
    with migrate.extra_locations_set("tenant", [BACKFILL, STRICT]):
        report = await fleet.run(platform, fleet.RunOptions(max_failures=1, concurrency=2, refresh_templates=False))
    assert report.status == "halted" and len(report.failed) >= 1
    assert len(report.outcomes) + len(report.left_behind) == 6  # the two migrated above are at the head


async def test_status_answers_from_the_main_database_alone(platform, settings, pg_admin):
    subs = await make_tenants(platform, "pt-s", 3)
    async with platform.main_engine.begin() as conn:  # one tenant recorded behind the code
        await conn.execute(update(Tenant).where(Tenant.subdomain == "pt-s02").values(schema_revision="0001"))
    dbs = [(await tenant_row(platform, s)).db_name for s in subs]
    admin = await asyncpg.connect(**pg_admin.asyncpg_kwargs())
    try:
        # Tenant databases unreachable: a status that tried to connect would fail or hang.
        for db in dbs:
            await admin.execute(f'ALTER DATABASE "{db}" WITH ALLOW_CONNECTIONS false')
        result = await asyncio.to_thread(
            CliRunner().invoke, cli_app, ["migrate", "status", "--json"], env=_env(settings))
        assert result.exit_code == 0, (result.output, result.exception)
        status = json.loads(result.stdout)
        assert status["tenants"] == 3 and status["at_head"] == 2 and status["target"] == HEAD
        assert status["behind"] == [{"subdomain": "pt-s02", "revision": "0001", "status": "active"}]
        assert {r["revision"]: r["state"] for r in status["revisions"]} == {HEAD: "head", "0001": "behind"}
        assert await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = ANY($1::text[])", dbs) == 0
        text_result = await asyncio.to_thread(
            CliRunner().invoke, cli_app, ["migrate", "status"], env=_env(settings))
        assert text_result.exit_code == 0 and "behind (1): pt-s02" in text_result.stdout
    finally:
        for db in dbs:
            await admin.execute(f'ALTER DATABASE "{db}" WITH ALLOW_CONNECTIONS true')
        await admin.close()


async def test_request_mid_migration_gets_503_with_retry_after_never_500(platform, settings, live, pg_admin):
    await make_tenants(platform, "pt-r", 2)
    busy, calm = "pt-r01", "pt-r02"
    # A long transaction holds products in busy's database: the migration's ALTER TABLE must wait,
    # so the migration is "in progress" for as long as the test wants.
    holder = await asyncpg.connect(**pg_admin.with_database((await tenant_row(platform, busy)).db_name).asyncpg_kwargs())
    await holder.execute("BEGIN; LOCK TABLE products IN ACCESS SHARE MODE")
    proc = subprocess.Popen([*_POLYFLOW, "migrate", "--json", "--only", busy], env=_env(settings, BACKFILL),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[int] = []
    try:
        async with live.tenant_client(busy) as client, live.tenant_client(calm) as other:
            deadline = time.monotonic() + 60
            refused = None
            while time.monotonic() < deadline:
                r = await client.get("/api/v1/products")
                seen.append(r.status_code)
                if r.status_code == 503:
                    refused = r
                    break
                await asyncio.sleep(0.02)
            assert refused is not None, f"never refused during the migration: {seen[-5:]}"
            assert refused.headers["Retry-After"] == "5" and "being upgraded" in refused.json()["detail"]
            for _ in range(10):  # stays refused while the migration holds it; other tenants are served
                r = await client.get("/api/v1/products")
                seen.append(r.status_code)
                assert r.status_code == 503 and r.headers.get("Retry-After")
                assert (await other.get("/api/v1/products")).status_code == 200
            await holder.execute("COMMIT")  # let the migration finish
            out, err = await asyncio.to_thread(proc.communicate, timeout=120)
            assert proc.returncode == 0, err
            assert json.loads(out)["migrated"] == 1
            deadline = time.monotonic() + 10
            while (r := await client.get("/api/v1/products")).status_code != 200 and time.monotonic() < deadline:
                seen.append(r.status_code)
                await asyncio.sleep(0.02)
            assert r.status_code == 200  # x1001 is newer than this server's code: a rolling deploy, served
    finally:
        if proc.poll() is None:
            proc.kill()
        await holder.close()
    assert 500 not in seen and set(seen) <= {200, 503}
    assert (await revisions(platform))[busy] == "x1001"


async def test_tenant_behind_the_code_is_refused_as_upgrading_others_are_served(platform, live):
    await make_tenants(platform, "pt-b", 2)

    async def set_revision(sub: str, revision: str) -> None:
        t = await tenant_row(platform, sub)
        async with platform.main_engine.begin() as conn:
            await conn.execute(update(Tenant).where(Tenant.id == t.id).values(schema_revision=revision))
        await platform.tenant_changed(sub, tenant_id=t.id)

    await set_revision("pt-b01", "0001")  # behind this code's head
    async with live.tenant_client("pt-b01") as old, live.tenant_client("pt-b02") as new:
        r = await old.get("/api/v1/products")
        assert r.status_code == 503 and r.headers["Retry-After"] and "upgrading" in r.json()["detail"]
        assert (await new.get("/api/v1/products")).status_code == 200
        await set_revision("pt-b01", "zz99")  # ahead: written by newer code (rolling deploy): served
        assert (await old.get("/api/v1/products")).status_code == 200


async def test_a_dead_migrators_lease_expires_by_itself(platform, live):
    """A migrator killed mid-run cannot leave its tenant refused: the lease ends with the clock."""
    await make_tenants(platform, "pt-l", 1)
    t = await tenant_row(platform, "pt-l01")
    async with platform.main_engine.begin() as conn:
        await conn.execute(text("UPDATE tenants SET migrating_until = now() + interval '1.5 seconds' WHERE id = :id"),
                           {"id": t.id})
    await platform.tenant_changed("pt-l01", tenant_id=t.id)  # ...and nobody ever clears it
    async with live.tenant_client("pt-l01") as client:
        assert (await client.get("/api/v1/products")).status_code == 503
        await asyncio.sleep(1.6)
        assert (await client.get("/api/v1/products")).status_code == 200  # same cached route, later clock
    route = await platform.routes.get("sub:pt-l01")
    assert refusal(route, now=route.migrating_until - 1)[0] == 503 and refusal(route, now=route.migrating_until) is None


# --- selection, verify, dry run, jobs ------------------------------------------------------------


async def test_every_tenant_with_a_schema_is_migrated_whatever_its_status(platform):
    subs = await make_tenants(platform, "pt-w", 6)
    shapes = {  # status, onboarding step
        "pt-w01": ("active", "active"), "pt-w02": ("suspended", "active"),
        "pt-w03": ("provisioning", "seeded"), "pt-w04": ("failed", "verified"),
        "pt-w05": ("provisioning", "database"),  # not migrated yet: its onboarding migrates it to the head
        "pt-w06": ("archived", "active"),  # archived: no database
    }
    async with platform.main_engine.begin() as conn:
        for sub, (status, step) in shapes.items():
            await conn.execute(update(Tenant).where(Tenant.subdomain == sub).values(status=status, onboarding_step=step))
    with migrate.extra_locations_set("tenant", [BACKFILL]):
        report = await fleet.run(platform, fleet.RunOptions(concurrency=1, refresh_templates=False))
    assert report.ok and report.tenants == 4
    assert sorted(o.subdomain for o in report.outcomes if o.status == "migrated") == subs[:4]
    revs = await revisions(platform)
    assert [revs[s] for s in subs] == ["x1001"] * 4 + [HEAD, HEAD]


async def test_verify_repairs_a_registry_that_was_wrong(platform):
    await make_tenants(platform, "pt-v", 3)
    async with platform.main_engine.begin() as conn:
        await conn.execute(update(Tenant).where(Tenant.subdomain == "pt-v01").values(schema_revision="0001"))
        await conn.execute(update(Tenant).where(Tenant.subdomain == "pt-v02").values(schema_revision=None))
    report = await fleet.run(platform, fleet.RunOptions(verify=True, concurrency=1, refresh_templates=False))
    assert sorted(report.repaired) == [("pt-v01", "0001", HEAD), ("pt-v02", None, HEAD)]
    assert report.ok and report.outcomes == [] and report.at_target == 3  # repaired, so nothing to migrate
    assert set((await revisions(platform)).values()) == {HEAD}


async def test_without_verify_a_wrong_registry_heals_on_contact(platform):
    """The registry said behind but the database was at the head: one connection, no Alembic."""
    await make_tenants(platform, "pt-h", 1)
    async with platform.main_engine.begin() as conn:
        await conn.execute(update(Tenant).where(Tenant.subdomain == "pt-h01").values(schema_revision="0001"))
    report = await fleet.run(platform, fleet.RunOptions(concurrency=1, refresh_templates=False))
    assert [(o.subdomain, o.status, o.to_revision) for o in report.outcomes] == [("pt-h01", "skipped", HEAD)]
    assert (await revisions(platform))["pt-h01"] == HEAD


def test_dry_run_and_sql_change_nothing(settings, make_tenant_sync):
    make_tenant_sync("pt-d01")
    make_tenant_sync("pt-d02")
    runner = CliRunner()
    with migrate.extra_locations_set("tenant", [BACKFILL, STRICT]):
        dry = runner.invoke(cli_app, ["migrate", "--dry-run", "--json"], env=_env(settings))
        sql = runner.invoke(cli_app, ["migrate", "--sql"], env=_env(settings))
        text_dry = runner.invoke(cli_app, ["migrate", "--dry-run"], env=_env(settings))
    assert dry.exit_code == 0, dry.output
    plan = json.loads(dry.stdout)
    assert plan["target"] == "x1002"
    assert plan["pending"] == [{"subdomain": s, "from": HEAD, "revisions": ["x1001", "x1002"]}
                               for s in ("pt-d01", "pt-d02")]
    assert sql.exit_code == 0, sql.output
    assert "ALTER TABLE products ADD COLUMN search_name" in sql.stdout and "CREATE UNIQUE INDEX" in sql.stdout
    assert "2 tenant(s) at " + HEAD in sql.stdout
    assert text_dry.exit_code == 0 and "x1001 x1002" in text_dry.stdout

    async def check():
        from polyflow.platform.runtime import Platform

        p = Platform(settings)
        try:
            assert set((await revisions(p)).values()) == {HEAD}
            async with p.main_engine.connect() as conn:
                assert await conn.scalar(select(MigrationRun.id).limit(1)) is None  # no run recorded
        finally:
            await p.stop()

    asyncio.run(check())


async def test_via_jobs_one_durable_job_per_tenant(platform, settings):
    subs = await make_tenants(platform, "pt-j", 3)
    with migrate.extra_locations_set("tenant", [BACKFILL]):
        worker = asyncio.create_task(jobs.run_worker(settings, concurrency=2, queues=["migrations"],
                                                     install_signal_handlers=False, graceful_timeout=5))
        try:
            report = await asyncio.wait_for(
                fleet.run(platform, fleet.RunOptions(via_jobs=True, wait=True, refresh_templates=False)), 60)
        finally:
            await jobs.stop_worker(worker)
    assert report.ok and sorted(o.subdomain for o in report.outcomes if o.status == "migrated") == subs
    assert set((await revisions(platform)).values()) == {"x1001"}
    async with platform.main_engine.connect() as conn:
        done = (await conn.execute(text(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'fleet.migrate_tenant' AND status = 'succeeded'"
        ))).scalar()
        workers = (await conn.execute(select(MigrationRunTenant.worker)
                                      .where(MigrationRunTenant.run_id == report.run_id))).scalars().all()
        run_status = (await conn.execute(select(MigrationRun.status).where(MigrationRun.id == report.run_id))).scalar()
    assert done == 3 and all(w.startswith("job ") for w in workers) and run_status == "completed"


async def test_tenants_at_head_are_skipped_without_a_connection(platform, pg_admin):
    subs = await make_tenants(platform, "pt-k", 3)
    dbs = [(await tenant_row(platform, s)).db_name for s in subs]
    admin = await asyncpg.connect(**pg_admin.asyncpg_kwargs())
    try:
        for db in dbs:
            await admin.execute(f'ALTER DATABASE "{db}" WITH ALLOW_CONNECTIONS false')
        report = await fleet.run(platform, fleet.RunOptions(refresh_templates=False))
    finally:
        for db in dbs:
            await admin.execute(f'ALTER DATABASE "{db}" WITH ALLOW_CONNECTIONS true')
        await admin.close()
    assert report.ok and report.at_target == 3 and report.outcomes == []


def test_route_carries_the_lease_through_the_cache_and_reads_older_entries():
    from dataclasses import replace
    import uuid

    from polyflow.platform.tenancy.route import TenantRoute

    route = TenantRoute(uuid.uuid4(), "pt-a", "PT A", "active", "127.0.0.1", 5432, "t_a", "t_a", "enc",
                        schema_revision=HEAD, entitlements=(("catalog", None),), migrating_until=1_900_000_000.5)
    assert TenantRoute.from_json(route.to_json()) == route
    older = json.loads(route.to_json())
    del older["migrating_until"]  # cached by a version without the field: not being migrated
    assert TenantRoute.from_json(json.dumps(older)) == replace(route, migrating_until=None)
    assert refusal(replace(route, migrating_until=None)) is None
    assert refusal(route, now=1_900_000_000.0)[0] == 503


# --- the scripted path and runs whose process is gone ------------------------------------------------


async def _set_database_revision(platform, sub: str, revision: str) -> None:
    """Move a tenant's database (as its own role) to an older revision with Alembic's downgrades."""
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    t = await tenant_row(platform, sub)
    engine = create_async_engine(provisioning.tenant_dsn(t, platform.secrets).url(), poolclass=NullPool)
    try:
        assert await migrate.upgrade_or_downgrade(engine, "tenant", revision) == revision
    finally:
        await engine.dispose()


_SCHEMA = ("SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
           "WHERE table_schema = 'public' UNION ALL "
           "SELECT tablename, indexname, indexdef, '' FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2")


async def test_each_tenant_gets_the_script_of_its_own_revision_and_python_revisions_go_online(platform):
    subs = await make_tenants(platform, "pt-p", 4)
    await _set_database_revision(platform, "pt-p02", "0019")  # registry follows below
    await _set_database_revision(platform, "pt-p04", "0012")  # 0013 asks the database: no script
    async with platform.main_engine.begin() as conn:
        for sub, rev in (("pt-p01", "0019"), ("pt-p02", "0019"), ("pt-p04", "0012")):
            # pt-p01's registry is wrong (its database is at the head): its database's revision decides.
            await conn.execute(update(Tenant).where(Tenant.subdomain == sub).values(schema_revision=rev))
    with migrate.extra_locations_set("tenant", [BACKFILL]):
        assert migrate.upgrade_script("tenant", "0012", "x1001") is None
        report = await fleet.run(platform, fleet.RunOptions(concurrency=2, refresh_templates=False))
    assert report.ok, [o.error for o in report.failed]
    got = {o.subdomain: (o.status, o.path, o.from_revision) for o in report.outcomes}
    assert got == {"pt-p01": ("migrated", "scripted", HEAD), "pt-p02": ("migrated", "scripted", "0019"),
                   "pt-p03": ("migrated", "scripted", HEAD), "pt-p04": ("migrated", "online", "0012")}
    assert set((await revisions(platform)).values()) == {"x1001"}
    # Whatever the way, the same schema: the scripts and Alembic online leave identical databases.
    schemas = [await tenant_exec(platform, sub, _SCHEMA) for sub in subs]
    assert all([tuple(r) for r in s] == [tuple(r) for r in schemas[0]] for s in schemas[1:])
    for sub in subs:
        assert [r[0] for r in await tenant_exec(platform, sub, "SELECT version_num FROM alembic_version")] == ["x1001"]
        assert [r["search_name"] for r in await tenant_exec(platform, sub, "SELECT search_name FROM products "
                                                                           "ORDER BY sku")] == ["granule hd", "film roll"]
        # Objects the script created belong to the tenant's role, like everything else in its database.
        owner = await tenant_exec(platform, sub, "SELECT pg_get_userbyid(relowner) = current_user FROM pg_class "
                                                 "WHERE relname = 'ix_products_search_name'")
        assert owner[0][0] is True
    rows = await run_rows(platform, report.run_id)
    assert {s: r[0] for s, r in rows.items()} == {s: "migrated" for s in subs}
    async with platform.main_engine.connect() as conn:
        assert await conn.scalar(select(text("count(*)")).select_from(Tenant)
                                 .where(Tenant.migrating_until.is_not(None))) == 0  # every lease released


async def test_a_run_whose_process_is_gone_is_aborted_and_its_leases_released(platform, settings):
    import socket

    await make_tenants(platform, "pt-z", 3)
    ids = {sub: (await tenant_row(platform, sub)).id for sub in ("pt-z01", "pt-z02", "pt-z03")}
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that was this host's and is no more
    live = subprocess.Popen(["sleep", "60"])
    here = socket.gethostname()
    try:
        async with platform.main_engine.begin() as conn:
            async def add_run(host, pid, heartbeat_age: float, sub: str, row_status: str) -> int:
                run_id = (await conn.execute(text(
                    "INSERT INTO migration_runs (status, target_revision, actor, options, summary, runner_host, "
                    "runner_pid, heartbeat_at) VALUES ('running', 'x1001', 'test', '{}', '{}', :host, :pid, "
                    "now() - make_interval(secs => :age)) RETURNING id"),
                    {"host": host, "pid": pid, "age": heartbeat_age})).scalar_one()
                await conn.execute(text(
                    "INSERT INTO migration_run_tenants (run_id, tenant_id, subdomain, status) "
                    "VALUES (:run, :tid, :sub, :status)"), {"run": run_id, "tid": ids[sub], "sub": sub,
                                                            "status": row_status})
                await conn.execute(text("UPDATE tenants SET migrating_until = now() + interval '60 seconds' "
                                        "WHERE id = :tid"), {"tid": ids[sub]})
                return run_id

            elsewhere = await add_run("another-host", 4242, 600, "pt-z01", "running")  # heartbeat 10 min old
            dead = await add_run(here, gone.pid, 1, "pt-z02", "pending")  # fresh heartbeat, dead pid
            alive_run = await add_run(here, live.pid, 1, "pt-z03", "running")  # alive: left alone
        state = await fleet.status(platform)
        async with platform.main_engine.connect() as conn:
            runs = dict((await conn.execute(select(MigrationRun.id, MigrationRun.status)
                                            .where(MigrationRun.id.in_([elsewhere, dead, alive_run])))).all())
            reasons = dict((await conn.execute(select(MigrationRun.id, MigrationRun.halt_reason)
                                               .where(MigrationRun.id.in_([elsewhere, dead])))).all())
        assert runs == {elsewhere: "aborted", dead: "aborted", alive_run: "running"}
        assert "another-host:4242" in reasons[elsewhere] and f"{here}:{gone.pid}" in reasons[dead]
        assert state["last_run"]["id"] == alive_run and state["last_run"]["status"] == "running"
        # The dead runs' leases are gone (requests are served again); the live run keeps its own.
        assert [m["subdomain"] for m in state["migrating"]] == ["pt-z03"]
        rows = {**await run_rows(platform, elsewhere), **await run_rows(platform, dead)}
        assert rows["pt-z01"][0] == "failed" and "aborted" in rows["pt-z01"][3]
        assert rows["pt-z02"][0] == "left_behind"
    finally:
        live.kill()
        live.wait()
