"""The `polyflow dev` demo data: products, stock and weeks of movements whose journals keep the books
consistent; seeding twice adds nothing."""

from decimal import Decimal as D

from polyflow.cli.dev import DEMO_TENANTS, _seed_demo


async def test_demo_data_is_consistent_and_seeded_once(make_tenant, live, platform):
    for sub, name, products in DEMO_TENANTS:
        tenant = await make_tenant(sub, name)
        assert await _seed_demo(platform, tenant, products) == len(products)
        assert await _seed_demo(platform, tenant, products) == 0
    async with live.tenant_client("pt-abc") as c:
        skus = [p["sku"] for p in (await c.get("/api/v1/products", params={"limit": 100})).json()["items"]]
        assert "PP-GRN-NAT" in skus and "WB-50KG-WH" in skus and "SCRAP-PP" in skus
        assert (await c.get("/api/v1/stock-movements")).json()["total"] > 100
        tb = (await c.get("/api/v1/reports/trial-balance")).json()
        assert tb["total_debit"] == tb["total_credit"] and D(tb["total_debit"]) > 0
        ledger = {r["code"]: D(r["balance"]) for r in tb["rows"]}
        val = (await c.get("/api/v1/stock/valuation")).json()
        for code, value in val["by_account"].items():
            assert D(value) == ledger.get(code, 0)
        low = {r["sku"] for r in (await c.get("/api/v1/stock/low")).json()}
        assert "PP-GRN-NAT" not in low
    async with live.tenant_client("pt-xyz") as c:
        assert (await c.get("/api/v1/products", params={"q": "PP-GRN-NAT"})).json()["total"] == 0
