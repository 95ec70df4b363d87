"""Archive, delete, database servers and the admin API for them, against the real cluster and live HTTP."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.db import PgDsn
from polyflow.kit.errors import Conflict
from polyflow.platform import backups, lifecycle, onboarding
from polyflow.platform.localpg import free_port
from polyflow.platform.models import Backup, DatabaseServer, Tenant
from tests.platform.test_backups import (  # noqa: F401  (fixtures)
    add_products, api_skus, cli, cli_env, db_dsn, events, exists, settings, snapshot, tenant_row, wait_for,
)
from tests.platform.test_cli import assert_one_error_line, t_objects


async def _status(live, subdomain: str) -> int:
    async with live.tenant_client(subdomain) as c:
        return (await c.get("/api/v1/products")).status_code


async def _backups_of(platform, tenant_id) -> list[Backup]:
    async with AsyncSession(platform.main_engine) as session:
        return list((await session.execute(select(Backup).where(Backup.tenant_id == tenant_id)
                                           .order_by(Backup.started_at))).scalars())


# --- archive -------------------------------------------------------------------------------------------


async def test_archive_drops_the_database_answers_403_and_restores_from_its_backup(platform, make_tenant, live,
                                                                                     cli, pg_admin):
    await make_tenant("pt-abc")
    await add_products(live, "pt-abc", "PP-GRN-NAT", "MB-BLUE-01")
    before = await tenant_row(platform, "pt-abc")
    saved = await snapshot(db_dsn(pg_admin, before))
    assert await _status(live, "pt-abc") == 200

    result = await asyncio.to_thread(cli, "tenants", "archive", "pt-abc")

    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout.startswith(f"pt-abc: archived (database {before.db_name} dropped, backup ")
    assert await wait_for(lambda: _is(live, "pt-abc", 403), timeout=1.0)
    async with live.tenant_client("pt-abc") as c:
        assert "archived" in (await c.get("/api/v1/products")).json()["detail"]
    row = await tenant_row(platform, "pt-abc")
    assert row.status == "archived" and row.archived_at is not None
    assert not await exists(pg_admin, database=before.db_name)
    assert not await exists(pg_admin, role=before.db_user)
    [archive] = await _backups_of(platform, before.id)
    assert (archive.kind, archive.status) == ("archive", "completed") and archive.path in result.stdout
    assert [e.tenant_id for e in await events(platform, "tenant.archived")] == [before.id]

    again = await asyncio.to_thread(cli, "tenants", "archive", "pt-abc")
    assert_one_error_line(again, "tenant 'pt-abc' is already archived")
    assert_one_error_line(await asyncio.to_thread(cli, "tenants", "backup", "pt-abc"), "is archived: it has no database")

    # Restoring the archive brings it back, with a new role of its own.
    restored = await asyncio.to_thread(cli, "tenants", "restore", "pt-abc", archive.path)
    assert restored.exit_code == 0, (restored.output, restored.exception)
    row = await tenant_row(platform, "pt-abc")
    assert (row.status, row.archived_at) == ("active", None) and row.db_user != before.db_user
    assert await snapshot(db_dsn(pg_admin, row)) == saved
    assert await wait_for(lambda: _is(live, "pt-abc", 200), timeout=1.0)
    assert await api_skus(live, "pt-abc") == ["MB-BLUE-01", "PP-GRN-NAT"]


async def _is(live, subdomain: str, status: int) -> bool:
    return await _status(live, subdomain) == status


# --- delete --------------------------------------------------------------------------------------------


async def test_delete_requires_confirmation_then_tombstones_and_frees_the_subdomain(platform, make_tenant, live, cli,
                                                                                     pg_admin):
    await make_tenant("pt-abc")
    await add_products(live, "pt-abc", "PP-GRN-NAT")
    before = await tenant_row(platform, "pt-abc")
    objects = await asyncio.to_thread(t_objects, pg_admin)

    for args in (["pt-abc"], ["pt-abc", "--confirm", "pt-ab"], ["pt-abc", "--confirm", "PT-ABC"], ["pt-abc", "--confirm", ""]):
        result = await asyncio.to_thread(cli, "tenants", "delete", *args)
        assert_one_error_line(result, "refusing to delete 'pt-abc' without confirmation: pass --confirm pt-abc")
    assert (await tenant_row(platform, "pt-abc")).status == "active"
    assert await asyncio.to_thread(t_objects, pg_admin) == objects
    assert await _backups_of(platform, before.id) == []

    result = await asyncio.to_thread(cli, "tenants", "delete", "pt-abc", "--confirm", "pt-abc")

    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout.startswith("pt-abc: deleted (database and role dropped, backup ")
    assert await wait_for(lambda: _is(live, "pt-abc", 404), timeout=1.0)
    row = await tenant_row(platform, "pt-abc", deleted=True)
    assert row.id == before.id and row.deleted_at is not None
    assert not await exists(pg_admin, database=before.db_name)
    assert not await exists(pg_admin, role=before.db_user)
    [pre] = await _backups_of(platform, before.id)
    assert (pre.kind, pre.status) == ("pre_delete", "completed")

    # The subdomain is free again; the old tenant's backups stay listed under it.
    await make_tenant("pt-abc")
    assert await wait_for(lambda: _is(live, "pt-abc", 200), timeout=1.0)
    assert await api_skus(live, "pt-abc") == []
    listed = await asyncio.to_thread(cli, "tenants", "backups", "pt-abc", "--json")
    assert [b["kind"] for b in json.loads(listed.stdout)] == ["pre_delete"]
    # ...and the deleted tenant can be brought back as a new one from it.
    clone = await backups.restore(platform, "pt-abc", pre.path, as_subdomain="pt-abc-old")
    assert clone.cloned and await api_skus(live, "pt-abc-old") == ["PP-GRN-NAT"]

    again = await asyncio.to_thread(cli, "tenants", "delete", "nosuch", "--confirm", "nosuch")
    assert_one_error_line(again, "no tenant 'nosuch'")


async def test_delete_an_archived_tenant_and_an_unfinished_onboarding(platform, make_tenant, pg_admin):
    tenant = await make_tenant("pt-abc")
    await lifecycle.archive(platform, "pt-abc")
    result = await lifecycle.delete(platform, "pt-abc", confirm="pt-abc")
    assert result.status == "deleted" and result.backup is None  # nothing left to dump: the archive stays
    assert [b.kind for b in await _backups_of(platform, tenant.id)] == ["archive"]

    await onboarding.reserve(platform, name="Half", subdomain="pt-half", admin_email=None)
    result = await lifecycle.delete(platform, "pt-half", confirm="pt-half")
    assert result.status == "removed"
    async with AsyncSession(platform.main_engine) as session:
        assert (await session.execute(select(Tenant).where(Tenant.subdomain == "pt-half"))).first() is None


async def test_one_operation_per_tenant_at_a_time(platform, make_tenant):
    await make_tenant("pt-abc")
    async with backups.locked_tenant(platform, "pt-abc"):
        with pytest.raises(Conflict, match="another operation on tenant 'pt-abc' is running"):
            await backups.backup(platform, "pt-abc")
        with pytest.raises(Conflict, match="another operation"):
            await lifecycle.archive(platform, "pt-abc")
    assert (await backups.backup(platform, "pt-abc")).status == "completed"


async def test_a_database_left_read_only_by_a_killed_operation_is_healed_by_the_next_one(platform, make_tenant, live):
    tenant = await make_tenant("pt-abc")
    client = live.tenant_client("pt-abc")  # signed in while the database still takes writes
    await backups.freeze(platform, tenant.server, tenant.db_name)  # ...and then the process was killed
    async with client as c:
        r = await c.post("/api/v1/products", json={"sku": "X-1", "name": "x"})
        assert r.status_code == 503 and "being moved or restored" in r.json()["detail"]

    await backups.backup(platform, "pt-abc")

    [healed] = await events(platform, "tenant.unfrozen")
    assert healed.tenant_id == tenant.id
    async with live.tenant_client("pt-abc") as c:
        for _ in range(3):  # its pooled (read-only) connections were recycled: at most one 503 first
            r = await c.post("/api/v1/products", json={"sku": "X-1", "name": "x"})
            if r.status_code == 201:
                break
        assert r.status_code == 201, r.text


async def test_the_old_database_is_kept_if_its_successor_is_missing(platform, make_tenant, pg_admin):
    """E.g. `reconcile --fix` took the new copy for an orphan: the old one is then the only copy of the data."""
    tenant = await make_tenant("pt-abc")
    ghost = backups.NewDatabase(tenant.server, "t_pt_abc_gone00", "t_pt_abc_gone00", "x", owns_role=True)

    warnings = await backups.retire(platform, tenant, tenant.server, tenant.db_name, tenant.db_user, "test",
                                    successor=ghost)

    assert "was kept: it holds the data" in warnings[0]
    assert await exists(pg_admin, database=tenant.db_name) and await exists(pg_admin, role=tenant.db_user)
    assert [e.detail["db_name"] for e in await events(platform, "tenant.cleanup_skipped")] == [tenant.db_name]


# --- servers -------------------------------------------------------------------------------------------


def test_servers_add_and_list(cli, settings, pg_admin, make_tenant_sync):
    make_tenant_sync("pt-abc")
    dsn = pg_admin.url("postgresql")

    result = cli("servers", "add", "db2", dsn, "--max-tenants", "3")

    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout.startswith(f"server db2: {pg_admin.host}:{pg_admin.port} as postgres, 0 tenant(s), 3 of 3 free")
    rows = {r["name"]: r for r in json.loads(cli("servers", "list", "--json").stdout)}
    assert rows["default"]["tenants"] == 1 and rows["default"]["free"] is None
    assert rows["db2"] == {"name": "db2", "host": pg_admin.host, "port": pg_admin.port, "admin_user": "postgres",
                           "is_active": True, "max_tenants": 3, "tenants": 0, "free": 3}
    table = cli("servers", "list")
    assert table.exit_code == 0 and "db2" in table.stdout and "unlimited" in table.stdout

    async def stored():
        from polyflow.platform.runtime import Platform

        p = Platform(settings)
        try:
            async with AsyncSession(p.main_engine) as session:
                server = (await session.execute(select(DatabaseServer).where(DatabaseServer.name == "db2"))).scalar_one()
                return server.admin_password_enc, p.secrets.decrypt(server.admin_password_enc)
        finally:
            await p.stop()

    encrypted, plain = asyncio.run(stored())
    assert plain == pg_admin.password and pg_admin.password not in encrypted

    # Same name again: an update (here the limit), not a second row.
    assert cli("servers", "add", "db2", dsn, "--max-tenants", "1").exit_code == 0
    rows = {r["name"]: r for r in json.loads(cli("servers", "list", "--json").stdout)}
    assert len(rows) == 2 and rows["db2"]["max_tenants"] == 1


def test_servers_add_bad_input(cli, settings, pg_admin, make_tenant_sync):
    make_tenant_sync("pt-abc")
    closed = free_port()
    wrong_password = PgDsn(pg_admin.host, pg_admin.port, pg_admin.user, "wrong", "postgres").url("postgresql")
    cases = [
        (["Bad Name", pg_admin.url("postgresql")], ["invalid server name 'Bad Name'"]),
        (["[red]x", pg_admin.url("postgresql")], ["invalid server name '[red]x'"]),
        (["db2", "mysql://root@localhost/x"], ["invalid DSN", "not a postgresql:// URL"]),
        (["db2", f"postgresql://postgres:pw@127.0.0.1:{closed}/postgres"], ["cannot connect to", str(closed)]),
        (["db2", wrong_password], ["cannot connect to", "password authentication failed"]),
        (["db2", pg_admin.url("postgresql"), "--max-tenants", "-1"], ["--max-tenants must be 0 or more"]),
        # Re-pointing a server that holds tenants at another address would strand them.
        (["default", PgDsn("localhost", pg_admin.port, pg_admin.user, pg_admin.password, "postgres").url("postgresql")],
         ["server 'default' already exists at", "with 1 tenant(s)"]),
    ]
    before = cli("servers", "list", "--json").stdout
    for args, mentions in cases:
        result = cli("servers", "add", *args)
        try:
            assert_one_error_line(result, *mentions)
        except AssertionError as exc:
            raise AssertionError(f"servers add {' '.join(args)}: {exc}") from None
        assert "wrong" not in result.stderr and pg_admin.password not in result.stderr  # never echo a password
    assert cli("servers", "list", "--json").stdout == before


# --- admin API -----------------------------------------------------------------------------------------


async def test_admin_api(make_settings, make_live, tmp_path, pg_admin):
    s = make_settings(backup_dir=tmp_path / "backups", operator_token="op-token-0123456789")
    live = make_live(s)
    from polyflow.platform.runtime import Platform

    p = Platform(s)
    try:
        from polyflow.platform import provisioning

        await provisioning.create_tenant(p, name="ABC", subdomain="pt-abc")
    finally:
        await p.stop()
    auth = {"Authorization": "Bearer op-token-0123456789"}
    async with live.client("admin.localhost") as c:
        assert (await c.post("/admin/api/tenants/pt-abc/backups")).status_code == 401
        r = await c.post("/admin/api/tenants/pt-abc/backups", headers=auth)
        assert r.status_code == 201 and r.json()["status"] == "completed", r.text
        backup_id = r.json()["id"]
        r = await c.get("/admin/api/tenants/pt-abc/backups", headers=auth)
        assert [b["id"] for b in r.json()] == [backup_id]
        r = await c.post("/admin/api/tenants/pt-abc/restore", headers=auth,
                         json={"backup_id": backup_id, "as_subdomain": "pt-abc-copy"})
        assert r.status_code == 200 and r.json()["cloned"] is True, r.text
        r = await c.post("/admin/api/tenants/pt-abc/move", headers=auth, json={"to": "nosuch"})
        assert r.status_code == 404 and r.json()["detail"] == "no database server named 'nosuch'"
        r = await c.post("/admin/api/tenants/pt-abc/delete", headers=auth, json={"confirm": "nope"})
        assert r.status_code == 422 and "without confirmation" in r.json()["detail"]
        r = await c.post("/admin/api/tenants/pt-abc-copy/archive", headers=auth)
        assert r.status_code == 200 and r.json()["status"] == "archived", r.text
        r = await c.post("/admin/api/tenants/pt-abc-copy/delete", headers=auth, json={"confirm": "pt-abc-copy"})
        assert r.status_code == 200 and r.json()["status"] == "deleted", r.text
        r = await c.get("/admin/api/servers", headers=auth)
        assert [(x["name"], x["tenants"]) for x in r.json()] == [("default", 1)]
        r = await c.post("/admin/api/servers", headers=auth, json={"name": "db2", "dsn": pg_admin.url("postgresql")})
        assert r.status_code == 201 and r.json()["name"] == "db2", r.text
    [ev] = [e for e in await _events_of(s, "tenant.backup") if e.detail["kind"] == "manual"]
    assert ev.actor == "operator-token"


async def _events_of(settings, action):
    from polyflow.platform.runtime import Platform

    p = Platform(settings)
    try:
        return await events(p, action)
    finally:
        await p.stop()
