"""Kill drills: a real `polyflow` CLI process SIGKILLed inside onboarding, backup, restore and move
(tests/fixtures/killpoint.py), then a rerun, `tenants reset-owner` or `tenants reconcile --fix`.

After each: the tenant is served from exactly one database (the right one), nothing is half-written
or duplicated, no backup file that is not complete is listed as completed, nothing stays frozen, and
no orphan database or role is left behind unreported.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from polyflow.cli import app as cli_app
from polyflow.kit.passwords import verify_password
from polyflow.platform import reconcile
from polyflow.platform.models import PlatformEvent, Tenant
from polyflow.platform.provisioning import tenant_dsn
from polyflow.platform.runtime import Platform

REPO = Path(__file__).resolve().parents[2]
KILL_TIMEOUT = 120  # a ceiling on a busy machine; a drill run takes a few seconds


@pytest.fixture
def settings(make_settings, tmp_path):
    """This test's main database; backups in its own folder; no warm spares (not what is drilled)."""
    return make_settings(backup_dir=tmp_path / "backups", spare_databases=0)


def _env(settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYFLOW_") and k != "PF_TEST_KILL_AT"}
    env.update({
        "POLYFLOW_DATABASE_URL": settings.database_url, "POLYFLOW_SECRET_KEY": settings.secret_key.get_secret_value(),
        "POLYFLOW_ENV": "test", "POLYFLOW_REDIS_URL": settings.redis_url,
        "POLYFLOW_REDIS_NAMESPACE": settings.redis_namespace, "POLYFLOW_BACKUP_DIR": str(settings.backup_dir),
        "POLYFLOW_SPARE_DATABASES": "0", "POLYFLOW_MAIL_SENDER": "none", "COLUMNS": "200",
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO / "src"), str(REPO), env.get("PYTHONPATH")) if p),
    })
    env.update(extra)
    return env


def kill_cli(settings, point: str, *args: str) -> None:
    """Run `polyflow ARGS` in a child process and SIGKILL it at POINT; assert it really died there."""
    proc = subprocess.run([sys.executable, "-m", "tests.fixtures.killpoint", *args], cwd=REPO,
                          env=_env(settings, PF_TEST_KILL_AT=point), capture_output=True, text=True,
                          timeout=KILL_TIMEOUT)
    assert proc.returncode == -signal.SIGKILL, (point, proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:])


def cli(settings, *args: str):
    """`polyflow ARGS` in this process (the rerun after a kill)."""
    env = {k: None for k in os.environ if k.startswith("POLYFLOW_")} | _env(settings)
    return CliRunner().invoke(cli_app, list(args), env=env)


def with_platform(settings, fn):
    async def go():
        p = Platform(settings)
        try:
            return await fn(p)
        finally:
            await p.stop()
    return asyncio.run(asyncio.wait_for(go(), 60))


async def _rows(p: Platform, subdomain: str) -> list[Tenant]:
    async with AsyncSession(p.main_engine, expire_on_commit=False) as s:
        return list((await s.execute(select(Tenant).where(Tenant.subdomain == subdomain,
                                                          Tenant.status != "deleted"))).scalars())


async def _events(p: Platform, action: str) -> int:
    async with AsyncSession(p.main_engine) as s:
        return await s.scalar(select(func.count()).select_from(PlatformEvent).where(PlatformEvent.action == action))


async def _tenant_fetch(p: Platform, tenant: Tenant, sql: str, *args):
    conn = await asyncpg.connect(**tenant_dsn(tenant, p.secrets).asyncpg_kwargs(), timeout=10)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


# -- onboarding ------------------------------------------------------------------------------------------
SUB, NAME, OWNER = "pt-kill", "PT Kill Drill", "owner@kill.test"
CREATE = ("tenants", "create", "--name", NAME, "--subdomain", SUB, "--admin-email", OWNER)

# Every step boundary, one after the other: each run resumes where the killed one stopped and is killed
# at the next boundary: after each step is recorded ("done"), after the owner's credential was written
# but before the activation was committed ("active:did"), and after the activation was committed,
# before the one-time password reached the terminal ("active:done": the old code left an active tenant
# whose owner had never been shown a password, and a rerun said "already taken").
ONBOARDING_KILLS = [f"step:{s}:done" for s in ("role", "database", "migrated", "seeded", "verified")] + [
    "step:active:did", "step:active:done"]


def test_onboarding_killed_at_every_step_boundary_then_rerun_finishes(settings):
    for point in ONBOARDING_KILLS:
        kill_cli(settings, point, *CREATE)
        step = point.split(":")[1]

        async def state(p: Platform):
            rows = await _rows(p, SUB)
            return [(t.status, t.onboarding_step) for t in rows], [(f.kind, f.name) for f in await reconcile.reconcile(p)]

        rows, findings = with_platform(settings, state)
        if point == "step:active:done":
            assert rows == [("active", "active")] and findings == []
        else:  # never active before the owner can get in; reconcile sees the unfinished onboarding, no orphan
            assert rows == [("provisioning", "verified" if point == "step:active:did" else step)], point
            assert findings == [("unfinished_onboarding", SUB)], point

    rerun = cli(settings, *CREATE)
    assert rerun.exit_code == 0, rerun.output
    password = re.search(r"one-time password: (\S+)", rerun.output).group(1)

    async def check(p: Platform):
        rows = await _rows(p, SUB)
        assert [(t.status, t.onboarding_step) for t in rows] == [("active", "active")]
        users = await _tenant_fetch(p, rows[0], "SELECT email, password_hash, roles, must_change_password FROM users")
        assert len(users) == 1 and users[0]["email"] == OWNER and users[0]["roles"] == ["owner"]
        assert users[0]["must_change_password"] and verify_password(users[0]["password_hash"], password)
        assert await _events(p, "tenant.activated") == 1 and await _events(p, "tenant.owner_password_reissued") == 1
        assert await reconcile.reconcile(p) == []  # no orphan database or role, nothing unfinished

    with_platform(settings, check)


def test_rerun_after_the_owner_signed_in_is_refused_and_reset_owner_lets_them_in(settings, live):
    kill_cli(settings, "step:active:done", *CREATE)  # active; the password never reached the terminal

    link = cli(settings, "tenants", "reset-owner", SUB)
    assert link.exit_code == 0, link.output
    token = re.search(r"/invite\?token=(\S+)", link.output).group(1)

    async def sign_in():
        async with live.client(f"{SUB}.localhost") as c:
            accepted = await c.post("/api/v1/auth/invite/accept",
                                    json={"token": token, "password": "a-long-owner-passphrase-42"})
            assert accepted.status_code == 200, accepted.text
            again = await c.post("/api/v1/auth/invite/accept",
                                 json={"token": token, "password": "another-owner-passphrase-43"})
            assert again.status_code == 422 and "already used" in again.text  # the link works once
            login = await c.post("/api/v1/auth/login", json={"email": OWNER, "password": "a-long-owner-passphrase-42"})
            assert login.status_code == 200, login.text

    asyncio.run(asyncio.wait_for(sign_in(), 30))

    # Signed in once: running the onboarding again must not hand out a new password any more.
    rerun = cli(settings, *CREATE)
    assert rerun.exit_code != 0 and "already taken" in rerun.output and "reset-owner" in rerun.output

    async def audited(p: Platform):
        assert await _events(p, "tenant.owner_reset") == 1

    with_platform(settings, audited)


def test_reset_owner_refuses_what_it_cannot_do(settings, make_tenant_sync):
    make_tenant_sync("pt-abc")
    assert "no tenant 'pt-nope'" in cli(settings, "tenants", "reset-owner", "pt-nope").output
    wrong = cli(settings, "tenants", "reset-owner", "pt-abc", "--email", "stranger@x.test")
    assert wrong.exit_code != 0 and "no active owner with email stranger@x.test" in wrong.output


# -- backup, restore, move ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def second_cluster():
    """A second PostgreSQL cluster to move tenants to (a folder the postgres user can reach)."""
    import shutil
    import tempfile

    from polyflow.platform.localpg import LocalCluster, free_port

    root = Path(tempfile.mkdtemp(prefix="pf-kill-pg2-"))
    os.chmod(root, 0o755)
    cluster = LocalCluster(root, free_port(), fast=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


async def _tenant(p: Platform, subdomain: str = "pt-abc") -> Tenant:
    rows = await _rows(p, subdomain)
    assert len(rows) == 1
    return rows[0]


async def _write(p: Platform, *codes: str) -> None:
    """Acknowledged writes: committed through the tenant's own role."""
    tenant = await _tenant(p)
    conn = await asyncpg.connect(**tenant_dsn(tenant, p.secrets).asyncpg_kwargs(), timeout=10)
    try:
        async with conn.transaction():
            for code in codes:
                await conn.execute("INSERT INTO units (code, name, kind) VALUES ($1, $1, 'package')", code)
    finally:
        await conn.close()


async def _codes(p: Platform) -> set[str]:
    return {r[0] for r in await _tenant_fetch(p, await _tenant(p), "SELECT code FROM units WHERE code LIKE 'K-%'")}


async def _write_refused(p: Platform) -> bool:
    """The tenant's database answers reads but refuses writes (frozen: read-only, SQLSTATE 25006)."""
    tenant = await _tenant(p)
    conn = await asyncpg.connect(**tenant_dsn(tenant, p.secrets).asyncpg_kwargs(), timeout=10)
    try:
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute("INSERT INTO units (code, name, kind) VALUES ('K-PROBE', 'probe', 'package')")
        except asyncpg.ReadOnlySQLTransactionError:
            return True
        finally:
            await tx.rollback()  # only a probe: never kept
        return False
    finally:
        await conn.close()


async def _findings(p: Platform, fix: bool = False) -> set[tuple[str, str]]:
    return {(f.kind, f.name) for f in await reconcile.reconcile(p, fix=fix)}


async def _databases_of(p: Platform, subdomain: str) -> set[tuple[str, str]]:
    """(server, database) of every database of the tenant on every registered server."""
    from polyflow.platform.models import DatabaseServer
    from polyflow.platform.servers import admin_connect

    async with AsyncSession(p.main_engine) as s:
        servers = (await s.execute(select(DatabaseServer))).scalars().all()
    found = set()
    for server in servers:
        conn = await admin_connect(server, p.secrets)
        try:
            pattern = "t\\_" + subdomain.replace("-", "\\_") + "\\_%"
            found |= {(server.name, r[0]) for r in await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", pattern)}
        finally:
            await conn.close()
    return found


async def _served_from_one(p: Platform) -> Tenant:
    """The registry names one database, it exists, and it is the tenant's only database anywhere."""
    tenant = await _tenant(p)
    assert await _databases_of(p, "pt-abc") == {(tenant.server.name, tenant.db_name)}
    return tenant


def test_backup_killed_leaves_no_complete_looking_file_and_reconcile_cleans_up(settings, make_tenant_sync):
    make_tenant_sync("pt-abc")
    kill_cli(settings, "after:polyflow.platform.pgtools:dump", "tenants", "backup", "pt-abc")  # dumped, not renamed
    folder = Path(settings.backup_dir).resolve() / "pt-abc"
    parts = [f.name for f in folder.iterdir()]
    assert len(parts) == 1 and parts[0].endswith(".dump.part")  # never under a final name

    listed = cli(settings, "tenants", "backups", "pt-abc", "--json")
    assert [b["status"] for b in __import__("json").loads(listed.output)] == ["running"]  # not "completed"

    async def before_fix(p: Platform):
        return await _findings(p)

    found = with_platform(settings, before_fix)
    assert {kind for kind, _ in found} == {"interrupted_backup"}
    assert cli(settings, "tenants", "reconcile").exit_code == 1  # reported: an operator sees it

    assert cli(settings, "tenants", "reconcile", "--fix").exit_code == 0
    assert list(folder.iterdir()) == []  # the partial file is gone

    rerun = cli(settings, "tenants", "backup", "pt-abc")
    assert rerun.exit_code == 0, rerun.output
    rows = __import__("json").loads(cli(settings, "tenants", "backups", "pt-abc", "--json").output)
    assert [b["status"] for b in rows] == ["failed", "completed"]
    import hashlib

    good = Path(rows[1]["path"])
    assert [f.name for f in folder.iterdir()] == [good.name]
    assert hashlib.sha256(good.read_bytes()).hexdigest() == rows[1]["sha256"]
    assert with_platform(settings, before_fix) == set()


def test_restore_killed_while_frozen_then_after_the_switch(settings, make_tenant_sync):
    make_tenant_sync("pt-abc")
    with_platform(settings, lambda p: _write(p, "K-BEFORE-1", "K-BEFORE-2"))
    backup = cli(settings, "tenants", "backup", "pt-abc")
    assert backup.exit_code == 0, backup.output
    file = re.search(r"backed up pt-abc: (\S+\.dump)", backup.output).group(1)
    with_platform(settings, lambda p: _write(p, "K-AFTER-BACKUP"))

    # 1. Killed with the live database frozen and the restored copy loaded beside it.
    kill_cli(settings, "after:polyflow.platform.backups.restore:freeze", "tenants", "restore", "pt-abc", file)

    async def frozen(p: Platform):
        tenant = await _tenant(p)
        assert await _write_refused(p) and await _codes(p) == {"K-BEFORE-1", "K-BEFORE-2", "K-AFTER-BACKUP"}
        assert len(await _databases_of(p, "pt-abc")) == 2  # the live one (still registered) and the copy
        found = await _findings(p)
        assert found == {("stale_freeze", "pt-abc")} | {("orphan_database", db) for _, db in
                                                        await _databases_of(p, "pt-abc") if db != tenant.db_name}
        await _findings(p, fix=True)
        assert not await _write_refused(p)  # writable again
        await _served_from_one(p)
        assert await _findings(p) == set()

    with_platform(settings, frozen)

    # 2. Killed right after the registry switched to the restored copy (the old database not yet dropped).
    kill_cli(settings, "after:polyflow.platform.backups.restore:switch", "tenants", "restore", "pt-abc", file)

    async def switched(p: Platform):
        assert await _codes(p) == {"K-BEFORE-1", "K-BEFORE-2"}  # served from the restored copy
        assert {kind for kind, _ in await _findings(p)} == {"orphan_database"}  # the old one
        await _findings(p, fix=True)
        await _served_from_one(p)
        await _write(p, "K-AFTER-RESTORE")
        assert await _findings(p) == set()

    with_platform(settings, switched)

    # 3. And the same restore simply run again succeeds.
    rerun = cli(settings, "tenants", "restore", "pt-abc", file)
    assert rerun.exit_code == 0, rerun.output

    async def final(p: Platform):
        await _served_from_one(p)
        assert await _codes(p) == {"K-BEFORE-1", "K-BEFORE-2"}
        assert await _findings(p) == set()

    with_platform(settings, final)


def test_move_killed_while_frozen_then_after_the_switch_loses_no_acknowledged_write(settings, make_tenant_sync,
                                                                                      second_cluster):
    added = cli(settings, "servers", "add", "second", second_cluster.dsn().url("postgresql"))
    assert added.exit_code == 0, added.output
    make_tenant_sync("pt-abc")
    with_platform(settings, lambda p: _write(p, "K-1", "K-2"))

    # 1. Killed while the source is frozen and the dump is taken: nothing switched, the tenant frozen.
    kill_cli(settings, "after:polyflow.platform.lifecycle:take_backup", "tenants", "move", "pt-abc", "--to", "second")

    async def frozen(p: Platform):
        tenant = await _tenant(p)
        assert tenant.server.name == "default"
        assert await _write_refused(p) and await _codes(p) == {"K-1", "K-2"}  # reads go on
        kinds = sorted(kind for kind, _ in await _findings(p))
        assert kinds == ["orphan_database", "orphan_role", "stale_freeze"]  # the half-made copy on "second"
        await _findings(p, fix=True)  # must not stay frozen forever
        assert not await _write_refused(p)
        await _served_from_one(p)
        await _write(p, "K-3")  # acknowledged after the failed move

    with_platform(settings, frozen)

    # 2. Killed right after the registry switched to "second": the old database is left behind.
    kill_cli(settings, "after:polyflow.platform.lifecycle:switch", "tenants", "move", "pt-abc", "--to", "second")

    async def switched(p: Platform):
        tenant = await _tenant(p)
        assert tenant.server.name == "second"
        assert await _codes(p) == {"K-1", "K-2", "K-3"}  # every acknowledged write is in the copy
        assert sorted(kind for kind, _ in await _findings(p)) == ["orphan_database", "orphan_role"]
        await _findings(p, fix=True)
        await _served_from_one(p)
        await _write(p, "K-4")
        assert await _findings(p) == set()

    with_platform(settings, switched)

    # 3. A rerun (back to the first server) succeeds and keeps everything.
    rerun = cli(settings, "tenants", "move", "pt-abc", "--to", "default")
    assert rerun.exit_code == 0, rerun.output

    async def final(p: Platform):
        tenant = await _served_from_one(p)
        assert tenant.server.name == "default"
        assert await _codes(p) == {"K-1", "K-2", "K-3", "K-4"}
        assert await _findings(p) == set()

    with_platform(settings, final)
