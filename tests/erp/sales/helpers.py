"""Shared setup of the sales tests: products with stock, a customer with a price, and ledger figures."""

from __future__ import annotations

from decimal import Decimal


async def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else {}


async def product(c, sku: str, name: str, unit: str = "PCS", sell_price: str | None = None) -> str:
    body = {"sku": sku, "name": name, "unit": unit}
    if sell_price is not None:
        body["sell_price"] = sell_price
    return (await ok(await c.post("/api/v1/products", json=body), 201))["variants"][0]["id"]


async def receive(c, variant_id: str, quantity: str, unit_cost: str, on: str, location: str = "WH") -> dict:
    return await ok(await c.post("/api/v1/stock-movements", json={
        "kind": "IN", "variant_id": variant_id, "quantity": quantity, "unit_cost": unit_cost, "to_location": location,
        "posting_date": on}), 201)


async def customer(c, code: str, credit_limit: str | None = None, terms: int = 30) -> str:
    body = {"code": code, "name": f"PT {code}", "is_customer": True, "is_pkp": True, "npwp": "01.234.567.8-901.000",
            "address": "Jl. Industri 1, Tangerang", "payment_terms_days": terms, "credit_limit": credit_limit}
    return (await ok(await c.post("/api/v1/partners", json=body), 201))["id"]


async def balances(c, on: str = "2026-11-28") -> dict[str, Decimal]:
    """Account code -> debit-minus-credit balance, and the trial balance's totals under 'debit'/'credit'."""
    tb = await ok(await c.get("/api/v1/reports/trial-balance", params={"date_to": on}))
    out = {row["code"]: Decimal(row["balance"]) for row in tb["rows"]}
    out["debit"], out["credit"] = Decimal(tb["total_debit"]), Decimal(tb["total_credit"])
    return out


async def sales_records(c, customer_id: str, variant_id: str, location: str, on: str) -> dict[str, str]:
    """One document of each sales kind on a tenant (for the security sweeps): a quotation (draft), an order
    confirmed, delivered (2) and invoiced, a return of 1 posted (with its credit note), a draft return, and
    the ids the routes take ({sales_order_id}, ...) plus the ones bodies need."""
    q = await ok(await c.post("/api/v1/quotations", json={
        "customer_id": customer_id, "quote_date": on, "lines": [{"variant_id": variant_id, "quantity": "1",
                                                                 "unit_price": "1000"}]}), 201)
    so = await ok(await c.post("/api/v1/sales-orders", json={
        "customer_id": customer_id, "order_date": on, "location": location,
        "lines": [{"variant_id": variant_id, "quantity": "3", "unit_price": "1000"}]}), 201)
    so = await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
    line = so["lines"][0]["id"]
    d = await ok(await c.post("/api/v1/deliveries", json={"order_id": so["id"], "delivery_date": on,
                                                          "lines": [{"order_line_id": line, "quantity": "2"}]}), 201)
    d = await ok(await c.post(f"/api/v1/deliveries/{d['id']}/post"))
    inv = await ok(await c.post("/api/v1/sales-invoices", json={"order_id": so["id"], "invoice_date": on}), 201)
    inv = await ok(await c.post(f"/api/v1/sales-invoices/{inv['id']}/post"))
    ret = await ok(await c.post("/api/v1/sales-returns", json={
        "invoice_id": inv["id"], "return_date": on, "location": location,
        "lines": [{"delivery_line_id": d["lines"][0]["id"], "quantity": "1"}]}), 201)
    ret = await ok(await c.post(f"/api/v1/sales-returns/{ret['id']}/post"))
    return {"quotation_id": q["id"], "sales_order_id": so["id"], "delivery_id": d["id"], "sales_invoice_id": inv["id"],
            "sales_return_id": ret["id"], "credit_note_id": ret["credit_note_id"], "order_line_id": line,
            "delivery_line_id": d["lines"][0]["id"]}


def sales_bodies(ids: dict[str, str], on: str) -> dict[tuple[str, str], dict]:
    """Valid bodies of the sales routes (a refused request would really have changed something)."""
    order = {"customer_id": ids["customer_id"], "order_date": on, "location": ids["location"],
             "lines": [{"variant_id": ids["variant_id"], "quantity": "1", "unit_price": "1000"}]}
    quote = {"customer_id": ids["customer_id"], "quote_date": on,
             "lines": [{"variant_id": ids["variant_id"], "quantity": "1", "unit_price": "1000"}]}
    return {
        ("POST", "/api/v1/quotations"): quote,
        ("PUT", "/api/v1/quotations/{quotation_id}"): quote,
        ("POST", "/api/v1/quotations/{quotation_id}/convert"): {"location": ids["location"]},
        ("POST", "/api/v1/sales-orders"): order,
        ("PUT", "/api/v1/sales-orders/{sales_order_id}"): order,
        ("POST", "/api/v1/deliveries"): {"order_id": ids["sales_order_id"], "delivery_date": on,
                                         "lines": [{"order_line_id": ids["order_line_id"], "quantity": "1"}]},
        ("POST", "/api/v1/sales-invoices"): {"order_id": ids["sales_order_id"], "invoice_date": on},
        ("POST", "/api/v1/sales-returns"): {"invoice_id": ids["sales_invoice_id"], "return_date": on,
                                            "location": ids["location"],
                                            "lines": [{"delivery_line_id": ids["delivery_line_id"], "quantity": "1"}]},
    }


SALES_TABLES = ("quotations", "quotation_lines", "sales_orders", "sales_order_lines", "deliveries", "delivery_lines",
                "sales_invoices", "sales_invoice_lines", "sales_returns", "sales_return_lines")
