"""Rules of production orders, each with hand figures: the state machine (409 naming what is allowed), void,
the regrind cap, standard costing with its variance, a backdated receipt re-costing an issued material, and
bad input (4xx, never 500). After each flow GL(1141..1144) == stock valuation + {1142: WIP}.

Plant (helpers.small_plant, stock on D0): resin 1 000 kg at 10 000, regrind 100 kg at 4 000, tape 10 kg at
9 000; tape = 0.8 resin + 0.2 regrind (at most 20 %), extruder 10 000 an hour, piece rate 100 a kg."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Bom, Lot
from tests.erp.production.orders.helpers import (
    ORDERS, RUNS, act, ledger_ties, ok, order, product, receive, released, route, small_plant, tb, wip,
)

D0 = date(2026, 11, 2)
D1, D2, D3 = (D0 + timedelta(days=n) for n in (1, 2, 3))


@pytest.fixture
async def plant(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    engine = tenant_engine(tenant)
    async with live.tenant_client("pt-abc") as c, AsyncSession(engine, expire_on_commit=False) as session:
        p = await small_plant(c, session, D0)
    return {**p, "engine": engine}


async def test_wrong_transitions_are_409_naming_the_allowed_actions(plant, live):
    async with live.tenant_client("pt-abc", role="production") as c:
        o = await ok(await c.post(ORDERS, json={"sku": "TAPE", "quantity": "100"}), 201)
        assert o["allowed_actions"] == ["release", "cancel"]
        r = await c.post(f"{ORDERS}/{o['id']}/issue", json={"lines": [{"sku": "RESIN", "quantity": "1"}]})
        assert r.status_code == 409 and "is draft: cannot issue (allowed: release, cancel)" in r.json()["detail"]
        o = await act(c, o["id"], "release")
        r = await c.post(f"{ORDERS}/{o['id']}/release")
        assert r.status_code == 409 and "(allowed: issue, output, scrap, cancel)" in r.json()["detail"]
        r = await c.post(f"{ORDERS}/{o['id']}/close")
        assert r.status_code == 409 and "cannot close" in r.json()["detail"]
        await act(c, o["id"], "issue", {"date": D1.isoformat(), "lines": [{"sku": "RESIN", "quantity": "8"}]})
        assert (await order(c, o["id"]))["status"] == "in_progress"
        r = await c.post(f"{ORDERS}/{o['id']}/cancel")
        assert r.status_code == 409 and "(allowed: issue, return, output, scrap, void, close)" in r.json()["detail"]
        await act(c, o["id"], "output", {"quantity": "10", "work_date": D1.isoformat(), "machine_id": plant["ext"],
                                         "hours": "0"}, 201)
        await act(c, o["id"], "close", {"date": D1.isoformat()})
        r = await c.post(f"{ORDERS}/{o['id']}/output", json={"quantity": "1"})
        assert r.status_code == 409 and "is completed: cannot output (allowed: close)" in r.json()["detail"]
        r = await c.post(f"{ORDERS}/{o['id']}/close")
        assert r.status_code == 409 and "nothing to clear" in r.json()["detail"]

        d = await ok(await c.post(ORDERS, json={"sku": "TAPE", "quantity": "5"}), 201)
        d = await act(c, d["id"], "cancel")
        assert d["status"] == "cancelled" and d["allowed_actions"] == []
        r = await c.post(f"{ORDERS}/{d['id']}/release")
        assert r.status_code == 409 and "(allowed: nothing)" in r.json()["detail"]

        # A released order with its reservation is cancelled: the reservation is given back.
        x = await released(c, "TAPE", "50")
        assert [m["reserved_qty"] for m in x["materials"]] == ["40.000", "10.000"]
        x = await act(c, x["id"], "cancel")
        assert [m["reserved_qty"] for m in x["materials"]] == ["0.000", "0.000"]
        stock = await ok(await c.get("/api/v1/stock", params={"location_id": x["source_location_id"]}))
        assert all(D(row["reserved"]) == 0 for row in stock["items"])


async def test_run_transitions(plant, live):
    sack = plant["sack"]
    async with AsyncSession(plant["engine"], expire_on_commit=False) as session:
        boms = (await session.execute(select(Bom).order_by(Bom.stage))).scalars().all()
        by_stage = {b.stage: b for b in boms}
        route(session, "R-SACK", sack, [("extrusion", plant["tape"], by_stage["extrusion"], None),
                                        ("cutting_sewing", sack, by_stage["cutting_sewing"], None)])
        await session.commit()
    async with live.tenant_client("pt-abc", role="production") as c:
        run = await ok(await c.post(RUNS, json={"sku": "SACK", "quantity": "200"}), 201)
        # Tape for 200 sacks: 0.05 x 200 = 10 kg.
        assert [o["quantity"] for o in run["orders"]] == ["10.000", "200.000"]
        r = await c.post(f"{ORDERS}/{run['orders'][0]['id']}/release")
        assert r.status_code == 409 and "release the run" in r.json()["detail"]
        run = await ok(await c.post(f"{RUNS}/{run['id']}/release"))
        r = await c.post(f"{RUNS}/{run['id']}/release")
        assert r.status_code == 409
        listed = await ok(await c.get(RUNS, params={"status": "released", "priority": "normal"}))
        assert [x["id"] for x in listed["items"]] == [run["id"]] and listed["total"] == 1
        assert (await ok(await c.get(RUNS, params={"status": "draft"})))["total"] == 0
        await act(c, run["orders"][0]["id"], "issue", {"date": D1.isoformat(),
                                                        "lines": [{"sku": "RESIN", "quantity": "1"}]})
        assert (await ok(await c.get(f"{RUNS}/{run['id']}")))["status"] == "in_progress"
        r = await c.post(f"{RUNS}/{run['id']}/cancel")
        assert r.status_code == 409
        other = await ok(await c.post(RUNS, json={"sku": "SACK", "quantity": "20"}), 201)
        other = await ok(await c.post(f"{RUNS}/{other['id']}/cancel"))
        assert other["status"] == "cancelled" and {o["status"] for o in other["orders"]} == {"cancelled"}


async def test_void_reverses_stock_lot_and_journal(plant, live):
    async with live.tenant_client("pt-abc", role="production") as c, live.tenant_client("pt-abc") as owner:
        before = await tb(owner, D1)
        o = await released(c, "TAPE", "100", machine_id=plant["ext"], output_location="RM-WH")
        # Backflush 50 kg: resin 0.8 x 50 = 40 (400 000), regrind 0.2 x 50 = 10 (40 000; 20 %: at the cap).
        # Labour 100 x 50 = 5 000, overhead 10 000 x 1 h = 10 000: U = 8 000 + 800 + 15 000 / 50 = 9 100.
        e = await act(c, o["id"], "output", {"quantity": "50", "hours": "1", "backflush": True,
                                             "work_date": D1.isoformat()}, 201)
        assert (e["unit_cost"], e["value"]) == ("9100.0000", "455000.00")
        assert (await wip(owner, D1)) == D("440000") + D("15000") - D("455000")
        v = await ok(await c.post(f"/api/v1/production-executions/{e['id']}/void",
                                  json={"reason": "wrong roll", "date": D2.isoformat()}))
        assert v["status"] == "voided" and v["void_reason"] == "wrong roll"
        r = await c.post(f"/api/v1/production-executions/{e['id']}/void", json={"reason": "again"})
        assert r.status_code == 409 and "already voided" in r.json()["detail"]
        o = await order(c, o["id"])
        # Materials back at their issue cost. The output leaves at the tape's moving average, which the 10 kg
        # bought at 9 000 share: (90 000 + 455 000) / 60 = 9 083.33; 50 x = 454 166.67, so 455 000 - 454 166.67
        # = 833.33 less comes back into WIP than left it (cleared at close); GL 1142 is unchanged (the tape
        # kept in stock carries the 833.33).
        assert o["qty_output"] == "0.000" and [m["issued_qty"] for m in o["materials"]] == ["0.000", "0.000"]
        assert D(o["costs"]["wip"]) == D("-833.33") and await wip(owner, D2) == D("-833.33")
        after = await ledger_ties(owner, D2)
        for code in ("1141", "1142", "1144", "2170", "5720"):
            assert after.get(code, D(0)) == before.get(code, D(0)), code
        async with AsyncSession(plant["engine"]) as session:
            lot = (await session.execute(select(Lot).where(Lot.id == uuid.UUID(e["lot_id"])))).scalar_one()
            assert (lot.status, lot.remaining) == ("voided", D(0))

        # Scrap voided: 2 kg daun in at 2 000 (Dr 1144 / Cr 1142 4 000) and out again at its average 2 000.
        sc = await act(c, o["id"], "scrap", {"sku": "DAUN", "scrap_kind": "daun", "quantity": "2",
                                             "date": D2.isoformat()}, 201)
        assert sc["value"] == "4000.00" and await wip(owner, D2) == D("-833.33") - D("4000")
        await ok(await c.post(f"/api/v1/production-executions/{sc['id']}/void", json={"reason": "mis-weighed",
                                                                                    "date": D2.isoformat()}))
        assert (await order(c, o["id"]))["qty_scrap"] == "0.000"
        assert await wip(owner, D2) == D("-833.33") and (await ledger_ties(owner, D2))["1144"] == before["1144"]

        # Output whose lot was consumed by another order cannot be voided.
        e2 = await act(c, o["id"], "output", {"quantity": "20", "hours": "0", "backflush": True,
                                              "work_date": D2.isoformat()}, 201)
        s = await released(c, "SACK", "100")
        await act(c, s["id"], "issue", {"date": D2.isoformat(), "lines": [
            {"sku": "TAPE", "quantity": "5", "lots": [{"lot_id": e2["lot_id"], "quantity": "5"}]}]})
        r = await c.post(f"/api/v1/production-executions/{e2['id']}/void", json={"reason": "late"})
        assert r.status_code == 409 and "consumed output cannot be voided" in r.json()["detail"]
        await ledger_ties(owner, D2)


async def test_regrind_beyond_the_bom_share_is_refused(plant, live):
    async with live.tenant_client("pt-abc", role="production") as c:
        o = await released(c, "TAPE", "100")
        await act(c, o["id"], "issue", {"date": D1.isoformat(), "lines": [{"sku": "RESIN", "quantity": "40"}]})
        # 11 of 51 = 21.57 % > 20 %; with 40 of virgin material regrind may reach 20 x 40 / 80 = 10.
        r = await c.post(f"{ORDERS}/{o['id']}/issue", json={"date": D1.isoformat(),
                                                             "lines": [{"sku": "REGRIND", "quantity": "11"}]})
        assert r.status_code == 409, r.text
        assert "21.57 %" in r.json()["detail"] and "at most 20 %" in r.json()["detail"] \
            and "at most 10 more" in r.json()["detail"]
        await act(c, o["id"], "issue", {"date": D1.isoformat(), "lines": [{"sku": "REGRIND", "quantity": "10"}]})
        r = await c.post(f"{ORDERS}/{o['id']}/issue", json={"date": D1.isoformat(),
                                                             "lines": [{"sku": "REGRIND", "quantity": "0.01"}]})
        assert r.status_code == 409 and "at most 0 more" in r.json()["detail"]
        o = await order(c, o["id"])
        assert [m["issued_qty"] for m in o["materials"]] == ["40.000", "10.000"]


async def test_standard_cost_product_with_variance(plant, live):
    async with live.tenant_client("pt-abc", role="production") as c, live.tenant_client("pt-abc") as owner:
        o = await released(c, "SACK", "100", machine_id=plant["sew"])
        # 5.5 kg tape at 9 000 = 49 500.
        await act(c, o["id"], "issue", {"date": D1.isoformat(), "lines": [{"sku": "TAPE", "quantity": "5.5"}]})
        # Labour 10 x 100 = 1 000, overhead 8 000 x 0.5 h = 4 000; the sack goes in at its standard 1 000.
        e = await act(c, o["id"], "output", {"quantity": "100", "hours": "0.5", "work_date": D1.isoformat()}, 201)
        assert (e["unit_cost"], e["value"], e["labour_amount"], e["overhead_amount"]) == \
            ("1000.0000", "100000.00", "1000.00", "4000.00")
        # WIP 49 500 + 5 000 - 100 000 = -45 500; yield (5.5 - 0.05 x 100) x 9 000 = 4 500;
        # price -45 500 - 4 500 = -50 000.
        assert await wip(owner, D1) == D("-45500")
        o = await act(c, o["id"], "close", {"date": D1.isoformat()})
        assert D(o["costs"]["variance"]) == D("45500") and D(o["costs"]["wip"]) == 0
        b = await ledger_ties(owner, D1)
        assert (b["5610"], b["5620"]) == (D("4500.00"), D("-50000.00"))
        assert b["1143"] == D("100000.00")


async def test_backdated_receipt_recosting_an_issue_keeps_gl_equal_to_valuation_plus_wip(plant, live):
    async with live.tenant_client("pt-abc", role="production") as c, live.tenant_client("pt-abc") as owner:
        o = await released(c, "TAPE", "50", machine_id=plant["ext"])
        # 40 resin at 10 000 = 400 000, 10 regrind at 4 000 = 40 000; output 50 kg, labour 5 000, no hours.
        # U = 8 000 + 800 + 5 000 / 50 = 8 900: 445 000; WIP 440 000 + 5 000 - 445 000 = 0.
        await act(c, o["id"], "issue", {"date": D2.isoformat(), "lines": [
            {"sku": "RESIN", "quantity": "40"}, {"sku": "REGRIND", "quantity": "10"}]})
        await act(c, o["id"], "output", {"quantity": "50", "hours": "0", "work_date": D2.isoformat()}, 201)
        o = await act(c, o["id"], "close", {"date": D2.isoformat()})
        assert D(o["costs"]["variance"]) == 0
        # A receipt dated D1 (before the issue): 1 000 kg more resin at 13 000. The average on D1 becomes
        # (10 000 000 + 13 000 000) / 2 000 = 11 500: the issue of 40 is re-costed to 460 000 (+60 000), in
        # GL 1142 on D2 and in the order's WIP on D2 alike.
        await receive(owner, plant["res"], "1000", "13000", D1)
        assert await wip(owner, D1) == 0 and await wip(owner, D2) == D("60000")
        for day in (D0, D1, D2, D3):
            await ledger_ties(owner, day)
        # Closing again clears the residual to 5620.
        o = await act(c, o["id"], "close", {"date": D3.isoformat()})
        assert D(o["costs"]["wip"]) == 0 and await wip(owner, D3) == 0
        b = await ledger_ties(owner, D3)
        assert b["5620"] == D("60000.00")
        r = await c.post(f"{ORDERS}/{o['id']}/close")
        assert r.status_code == 409


async def test_bad_input_is_4xx_never_500(plant, live):
    async with live.tenant_client("pt-abc", role="production") as c:
        o = await released(c, "TAPE", "100", machine_id=plant["ext"])
        oid = o["id"]
        bad = [
            ("POST", ORDERS, {"sku": "NOPE", "quantity": "1"}, 422),
            ("POST", ORDERS, {"sku": "TAPE", "quantity": "0"}, 422),
            ("POST", ORDERS, {"sku": "TAPE", "quantity": "1e3"}, 422),
            ("POST", ORDERS, {"sku": "TAPE", "variant_id": str(plant["tape"]["variant"]), "quantity": "1"}, 422),
            ("POST", ORDERS, {"sku": "TAPE", "quantity": "1", "colour": "red"}, 422),
            ("POST", ORDERS, {"sku": "TAPE", "quantity": "1", "bom_id": str(uuid.uuid4())}, 422),
            ("POST", ORDERS, {"sku": "TAPE", "quantity": "1", "source_location": "NOWHERE"}, 422),
            ("POST", ORDERS, {"sku": "TAPE", "quantity": "1", "stage": "welding"}, 422),
            ("POST", ORDERS, {"sku": "RESIN", "quantity": "1"}, 422),  # no BOM, no stage
            ("POST", RUNS, {"sku": "TAPE", "quantity": "1"}, 422),  # no route
            ("POST", RUNS, {"sku": "TAPE", "quantity": "1", "route_id": str(uuid.uuid4())}, 422),
            ("POST", f"{ORDERS}/{oid}/issue", {"lines": []}, 422),
            ("POST", f"{ORDERS}/{oid}/issue", {"lines": [{"sku": "RESIN", "quantity": "5000"}]}, 409),
            ("POST", f"{ORDERS}/{oid}/issue", {"lines": [{"sku": "RESIN", "quantity": "1", "unit": "BAL"}]}, 422),
            ("POST", f"{ORDERS}/{oid}/issue", {"lines": [{"sku": "TAPE", "quantity": "1"}]}, 422),
            ("POST", f"{ORDERS}/{oid}/issue", {"lines": [{"sku": "RESIN", "quantity": "1"},
                                                          {"sku": "RESIN", "quantity": "2"}]}, 422),
            ("POST", f"{ORDERS}/{oid}/issue", {"lines": [{"sku": "RESIN", "quantity": "2", "lots": [
                {"lot_id": str(uuid.uuid4()), "quantity": "2"}]}]}, 422),
            ("POST", f"{ORDERS}/{oid}/issue", {"lines": [{"sku": "RESIN", "quantity": "2", "lots": [
                {"lot_id": str(uuid.uuid4()), "quantity": "1"}]}]}, 422),
            ("POST", f"{ORDERS}/{oid}/issue", {"date": "1800-01-01", "lines": [{"sku": "RESIN", "quantity": "1"}]},
             422),
            ("POST", f"{ORDERS}/{oid}/issue", {"date": "2999-01-01", "lines": [{"sku": "RESIN", "quantity": "1"}]},
             422),
            ("POST", f"{ORDERS}/{oid}/output", {}, 422),
            ("POST", f"{ORDERS}/{oid}/output", {"gross_weight": "2", "core_weight": "3"}, 422),
            ("POST", f"{ORDERS}/{oid}/output", {"gross_weight": "2"}, 422),
            ("POST", f"{ORDERS}/{oid}/output", {"quantity": "1"}, 422),  # hourly machine, no hours
            ("POST", f"{ORDERS}/{oid}/output", {"quantity": "1", "hours": "1", "machine_id": str(uuid.uuid4())},
             422),
            ("POST", f"{ORDERS}/{oid}/output", {"quantity": "1", "hours": "1", "operator_id": str(uuid.uuid4())},
             422),
            ("POST", f"{ORDERS}/{oid}/output", {"quantity": "1", "started_at": "2026-11-03T08:00:00+07:00",
                                                "ended_at": "2026-11-03T07:00:00+07:00"}, 422),
            ("POST", f"{ORDERS}/{oid}/output", {"quantity": "1", "started_at": "2026-11-03T08:00:00",
                                                "ended_at": "2026-11-03T09:00:00+07:00"}, 422),
            ("POST", f"{ORDERS}/{oid}/output", {"quantity": "1", "hours": "1", "unit": "ROLL"}, 422),
            ("POST", f"{ORDERS}/{oid}/output", {"quantity": "1", "started_at": "2026-11-03T08:00:00",
                                                "ended_at": "2026-11-03T09:00:00"}, 422),
            ("POST", f"{ORDERS}/{oid}/output", {"quantity": "999999999999999", "hours": "1"}, 422),
            ("POST", f"{ORDERS}/{oid}/output", {"quantity": "1", "hours": "10001"}, 422),
            ("POST", ORDERS, {"sku": "TAPE", "quantity": "1", "sales_order_line_id": str(uuid.uuid4())}, 422),
            ("POST", RUNS, {"sku": "SACK", "quantity": "1", "sales_order_line_id": str(uuid.uuid4())}, 422),
            ("POST", f"{ORDERS}/{oid}/scrap", {"scrap_sku": "RESIN", "scrap_kind": "daun", "quantity": "1"}, 422),
            ("POST", f"{ORDERS}/{oid}/scrap", {"scrap_sku": "DAUN", "scrap_kind": "dust", "quantity": "1"}, 422),
            ("POST", f"{ORDERS}/{oid}/scrap", {"scrap_sku": "DAUN", "scrap_kind": "daun", "quantity": "-1"}, 422),
            ("POST", f"{ORDERS}/{oid}/close", {"date": "nope"}, 422),
            ("POST", f"/api/v1/production-executions/{uuid.uuid4()}/void", {"reason": "x"}, 404),
            ("POST", f"/api/v1/production-executions/{uuid.uuid4()}/void", {"reason": ""}, 422),
            ("GET", f"{ORDERS}/{uuid.uuid4()}", None, 404),
            ("GET", f"{ORDERS}/not-a-uuid", None, 422),
            ("GET", f"{RUNS}/{uuid.uuid4()}", None, 404),
            ("GET", ORDERS + "?status=nope", None, 422),
            ("GET", ORDERS + "?limit=100000", None, 422),
            ("GET", "/api/v1/production-wip?as_of=2026-13-01", None, 422),
        ]
        for method, path, body, status in bad:
            r = await c.request(method, path, json=body)
            assert r.status_code == status, (method, path, body, r.status_code, r.text)
        # Nothing of the refused requests was written.
        o = await order(c, oid)
        assert o["status"] == "released" and o["executions"] == [] and D(o["costs"]["wip"]) == 0


async def test_a_weighed_roll_of_a_product_stocked_in_rolls(plant, live):
    async with live.tenant_client("pt-abc") as owner:
        await product(owner, "LAMI-ROLL", "intermediate", unit="ROLL")
    async with live.tenant_client("pt-abc", role="production") as c:
        # No BOM: the stage is given; 5 kg tape issued (45 000), one roll of 30.5 - 2.5 = 28 kg weighed.
        o = await released(c, "LAMI-ROLL", "2", stage="lamination")
        await act(c, o["id"], "issue", {"date": D1.isoformat(), "lines": [{"sku": "TAPE", "quantity": "5"}]})
        e = await act(c, o["id"], "output", {"gross_weight": "30.5", "core_weight": "2.5", "date": D1.isoformat()},
                      201)
        assert (e["quantity"], e["work_date"], e["lot_number"]) == ("1.000", D1.isoformat(), "RL-2026-000001")
        async with AsyncSession(plant["engine"]) as session:
            lot = (await session.execute(select(Lot).where(Lot.id == uuid.UUID(e["lot_id"])))).scalar_one()
            assert (lot.kind, lot.net_weight, lot.quantity) == ("roll", D("28.000"), D("1.000"))
        # Without a BOM nothing is a standard: the output carries its conversion only (0 here) and all 45 000
        # issued is variance at close (yield: 5 issued - 0 standard, x 9 000).
        o = await act(c, o["id"], "close", {"date": D1.isoformat()})
        assert D(o["costs"]["variance"]) == D("-45000")


async def test_output_given_in_bales_is_a_bale_lot(plant, live):
    """Bags stocked in PCS and baled 500 to a BAL: an output given in BAL is a bale (BL-), whatever the
    stock unit; the same product given in PCS is a batch (BT-)."""
    async with live.tenant_client("pt-abc") as owner:
        await product(owner, "BAG-PCS", "finished_good", unit="PCS", sales_unit="BAL", sales_unit_factor="500")
    async with live.tenant_client("pt-abc", role="production") as c:
        o = await released(c, "BAG-PCS", "1500", stage="packing")
        await act(c, o["id"], "issue", {"date": D1.isoformat(), "lines": [{"sku": "TAPE", "quantity": "1"}]})
        bale = await act(c, o["id"], "output", {"quantity": "2", "unit": "BAL", "date": D1.isoformat()}, 201)
        loose = await act(c, o["id"], "output", {"quantity": "100", "date": D1.isoformat()}, 201)
        assert (bale["quantity"], bale["lot_number"]) == ("1000.000", "BL-2026-000001")
        assert loose["lot_number"] == "BT-2026-000001"
        async with AsyncSession(plant["engine"]) as session:
            kinds = {lot.number: lot.kind for lot in (await session.execute(select(Lot))).scalars()}
        assert kinds["BL-2026-000001"] == "bale" and kinds["BT-2026-000001"] == "batch"


async def test_a_run_follows_its_orders_when_they_are_cancelled_one_by_one(plant, live):
    sack = plant["sack"]
    async with AsyncSession(plant["engine"], expire_on_commit=False) as session:
        by_stage = {b.stage: b for b in (await session.execute(select(Bom))).scalars().all()}
        route(session, "R-SACK", sack, [("extrusion", plant["tape"], by_stage["extrusion"], None),
                                        ("cutting_sewing", sack, by_stage["cutting_sewing"], None)])
        await session.commit()
    async with live.tenant_client("pt-abc", role="production") as c:
        # A draft run's step cancelled on its own would leave a run that can never be released: refused.
        draft = await ok(await c.post(RUNS, json={"sku": "SACK", "quantity": "20"}), 201)
        r = await c.post(f"{ORDERS}/{draft['orders'][0]['id']}/cancel")
        assert r.status_code == 409 and "cancel the run" in r.json()["detail"], r.text
        assert (await ok(await c.post(f"{RUNS}/{draft['id']}/release")))["status"] == "released"
        # Released: every order cancelled one by one (reservations given back) -> the run is cancelled too.
        for o in draft["orders"]:
            assert (await act(c, o["id"], "cancel"))["status"] == "cancelled"
        run = await ok(await c.get(f"{RUNS}/{draft['id']}"))
        assert run["status"] == "cancelled", run["status"]
        stock = await ok(await c.get("/api/v1/stock", params={"variant_id": str(plant["res"]["variant"])}))
        assert [row["reserved"] for row in stock["items"]] == ["0.000"]
