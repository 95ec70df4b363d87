"""Onboarding: crash anywhere and rerun, template cloning and its fallbacks, seeds, reconcile, bad input."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from polyflow.cli import app as cli_app
from polyflow.kit.passwords import verify_password
from polyflow.kit.db import quote_ident
from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.platform import onboarding, reconcile, templates
from polyflow.platform.models import Tenant
from polyflow.platform.provisioning import tenant_dsn
from polyflow.platform.runtime import Platform


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYFLOW_")}
    env.update({
        "POLYFLOW_DATABASE_URL": settings.database_url, "POLYFLOW_SECRET_KEY": settings.secret_key.get_secret_value(),
        "POLYFLOW_ENV": "test", "POLYFLOW_REDIS_URL": settings.redis_url,
        "POLYFLOW_REDIS_NAMESPACE": settings.redis_namespace, "COLUMNS": "200",
    })
    return env


def _registry_row(settings, subdomain: str):
    async def go():
        p = Platform(settings)
        try:
            async with AsyncSession(p.main_engine) as s:
                return (await s.execute(select(Tenant.status, Tenant.onboarding_step).where(Tenant.subdomain == subdomain))).first()
        finally:
            await p.stop()

    return asyncio.run(go())


def _reconcile(settings, fix=False):
    async def go():
        p = Platform(settings)
        try:
            return await reconcile.reconcile(p, fix=fix)
        finally:
            await p.stop()

    return asyncio.run(go())


CRASH_POINTS = [(step, "did") for step in ("role", "database", "migrated", "seeded", "verified", "active")] + [
    ("database", "start"), ("migrated", "start"), ("seeded", "done"),
]


@pytest.mark.parametrize("step,phase", CRASH_POINTS, ids=[f"{s}-{p}" for s, p in CRASH_POINTS])
def test_sigkill_during_onboarding_then_rerun_completes(settings, step, phase):
    env = _env(settings)
    crash = subprocess.run([sys.executable, "-m", "tests.fixtures.onboard_crash", "pt-crash", step, phase],
                           env=env, capture_output=True, text=True, timeout=120)
    assert crash.returncode == -signal.SIGKILL, crash.stderr
    status, recorded = _registry_row(settings, "pt-crash")
    assert status == "provisioning"  # never active before its database is complete and verified
    if step == "active":
        assert recorded == "verified"

    # Before finishing, reconcile sees exactly the unfinished onboarding, no orphans.
    assert [(f.kind, f.name) for f in _reconcile(settings)] == [("unfinished_onboarding", "pt-crash")]

    result = CliRunner().invoke(cli_app, ["tenants", "create", "--name", "PT Crash Test", "--subdomain", "pt-crash",
                                          "--admin-email", "owner@crash.test"], env=env)
    assert result.exit_code == 0, result.output
    password = re.search(r"one-time password: (\S+)", result.output).group(1)
    assert _registry_row(settings, "pt-crash") == ("active", "active")
    assert _reconcile(settings) == []

    async def check_owner():
        p = Platform(settings)
        try:
            async with AsyncSession(p.main_engine) as s:
                tenant = (await s.execute(select(Tenant).where(Tenant.subdomain == "pt-crash"))).scalar_one()
                dsn = tenant_dsn(tenant, p.secrets)
        finally:
            await p.stop()
        conn = await asyncpg.connect(**dsn.asyncpg_kwargs())
        try:
            users = await conn.fetch("SELECT email, password_hash, roles, must_change_password FROM users")
            units = await conn.fetchval("SELECT count(*) FROM units")
        finally:
            await conn.close()
        assert len(users) == 1 and users[0]["roles"] == ["owner"] and users[0]["must_change_password"]
        assert verify_password(users[0]["password_hash"], password)
        assert password not in users[0]["password_hash"]
        assert units > 0

    asyncio.run(check_owner())


async def test_second_tenant_is_cloned_from_the_template(platform, settings):
    first = await onboarding.onboard(platform, name="A", subdomain="pt-aaa", admin_email="a@a.test")
    second = await onboarding.onboard(platform, name="B", subdomain="pt-bbb", admin_email="b@b.test")
    scratch = await onboarding.onboard(platform, name="C", subdomain="pt-ccc", admin_email="c@c.test",
                                       use_template=False)
    assert second.from_template and not scratch.from_template
    assert first.tenant.schema_revision == second.tenant.schema_revision == scratch.tenant.schema_revision
    for result in (first, second, scratch):
        conn = await asyncpg.connect(**tenant_dsn(result.tenant, platform.secrets).asyncpg_kwargs())
        try:
            owners = {r["tableowner"] for r in await conn.fetch("SELECT tableowner FROM pg_tables WHERE schemaname='public'")}
            assert owners == {result.tenant.db_user}  # the clone's objects were handed to the tenant's role
            assert await conn.fetchval("SELECT count(*) FROM locations") == 5
            # The tenant role can write its tables (ownership really moved).
            await conn.execute("INSERT INTO units (code, name, kind) VALUES ('DRUM', 'Drum', 'package')")
        finally:
            await conn.close()


async def test_busy_or_stale_template_falls_back_or_is_rebuilt(platform, pg_admin):
    await onboarding.onboard(platform, name="A", subdomain="pt-aaa", admin_email="a@a.test")  # builds the template
    name = templates.template_name()
    admin = await asyncpg.connect(**pg_admin.asyncpg_kwargs())
    try:
        # Busy: someone is connected to the template -> CREATE DATABASE ... TEMPLATE fails -> from scratch.
        await admin.execute(f"ALTER DATABASE {quote_ident(name)} WITH ALLOW_CONNECTIONS true")
        squatter = await asyncpg.connect(**pg_admin.with_database(name).asyncpg_kwargs())
        try:
            busy = await onboarding.onboard(platform, name="B", subdomain="pt-bbb", admin_email="b@b.test")
        finally:
            await squatter.close()
            await admin.execute(f"ALTER DATABASE {quote_ident(name)} WITH ALLOW_CONNECTIONS false")
        assert busy.tenant.status == "active" and not busy.from_template

        # A template of an older head is dropped when the current one is (re)built.
        await admin.execute(f"CREATE DATABASE {quote_ident(templates.TEMPLATE_PREFIX + '0000')} IS_TEMPLATE true")
        await admin.execute(f"ALTER DATABASE {quote_ident(name)} WITH IS_TEMPLATE false")
        await admin.execute(f"DROP DATABASE {quote_ident(name)}")
        rebuilt = await onboarding.onboard(platform, name="C", subdomain="pt-ccc", admin_email="c@c.test")
        assert rebuilt.from_template
        names = {r["datname"] for r in await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'polyflow_tpl_%'")}
        assert names == {name}
    finally:
        await admin.close()


async def test_template_is_never_routable(platform, live):
    await onboarding.onboard(platform, name="A", subdomain="pt-aaa", admin_email="a@a.test")
    for host in ("template.localhost", "polyflow-tpl-0001.localhost", f"{templates.template_name()}.localhost"):
        async with live.client(host) as c:
            assert (await c.get("/api/v1/products")).status_code in (400, 404)


@pytest.mark.parametrize("kwargs,error,fragment", [
    (dict(subdomain="admin"), InvalidInput, "reserved"),
    (dict(subdomain="www"), InvalidInput, "reserved"),
    (dict(subdomain="PT-ABC"), InvalidInput, "lowercase"),
    (dict(subdomain="a"), InvalidInput, "3-40"),
    (dict(name=" "), InvalidInput, "name"),
    (dict(admin_email="not-an-email"), InvalidInput, "email"),
    (dict(plan="platinum"), InvalidInput, "unknown plan"),
    (dict(server_name="nosuch"), NotFound, "nosuch"),
], ids=["reserved-admin", "reserved-www", "uppercase", "too-short", "blank-name", "bad-email", "unknown-plan",
        "unknown-server"])
async def test_bad_input_creates_nothing(platform, pg_admin, kwargs, error, fragment):
    args = dict(name="PT ABC", subdomain="pt-abc", admin_email="owner@abc.test") | kwargs
    with pytest.raises(error, match=fragment):
        await onboarding.onboard(platform, **args)
    async with AsyncSession(platform.main_engine) as s:
        assert (await s.execute(select(Tenant.id))).all() == []
    assert await reconcile.reconcile(platform) == []


async def test_duplicate_subdomain_is_a_conflict(platform):
    await onboarding.onboard(platform, name="PT ABC", subdomain="pt-abc", admin_email="a@abc.test")
    with pytest.raises(Conflict, match="already taken"):
        await onboarding.onboard(platform, name="Someone else", subdomain="pt-abc", admin_email="x@x.test")
    with pytest.raises(Conflict, match="already active"):
        await onboarding.run(platform, "pt-abc")


async def test_two_runs_of_one_onboarding_never_overlap(platform):
    await onboarding.reserve(platform, name="PT ABC", subdomain="pt-abc", admin_email="a@abc.test")
    results = await asyncio.gather(onboarding.run(platform, "pt-abc"), onboarding.run(platform, "pt-abc"),
                                   return_exceptions=True)
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], Conflict)
    assert "already" in str(errors[0])


async def test_reconcile_finds_and_fixes_orphans(platform, pg_admin):
    tenant = (await onboarding.onboard(platform, name="PT ABC", subdomain="pt-abc", admin_email="a@abc.test")).tenant
    await onboarding.reserve(platform, name="PT Half", subdomain="pt-half", admin_email="h@half.test")
    admin = await asyncpg.connect(**pg_admin.asyncpg_kwargs())
    try:
        await admin.execute("CREATE ROLE t_ghost_000000 LOGIN")
        await admin.execute("CREATE DATABASE t_ghost_000000")
        found = {(f.kind, f.name) for f in await reconcile.reconcile(platform)}
        assert found == {("orphan_database", "t_ghost_000000"), ("orphan_role", "t_ghost_000000"),
                         ("unfinished_onboarding", "pt-half")}
        fixed = await reconcile.reconcile(platform, fix=True)
        assert {f.action for f in fixed} == {"dropped", "resumed: active"}
        assert await reconcile.reconcile(platform) == []
        assert not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = 't_ghost_000000'")

        # A registered tenant whose database vanished is reported, never "fixed" by guessing.
        await admin.execute(f"DROP DATABASE {quote_ident(tenant.db_name)} WITH (FORCE)")
        assert [(f.kind, f.name) for f in await reconcile.reconcile(platform, fix=True)] == [("missing_database", "pt-abc")]
    finally:
        await admin.close()


async def test_warm_spares_are_claimed_by_rename_and_refilled(platform, pg_admin):
    platform.settings.spare_databases = 2
    await onboarding.onboard(platform, name="A", subdomain="pt-aaa", admin_email="a@a.test")
    assert await onboarding.refill_spares(platform) == 2
    admin = await asyncpg.connect(**pg_admin.asyncpg_kwargs())

    async def spares():
        return {r["datname"] for r in await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'polyflow_spare_%'")}

    try:
        before = await spares()
        assert len(before) == 2
        # Two onboardings at once: each claims a different spare (a rename can only succeed once).
        b, c = await asyncio.gather(
            onboarding.onboard(platform, name="B", subdomain="pt-bbb", admin_email="b@b.test"),
            onboarding.onboard(platform, name="C", subdomain="pt-ccc", admin_email="c@c.test"),
        )
        assert await spares() == set()
        for result in (b, c):
            assert result.from_template and result.tenant.status == "active"
            conn = await asyncpg.connect(**tenant_dsn(result.tenant, platform.secrets).asyncpg_kwargs())
            try:
                owners = {r["o"] for r in await conn.fetch(
                    "SELECT tableowner AS o FROM pg_tables WHERE schemaname='public' "
                    "UNION SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")}
                assert owners == {result.tenant.db_user}
            finally:
                await conn.close()
        # Spares of an older head are dropped on refill; the reconcile never mistakes spares for orphans.
        await admin.execute("CREATE DATABASE polyflow_spare_0000_deadbeef")
        assert await onboarding.refill_spares(platform) == 2
        after = await spares()
        assert len(after) == 2 and "polyflow_spare_0000_deadbeef" not in after
        assert await reconcile.reconcile(platform) == []
    finally:
        await admin.close()


async def test_concurrent_refills_never_overshoot(platform, pg_admin):
    platform.settings.spare_databases = 3
    await onboarding.onboard(platform, name="A", subdomain="pt-aaa", admin_email="a@a.test")
    admin = await asyncpg.connect(**pg_admin.asyncpg_kwargs())

    async def drop_spares():
        for row in await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'polyflow_spare_%'"):
            await admin.execute(f"DROP DATABASE {quote_ident(row['datname'])}")

    try:
        await drop_spares()  # the cluster is shared with earlier tests
        made = await asyncio.gather(*(onboarding.refill_spares(platform) for _ in range(4)))
        spares = await admin.fetchval(
            "SELECT count(*) FROM pg_database WHERE datname LIKE $1", templates._spare_pattern())
        assert spares == 3 and sum(made) == 3
    finally:
        await drop_spares()
        await admin.close()
