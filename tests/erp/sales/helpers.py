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
