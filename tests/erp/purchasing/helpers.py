"""Purchasing records and request bodies for the security sweeps (tests/security): one document of each
kind, dated today, so that every purchasing route with an id in its path has a real id to call."""

from __future__ import annotations

PURCHASING_TABLES = ("purchase_requests", "purchase_request_lines", "purchase_orders", "purchase_order_lines",
                     "goods_receipts", "goods_receipt_lines", "purchase_invoices", "purchase_invoice_lines",
                     "purchase_returns", "purchase_return_lines", "landed_costs", "landed_cost_lines")
NO_ID = "00000000-0000-4000-8000-000000000000"


async def purchasing_records(client, variant_id: str, location: str, tag: str = "PERM") -> dict[str, str]:
    """A supplier, a draft request, an approved order with a receipt, a draft invoice, a return and a landed
    cost; the
    path parameter name -> id. `location`: id or code of a location that takes the receipt."""

    async def post(path, body):
        r = await client.post(path, json=body)
        assert r.status_code in (200, 201), (path, r.text)
        return r.json()

    supplier = await post("/api/v1/partners", {"code": f"{tag}-SUP", "name": f"{tag} supplier", "is_supplier": True,
                                               "npwp": "0123456789012345", "is_pkp": True})
    request = await post("/api/v1/purchase-requests", {"lines": [{"variant_id": variant_id, "quantity": "3"}]})
    order = await post("/api/v1/purchase-orders", {"partner_id": supplier["id"], "lines": [
        {"variant_id": variant_id, "quantity": "10", "unit_price": "1000"}]})
    order = await post(f"/api/v1/purchase-orders/{order['id']}/approve", {})
    line = order["lines"][0]["id"]
    receipt = await post("/api/v1/goods-receipts", {"order_id": order["id"], "location": location,
                                                    "lines": [{"order_line_id": line, "quantity": "4"}]})
    invoice = await post("/api/v1/purchase-invoices", {"order_id": order["id"], "tax_invoice_no": "0100002600000009",
                                                       "lines": [{"order_line_id": line, "quantity": "2"}]})
    ret = await post("/api/v1/purchase-returns", {"order_id": order["id"], "location": location,
                                                  "lines": [{"order_line_id": line, "quantity": "1"}]})
    landed = await post("/api/v1/landed-costs", {"receipt_id": receipt["id"], "description": f"{tag} freight",
                                                 "amount": "500"})
    return {"request_id": request["id"], "order_id": order["id"], "receipt_id": receipt["id"],
            "invoice_id": invoice["id"], "return_id": ret["id"], "landed_cost_id": landed["id"],
            "_supplier_id": supplier["id"],
            "_order_line_id": line}


def purchasing_bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict]:
    """Valid bodies for the purchasing routes that take one (a refused request would have changed something)."""
    line = ids["_order_line_id"]
    order = {"partner_id": ids["_supplier_id"], "lines": [{"variant_id": ids["variant_id"], "quantity": "1",
                                                           "unit_price": "1000"}]}
    invoice = {"order_id": ids["order_id"], "tax_invoice_no": "0100002600000009",
               "lines": [{"order_line_id": line, "quantity": "1"}]}
    return {
        ("POST", "/api/v1/purchase-requests"): {"lines": [{"variant_id": ids["variant_id"], "quantity": "1"}]},
        ("POST", "/api/v1/purchase-requests/{request_id}/convert"): {"partner_id": ids["_supplier_id"]},
        ("POST", "/api/v1/purchase-orders"): order,
        ("PATCH", "/api/v1/purchase-orders/{order_id}"): order,
        ("POST", "/api/v1/goods-receipts"): {"order_id": ids["order_id"], "location": "PERM-WH",
                                             "lines": [{"order_line_id": line, "quantity": "1"}]},
        ("POST", "/api/v1/purchase-invoices"): invoice,
        ("PATCH", "/api/v1/purchase-invoices/{invoice_id}"): invoice,
        ("POST", "/api/v1/purchase-returns"): {"order_id": ids["order_id"], "location": "PERM-WH",
                                               "lines": [{"order_line_id": line, "quantity": "1"}]},
        ("POST", "/api/v1/landed-costs"): {"receipt_id": ids["receipt_id"], "description": "freight", "amount": "100"},
    }


# Bodies for the cross-tenant sweep: valid in shape, so that a 404 is about the id in the path.
IDOR_BODIES = {
    ("PATCH", "/api/v1/purchase-orders/{order_id}"): {"partner_id": NO_ID, "lines": [
        {"variant_id": NO_ID, "quantity": "1", "unit_price": "1"}]},
    ("PATCH", "/api/v1/purchase-invoices/{invoice_id}"): {"order_id": NO_ID, "lines": [
        {"order_line_id": NO_ID, "quantity": "1"}]},
    ("POST", "/api/v1/purchase-requests/{request_id}/convert"): {"partner_id": NO_ID},
}


def purchasing_paths(ids: dict[str, str]) -> list[str]:
    """What a tenant's owner reads of its purchasing records (for before/after snapshots)."""
    return [f"/api/v1/purchase-requests/{ids['request_id']}", f"/api/v1/purchase-orders/{ids['order_id']}",
            f"/api/v1/goods-receipts/{ids['receipt_id']}", f"/api/v1/purchase-invoices/{ids['invoice_id']}",
            f"/api/v1/purchase-returns/{ids['return_id']}", f"/api/v1/landed-costs/{ids['landed_cost_id']}",
            "/api/v1/purchase-orders", "/api/v1/reports/ap-aging"]


def public(ids: dict[str, str]) -> dict[str, str]:
    """The ids that are path parameters (the helpers' own keys start with an underscore)."""
    return {k: v for k, v in ids.items() if not k.startswith("_")}
