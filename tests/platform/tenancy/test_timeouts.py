"""Statement and idle-transaction limits on tenant work: on every app connection and on every tenant role,
lifted by the maintenance paths (migrations, backups, restores), and a query cut by them answers a clear 503."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from polyflow.platform import backups, fleet, migrate, provisioning
from tests.fixtures.fleet_revisions import BACKFILL
from tests.platform.test_fleet import tenant_row


async def _role_config(pg_admin, role: str) -> set[str]:
    conn = await asyncpg.connect(**pg_admin.asyncpg_kwargs())
    try:
        rows = await conn.fetchval(
            "SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = 0 "
            "AND setrole = (SELECT oid FROM pg_roles WHERE rolname = $1)", role)
        return set(rows or ())
    finally:
        await conn.close()


async def test_onboarded_role_and_app_sessions_carry_the_limits(make_settings, pg_admin):
    settings = make_settings(tenant_statement_timeout=7.5, tenant_idle_tx_timeout=42)
    from polyflow.platform.runtime import Platform

    platform = Platform(settings)
    try:
        await provisioning.create_tenant(platform, name="ABC", subdomain="pt-abc")
        t = await tenant_row(platform, "pt-abc")
        assert {"statement_timeout=7500", "idle_in_transaction_session_timeout=42000"} <= await _role_config(
            pg_admin, t.db_user)

        # A connection made outside the app (psql, a script) as the tenant's role gets them from the role.
        conn = await asyncpg.connect(**provisioning.tenant_dsn(t, platform.secrets).asyncpg_kwargs())
        try:
            assert await conn.fetchval("SHOW statement_timeout") == "7500ms"
            assert await conn.fetchval("SHOW idle_in_transaction_session_timeout") == "42s"
        finally:
            await conn.close()

        # The app's own sessions (the engine behind every request and job) set them on connect too.
        route = await platform.routes.get("sub:pt-abc")
        async with platform.engines.lease(route) as engine, engine.connect() as c:
            assert (await c.execute(text("SHOW statement_timeout"))).scalar() == "7500ms"
            assert (await c.execute(text("SHOW idle_in_transaction_session_timeout"))).scalar() == "42s"
    finally:
        await platform.stop()


async def test_a_query_past_the_limit_is_cancelled_and_the_request_answers_a_clear_503(make_settings, make_live,
                                                                                        pg_admin):
    settings = make_settings(tenant_statement_timeout=1.0)
    from polyflow.platform.runtime import Platform

    platform = Platform(settings)
    try:
        await provisioning.create_tenant(platform, name="ABC", subdomain="pt-abc")
        t = await tenant_row(platform, "pt-abc")
        route = await platform.routes.get("sub:pt-abc")
        # The session itself: pg_sleep past the limit is cancelled by the server (57014).
        started = time.monotonic()
        async with platform.engines.lease(route) as engine, engine.connect() as c:
            with pytest.raises(DBAPIError) as caught:
                await c.execute(text("SELECT pg_sleep(5)"))
        assert caught.value.orig.sqlstate == "57014" and time.monotonic() - started < 4
    finally:
        await platform.stop()

    live = make_live(settings)
    async with live.tenant_client("pt-abc") as c:
        assert (await c.get("/api/v1/accounts")).status_code == 200
        # A lock held elsewhere (a long transaction) makes the chart of accounts wait: the statement
        # limit ends the wait, the client gets a clear 503 instead of hanging or a 500.
        holder = await asyncpg.connect(**pg_admin.with_database(t.db_name).asyncpg_kwargs())
        try:
            tx = holder.transaction()
            await tx.start()
            await holder.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            r = await asyncio.wait_for(c.get("/api/v1/accounts"), 10)
            elapsed = time.monotonic() - started
            await tx.rollback()
        finally:
            await holder.close()
        assert r.status_code == 503, r.text
        assert "took too long" in r.json()["detail"] and r.headers["retry-after"]
        assert elapsed < 5
        assert (await c.get("/api/v1/accounts")).status_code == 200  # the connection is still good


async def test_migrations_backups_and_restores_lift_the_limits(make_settings, pg_admin, tmp_path):
    # 1 ms: any statement of a migration, a dump or a restore would be cancelled if they kept the limit.
    settings = make_settings(tenant_statement_timeout=0.001, tenant_idle_tx_timeout=0.001,
                             backup_dir=tmp_path / "backups")
    from polyflow.platform.runtime import Platform

    platform = Platform(settings)
    try:
        await provisioning.create_tenant(platform, name="ABC", subdomain="pt-abc")  # migrated and seeded
        t = await tenant_row(platform, "pt-abc")
        assert {"statement_timeout=1", "idle_in_transaction_session_timeout=1"} <= await _role_config(
            pg_admin, t.db_user)
        with psycopg.connect(provisioning.tenant_dsn(t, platform.secrets).url("postgresql"),
                             autocommit=True) as conn:
            # The role really carries them: a plain session of it is cut at once.
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute("SELECT pg_sleep(0.2)")

        info = await backups.backup(platform, "pt-abc")
        result = await backups.restore(platform, "pt-abc", info.path)
        restored = await tenant_row(platform, "pt-abc")
        assert restored.db_name == result.db_name != t.db_name
        copy = await backups.restore(platform, "pt-abc", info.path, as_subdomain="pt-abc-copy")
        copy_row = await tenant_row(platform, "pt-abc-copy")
        assert copy.cloned and {"statement_timeout=1"} <= await _role_config(pg_admin, copy_row.db_user)

        # A role from before the limits existed gets them from the fleet migration, which itself runs
        # (backfill, index) without them.
        admin = await asyncpg.connect(**pg_admin.asyncpg_kwargs())
        try:
            await admin.execute(f'ALTER ROLE "{restored.db_user}" RESET ALL')
        finally:
            await admin.close()
        assert await _role_config(pg_admin, restored.db_user) == set()
        with migrate.extra_locations_set("tenant", [BACKFILL]):
            report = await fleet.run(platform, fleet.RunOptions(concurrency=1, refresh_templates=False))
        assert {o.subdomain: o.status for o in report.outcomes} == {"pt-abc": "migrated", "pt-abc-copy": "migrated"}
        assert {"statement_timeout=1", "idle_in_transaction_session_timeout=1"} <= await _role_config(
            pg_admin, restored.db_user)
    finally:
        await platform.stop()
