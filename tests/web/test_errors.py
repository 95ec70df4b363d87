"""Errors a person can read: a browser (Accept: text/html) gets the workspace's HTML error page - styled by the
site's own stylesheet, no inline style, the CSP intact - for an unknown page (404), a refused page (403), a
conflict (409), a throttled sign-in (429) and a workspace that cannot serve now (503), while API clients keep
their JSON; `/favicon.ico` answers on every host; the landing page is CSP-clean."""

from __future__ import annotations

import re

from sqlalchemy import update

from polyflow.platform.models import Tenant
from tests.erp.identity.test_pages import csrf_of, sign_in, signed_in_client
from tests.fixtures.auth import make_user

SUB = "pt-abc"
# Copied into each client: live.tenant_client adds the token to the dict it is given.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
API = {"Accept": "application/json"}


def assert_friendly(r, status: int, *texts: str) -> None:
    """The site's error page (or the page itself) as HTML: its stylesheet, no inline style or script."""
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
    assert '<link rel="stylesheet" href="/static/app.css">' in r.text
    assert "style=" not in r.text and "<style" not in r.text and not re.search(r"<script(?![^>]*\bsrc=)", r.text)
    for text in texts:
        assert text in r.text, (text, r.text[:600])


async def test_unknown_pages_are_html_for_browsers_and_json_for_api_clients(live, make_tenant):
    await make_tenant(SUB)
    async with live.tenant_client(SUB, role=None, headers=dict(BROWSER)) as browser:
        r = await browser.get("/no-such-page")
        assert_friendly(r, 404, "Halaman tidak ditemukan")  # the workspace's language (Bahasa Indonesia)
        # The API under /api/ stays JSON even for a browser.
        r = await browser.get("/api/v1/no-such-thing")
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    async with live.tenant_client(SUB, role=None, headers=dict(API)) as api:
        r = await api.get("/no-such-page")
        assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


async def test_refused_and_conflicting_pages_are_html(live, make_tenant):
    await make_tenant(SUB)
    async with live.tenant_client(SUB, role="sales", headers=dict(BROWSER)) as sales:
        r = await sales.get("/accounts")
        assert_friendly(r, 403, "does not allow accounting.read")
        r = await sales.get("/api/v1/accounts")  # the API keeps its JSON
        assert r.status_code == 403 and "does not allow" in r.json()["detail"]
    async with signed_in_client(live, ["owner"]) as (client, _owner):
        token = csrf_of((await client.get("/users")).text)
        invite = {"csrf_token": token, "email": "dina@example.test", "name": "Dina", "roles": ["sales"],
                  "language": "id"}
        assert (await client.post("/users/invite", data=invite)).status_code == 303
        r = await client.post("/users/invite", data=invite, headers=dict(BROWSER))
        assert_friendly(r, 409, "already exists", 'value="dina@example.test"')  # the form again, as typed


async def test_a_throttled_sign_in_is_a_429_page_and_json_for_the_api(settings, make_tenant, make_live):
    live = make_live(settings.model_copy(update={"login_ip_per_minute": 2}))
    await make_tenant(SUB)
    user = make_user(live.settings, SUB, ["viewer"])
    async with live.tenant_client(SUB, role=None, headers=dict(BROWSER)) as browser:
        for _ in range(2):
            assert (await sign_in(browser, user["email"], "wrong-password-1")).status_code == 401
        r = await sign_in(browser, user["email"])
        assert_friendly(r, 429, "too many sign-in attempts", 'name="email"')
        assert int(r.headers["retry-after"]) >= 1
    async with live.tenant_client(SUB, role=None, headers=dict(API)) as api:
        r = await api.post("/api/v1/auth/login", json={"email": user["email"], "password": "x" * 12})
        assert r.status_code == 429 and r.headers["content-type"].startswith("application/json")


async def test_a_workspace_that_cannot_serve_now_is_a_503_page(platform, live, make_tenant):
    tenant = await make_tenant(SUB)

    async def set_revision(revision: str) -> None:
        async with platform.main_engine.begin() as conn:
            await conn.execute(update(Tenant).where(Tenant.id == tenant.id).values(schema_revision=revision))
        await platform.tenant_changed(SUB, tenant_id=tenant.id)

    revision = tenant.schema_revision
    await set_revision("0001")  # behind this code: the workspace waits for its upgrade
    try:
        async with live.tenant_client(SUB, role=None, headers=dict(BROWSER)) as browser:
            r = await browser.get("/login")
            assert_friendly(r, 503, "upgrading to a new version")
            assert r.headers["retry-after"]
        async with live.tenant_client(SUB, role=None, headers=dict(API)) as api:
            r = await api.get("/api/v1/products")
            assert r.status_code == 503 and "upgrading" in r.json()["detail"]
    finally:
        await set_revision(revision)


async def test_favicon_on_every_host_and_a_csp_clean_landing_page(live, make_tenant):
    await make_tenant(SUB)
    root = live.settings.root_domain
    for host in (f"{SUB}.{root}", f"{live.settings.admin_subdomain}.{root}", root):
        async with live.client(host, headers=dict(BROWSER)) as c:
            r = await c.get("/favicon.ico")
            assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml"), host
            assert r.content.lstrip().startswith(b"<svg") or b"<svg" in r.content[:200], host
    async with live.client(root, headers=dict(BROWSER)) as c:
        r = await c.get("/")
        assert_friendly(r, 200)
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert "style-src 'self'" in r.headers["content-security-policy"]
