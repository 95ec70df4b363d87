"""Floor KPIs (/reports/production, /reports/piece-rate-earnings) on a small data set, checked against figures
computed by hand.

Everything goes through the APIs a plant uses: products and stock (catalog, inventory), machines, shifts,
operators, piece rates, a BOM, a route and downtime (production floor), a run and orders with their issues,
outputs, scrap and a void (production orders). Only the last test writes two execution rows directly, to
reach a weighing case (a roll's bruto/bobin on a ROLL product) the orders service records the same way.

The plant (time zone Asia/Jakarta; D1 = Monday 2 March 2026, D2 = the next day; piece rate Rp 100 a kg):
- EXT-1 (rated 100 kg/h) runs order O1 (tape, a run through route step extrusion at 120 kg/h: the step's rate
  wins); EXT-2 (rated 50 kg/h) runs order O2 (tape, standalone: no step, so its rated 50 kg/h counts).
- Shifts PAGI 07:00-15:00 (8 h) and MALAM 23:00-07:00 (crosses midnight: 8 h).
- D1 PAGI, EXT-1, operator A: output 756 kg in 7 recorded hours, scrap daun 30 kg and prongkol 10 kg; a voided
  output of 500 kg (never counts). Downtime EXT-1 D1 10:00-11:00 (1 h).
- D1 MALAM, EXT-2, operator B: output 300 kg, no hours recorded; scrap off_spec 20 kg. Downtime EXT-2
  D2 05:00-07:30: 2 h inside D1's MALAM (to 07:00) and 0.5 h inside D2's PAGI, which had no execution but
  counts as planned because of the downtime.
- Issued on D1: 800 kg resin to O1, 350 kg to O2; 100 kg to O3, which has no execution in the range.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Execution, ProductionOrder
from tests.fixtures.auth import make_user

WIB = ZoneInfo("Asia/Jakarta")
D1, D2, D3 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
REPORT = "/api/v1/reports/production"
EARNINGS = "/api/v1/reports/piece-rate-earnings"
ORDERS = "/api/v1/production-orders"


def at(day: date, hh: int, mm: int = 0) -> str:
    return datetime.combine(day, time(hh, mm), WIB).isoformat()


async def _post(c, path: str, body: dict, status: int = 201) -> dict:
    r = await c.post(path, json=body)
    assert r.status_code == status, (path, r.status_code, r.text)
    return r.json()


async def _product(c, sku: str, product_type: str, unit: str = "KG") -> dict:
    body = await _post(c, "/api/v1/products", {"sku": sku, "name": f"{sku} name", "unit": unit,
                                               "product_type": product_type})
    return {"id": uuid.UUID(body["id"]), "variant": uuid.UUID(body["variants"][0]["id"])}


async def _plant(c) -> dict:
    """The data set of the module docstring; returns the ids the assertions need."""
    tape = await _product(c, "TAPE-PP", "intermediate")
    await _product(c, "RESIN-PP", "raw_material")
    for sku in ("SCRAP-DAUN", "SCRAP-PRONGKOL", "SCRAP-OFF"):
        await _product(c, sku, "scrap")
    await _post(c, "/api/v1/stock-movements", {"kind": "IN", "sku": "RESIN-PP", "quantity": "2000",
                                               "to_location": "RM-WH", "unit_cost": "15000",
                                               "posting_date": D1.isoformat()})
    ext1 = await _post(c, "/api/v1/machines", {"code": "EXT-1", "name": "Extruder 1", "machine_type": "extruder",
                                               "rated_capacity": "100"})
    ext2 = await _post(c, "/api/v1/machines", {"code": "EXT-2", "name": "Extruder 2", "machine_type": "extruder",
                                               "rated_capacity": "50"})
    pagi = await _post(c, "/api/v1/shifts", {"code": "PAGI", "name": "Pagi", "starts_at": "07:00",
                                             "ends_at": "15:00"})
    malam = await _post(c, "/api/v1/shifts", {"code": "MALAM", "name": "Malam", "starts_at": "23:00",
                                              "ends_at": "07:00"})
    op_a = await _post(c, "/api/v1/operators", {"code": "OP-A", "name": "Ani"})
    op_b = await _post(c, "/api/v1/operators", {"code": "OP-B", "name": "Budi"})
    await _post(c, "/api/v1/piece-rates", {"stage": "extrusion", "rate": "100", "valid_from": "2026-01-01"})
    await _post(c, "/api/v1/boms", {"sku": "TAPE-PP", "stage": "extrusion", "lines": [{"sku": "RESIN-PP",
                                                                                      "quantity": "1"}]})
    await _post(c, "/api/v1/routes", {"code": "R-TAPE", "name": "Tape", "sku": "TAPE-PP", "steps": [
        {"seq": 1, "stage": "extrusion", "sku": "TAPE-PP", "std_rate": "120", "machines": ["EXT-1"]}]})

    run = await _post(c, "/api/v1/production-runs", {"sku": "TAPE-PP", "quantity": "1000"})
    run = await _post(c, f"/api/v1/production-runs/{run['id']}/release", {}, 200)
    [o1] = run["orders"]
    assert o1["route_step_id"] is not None
    o2 = await _post(c, ORDERS, {"sku": "TAPE-PP", "quantity": "400", "machine_id": ext2["id"]})
    o3 = await _post(c, ORDERS, {"sku": "TAPE-PP", "quantity": "100", "machine_id": ext2["id"]})
    for o in (o2, o3):
        await _post(c, f"{ORDERS}/{o['id']}/release", {}, 200)
    for o, qty in ((o1, "800"), (o2, "350"), (o3, "100")):
        await _post(c, f"{ORDERS}/{o['id']}/issue", {"lines": [{"sku": "RESIN-PP", "quantity": qty}],
                                                     "date": D1.isoformat()}, 200)

    def floor(machine, shift, operator) -> dict:
        return {"machine_id": machine["id"], "shift_id": shift["id"], "operator_id": operator["id"],
                "work_date": D1.isoformat()}

    a, b = floor(ext1, pagi, op_a), floor(ext2, malam, op_b)
    await _post(c, f"{ORDERS}/{o1['id']}/output", {**a, "quantity": "756", "hours": "7"})
    await _post(c, f"{ORDERS}/{o1['id']}/scrap", {**a, "scrap_sku": "SCRAP-DAUN", "scrap_kind": "daun",
                                                  "quantity": "30"})
    await _post(c, f"{ORDERS}/{o1['id']}/scrap", {**a, "scrap_sku": "SCRAP-PRONGKOL", "scrap_kind": "prongkol",
                                                  "quantity": "10"})
    wrong = await _post(c, f"{ORDERS}/{o1['id']}/output", {**a, "quantity": "500", "hours": "4"})
    await _post(c, f"/api/v1/production-executions/{wrong['id']}/void", {"reason": "wrong roll"}, 200)
    await _post(c, f"{ORDERS}/{o2['id']}/output", {**b, "quantity": "300"})
    await _post(c, f"{ORDERS}/{o2['id']}/scrap", {**b, "scrap_sku": "SCRAP-OFF", "scrap_kind": "off_spec",
                                                  "quantity": "20"})
    await _post(c, f"/api/v1/machines/{ext1['id']}/downtimes", {"reason": "breakdown", "started_at": at(D1, 10),
                                                                "ended_at": at(D1, 11)})
    await _post(c, f"/api/v1/machines/{ext2['id']}/downtimes", {"reason": "changeover", "started_at": at(D2, 5),
                                                                "ended_at": at(D2, 7, 30)})
    return {"ext1": ext1["id"], "ext2": ext2["id"], "tape": str(tape["id"])}


def _d(value) -> D | None:
    return None if value is None else D(value)


def _scrap(group) -> dict[str, tuple[D, D | None]]:
    return {s["kind"]: (D(s["kg"]), _d(s["ratio"])) for s in group["scrap"]}


@pytest.fixture
async def plant(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        return await _plant(c)


async def test_per_machine_output_scrap_yield_rate_and_oee(plant, live):
    async with live.tenant_client("pt-abc", role="production") as c:
        r = await c.get(REPORT, params={"date_from": D1.isoformat(), "date_to": D2.isoformat(),
                                        "group_by": "machine"})
    assert r.status_code == 200, r.text
    body = r.json()
    groups = {g["code"]: g for g in body["groups"]}
    assert set(groups) == {"EXT-1", "EXT-2"}

    ext1 = groups["EXT-1"]
    assert ext1["key"] == plant["ext1"] and ext1["executions"] == 3  # the voided 500 kg is not there
    assert ext1["output"] == [{"unit": "KG", "quantity": "756.000"}] and D(ext1["output_kg"]) == 756
    # Scrap 30 + 10 = 40 kg of 756 + 40 = 796 kg produced: daun 30/796 = 0.03769 -> 0.0377,
    # prongkol 10/796 = 0.01256 -> 0.0126, all scrap 40/796 = 0.05025 -> 0.0503.
    assert _scrap(ext1) == {"daun": (D(30), D("0.0377")), "prongkol": (D(10), D("0.0126")),
                            "off_spec": (D(0), D(0)), "other": (D(0), D(0))}
    assert D(ext1["scrap_kg"]) == 40 and D(ext1["scrap_ratio"]) == D("0.0503")
    # Yield: 756 good kg / 800 kg issued to O1 = 0.945.
    assert D(ext1["issued_kg"]) == 800 and D(ext1["yield_ratio"]) == D("0.945")
    # 756 kg in 7 h = 108 kg/h against the route step's 120 kg/h (not the machine's 100): 108/120 = 0.9.
    assert D(ext1["hours"]) == 7 and D(ext1["kg_per_hour"]) == 108 and D(ext1["standard_kg_per_hour"]) == 120
    assert D(ext1["rate_ratio"]) == D("0.9")
    oee = ext1["oee"]
    # Planned: D1 PAGI = 8 h; down 10:00-11:00 = 1 h; availability 7/8 = 0.875.
    assert oee["shifts_planned"] == 1 and D(oee["planned_hours"]) == 8 and D(oee["downtime_hours"]) == 1
    assert D(oee["availability"]) == D("0.875")
    # Performance: standard hours 756/120 = 6.3 over the 7 recorded hours = 0.9.
    assert D(oee["run_hours"]) == 7 and D(oee["standard_hours"]) == D("6.3") and D(oee["performance"]) == D("0.9")
    # Quality 756/796 = 0.949749 -> 0.9497; OEE 0.875 x 0.9 x 756/796 = 0.747927 -> 0.7479.
    assert D(oee["quality"]) == D("0.9497") and D(oee["oee"]) == D("0.7479")

    ext2 = groups["EXT-2"]
    assert ext2["executions"] == 2 and D(ext2["output_kg"]) == 300
    # off_spec 20 of 320 kg = 0.0625; yield 300/350 = 0.857143 -> 0.8571.
    assert _scrap(ext2)["off_spec"] == (D(20), D("0.0625")) and D(ext2["scrap_ratio"]) == D("0.0625")
    assert D(ext2["issued_kg"]) == 350 and D(ext2["yield_ratio"]) == D("0.8571")
    # No hours recorded: no actual kg/hour; the standard is the machine's rated 50 kg/h (no route step).
    assert ext2["kg_per_hour"] is None and ext2["rate_ratio"] is None and D(ext2["standard_kg_per_hour"]) == 50
    oee = ext2["oee"]
    # D1 MALAM 23:00-07:00 counts whole (8 h), 2 h down (05:00-07:00 of D2); D2 PAGI (8 h, no execution) is
    # planned because the downtime runs into it until 07:30 (0.5 h). Planned 16, down 2.5: 13.5/16 = 0.84375.
    assert oee["shifts_planned"] == 2 and D(oee["planned_hours"]) == 16 and D(oee["downtime_hours"]) == D("2.5")
    assert D(oee["availability"]) == D("0.8438")
    # Run = planned - down where no hours were recorded: 6 + 7.5 = 13.5; standard 300/50 = 6 h: 6/13.5 = 0.4444.
    assert D(oee["run_hours"]) == D("13.5") and D(oee["standard_hours"]) == 6
    assert D(oee["performance"]) == D("0.4444")
    # Quality 300/320 = 0.9375; OEE 0.84375 x 0.44444 x 0.9375 = 0.3515625 -> 0.3516.
    assert D(oee["quality"]) == D("0.9375") and D(oee["oee"]) == D("0.3516")

    totals = body["totals"]
    assert totals["executions"] == 5 and D(totals["output_kg"]) == 1056 and D(totals["scrap_kg"]) == 60
    # 1056 / (800 + 350) = 0.918261 -> 0.9183; O3's 100 kg had no execution in the range.
    assert D(totals["issued_kg"]) == 1150 and D(totals["yield_ratio"]) == D("0.9183")
    assert D(body["issued_kg_without_output"]) == 100
    oee = totals["oee"]
    # Planned 8 + 16 = 24, down 1 + 2.5 = 3.5: 20.5/24 = 0.854167 -> 0.8542; performance (6.3 + 6) / (7 + 13.5)
    # = 12.3/20.5 = 0.6; quality 1056/1116 = 0.946237; OEE 0.854167 x 0.6 x 0.946237 = 0.484946 -> 0.4849.
    assert D(oee["planned_hours"]) == 24 and D(oee["downtime_hours"]) == D("3.5")
    assert D(oee["availability"]) == D("0.8542") and D(oee["performance"]) == D("0.6")
    assert D(oee["quality"]) == D("0.9462") and D(oee["oee"]) == D("0.4849")


async def test_per_shift_and_per_day_oee(plant, live):
    async with live.tenant_client("pt-abc", role="production") as c:
        by_shift = (await c.get(REPORT, params={"date_from": D1.isoformat(), "date_to": D2.isoformat(),
                                                "group_by": "shift"})).json()
        by_day = (await c.get(REPORT, params={"date_from": D1.isoformat(), "date_to": D2.isoformat(),
                                              "group_by": "day"})).json()
    shifts = {g["code"]: g for g in by_shift["groups"]}
    pagi, malam = shifts["PAGI"]["oee"], shifts["MALAM"]["oee"]
    # PAGI: EXT-1 on D1 (8 h, 1 down, 7 recorded) and EXT-2 on D2 (8 h, 0.5 down, run 7.5):
    # availability 14.5/16 = 0.90625 -> 0.9063; performance 6.3/14.5 = 0.434483 -> 0.4345;
    # quality 756/796; OEE 0.90625 x 0.434483 x 0.949749 = 0.373961 -> 0.3740.
    assert D(pagi["planned_hours"]) == 16 and D(pagi["downtime_hours"]) == D("1.5")
    assert D(pagi["availability"]) == D("0.9063") and D(pagi["performance"]) == D("0.4345")
    assert D(pagi["oee"]) == D("0.3740")
    # MALAM: 8 h, 2 down: 0.75; performance 6/6 = 1; quality 0.9375; OEE 0.703125 -> 0.7031.
    assert D(malam["availability"]) == D("0.75") and D(malam["performance"]) == 1
    assert D(malam["oee"]) == D("0.7031")

    days = {g["key"]: g for g in by_day["groups"]}
    assert set(days) == {D1.isoformat(), D2.isoformat()}
    # D1: EXT-1 PAGI and EXT-2 MALAM: planned 16, down 1 + 2 = 3: 13/16 = 0.8125.
    assert D(days[D1.isoformat()]["oee"]["availability"]) == D("0.8125")
    # D2: only the downtime's PAGI of EXT-2: 7.5/8 = 0.9375, nothing produced, so no quality and no OEE.
    d2 = days[D2.isoformat()]
    assert d2["executions"] == 0 and D(d2["oee"]["availability"]) == D("0.9375") and d2["oee"]["oee"] is None
    # The per-day groups add up to the same totals as the per-machine ones.
    assert D(by_day["totals"]["oee"]["oee"]) == D(by_shift["totals"]["oee"]["oee"]) == D("0.4849")


async def test_per_operator_and_product_and_piece_rate_earnings(plant, live):
    params = {"date_from": D1.isoformat(), "date_to": D2.isoformat()}
    async with live.tenant_client("pt-abc", role="warehouse") as c:  # production.read through another role
        by_operator = (await c.get(REPORT, params=params | {"group_by": "operator"})).json()
        by_product = (await c.get(REPORT, params=params | {"group_by": "product"})).json()
        earnings = await c.get(EARNINGS, params=params)
    operators = {g["code"]: g for g in by_operator["groups"]}
    assert D(operators["OP-A"]["output_kg"]) == 756 and D(operators["OP-B"]["output_kg"]) == 300
    assert operators["OP-A"]["oee"] is None  # OEE is per machine, shift or day
    assert by_operator["totals"]["oee"]["oee"] == "0.4849"
    [tape] = by_product["groups"]
    # Scrap belongs to the product the order makes: 1056 kg tape, 60 kg scrap (60/1116 = 0.053763 -> 0.0538).
    assert tape["key"] == plant["tape"] and tape["code"] == "TAPE-PP" and D(tape["output_kg"]) == 1056
    assert D(tape["scrap_ratio"]) == D("0.0538")

    assert earnings.status_code == 200, earnings.text
    body = earnings.json()
    rows = {o["code"]: o for o in body["operators"]}
    # A: 756 kg x Rp 100 = 75 600 (the voided 500 kg's 50 000 is excluded); B: 300 kg x Rp 100 = 30 000.
    assert D(rows["OP-A"]["earnings"]) == 75_600 and rows["OP-A"]["output"] == [{"unit": "KG", "quantity": "756.000"}]
    assert rows["OP-A"]["executions"] == 3
    assert D(rows["OP-B"]["earnings"]) == 30_000 and D(body["total_earnings"]) == 105_600
    # The same wages the executions' journals owe on 2170 (the void's reversal takes the 50 000 back).
    async with live.tenant_client("pt-abc") as owner:
        tb = (await owner.get("/api/v1/reports/trial-balance")).json()
    assert {r["code"]: D(r["balance"]) for r in tb["rows"]}["2170"] == -105_600


async def test_weights_from_bruto_bobin_and_unweighed_pieces(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c, \
            AsyncSession(tenant_engine(tenant), expire_on_commit=False) as session:
        loc = (await c.post("/api/v1/locations", json={"code": "PABRIK", "name": "Pabrik"})).json()
        film = await _product(c, "FILM-ROLL", "intermediate", unit="ROLL")
        bag = await _product(c, "KARUNG-50", "finished_good", unit="PCS")
        where = {"source_location_id": uuid.UUID(loc["id"]), "output_location_id": uuid.UUID(loc["id"])}
        o_film = ProductionOrder(stage="extrusion", variant_id=film["variant"], quantity=D(2), **where)
        o_bag = ProductionOrder(stage="cutting_sewing", variant_id=bag["variant"], quantity=D(500), **where)
        session.add_all([o_film, o_bag])
        await session.flush()
        session.add_all([
            # Two rolls weighed 130 kg bruto with a 10 kg bobin: 120 kg net.
            Execution(number="PEX-R", order_id=o_film.id, kind="output", variant_id=film["variant"],
                      quantity=D(2), gross_weight=D(130), core_weight=D(10), work_date=D3),
            # 500 bags counted, never weighed: no kg.
            Execution(number="PEX-B", order_id=o_bag.id, kind="output", variant_id=bag["variant"],
                      quantity=D(500), pieces=500, work_date=D3),
        ])
        await session.commit()
        r = await c.get(REPORT, params={"date_from": D3.isoformat(), "date_to": D3.isoformat(),
                                        "group_by": "product"})
    assert r.status_code == 200, r.text
    groups = {g["code"]: g for g in r.json()["groups"]}
    assert groups["FILM-ROLL"]["output"] == [{"unit": "ROLL", "quantity": "2.000"}]
    assert D(groups["FILM-ROLL"]["output_kg"]) == 120 and groups["FILM-ROLL"]["unweighed_executions"] == 0
    assert groups["KARUNG-50"]["output"] == [{"unit": "PCS", "quantity": "500.000"}]
    assert D(groups["KARUNG-50"]["output_kg"]) == 0 and groups["KARUNG-50"]["unweighed_executions"] == 1
    totals = r.json()["totals"]
    assert totals["output"] == [{"unit": "PCS", "quantity": "500.000"}, {"unit": "ROLL", "quantity": "2.000"}]
    assert totals["oee"] is None  # no machine, no shift: nothing planned


async def test_bad_ranges_are_422_and_a_year_is_fine(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc", role="production") as c:
        for path in (REPORT, EARNINGS):
            r = await c.get(path, params={"date_from": "2026-03-05", "date_to": "2026-03-04"})
            assert r.status_code == 422 and "after date_to" in r.text, r.text
            # 2024 is a leap year: 366 days are allowed, 367 are not.
            assert (await c.get(path, params={"date_from": "2024-01-01", "date_to": "2024-12-31"})).status_code == 200
            r = await c.get(path, params={"date_from": "2024-01-01", "date_to": "2025-01-01"})
            assert r.status_code == 422 and "367 days" in r.text, r.text
            assert (await c.get(path, params={"date_from": "1800-01-01", "date_to": "1800-01-02"})).status_code == 422
            assert (await c.get(path, params={"date_from": "2026-03-01"})).status_code == 422
        r = await c.get(REPORT, params={"date_from": "2026-03-01", "date_to": "2026-03-02", "group_by": "colour"})
        assert r.status_code == 422


async def test_another_tenant_sees_none_of_the_figures(plant, make_tenant, live):
    await make_tenant("pt-xyz")
    params = {"date_from": D1.isoformat(), "date_to": D2.isoformat()}
    async with live.tenant_client("pt-xyz") as xyz:
        for group_by in ("machine", "shift", "day", "operator", "product"):
            r = await xyz.get(REPORT, params=params | {"group_by": group_by})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["groups"] == [] and body["totals"]["executions"] == 0 and body["totals"]["oee"] is None
            assert D(body["issued_kg_without_output"]) == 0
            for secret in ("EXT-1", "OP-A", "TAPE-PP", plant["ext1"]):
                assert secret not in r.text
        r = await xyz.get(EARNINGS, params=params)
        assert r.json()["operators"] == [] and D(r.json()["total_earnings"]) == 0
    async with live.tenant_client("pt-abc") as abc:  # the figures are there on their own tenant
        assert (await abc.get(EARNINGS, params=params)).json()["total_earnings"] == "105600.00"


async def test_roles_without_production_read_are_refused(make_tenant, live):
    await make_tenant("pt-abc")
    sales = make_user(live.settings, "pt-abc", ["sales"])
    async with live.client(f"pt-abc.{live.settings.root_domain}",
                           headers={"Authorization": f"Bearer {sales['token']}"}) as c:
        for path in (REPORT, EARNINGS):
            r = await c.get(path, params={"date_from": "2026-03-01", "date_to": "2026-03-02"})
            assert r.status_code == 403 and "production.read" in r.text, r.text


async def test_an_open_downtime_runs_to_now_within_the_shift(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc", role="production") as c:
        loom = await _post(c, "/api/v1/machines", {"code": "LOOM-1", "name": "Loom 1", "machine_type": "loom"})
        await _post(c, "/api/v1/shifts", {"code": "PAGI", "name": "Pagi", "starts_at": "07:00", "ends_at": "15:00"})
        # Stopped at 13:00 on D1 and never restarted: 13:00-15:00 of D1's PAGI is down (2 of 8 h), and every
        # later PAGI in the range is planned and wholly down.
        await _post(c, f"/api/v1/machines/{loom['id']}/downtimes", {"reason": "no_material",
                                                                    "started_at": at(D1, 13)})
        body = (await c.get(REPORT, params={"date_from": D1.isoformat(), "date_to": D2.isoformat(),
                                            "group_by": "day"})).json()
    days = {g["key"]: g["oee"] for g in body["groups"]}
    assert D(days[D1.isoformat()]["downtime_hours"]) == 2 and D(days[D1.isoformat()]["availability"]) == D("0.75")
    assert D(days[D2.isoformat()]["downtime_hours"]) == 8 and D(days[D2.isoformat()]["availability"]) == 0
    # Nothing produced: no quality, hence no OEE; the run time left is 6 h (planned - down, no hours recorded).
    assert days[D1.isoformat()]["oee"] is None and D(days[D1.isoformat()]["run_hours"]) == 6
    assert D(body["totals"]["oee"]["availability"]) == D("0.375")  # (16 - 10) / 16
