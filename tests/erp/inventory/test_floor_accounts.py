"""Stock accounts for manufacturing (issue 12): scrap and regrind in 1144, auxiliaries in 1141, material
issued to production (OUT production) Dr 1142 WIP, output and scrap from production (IN production) Cr 1142;
the valuation's by_account has 1144 and equals the general ledger for every inventory account.

The production movements are made through inventory's service on the tenant's database: the HTTP API
refuses them outside a production order (whose WIP sub-ledger holds the other side), and this test is
about the accounts such a movement posts to, not about orders."""

from decimal import Decimal as D

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import MovementIn

SM = "/api/v1/stock-movements"
INVENTORY = ("1141", "1142", "1143", "1144")


async def _lines(c, movement):
    entry = (await c.get(f"/api/v1/journal-entries/{movement['journal_entry_id']}")).json()
    return sorted((l["account_code"], D(l["debit"]), D(l["credit"])) for l in entry["lines"])


async def _gl(c, on):
    tb = (await c.get("/api/v1/reports/trial-balance", params={"date_to": on})).json()
    return {r["code"]: D(r["balance"]) for r in tb["rows"]}


async def _move(c, **body):
    r = await c.post(SM, json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def _produce(engine, **body):
    """A production movement through the service (what a production order does), committed."""
    async with AsyncSession(engine, expire_on_commit=False) as s:
        movement = await inventory.create_movement(s, MovementIn(**body), may_choose_account=False)
        await s.commit()
    return {"journal_entry_id": str(movement.journal_entry_id)}


async def test_scrap_auxiliary_and_production_accounts(make_tenant, live, tenant_engine):
    engine = tenant_engine(await make_tenant("pt-abc"))
    async with live.tenant_client("pt-abc") as c:
        for sku, ptype in (("PP-RAF", "raw_material"), ("OLI-1", "auxiliary"), ("SCRAP-PP", "scrap"),
                           ("RAF-1200", "intermediate")):
            r = await c.post("/api/v1/products", json={"sku": sku, "name": sku, "unit": "KG", "product_type": ptype})
            assert r.status_code == 201, r.text

        # Resin 1 000 kg x 20 000 = 20 000 000 and oil 20 kg x 30 000 = 600 000, both bought: Dr 1141 / Cr 2120.
        await _move(c, kind="IN", sku="PP-RAF", quantity="1000", unit_cost="20000", to_location="RM-WH",
                    posting_date="2026-11-02")
        oil = await _move(c, kind="IN", sku="OLI-1", quantity="20", unit_cost="30000", to_location="RM-WH",
                          posting_date="2026-11-02")
        assert await _lines(c, oil) == [("1141", D(600_000), 0), ("2120", 0, D(600_000))]
        # 500 kg issued to production at 20 000 = 10 000 000: Dr 1142 / Cr 1141.
        issue = await _produce(engine, kind="OUT", sku="PP-RAF", quantity="500", from_location="RM-WH", reason="production",
                            posting_date="2026-11-03")
        assert await _lines(c, issue) == [("1141", 0, D(10_000_000)), ("1142", D(10_000_000), 0)]
        # Trim scrap from that order, 60 kg at its net realisable value 5 000 = 300 000: Dr 1144 / Cr 1142.
        scrap = await _produce(engine, kind="IN", sku="SCRAP-PP", quantity="60", unit_cost="5000", to_location="SCRAP-WH",
                            reason="production", posting_date="2026-11-04")
        assert await _lines(c, scrap) == [("1142", 0, D(300_000)), ("1144", D(300_000), 0)]
        # Yarn out of the same order, 430 kg at 22 000 = 9 460 000: its stock is 1142 as well.
        yarn = await _produce(engine, kind="IN", sku="RAF-1200", quantity="430", unit_cost="22000", to_location="EXTRUSION",
                           reason="production", posting_date="2026-11-04")
        assert await _lines(c, yarn) == [("1142", 0, D(9_460_000)), ("1142", D(9_460_000), 0)]
        # 10 kg of scrap sold on 5 Nov at the average 5 000 = 50 000: Dr 5100 / Cr 1144.
        sold = await _move(c, kind="OUT", sku="SCRAP-PP", quantity="10", from_location="SCRAP-WH", reason="sale",
                           posting_date="2026-11-05")
        assert await _lines(c, sold) == [("1144", 0, D(50_000)), ("5100", D(50_000), 0)]

        # As of 4 Nov: 1141 = 20 000 000 + 600 000 - 10 000 000 = 10 600 000; 1144 = 300 000 (5 Nov: 250 000).
        # 1142 in the ledger = the yarn's stock 9 460 000 + the order's open WIP: 10 000 000 issued - 300 000
        # scrap - 9 460 000 yarn = 240 000 (production's wip_balance; inventory values stock only).
        for on, scrap_value in (("2026-11-04", D(300_000)), ("2026-11-05", D(250_000))):
            valuation = (await c.get("/api/v1/stock/valuation", params={"as_of": on})).json()
            by_account = {code: D(v) for code, v in valuation["by_account"].items()}
            gl = await _gl(c, on)
            assert by_account == {"1141": D(10_600_000), "1142": D(9_460_000), "1143": D(0),
                                  "1144": scrap_value}, on
            assert {code: gl.get(code, D(0)) for code in INVENTORY} == {
                "1141": D(10_600_000), "1142": D(9_460_000) + D(240_000), "1143": D(0), "1144": scrap_value}, on
            # Stock accounts equal the valuation, except 1142, which also holds the order's open WIP.
            assert gl["1144"] == by_account["1144"] and gl["1141"] == by_account["1141"]
            assert gl["1142"] - by_account["1142"] == D(240_000)
        rows = {r["sku"]: r["account"] for r in (await c.get("/api/v1/stock/valuation")).json()["rows"]}
        assert rows == {"PP-RAF": "1141", "OLI-1": "1141", "SCRAP-PP": "1144", "RAF-1200": "1142"}
