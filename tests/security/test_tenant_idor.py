"""IDOR across tenants: every tenant JSON API route that takes a record's id in its path, called on pt-xyz (by its
owner) with the id of a pt-abc record, answers 404 by every verb — and neither tenant changed.

The routes come from the tenant app itself, so a new route with an id in its path fails this test until
it is given an id (or a reason to skip) below.
"""

from __future__ import annotations

from polyflow.erp.accounting.service import today
from tests.erp.sales.helpers import sales_records
from tests.erp.purchasing.helpers import IDOR_BODIES, public, purchasing_paths, purchasing_records
from tests.erp.payments.helpers import payment_paths, payment_records
from tests.erp.production.lots.helpers import lots_paths, lots_records
from tests.erp.production.floor.helpers import FLOOR_IDOR_BODIES, floor_paths, floor_records
from tests.erp.production.orders.helpers import ORDERS_IDOR_BODIES, orders_paths, orders_records
from tests.erp.planning.helpers import IDOR_BODIES as MRP_IDOR_BODIES, mrp_records
from tests.erp.toll.helpers import TOLL_IDOR_BODIES, toll_paths, toll_records
from tests.erp.stockcount.helpers import stockcount_paths, stockcount_records
from tests.fixtures.auth import make_user

# Path parameters that are not a record of the other tenant (a month number is the same on every tenant;
# periods are covered by tests/erp/test_isolation.py).
NOT_RECORD_IDS = {"year", "month"}
# Bodies that are valid, so that a 404 is about the id (a 422 would hide a missing check).
BODIES = {
    ("PATCH", "/api/v1/products/{product_id}"): {"name": "hijacked", "is_active": False},
    ("POST", "/api/v1/products/{product_id}/variants"): {"sku": "HIJACK-1", "name": "hijacked"},
    ("PATCH", "/api/v1/variants/{variant_id}"): {"name": "hijacked", "is_active": False},
    ("PATCH", "/api/v1/locations/{location_id}"): {"name": "hijacked", "is_active": False},
    ("PATCH", "/api/v1/accounts/{code}"): {"name": "hijacked", "is_active": False},
    ("PATCH", "/api/v1/journal-entries/{entry_id}"): {"entry_date": "2026-03-03", "description": "hijacked", "lines": [
        {"account": "1101", "debit": "1"}, {"account": "3100", "credit": "1"}]},
    ("PATCH", "/api/v1/users/{user_id}"): {"name": "hijacked", "roles": ["viewer"], "is_active": False},
    ("PATCH", "/api/v1/partners/{partner_id}"): {"name": "hijacked", "credit_limit": "1"},
    ("PATCH", "/api/v1/tax-codes/{tax_code_id}"): {"name": "hijacked", "is_active": False},
    ("POST", "/api/v1/partners/{partner_id}/prices"): {"variant_id": "00000000-0000-4000-8000-000000000000",
                                                       "side": "sale", "price": "1", "effective_from": "2026-02-01"},
    ("PUT", "/api/v1/quotations/{quotation_id}"): {"customer_id": "00000000-0000-4000-8000-000000000000",
                                                   "quote_date": "2026-02-01", "lines": [
                                                       {"variant_id": "00000000-0000-4000-8000-000000000000",
                                                        "quantity": "1"}]},
    ("POST", "/api/v1/quotations/{quotation_id}/convert"): {"location": "GUDANG"},
    ("PUT", "/api/v1/sales-orders/{sales_order_id}"): {"customer_id": "00000000-0000-4000-8000-000000000000",
                                                       "order_date": "2026-02-01", "location": "GUDANG", "lines": [
                                                           {"variant_id": "00000000-0000-4000-8000-000000000000",
                                                            "quantity": "1"}]},
}
SALES_IDS = ("quotation_id", "sales_order_id", "delivery_id", "sales_invoice_id", "sales_return_id", "credit_note_id")

BODIES.update(IDOR_BODIES)
BODIES.update(FLOOR_IDOR_BODIES)
BODIES.update(ORDERS_IDOR_BODIES)
BODIES.update(MRP_IDOR_BODIES)
BODIES.update(TOLL_IDOR_BODIES)
BODIES[("POST", "/api/v1/stock-counts/{stock_count_id}/entries")] = [
    {"variant_id": "00000000-0000-4000-8000-000000000000", "counted_qty": "1"}]


async def _records(client, owner, tag: str, code: str) -> dict[str, str]:
    """One record of each kind on a tenant (names carry `tag`); the path parameter name -> its id."""
    loc = (await client.post("/api/v1/locations", json={"code": f"{tag}-GUDANG", "name": f"{tag} gudang"})).json()
    product = (await client.post("/api/v1/products", json={"sku": f"{tag}-PP", "name": f"{tag} resin"})).json()
    variant = (await client.post(f"/api/v1/products/{product['id']}/variants",
                                 json={"sku": f"{tag}-PP-BLUE", "name": f"{tag} resin blue"})).json()
    movement = (await client.post("/api/v1/stock-movements", json={
        "kind": "IN", "variant_id": variant["id"], "quantity": "5", "to_location": loc["id"], "unit_cost": "1000"})).json()
    r = await client.post("/api/v1/accounts", json={"code": code, "name": f"{tag} only", "type": "asset"})
    assert r.status_code == 201, r.text
    entry = (await client.post("/api/v1/journal-entries", json={
        "entry_date": "2026-03-02", "description": f"{tag} secret",
        "lines": [{"account": code, "debit": "777"}, {"account": "3100", "credit": "777"}]})).json()
    tokens = (await client.get("/api/v1/auth/tokens")).json()
    assert len(tokens) == 1
    partner = (await client.post("/api/v1/partners", json={"code": f"{tag}-C1", "name": f"{tag} secret customer",
                                                           "is_customer": True})).json()
    tax_code = (await client.post("/api/v1/tax-codes", json={"code": f"{tag}-TAX", "name": f"{tag} secret tax",
                                                             "kind": "pph23", "rate": "3",
                                                             "effective_from": "2026-01-01"})).json()
    price = (await client.post(f"/api/v1/partners/{partner['id']}/prices", json={
        "variant_id": variant["id"], "side": "sale", "price": "2300", "effective_from": "2026-01-01"})).json()
    sales = await sales_records(client, partner["id"], variant["id"], loc["id"], today().isoformat())
    return {**{k: sales[k] for k in SALES_IDS}, "partner_id": partner["id"], "tax_code_id": tax_code["id"], "price_id": price["id"], "product_id": product["id"], "variant_id": variant["id"], "location_id": loc["id"],
            "movement_id": movement["id"], "entry_id": entry["id"], "code": code,
            "user_id": str(owner["id"]), "token_id": tokens[0]["id"]}


async def _snapshot(client, ids: dict[str, str]) -> dict:
    """What a tenant's owner sees of those records (volatile timestamps left out)."""
    paths = [f"/api/v1/products/{ids['product_id']}", f"/api/v1/variants/{ids['variant_id']}",
             f"/api/v1/locations/{ids['location_id']}", f"/api/v1/stock-movements/{ids['movement_id']}",
             f"/api/v1/journal-entries/{ids['entry_id']}", f"/api/v1/accounts/{ids['code']}",
             f"/api/v1/users/{ids['user_id']}", "/api/v1/auth/tokens", "/api/v1/products", "/api/v1/users",
             "/api/v1/stock", "/api/v1/stock-movements", "/api/v1/journal-entries",
             f"/api/v1/partners/{ids['partner_id']}", f"/api/v1/tax-codes/{ids['tax_code_id']}", "/api/v1/partners",
             "/api/v1/tax-codes", "/api/v1/tax/company", f"/api/v1/partners/{ids['partner_id']}/prices",
             f"/api/v1/sales-orders/{ids['sales_order_id']}", f"/api/v1/sales-invoices/{ids['sales_invoice_id']}",
             f"/api/v1/quotations/{ids['quotation_id']}", "/api/v1/reports/ar-aging"]
    paths += purchasing_paths(ids) if "order_id" in ids else []
    paths += payment_paths(ids) if "customer_receipt_id" in ids else []
    paths += lots_paths(ids) if "lot_id" in ids else []
    paths += floor_paths(ids) if "machine_id" in ids else []
    paths += orders_paths(ids) if "production_order_id" in ids else []
    paths += [f"/api/v1/mrp/runs/{ids['run_id']}", "/api/v1/mrp/runs"] if "run_id" in ids else []
    paths += toll_paths(ids) if "toll_order_id" in ids else []
    paths += stockcount_paths(ids) if "stock_count_id" in ids else []
    out = {}
    for path in paths:
        r = await client.get(path)
        assert r.status_code == 200, (path, r.text)
        out[path] = _strip(r.json())
    return out


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in ("last_used_at", "last_login_at")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


async def test_another_tenants_ids_are_404_by_every_verb_and_nothing_changes(make_tenant, live, tenant_routes,
                                                                           tenant_as, tenant_sql):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    abc_owner = make_user(live.settings, "pt-abc", ["owner"])
    xyz_owner = make_user(live.settings, "pt-xyz", ["owner"])
    async with tenant_as("pt-abc", token=abc_owner["token"]) as abc, \
            tenant_as("pt-xyz", token=xyz_owner["token"]) as xyz:
        ids = await _records(abc, abc_owner, "ABC", "1199")
        ids |= public(await purchasing_records(abc, ids["variant_id"], ids["location_id"], "ABC"))
        ids |= public(await payment_records(abc, ids["partner_id"], ids["sales_invoice_id"], ids["variant_id"],
                                            ids["location_id"], today().isoformat(), "ABC"))
        ids |= await lots_records(abc, ids["variant_id"], ids["location_id"], "ABC")
        ids |= await mrp_records(abc, "ABC")
        ids |= public(await floor_records(abc, "ABC-FL"))
        ids |= public(await orders_records(abc, ids["location_id"], "ABC-PO"))
        ids |= public(await toll_records(abc, ids["partner_id"], today().isoformat(), "ABC"))
        ids |= public(await stockcount_records(abc, ids["variant_id"], ids["location_id"]))
        # pt-xyz gets records of its own too, so that "nothing changed there" means something.
        xyz_ids = await _records(xyz, xyz_owner, "XYZ", "1198")
        xyz_ids |= public(await purchasing_records(xyz, xyz_ids["variant_id"], xyz_ids["location_id"], "XYZ"))
        xyz_ids |= public(await payment_records(xyz, xyz_ids["partner_id"], xyz_ids["sales_invoice_id"],
                                                xyz_ids["variant_id"], xyz_ids["location_id"], today().isoformat(),
                                                "XYZ"))
        xyz_ids |= await lots_records(xyz, xyz_ids["variant_id"], xyz_ids["location_id"], "XYZ")
        xyz_ids |= await mrp_records(xyz, "XYZ")
        xyz_ids |= public(await floor_records(xyz, "XYZ-FL"))
        xyz_ids |= public(await orders_records(xyz, xyz_ids["location_id"], "XYZ-PO"))
        xyz_ids |= public(await toll_records(xyz, xyz_ids["partner_id"], today().isoformat(), "XYZ"))
        xyz_ids |= public(await stockcount_records(xyz, xyz_ids["variant_id"], xyz_ids["location_id"]))
        before_abc, before_xyz = await _snapshot(abc, ids), await _snapshot(xyz, xyz_ids)
        abc_audit = tenant_sql("pt-abc", "SELECT count(*) FROM audit_log")[0][0]

        tried = []
        for route in tenant_routes:
            record_params = [p for p in route.params if p not in NOT_RECORD_IDS]
            if not record_params or not route.path.startswith("/api/"):  # HTML pages: their own tests
                continue
            missing = set(record_params) - set(ids)
            assert not missing, f"{route.method} {route.path}: no pt-abc record for {missing}; add one to _records"
            path = route.path.format(**ids)
            r = await xyz.request(route.method, path, json=BODIES.get((route.method, route.path)))
            assert r.status_code == 404, (route.method, path, r.status_code, r.text)
            for secret in ("ABC resin", "ABC gudang", "ABC secret", "ABC only", abc_owner["email"]):
                assert secret not in r.text
            tried.append((route.method, route.path))
        # Every kind of record and every verb was exercised (a refactor that renames them shows here).
        assert {m for m, _ in tried} == {"GET", "PATCH", "DELETE", "POST", "PUT"}
        assert {p for _, path in tried for p in ids if "{" + p + "}" in path} == set(ids)

        assert await _snapshot(abc, ids) == before_abc
        assert await _snapshot(xyz, xyz_ids) == before_xyz
        assert tenant_sql("pt-abc", "SELECT count(*) FROM audit_log")[0][0] == abc_audit
        assert (await abc.get("/api/v1/auth/me")).status_code == 200  # pt-abc's token was not revoked
        assert tenant_sql("pt-xyz", "SELECT count(*) FROM one_time_tokens")[0][0] == 0  # no invite was sent
