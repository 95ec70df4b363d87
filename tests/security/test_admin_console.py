"""The admin console's tenant pages over real HTTP: only a signed-in super-admin (the pf_admin cookie) opens
them; every form needs the session's CSRF token and this site's origin; the actions are the admin API's
(suspend, resume, back up, change plan), attributed to "admin:<email>" in platform_events; errors are
pages with a 4xx, and nothing a tenant wrote (its name) or an admin typed (a reason) runs as HTML."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.platform import onboarding, provisioning
from polyflow.platform.admin import identity
from polyflow.platform.models import Backup, PlatformEvent, Tenant
from tests.fixtures.admins import enrolled_admin, sign_in
from tests.fixtures.auth import make_user

EMAIL = "console@polyflow.test"
PASSWORD = "a-long-console-password-7"
TOKEN = "operator-token-for-console-tests-0123"
ADMIN_HOST = "admin.localhost"
ORIGIN = {"Origin": "http://admin.localhost"}
SUB = "pt-abc"


@pytest.fixture
def settings(make_settings, tmp_path):
    return make_settings(operator_token=TOKEN, backup_dir=tmp_path / "backups")


@pytest.fixture
async def tenant(platform):
    return await provisioning.create_tenant(platform, name="PT ABC Plastik", subdomain=SUB,
                                            admin_email="owner@abc.co.id")


@pytest.fixture
async def admin_cookie(platform, live) -> str:
    """A signed-in super-admin's pf_admin cookie value, through the real password and code steps."""
    secret = await enrolled_admin(platform, EMAIL, "Console Ops", PASSWORD)
    return await sign_in(live, EMAIL, PASSWORD, secret)


def browser(live, cookie: str | None = None, **headers):
    """A client on the admin host carrying exactly this cookie (no jar: nothing rides along by accident)."""
    if cookie is not None:
        headers["Cookie"] = f"pf_admin={cookie}"
    return live.client(ADMIN_HOST, headers={"Accept": "text/html", **headers})


def csrf_of(html: str) -> str:
    tokens = set(re.findall(r'name="csrf_token" value="([^"]*)"', html))
    assert len(tokens) == 1, html  # every form on the page carries the same session token
    return tokens.pop()


async def page_and_csrf(c) -> tuple[str, str]:
    r = await c.get(f"/tenants/{SUB}")
    assert r.status_code == 200, r.text
    return r.text, csrf_of(r.text)


async def tenant_row(platform, sub: str = SUB) -> Tenant:
    async with AsyncSession(platform.main_engine) as session:
        return (await session.execute(
            select(Tenant).where(Tenant.subdomain == sub, Tenant.status != "deleted"))).scalar_one()


async def events(platform, action: str | None = None) -> list[PlatformEvent]:
    query = select(PlatformEvent).order_by(PlatformEvent.id)
    if action is not None:
        query = query.where(PlatformEvent.action == action)
    async with AsyncSession(platform.main_engine) as session:
        return list((await session.execute(query)).scalars())


async def changes(platform) -> list[tuple[str, str]]:
    """Every event but sign-ins: what the forms may have done."""
    return [(e.action, e.actor) for e in await events(platform) if not e.action.startswith("admin.")]


async def answers_within_a_second(client, status: int) -> None:
    deadline = time.monotonic() + 1.0
    while (await client.get("/api/v1/tenant")).status_code != status:
        assert time.monotonic() < deadline, f"the tenant host did not answer {status} within 1 s"
        await asyncio.sleep(0.02)


# --- who may open the pages ------------------------------------------------------------------------


async def test_pages_need_an_admin_session_and_nothing_else_opens_them(platform, tenant, live, tenant_sign_in):
    user = make_user(live.settings, SUB, ["owner"])
    tenant_cookie = await tenant_sign_in(SUB, user["email"])
    before = await changes(platform)
    callers = {
        "nobody": {},
        "operator token": {"Authorization": f"Bearer {TOKEN}"},
        "tenant API token": {"Authorization": f"Bearer {user['token']}"},
        "tenant session cookie": {"Cookie": f"pf_session={tenant_cookie}"},
        "tenant session as pf_admin": {"Cookie": f"pf_admin={tenant_cookie}"},
        "tenant API token as pf_admin": {"Cookie": f"pf_admin={user['token']}"},
        "forged admin session": {"Cookie": f"pf_admin=pfa_admin_{'a' * 43}"},
    }
    async with live.client(ADMIN_HOST, headers={"Accept": "text/html"}) as c:
        for who, headers in callers.items():
            r = await c.get(f"/tenants/{SUB}", headers=headers)
            assert r.status_code == 303 and r.headers["location"] == "/login", who
            for action in ("suspend", "resume", "backup", "plan"):
                r = await c.post(f"/tenants/{SUB}/{action}", headers={**headers, **ORIGIN},
                                 data={"csrf_token": "x", "reason": "no", "plan": "pro"})
                assert r.status_code == 303 and r.headers["location"] == "/login", (who, action)
            r = await c.get("/tenants/nosuch", headers=headers)  # nor does a name's existence leak
            assert r.status_code == 303, who
    t = await tenant_row(platform)
    assert (t.status, t.plan) == ("active", "trial")
    assert await changes(platform) == before
    async with AsyncSession(platform.main_engine) as session:
        assert (await session.execute(select(Backup))).first() is None


async def test_signed_in_admin_sees_the_tenant_with_its_events_and_backups(platform, tenant, admin_cookie, live):
    from polyflow.platform import backups

    await backups.backup(platform, SUB, actor="cli")
    async with browser(live, admin_cookie) as c:
        r = await c.get(f"/tenants/{SUB}")
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        html = r.text
        for shown in ("PT ABC Plastik", SUB, "active", "trial", "default", tenant.db_name, "owner@abc.co.id",
                      EMAIL, "Recent events", "tenant.reserved", "tenant.activated", "tenant.backup", "manual", "completed"):
            assert shown in html, shown
        assert re.search(r"\d+(\.\d)? (B|KiB|MiB)", html)  # the backup's size
        assert 'action="/tenants/pt-abc/suspend"' in html and 'action="/tenants/pt-abc/resume"' not in html
        # The CSP allows neither inline scripts nor inline styles (a script file of this site is fine).
        assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", html) and "style=" not in html
        # The dashboard links to the page.
        r = await c.get("/")
        assert 'href="/tenants/pt-abc"' in r.text


async def test_at_most_twenty_events_newest_first(platform, tenant, admin_cookie, live):
    async with AsyncSession(platform.main_engine) as session:
        for i in range(25):
            session.add(PlatformEvent(tenant_id=tenant.id, actor="cli", action=f"test.e{i:02d}", detail={}))
        await session.commit()
    async with browser(live, admin_cookie) as c:
        html = (await c.get(f"/tenants/{SUB}")).text
    shown = re.findall(r"test\.e(\d\d)", html)
    assert shown == [f"{i:02d}" for i in range(24, 4, -1)]


# --- the forms -------------------------------------------------------------------------------------


async def test_suspend_and_resume_through_the_forms(platform, tenant, admin_cookie, live):
    async with browser(live, admin_cookie) as c, live.tenant_client(SUB) as tenant_host:
        assert (await tenant_host.get("/api/v1/tenant")).status_code == 200
        _, csrf = await page_and_csrf(c)
        r = await c.post(f"/tenants/{SUB}/suspend", headers=ORIGIN,
                         data={"csrf_token": csrf, "reason": "  unpaid <b>invoice</b>  "})
        assert r.status_code == 303 and r.headers["location"] == f"/tenants/{SUB}?done=suspended", r.text
        await answers_within_a_second(tenant_host, 403)
        page = await c.get(r.headers["location"])
        assert page.status_code == 200 and "The tenant is suspended" in page.text
        assert "unpaid &lt;b&gt;invoice&lt;/b&gt;" in page.text and "<b>invoice" not in page.text
        assert 'action="/tenants/pt-abc/resume"' in page.text
        [event] = await events(platform, "tenant.suspended")
        assert event.actor == f"admin:{EMAIL}" and event.detail == {"reason": "unpaid <b>invoice</b>"}
        assert event.tenant_id == tenant.id
        t = await tenant_row(platform)
        assert (t.status, t.status_reason) == ("suspended", "unpaid <b>invoice</b>")

        # Suspending again changes nothing (the API's rule: idempotent); without a reason, the default one.
        r = await c.post(f"/tenants/{SUB}/suspend", headers=ORIGIN, data={"csrf_token": csrf})
        assert r.status_code == 303
        assert len(await events(platform, "tenant.suspended")) == 1

        r = await c.post(f"/tenants/{SUB}/resume", headers=ORIGIN, data={"csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"] == f"/tenants/{SUB}?done=resumed"
        await answers_within_a_second(tenant_host, 200)
        [event] = await events(platform, "tenant.resumed")
        assert event.actor == f"admin:{EMAIL}"

        # Suspending a tenant still being onboarded is the API's Conflict: the page again, with the message
        # and a 409; so is resuming it.
        await onboarding.reserve(platform, name="PT Baru", subdomain="pt-baru", admin_email="o@baru.co.id")
        for action, rule in (("suspend", "only an active tenant can be suspended"),
                             ("resume", "only a suspended tenant can be resumed")):
            r = await c.post(f"/tenants/pt-baru/{action}", headers=ORIGIN, data={"csrf_token": csrf})
            assert r.status_code == 409 and rule in r.text, r.text
            assert "tenant &#39;pt-baru&#39; is provisioning" in r.text
            assert 'action="/tenants/pt-baru/plan"' in r.text  # the page itself, not a bare error
        assert (await tenant_row(platform, "pt-baru")).status == "provisioning"

        # Without a reason the API's default is recorded.
        r = await c.post(f"/tenants/{SUB}/suspend", headers=ORIGIN, data={"csrf_token": csrf, "reason": "   "})
        assert r.status_code == 303
        assert (await events(platform, "tenant.suspended"))[-1].detail == {"reason": "suspended by an operator"}


async def test_a_bad_reason_is_a_422_page_and_nothing_is_done(platform, tenant, admin_cookie, live):
    async with browser(live, admin_cookie) as c:
        _, csrf = await page_and_csrf(c)
        for reason, message in (("x" * 201, "at most 200 characters"), ("a\x00b", "control characters"),
                                ("line\nbreak", "control characters")):
            r = await c.post(f"/tenants/{SUB}/suspend", headers=ORIGIN, data={"csrf_token": csrf, "reason": reason})
            assert r.status_code == 422 and message in r.text, reason
        r = await c.post(f"/tenants/{SUB}/suspend", headers=ORIGIN, data={"csrf_token": csrf, "reason": "y" * 200})
        assert r.status_code == 303
    assert (await tenant_row(platform)).status_reason == "y" * 200


@pytest.mark.parametrize("action", ["suspend", "resume", "backup", "plan"])
async def test_forged_forms_are_refused_and_nothing_is_done(platform, tenant, admin_cookie, live, action):
    if action == "resume":
        async with AsyncSession(platform.main_engine) as session:
            await session.execute(text("UPDATE tenants SET status = 'suspended' WHERE subdomain = :s"), {"s": SUB})
            await session.commit()
    before = await tenant_row(platform)
    done_before = await changes(platform)
    async with browser(live, admin_cookie) as c:
        _, csrf = await page_and_csrf(c)
        form = {"reason": "forged", "plan": "pro"}
        attempts = [
            ({}, ORIGIN, "did not come from this site"),  # no token
            ({"csrf_token": ""}, ORIGIN, "did not come from this site"),
            ({"csrf_token": "forged-" + csrf}, ORIGIN, "did not come from this site"),
            ({"csrf_token": csrf[:-1]}, ORIGIN, "did not come from this site"),
            ({"csrf_token": csrf}, {"Origin": "http://evil.example"}, "cross-site request refused"),
            ({"csrf_token": csrf}, {"Origin": "http://admin.localhost.evil.example"}, "cross-site request refused"),
            ({"csrf_token": csrf}, {"Referer": "http://evil.example/page"}, "cross-site request refused"),
            ({"csrf_token": csrf}, {"Origin": "null"}, "cross-site request refused"),
        ]
        for extra, headers, message in attempts:
            r = await c.post(f"/tenants/{SUB}/{action}", headers=headers, data={**form, **extra})
            assert r.status_code == 403 and message in r.text, (extra, headers, r.text)
            assert "text/html" in r.headers["content-type"]
        # Another admin's token does not open this admin's session either.
        await identity.create_admin(platform, "other@polyflow.test", "Other", PASSWORD)
        async with live.client(ADMIN_HOST) as other:
            r = await other.post("/api/v1/auth/login", json={"email": "other@polyflow.test", "password": PASSWORD})
            other_csrf = r.json()["csrf_token"]
        r = await c.post(f"/tenants/{SUB}/{action}", headers=ORIGIN, data={**form, "csrf_token": other_csrf})
        assert r.status_code == 403
    after = await tenant_row(platform)
    assert (after.status, after.plan, after.status_reason) == (before.status, before.plan, before.status_reason)
    assert await changes(platform) == done_before
    async with AsyncSession(platform.main_engine) as session:
        assert (await session.execute(select(Backup))).first() is None


async def test_plan_change_through_the_form(platform, tenant, admin_cookie, live):
    async with browser(live, admin_cookie) as c:
        html, csrf = await page_and_csrf(c)
        assert '<option value="pro"' in html and '<option value="trial" selected' in html
        r = await c.post(f"/tenants/{SUB}/plan", headers=ORIGIN, data={"csrf_token": csrf, "plan": "pro"})
        assert r.status_code == 303 and r.headers["location"] == f"/tenants/{SUB}?done=plan", r.text
        page = await c.get(r.headers["location"])
        assert "The plan was changed." in page.text and '<option value="pro" selected' in page.text
        # The admin API (same session) sees it.
        api = await c.get(f"/admin/api/tenants/{SUB}", headers={"Accept": "application/json"})
        assert api.status_code == 200 and api.json()["plan"] == "pro"
        [event] = await events(platform, "plan.changed")
        assert event.actor == f"admin:{EMAIL}" and event.detail["from"] == "trial" and event.detail["to"] == "pro"

        for plan, status, message in (("platinum", 422, "unknown plan"), ("", 422, "choose a plan"),
                                      ("p" * 41, 422, "at most 40 characters")):
            r = await c.post(f"/tenants/{SUB}/plan", headers=ORIGIN, data={"csrf_token": csrf, "plan": plan})
            assert r.status_code == status and message in r.text, plan
        # A retired plan cannot be chosen.
        async with AsyncSession(platform.main_engine) as session:
            await session.execute(text("UPDATE plans SET is_active = false WHERE code = 'trial'"))
            await session.commit()
        html, _ = await page_and_csrf(c)
        assert '<option value="trial"' not in html
        r = await c.post(f"/tenants/{SUB}/plan", headers=ORIGIN, data={"csrf_token": csrf, "plan": "trial"})
        assert r.status_code == 422 and "retired" in r.text
    assert (await tenant_row(platform)).plan == "pro"
    assert len(await events(platform, "plan.changed")) == 1


async def test_back_up_now_creates_a_completed_backup(platform, tenant, admin_cookie, live):
    async with browser(live, admin_cookie) as c:
        _, csrf = await page_and_csrf(c)
        r = await c.post(f"/tenants/{SUB}/backup", headers=ORIGIN, data={"csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"] == f"/tenants/{SUB}?done=backed-up", r.text
        page = await c.get(r.headers["location"])
        assert "A backup was taken." in page.text and "completed" in page.text
    async with AsyncSession(platform.main_engine) as session:
        [backup] = (await session.execute(select(Backup))).scalars().all()
    assert (backup.tenant_id, backup.kind, backup.status) == (tenant.id, "manual", "completed")
    assert backup.size_bytes and backup.size_bytes > 0
    assert [e.actor for e in await events(platform, "tenant.backup")] == [f"admin:{EMAIL}"]


async def test_unknown_tenant_is_a_404_page(platform, tenant, admin_cookie, live):
    async with browser(live, admin_cookie) as c:
        _, csrf = await page_and_csrf(c)
        for path in ("/tenants/nosuch", "/tenants/NoSuch", "/tenants/no%00such", "/tenants/" + "a" * 300):
            r = await c.get(path)
            assert r.status_code == 404 and "no tenant" in r.text and "text/html" in r.headers["content-type"], path
        for action in ("suspend", "resume", "backup", "plan"):
            r = await c.post(f"/tenants/nosuch/{action}", headers=ORIGIN, data={"csrf_token": csrf, "plan": "pro"})
            assert r.status_code == 404 and "no tenant" in r.text, action
            r = await c.post(f"/tenants/no%00such/{action}", headers=ORIGIN, data={"csrf_token": csrf, "plan": "pro"})
            assert r.status_code == 404, action
        # A deleted tenant's tombstone is not a page either.
        async with AsyncSession(platform.main_engine) as session:
            await session.execute(text("UPDATE tenants SET status = 'deleted' WHERE subdomain = :s"), {"s": SUB})
            await session.commit()
        assert (await c.get(f"/tenants/{SUB}")).status_code == 404


async def test_unknown_notice_codes_show_nothing(platform, tenant, admin_cookie, live):
    async with browser(live, admin_cookie) as c:
        r = await c.get(f"/tenants/{SUB}", params={"done": "<script>alert(1)</script>"})
        assert r.status_code == 200 and "alert(1)" not in r.text and 'role="status"' not in r.text
        r = await c.get(f"/tenants/{SUB}", params={"done": "plan"})
        assert "The plan was changed." in r.text


async def test_a_tenant_name_with_markup_is_escaped(platform, tenant, admin_cookie, live):
    name = '<script>alert("pwned")</script>'
    async with AsyncSession(platform.main_engine) as session:
        await session.execute(text("UPDATE tenants SET name = :n WHERE subdomain = :s"), {"n": name, "s": SUB})
        await session.commit()
    async with browser(live, admin_cookie) as c:
        for path in (f"/tenants/{SUB}", "/", "/tenants", f"/tenants/{SUB}/onboarding"):
            r = await c.get(path)
            assert r.status_code == 200
            assert "<script>" not in r.text, path
            assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in r.text, path
