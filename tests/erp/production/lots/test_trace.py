"""Traceability both ways over a three-level chain (helpers.build_chain): resin lots A and B -> mixing batch
-> tape roll -> bale. Back from the bale reaches A and B with the machines, operators and shifts of every
step; forward from A reaches the bale. The baling order names no lot (it takes its input order's output),
so the walk follows input_order_id there. The lot detail shows origin, consumption and inspections."""

from __future__ import annotations

import time
from decimal import Decimal as D

from tests.erp.production.lots.helpers import build_chain


def _lots(nodes):
    return {n["lot"]["number"]: n for n in nodes if n["kind"] == "lot"}


def _orders(nodes):
    return {n["order"]["number"]: n for n in nodes if n["kind"] == "order"}


async def test_trace_back_from_the_bale_and_forward_from_resin(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        ids = await build_chain(c, tenant_engine(tenant))

        r = await c.get(f"/api/v1/lots/{ids['bale']}/trace", params={"direction": "back"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["forward"] is None and body["truncated"] is False
        back = body["back"]
        lots, orders = _lots(back), _orders(back)
        # bale(0) <- SPK-3(1) <- tape(2) <- SPK-2(3) <- batch(4) <- SPK-1(5) <- A, B(6)
        assert {n: v["depth"] for n, v in lots.items() if not n.startswith("LT-")} == {
            "T-BL-1": 0, "T-RL-1": 2, "T-BT-1": 4}
        assert sorted(v["depth"] for n, v in lots.items() if n.startswith("LT-")) == [6, 6]
        assert {n: v["depth"] for n, v in orders.items()} == {"T-SPK-3": 1, "T-SPK-2": 3, "T-SPK-1": 5}
        supplier = {v["lot"]["supplier_lot_no"]: v for v in lots.values() if v["lot"]["kind"] == "supplier"}
        assert set(supplier) == {"T-SUPLOT-A", "T-SUPLOT-B"}
        # The resin lots hang from the mixing order with the quantities it took; the supplier and receipt show.
        assert {k: (v["parent_id"], v["link"], v["quantity"]) for k, v in supplier.items()} == {
            "T-SUPLOT-A": (str(ids["o_mix"]), "consumed", "60.000"),
            "T-SUPLOT-B": (str(ids["o_mix"]), "consumed", "4.000")}
        assert {v["lot"]["supplier"]["name"] for v in supplier.values()} == {"T Resin Supplier"}
        assert {v["lot"]["goods_receipt_number"] for v in supplier.values()} == {ids["receipt"]["number"]}
        # The tape roll is linked to the baling order by its input order (no lot named there).
        assert (lots["T-RL-1"]["parent_id"], lots["T-RL-1"]["link"]) == (str(ids["o_bal"]), "input_order")
        assert (lots["T-BT-1"]["parent_id"], lots["T-BT-1"]["link"], lots["T-BT-1"]["quantity"]) == (
            str(ids["o_ext"]), "consumed", "64.000")
        # Machines, operators and shifts on the way.
        floor = {n: (v["lot"]["execution"]["machine"]["code"], v["lot"]["execution"]["operator"]["name"],
                     v["lot"]["execution"]["shift"]["name"], v["lot"]["execution"]["order_number"])
                 for n, v in lots.items() if v["lot"]["execution"]}
        assert floor == {"T-BL-1": ("T-BAL-1", "Joko", "Pagi", "T-SPK-3"),
                         "T-RL-1": ("T-EXT-1", "Sari", "Siang", "T-SPK-2"),
                         "T-BT-1": ("T-MIX-1", "Budi", "Pagi", "T-SPK-1")}
        assert orders["T-SPK-2"]["order"]["machine"]["code"] == "T-EXT-1"
        assert orders["T-SPK-1"]["order"]["stage"] == "mixing"

        r = await c.get(f"/api/v1/lots/{ids['lot_a']}/trace", params={"direction": "forward"})
        assert r.status_code == 200, r.text
        fwd = r.json()["forward"]
        lots, orders = _lots(fwd), _orders(fwd)
        # A(0) -> SPK-1(1) -> batch(2) -> SPK-2(3) -> tape(4) -> SPK-3(5) -> bale(6); B is not on A's way.
        assert {n: v["depth"] for n, v in lots.items() if not n.startswith("LT-")} == {
            "T-BT-1": 2, "T-RL-1": 4, "T-BL-1": 6}
        assert fwd[0]["depth"] == 0 and fwd[0]["lot"]["supplier_lot_no"] == "T-SUPLOT-A"
        assert [n for n in lots if n.startswith("LT-")] == [fwd[0]["lot"]["number"]]
        assert {n: v["depth"] for n, v in orders.items()} == {"T-SPK-1": 1, "T-SPK-2": 3, "T-SPK-3": 5}
        assert (orders["T-SPK-1"]["link"], orders["T-SPK-1"]["quantity"]) == ("consumed", "60.000")
        assert orders["T-SPK-3"]["link"] == "input_order"
        assert lots["T-BL-1"]["link"] == "produced" and lots["T-BL-1"]["parent_id"] == str(ids["o_bal"])

        # Both ways from the tape (the default): back to A and B, forward to the bale.
        r = await c.get(f"/api/v1/lots/{ids['tape']}/trace")
        assert r.status_code == 200, r.text
        both = r.json()
        assert both["direction"] == "both"
        assert {v["lot"]["supplier_lot_no"] for v in _lots(both["back"]).values()} >= {"T-SUPLOT-A", "T-SUPLOT-B"}
        assert set(_lots(both["forward"])) == {"T-RL-1", "T-BL-1"}

        # A bound shorter than the chain cuts it and says so.
        r = await c.get(f"/api/v1/lots/{ids['bale']}/trace", params={"direction": "back", "max_depth": 3})
        cut = r.json()
        assert cut["truncated"] is True and max(n["depth"] for n in cut["back"]) == 3
        assert set(_lots(cut["back"])) == {"T-BL-1", "T-RL-1"}
        r = await c.get(f"/api/v1/lots/{ids['bale']}/trace", params={"direction": "back", "max_depth": 6})
        assert r.json()["truncated"] is False  # six steps are the whole chain

        # The lot detail: origin, consumption, inspections.
        r = await c.get(f"/api/v1/lots/{ids['tape']}")
        assert r.status_code == 200, r.text
        tape = r.json()
        assert tape["execution"]["operator"]["name"] == "Sari" and tape["execution"]["shift"]["code"] == "T-SIANG"
        assert (tape["gross_weight"], tape["core_weight"], tape["net_weight"]) == ("64.500", "2.500", "62.000")
        assert tape["receipt"] is None and tape["consumptions"] == [] and tape["location_code"] == "EXTRUSION"
        r = await c.get(f"/api/v1/lots/{ids['lot_a']}")
        a = r.json()
        assert a["receipt"]["goods_receipt_number"] == ids["receipt"]["number"]
        assert a["receipt"]["partner"]["name"] == "T Resin Supplier" and a["execution"] is None
        assert [(x["order_number"], x["quantity"]) for x in a["consumptions"]] == [("T-SPK-1", "60.000")]
        assert (a["quantity"], a["remaining"], a["status"]) == ("100.000", "40.000", "available")


async def test_trace_stays_one_query_per_direction_on_thousands_of_lots(make_tenant, live, tenant_engine):
    """A wide chain: 2 000 resin lots consumed by 40 mixing orders (50 lots each), whose batches feed one
    extrusion order making 1 000 rolls; forward from one resin lot and back from one roll answer in well
    under a second (measured, printed; the assertion is only a loose ceiling against a per-row walk)."""
    from datetime import date

    from sqlalchemy.ext.asyncio import AsyncSession

    from polyflow.erp.models import Execution, Lot, LotConsumption, ProductionOrder

    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        resin = (await c.post("/api/v1/products", json={"sku": "PP", "name": "PP", "product_type": "raw_material",
                                                        "unit": "KG"})).json()["variants"][0]["id"]
        mix = (await c.post("/api/v1/products", json={"sku": "MIX", "name": "MIX", "product_type": "intermediate",
                                                      "unit": "KG"})).json()["variants"][0]["id"]
        loc = (await c.get("/api/v1/locations", params={"q": "RM-WH"})).json()["items"][0]["id"]
    on = date(2026, 11, 2)
    async with AsyncSession(tenant_engine(tenant), expire_on_commit=False) as s:
        resin_lots = [Lot(number=f"R-{i}", kind="supplier", variant_id=resin, location_id=loc, quantity=D(10),
                          remaining=D(0), status="consumed") for i in range(2000)]
        s.add_all(resin_lots)
        mixing = [ProductionOrder(number=f"M-{i}", status="completed", stage="mixing", variant_id=mix, quantity=D(500),
                                  source_location_id=loc, output_location_id=loc) for i in range(40)]
        s.add_all(mixing)
        await s.flush()
        ext = ProductionOrder(number="E-1", status="in_progress", stage="extrusion", variant_id=mix, quantity=D(1),
                              source_location_id=loc, output_location_id=loc, input_order_id=mixing[0].id)
        s.add(ext)
        await s.flush()
        s.add_all([LotConsumption(lot_id=lot.id, order_id=mixing[i // 50].id, quantity=D(10), consumed_on=on)
                   for i, lot in enumerate(resin_lots)])
        execs = [Execution(number=f"X-M-{i}", order_id=o.id, kind="output", variant_id=mix, work_date=on,
                           quantity=D(500)) for i, o in enumerate(mixing)]
        execs += [Execution(number=f"X-E-{i}", order_id=ext.id, kind="output", variant_id=mix, work_date=on,
                            quantity=D(1)) for i in range(1000)]
        s.add_all(execs)
        await s.flush()
        batches = [Lot(number=f"B-{i}", kind="batch", variant_id=mix, location_id=loc, quantity=D(500),
                       remaining=D(0), status="consumed", execution_id=x.id) for i, x in enumerate(execs[:40])]
        rolls = [Lot(number=f"RL-{i}", kind="roll", variant_id=mix, location_id=loc, quantity=D(1), remaining=D(1),
                     execution_id=x.id) for i, x in enumerate(execs[40:])]
        s.add_all(batches + rolls)
        await s.flush()
        s.add_all([LotConsumption(lot_id=b.id, order_id=ext.id, quantity=D(500), consumed_on=on) for b in batches])
        await s.commit()
        first_resin, a_roll = resin_lots[0].id, rolls[0].id
    async with live.tenant_client("pt-abc") as c:
        t0 = time.perf_counter()
        r = await c.get(f"/api/v1/lots/{first_resin}/trace", params={"direction": "forward"})
        forward_s = time.perf_counter() - t0
        assert r.status_code == 200, r.text
        fwd = r.json()["forward"]
        # resin -> M-0 -> B-0 -> E-1 -> 1 000 rolls
        assert sum(1 for n in fwd if n["kind"] == "lot" and n["lot"]["kind"] == "roll") == 1000
        t0 = time.perf_counter()
        r = await c.get(f"/api/v1/lots/{a_roll}/trace", params={"direction": "back"})
        back_s = time.perf_counter() - t0
        back = r.json()["back"]
        # roll -> E-1 -> 40 batches -> 40 mixing orders -> 2 000 resin lots
        assert sum(1 for n in back if n["kind"] == "lot" and n["lot"]["kind"] == "supplier") == 2000
        print(f"\ntrace forward 1 resin lot -> 1 000 rolls: {forward_s * 1000:.0f} ms; "
              f"back 1 roll -> 2 000 resin lots: {back_s * 1000:.0f} ms")
        assert forward_s < 5 and back_s < 5
