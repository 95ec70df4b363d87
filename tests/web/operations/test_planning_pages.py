"""The planning (MRP) page over real HTTP and PostgreSQL: a run started on the page proposes exactly what the
API's run proposes on the same data; its proposals are shown with quantities and dates; a bulk approval of
ticked proposals creates the draft production order and purchase request; a single reject; the proposals
export; roles and another tenant's proposal."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal as D

from sqlalchemy import text

from tests.erp.planning.helpers import make_bom, ok, product
from tests.web.operations.conftest import text_of


async def _plant(api, engine) -> None:
    """A bag made of resin (BOM 1 bag <- 0.1 kg resin, no scrap), neither in stock; reorder points on both and
    a second resin nobody uses below its own."""
    await product(api, "PL-BAG", "PCS", "finished_good", min_stock="1000", reorder_qty="4000")
    resin = await product(api, "PL-RESIN", "KG", "raw_material", min_stock="50", reorder_qty="250")
    await product(api, "PL-INK", "KG", "auxiliary", min_stock="5", reorder_qty="20")
    await make_bom(engine, "PL-BAG", "cutting_sewing", "1", "0", [(resin, "0.1")])


def _shape(proposals) -> list[tuple]:
    return sorted((p["kind"], p["sku"], p["level"], D(p["quantity"]), p["needed_by"], p["start_by"], p["late"])
                  for p in proposals)


async def test_a_run_on_the_page_proposes_what_the_api_does_and_bulk_approval_makes_the_documents(
        make_tenant, live, tenant_engine, browser):
    tenant = await make_tenant("pt-abc")
    engine = tenant_engine(tenant)
    async with live.tenant_client("pt-abc") as api, browser("pt-abc", ["production"]) as b:
        await _plant(api, engine)
        api_run = await ok(await api.post("/api/v1/mrp/run", json={"horizon_days": 30}), 201)

        # "1.000" is read as a thousand days: beyond the year a planner may look ahead; the form comes back.
        r = await b.post("/planning/run", {"horizon_days": "1.000", "include_sales": "1"})
        assert r.status_code == 422 and 'value="1.000"' in r.text, r.text[:300]
        assert "dibaca: 1.000" in text_of(r.text) and "Paling banyak 366" in text_of(r.text)
        assert (await ok(await api.get("/api/v1/mrp/runs")))["total"] == 1  # the API's run only

        r = await b.post("/planning/run", {"horizon_days": "30", "include_sales": "1", "include_reorder": "1"})
        assert r.status_code == 303, r.text[:500]
        m = re.fullmatch(r"/planning\?run=([0-9a-f-]{36})&done=run", r.headers["location"])
        assert m
        run_id = m.group(1)
        page_run = await ok(await api.get(f"/api/v1/mrp/runs/{run_id}"))
        # The same proposals as the API's run on the same data (which the page's run superseded).
        assert _shape(page_run["proposals"]) == _shape(api_run["proposals"])
        # Bag: 0 + 4 000 < 1 000? no: 0 < 1 000 -> make 1 000 + 4 000 - 0 = 5 000; resin: 5 000 x 0.1 = 500 kg
        # dependent, 0 - 500 < 50 -> buy 50 + 250 + 500 = 800 kg; ink: 5 + 20 = 25 kg.
        assert {(p["sku"], p["kind"], D(p["quantity"])) for p in page_run["proposals"]} == {
            ("PL-BAG", "production", D(5000)), ("PL-RESIN", "purchase", D(800)), ("PL-INK", "purchase", D(25))}

        html = (await b.get(r.headers["location"])).text
        shown = text_of(html)
        assert "MRP selesai dijalankan" in shown and page_run["number"] in shown
        assert "5.000" in shown and "800" in shown and "Produksi" in shown and "Pembelian" in shown
        by_sku = {p["sku"]: p["id"] for p in page_run["proposals"]}
        for pid in by_sku.values():
            assert f'name="proposal_ids" value="{pid}"' in html

        # Bulk without ticks: 422 on the page, nothing decided.
        r = await b.post("/planning/decide", {"run_id": run_id, "action": "approve"})
        assert r.status_code == 422 and "Centang paling sedikit satu usulan" in r.text
        # Reject the ink alone (its button), then approve the bag and the resin together.
        r = await b.post(f"/planning/proposals/{by_sku['PL-INK']}/reject", {"run_id": run_id})
        assert r.status_code == 303
        r = await b.post("/planning/decide", [("run_id", run_id), ("action", "approve"),
                                              ("proposal_ids", by_sku["PL-BAG"]), ("proposal_ids", by_sku["PL-RESIN"])])
        assert r.status_code == 303 and r.headers["location"].endswith("&done=approved"), r.text[:500]
        decided = {p["sku"]: p for p in (await ok(await api.get(f"/api/v1/mrp/runs/{run_id}")))["proposals"]}
        assert {s: p["status"] for s, p in decided.items()} == {
            "PL-BAG": "approved", "PL-RESIN": "approved", "PL-INK": "rejected"}
        request = await ok(await api.get(f"/api/v1/purchase-requests/{decided['PL-RESIN']['purchase_request_id']}"))
        assert [(ln["quantity"]) for ln in request["lines"]] == ["800.000"]
        async with engine.connect() as conn:
            order = (await conn.execute(text("SELECT status, quantity FROM production_orders WHERE id = :id"),
                                        {"id": decided["PL-BAG"]["production_order_id"]})).one()
        assert (order.status, order.quantity) == ("draft", D("5000.000"))
        html = (await b.get(f"/planning?run={run_id}")).text
        assert f'/production/orders/{decided["PL-BAG"]["production_order_id"]}' in html
        assert 'name="proposal_ids"' not in html  # nothing left to decide

        # Approving again is the service's 409 on the page.
        r = await b.post("/planning/decide", [("run_id", run_id), ("action", "approve"),
                                              ("proposal_ids", by_sku["PL-BAG"])])
        assert r.status_code == 409 and "already" in r.text

        r = await b.get(f"/planning?run={run_id}&export=csv")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        got = {row[1]: row for row in rows[1:]}
        assert got["PL-BAG"][0] == "production" and D(got["PL-BAG"][3]) == 5000 and got["PL-BAG"][12] == "approved"


async def test_roles_and_another_tenants_proposals(make_tenant, live, browser):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as api:
        await product(api, "PL-INK", "KG", "auxiliary", min_stock="5", reorder_qty="20")
        run = await ok(await api.post("/api/v1/mrp/run", json={}), 201)
    proposal = run["proposals"][0]["id"]
    async with browser("pt-abc", ["sales"]) as sales:
        r = await sales.get("/planning")
        assert r.status_code == 403 and "production.read" in r.text
        assert (await sales.post("/planning/run", {"horizon_days": "30"})).status_code == 403
    async with browser("pt-abc", ["warehouse"]) as reader:  # production.read: sees, cannot decide
        r = await reader.get("/planning")
        assert r.status_code == 200 and "PL-INK" in r.text and 'name="proposal_ids"' not in r.text
        assert (await reader.post(f"/planning/proposals/{proposal}/approve")).status_code == 403
    async with browser("pt-xyz") as other:
        assert (await other.post(f"/planning/proposals/{proposal}/approve")).status_code == 404
        assert (await other.get(f"/planning?run={run['id']}")).status_code == 404
        r = await other.post("/planning/decide", [("run_id", run["id"]), ("action", "approve"),
                                                  ("proposal_ids", proposal)])
        assert r.status_code == 404
    async with live.tenant_client("pt-abc") as api:
        assert (await ok(await api.get(f"/api/v1/mrp/runs/{run['id']}")))["proposals"][0]["status"] == "proposed"
