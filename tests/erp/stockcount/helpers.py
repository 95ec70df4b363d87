"""Stock count test helpers, and the stock count routes' records, bodies and paths for the security sweeps."""

from __future__ import annotations

from decimal import Decimal

SC = "/api/v1/stock-counts"
STOCKCOUNT_TABLES = ("stock_counts", "stock_count_lines", "stock_count_entries")


async def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


async def product(c, sku: str, *, unit: str = "KG", product_type: str = "raw_material", **extra) -> str:
    """A product's default variant id."""
    body = {"sku": sku, "name": f"{sku} name", "unit": unit, "product_type": product_type, **extra}
    return (await ok(await c.post("/api/v1/products", json=body), 201))["variants"][0]["id"]


async def move(c, kind: str, sku: str, qty, **kw) -> dict:
    return await ok(await c.post("/api/v1/stock-movements", json={"kind": kind, "sku": sku, "quantity": str(qty),
                                                                   **kw}), 201)


async def tb(c, on: str) -> dict[str, Decimal]:
    """Account code -> debit-minus-credit balance through `on`."""
    t = await ok(await c.get("/api/v1/reports/trial-balance", params={"date_to": on}))
    assert t["total_debit"] == t["total_credit"]
    return {row["code"]: Decimal(row["balance"]) for row in t["rows"]}


async def valuation(c, on: str) -> dict[str, Decimal]:
    v = await ok(await c.get("/api/v1/stock/valuation", params={"as_of": on}))
    return {code: Decimal(value) for code, value in v["by_account"].items()}


async def stockcount_records(c, variant_id: str, location: str) -> dict[str, str]:
    """For the security sweeps: an open count of `location` with one entry (its id is the path parameter)."""
    count = await ok(await c.post(SC, json={"location": location, "variant_ids": [variant_id]}), 201)
    await ok(await c.post(f"{SC}/{count['id']}/entries", json=[{"variant_id": variant_id, "counted_qty": "1"}]))
    return {"stock_count_id": count["id"], "_count_variant_id": variant_id, "_count_location": location}


def stockcount_bodies(ids: dict[str, str]) -> dict[tuple[str, str], object]:
    """Valid bodies of the stock count routes (a refused request would really have changed something)."""
    return {
        ("POST", SC): {"location": "RM-WH", "note": "by a role"},
        ("POST", SC + "/{stock_count_id}/entries"): [{"variant_id": ids["_count_variant_id"], "counted_qty": "2"}],
        ("POST", SC + "/{stock_count_id}/approve"): {"zero_uncounted": True},
        ("POST", SC + "/{stock_count_id}/cancel"): {"reason": "by a role"},
    }


def stockcount_paths(ids: dict[str, str]) -> list[str]:
    """What a tenant's owner reads of its counts (for before/after snapshots)."""
    return [f"{SC}/{ids['stock_count_id']}", SC]
