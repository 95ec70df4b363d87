"""Returning unused material from an order to the warehouse (POST /production-orders/{id}/return): stock back
at the order's average issued cost (Dr 1141 / Cr 1142), WIP and the close variance on the net quantity, lots
given back what they gave, refusals (too much, wrong state, bad input, another tenant). After each flow
GL(1141..1144) == stock valuation + {1142: WIP}.

Plant (helpers.small_plant, stock on D0): resin 1 000 kg at 10 000, regrind 100 kg at 4 000, tape 10 kg at
9 000; tape = 0.8 resin + 0.2 regrind; extruder 10 000 an hour, piece rate 100 a kg (extrusion). Added
here: FILM = 1 kg resin per kg (extrusion, no expected scrap)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Lot, LotConsumption
from polyflow.erp.production.orders.returns import returnable
from tests.erp.production.orders.helpers import (
    ORDERS, act, bom, ledger_ties, ok, order, product, receive, released, small_plant, tb, wip,
)

D0 = date(2026, 11, 2)
D1, D2, D3 = (D0 + timedelta(days=n) for n in (1, 2, 3))


@pytest.fixture
async def plant(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    engine = tenant_engine(tenant)
    async with live.tenant_client("pt-abc") as c, AsyncSession(engine, expire_on_commit=False) as session:
        p = await small_plant(c, session, D0)
        film = await product(c, "FILM", "intermediate")
        bom(session, film, "extrusion", [(p["res"], "1")])
        await session.commit()
    return {**p, "film": film, "engine": engine}


def _resin(o: dict) -> dict:
    return next(m for m in o["materials"] if m["sku"] == "RESIN")


async def test_return_at_the_average_issued_cost_and_close_on_the_net(plant, live):
    async with live.tenant_client("pt-abc", role="production") as c, live.tenant_client("pt-abc") as owner:
        before = await tb(owner, D0)
        o = await released(c, "FILM", "400", machine_id=plant["ext"])
        # D1: 300 kg at 10 000 = 3 000 000 (700 kg / 7 000 000 left).
        await act(c, o["id"], "issue", {"date": D1.isoformat(), "lines": [{"sku": "RESIN", "quantity": "300"}]})
        # D2: a second receipt at another cost, 500 kg at 13 000 = 6 500 000: 1 200 kg / 13 500 000, average
        # 11 250; then 200 kg at 11 250 = 2 250 000.
        await receive(owner, plant["res"], "500", "13000", D2)
        await act(c, o["id"], "issue", {"date": D2.isoformat(), "lines": [{"sku": "RESIN", "quantity": "200"}]})
        o = await order(c, o["id"])
        assert "return" in o["allowed_actions"]
        # Issued 500 kg for 5 250 000: the order's average issued cost is 10 500 (not the stock's 11 250).
        assert (_resin(o)["issued_qty"], D(_resin(o)["issued_value"]), _resin(o)["avg_cost"]) == \
            ("500.000", D("5250000"), "10500.0000")

        # More than issued: 409 with the figures, nothing written.
        r = await c.post(f"{ORDERS}/{o['id']}/return", json={"date": D3.isoformat(),
                                                              "lines": [{"sku": "RESIN", "quantity": "500.5"}]})
        assert r.status_code == 409 and "cannot return 500.5 KG of RESIN" in r.json()["detail"] \
            and "has 500 KG net issued" in r.json()["detail"], r.text
        # Backdated to D1, only the 300 issued by then may come back.
        r = await c.post(f"{ORDERS}/{o['id']}/return", json={"date": D1.isoformat(),
                                                              "lines": [{"sku": "RESIN", "quantity": "301"}]})
        assert r.status_code == 409 and f"has 300 KG net issued as of {D1} and after" in r.json()["detail"], r.text
        # A material never issued to the order.
        r = await c.post(f"{ORDERS}/{o['id']}/return", json={"lines": [{"sku": "TAPE", "quantity": "1"}]})
        assert r.status_code == 409 and "has 0 KG net issued" in r.json()["detail"], r.text

        # D3: 120 kg back at 10 500 = 1 260 000: Dr 1141 / Cr 1142.
        o = await act(c, o["id"], "return", {"date": D3.isoformat(), "note": "half a bag left",
                                             "lines": [{"sku": "RESIN", "quantity": "120"}]})
        assert (_resin(o)["issued_qty"], D(_resin(o)["issued_value"]), _resin(o)["avg_cost"]) == \
            ("380.000", D("3990000"), "10500.0000")
        # WIP: 3 000 000 + 2 250 000 - 1 260 000 = 3 990 000 (= 380 x 10 500).
        assert D(o["costs"]["material"]) == D("3990000") and await wip(owner, D3) == D("3990000")
        assert await wip(owner, D2) == D("5250000")
        after = await ledger_ties(owner, D3)
        # 1141: + 6 500 000 received - 3 000 000 - 2 250 000 issued + 1 260 000 back = + 2 510 000.
        assert after["1141"] - before["1141"] == D("2510000")
        # 1142: + 5 250 000 issued - 1 260 000 back = + 3 990 000.
        assert after["1142"] - before["1142"] == D("3990000")
        # The resin in stock: 1 120 kg, 13 500 000 - 2 250 000 + 1 260 000 = 12 510 000.
        stock = await ok(await owner.get("/api/v1/stock", params={"variant_id": str(plant["res"]["variant"])}))
        assert [row["on_hand"] for row in stock["items"]] == ["1120.000"]
        v = await ok(await owner.get("/api/v1/stock/valuation", params={"as_of": D3.isoformat()}))
        assert D(v["by_account"]["1141"]) == D("12510000")  # resin is the only raw material

        # Output 375 kg, 1.5 h: labour 100 x 375 = 37 500, overhead 10 000 x 1.5 = 15 000; U = 1 x 10 500 +
        # 52 500 / 375 = 10 640; value 375 x 10 640 = 3 990 000. WIP 3 990 000 + 52 500 - 3 990 000 = 52 500.
        e = await act(c, o["id"], "output", {"quantity": "375", "hours": "1.5", "work_date": D3.isoformat()}, 201)
        assert (e["unit_cost"], e["value"]) == ("10640.0000", "3990000.00")
        assert await wip(owner, D3) == D("52500")
        # Close: yield on the NET 380 kg: (380 - 1 x 375) x 10 500 = 52 500 (on the gross 500 it would be
        # 125 x 10 500 = 1 312 500); price = 52 500 - 52 500 = 0.
        o = await act(c, o["id"], "close", {"date": D3.isoformat()})
        assert D(o["costs"]["variance"]) == D("-52500") and D(o["costs"]["wip"]) == 0
        closed = await ledger_ties(owner, D3)
        assert closed.get("5610", D(0)) - before.get("5610", D(0)) == D("52500")
        assert closed.get("5620", D(0)) == before.get("5620", D(0))
        assert await wip(owner, D3) == 0

        r = await c.post(f"{ORDERS}/{o['id']}/return", json={"lines": [{"sku": "RESIN", "quantity": "1"}]})
        assert r.status_code == 409 and "is completed: cannot return (allowed: close)" in r.json()["detail"]


async def test_a_return_to_a_consumed_lot_restores_it(plant, live):
    async with live.tenant_client("pt-abc", role="production") as c, live.tenant_client("pt-abc") as owner:
        # A tape roll into RM-WH, 20 kg backflushed: resin 16 x 10 000 + regrind 4 x 4 000 = 176 000 (8 800 a
        # kg); labour 100 x 20 = 2 000, overhead 10 000 x 0.2 h = 2 000: U = 8 800 + 4 000 / 20 = 9 000.
        t = await released(c, "TAPE", "20", machine_id=plant["ext"], output_location="RM-WH")
        roll = await act(c, t["id"], "output", {"quantity": "20", "hours": "0.2", "backflush": True,
                                                "work_date": D1.isoformat()}, 201)
        assert roll["unit_cost"] == "9000.0000"
        # Tape in RM-WH: 10 kg + 20 kg, all at 9 000. The sack order takes the whole roll (consumed) and 5 kg
        # more: 25 kg at 9 000 = 225 000.
        s = await released(c, "SACK", "100")
        await act(c, s["id"], "issue", {"date": D1.isoformat(), "lines": [
            {"sku": "TAPE", "quantity": "20", "lots": [{"lot_id": roll["lot_id"], "quantity": "20"}]}]})
        await act(c, s["id"], "issue", {"date": D1.isoformat(), "lines": [{"sku": "TAPE", "quantity": "5"}]})
        lot_id = uuid.UUID(roll["lot_id"])
        async with AsyncSession(plant["engine"]) as session:
            lot = await session.get(Lot, lot_id)
            assert (lot.status, lot.remaining) == ("consumed", D(0))
        # An unknown lot gets nothing.
        bad_lot = {"sku": "TAPE", "quantity": "2", "lots": [{"lot_id": str(uuid.uuid4()), "quantity": "2"}]}
        r = await c.post(f"{ORDERS}/{s['id']}/return", json={"lines": [bad_lot]})
        assert r.status_code == 422 and "unknown lot" in r.json()["detail"]

        # D2: 8 kg back into the roll, at 9 000 = 72 000.
        o = await act(c, s["id"], "return", {"date": D2.isoformat(), "lines": [
            {"sku": "TAPE", "quantity": "8", "lots": [{"lot_id": roll["lot_id"], "quantity": "8"}]}]})
        tape = next(m for m in o["materials"] if m["sku"] == "TAPE")
        assert (tape["issued_qty"], D(tape["issued_value"])) == ("17.000", D("153000"))
        assert D(o["costs"]["material"]) == D("153000")
        async with AsyncSession(plant["engine"]) as session:
            lot = await session.get(Lot, lot_id)
            assert (lot.status, lot.remaining) == ("available", D(8))
            given = (await session.execute(select(func.sum(LotConsumption.quantity)).where(
                LotConsumption.lot_id == lot_id, LotConsumption.order_id == uuid.UUID(s["id"])))).scalar_one()
            assert given == D(12)
        # The roll gave this order 20 - 8 = 12 net: 13 more cannot go back to it (the order has 17 net).
        r = await c.post(f"{ORDERS}/{s['id']}/return", json={"date": D2.isoformat(), "lines": [
            {"sku": "TAPE", "quantity": "13", "lots": [{"lot_id": roll["lot_id"], "quantity": "13"}]}]})
        assert r.status_code == 409 and "gave production order" in r.json()["detail"] \
            and "12 KG (net)" in r.json()["detail"], r.text
        # The roll is available again: another order can take it.
        s2 = await released(c, "SACK", "10")
        await act(c, s2["id"], "issue", {"date": D2.isoformat(), "lines": [
            {"sku": "TAPE", "quantity": "8", "lots": [{"lot_id": roll["lot_id"], "quantity": "8"}]}]})
        await ledger_ties(owner, D2)


async def test_a_backdated_return_re_costs_a_later_issue(plant, live):
    async with live.tenant_client("pt-abc", role="production") as c, live.tenant_client("pt-abc") as owner:
        o = await released(c, "FILM", "200")
        # D1: 100 kg at 10 000 = 1 000 000 (900 kg / 9 000 000 left). D2: 100 kg received at 19 000: 1 000 kg /
        # 10 900 000 (10 900). D3: 100 kg at 10 900 = 1 090 000. The order's average: 2 090 000 / 200 = 10 450.
        await act(c, o["id"], "issue", {"date": D1.isoformat(), "lines": [{"sku": "RESIN", "quantity": "100"}]})
        await receive(owner, plant["res"], "100", "19000", D2)
        await act(c, o["id"], "issue", {"date": D3.isoformat(), "lines": [{"sku": "RESIN", "quantity": "100"}]})
        # 50 kg back dated D2 (before the D3 issue) at 10 450 = 522 500: D2 stock 1 050 kg / 11 422 500, so
        # the D3 issue is re-costed to 100 x 11 422 500 / 1 050 = 1 087 857.14.
        o = await act(c, o["id"], "return", {"date": D2.isoformat(), "lines": [{"sku": "RESIN", "quantity": "50"}]})
        # WIP D2: 1 000 000 - 522 500 = 477 500; D3: + 1 087 857.14 = 1 565 357.14.
        assert await wip(owner, D2) == D("477500") and await wip(owner, D3) == D("1565357.14")
        assert (_resin(o)["issued_qty"], D(_resin(o)["issued_value"])) == ("150.000", D("1565357.14"))
        for day in (D1, D2, D3):
            await ledger_ties(owner, day)


def test_returnable_is_the_least_net_from_the_date_on():
    # Issued 100 on D1, 100 back on D2, 100 issued on D3: on D1 or D2 nothing may come back (D2 would owe).
    days = [(D1, D(100)), (D2, D(-100)), (D3, D(100))]
    assert [returnable(days, d) for d in (D0, D1, D2, D3)] == [D(0), D(0), D(0), D(100)]
    assert returnable([(D1, D(300)), (D2, D(200)), (D3, D(-120))], D1) == D(300)


async def test_wrong_state_and_bad_input(plant, live):
    async with live.tenant_client("pt-abc", role="production") as c:
        d = await ok(await c.post(ORDERS, json={"sku": "FILM", "quantity": "10"}), 201)
        r = await c.post(f"{ORDERS}/{d['id']}/return", json={"lines": [{"sku": "RESIN", "quantity": "1"}]})
        assert r.status_code == 409 and "is draft: cannot return (allowed: release, cancel)" in r.json()["detail"]
        o = await act(c, d["id"], "release")
        r = await c.post(f"{ORDERS}/{o['id']}/return", json={"lines": [{"sku": "RESIN", "quantity": "1"}]})
        assert r.status_code == 409 and "(allowed: issue, output, scrap, cancel)" in r.json()["detail"]
        await act(c, o["id"], "issue", {"date": D1.isoformat(), "lines": [{"sku": "RESIN", "quantity": "10"}]})
        oid = o["id"]
        lot = str(uuid.uuid4())
        bad = [
            ({"lines": []}, 422),
            ({"lines": [{"sku": "RESIN", "quantity": "-1"}]}, 422),
            ({"lines": [{"sku": "RESIN", "quantity": "0"}]}, 422),
            ({"lines": [{"sku": "NOPE", "quantity": "1"}]}, 422),
            ({"lines": [{"sku": "RESIN", "variant_id": str(plant["res"]["variant"]), "quantity": "1"}]}, 422),
            ({"lines": [{"sku": "RESIN", "quantity": "1", "unit": "BAL"}]}, 422),
            ({"lines": [{"sku": "RESIN", "quantity": "1"}, {"sku": "RESIN", "quantity": "2"}]}, 422),
            ({"lines": [{"sku": "RESIN", "quantity": "2", "lots": [{"lot_id": lot, "quantity": "1"}]}]}, 422),
            ({"lines": [{"sku": "RESIN", "quantity": "2", "lots": [{"lot_id": lot, "quantity": "1"},
                                                                   {"lot_id": lot, "quantity": "1"}]}]}, 422),
            ({"lines": [{"sku": "RESIN", "quantity": "1"}], "colour": "red"}, 422),
            ({"lines": [{"sku": "RESIN", "quantity": "1"}], "date": "1800-01-01"}, 422),
            ({"lines": [{"sku": "RESIN", "quantity": "1"}], "date": "nope"}, 422),
            ({"lines": [{"sku": "RESIN", "quantity": "1"}], "note": "x" * 201}, 422),
            ({"lines": [{"sku": "RESIN", "quantity": "1"}], "date": D0.isoformat()}, 409),  # before the issue
            ({"lines": [{"sku": "RESIN", "quantity": "10.001"}]}, 409),
            (None, 422),
        ]
        for body, status in bad:
            r = await c.post(f"{ORDERS}/{oid}/return", json=body)
            assert r.status_code == status, (body, r.status_code, r.text)
        r = await c.post(f"{ORDERS}/{uuid.uuid4()}/return", json={"lines": [{"sku": "RESIN", "quantity": "1"}]})
        assert r.status_code == 404
        r = await c.post(f"{ORDERS}/not-a-uuid/return", json={"lines": [{"sku": "RESIN", "quantity": "1"}]})
        assert r.status_code == 422
        # Nothing of the refused requests was written.
        o = await order(c, oid)
        assert _resin(o)["issued_qty"] == "10.000" and D(o["costs"]["wip"]) == D("100000")


async def test_another_tenant_cannot_return_on_the_order(plant, live, make_tenant):
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc", role="production") as c, live.tenant_client("pt-xyz") as xyz, \
            live.tenant_client("pt-abc") as owner:
        # pt-xyz has a RESIN of its own, in stock: the 404 is about the order, not the material.
        await receive(xyz, await product(xyz, "RESIN", "raw_material"), "10", "1000", D0)
        o = await released(c, "FILM", "10")
        await act(c, o["id"], "issue", {"date": D1.isoformat(), "lines": [{"sku": "RESIN", "quantity": "10"}]})
        before = await tb(owner, D1)
        r = await xyz.post(f"{ORDERS}/{o['id']}/return", json={"lines": [{"sku": "RESIN", "quantity": "5"}]})
        assert r.status_code == 404, r.text
        assert _resin(await order(c, o["id"]))["issued_qty"] == "10.000"
        assert await tb(owner, D1) == before and await wip(owner, D1) == D("100000")
        await ledger_ties(owner, D1)


async def test_a_void_cannot_bring_back_backflushed_material_already_returned(plant, live):
    async with live.tenant_client("pt-abc", role="production") as c, live.tenant_client("pt-abc") as owner:
        o = await released(c, "FILM", "10")
        # D1: 10 kg FILM backflushed: 10 kg resin issued at 10 000 = 100 000 (990 kg left).
        e = await act(c, o["id"], "output", {"quantity": "10", "backflush": True, "work_date": D1.isoformat()},
                      201)
        # D2: the 10 kg come back unused (net issued 0; 1 000 kg in stock).
        await act(c, o["id"], "return", {"date": D2.isoformat(), "lines": [{"sku": "RESIN", "quantity": "10"}]})
        # Voiding the output would bring the same 10 kg back a second time (1 010 kg, net issued -10): 409.
        r = await c.post(f"/api/v1/production-executions/{e['id']}/void",
                         json={"reason": "wrong", "date": D2.isoformat()})
        assert r.status_code == 409 and "RESIN" in r.json()["detail"], r.text
        stock = await ok(await owner.get("/api/v1/stock", params={"variant_id": str(plant["res"]["variant"])}))
        assert [row["on_hand"] for row in stock["items"]] == ["1000.000"]
        assert _resin(await order(c, o["id"]))["issued_qty"] == "0.000"
        await ledger_ties(owner, D2)
