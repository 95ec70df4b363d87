"""Moving a tenant to a second PostgreSQL cluster while it is being read and written over live HTTP."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.db import PgDsn
from polyflow.platform import lifecycle, pgtools
from polyflow.platform.localpg import LocalCluster, free_port
from polyflow.platform.models import Backup, DatabaseServer
from tests.platform.test_backups import (  # noqa: F401  (fixtures)
    add_products, cli, cli_env, events, exists, fetch, settings, snapshot, tenant_row, wait_for,
)
from tests.platform.test_cli import assert_one_error_line, tenant_rows


@pytest.fixture(scope="module")
def second_cluster():
    """Another PostgreSQL cluster on its own port (a folder the postgres user can reach)."""
    root = Path(tempfile.mkdtemp(prefix="pf-pg2-"))
    os.chmod(root, 0o755)
    cluster = LocalCluster(root, free_port(), fast=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


async def _objects_of(dsn: PgDsn, subdomain: str) -> set[tuple[str, str]]:
    prefix = "t_" + subdomain.replace("-", "_") + "_%"
    dbs = await fetch(dsn, "SELECT datname FROM pg_database WHERE datname LIKE $1", prefix)
    roles = await fetch(dsn, "SELECT rolname FROM pg_roles WHERE rolname LIKE $1", prefix)
    return {("database", r[0]) for r in dbs} | {("role", r[0]) for r in roles}


async def test_move_between_two_clusters_while_being_read_and_written(platform, make_tenant, live, cli, pg_admin,
                                                                      second_cluster):
    added = await asyncio.to_thread(cli, "servers", "add", "second", second_cluster.dsn().url("postgresql"))
    assert added.exit_code == 0, (added.output, added.exception)
    await make_tenant("pt-abc")
    await add_products(live, "pt-abc", *(f"SKU-{i:03d}" for i in range(25)))
    before = await tenant_row(platform, "pt-abc")
    saved = await snapshot(pg_admin.with_database(before.db_name))
    there = await _objects_of(second_cluster.dsn(), "pt-abc")

    stop = asyncio.Event()
    reads: list[tuple[int, str]] = []
    writes: list[tuple[str, int, str]] = []

    async def reader():
        async with live.tenant_client("pt-abc") as c:
            while not stop.is_set():
                r = await c.get("/api/v1/products", params={"limit": 100})
                reads.append((r.status_code, "" if r.status_code == 200 else r.text))

    async def writer():
        n = 0
        async with live.tenant_client("pt-abc") as c:
            while not stop.is_set():
                sku = f"W-{n:05d}"
                n += 1
                r = await c.post("/api/v1/products", json={"sku": sku, "name": "written during the move"})
                writes.append((sku, r.status_code, r.text))
                await asyncio.sleep(0.005)

    tasks = [asyncio.create_task(reader()), asyncio.create_task(reader()), asyncio.create_task(writer())]
    await asyncio.sleep(0.3)  # traffic flowing, engines warm
    moved = await asyncio.to_thread(cli, "tenants", "move", "pt-abc", "--to", "second")
    await asyncio.sleep(0.3)  # and it keeps flowing, now to the new cluster
    stop.set()
    await asyncio.gather(*tasks)

    assert moved.exit_code == 0, (moved.output, moved.exception)
    assert moved.stdout.startswith("moved pt-abc to server 'second' (database t_pt_abc_")
    # No request failed except with 503 while the database was frozen or being switched.
    assert len(reads) > 50
    assert [r for r in reads if r[0] not in (200, 503)] == []
    assert [w for w in writes if w[1] not in (201, 503)] == []
    refused = [w for w in writes if w[1] == 503]
    assert refused and any("being moved" in w[2] for w in refused)  # the read-only freeze, as a clear 503

    after = await tenant_row(platform, "pt-abc")
    async with AsyncSession(platform.main_engine) as session:
        server = await session.get(DatabaseServer, after.server_id)
    assert server.name == "second" and after.status == "active"
    assert after.db_name != before.db_name and after.db_user != before.db_user
    assert platform.secrets.decrypt(after.db_password_enc) != platform.secrets.decrypt(before.db_password_enc)

    # Data equal: everything that was there, plus exactly the writes that were acknowledged (none lost).
    moved_data = await snapshot(second_cluster.dsn(after.db_name))
    written = ("products", "product_variants")  # creating a product also creates its default variant
    assert {t: rows for t, rows in moved_data.items() if t not in written} == \
        {t: rows for t, rows in saved.items() if t not in written}
    acknowledged = {sku for sku, code, _ in writes if code == 201}
    by_id = {row[0]: row for row in moved_data["products"]}
    assert all(by_id[row[0]] == row for row in saved["products"])  # the original rows, unchanged
    skus = [r[0] for r in await fetch(second_cluster.dsn(after.db_name), "SELECT sku FROM products")]
    assert sorted(skus) == sorted({f"SKU-{i:03d}" for i in range(25)} | acknowledged)
    variant_skus = [r[0] for r in await fetch(second_cluster.dsn(after.db_name), "SELECT sku FROM product_variants")]
    assert sorted(variant_skus) == sorted(skus)
    owners = await fetch(second_cluster.dsn(after.db_name),
                         "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    assert [r[0] for r in owners] == [after.db_user]

    # The old database and role are gone from the first cluster; nothing else of it is left on either.
    assert not await exists(pg_admin, database=before.db_name)
    assert not await exists(pg_admin, role=before.db_user)
    assert await _objects_of(pg_admin, "pt-abc") == set()
    assert await _objects_of(second_cluster.dsn(), "pt-abc") == there | {("database", after.db_name),
                                                                         ("role", after.db_user)}

    # Served from the new cluster, writable again.
    async with live.tenant_client("pt-abc") as c:
        r = await c.post("/api/v1/products", json={"sku": "AFTER-MOVE", "name": "x"})
        assert r.status_code == 201, r.text
        assert (await c.get("/api/v1/products", params={"limit": 1})).json()["total"] == len(skus) + 1
    [ev] = await events(platform, "tenant.moved")
    assert (ev.detail["previous_server"], ev.detail["server"]) == ("default", "second")
    listed = {r.name: r.tenants for r in await lifecycle.list_servers(platform)}
    assert listed == {"default": 0, "second": 1}


async def test_a_move_that_fails_after_the_freeze_leaves_the_tenant_as_it_was(platform, make_tenant, live, settings,
                                                                              pg_admin, second_cluster, tmp_path):
    await lifecycle.add_server(platform, "second", second_cluster.dsn().url("postgresql"))
    await make_tenant("pt-abc")
    await add_products(live, "pt-abc", "PP-GRN-NAT")
    before = await tenant_row(platform, "pt-abc")
    there = await _objects_of(second_cluster.dsn(), "pt-abc")  # earlier tests' tenants live on there
    # Real pg_dump; a pg_restore that fails (after the database was frozen and dumped).
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "pg_dump").symlink_to(pgtools.find_tool("pg_dump"))
    (tools / "pg_restore").write_text("#!/bin/sh\necho 'pg_restore: error: out of disk space' >&2\nexit 1\n")
    os.chmod(tools / "pg_restore", 0o755)
    platform.settings = settings.model_copy(update={"pg_bin": tools})

    with pytest.raises(pgtools.PgToolError, match="out of disk space"):
        await lifecycle.move(platform, "pt-abc", to="second")

    after = await tenant_row(platform, "pt-abc")
    assert (after.server_id, after.db_name, after.db_user, after.db_password_enc) == \
        (before.server_id, before.db_name, before.db_user, before.db_password_enc)
    assert await _objects_of(second_cluster.dsn(), "pt-abc") == there  # the half-made copy is gone
    assert not await fetch(pg_admin, "SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                                     "WHERE d.datname = $1", before.db_name)  # no longer read-only

    async def writable():
        async with live.tenant_client("pt-abc") as c:
            r = await c.post("/api/v1/products", json={"sku": f"AFTER-{os.urandom(3).hex()}", "name": "x"})
            return r.status_code == 201

    assert await wait_for(writable, timeout=3.0)
    [failed] = await events(platform, "tenant.move_failed")
    assert "out of disk space" in failed.detail["error"]
    async with AsyncSession(platform.main_engine) as session:
        [dump] = (await session.execute(select(Backup))).scalars().all()
    assert dump.kind == "move" and dump.status == "completed"  # the dump itself is kept and recorded


def test_move_bad_input_is_one_error_line_and_changes_nothing(cli, settings, make_tenant_sync, second_cluster):
    make_tenant_sync("pt-abc")
    assert cli("servers", "add", "full", second_cluster.dsn().url("postgresql"), "--max-tenants", "0").exit_code == 0
    closed = free_port()
    assert cli("servers", "add", "offline", second_cluster.dsn().url("postgresql")).exit_code == 0
    # Then the server goes away (registered while it answered).
    offline = PgDsn("127.0.0.1", closed, "postgres", "x", "postgres")

    async def point_offline():
        from polyflow.platform.runtime import Platform
        from polyflow.platform.servers import ensure_server

        p = Platform(settings)
        try:
            async with AsyncSession(p.main_engine) as session:
                await ensure_server(session, p.secrets, "offline", offline)
                await session.commit()
        finally:
            await p.stop()

    asyncio.run(point_offline())
    before = tenant_rows(settings)
    there = asyncio.run(_objects_of(second_cluster.dsn(), "pt-abc"))
    cases = [
        (["nosuch", "--to", "full"], ["no tenant 'nosuch'"]),
        (["pt-abc", "--to", "nosuch"], ["no database server named 'nosuch'"]),
        (["pt-abc", "--to", "[red]x"], ["no database server named '[red]x'"]),
        (["pt-abc", "--to", "default"], ["tenant 'pt-abc' is already on server 'default'"]),
        (["pt-abc", "--to", "full"], ["database server 'full' is full (0 of 0 tenants)"]),
        (["pt-abc", "--to", "offline"], ["database server 'offline'", "unreachable", str(closed)]),
    ]
    for args, mentions in cases:
        result = cli("tenants", "move", *args)
        try:
            assert_one_error_line(result, *mentions)
        except AssertionError as exc:
            raise AssertionError(f"tenants move {' '.join(args)}: {exc}") from None
    assert tenant_rows(settings) == before
    assert asyncio.run(_objects_of(second_cluster.dsn(), "pt-abc")) == there
