"""Every permission, over real HTTP: the matrix is built from ROLE_PERMISSIONS and the tenant app's own routes.

For each JSON API route that demands a permission and each role: a role without it gets 403 (and nothing in
the tenant's database changes), a role with it gets neither 401 nor 403 (a 404/409/422 means it passed
authorization). A module outside the plan is 403 even for the owner. A new route without a permission
dependency fails here unless it is listed as open to any signed-in user.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.identity.permissions import PERMISSIONS, ROLE_PERMISSIONS
from polyflow.platform import entitlements
from polyflow.platform.entitlements import MODULES
from polyflow.platform.models import Plan
from tests.erp.purchasing.helpers import PURCHASING_TABLES, purchasing_bodies, purchasing_records
from polyflow.erp.accounting.service import today
from tests.erp.sales.helpers import SALES_TABLES, sales_bodies, sales_records
from tests.erp.payments.helpers import PAYMENT_TABLES, payment_bodies, payment_records
from tests.erp.production.lots.helpers import LOTS_TABLES, lots_bodies, lots_records
from tests.erp.production.floor.helpers import FLOOR_TABLES, floor_bodies, floor_records
from tests.erp.production.orders.helpers import ORDERS_TABLES, orders_bodies, orders_records
from tests.erp.planning.helpers import MRP_TABLES, mrp_bodies, mrp_records
from tests.erp.toll.helpers import TOLL_TABLES, toll_bodies, toll_records
from tests.erp.stockcount.helpers import STOCKCOUNT_TABLES, stockcount_bodies, stockcount_records
from tests.fixtures.auth import make_user

# JSON routes that need no permission: the public tenant info and sign-in flows, and what a signed-in user
# does to their own account (sessions, password, own tokens).
OPEN_ROUTES = {
    ("GET", "/api/v1/tenant"), ("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/logout-all"), ("GET", "/api/v1/auth/me"), ("POST", "/api/v1/auth/password"),
    ("POST", "/api/v1/auth/password-reset"), ("POST", "/api/v1/auth/password-reset/confirm"),
    ("POST", "/api/v1/auth/invite/accept"), ("POST", "/api/v1/auth/tokens"), ("GET", "/api/v1/auth/tokens"),
    ("DELETE", "/api/v1/auth/tokens/{token_id}"), ("POST", "/api/v1/auth/login/mfa"), ("POST", "/api/v1/auth/step-up"),
    ("GET", "/api/v1/auth/mfa"), ("POST", "/api/v1/auth/mfa/totp"), ("POST", "/api/v1/auth/mfa/totp/confirm"),
    ("POST", "/api/v1/auth/mfa/totp/disable"), ("POST", "/api/v1/auth/mfa/recovery-codes"),
}

QUERY = {
    "/api/v1/reports/profit-and-loss": {"date_from": "2026-01-01", "date_to": "2026-12-31"},
    "/api/v1/tax/pph23-register": {"month": "2026-11"},
    "/api/v1/tax/ppn-summary": {"month": "2026-11"},
    "/api/v1/tax/coretax-xml": {"month": "2026-11"},
    "/api/v1/reports/production": {"date_from": "2026-01-01", "date_to": "2026-12-31", "group_by": "day"},
    "/api/v1/reports/piece-rate-earnings": {"date_from": "2026-01-01", "date_to": "2026-12-31"},
}


def _bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict]:
    """Valid bodies: a refused request would really have changed something."""
    return {
        ("POST", "/api/v1/products"): {"sku": "PERM-NEW", "name": "perm new"},
        ("PATCH", "/api/v1/products/{product_id}"): {"name": "renamed", "is_active": False},
        ("POST", "/api/v1/products/{product_id}/variants"): {"sku": "PERM-NEW-V", "name": "perm v"},
        ("PATCH", "/api/v1/variants/{variant_id}"): {"name": "renamed"},
        ("POST", "/api/v1/locations"): {"code": "PERM-LOC", "name": "perm loc"},
        ("PATCH", "/api/v1/locations/{location_id}"): {"name": "renamed"},
        ("POST", "/api/v1/stock/reservations"): {"variant_id": ids["variant_id"], "location": "PERM-WH",
                                                 "quantity": "1"},
        ("POST", "/api/v1/stock/reservations/release"): {"variant_id": ids["variant_id"], "location": "PERM-WH",
                                                         "quantity": "1"},
        ("POST", "/api/v1/stock-movements"): {"kind": "IN", "variant_id": ids["variant_id"], "quantity": "1",
                                              "to_location": ids["location_id"], "unit_cost": "100"},
        ("POST", "/api/v1/accounts"): {"code": "1299", "name": "perm account", "type": "asset"},
        ("PATCH", "/api/v1/accounts/{code}"): {"name": "renamed"},
        ("POST", "/api/v1/journal-entries"): {"entry_date": "2026-03-02", "description": "perm journal",
                                              "lines": [{"account": "1101", "debit": "5"},
                                                        {"account": "3100", "credit": "5"}]},
        ("PATCH", "/api/v1/settings"): {"company_name": "Renamed by a role", "ppn_rate": "12"},
        ("POST", "/api/v1/users"): {"email": "invitee@example.test", "name": "Invitee", "roles": ["viewer"]},
        ("PATCH", "/api/v1/users/{user_id}"): {"name": "renamed"},
        ("POST", "/api/v1/partners"): {"code": "PERM-P", "name": "perm partner", "is_customer": True},
        ("PATCH", "/api/v1/partners/{partner_id}"): {"name": "renamed", "credit_limit": "1000"},
        ("POST", "/api/v1/partners/{partner_id}/prices"): {"variant_id": ids["variant_id"], "side": "sale",
                                                           "price": "2350", "effective_from": "2026-02-01"},
        ("POST", "/api/v1/tax-codes"): {"code": "PERM-TAX", "name": "perm tax", "kind": "pph23", "rate": "2",
                                        "effective_from": "2026-01-01"},
        ("PATCH", "/api/v1/tax-codes/{tax_code_id}"): {"name": "renamed", "is_active": False},
        ("PATCH", "/api/v1/tax/company"): {"legal_name": "Renamed by a role", "npwp": "1234567890123456"},
    }


# Everything a refused request could have changed, as one fingerprint per table (api_tokens and sessions
# get last-use timestamps on every authenticated request, so only their security-relevant columns count).
FINGERPRINT_TABLES = ("products", "product_variants", "locations", "stock_levels", "stock_movements", "accounts",
                      "journal_entries", "journal_lines", "fiscal_periods", "tenant_settings", "users",
                      "one_time_tokens", "outbox", "audit_log", "document_counters", "partners", "tax_codes",
                      "company_tax_profile", "partner_prices") + SALES_TABLES

FINGERPRINT_TABLES += PURCHASING_TABLES
FINGERPRINT_TABLES += PAYMENT_TABLES
FINGERPRINT_TABLES += LOTS_TABLES
FINGERPRINT_TABLES += FLOOR_TABLES
FINGERPRINT_TABLES += ORDERS_TABLES
FINGERPRINT_TABLES += MRP_TABLES
FINGERPRINT_TABLES += TOLL_TABLES
FINGERPRINT_TABLES += STOCKCOUNT_TABLES


def _fingerprint(tenant_sql, sub: str) -> dict[str, str]:
    out = {}
    for table in FINGERPRINT_TABLES:
        out[table] = tenant_sql(sub, f"SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' "
                                     f"ORDER BY t::text)), '') FROM {table} t")[0][0]
    out["api_tokens"] = tenant_sql(sub, "SELECT string_agg(id::text || coalesce(revoked_at::text, ''), ',' "
                                        "ORDER BY id) FROM api_tokens")[0][0]
    out["user_sessions"] = tenant_sql(sub, "SELECT count(*) FROM user_sessions")[0][0]
    return out


async def _add_plan(platform, code: str, modules: list[str]) -> None:
    async with AsyncSession(platform.main_engine) as session:
        session.add(Plan(code=code, name=code.title(), monthly_price="1", max_users=None, modules=modules,
                         trial_days=0, is_active=True))
        await session.commit()


async def _until(client, path: str, wanted: int, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while (status := (await client.get(path)).status_code) != wanted:
        assert time.monotonic() < deadline, f"{path}: still {status} (wanted {wanted})"
        await asyncio.sleep(0.02)


def _url(route, ids: dict[str, str]) -> str:
    return route.path.format(**{p: ids[p] for p in route.params})


def test_every_api_route_demands_a_permission_or_is_knowingly_open(tenant_routes):
    api = [r for r in tenant_routes if r.path.startswith("/api/")]
    open_ = {(r.method, r.path) for r in api if r.permission is None}
    assert open_ == OPEN_ROUTES, f"routes without a permission dependency: {sorted(open_ - OPEN_ROUTES)}; " \
                                 f"listed as open but gone or gated: {sorted(OPEN_ROUTES - open_)}"
    assert {p for r in api for p in r.alternatives} <= PERMISSIONS
    # users.manage and audit.read have routes, and every plan module that has routes has both actions.
    demanded = {p for r in api for p in r.alternatives}
    assert {"users.manage", "audit.read"} <= demanded
    for module in {p.split(".")[0] for p in demanded} & set(MODULES):
        assert {f"{module}.read", f"{module}.write"} <= demanded, module


async def test_each_role_gets_exactly_its_permissions_on_every_route(platform, make_tenant, live, tenant_routes,
                                                                    tenant_as, tenant_sql):
    await make_tenant("pt-abc")
    await entitlements.set_plan(platform, "pt-abc", "pro")  # every module, room for a user per role
    owner = make_user(live.settings, "pt-abc", ["owner"])
    target = make_user(live.settings, "pt-abc", ["viewer"])  # the user the /users/{id} routes act on
    tokens = {role: make_user(live.settings, "pt-abc", [role])["token"] for role in ROLE_PERMISSIONS}
    async with tenant_as("pt-abc", token=owner["token"]) as o:
        await _until(o, "/api/v1/products", 200)
        loc = (await o.post("/api/v1/locations", json={"code": "PERM-WH", "name": "perm wh"})).json()
        deletable = (await o.post("/api/v1/products", json={"sku": "PERM-DEL", "name": "no stock"})).json()
        stocked = (await o.post("/api/v1/products", json={"sku": "PERM-STK", "name": "stocked"})).json()
        vid = stocked["variants"][0]["id"]
        movement = (await o.post("/api/v1/stock-movements", json={
            "kind": "IN", "variant_id": vid, "quantity": "10", "to_location": loc["id"], "unit_cost": "100"})).json()
        entry = (await o.post("/api/v1/journal-entries", json=_bodies({"variant_id": vid, "location_id": loc["id"]})[
            ("POST", "/api/v1/journal-entries")])).json()
        token_id = (await o.get("/api/v1/auth/tokens")).json()[0]["id"]
        partner = (await o.post("/api/v1/partners", json={"code": "PERM-C", "name": "perm customer",
                                                           "is_customer": True})).json()
        tax_code = (await o.get("/api/v1/tax-codes", params={"q": "PPH23"})).json()["items"][0]
        price = (await o.post(f"/api/v1/partners/{partner['id']}/prices", json={
            "variant_id": vid, "side": "sale", "price": "2300", "effective_from": "2026-01-01"})).json()
        on = today().isoformat()  # the stock above came in today
        sales = await sales_records(o, partner["id"], vid, "PERM-WH", on)
    ids = {**sales, "partner_id": partner["id"], "tax_code_id": tax_code["id"], "price_id": price["id"], "product_id": deletable["id"], "variant_id": vid, "location_id": loc["id"], "movement_id": movement["id"],
           "entry_id": entry["id"], "code": "1101", "user_id": str(target["id"]), "token_id": token_id,
           "year": "2020", "month": "1"}
    bodies = _bodies(ids) | sales_bodies({**ids, "customer_id": partner["id"], "location": "PERM-WH"}, on)
    async with tenant_as("pt-abc", token=owner["token"]) as o:
        ids |= await purchasing_records(o, vid, "PERM-WH")
        ids |= await payment_records(o, partner["id"], ids["sales_invoice_id"], vid, "PERM-WH", on)
        ids |= await lots_records(o, vid, "PERM-WH")
        ids |= await mrp_records(o)  # before any BOM exists: its proposal is a purchase
        ids |= await floor_records(o)
        ids |= await orders_records(o, "PERM-WH")
        ids |= await toll_records(o, partner["id"], on)
        ids |= await stockcount_records(o, vid, "PERM-WH")
    bodies |= purchasing_bodies(ids)
    bodies |= payment_bodies(ids, on)
    bodies |= lots_bodies(ids)
    bodies |= floor_bodies(ids)
    bodies |= orders_bodies(ids)
    bodies |= mrp_bodies(ids)
    bodies |= toll_bodies(ids, on)
    bodies |= stockcount_bodies(ids)
    gated = [r for r in tenant_routes if r.path.startswith("/api/") and r.permission]
    assert len(gated) >= 40

    # 1. Every refusal first, then check that none of them changed anything.
    before = _fingerprint(tenant_sql, "pt-abc")
    refused = 0
    for role, token in tokens.items():
        async with tenant_as("pt-abc", token=token) as c:
            for route in gated:
                if route.granted(ROLE_PERMISSIONS[role]):
                    continue
                r = await c.request(route.method, _url(route, ids), json=bodies.get((route.method, route.path)),
                                    params=QUERY.get(route.path))
                assert r.status_code == 403, (role, route, r.status_code, r.text)
                assert f"does not allow {route.permission}" in r.json()["detail"], (role, route, r.text)
                refused += 1
    assert refused > 100
    assert _fingerprint(tenant_sql, "pt-abc") == before

    # 2. Every grant: past authorization (any answer but 401/403, and never a server error).
    allowed = 0
    for role, token in tokens.items():
        async with tenant_as("pt-abc", token=token) as c:
            for route in gated:
                if not route.granted(ROLE_PERMISSIONS[role]):
                    continue
                r = await c.request(route.method, _url(route, ids), json=bodies.get((route.method, route.path)),
                                    params=QUERY.get(route.path))
                if r.status_code == 403 and "an API token cannot" in r.json()["detail"]:
                    continue  # past the permission check; inviting and changing roles need a browser session
                assert r.status_code not in (401, 403) and r.status_code < 500, (role, route, r.status_code, r.text)
                allowed += 1
    assert allowed > 100
    # Sanity: the grants really acted (the owner renamed the target user, the product was deleted).
    assert tenant_sql("pt-abc", "SELECT name FROM users WHERE id = %s", (target["id"],))[0][0] == "renamed"
    assert tenant_sql("pt-abc", "SELECT count(*) FROM products WHERE id = %s", (uuid.UUID(ids["product_id"]),))[0][0] == 0


async def test_a_module_outside_the_plan_is_403_even_for_the_owner(platform, make_tenant, live, tenant_routes,
                                                                  tenant_as, tenant_sql):
    await _add_plan(platform, "no-books", [m for m in MODULES if m != "accounting"])
    await make_tenant("pt-abc")
    await entitlements.set_plan(platform, "pt-abc", "no-books")
    owner = make_user(live.settings, "pt-abc", ["owner"])
    finance = make_user(live.settings, "pt-abc", ["finance"])
    accounting = [r for r in tenant_routes if r.path.startswith("/api/") and (r.permission or "").startswith("accounting.")]
    assert len(accounting) >= 10
    ids = {"code": "1101", "entry_id": str(uuid.uuid4()), "year": "2020", "month": "1", "tax_code_id": str(uuid.uuid4())}
    bodies = _bodies({"variant_id": str(uuid.uuid4()), "location_id": str(uuid.uuid4())})
    before = _fingerprint(tenant_sql, "pt-abc")
    async with tenant_as("pt-abc", token=owner["token"]) as o, tenant_as("pt-abc", token=finance["token"]) as f:
        await _until(o, "/api/v1/accounts", 403)
        for client in (o, f):
            for route in accounting:
                r = await client.request(route.method, _url(route, ids), json=bodies.get((route.method, route.path)),
                                         params=QUERY.get(route.path))
                assert r.status_code == 403, (route, r.status_code, r.text)
                assert r.json()["detail"] == "module 'accounting' is not in your plan", (route, r.text)
        assert _fingerprint(tenant_sql, "pt-abc") == before
        # The rest of the workspace is served; users.manage and audit.read are not plan modules.
        for path in ("/api/v1/products", "/api/v1/locations", "/api/v1/users", "/api/v1/audit", "/api/v1/auth/me"):
            assert (await o.get(path)).status_code == 200, path
        assert (await f.get("/api/v1/audit")).status_code == 200

        await entitlements.grant_module(platform, "pt-abc", "accounting")
        await _until(o, "/api/v1/accounts", 200)
        assert (await f.get("/api/v1/reports/trial-balance")).status_code == 200
