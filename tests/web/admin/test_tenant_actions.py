"""The tenant page's forms do the admin API's work: a delete needs the subdomain typed again (a wrong one is a
422 and nothing is deleted); a module grant changes what the tenant's routes allow, and revoking it takes it
back; a backup is restored over the live database; a tenant moves to another server; archive drops the
database. Every change is attributed to the signed-in admin."""

from __future__ import annotations

import asyncio
import re
import time
from html import unescape

import psycopg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.platform import backups, entitlements, lifecycle, provisioning
from polyflow.platform.models import PlatformEvent, Tenant
from tests.web.admin.conftest import EMAIL, csrf_of, tenant_row

ACTOR = f"admin:{EMAIL}"


async def actions(platform, *names: str) -> list[tuple[str, str]]:
    async with AsyncSession(platform.main_engine) as session:
        rows = (await session.execute(select(PlatformEvent).where(PlatformEvent.action.in_(names))
                                      .order_by(PlatformEvent.id))).scalars()
        return [(e.action, e.actor) for e in rows]


def database_exists(settings, db_name: str) -> bool:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db_name,)).fetchone() is not None


async def wait_status(client, path: str, wanted: int, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while (r := await client.get(path)).status_code != wanted:
        assert time.monotonic() < deadline, f"{path}: still {r.status_code}, wanted {wanted}: {r.text}"
        await asyncio.sleep(0.02)


async def test_delete_needs_the_subdomain_typed_again(platform, settings, abc, console):
    async with console() as c:
        token = csrf_of((await c.get("/tenants/pt-abc")).text)
        for typed in ("", "pt-ab", "PT-ABC", " pt-abcd", "pt-xyz"):
            r = await c.post("/tenants/pt-abc/delete", data={"csrf_token": token, "confirm": typed})
            assert r.status_code == 422, (typed, r.text)
            assert "type the subdomain pt-abc exactly to confirm the deletion" in r.text
        t = await tenant_row(platform, "pt-abc")
        assert t.status == "active" and database_exists(settings, abc.db_name)
        assert await actions(platform, "tenant.deleted", "tenant.backup") == []

        r = await c.post("/tenants/pt-abc/delete", data={"csrf_token": token, "confirm": "pt-abc"})
        assert r.status_code == 303 and r.headers["location"] == "/tenants?done=deleted", r.text
        assert await tenant_row(platform, "pt-abc") is None and not database_exists(settings, abc.db_name)
        assert ("tenant.deleted", ACTOR) in await actions(platform, "tenant.deleted")
        r = await c.get(r.headers["location"])
        assert "The tenant was deleted" in r.text and "/tenants/pt-abc" not in r.text
        assert (await c.get("/tenants/pt-abc")).status_code == 404


async def test_a_module_grant_changes_what_the_tenant_allows(platform, abc, console, live):
    await entitlements.set_plan(platform, "pt-abc", "basic")  # no production in Basic
    async with console() as c, live.tenant_client("pt-abc") as t:
        await wait_status(t, "/api/v1/mrp/runs", 403)
        page = await c.get("/tenants/pt-abc")
        token = csrf_of(page.text)
        assert "Revoke the grant" not in page.text
        for bad, message in (({"module": "payroll"}, "unknown module"), ({"module": ""}, "choose a module"),
                             ({"module": "production", "until": "2020-01-01"}, "in the past"),
                             ({"module": "production", "until": "soon"}, "must be a day"),
                             ({"module": "production", "until": "9999-12-31"}, "must lie between")):
            r = await c.post("/tenants/pt-abc/modules", data={"csrf_token": token, **bad})
            assert r.status_code == 422 and message in r.text, (bad, r.text)
        assert (await t.get("/api/v1/mrp/runs")).status_code == 403

        r = await c.post("/tenants/pt-abc/modules", data={"csrf_token": token, "module": "production"})
        assert r.status_code == 303 and r.headers["location"] == "/tenants/pt-abc?done=granted", r.text
        await wait_status(t, "/api/v1/mrp/runs", 200)
        page = await c.get("/tenants/pt-abc?done=granted")
        assert "The module was granted." in page.text and "Revoke the grant" in page.text

        r = await c.post("/tenants/pt-abc/modules/production/revoke", data={"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == "/tenants/pt-abc?done=revoked"
        await wait_status(t, "/api/v1/mrp/runs", 403)
        r = await c.post("/tenants/pt-abc/modules/production/revoke", data={"csrf_token": token})
        assert r.status_code == 422 and "is not granted" in r.text
    assert await actions(platform, "module.granted", "module.revoked") == [
        ("module.granted", ACTOR), ("module.revoked", ACTOR)]


async def test_back_up_then_restore_a_backup_over_the_live_database(platform, settings, abc, console, live):
    xyz = await provisioning.create_tenant(platform, name="PT XYZ", subdomain="pt-xyz")
    theirs = await backups.backup(platform, "pt-xyz", actor="test")
    async with console() as c:
        token = csrf_of((await c.get("/tenants/pt-abc")).text)
        r = await c.post("/tenants/pt-abc/backup", data={"csrf_token": token})
        assert r.status_code == 303
        page = await c.get("/tenants/pt-abc")
        ids = re.findall(r'name="backup_id" value="([0-9a-f-]{36})"', page.text)
        assert len(ids) == 1
        # Something written after the backup: the restore takes the database back to before it.
        dsn = psycopg.conninfo.make_conninfo(settings.database_url, dbname=abc.db_name)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE written_after_the_backup (x int)")

        for bad, message in ((theirs.id, "no backup"), ("not-a-uuid", "choose a backup"), ("", "choose a backup")):
            r = await c.post("/tenants/pt-abc/restore", data={"csrf_token": token, "backup_id": bad})
            assert r.status_code == 422 and message in r.text, (bad, r.text)
        assert (await tenant_row(platform, "pt-abc")).db_name == abc.db_name  # nothing was done

        r = await c.post("/tenants/pt-abc/restore", data={"csrf_token": token, "backup_id": ids[0]})
        assert r.status_code == 303 and r.headers["location"] == "/tenants/pt-abc?done=restored", r.text
    after = await tenant_row(platform, "pt-abc")
    assert after.status == "active" and after.db_name != abc.db_name
    dsn = psycopg.conninfo.make_conninfo(settings.database_url, dbname=after.db_name)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass('written_after_the_backup')").fetchone()[0] is None
    async with live.tenant_client("pt-abc") as t:
        await wait_status(t, "/api/v1/tenant", 200)
    assert (await tenant_row(platform, "pt-xyz")).db_name == xyz.db_name  # the other tenant untouched

    # The same backup cloned into a new, independent tenant.
    async with console() as c:
        for taken, status, message in (("pt-xyz", 409, "already taken"), ("PT COPY", 422, "invalid subdomain"),
                                       ("", 422, "type the new tenant")):
            r = await c.post("/tenants/pt-abc/clone", data={"csrf_token": token, "backup_id": ids[0],
                                                           "as_subdomain": taken})
            assert r.status_code == status and message in unescape(r.text), (taken, r.text)
        r = await c.post("/tenants/pt-abc/clone", data={"csrf_token": token, "backup_id": ids[0],
                                                       "as_subdomain": "pt-abc-copy", "name": "PT ABC (copy)"})
        assert r.status_code == 303 and r.headers["location"] == "/tenants/pt-abc-copy?done=cloned", r.text
        page = await c.get(r.headers["location"])
        assert "PT ABC (copy)" in page.text and "made from another tenant" in page.text
    copy = await tenant_row(platform, "pt-abc-copy")
    assert copy.status == "active" and copy.db_name not in (after.db_name, abc.db_name)
    async with live.tenant_client("pt-abc-copy") as t:
        await wait_status(t, "/api/v1/tenant", 200)


async def test_move_to_another_server_archive_and_restore_the_archive(platform, settings, pg_admin, abc, console, live):
    # The same cluster under a second name: a real second database and role are made, copied and switched to.
    await lifecycle.add_server(platform, "second", pg_admin.url("postgresql"))
    async with console() as c:
        page = await c.get("/tenants/pt-abc")
        token = csrf_of(page.text)
        assert '<option value="second">' in page.text
        r = await c.post("/tenants/pt-abc/move", data={"csrf_token": token, "server": "nowhere"})
        assert r.status_code == 422 and "no database server named 'nowhere'" in unescape(r.text)
        r = await c.post("/tenants/pt-abc/move", data={"csrf_token": token, "server": "default"})
        assert r.status_code == 409 and "already on server 'default'" in unescape(r.text)
        r = await c.post("/tenants/pt-abc/move", data={"csrf_token": token, "server": "second"})
        assert r.status_code == 303 and r.headers["location"] == "/tenants/pt-abc?done=moved", r.text
        async with AsyncSession(platform.main_engine) as session:
            moved = (await session.execute(select(Tenant).where(Tenant.subdomain == "pt-abc"))).scalar_one()
            assert moved.server.name == "second" and moved.db_name != abc.db_name
        async with live.tenant_client("pt-abc") as t:
            await wait_status(t, "/api/v1/tenant", 200)

        r = await c.post("/tenants/pt-abc/archive", data={"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == "/tenants/pt-abc?done=archived", r.text
        t = await tenant_row(platform, "pt-abc")
        assert t.status == "archived" and not database_exists(settings, t.db_name)
        page = await c.get("/tenants/pt-abc?done=archived")
        assert "The tenant is archived" in page.text and 'action="/tenants/pt-abc/archive"' not in page.text

        # Brought back from its archive backup (the newest one, listed first).
        archive_backup = re.findall(r'name="backup_id" value="([0-9a-f-]{36})"', page.text)[0]
        r = await c.post("/tenants/pt-abc/restore", data={"csrf_token": token, "backup_id": archive_backup})
        assert r.status_code == 303 and r.headers["location"] == "/tenants/pt-abc?done=restored", r.text
        t = await tenant_row(platform, "pt-abc")
        assert t.status == "active" and database_exists(settings, t.db_name)
        async with live.tenant_client("pt-abc") as tenant_host:
            await wait_status(tenant_host, "/api/v1/tenant", 200)
    assert await actions(platform, "tenant.moved", "tenant.archived", "tenant.restored") == [
        ("tenant.moved", ACTOR), ("tenant.archived", ACTOR), ("tenant.restored", ACTOR)]


async def test_the_new_forms_need_a_session_and_a_csrf_token(platform, abc, console, anonymous):
    posts = {"delete": {"confirm": "pt-abc"}, "archive": {}, "restore": {"backup_id": "x"}, "move": {"server": "x"},
             "modules": {"module": "production"}, "modules/catalog/revoke": {}}
    async with anonymous as nobody, console() as c:
        for action, data in posts.items():
            r = await nobody.post(f"/tenants/pt-abc/{action}", data={"csrf_token": "x", **data})
            assert r.status_code == 303 and r.headers["location"] == "/login", action
            r = await c.post(f"/tenants/pt-abc/{action}", data={"csrf_token": "forged", **data})
            assert r.status_code == 403, action
            token = csrf_of((await c.get("/tenants/pt-abc")).text)
            r = await c.post(f"/tenants/pt-abc/{action}", data={"csrf_token": token, **data},
                             headers={"Origin": "http://evil.test"})
            assert r.status_code == 403, action
    t = await tenant_row(platform, "pt-abc")
    assert t.status == "active" and t.db_name == abc.db_name
