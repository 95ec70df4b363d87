"""What each kind of Host gets, over real HTTP: tenants by status, admin, platform, unknown, invalid."""

import asyncio

import pytest

from polyflow.platform import provisioning
from polyflow.platform.runtime import Platform


async def test_status_codes_by_host_and_tenant_status(platform, make_tenant, live):
    await make_tenant("pt-abc", "PT ABC Plastik")
    await make_tenant("pt-sus")
    await provisioning.set_status(platform, "pt-sus", "suspended")
    await make_tenant("pt-new")
    await provisioning.set_status(platform, "pt-new", "provisioning")

    async def get(host, path="/api/v1/tenant", **kw):
        async with live.client(host) as c:
            return await c.get(path, **kw)

    assert (await get("pt-abc.localhost")).json()["subdomain"] == "pt-abc"
    assert (await get("PT-ABC.LOCALHOST:8000")).json()["subdomain"] == "pt-abc"
    assert (await get("pt-abc.localhost.")).json()["subdomain"] == "pt-abc"

    r = await get("nosuch.localhost")
    assert r.status_code == 404 and r.json()["detail"] == "No such tenant."
    r = await get("pt-sus.localhost")
    assert r.status_code == 403 and "suspended" in r.json()["detail"]
    r = await get("pt-new.localhost")
    assert r.status_code == 503 and r.headers["retry-after"] == "5"

    # The admin host is never a tenant, even if a tenant could be named like it.
    r = await get("admin.localhost", "/")
    assert r.status_code == 200 and r.json() == {"app": "polyflow-admin"}
    assert (await get("admin.localhost")).status_code == 404  # no tenant API there

    for host in ("localhost", "www.localhost", "127.0.0.1:8000", "[::1]:8000"):
        r = await get(host, "/")
        assert r.status_code == 200 and "Polyflow" in r.text, host
        assert (await get(host)).status_code == 404, host  # no tenant API on the platform host
        for path in ("/docs", "/redoc", "/openapi.json"):  # nothing to describe on the platform host
            assert (await get(host, path)).status_code == 404, (host, path)

    for host in ("api.localhost", "static.localhost", "a.pt-abc.localhost", "xn--bcher-kva.localhost",
                 "pt-abc.evil.test"):
        r = await get(host)
        assert r.status_code == 404, host
        assert r.json()["detail"] == "No such tenant."
    for host in ("pt_abc.localhost", "pt-abc.localhost..", "[::1", "pt-abc.localhost:http"):
        assert (await get(host)).status_code == 400, host


async def test_browser_gets_html_errors_and_probes_answer_on_any_host(live):
    async with live.client("nosuch.localhost") as c:
        r = await c.get("/", headers={"Accept": "text/html"})
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert "No such tenant" in r.text
        assert (await c.get("/healthz")).json() == {"status": "ok"}
        ready = await c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["main_db"] == "ok" and ready.json()["redis"] == "ok"


async def test_unknown_names_are_cached_negatively(live):
    """A flood of requests for one unknown name never reaches the main database (it is not a routable name)."""
    routes = live.platform.routes
    async with live.client("ghost.localhost") as c:
        for _ in range(50):
            assert (await c.get("/api/v1/tenant")).status_code == 404
    assert routes.stats["db"] == 0


async def test_new_tenant_is_served_right_after_a_negative_hit(make_tenant, live):
    async with live.client("pt-late.localhost") as c:
        assert (await c.get("/api/v1/tenant")).status_code == 404
        await make_tenant("pt-late")
        # Creation invalidates the negative entry through Redis; the live server drops it.
        for _ in range(100):
            r = await c.get("/api/v1/tenant")
            if r.status_code == 200:
                break
            await asyncio.sleep(0.01)
        assert r.status_code == 200


@pytest.mark.parametrize("header", ["X-Tenant", "X-Tenant-Id", "X-Polyflow-Tenant", "X-Subdomain", "X-Original-Host"])
async def test_client_sent_tenant_headers_change_nothing(make_tenant, live, header):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as c:
        r = await c.get("/api/v1/tenant", headers={header: "pt-xyz"})
        assert r.json()["subdomain"] == "pt-abc"
    async with live.client("localhost") as c:
        assert (await c.get("/api/v1/tenant", headers={header: "pt-xyz"})).status_code == 404


async def test_x_forwarded_host_only_from_trusted_proxies(make_settings, make_live):
    untrusted = make_settings(trusted_proxies="10.9.8.0/24")
    server = make_live(untrusted)
    p = Platform(untrusted)
    try:
        await provisioning.create_tenant(p, name="ABC", subdomain="pt-abc")
        await provisioning.create_tenant(p, name="XYZ", subdomain="pt-xyz")
    finally:
        await p.stop()
    spoof = {"X-Forwarded-Host": "pt-xyz.localhost", "X-Forwarded-For": "10.9.8.7"}
    async with server.tenant_client("pt-abc") as c:
        assert (await c.get("/api/v1/tenant", headers=spoof)).json()["subdomain"] == "pt-abc"
    async with server.client("localhost") as c:
        assert (await c.get("/api/v1/tenant", headers=spoof)).status_code == 404

    # The same header from a trusted proxy (here: loopback) is what the browser asked for.
    trusted = make_settings(database_url=untrusted.database_url, trusted_proxies="127.0.0.1/32")
    proxied = make_live(trusted)
    async with proxied.client("internal-lb:8080") as c:
        r = await c.get("/api/v1/tenant", headers={"X-Forwarded-Host": "pt-xyz.localhost"})
        assert r.json()["subdomain"] == "pt-xyz"


async def test_custom_domain_routes_to_its_tenant(platform, make_tenant, live):
    from sqlalchemy.ext.asyncio import AsyncSession

    from polyflow.platform.models import TenantDomain

    abc = await make_tenant("pt-abc", "PT ABC Plastik")
    async with AsyncSession(platform.main_engine) as session:
        session.add(TenantDomain(tenant_id=abc.id, domain="erp.abc-plastik.co.id", is_primary=True))
        await session.commit()
    # As every change to the registry is followed (the new domain becomes a routable name everywhere).
    await platform.tenant_changed("pt-abc", ["erp.abc-plastik.co.id"])
    async with live.client("ERP.abc-plastik.co.id:443") as c:
        assert (await c.get("/api/v1/tenant")).json()["subdomain"] == "pt-abc"
        assert (await c.get("/api/v1/tenant", headers={"Host": "erp.other.co.id"})).status_code == 404
        # Suspending the tenant also drops its custom-domain route everywhere.
        await provisioning.set_status(platform, "pt-abc", "suspended")
        for _ in range(100):
            if (await c.get("/api/v1/tenant")).status_code == 403:
                break
            await asyncio.sleep(0.01)
        assert (await c.get("/api/v1/tenant")).status_code == 403
