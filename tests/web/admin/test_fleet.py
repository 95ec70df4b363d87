"""The fleet page: tenants per schema revision and the tenants whose last migration failed, with the error;
a rollout started from the console with a canary stops when the canary fails (the rest left behind); the
run's page refreshes itself while it runs; without a canary the healthy tenant reaches the new head.
The test revisions x1001/x1002 (tests/fixtures/fleet_revisions) sit on top of the shipped head; x1002 fails
on a tenant with two product names differing only in case."""

from __future__ import annotations

import re
from html import unescape

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.platform import migrate, provisioning
from polyflow.platform.models import MigrationRun, Tenant
from tests.fixtures.fleet_revisions import BACKFILL, STRICT
from tests.web.admin.conftest import EMAIL, csrf_of, eventually, worker

HEAD = migrate.code_head("tenant")


async def tenant_sql(platform, sub: str, sql: str) -> None:
    async with AsyncSession(platform.main_engine) as session:
        t = (await session.execute(select(Tenant).where(Tenant.subdomain == sub))).scalar_one()
    conn = await asyncpg.connect(**provisioning.tenant_dsn(t, platform.secrets).asyncpg_kwargs())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def revisions(platform) -> dict[str, str]:
    async with AsyncSession(platform.main_engine) as session:
        return dict((await session.execute(select(Tenant.subdomain, Tenant.schema_revision))).all())


async def test_a_canary_rollout_from_the_console_stops_on_the_failing_canary(platform, settings, abc, console):
    await provisioning.create_tenant(platform, name="PT XYZ", subdomain="pt-xyz")
    await tenant_sql(platform, "pt-xyz", "INSERT INTO products (id, sku, name, unit, is_active) VALUES "
                                         "(gen_random_uuid(), 'P1', 'Granule HD', 'KG', true), "
                                         "(gen_random_uuid(), 'P2', 'granule hd', 'KG', true)")
    with migrate.extra_locations_set("tenant", [BACKFILL, STRICT]):
        async with console() as c, worker(settings):
            page = await c.get("/fleet")
            assert page.status_code == 200, page.text
            assert "x1002" in page.text and "No tenant's last migration failed." in unescape(page.text)
            token = csrf_of(page.text)
            for bad, message in (({"canary": "0"}, "at least 1"), ({"canary": "pt abc!"}, "separated by commas"),
                                 ({"max_failures": "-1"}, "whole number")):
                r = await c.post("/fleet/rollout", data={"csrf_token": token, **bad})
                assert r.status_code == 422 and message in r.text, (bad, r.text)
            async with AsyncSession(platform.main_engine) as session:
                assert (await session.execute(select(MigrationRun.id))).first() is None  # nothing started

            r = await c.post("/fleet/rollout", data={"csrf_token": token, "canary": "pt-xyz"})
            assert r.status_code == 303 and re.fullmatch(r"/fleet/runs/\d+", r.headers["location"]), r.text
            run_url = r.headers["location"]
            first = await c.get(run_url)
            assert first.status_code == 200 and "Rollout #" in first.text

            async def finished():
                p = await c.get(run_url)
                return p if "refresh" not in p.headers else None

            done = await eventually(finished, timeout=60)
            text = unescape(done.text)
            assert "halted" in text and "canary failed (pt-xyz); the rollout stopped" in text, text
            assert re.search(r"pt-abc</a></td><td>left_behind", done.text), done.text
            assert re.search(r"pt-xyz</a></td><td>failed", done.text), done.text
            assert (await revisions(platform))["pt-abc"] == HEAD  # the canary's failure spared it

            page = unescape((await c.get("/fleet")).text)
            failed = re.search(r'href="/tenants/pt-xyz">pt-xyz</a></td><td><code>[^<]*</code></td>\s*'
                               r'<td class="bad">([^<]*)</td>', page)
            assert failed and "duplicate" in failed.group(1).lower(), page

            # Without a canary: the healthy tenant reaches the new head; the failing one fails again.
            r = await c.post("/fleet/rollout", data={"csrf_token": token})
            assert r.status_code == 303
            done = await eventually(lambda: finished_at(c, r.headers["location"]), timeout=60)
            assert re.search(r"pt-abc</a></td><td>migrated", done.text), done.text
        assert (await revisions(platform)) == {"pt-abc": "x1002", "pt-xyz": HEAD}
    async with AsyncSession(platform.main_engine) as session:
        actors = (await session.execute(select(MigrationRun.actor).order_by(MigrationRun.id))).scalars().all()
    assert actors == [f"admin:{EMAIL}"] * 2


async def finished_at(c, url: str):
    p = await c.get(url)
    return p if "refresh" not in p.headers else None


async def test_fleet_pages_need_a_session_and_unknown_runs_are_404(abc, console, anonymous):
    async with anonymous as nobody, console() as c:
        for path in ("/fleet", "/fleet/runs/1"):
            r = await nobody.get(path)
            assert r.status_code == 303 and r.headers["location"] == "/login"
        r = await nobody.post("/fleet/rollout", data={"csrf_token": "x"})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        r = await c.post("/fleet/rollout", data={"csrf_token": "forged"})
        assert r.status_code == 403
        for run in ("999999", "0", "-1", "99999999999999999999"):
            r = await c.get(f"/fleet/runs/{run}")
            assert r.status_code in (404, 422), (run, r.status_code)
