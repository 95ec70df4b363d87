"""Shared checks of the trade tests: the ledgers read back through the API (trial balance, stock valuation,
aging, PPN summary, purchase orders' received-not-invoiced value) on one signed-in client."""

from __future__ import annotations

from decimal import Decimal

from tests.erp.sales.helpers import ok

D = Decimal
INVENTORY = ("1141", "1142", "1143", "1144")
SUPPLIER = {"code": "S-RESIN", "name": "PT Resin Nusantara", "is_supplier": True, "is_pkp": True,
            "npwp": "0123456789012345", "payment_terms_days": 30}


async def tb(c, on: str) -> dict[str, Decimal]:
    """Account code -> debit-minus-credit as of `on`; asserts the trial balance balances."""
    t = await ok(await c.get("/api/v1/reports/trial-balance", params={"date_to": on}))
    assert t["total_debit"] == t["total_credit"], (on, t["total_debit"], t["total_credit"])
    return {row["code"]: D(row["balance"]) for row in t["rows"]}


async def valuation(c, on: str) -> dict[str, Decimal]:
    """Inventory account -> stock value as of `on`, from the stock ledger."""
    v = await ok(await c.get("/api/v1/stock/valuation", params={"as_of": on}))
    return {code: D(v["by_account"].get(code, "0")) for code in INVENTORY}


async def stock_equals_gl(c, on: str) -> dict[str, Decimal]:
    """The stock ledger's value as of `on` == the inventory accounts as of `on`; returns the balances."""
    balances = await tb(c, on)
    assert await valuation(c, on) == {code: balances.get(code, D(0)) for code in INVENTORY}, on
    return balances


async def aging_total(c, which: str, on: str) -> Decimal:
    """The AR ('ar') or AP ('ap') aging's grand total as of `on` (rows summed: both reports have them)."""
    a = await ok(await c.get(f"/api/v1/reports/{which}-aging", params={"as_of": on}))
    total = sum((D(r["total"]) for r in a["rows"]), D(0))
    # The two reports spell their grand total differently (AR: "total"; AP: "totals" -> "total").
    assert D(a["total"] if "total" in a else a["totals"]["total"]) == total
    return total


async def received_not_invoiced(c, order_ids) -> Decimal:
    """Value received on the purchase orders and not yet cleared by a supplier invoice or return."""
    total = D(0)
    for oid in order_ids:
        order = await ok(await c.get(f"/api/v1/purchase-orders/{oid}"))
        total += sum((D(ln["received_value"]) - D(ln["cleared_value"]) for ln in order["lines"]), D(0))
    return total


async def ppn_matches_accounts(c, month: str, balances_before: dict, balances_after: dict) -> dict:
    """The month's PPN summary: its own GL comparison holds, and its net output / input tax == the movement
    of 2130 / 1150 between the two trial balances (the month's first day's eve and its last day)."""
    s = await ok(await c.get("/api/v1/tax/ppn-summary", params={"month": month}))
    move = {code: balances_after.get(code, D(0)) - balances_before.get(code, D(0)) for code in ("2130", "1150")}
    assert D(s["output_tax"]["net"]["tax"]) == -move["2130"], (s["output_tax"]["net"], move)
    assert D(s["input_tax"]["net"]["tax"]) == move["1150"], (s["input_tax"]["net"], move)
    assert s["matches"] is True and all(g["matches"] for g in s["gl"]), s["gl"]
    return s
