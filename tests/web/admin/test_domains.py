"""Custom domains from the tenant page: an added domain routes requests to the tenant at once; names the host
parser would not route as a custom domain are refused; one domain belongs to one tenant; the primary flag
moves; the DNS check compares addresses (DNS itself is stood in for: it cannot be reached here); a removed
domain stops routing."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.platform import provisioning
from polyflow.platform.admin import domains
from polyflow.platform.models import PlatformEvent, TenantDomain
from tests.web.admin.conftest import EMAIL, csrf_of


async def primary_flags(platform) -> dict[str, bool]:
    async with AsyncSession(platform.main_engine) as session:
        return dict((await session.execute(select(TenantDomain.domain, TenantDomain.is_primary))).all())


@pytest.fixture
def fake_dns(monkeypatch):
    table: dict[str, set[str]] = {}

    async def resolve(host: str) -> set[str]:
        return set(table.get(host, ()))

    monkeypatch.setattr(domains, "resolver", resolve)
    return table


async def test_custom_domains_through_the_tenant_page(platform, abc, console, live, fake_dns):
    await provisioning.create_tenant(platform, name="PT XYZ", subdomain="pt-xyz")
    async with console() as c, live.client("erp.abc.co.id") as customer:
        token = csrf_of((await c.get("/tenants/pt-abc")).text)
        assert (await customer.get("/api/v1/tenant")).status_code == 404  # not routed yet

        for bad, status, why in (("pt-xyz.localhost", 422, "under the platform"), ("127.0.0.1", 422, "IP address"),
                                 ("admin.localhost", 422, "admin host"), ("bad_name.co.id", 422, "not a valid"),
                                 ("", 422, "type the domain")):
            r = await c.post("/tenants/pt-abc/domains", data={"csrf_token": token, "domain": bad})
            assert r.status_code == status and why in unescape(r.text), (bad, r.text)

        r = await c.post("/tenants/pt-abc/domains", data={"csrf_token": token, "domain": "ERP.abc.co.id."})
        assert r.status_code == 303 and r.headers["location"] == "/tenants/pt-abc?done=domain-added", r.text
        r = await customer.get("/api/v1/tenant")
        assert r.status_code == 200 and r.json()["subdomain"] == "pt-abc", r.text  # routed to pt-abc now
        r = await c.post("/tenants/pt-xyz/domains", data={"csrf_token": token, "domain": "erp.abc.co.id"})
        assert r.status_code == 409 and "already routed to 'pt-abc'" in unescape(r.text)

        r = await c.post("/tenants/pt-abc/domains", data={"csrf_token": token, "domain": "www.abc.co.id"})
        assert r.status_code == 303
        assert await primary_flags(platform) == {"erp.abc.co.id": True, "www.abc.co.id": False}
        r = await c.post("/tenants/pt-abc/domains/primary", data={"csrf_token": token, "domain": "www.abc.co.id"})
        assert r.status_code == 303 and r.headers["location"] == "/tenants/pt-abc?done=domain-primary"
        assert await primary_flags(platform) == {"erp.abc.co.id": False, "www.abc.co.id": True}
        r = await c.post("/tenants/pt-xyz/domains/primary", data={"csrf_token": token, "domain": "www.abc.co.id"})
        assert r.status_code == 422 and "is not a domain of 'pt-xyz'" in unescape(r.text)

        # The DNS check: the same addresses as the tenant's subdomain, or not.
        fake_dns.update({"pt-abc.localhost": {"203.0.113.7"}, "erp.abc.co.id": {"198.51.100.1"}})
        r = await c.post("/tenants/pt-abc/domains/check", data={"csrf_token": token, "domain": "erp.abc.co.id"})
        assert r.headers["location"] == "/tenants/pt-abc?done=domain-not-here"
        fake_dns["erp.abc.co.id"] = {"203.0.113.7"}
        r = await c.post("/tenants/pt-abc/domains/check", data={"csrf_token": token, "domain": "erp.abc.co.id"})
        assert r.headers["location"] == "/tenants/pt-abc?done=domain-points-here"
        page = await c.get(r.headers["location"])
        assert "DNS check: the domain reaches the same addresses" in unescape(page.text)

        r = await c.post("/tenants/pt-abc/domains/remove", data={"csrf_token": token, "domain": "erp.abc.co.id"})
        assert r.status_code == 303 and r.headers["location"] == "/tenants/pt-abc?done=domain-removed"
        assert (await customer.get("/api/v1/tenant")).status_code == 404  # no longer routed
        r = await c.post("/tenants/pt-abc/domains/nonsense", data={"csrf_token": token, "domain": "x.co.id"})
        assert r.status_code == 404
    async with AsyncSession(platform.main_engine) as session:
        done = (await session.execute(select(PlatformEvent.action, PlatformEvent.actor)
                                      .where(PlatformEvent.action.startswith("domain."))
                                      .order_by(PlatformEvent.id))).all()
    assert [a for a, _ in done] == ["domain.added", "domain.added", "domain.primary", "domain.removed"]
    assert {actor for _, actor in done} == {f"admin:{EMAIL}"}
