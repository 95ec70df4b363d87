"""End to end: a woven-bag run through five steps (mixing -> extrusion -> weaving -> sewing -> baling) with
scrap, and a granulator order turning daun scrap into the regrind the mixing BOM uses. Every cost is
computed by hand below; after each order's close its WIP is 0, the variances are where the arithmetic
says, and on every date GL(1141..1144) == stock valuation + {1142: WIP}, GL balanced.

Master data: products and stock through the API; machines, piece rates, BOMs and the route as ORM rows."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal as D

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Lot, LotConsumption

from tests.erp.production.orders.helpers import (
    ORDERS, RUNS, act, bom, ledger_ties, machine, ok, order, piece_rate, product, receive, route, tb, wip,
)

D0 = date(2026, 11, 2)


def day(n: int) -> str:
    return (D0 + timedelta(days=n)).isoformat()


async def _plant(c, session: AsyncSession) -> dict:
    p = {
        "res": await product(c, "PP-RESIN", "raw_material"),
        "mb": await product(c, "MB-WHITE", "raw_material"),
        "reg": await product(c, "PP-REGRIND", "scrap"),
        "daun": await product(c, "SCRAP-DAUN", "scrap", standard_cost="5000"),
        "prong": await product(c, "SCRAP-PRONGKOL", "scrap", standard_cost="3000"),
        "off": await product(c, "BAG-OFFSPEC", "scrap", unit="PCS", standard_cost="500"),
        "mix": await product(c, "MIX-GRANULE", "intermediate"),
        "tape": await product(c, "TAPE-900D", "intermediate", attributes={"denier": 900}),
        "fab": await product(c, "FABRIC-ROLL-60", "intermediate", attributes={"width_mm": 600, "gsm": 70}),
        "bag": await product(c, "BAG-25KG", "intermediate", unit="PCS"),
        "bale": await product(c, "BALE-BAG-25KG", "finished_good", unit="BAL"),
    }
    await receive(c, p["res"], "1000", "20000", D0)  # 20 000 000
    await receive(c, p["mb"], "100", "50000", D0)  # 5 000 000
    await receive(c, p["daun"], "50", "5000", D0, location="SCRAP-WH")  # 250 000
    m = {
        "gran": machine(session, "GRN-1", "granulator", "500", "kg"),
        "mix": machine(session, "MIX-1", "mixer", "20000"),
        "ext": machine(session, "EXT-1", "extruder", "300", "kg"),
        "loom": machine(session, "LOOM-1", "loom", "15000"),
        "sew": machine(session, "SEW-1", "cutting_sewing", "10000"),
        "pack": machine(session, "PACK-1", "packer", "5000"),
    }
    # Mixing: the older stage rate (40) is superseded by 50 on 1 Nov; a product rate from December does not
    # apply yet.
    piece_rate(session, "mixing", "40", date(2026, 1, 1))
    piece_rate(session, "mixing", "50", date(2026, 11, 1))
    piece_rate(session, "mixing", "999", date(2026, 12, 1), product_id=p["mix"]["id"])
    for stage, rate in (("granulating", "100"), ("extrusion", "80"), ("weaving", "200"), ("cutting_sewing", "100"),
                        ("packing", "2000")):
        piece_rate(session, stage, rate, date(2026, 1, 1))
    await session.flush()
    b = {
        "reg": bom(session, p["reg"], "granulating", [(p["daun"], "1")]),
        "mix": bom(session, p["mix"], "mixing", [(p["res"], "78"), (p["mb"], "2"), (p["reg"], "20", True)],
                   output_quantity="100", max_regrind="20"),
        "tape": bom(session, p["tape"], "extrusion", [(p["mix"], "1")], scrap="5"),
        "fab": bom(session, p["fab"], "weaving", [(p["tape"], "1")]),
        "bag": bom(session, p["bag"], "cutting_sewing", [(p["fab"], "0.08")]),
        "bale": bom(session, p["bale"], "packing", [(p["bag"], "500")]),
    }
    await session.flush()
    route(session, "R-BALE", p["bale"], [
        ("mixing", p["mix"], b["mix"], m["mix"]), ("extrusion", p["tape"], b["tape"], m["ext"]),
        ("weaving", p["fab"], b["fab"], m["loom"]), ("cutting_sewing", p["bag"], b["bag"], m["sew"]),
        ("packing", p["bale"], b["bale"], m["pack"])])
    await session.commit()
    return {"p": p, "m": {k: str(v.id) for k, v in m.items()}}


def _costs(o: dict) -> dict[str, D]:
    return {k: D(v) for k, v in o["costs"].items()}


async def test_woven_bag_run_five_steps_with_scrap_and_regrind(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc", role="production") as c, \
            live.tenant_client("pt-abc") as owner, \
            AsyncSession(tenant_engine(tenant), expire_on_commit=False) as session:
        plant = await _plant(owner, session)
        m = plant["m"]

        # -- granulator: 40 kg daun -> 38 kg regrind (day 1) ------------------------------------------------
        g = await ok(await c.post(ORDERS, json={"sku": "PP-REGRIND", "quantity": "40", "machine_id": m["gran"],
                                                 "source_location": "SCRAP-WH", "output_location": "RM-WH"}), 201)
        assert g["stage"] == "granulating" and g["status"] == "draft"
        g = await act(c, g["id"], "release")
        assert g["number"].startswith("SPK/2026/") and g["materials"][0]["planned_qty"] == "40.000"
        assert g["materials"][0]["reserved_qty"] == "40.000"
        await act(c, g["id"], "issue", {"date": day(1), "lines": [{"sku": "SCRAP-DAUN", "quantity": "40"}]})
        # 40 x 5 000 = 200 000 into WIP; conversion: labour 100 x 38 = 3 800, overhead 500/kg x 38 = 19 000.
        # U = 1 x 5 000 + 22 800 / 38 = 5 600; output 38 x 5 600 = 212 800.
        e = await act(c, g["id"], "output", {"quantity": "38", "work_date": day(1)}, 201)
        assert (e["unit_cost"], e["value"], e["labour_amount"], e["overhead_amount"]) == \
            ("5600.0000", "212800.00", "3800.00", "19000.00")
        assert e["lot_number"] == "BT-2026-000001"
        # WIP 200 000 + 22 800 - 212 800 = 10 000 = yield (40 - 38) x 5 000.
        assert _costs(await order(c, g["id"]))["wip"] == D("10000")
        g = await act(c, g["id"], "close", {"date": day(1)})
        assert g["status"] == "completed" and _costs(g)["wip"] == 0 and _costs(g)["variance"] == D("-10000")

        # -- the run: 2 bales --------------------------------------------------------------------------------
        run = await ok(await c.post(RUNS, json={"sku": "BALE-BAG-25KG", "quantity": "2", "priority": "high"}), 201)
        steps = run["orders"]
        # Worked back from the last step: bags 500 x 2 = 1 000; fabric 0.08 x 1 000 = 80; tape 1 x 80 = 80;
        # mixed granules 1 x 80 x 1.05 (extrusion's 5 % expected scrap) = 84.
        assert [s["quantity"] for s in steps] == ["84.000", "80.000", "80.000", "1000.000", "2.000"]
        assert [s["stage"] for s in steps] == ["mixing", "extrusion", "weaving", "cutting_sewing", "packing"]
        assert [s["input_order_id"] for s in steps] == [None] + [s["id"] for s in steps[:-1]]
        run = await ok(await c.post(f"{RUNS}/{run['id']}/release"))
        assert run["status"] == "released" and run["number"].startswith("PRN/2026/")
        mix, ext, weave, sew, bale = (s["id"] for s in run["orders"])
        o = await order(c, mix)
        # 84 x 0.78 = 65.52 resin, 84 x 0.02 = 1.68 masterbatch, 84 x 0.2 = 16.8 regrind, all reserved.
        assert [(x["sku"], x["planned_qty"], x["reserved_qty"]) for x in o["materials"]] == [
            ("PP-RESIN", "65.520", "65.520"), ("MB-WHITE", "1.680", "1.680"), ("PP-REGRIND", "16.800", "16.800")]
        assert all(x["reserved_qty"] == "0.000" for x in (await order(c, ext))["materials"])

        # -- mixing (day 2): 66 resin 1 320 000, 1.7 mb 85 000, 16 regrind x 5 600 = 89 600 -> 1 494 600 -------
        await act(c, mix, "issue", {"date": day(2), "lines": [
            {"sku": "PP-RESIN", "quantity": "66"}, {"sku": "MB-WHITE", "quantity": "1.7"},
            {"sku": "PP-REGRIND", "quantity": "16"}]})
        assert (await ok(await c.get(f"{RUNS}/{run['id']}")))["status"] == "in_progress"
        # Labour 50 x 80 = 4 000 (the rate of 1 Nov), overhead 20 000 x 2 h = 40 000: 44 000 / 80 = 550.
        # U = 0.78 x 20 000 + 0.02 x 50 000 + 0.2 x 5 600 + 550 = 15 600 + 1 000 + 1 120 + 550 = 18 270.
        e = await act(c, mix, "output", {"quantity": "80", "hours": "2", "work_date": day(2)}, 201)
        assert (e["piece_rate"], e["unit_cost"], e["value"]) == ("50.00", "18270.0000", "1461600.00")
        # WIP 1 494 600 + 44 000 - 1 461 600 = 77 000; yield (66 - 62.4) x 20 000 + (1.7 - 1.6) x 50 000 +
        # (16 - 16) x 5 600 = 72 000 + 5 000 = 77 000; price 0.
        o = await act(c, mix, "close", {"date": day(2)})
        assert _costs(o)["variance"] == D("-77000") and _costs(o)["wip"] == 0
        assert all(x["reserved_qty"] == "0.000" for x in o["materials"])  # the rest given back at close

        # -- extrusion (day 3): backflush 1 x 76 x 1.05 = 79.8 kg granules at 18 270 = 1 457 946 ---------------
        # Labour 80 x 76 = 6 080, overhead 300/kg x 76 = 22 800: 28 880 / 76 = 380.
        # U = 1.05 x 18 270 + 380 = 19 183.5 + 380 = 19 563.5; 76 x 19 563.5 = 1 486 826.
        e = await act(c, ext, "output", {"quantity": "76", "backflush": True, "work_date": day(3)}, 201)
        assert (e["unit_cost"], e["value"], e["overhead_amount"]) == ("19563.5000", "1486826.00", "22800.00")
        # Daun 3.5 kg at its NRV 5 000 = 17 500 (Dr 1144 / Cr 1142).
        s = await act(c, ext, "scrap", {"scrap_sku": "SCRAP-DAUN", "scrap_kind": "daun", "quantity": "3.5",
                                        "work_date": day(3)}, 201)
        assert (s["kind"], s["scrap_kind"], s["value"]) == ("scrap", "daun", "17500.00")
        # WIP 1 457 946 + 28 880 - 1 486 826 - 17 500 = -17 500; yield (79.8 - 79.8) x 18 270 = 0; price -17 500.
        o = await act(c, ext, "close", {"date": day(3)})
        assert _costs(o)["variance"] == D("17500") and _costs(o)["wip"] == 0

        # -- weaving (day 4): 76 kg tape at 19 563.5 = 1 486 826; two weighed rolls ----------------------------
        await act(c, weave, "issue", {"date": day(4), "lines": [{"sku": "TAPE-900D", "quantity": "76"}]})
        # Roll 1: 40.5 - 2.5 = 38 kg; labour 200 x 38 = 7 600, overhead 15 000 x 3.8 h = 57 000: 64 600 / 38 =
        # 1 700; U = 19 563.5 + 1 700 = 21 263.5; 38 x 21 263.5 = 808 013.
        r1 = await act(c, weave, "output", {"gross_weight": "40.5", "core_weight": "2.5", "hours": "3.8",
                                            "work_date": day(4)}, 201)
        assert (r1["quantity"], r1["unit_cost"], r1["value"]) == ("38.000", "21263.5000", "808013.00")
        assert r1["lot_number"] == "RL-2026-000001"
        # Roll 2: 39 - 2.5 = 36.5 kg, 08:00-11:39 = 3.65 h: labour 7 300, overhead 54 750: 62 050 / 36.5 = 1 700;
        # 36.5 x 21 263.5 = 776 117.75.
        r2 = await act(c, weave, "output", {"gross_weight": "39", "core_weight": "2.5", "work_date": day(4),
                                            "started_at": f"{day(4)}T08:00:00+07:00",
                                            "ended_at": f"{day(4)}T11:39:00+07:00"}, 201)
        assert (r2["hours"], r2["overhead_amount"], r2["value"]) == ("3.650", "54750.00", "776117.75")
        # WIP 1 486 826 + 126 650 - 1 584 130.75 = 29 345.25 = yield (76 - 74.5) x 19 563.5.
        o = await act(c, weave, "close", {"date": day(4)})
        assert _costs(o)["variance"] == D("-29345.25") and _costs(o)["wip"] == 0

        # -- sewing (day 7): both rolls by lot, 74.5 kg = 1 584 130.75 ------------------------------------------
        await act(c, sew, "issue", {"date": day(7), "lines": [{"sku": "FABRIC-ROLL-60", "quantity": "74.5", "lots": [
            {"lot_id": r1["lot_id"], "quantity": "38"}, {"lot_id": r2["lot_id"], "quantity": "36.5"}]}]})
        # 900 bags: labour 100 x 900 = 90 000, overhead 10 000 x 9 h = 90 000: 180 000 / 900 = 200;
        # U = 0.08 x 21 263.5 + 200 = 1 701.08 + 200 = 1 901.08; 900 x 1 901.08 = 1 710 972.
        e = await act(c, sew, "output", {"quantity": "900", "pieces": 900, "hours": "9", "work_date": day(7)}, 201)
        assert (e["unit_cost"], e["value"]) == ("1901.0800", "1710972.00")
        # Prongkol 1.2 kg x 3 000 = 3 600; off-spec 20 bags x 500 = 10 000.
        await act(c, sew, "scrap", {"scrap_sku": "SCRAP-PRONGKOL", "scrap_kind": "prongkol", "quantity": "1.2",
                                    "work_date": day(7)}, 201)
        await act(c, sew, "scrap", {"scrap_sku": "BAG-OFFSPEC", "scrap_kind": "off_spec", "quantity": "20",
                                    "work_date": day(7)}, 201)
        # WIP 1 584 130.75 + 180 000 - 1 710 972 - 3 600 - 10 000 = 39 558.75;
        # yield (74.5 - 0.08 x 900) x 21 263.5 = 2.5 x 21 263.5 = 53 158.75; price 39 558.75 - 53 158.75 = -13 600.
        o = await act(c, sew, "close", {"date": day(7)})
        assert _costs(o)["variance"] == D("-39558.75") and _costs(o)["wip"] == 0

        # -- baling (day 8): backflush 500 bags at 1 901.08 = 950 540; labour 2 000, overhead 5 000 x 1 h --------
        # U = 500 x 1 901.08 + 7 000 = 957 540: WIP 0, nothing to clear.
        e = await act(c, bale, "output", {"quantity": "1", "pieces": 500, "hours": "1", "backflush": True,
                                          "work_date": day(8)}, 201)
        assert (e["unit_cost"], e["value"], e["lot_number"]) == ("957540.0000", "957540.00", "BL-2026-000001")
        o = await act(c, bale, "close", {"date": day(8)})
        assert _costs(o)["variance"] == 0 and _costs(o)["wip"] == 0
        run = await ok(await c.get(f"{RUNS}/{run['id']}"))
        assert run["status"] == "completed"

        # -- the ledger ----------------------------------------------------------------------------------------
        for n in range(0, 10):
            await ledger_ties(owner, D0 + timedelta(days=n))
        assert await wip(owner, D0 + timedelta(days=9)) == 0
        b = await tb(owner, D0 + timedelta(days=9))
        # Yield 10 000 + 77 000 + 0 + 29 345.25 + 53 158.75 + 0 = 169 504; price -17 500 - 13 600 = -31 100.
        assert b["5610"] == D("169504.00") and b["5620"] == D("-31100.00")
        # Wages 3 800 + 4 000 + 6 080 + 7 600 + 7 300 + 90 000 + 2 000 = 120 780;
        # overhead 19 000 + 40 000 + 22 800 + 57 000 + 54 750 + 90 000 + 5 000 = 288 550.
        assert b["2170"] == D("-120780.00") and b["5720"] == D("-288550.00")
        # 1141: resin 20 000 000 - 1 320 000, masterbatch 5 000 000 - 85 000.
        # 1142: granules 0.2 x 18 270 = 3 654, bags 400 x 1 901.08 = 760 432.
        # 1143: one bale 957 540. 1144: daun 250 000 - 200 000 + 17 500, regrind 212 800 - 89 600,
        # prongkol 3 600, off-spec 10 000.
        assert (b["1141"], b["1142"], b["1143"], b["1144"]) == \
            (D("23595000.00"), D("764086.00"), D("957540.00"), D("204300.00"))
        # The two rolls went into the sewing order by lot: consumed, and the link traceability follows.
        rolls = {uuid.UUID(r1["lot_id"]), uuid.UUID(r2["lot_id"])}
        lots = (await session.execute(select(Lot).where(Lot.id.in_(rolls)))).scalars().all()
        assert {(lot.status, lot.remaining, lot.net_weight) for lot in lots} == \
            {("consumed", D(0), D("38.000")), ("consumed", D(0), D("36.500"))}
        used = (await session.execute(select(LotConsumption.lot_id, LotConsumption.quantity)
                                      .where(LotConsumption.order_id == uuid.UUID(sew)))).all()
        assert sorted(used, key=lambda u: u[1]) == [(uuid.UUID(r2["lot_id"]), D("36.500")),
                                                    (uuid.UUID(r1["lot_id"]), D("38.000"))]
