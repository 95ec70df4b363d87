"""The console's pages open for a signed-in super-admin only, and the tenants table shows each tenant's
real schema revision, database size and open connections (read from PostgreSQL), filters, searches, sorts,
and exports the same rows as CSV and Excel."""

from __future__ import annotations

import csv
import io
import re

import psycopg
from openpyxl import load_workbook

from polyflow.platform import lifecycle, provisioning
from polyflow.platform.admin.tenants import StatusChange, change_status  # noqa: F401 (the API's own service)
from tests.web.admin.conftest import tenant_row

PAGES = ["/", "/tenants", "/tenants?status=active&sort=-size", "/tenants/new", "/tenants/pt-abc",
         "/tenants/pt-abc/onboarding"]


async def test_every_page_needs_a_signed_in_admin(abc, console, anonymous):
    async with console() as c, anonymous as nobody:
        for path in PAGES:
            r = await c.get(path)
            assert r.status_code == 200, (path, r.text)
            assert "text/html" in r.headers["content-type"] and r.headers["cache-control"] == "no-store", path
            assert '<html lang="en">' in r.text, path
            assert "<script>" not in r.text and " style=" not in r.text, path  # CSP: nothing inline
            r = await nobody.get(path)
            assert r.status_code == 303 and r.headers["location"] == "/login", path
        assert '<html lang="en">' in (await nobody.get("/login")).text
        for path in ("/tenants?export=csv", "/tenants?export=xlsx"):
            r = await nobody.get(path)  # nor do the exports leak
            assert r.status_code == 303 and r.headers["location"] == "/login", path


def database_size(settings, db_name: str) -> int:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        return conn.execute("SELECT pg_database_size(%s)", (db_name,)).fetchone()[0]


async def test_the_table_shows_real_revisions_sizes_and_connections(platform, settings, abc, console):
    xyz = await provisioning.create_tenant(platform, name="PT XYZ Kemasan", subdomain="pt-xyz")
    await change_status(platform, "pt-xyz", "test", to="suspended", allowed_from="active", reason="unpaid",
                        action="tenant.suspended", rule="only an active tenant can be suspended")
    abc_row = await tenant_row(platform, "pt-abc")
    assert abc_row.schema_revision  # a real revision, from the migration that ran
    # Two sessions held open on pt-abc's database, none on pt-xyz's.
    dsn = psycopg.conninfo.make_conninfo(settings.database_url, dbname=abc_row.db_name)
    with psycopg.connect(dsn) as one, psycopg.connect(dsn) as two:
        one.execute("SELECT 1")
        two.execute("SELECT 1")
        async with console() as c:
            r = await c.get("/tenants")
            assert r.status_code == 200, r.text
            html = r.text
            assert "pt-abc" in html and "pt-xyz" in html and abc_row.schema_revision in html
            assert "PT ABC Plastik" in html and 'class="table-wrap"' in html

            # The export carries the raw figures: compare them with PostgreSQL's own.
            r = await c.get("/tenants?export=csv")
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
            rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
            by_sub = {row["Subdomain"]: row for row in rows}
            assert set(by_sub) == {"pt-abc", "pt-xyz"}
            a = by_sub["pt-abc"]
            assert a["Status"] == "active" and a["Plan"] == "trial" and a["Server"] == "default"
            assert a["Schema revision"] == abc_row.schema_revision
            real = database_size(settings, abc_row.db_name)
            assert abs(int(a["Database size"]) - real) <= 1024 * 1024, (a, real)  # same database, within 1 MiB
            assert int(a["Connections"]) >= 2  # the two held open above
            assert by_sub["pt-xyz"]["Connections"] == "0"
            assert a["Last activity"]
            assert by_sub["pt-xyz"]["Status"] == "suspended"
            # The page shows the size in binary units.
            shown = f"{real / 1024 / 1024:.1f} MiB"
            assert shown in html or f"{int(a['Database size']) / 1024 / 1024:.1f} MiB" in html

            # Excel: the same rows, numbers as numbers.
            r = await c.get("/tenants?export=xlsx&status=suspended")
            assert r.status_code == 200, r.text
            sheet = load_workbook(io.BytesIO(r.content)).active
            values = list(sheet.iter_rows(values_only=True))
            header, body = values[0], values[1:]
            assert header[:3] == ("Subdomain", "Name", "Status") and len(body) == 1
            row = dict(zip(header, body[0]))
            assert row["Subdomain"] == "pt-xyz" and isinstance(row["Database size"], int)
            assert row["Database size"] == database_size(settings, xyz.db_name) or row["Database size"] > 0

            # Filters and search.
            r = await c.get("/tenants?status=suspended")
            assert "pt-xyz" in r.text and "/tenants/pt-abc" not in r.text
            r = await c.get("/tenants?q=kemasan")
            assert "/tenants/pt-xyz" in r.text and "/tenants/pt-abc" not in r.text
            r = await c.get("/tenants?q=owner%40abc")  # the owner's email is searched too
            assert "/tenants/pt-abc" in r.text and "/tenants/pt-xyz" not in r.text
            r = await c.get("/tenants?q=100%25")  # a wildcard typed is a literal
            assert r.status_code == 200 and "/tenants/pt-abc" not in r.text
            r = await c.get("/tenants?server=nowhere")
            assert r.status_code == 200 and "/tenants/pt-" not in r.text
            r = await c.get("/tenants?status=bogus")
            assert r.status_code == 422 and "unknown status" in r.text

            # Sorting by a live figure: the most connections first (pt-abc has two, pt-xyz none).
            r = await c.get("/tenants?sort=-connections")
            order = re.findall(r'href="/tenants/(pt-[a-z]+)"', r.text)
            assert order == ["pt-abc", "pt-xyz"], order
            r = await c.get("/tenants?sort=subdomain")
            assert re.findall(r'href="/tenants/(pt-[a-z]+)"', r.text) == ["pt-abc", "pt-xyz"]
            r = await c.get("/tenants?sort=-subdomain")
            assert re.findall(r'href="/tenants/(pt-[a-z]+)"', r.text) == ["pt-xyz", "pt-abc"]


async def test_an_archived_tenant_has_no_size_and_the_table_still_renders(platform, abc, console):
    await lifecycle.archive(platform, "pt-abc", actor="test")
    async with console() as c:
        r = await c.get("/tenants?export=csv")
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [(x["Subdomain"], x["Status"], x["Database size"], x["Connections"]) for x in rows] == [
            ("pt-abc", "archived", "", "")]
        r = await c.get("/tenants")
        assert r.status_code == 200 and "archived" in r.text


async def test_an_unreachable_server_is_a_warning_not_an_error(platform, abc, console):
    xyz = await provisioning.create_tenant(platform, name="PT XYZ", subdomain="pt-xyz")
    async with platform.main_engine.begin() as conn:  # pt-xyz's server stops answering (nothing listens on port 1)
        await conn.exec_driver_sql(
            "INSERT INTO database_servers (id, name, host, port, admin_user, admin_database, is_active, created_at,"
            " updated_at) VALUES (gen_random_uuid(), 'gone', '127.0.0.1', 1, 'postgres', 'postgres', true, now(), now())")
        await conn.exec_driver_sql("UPDATE tenants SET server_id = (SELECT id FROM database_servers WHERE name = 'gone')"
                                   f" WHERE id = '{xyz.id}'")
    async with console() as c:
        r = await c.get("/tenants")
        assert r.status_code == 200 and "database server &#39;gone&#39;" in r.text and 'class="warning"' in r.text
        r = await c.get("/tenants?export=csv")
        rows = {x["Subdomain"]: x for x in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))}
        assert rows["pt-xyz"]["Database size"] == "" and rows["pt-xyz"]["Server"] == "gone"
        assert int(rows["pt-abc"]["Database size"]) > 0  # the reachable server still reports


async def test_one_query_per_server_not_per_tenant(platform, abc, console, monkeypatch):
    from polyflow.platform.admin import tenants as admin_tenants

    for sub in ("pt-b", "pt-c", "pt-d"):
        await provisioning.create_tenant(platform, name=sub.upper(), subdomain=sub)
    opened, queries = [], []
    real_connect = admin_tenants.admin_connect

    class Counted:
        """The real connection, its queries counted."""

        def __init__(self, conn):
            self.conn = conn

        async def fetch(self, query, *args):
            queries.append(query)
            return await self.conn.fetch(query, *args)

        async def close(self):
            await self.conn.close()

    async def counting_connect(server, secrets, database=None):
        opened.append(server.name)
        return Counted(await real_connect(server, secrets, database))

    monkeypatch.setattr(admin_tenants, "admin_connect", counting_connect)
    async with console() as c:
        r = await c.get("/tenants")
        assert r.status_code == 200 and all(f"/tenants/{s}" in r.text for s in ("pt-abc", "pt-b", "pt-c", "pt-d"))
    assert opened == ["default"] and len(queries) == 1  # four tenants, one server: one query
