"""Traceability through the real production-order service (erp/production/orders): resin lots A (PP) and B
(masterbatch) from a purchase receipt -> a mixing batch -> a tape roll -> a bale, every issue naming its lots,
every output recorded by a machine, an operator and a shift. A quarantined resin lot is neither reserved nor
issuable to an order until it passes. Floor master data (machines, operators, shifts, BOMs) are ORM rows, as
the orders package's own tests write them."""

from __future__ import annotations

from datetime import time

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting.service import today
from polyflow.erp.models import Shift
from tests.erp.production.lots.helpers import lot_of_line, receive_with_lots
from tests.erp.production.orders.helpers import (
    ORDERS, act, bom, ledger_ties, machine, ok, operator, product, released,
)


async def test_trace_a_bale_made_through_the_orders_service(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c, \
            AsyncSession(tenant_engine(tenant), expire_on_commit=False) as s:
        pp = await product(c, "PP", "raw_material")
        mb = await product(c, "MB", "raw_material")
        mix = await product(c, "MIX", "intermediate")
        tape = await product(c, "TAPE", "intermediate")
        bag = await product(c, "BAG", "finished_good", unit="BAL")
        gr = await receive_with_lots(c, [(str(pp["variant"]), "90", "20000", "SUP-A"),
                                         (str(mb["variant"]), "10", "50000", "SUP-B")], "S")
        lot_a = await lot_of_line(c, gr["lines"][0]["id"])
        lot_b = await lot_of_line(c, gr["lines"][1]["id"])
        mixer, extruder, baler = (machine(s, "MIX-1", "mixer", "0"), machine(s, "EXT-1", "extruder", "0"),
                                  machine(s, "BAL-1", "packer", "0"))
        budi, sari = operator(s, "BUDI"), operator(s, "SARI")
        pagi = Shift(code="PAGI", name="Pagi", starts_at=time(7), ends_at=time(15))
        s.add(pagi)
        bom(s, mix, "mixing", [(pp, "0.9"), (mb, "0.1")])
        bom(s, tape, "extrusion", [(mix, "1")])
        bom(s, bag, "packing", [(tape, "20")])
        await s.commit()
        floor = {"machine_id": None, "operator_id": str(budi.id), "shift_id": str(pagi.id)}

        # Lot A in quarantine: the mixing order reserves none of the PP and cannot issue it.
        q = await ok(await c.post("/api/v1/inspections", json={"lot_id": lot_a["id"], "result": "quarantine"}), 201)
        o1 = await released(c, "MIX", "100", source_location="RM-WH", output_location="MIXING",
                            machine_id=str(mixer.id))
        reserved = {m["variant_id"]: m["reserved_qty"] for m in o1["materials"]}
        assert reserved == {str(pp["variant"]): "0.000", str(mb["variant"]): "10.000"}
        issue = {"lines": [{"sku": "PP", "quantity": "90", "lots": [{"lot_id": lot_a["id"], "quantity": "90"}]},
                           {"sku": "MB", "quantity": "10", "lots": [{"lot_id": lot_b["id"], "quantity": "10"}]}]}
        r = await c.post(f"{ORDERS}/{o1['id']}/issue", json=issue)
        assert r.status_code == 409 and f"lot {lot_a['number']} is quarantine" in r.json()["detail"], r.text
        r = await c.post(f"{ORDERS}/{o1['id']}/issue", json={"lines": [{"sku": "PP", "quantity": "90"}]})
        assert r.status_code == 409 and "insufficient stock of PP at RM-WH" in r.json()["detail"], r.text
        p = await ok(await c.post("/api/v1/inspections", json={"lot_id": lot_a["id"], "result": "pass"}), 201)
        assert (q["action"], p["action"]) == ("quarantined", "released")

        await act(c, o1["id"], "issue", issue)
        x1 = await act(c, o1["id"], "output", {"quantity": "100", **floor, "machine_id": str(mixer.id)}, 201)
        batch = await ok(await c.get(f"/api/v1/lots/{x1['lot_id']}"))
        o2 = await released(c, "TAPE", "100", source_location="MIXING", output_location="EXTRUSION")
        await act(c, o2["id"], "issue", {"lines": [{"sku": "MIX", "quantity": "100", "lots": [
            {"lot_id": batch["id"], "quantity": "100"}]}]})
        x2 = await act(c, o2["id"], "output", {"gross_weight": "101.5", "core_weight": "1.5", **floor,
                                               "operator_id": str(sari.id), "machine_id": str(extruder.id)}, 201)
        roll = await ok(await c.get(f"/api/v1/lots/{x2['lot_id']}"))
        o3 = await released(c, "BAG", "5", source_location="EXTRUSION", output_location="FG-WH")
        await act(c, o3["id"], "issue", {"lines": [{"sku": "TAPE", "quantity": "100", "lots": [
            {"lot_id": roll["id"], "quantity": "100"}]}]})
        x3 = await act(c, o3["id"], "output", {"quantity": "5", "pieces": 2500, **floor,
                                               "machine_id": str(baler.id)}, 201)
        bale = await ok(await c.get(f"/api/v1/lots/{x3['lot_id']}"))
        assert (batch["kind"], roll["kind"], bale["kind"]) == ("batch", "roll", "bale")
        assert roll["net_weight"] == "100.000" and bale["execution"]["machine"]["code"] == "BAL-1"

        back = (await ok(await c.get(f"/api/v1/lots/{bale['id']}/trace", params={"direction": "back"})))["back"]
        lots = {n["lot"]["number"]: n for n in back if n["kind"] == "lot"}
        assert {n: v["depth"] for n, v in lots.items()} == {
            bale["number"]: 0, roll["number"]: 2, batch["number"]: 4, lot_a["number"]: 6, lot_b["number"]: 6}
        assert {(v["lot"]["supplier_lot_no"], v["quantity"]) for v in lots.values() if v["depth"] == 6} == {
            ("SUP-A", "90.000"), ("SUP-B", "10.000")}
        assert {n: (v["lot"]["execution"]["machine"]["code"], v["lot"]["execution"]["operator"]["code"],
                    v["lot"]["execution"]["shift"]["code"])
                for n, v in lots.items() if v["lot"]["execution"]} == {
            bale["number"]: ("BAL-1", "BUDI", "PAGI"), roll["number"]: ("EXT-1", "SARI", "PAGI"),
            batch["number"]: ("MIX-1", "BUDI", "PAGI")}
        orders = {n["order"]["number"] for n in back if n["kind"] == "order"}
        assert orders == {o1["number"], o2["number"], o3["number"]}

        fwd = (await ok(await c.get(f"/api/v1/lots/{lot_a['id']}/trace", params={"direction": "forward"})))["forward"]
        assert {n["lot"]["number"]: n["depth"] for n in fwd if n["kind"] == "lot"} == {
            lot_a["number"]: 0, batch["number"]: 2, roll["number"]: 4, bale["number"]: 6}
        # Consumed lots show where they went; the resin lots are used up.
        a = await ok(await c.get(f"/api/v1/lots/{lot_a['id']}"))
        assert (a["status"], a["remaining"]) == ("consumed", "0.000")
        assert [(x["order_number"], x["quantity"]) for x in a["consumptions"]] == [(o1["number"], "90.000")]
        assert [i["result"] for i in a["inspections"]] == ["quarantine", "pass"]

        # The bale fails its inspection: scrapped at its cost. Mixing: 0.9 x 20 000 + 0.1 x 50 000 = 23 000 a kg
        # (no labour or overhead); tape 1 kg of mix = 23 000 a kg; a bale 20 kg of tape = 460 000; 5 bales
        # = 2 300 000, Dr 5300 / Cr 1143. Every order's WIP is 0 (issued 2 300 000, output 2 300 000).
        before = await ledger_ties(c, today())
        f = await ok(await c.post("/api/v1/inspections", json={"lot_id": bale["id"], "result": "fail"}), 201)
        m = await ok(await c.get(f"/api/v1/stock-movements/{f['movement_id']}"))
        assert (f["action"], m["reason"], m["quantity"], m["value"]) == ("scrapped", "scrap", "5.000", "-2300000.00")
        after = await ledger_ties(c, today())
        assert after["5300"] - before.get("5300", 0) == 2300000 and before["1143"] - after["1143"] == 2300000
        trail = (await ok(await c.get(f"/api/v1/lots/{lot_a['id']}/trace", params={"direction": "forward"})))
        assert {n["lot"]["number"]: n["lot"]["status"] for n in trail["forward"] if n["kind"] == "lot"}[
            bale["number"]] == "rejected"


async def test_a_quarantine_racing_an_issue_of_the_same_lot(make_tenant, live, tenant_engine):
    """An inspection putting a lot into quarantine and an order issuing that lot, at once: the lot row lock
    makes one of them first; the other gets a clear 409 and nothing of it is written."""
    import asyncio

    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c, \
            AsyncSession(tenant_engine(tenant), expire_on_commit=False) as s:
        pp = await product(c, "PP", "raw_material")
        mix = await product(c, "MIX", "intermediate")
        bom(s, mix, "mixing", [(pp, "1")])
        await s.commit()
        gr = await receive_with_lots(c, [(str(pp["variant"]), "50", "20000", "SUP-A")], "S")
        lot = await lot_of_line(c, gr["lines"][0]["id"])
        o = await released(c, "MIX", "50", source_location="RM-WH", output_location="MIXING")
        # The order holds all 50 kg reserved: a quarantine cannot take reserved stock, and says why.
        r = await c.post("/api/v1/inspections", json={"lot_id": lot["id"], "result": "quarantine"})
        assert r.status_code == 409 and "reserved for orders" in r.json()["detail"], r.text
    async with live.tenant_client("pt-abc", role="production") as a, \
            live.tenant_client("pt-abc", role="production") as b, live.tenant_client("pt-abc") as owner:
        await ok(await owner.post(f"{ORDERS}/{o['id']}/cancel"))  # frees the reservation
        issue = {"lines": [{"sku": "PP", "quantity": "50", "lots": [{"lot_id": lot["id"], "quantity": "50"}]}]}
        # 50 kg more without a lot: the next order reserves 50 of the 100, the lot's 50 can still move.
        await receive_with_lots(owner, [(str(pp["variant"]), "50", "20000", None)], "S2")
        o2 = await released(owner, "MIX", "50", source_location="RM-WH", output_location="MIXING")
        r1, r2 = await asyncio.gather(
            a.post("/api/v1/inspections", json={"lot_id": lot["id"], "result": "quarantine"}),
            b.post(f"{ORDERS}/{o2['id']}/issue", json=issue))
        assert sorted((r1.status_code, r2.status_code)) in ([200, 409], [201, 409]), (r1.text, r2.text)
        got = await ok(await owner.get(f"/api/v1/lots/{lot['id']}"))
        stock = {x["location_code"]: x["on_hand"] for x in
                 (await ok(await owner.get("/api/v1/stock", params={"variant_id": str(pp["variant"])})))["items"]}
        if r1.status_code == 201:  # quarantined first: the issue saw a lot that is not available
            assert f"lot {lot['number']} is quarantine" in r2.json()["detail"]
            assert (got["status"], got["remaining"], got["consumptions"]) == ("quarantine", "50.000", [])
            assert stock == {"RM-WH": "50.000", "KARANTINA": "50.000"}
        else:  # issued first: nothing left to inspect
            assert "is consumed" in r1.json()["detail"]
            assert (got["status"], got["remaining"], got["inspections"]) == ("consumed", "0.000", [])
            assert stock == {"RM-WH": "50.000"}
        # Whichever won, the other order of events: once issued, the lot is consumed and cannot be inspected.
        if got["status"] == "quarantine":
            await ok(await owner.post("/api/v1/inspections", json={"lot_id": lot["id"], "result": "pass"}), 201)
            await ok(await owner.post(f"{ORDERS}/{o2['id']}/issue", json=issue))
            r = await owner.post("/api/v1/inspections", json={"lot_id": lot["id"], "result": "quarantine"})
            assert r.status_code == 409 and "is consumed" in r.json()["detail"], r.text
