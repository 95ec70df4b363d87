"""Shared setup of the toll manufacturing tests: a customer's resin and the goods made of it, a toll order,
and the records and bodies the security sweeps need."""

from __future__ import annotations

from tests.erp.sales.helpers import ok

TOLL_TABLES = ("toll_orders", "toll_order_lines", "toll_material_moves")


def order_body(customer_id: str, material: str, finished: str, on: str, material_qty: str = "1000",
               finished_qty: str = "950", fee_price: str = "1250", fee_basis: str = "KG") -> dict:
    return {"customer_id": customer_id, "order_date": on, "service_description": "Jasa maklon kain karung",
            "fee_basis": fee_basis, "fee_price": fee_price, "customer_reference": "PO-MKL-7",
            "lines": [{"material_variant_id": material, "material_qty": material_qty,
                       "finished_variant_id": finished, "finished_qty": finished_qty}]}


async def confirmed_order(c, customer_id: str, material: str, finished: str, on: str, **kw) -> dict:
    order = await ok(await c.post("/api/v1/toll-orders", json=order_body(customer_id, material, finished, on, **kw)),
                     201)
    return await ok(await c.post(f"/api/v1/toll-orders/{order['id']}/confirm"))


def moves(variant_id: str, quantity: str, on: str, reference: str | None = None) -> dict:
    body = {"move_date": on, "lines": [{"variant_id": variant_id, "quantity": quantity}]}
    if reference:
        body["reference"] = reference
    return body


async def toll_records(c, customer_id: str, on: str, tag: str = "PERM") -> dict[str, str]:
    """For the security sweeps: a confirmed toll order of the customer with 10 kg of a resin received (the
    resin is also the goods: any catalog variant counted in the fee's unit will do). The path id, and (keys
    starting with "_") what the bodies need."""
    variant_id = (await ok(await c.post("/api/v1/products", json={
        "sku": f"{tag}-TOLL-PP", "name": f"{tag} toll resin", "unit": "KG"}), 201))["variants"][0]["id"]
    order = await confirmed_order(c, customer_id, variant_id, variant_id, on, material_qty="10", finished_qty="5")
    await ok(await c.post(f"/api/v1/toll-orders/{order['id']}/receive", json=moves(variant_id, "10", on)))
    return {"toll_order_id": order["id"], "_toll_customer_id": customer_id, "_toll_variant_id": variant_id}


def toll_bodies(ids: dict[str, str], on: str) -> dict[tuple[str, str], dict]:
    """Valid bodies of the toll routes (a refused request would really have changed something)."""
    v = ids["_toll_variant_id"]
    return {
        ("POST", "/api/v1/toll-orders"): order_body(ids["_toll_customer_id"], v, v, on),
        ("PUT", "/api/v1/toll-orders/{toll_order_id}"): order_body(ids["_toll_customer_id"], v, v, on),
        ("POST", "/api/v1/toll-orders/{toll_order_id}/receive"): moves(v, "1", on),
        ("POST", "/api/v1/toll-orders/{toll_order_id}/consume"): {
            "move_date": on, "consumed": [{"variant_id": v, "quantity": "1"}],
            "produced": [{"variant_id": v, "quantity": "1"}]},
        ("POST", "/api/v1/toll-orders/{toll_order_id}/deliver"): moves(v, "1", on),
        ("POST", "/api/v1/toll-orders/{toll_order_id}/return-leftover"): moves(v, "1", on),
        ("POST", "/api/v1/toll-orders/{toll_order_id}/invoice"): {"invoice_date": on},
    }


ZERO_ID = "00000000-0000-4000-8000-000000000000"
# Valid bodies for the IDOR sweep (so that its 404 is about the id, not a 422 about the body).
TOLL_IDOR_BODIES = {
    ("PUT", "/api/v1/toll-orders/{toll_order_id}"): order_body(ZERO_ID, ZERO_ID, ZERO_ID, "2026-02-01"),
    ("POST", "/api/v1/toll-orders/{toll_order_id}/receive"): moves(ZERO_ID, "1", "2026-02-01"),
    ("POST", "/api/v1/toll-orders/{toll_order_id}/consume"): {
        "move_date": "2026-02-01", "consumed": [{"variant_id": ZERO_ID, "quantity": "1"}]},
    ("POST", "/api/v1/toll-orders/{toll_order_id}/deliver"): moves(ZERO_ID, "1", "2026-02-01"),
    ("POST", "/api/v1/toll-orders/{toll_order_id}/return-leftover"): moves(ZERO_ID, "1", "2026-02-01"),
    ("POST", "/api/v1/toll-orders/{toll_order_id}/invoice"): {"invoice_date": "2026-02-01"},
}


def toll_paths(ids: dict[str, str]) -> list[str]:
    """What a tenant's owner reads of its toll orders (for before/after snapshots)."""
    return [f"/api/v1/toll-orders/{ids['toll_order_id']}", f"/api/v1/toll-orders/{ids['toll_order_id']}/balance",
            "/api/v1/toll-orders", "/api/v1/reports/toll-material"]
