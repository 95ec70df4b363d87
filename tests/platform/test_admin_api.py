"""Admin tenants API over real HTTP: operator token, bad input (clear 4xx, nothing created), list and
status, suspend/resume through the route cache, abandon; never reachable from a tenant host."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.platform import onboarding
from polyflow.platform.models import PlatformEvent, Tenant

TOKEN = "operator-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NEW = {"name": "PT Baru", "subdomain": "pt-baru", "admin_email": "owner@baru.co.id"}


@pytest.fixture
def settings(make_settings):
    # These tests send many wrong tokens on purpose; the throttle has its own test (security/test_admin_host.py).
    return make_settings(operator_token=TOKEN, operator_token_failures_per_minute=1000)


def admin(live, headers=AUTH):
    return live.client("admin.localhost", headers=dict(headers))


async def counts(platform) -> tuple[int, int]:
    """(tenants, onboarding jobs): what a refused request must leave unchanged."""
    async with platform.main_engine.connect() as conn:
        tenants = await conn.scalar(text("SELECT count(*) FROM tenants"))
        queued = await conn.scalar(text("SELECT count(*) FROM procrastinate_jobs"))
    return tenants, queued


async def events(platform, action: str) -> list[PlatformEvent]:
    async with AsyncSession(platform.main_engine) as session:
        return list((await session.execute(
            select(PlatformEvent).where(PlatformEvent.action == action).order_by(PlatformEvent.id))).scalars())


# --- auth ------------------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/admin/api/tenants", None),
    ("POST", "/admin/api/tenants", NEW),
    ("GET", "/admin/api/tenants/pt-abc", None),
    ("POST", "/admin/api/tenants/pt-abc/suspend", None),
    ("POST", "/admin/api/tenants/pt-abc/resume", None),
    ("POST", "/admin/api/tenants/pt-abc/onboarding", None),
    ("DELETE", "/admin/api/tenants/pt-abc/onboarding", None),
]


async def test_every_route_needs_the_operator_token(platform, live):
    before = await counts(platform)
    for headers, detail in (({}, "missing bearer token"),
                            ({"Authorization": "Bearer wrong-token"}, "invalid operator token"),
                            ({"Authorization": f"Basic {TOKEN}"}, "missing bearer token"),
                            ({"Authorization": "Bearer"}, "missing bearer token")):
        async with admin(live, headers) as api:
            for method, path, body in ROUTES:
                r = await api.request(method, path, json=body)
                assert r.status_code == 401, (method, path, headers, r.text)
                assert r.json()["detail"] == detail and r.headers["www-authenticate"] == "Bearer"
    assert await counts(platform) == before


async def test_no_operator_token_configured_means_every_bearer_token_is_401(make_settings, make_live):
    # POLYFLOW_OPERATOR_TOKEN unset: only signed-in admins get in (tests/security/test_admin_auth.py).
    live = make_live(make_settings())
    async with admin(live) as api:
        for method, path, body in ROUTES:
            r = await api.request(method, path, json=body)
            assert r.status_code == 401 and r.json()["detail"] == "invalid operator token", (method, path)


async def test_tenant_and_platform_hosts_never_reach_the_admin_api(platform, make_tenant, live):
    await make_tenant("pt-abc")
    for host in ("pt-abc.localhost", "localhost", "www.localhost", "127.0.0.1"):
        async with live.client(host, headers=AUTH) as c:
            for method, path, body in ROUTES:
                r = await c.request(method, path, json=body)
                assert r.status_code == 404, (host, method, path, r.status_code)
    async with live.client("admin.localhost", headers=AUTH) as c:  # the same request on the admin host
        assert (await c.get("/admin/api/tenants/pt-abc")).json()["status"] == "active"


# --- creating: bad input ---------------------------------------------------------------------------


async def test_bad_input_is_a_clear_4xx_and_creates_nothing(platform, make_tenant, live):
    await make_tenant("pt-ada")
    before = await counts(platform)
    cases = [
        ({**NEW, "subdomain": "PT-BARU"}, 422, "lowercase"),
        ({**NEW, "subdomain": "admin"}, 422, "reserved"),
        ({**NEW, "subdomain": "ab"}, 422, "3-40 characters"),
        ({**NEW, "subdomain": "pt--baru"}, 422, "invalid subdomain"),
        ({**NEW, "subdomain": "xn--bcher-kva"}, 422, "punycode"),
        ({**NEW, "admin_email": "not-an-email"}, 422, "invalid admin email"),
        ({**NEW, "admin_email": "a@b"}, 422, "invalid admin email"),
        ({**NEW, "name": "   "}, 422, "tenant name"),
        ({**NEW, "plan": "platinum"}, 422, "unknown plan 'platinum'"),
        ({**NEW, "server": "nowhere"}, 422, "no database server named 'nowhere'"),
        ({**NEW, "subdomain": "pt-ada"}, 409, "already taken"),
    ]
    async with admin(live) as api:
        for body, status, mention in cases:
            r = await api.post("/admin/api/tenants", json=body)
            assert r.status_code == status, (body, r.text)
            assert mention in r.json()["detail"], (body, r.json())
        # Malformed requests: FastAPI's 422 names the field.
        for body in ({k: v for k, v in NEW.items() if k != "admin_email"}, {**NEW, "name": 12},
                     {**NEW, "extra": "x"}, {**NEW, "name": "PT\x00Nul"}, {**NEW, "admin_email": "a\x00@b.co"},
                     {**NEW, "name": "x" * 5000}):
            r = await api.post("/admin/api/tenants", json=body)
            assert r.status_code == 422, (body, r.text)
        r = await api.post("/admin/api/tenants", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 422
        r = await api.post("/admin/api/tenants", content=b"", headers={"Content-Type": "application/json"})
        assert r.status_code == 422
    assert await counts(platform) == before


async def test_unknown_or_malformed_subdomains_are_404(live):
    async with admin(live) as api:
        for sub in ("pt-nope", "PT-ABC", "x" * 300, "pt%00abc", "p%C3%A9", "a.b"):
            for method, suffix in (("GET", ""), ("POST", "/suspend"), ("POST", "/resume"),
                                   ("POST", "/onboarding"), ("DELETE", "/onboarding")):
                r = await api.request(method, f"/admin/api/tenants/{sub}{suffix}")
                assert r.status_code == 404, (sub, method, suffix, r.text)
                assert r.json()["detail"].startswith("no tenant")


# --- creating: accepted, resumed -------------------------------------------------------------------


async def test_create_reserves_queues_and_a_repeat_resumes_the_same_job(platform, live):
    async with admin(live) as api:
        r = await api.post("/admin/api/tenants", json={**NEW, "plan": "pro"})
        assert r.status_code == 202, r.text
        first = r.json()
        assert first["status"] == "provisioning" and first["status_url"] == "http://admin.localhost/admin/api/tenants/pt-baru"
        # No worker runs here: the tenant waits, reserved, with its job queued.
        s = (await api.get("/admin/api/tenants/pt-baru")).json()
        assert s["status"] == "provisioning" and s["plan"] == "pro" and s["admin_email"] == "owner@baru.co.id"
        assert s["onboarding"] == {"step": "reserved", "attempts": 0, "error": None,
                                   "job": {"id": first["job_id"], "status": "todo", "attempts": 0,
                                           "scheduled_at": s["onboarding"]["job"]["scheduled_at"]}}
        # The same request again (a client retry): the same reservation, the same queued job.
        r = await api.post("/admin/api/tenants", json={**NEW, "plan": "pro"})
        assert r.status_code == 202 and r.json()["job_id"] == first["job_id"]
        r = await api.post("/admin/api/tenants/pt-baru/onboarding")
        assert r.status_code == 202 and r.json()["job_id"] == first["job_id"]
        # Another company asking for the name meanwhile: taken.
        r = await api.post("/admin/api/tenants", json={**NEW, "name": "PT Lain"})
        assert r.status_code == 409
        # Requests racing each other still queue one job.
        rs = await asyncio.gather(*(api.post("/admin/api/tenants/pt-baru/onboarding") for _ in range(8)))
        assert {r.json()["job_id"] for r in rs} == {first["job_id"]}
    assert await counts(platform) == (1, 1)
    queued = await events(platform, "tenant.onboarding_queued")
    assert [(e.actor, e.detail) for e in queued] == [("operator-token", {"job_id": first["job_id"]})]
    assert [e.actor for e in await events(platform, "tenant.reserved")] == ["operator-token"]


# --- reading ---------------------------------------------------------------------------------------


async def test_list_and_filter_by_status(platform, make_tenant, live):
    for sub in ("pt-c", "pt-a", "pt-b"):
        await make_tenant(sub)
    await onboarding.reserve(platform, name="PT D", subdomain="pt-d", admin_email="o@d.co.id")
    async with admin(live) as api:
        assert (await api.post("/admin/api/tenants/pt-b/suspend")).status_code == 200
        r = (await api.get("/admin/api/tenants")).json()
        assert [t["subdomain"] for t in r["items"]] == ["pt-a", "pt-b", "pt-c", "pt-d"] and r["total"] == 4
        assert {t["subdomain"]: t["status"] for t in r["items"]} == {
            "pt-a": "active", "pt-b": "suspended", "pt-c": "active", "pt-d": "provisioning"}
        assert r["items"][0]["server"] == "default" and r["items"][0]["onboarding_step"] == "active"
        r = (await api.get("/admin/api/tenants", params={"status": "suspended"})).json()
        assert [t["subdomain"] for t in r["items"]] == ["pt-b"] and r["total"] == 1
        r = (await api.get("/admin/api/tenants", params={"status": "active", "limit": 1, "offset": 1})).json()
        assert [t["subdomain"] for t in r["items"]] == ["pt-c"] and r["total"] == 2
        assert (await api.get("/admin/api/tenants", params={"status": "deleted"})).json()["items"] == []
        for params in ({"status": "sleeping"}, {"limit": 0}, {"limit": 100000}, {"offset": -1}):
            assert (await api.get("/admin/api/tenants", params=params)).status_code == 422, params

        s = (await api.get("/admin/api/tenants/pt-a")).json()
        assert s["status"] == "active" and s["name"] == "PT-A" and s["schema_revision"]
        assert s["onboarding"]["step"] == "active" and s["onboarding"]["job"] is None  # made by the CLI path
        assert s["domains"] == [] and s["activated_at"] is not None


# --- suspend / resume ------------------------------------------------------------------------------


async def test_suspend_and_resume_reach_routing_within_a_second(platform, make_tenant, live):
    await make_tenant("pt-abc")
    await onboarding.reserve(platform, name="PT Baru", subdomain="pt-baru", admin_email="o@baru.co.id")
    async with admin(live) as api, live.tenant_client("pt-abc") as tenant:
        assert (await tenant.get("/api/v1/tenant")).status_code == 200  # cached as active

        r = await api.post("/admin/api/tenants/pt-abc/suspend", json={"reason": "asked by the customer"})
        assert r.status_code == 200 and r.json()["status"] == "suspended"
        assert r.json()["status_reason"] == "asked by the customer"
        await _within_a_second(tenant, 403)
        assert (await api.post("/admin/api/tenants/pt-abc/suspend")).status_code == 200  # idempotent
        r = await api.post("/admin/api/tenants/pt-abc/resume")
        assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["status_reason"] is None
        await _within_a_second(tenant, 200)
        assert (await api.post("/admin/api/tenants/pt-abc/resume")).status_code == 200  # idempotent

        # Not from other states: an unfinished onboarding is not suspended (nor "resumed" into active).
        for action in ("suspend", "resume"):
            r = await api.post(f"/admin/api/tenants/pt-baru/{action}")
            assert r.status_code == 409 and "provisioning" in r.json()["detail"]
        assert (await api.post("/admin/api/tenants/pt-abc/suspend", json={"reason": "x" * 501})).status_code == 422
    suspended = await events(platform, "tenant.suspended")
    resumed = await events(platform, "tenant.resumed")
    assert len(suspended) == 1 and len(resumed) == 1
    assert suspended[0].actor == "operator-token" and suspended[0].detail == {"reason": "asked by the customer"}


async def test_a_subdomain_with_a_deleted_tombstone_is_still_managed(platform, make_tenant, live):
    """A deleted tenant's row stays (status `deleted`) and its name may be taken again: the API acts
    on the live one only."""
    await make_tenant("pt-abc")
    async with platform.main_engine.begin() as conn:
        await conn.execute(text("UPDATE tenants SET status = 'deleted' WHERE subdomain = 'pt-abc'"))
    await make_tenant("pt-abc", "PT ABC Baru")
    async with admin(live) as api:
        assert (await api.get("/admin/api/tenants/pt-abc")).json()["name"] == "PT ABC Baru"
        assert (await api.post("/admin/api/tenants/pt-abc/suspend")).json()["status"] == "suspended"
        assert (await api.post("/admin/api/tenants/pt-abc/resume")).json()["status"] == "active"
        r = (await api.get("/admin/api/tenants", params={"status": "deleted"})).json()
        assert [t["subdomain"] for t in r["items"]] == ["pt-abc"]


async def _within_a_second(client, status: int) -> None:
    deadline = time.monotonic() + 1.0
    while (await client.get("/api/v1/tenant")).status_code != status:
        assert time.monotonic() < deadline, f"routing did not answer {status} within 1 s"
        await asyncio.sleep(0.02)


# --- abandon ---------------------------------------------------------------------------------------


async def test_abandon_an_unfinished_onboarding(platform, make_tenant, live):
    await make_tenant("pt-abc")
    async with admin(live) as api:
        assert (await api.post("/admin/api/tenants", json=NEW)).status_code == 202
        r = await api.delete("/admin/api/tenants/pt-baru/onboarding")
        assert r.status_code == 200 and r.json() == {"subdomain": "pt-baru", "abandoned": True}
        assert (await api.get("/admin/api/tenants/pt-baru")).status_code == 404
        assert (await api.delete("/admin/api/tenants/pt-baru/onboarding")).status_code == 404
        r = await api.delete("/admin/api/tenants/pt-abc/onboarding")
        assert r.status_code == 409 and "only an unfinished onboarding" in r.json()["detail"]
        assert (await api.post("/admin/api/tenants/pt-abc/onboarding")).status_code == 409
        # The name is free again.
        assert (await api.post("/admin/api/tenants", json={**NEW, "name": "PT Baru Lagi"})).status_code == 202
    async with platform.main_engine.connect() as conn:
        statuses = (await conn.execute(text(
            "SELECT status::text FROM procrastinate_jobs WHERE task_name = 'tenants.onboard' ORDER BY id"))).scalars().all()
        names = (await conn.execute(select(Tenant.name).where(Tenant.subdomain == "pt-baru"))).scalars().all()
    assert statuses == ["cancelled", "todo"] and names == ["PT Baru Lagi"]
    (event,) = await events(platform, "tenant.onboarding_abandoned")
    assert event.actor == "operator-token" and event.tenant_id is None
    assert event.detail["subdomain"] == "pt-baru" and event.detail["step"] == "reserved"
