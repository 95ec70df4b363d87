"""Backups and restores against the real cluster: pg_dump files, checksums, restore in place, clones.

Helpers here (snapshots of a tenant database, a CLI runner with this test's backup folder) are used by
test_lifecycle and test_move too.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from polyflow.cli import app
from polyflow.kit.db import PgDsn
from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.platform import backups, migrate, pgtools
from polyflow.platform.models import Backup, PlatformEvent, Tenant
from tests.platform.test_cli import assert_one_error_line, cli_env, t_objects  # noqa: F401  (fixture)

# --- helpers shared with test_lifecycle and test_move ----------------------------------------------


@pytest.fixture
def settings(make_settings, tmp_path):
    """This test's main database, with backups in its own folder."""
    return make_settings(backup_dir=tmp_path / "backups")


@pytest.fixture
def cli(cli_env, settings):
    runner = CliRunner()
    env = {**cli_env, "POLYFLOW_BACKUP_DIR": str(settings.backup_dir)}

    def invoke(*args: str, **overrides: str | None):
        return runner.invoke(app, list(args), env={**env, **overrides})

    return invoke


async def fetch(dsn: PgDsn, sql: str, *args):
    conn = await asyncpg.connect(**dsn.asyncpg_kwargs())
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


# Written by the tests' own signed-in clients as they go (each client is a new user with an API token
# and its use is audited), so they differ between two snapshots for reasons unrelated to the test.
SIGN_IN_TABLES = ("users", "api_tokens", "user_sessions", "audit_log")


async def snapshot(dsn: PgDsn) -> dict[str, list[tuple]]:
    """Every row of every table of a database (sign-in state aside), in primary-key order."""
    conn = await asyncpg.connect(**dsn.asyncpg_kwargs())
    try:
        tables = [r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                                 "AND tablename <> ALL($1::text[]) ORDER BY 1", list(SIGN_IN_TABLES))]
        return {t: [tuple(r) for r in await conn.fetch(f'SELECT * FROM public."{t}" ORDER BY 1')] for t in tables}
    finally:
        await conn.close()


async def tenant_row(platform, subdomain: str, *, deleted: bool = False) -> Tenant:
    async with AsyncSession(platform.main_engine) as session:
        stmt = select(Tenant).where(Tenant.subdomain == subdomain)
        stmt = stmt.where(Tenant.status == "deleted") if deleted else stmt.where(Tenant.status != "deleted")
        return (await session.execute(stmt)).scalar_one()


def db_dsn(pg_admin: PgDsn, tenant: Tenant) -> PgDsn:
    """The admin's view of a tenant database on the test cluster."""
    return pg_admin.with_database(tenant.db_name)


async def exists(pg_admin: PgDsn, *, database: str | None = None, role: str | None = None) -> bool:
    if database is not None:
        return bool(await fetch(pg_admin, "SELECT 1 FROM pg_database WHERE datname = $1", database))
    return bool(await fetch(pg_admin, "SELECT 1 FROM pg_roles WHERE rolname = $1", role))


async def events(platform, action: str) -> list[PlatformEvent]:
    async with AsyncSession(platform.main_engine) as session:
        return list((await session.execute(select(PlatformEvent).where(PlatformEvent.action == action))).scalars())


async def add_products(live, subdomain: str, *skus: str) -> list[dict]:
    async with live.tenant_client(subdomain) as c:
        out = []
        for sku in skus:
            r = await c.post("/api/v1/products", json={"sku": sku, "name": f"Product {sku}", "unit": "kg",
                                                       "sell_price": "21500.50"})
            assert r.status_code == 201, r.text
            out.append(r.json())
        return out


async def api_skus(live, subdomain: str) -> list[str]:
    async with live.tenant_client(subdomain) as c:
        r = await c.get("/api/v1/products", params={"limit": 100})
        assert r.status_code == 200, r.text
        return sorted(p["sku"] for p in r.json()["items"])


async def wait_for(predicate, timeout: float = 3.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.02)


# --- backup --------------------------------------------------------------------------------------------


async def test_backup_writes_a_complete_file_and_records_it(platform, make_tenant, settings):
    tenant = await make_tenant("pt-abc")

    info = await backups.backup(platform, "pt-abc")

    path = Path(info.path)
    assert path.parent == settings.backup_dir.resolve() / "pt-abc"
    assert path.name.endswith("-manual.dump") and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no .part left behind
    assert (path.stat().st_mode & 0o777) == 0o600
    import hashlib

    assert info.size_bytes == path.stat().st_size > 0
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (info.status, info.kind, info.server, info.db_name) == ("completed", "manual", "default", tenant.db_name)
    assert info.schema_revision == migrate.head("tenant") and info.finished_at is not None

    assert [b.id for b in await backups.list_backups(platform, "pt-abc")] == [info.id]
    [ev] = await events(platform, "tenant.backup")
    assert ev.tenant_id == tenant.id and ev.detail["sha256"] == info.sha256


async def test_backup_and_restore_round_trip_row_for_row(platform, make_tenant, live, pg_admin):
    await make_tenant("pt-abc")
    made = await add_products(live, "pt-abc", "PP-GRN-NAT", "MB-BLUE-01", "RAF-1200-WH")
    before = await tenant_row(platform, "pt-abc")
    saved = await snapshot(db_dsn(pg_admin, before))
    assert len(saved["products"]) == 3 and saved["units"] and saved["alembic_version"]
    info = await backups.backup(platform, "pt-abc")

    # Life goes on after the backup: one product changed, one deleted, one added.
    async with live.tenant_client("pt-abc") as c:
        assert (await c.patch(f"/api/v1/products/{made[0]['id']}", json={"name": "renamed"})).status_code == 200
        assert (await c.delete(f"/api/v1/products/{made[1]['id']}")).status_code == 204
    await add_products(live, "pt-abc", "WB-50KG-WH")
    assert await api_skus(live, "pt-abc") == ["PP-GRN-NAT", "RAF-1200-WH", "WB-50KG-WH"]

    result = await backups.restore(platform, "pt-abc", info.path)

    after = await tenant_row(platform, "pt-abc")
    assert after.db_name == result.db_name != before.db_name
    assert (after.db_user, after.db_password_enc, after.server_id) == (before.db_user, before.db_password_enc, before.server_id)
    assert await snapshot(db_dsn(pg_admin, after)) == saved  # row for row, every table
    assert not await exists(pg_admin, database=before.db_name)
    # Owned by the tenant's own role, database and every table; CONNECT for that role only.
    owners = await fetch(pg_admin.with_database(after.db_name),
                         "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    assert [r[0] for r in owners] == [after.db_user]
    [db] = await fetch(pg_admin, "SELECT pg_get_userbyid(datdba) AS owner, datacl::text AS acl FROM pg_database "
                                 "WHERE datname = $1", after.db_name)
    assert db["owner"] == after.db_user
    assert not [item for item in db["acl"].strip("{}").split(",") if item.startswith("=")]  # nothing for PUBLIC
    # The live server follows the switch (route invalidation, new engine) and serves the restored data.
    assert await api_skus(live, "pt-abc") == ["MB-BLUE-01", "PP-GRN-NAT", "RAF-1200-WH"]
    # The state it replaced was backed up first.
    pre = Path(result.pre_restore_backup)
    assert pre.name.endswith("-pre_restore.dump") and pre.is_file()
    [ev] = await events(platform, "tenant.restored")
    assert ev.detail["previous_db_name"] == before.db_name and ev.detail["db_name"] == after.db_name


async def test_restore_as_gives_an_independent_copy(platform, make_tenant, live, pg_admin):
    await make_tenant("pt-abc", "PT ABC Plastik")
    await add_products(live, "pt-abc", "PP-GRN-NAT", "MB-BLUE-01")
    info = await backups.backup(platform, "pt-abc")

    result = await backups.restore(platform, "pt-abc", info.path, as_subdomain="pt-abc-staging")

    assert result.cloned and result.subdomain == "pt-abc-staging" and result.source == "pt-abc"
    src, copy = await tenant_row(platform, "pt-abc"), await tenant_row(platform, "pt-abc-staging")
    assert (copy.status, copy.name, copy.plan, copy.onboarding_step) == ("active", "PT ABC Plastik (copy)", src.plan, "active")
    assert copy.db_name != src.db_name and copy.db_user != src.db_user
    assert platform.secrets.decrypt(copy.db_password_enc) != platform.secrets.decrypt(src.db_password_enc)
    assert await snapshot(db_dsn(pg_admin, copy)) == await snapshot(db_dsn(pg_admin, src))

    # Each role reaches its own database only (a real connection attempt).
    for role_of, db_of in ((copy, src), (src, copy)):
        dsn = PgDsn(pg_admin.host, pg_admin.port, role_of.db_user, platform.secrets.decrypt(role_of.db_password_enc),
                    db_of.db_name)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await asyncpg.connect(**dsn.asyncpg_kwargs())

    # Independent: a change to one is not seen by the other.
    await add_products(live, "pt-abc-staging", "ONLY-IN-COPY")
    async with live.tenant_client("pt-abc") as c:
        first = (await c.get("/api/v1/products")).json()["items"][0]
        assert (await c.patch(f"/api/v1/products/{first['id']}", json={"name": "only in original"})).status_code == 200
    assert await api_skus(live, "pt-abc") == ["MB-BLUE-01", "PP-GRN-NAT"]
    assert await api_skus(live, "pt-abc-staging") == ["MB-BLUE-01", "ONLY-IN-COPY", "PP-GRN-NAT"]
    async with live.tenant_client("pt-abc-staging") as c:
        names = {p["sku"]: p["name"] for p in (await c.get("/api/v1/products")).json()["items"]}
    assert names[first["sku"]] == first["name"]


async def test_restore_refuses_a_damaged_backup_and_changes_nothing(platform, make_tenant, pg_admin):
    await make_tenant("pt-abc")
    info = await backups.backup(platform, "pt-abc")
    before = await tenant_row(platform, "pt-abc")
    objects = await asyncio.to_thread(t_objects, pg_admin)
    data = bytearray(Path(info.path).read_bytes())
    data[len(data) // 2] ^= 0xFF
    Path(info.path).write_bytes(bytes(data))

    with pytest.raises(InvalidInput, match="does not match its recorded sha256"):
        await backups.restore(platform, "pt-abc", info.path)
    with pytest.raises(InvalidInput, match="does not match its recorded sha256"):
        await backups.restore(platform, "pt-abc", info.path, as_subdomain="pt-copy")

    after = await tenant_row(platform, "pt-abc")
    assert (after.db_name, after.status) == (before.db_name, "active")
    assert await asyncio.to_thread(t_objects, pg_admin) == objects


async def test_restore_refuses_another_tenants_backup_unless_cloning(platform, make_tenant, tmp_path):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    info = await backups.backup(platform, "pt-xyz")
    with pytest.raises(InvalidInput, match="is a backup of 'pt-xyz', not of 'pt-abc'; use --as"):
        await backups.restore(platform, "pt-abc", info.path)
    with pytest.raises(NotFound, match="no such backup file"):
        await backups.restore(platform, "pt-abc", tmp_path / "nope.dump")
    junk = tmp_path / "junk.dump"
    junk.write_text("not a dump")
    with pytest.raises(InvalidInput, match="not a pg_dump custom-format archive"):
        await backups.restore(platform, "pt-abc", junk)
    with pytest.raises(Conflict, match="subdomain 'pt-abc' is already taken"):
        await backups.restore(platform, "pt-xyz", info.path, as_subdomain="pt-abc")
    async with AsyncSession(platform.main_engine) as session:
        assert (await session.execute(select(Tenant.subdomain).order_by(Tenant.subdomain))).scalars().all() == ["pt-abc", "pt-xyz"]


async def test_a_failed_backup_is_recorded_and_leaves_no_file(platform, make_tenant, settings, tmp_path):
    await make_tenant("pt-abc")
    broken = tmp_path / "bin"
    broken.mkdir()
    (broken / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump: error: disk on fire' >&2\nexit 1\n")
    os.chmod(broken / "pg_dump", 0o755)
    platform.settings = settings.model_copy(update={"pg_bin": broken})

    with pytest.raises(pgtools.PgToolError, match="disk on fire"):
        await backups.backup(platform, "pt-abc")

    async with AsyncSession(platform.main_engine) as session:
        [row] = (await session.execute(select(Backup))).scalars().all()
    assert row.status == "failed" and "disk on fire" in row.error
    assert list((settings.backup_dir / "pt-abc").iterdir()) == []

    # A backup cut off by a killed process (row "running", a .part file) is cleaned up by the next one.
    async with AsyncSession(platform.main_engine) as session:
        session.add(Backup(tenant_id=row.tenant_id, kind="manual", status="running", path="/gone.dump",
                           server_name="default", db_name="x"))
        await session.commit()
    (settings.backup_dir / "pt-abc" / "x-manual.dump.part").write_bytes(b"half")
    platform.settings = settings
    done = await backups.backup(platform, "pt-abc")
    assert [p.name for p in (settings.backup_dir / "pt-abc").iterdir()] == [Path(done.path).name]
    assert [(b.status, b.error) for b in await backups.list_backups(platform, "pt-abc")] == [
        ("failed", row.error), ("failed", "interrupted"), ("completed", None)]


# --- the CLI -------------------------------------------------------------------------------------------


def test_cli_backup_backups_and_restore(cli, make_tenant_sync, settings):
    make_tenant_sync("pt-abc")

    result = cli("tenants", "backup", "pt-abc")
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout.startswith("backed up pt-abc: ") and "sha256" in result.stdout

    listed = cli("tenants", "backups", "pt-abc", "--json")
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.stdout)
    assert row["status"] == "completed" and row["kind"] == "manual" and row["path"] in result.stdout
    table = cli("tenants", "backups", "pt-abc")
    assert table.exit_code == 0 and "manual" in table.stdout and "completed" in table.stdout

    restored = cli("tenants", "restore", "pt-abc", row["path"])
    assert restored.exit_code == 0, (restored.output, restored.exception)
    assert restored.stdout.startswith(f"restored pt-abc from {row['path']}")

    cloned = cli("tenants", "restore", "pt-abc", row["path"], "--as", "pt-abc-copy", "--name", "Copy [staging]")
    assert cloned.exit_code == 0, (cloned.output, cloned.exception)
    assert cloned.stdout.startswith("created pt-abc-copy from ")
    tenants = {t["subdomain"]: t for t in json.loads(cli("tenants", "list", "--json").stdout)}
    assert tenants["pt-abc-copy"]["status"] == "active" and tenants["pt-abc-copy"]["name"] == "Copy [staging]"


BAD_INPUT = [
    (["backup", "nosuch"], ["no tenant 'nosuch'"]),
    (["backups", "nosuch"], ["no tenant 'nosuch'"]),
    (["restore", "nosuch", "{dump}"], ["no tenant 'nosuch'"]),
    (["restore", "pt-abc", "/nonexistent/x.dump"], ["no such backup file: /nonexistent/x.dump"]),
    (["restore", "pt-abc", "{junk}"], ["not a pg_dump custom-format archive"]),
    (["restore", "pt-abc", "{dump}", "--as", "pt-abc"], ["subdomain 'pt-abc' is already taken"]),
    (["restore", "pt-abc", "{dump}", "--as", "Bad_Name"], ["invalid subdomain 'Bad_Name'"]),
    (["restore", "pt-abc", "{dump}", "--as", "admin"], ["'admin' is reserved"]),
    (["restore", "pt-abc", "{dump}", "--as", "[red]x"], ["'[red]x'"]),
    (["restore", "pt-abc", "{dump}", "--as", "pt-new", "--server", "nosuch"], ["no database server named 'nosuch'"]),
    (["restore", "pt-abc", "{dump}", "--server", "default"], ["only apply with --as"]),
    (["backup", "[bold]pt"], ["no tenant '[bold]pt'"]),
]


def test_cli_bad_input_is_one_error_line_and_changes_nothing(cli, make_tenant_sync, pg_admin, tmp_path):
    """One tenant and one backup, then every kind of bad input against them (one setup: fast)."""
    make_tenant_sync("pt-abc")
    assert cli("tenants", "backup", "pt-abc").exit_code == 0
    [dump] = json.loads(cli("tenants", "backups", "pt-abc", "--json").stdout)
    junk = tmp_path / "junk.dump"
    junk.write_text("hello")
    before_tenants = cli("tenants", "list", "--json").stdout
    before_objects = t_objects(pg_admin)

    for args, mentions in BAD_INPUT:
        result = cli("tenants", *(a.format(dump=dump["path"], junk=junk) for a in args))
        try:
            assert_one_error_line(result, *mentions)
        except AssertionError as exc:
            raise AssertionError(f"tenants {' '.join(args)}: {exc}") from None

    assert cli("tenants", "list", "--json").stdout == before_tenants
    assert t_objects(pg_admin) == before_objects
    assert len(json.loads(cli("tenants", "backups", "pt-abc", "--json").stdout)) == 1
