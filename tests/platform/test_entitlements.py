"""Plans and module entitlements: denied by default, carried in the cached route, enforced over real HTTP,
changed by the CLI/services and seen by every app process within a second."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.errors import InvalidInput, NotFound
from polyflow.platform import entitlements
from polyflow.platform.entitlements import MODULES, PlanLimitReached, check_user_limit, compute_entitlements
from polyflow.platform.models import Plan, PlatformEvent, Tenant
from polyflow.erp.identity.auth import authorize, require
from polyflow.platform.tenancy.route import TenantRoute
from tests.fixtures.cli import assert_error, cli_runner

PRODUCT = {"sku": "PP-001", "name": "Polypropylene resin", "unit": "kg"}


# --- helpers -----------------------------------------------------------------------------------------
async def add_plan(platform, code: str, modules: list[str], *, price: str = "250000", max_users: int | None = 2,
                   trial_days: int = 0) -> None:
    """A plan beyond the seeded ones (all seeded plans include `catalog`)."""
    async with AsyncSession(platform.main_engine) as session:
        session.add(Plan(code=code, name=code.title(), monthly_price=price, max_users=max_users, modules=modules,
                         trial_days=trial_days, is_active=True))
        await session.commit()


async def wait_status(client, path: str, wanted: int, timeout: float) -> float:
    """Poll `path` until it answers `wanted`; the seconds it took (or fail)."""
    start = time.monotonic()
    while True:
        r = await client.get(path)
        if r.status_code == wanted:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{path}: still {r.status_code} after {timeout}s (wanted {wanted}): {r.text}")
        await asyncio.sleep(0.01)


async def wait_listening(*servers, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(s.platform.routes.listening.is_set() for s in servers):
        assert time.monotonic() < deadline, "invalidation listener did not subscribe"
        await asyncio.sleep(0.01)


async def events(platform, action: str) -> list[dict]:
    async with AsyncSession(platform.main_engine) as session:
        rows = (await session.execute(
            select(PlatformEvent).where(PlatformEvent.action == action).order_by(PlatformEvent.id))).scalars()
        return [{"actor": e.actor, **e.detail} for e in rows]


# --- the rule, pure ----------------------------------------------------------------------------------
def test_compute_entitlements_combines_plan_and_grants():
    t = datetime(2030, 1, 1, tzinfo=timezone.utc)
    later = t + timedelta(days=10)
    # Not a trial: plan modules have no end; a grant adds a module with its own end.
    assert compute_entitlements(["sales", "catalog"], False, t, [("production", later)]) == (
        ("catalog", None), ("production", later.timestamp()), ("sales", None))
    # A trial plan ends at the trial end; a grant of a plan module lasting longer extends that module only.
    assert compute_entitlements(["catalog", "sales"], True, t, [("catalog", later)]) == (
        ("catalog", later.timestamp()), ("sales", t.timestamp()))
    # A grant without end beats any end; a trial without an end date has no end.
    assert compute_entitlements(["catalog"], True, t, [("catalog", None)]) == (("catalog", None),)
    assert compute_entitlements(["catalog"], True, None, []) == (("catalog", None),)
    assert compute_entitlements([], False, None, []) == ()


def test_route_denies_by_default_and_checks_ends_against_the_clock():
    base = dict(id=uuid.uuid4(), subdomain="pt-abc", name="ABC", status="active", db_host="h",
                db_port=5432, db_name="d", db_user="u", db_password_enc="x")
    bare = TenantRoute(**base)
    assert not any(bare.allows(m) for m in MODULES) and bare.modules() == ()
    now = time.time()
    route = TenantRoute(**base, plan="basic", max_users=5,
                        entitlements=(("catalog", None), ("production", now + 60), ("sales", now - 1)))
    assert route.allows("catalog") and route.allows("production") and not route.allows("sales")
    assert not route.allows("accounting")
    assert route.allows("production", now=now + 59) and not route.allows("production", now=now + 60)
    assert route.modules(now) == ("catalog", "production")
    assert route.entitlements_expire_at == pytest.approx(now - 1)
    assert entitlements.denial(route, "accounting", now) == "module 'accounting' is not in your plan"
    assert entitlements.denial(route, "sales", now).startswith("module 'sales' is not in your plan (access ended ")
    assert entitlements.denial(route, "catalog", now) is None

    # The cache's JSON keeps everything; a route cached by an older version (no entitlements) is reloaded
    # rather than denying every module: from_json raises, which the cache treats as "reload".
    assert TenantRoute.from_json(route.to_json()) == route
    old = json.loads(bare.to_json())
    del old["entitlements"], old["plan"], old["max_users"]
    with pytest.raises(KeyError):
        TenantRoute.from_json(json.dumps(old))


def test_authorize_and_require_refuse_unknown_names_at_declaration():
    with pytest.raises(ValueError, match="unknown module 'warehouse'"):
        authorize("warehouse")
    with pytest.raises(ValueError, match="unknown permission 'catalog.delete'"):
        require("catalog.delete")


def test_user_limit():
    route = TenantRoute(uuid.uuid4(), "pt-abc", "ABC", "active", "h", 1, "d", "u", "x",
                        plan="basic", max_users=5)
    check_user_limit(route, 4)
    with pytest.raises(PlanLimitReached) as exc:
        check_user_limit(route, 5)
    assert exc.value.status_code == 403
    assert exc.value.message == ("your plan 'basic' allows at most 5 users and you have 5; "
                                 "deactivate a user or upgrade the plan")
    unlimited = TenantRoute(route.id, "pt-abc", "ABC", "active", "h", 1, "d", "u", "x", plan="enterprise")
    check_user_limit(unlimited, 10_000)  # max_users None: no limit


# --- registry, services ----------------------------------------------------------------------------------
async def test_registry_computes_entitlements_from_plan_trial_and_grants(platform, make_tenant):
    await make_tenant("pt-abc")
    route = await platform.registry.load("sub:pt-abc")
    # New tenants start on the trial plan: every module, until the trial ends (14 days).
    assert route.plan == "trial" and route.max_users == 3
    assert route.modules() == tuple(sorted(MODULES))
    assert route.entitlements_expire_at == pytest.approx(time.time() + 14 * 86400, abs=60)

    await entitlements.set_plan(platform, "pt-abc", "basic")
    route = await platform.registry.load("sub:pt-abc")
    assert route.plan == "basic" and route.max_users == 5 and route.entitlements_expire_at is None
    assert not route.allows("production") and route.allows("catalog")

    until = datetime.now(timezone.utc) + timedelta(hours=1)
    await entitlements.grant_module(platform, "pt-abc", "Production", until=until)
    route = await platform.registry.load("sub:pt-abc")
    assert route.allows("production") and route.entitlements_expire_at == pytest.approx(until.timestamp())

    ent = await entitlements.get_entitlements(platform, "pt-abc")
    by_module = {m.module: m for m in ent.modules}
    assert by_module["production"].source == "grant" and by_module["production"].until == until
    assert by_module["catalog"].source == "plan" and by_module["catalog"].until is None
    assert set(by_module) == {"catalog", "inventory", "purchasing", "sales", "accounting", "production"}

    await entitlements.revoke_module(platform, "pt-abc", "production")
    assert not (await platform.registry.load("sub:pt-abc")).allows("production")

    # Leaving the trial ended it; every change is in the audit log.
    async with AsyncSession(platform.main_engine) as session:
        trial_end = await session.scalar(select(Tenant.trial_ends_at).where(Tenant.subdomain == "pt-abc"))
    assert trial_end <= datetime.now(timezone.utc)
    assert [e["to"] for e in await events(platform, "plan.changed")] == ["basic"]
    assert [e["module"] for e in await events(platform, "module.granted")] == ["production"]
    assert [e["module"] for e in await events(platform, "module.revoked")] == ["production"]


async def test_bad_changes_are_refused_and_change_nothing(platform, make_tenant):
    await make_tenant("pt-abc")
    cases = [
        (entitlements.set_plan(platform, "pt-abc", "platinum"), InvalidInput, "unknown plan 'platinum'"),
        (entitlements.set_plan(platform, "ghost", "basic"), NotFound, "no tenant 'ghost'"),
        (entitlements.set_plan(platform, "pt-abc", "basic", trial_until=datetime.now(timezone.utc) + timedelta(days=1)),
         InvalidInput, "not a trial plan"),
        (entitlements.set_plan(platform, "pt-abc", "trial", trial_until=datetime(2001, 1, 1, tzinfo=timezone.utc)),
         InvalidInput, "must be in the future"),
        (entitlements.grant_module(platform, "pt-abc", "warp-drive"), InvalidInput, "unknown module 'warp-drive'"),
        (entitlements.grant_module(platform, "pt-abc", "sales", until=datetime(2001, 1, 1)), InvalidInput, "in the past"),
        (entitlements.grant_module(platform, "ghost", "sales"), NotFound, "no tenant 'ghost'"),
        (entitlements.revoke_module(platform, "pt-abc", "sales"), NotFound,
         "module 'sales' is not granted to 'pt-abc' (it comes with plan 'trial')"),
    ]
    for coro, error, message in cases:
        with pytest.raises(error) as exc:
            await coro
        assert message in exc.value.message
    route = await platform.registry.load("sub:pt-abc")
    assert route.plan == "trial" and route.modules() == tuple(sorted(MODULES))
    async with AsyncSession(platform.main_engine) as session:
        changes = await session.scalar(select(func.count()).select_from(PlatformEvent).where(
            PlatformEvent.action.in_(("plan.changed", "module.granted", "module.revoked"))))
    assert changes == 0


# --- over real HTTP ----------------------------------------------------------------------------------------
async def test_module_outside_the_plan_is_403_until_granted_and_again_after_the_grant_ends(
        settings, platform, make_tenant, make_live):
    # A long local TTL: only the invalidation can make the server notice the grant in time, and only the
    # end time carried in the route can make it notice the expiry (nothing is invalidated then).
    live = make_live(settings.model_copy(update={"route_cache_ttl": 600.0}))
    await add_plan(platform, "books", ["accounting"])
    await make_tenant("pt-abc")
    await entitlements.set_plan(platform, "pt-abc", "books")
    await wait_listening(live)
    async with live.tenant_client("pt-abc") as c:
        r = await c.get("/api/v1/products")
        assert r.status_code == 403 and r.json() == {"detail": "module 'catalog' is not in your plan"}
        assert (await c.post("/api/v1/products", json=PRODUCT)).status_code == 403
        assert (await c.get("/api/v1/tenant")).status_code == 200  # the workspace itself is served
    async with live.tenant_client("pt-abc", role=None) as anonymous:
        # Signing in comes first: the plan is not told to someone who has not.
        assert (await anonymous.get("/api/v1/products")).status_code == 401
    async with live.tenant_client("pt-abc") as c:

        until = datetime.now(timezone.utc) + timedelta(seconds=3)
        await entitlements.grant_module(platform, "pt-abc", "catalog", until=until)
        assert await wait_status(c, "/api/v1/products", 200, timeout=1.0) < 1.0
        assert (await c.post("/api/v1/products", json=PRODUCT)).status_code == 201

        await wait_status(c, "/api/v1/products", 403, timeout=until.timestamp() - time.time() + 1.0)
        assert time.time() >= until.timestamp() - 0.05  # not before its end
        r = await c.get("/api/v1/products")
        assert r.json()["detail"].startswith("module 'catalog' is not in your plan (access ended ")


async def test_an_ended_trial_is_403_and_upgrading_serves_again(settings, platform, make_tenant, make_live):
    live = make_live(settings.model_copy(update={"route_cache_ttl": 600.0}))
    await make_tenant("pt-abc")
    await wait_listening(live)
    async with live.tenant_client("pt-abc") as c:
        assert (await c.get("/api/v1/products")).status_code == 200  # cached with a 14-day trial
        until = datetime.now(timezone.utc) + timedelta(seconds=2)
        await entitlements.set_plan(platform, "pt-abc", "trial", trial_until=until)
        await wait_status(c, "/api/v1/products", 403, timeout=until.timestamp() - time.time() + 1.0)
        assert time.time() >= until.timestamp() - 0.05
        assert (await c.get("/api/v1/tenant")).status_code == 200

        await entitlements.set_plan(platform, "pt-abc", "basic")
        assert await wait_status(c, "/api/v1/products", 200, timeout=1.0) < 1.0


async def test_plan_change_on_one_instance_is_enforced_by_another_within_a_second(
        settings, platform, make_tenant, make_live):
    s = settings.model_copy(update={"route_cache_ttl": 600.0})
    one, two = make_live(s), make_live(s)
    await add_plan(platform, "books", ["accounting"])
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    await wait_listening(one, two)
    async with one.tenant_client("pt-abc") as c1, two.tenant_client("pt-abc") as c2, \
            two.tenant_client("pt-xyz") as other:
        for c in (c1, c2, other):
            assert (await c.get("/api/v1/products")).status_code == 200  # now cached everywhere

        # The change goes through instance 1's own platform objects (its route cache publishes).
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(
            entitlements.set_plan(one.platform, "pt-abc", "books", actor="test"), one.server_loop))
        assert await wait_status(c2, "/api/v1/products", 403, timeout=1.0) < 1.0
        assert (await c1.get("/api/v1/products")).status_code == 403
        assert (await other.get("/api/v1/products")).status_code == 200  # another tenant is untouched

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(
            entitlements.grant_module(one.platform, "pt-abc", "catalog", actor="test"), one.server_loop))
        assert await wait_status(c2, "/api/v1/products", 200, timeout=1.0) < 1.0
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(
            entitlements.revoke_module(one.platform, "pt-abc", "catalog", actor="test"), one.server_loop))
        assert await wait_status(c2, "/api/v1/products", 403, timeout=1.0) < 1.0


# --- CLI ---------------------------------------------------------------------------------------------------
@pytest.fixture
def cli(settings):
    return cli_runner(settings)


def test_cli_plans_and_module_commands(cli, make_tenant_sync):
    make_tenant_sync("pt-abc")
    r = cli("plans", "list", "--json")
    assert r.exit_code == 0, r.output
    plans = {p["code"]: p for p in json.loads(r.stdout)}
    assert plans["basic"]["monthly_price"] == "1500000.00" and plans["pro"]["max_users"] == 25
    assert "production" not in plans["basic"]["modules"] and plans["trial"]["trial_days"] == 14
    r = cli("plans", "list")
    assert r.exit_code == 0 and "1,500,000.00" in r.stdout

    r = cli("tenants", "set-plan", "pt-abc", "basic")
    assert r.exit_code == 0 and r.stdout.startswith("pt-abc: plan basic"), r.output
    r = cli("tenants", "grant", "pt-abc", "production", "--until", "2099-12-31")
    assert r.exit_code == 0 and "module production granted until 2100-01-01 00:00 UTC" in r.stdout, r.output
    r = cli("tenants", "entitlements", "pt-abc", "--json")
    ent = json.loads(r.stdout)
    assert ent["plan"] == "basic" and ent["max_users"] == 5
    assert {"module": "production", "source": "grant", "until": "2100-01-01T00:00:00+00:00", "active": True} \
        in ent["modules"]
    r = cli("tenants", "entitlements", "pt-abc")
    assert r.exit_code == 0 and "production" in r.stdout and "grant" in r.stdout
    r = cli("tenants", "revoke", "pt-abc", "production")
    assert r.exit_code == 0 and "revoked" in r.stdout


@pytest.mark.parametrize("args, mentions", [
    (("tenants", "set-plan", "pt-abc", "platinum"), ("unknown plan 'platinum'",)),
    (("tenants", "set-plan", "ghost", "basic"), ("no tenant 'ghost'",)),
    (("tenants", "set-plan", "pt-abc", "trial", "--trial-until", "tomorrow"), ("invalid date for --trial-until",)),
    (("tenants", "grant", "pt-abc", "production", "--until", "2026-13-45"), ("invalid date for --until '2026-13-45'",)),
    (("tenants", "grant", "pt-abc", "production", "--until", "2001-01-01"), ("in the past",)),
    (("tenants", "grant", "pt-abc", "[bold]warp[/bold]"), ("unknown module '[bold]warp[/bold]'",)),
    (("tenants", "revoke", "pt-abc", "sales"), ("module 'sales' is not granted to 'pt-abc'",)),
    (("tenants", "entitlements", "ghost"), ("no tenant 'ghost'",)),
])
def test_cli_bad_input_is_one_clear_line(cli, make_tenant_sync, args, mentions):
    make_tenant_sync("pt-abc")
    assert_error(cli(*args), *mentions)
