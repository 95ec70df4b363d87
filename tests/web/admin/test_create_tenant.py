"""Creating a tenant from the console: the form reserves it and queues the onboarding job (the admin API's
services and events); the progress page refreshes itself until the tenant is up, then links to it, and the
tenant answers on its subdomain. Mistakes come back as the form with the message next to the field and
what was typed kept; nothing is created."""

from __future__ import annotations

import re

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.platform.models import PlatformEvent
from tests.web.admin.conftest import EMAIL, csrf_of, eventually, tenant_row, worker

NEW = {"name": "PT Baru Plastik", "subdomain": "pt-baru", "admin_email": "owner@baru.co.id", "plan": "basic",
       "server": ""}


async def counts(platform) -> tuple[int, int]:
    async with platform.main_engine.connect() as conn:
        return (await conn.scalar(text("SELECT count(*) FROM tenants")),
                await conn.scalar(text("SELECT count(*) FROM procrastinate_jobs")))


async def test_the_form_onboards_a_tenant_that_then_answers_on_its_subdomain(platform, settings, console, live):
    async with console() as c:
        form = await c.get("/tenants/new")
        assert form.status_code == 200 and 'action="/tenants/new"' in form.text
        r = await c.post("/tenants/new", data={**NEW, "csrf_token": csrf_of(form.text)})
        assert r.status_code == 303 and r.headers["location"] == "/tenants/pt-baru/onboarding", r.text

        # No worker yet: the tenant waits, reserved, and the page keeps refreshing itself.
        r = await c.get("/tenants/pt-baru/onboarding")
        assert r.status_code == 200 and r.headers["refresh"] == "1"
        assert '<meta http-equiv="refresh" content="1">' in r.text
        assert '<li class="done">Name reserved</li>' in r.text
        assert '<li class="current">Database role created</li>' in r.text
        t = await tenant_row(platform, "pt-baru")
        assert (t.status, t.plan, t.admin_email) == ("provisioning", "basic", "owner@baru.co.id")

        async with worker(settings):
            async def finished():
                page = await c.get("/tenants/pt-baru/onboarding")
                return page if "refresh" not in page.headers else None

            r = await eventually(finished)
        assert r.status_code == 200 and "meta http-equiv" not in r.text
        assert '<li class="done">Active: serving requests</li>' in r.text
        assert '<a href="http://pt-baru.localhost/">' in r.text, r.text  # the scheme and port the browser used
        r = await c.get("/tenants/pt-baru/onboarding", headers={"Host": f"admin.localhost:{live.port}"})
        assert f'<a href="http://pt-baru.localhost:{live.port}/">' in r.text, r.text

    # The link's host serves the new tenant.
    async with live.tenant_client("pt-baru", role=None) as t:
        r = await t.get("/api/v1/tenant")
        assert r.status_code == 200 and r.json()["subdomain"] == "pt-baru", r.text
    # The admin API's own events, attributed to the person.
    async with AsyncSession(platform.main_engine) as session:
        actions = [(e.action, e.actor) for e in (await session.execute(
            select(PlatformEvent).where(PlatformEvent.action.in_(("tenant.reserved", "tenant.onboarding_queued")))
            .order_by(PlatformEvent.id))).scalars()]
    assert actions == [("tenant.reserved", f"admin:{EMAIL}"), ("tenant.onboarding_queued", f"admin:{EMAIL}")]


async def test_mistakes_come_back_next_to_their_field_with_the_typed_values(platform, abc, console):
    before = await counts(platform)
    cases = [
        ({"subdomain": "pt-abc"}, 409, "subdomain", "already taken"),
        ({"subdomain": "PT BARU"}, 422, "subdomain", "invalid subdomain"),
        ({"subdomain": "admin"}, 422, "subdomain", "reserved"),
        ({"admin_email": "not-an-email"}, 422, "admin_email", "invalid admin email"),
        ({"name": "   "}, 422, "name", "tenant name must be 1-200 characters"),
        ({"name": "x" * 201}, 422, "name", "too long"),
        ({"plan": "platinum"}, 422, "plan", "unknown plan"),
        ({"server": "nowhere"}, 422, "server", "no database server named"),
    ]
    async with console() as c:
        token = csrf_of((await c.get("/tenants/new")).text)
        for change, status, where, mention in cases:
            body = {**NEW, **change, "csrf_token": token}
            r = await c.post("/tenants/new", data=body)
            assert r.status_code == status, (change, r.text)
            shown = re.search(rf'<p class="error field-error" id="{where}-error">([^<]*)</p>', r.text)
            assert shown and mention in shown.group(1), (change, r.text)
            # What was typed is back in the form (escaped).
            if where in ("name", "subdomain", "admin_email") and body[where].strip():
                assert f'value="{body[where]}"' in r.text, (change, where)
            assert 'value="owner@baru.co.id"' in r.text or where == "admin_email"
        # A forged form is refused before anything is read.
        r = await c.post("/tenants/new", data={**NEW, "csrf_token": "forged"})
        assert r.status_code == 403
        r = await c.post("/tenants/new", data={**NEW, "csrf_token": token}, headers={"Origin": "http://evil.test"})
        assert r.status_code == 403
    assert await counts(platform) == before
