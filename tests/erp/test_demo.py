"""The `polyflow dev` demo plants, seeded through the trade services: books that look like a plant's
(revenue, a positive gross margin, AR/AP with something overdue) and every ledger agreeing with its
documents; seeding twice adds nothing; one plant sees none of the other's documents."""

import time
from datetime import date, timedelta
from decimal import Decimal as D

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.demo import DEMO_TENANTS, HISTORY_DAYS, seed_tenant

INVENTORY = ("1141", "1142", "1143", "1144")


async def _all(c, path: str) -> list[dict]:
    items, offset = [], 0
    while True:
        r = await c.get(path, params={"limit": 100, "offset": offset})
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return items


async def _ledger_ties(c, on: date) -> None:
    """GL(1141..1144 as of `on`) == valuation by account + {1142: the open production orders' WIP}."""
    tb = (await c.get("/api/v1/reports/trial-balance", params={"date_to": on.isoformat()})).json()
    assert tb["total_debit"] == tb["total_credit"], on
    gl = {r["code"]: D(r["balance"]) for r in tb["rows"]}
    valuation = (await c.get("/api/v1/stock/valuation", params={"as_of": on.isoformat()})).json()["by_account"]
    wip = D((await c.get("/api/v1/production-wip", params={"as_of": on.isoformat()})).json()["wip"])
    expected = {k: D(valuation.get(k, "0")) for k in INVENTORY}
    expected["1142"] += wip
    assert {k: gl.get(k, D(0)) for k in INVENTORY} == expected, on


async def _floor(c, today: date) -> None:
    """pt-abc's floor: runs closed with their variance and the last one open (its WIP in 1142), the month's
    KPIs per machine, a bale traced back to resin lots, the regrind, toll order and stock count."""
    runs = await _all(c, "/api/v1/production-runs")
    statuses = sorted(r["status"] for r in runs)
    assert statuses == ["completed"] * 6 + ["in_progress"], statuses
    wip = D((await c.get("/api/v1/production-wip")).json()["wip"])
    assert wip > 0  # the last run's sewing and baling are still open
    orders = await _all(c, "/api/v1/production-orders")
    assert {o["stage"] for o in orders} == {"mixing", "extrusion", "weaving", "cutting_sewing", "packing",
                                            "granulating"}
    regrind = [o for o in orders if o["stage"] == "granulating"]
    assert len(regrind) == 1 and regrind[0]["status"] == "completed"
    # A mixing order after the granulator's day used regrind (the compound's BOM version 2), within its 8 %.
    late_mix = min((o for o in orders if o["stage"] == "mixing" and o["planned_start"] > regrind[0]["planned_start"]),
                   key=lambda o: o["planned_start"])
    detail = (await c.get(f"/api/v1/production-orders/{late_mix['id']}")).json()
    used = {m["sku"]: D(m["issued_qty"]) for m in detail["materials"]}
    assert 0 < used["REGRIND-PP"] <= sum(used.values()) * D("0.08"), used
    # The first run's orders are closed: no WIP left, their variance posted.
    first = min(orders, key=lambda o: (o["planned_start"] or "", o["step_seq"]))
    closed = (await c.get(f"/api/v1/production-orders/{first['id']}")).json()
    assert closed["status"] == "completed" and D(closed["costs"]["wip"]) == 0, closed["costs"]

    start = today - timedelta(days=HISTORY_DAYS)
    r = await c.get("/api/v1/reports/production", params={"date_from": start.isoformat(), "date_to":
                                                          today.isoformat(), "group_by": "machine"})
    assert r.status_code == 200, r.text
    report = r.json()
    machines = {g["code"]: g for g in report["groups"]}
    assert {"MIX-01", "EXT-01", "LOOM-01", "LOOM-04", "SEW-01", "BAL-01", "GRN-01"} <= set(machines)
    totals = report["totals"]
    assert D(totals["output_kg"]) > 10000 and D(totals["scrap_kg"]) > 0
    kinds = {k["kind"]: k for k in totals["scrap"]}
    assert {"daun", "prongkol", "off_spec", "other"} <= set(kinds) and all(D(k["ratio"]) > 0 for k in kinds.values())
    for code in ("EXT-01", "LOOM-02", "SEW-01"):
        oee = machines[code]["oee"]
        assert oee is not None and 0 < D(oee["oee"]) < 1 and D(oee["planned_hours"]) > 0, (code, oee)
    assert D(machines["LOOM-02"]["oee"]["downtime_hours"]) == 3  # a 3-hour maintenance stop
    print("pt-abc floor: output", totals["output_kg"], "kg, scrap", totals["scrap_ratio"],
          {k: v["ratio"] for k, v in kinds.items()}, "OEE", {code: g["oee"]["oee"] for code, g in machines.items()
                                                            if g["oee"]})

    # A bale lot traces back through sewing, weaving, extrusion and mixing to the resin's supplier lots.
    bales = (await c.get("/api/v1/lots", params={"sku": "WB-50KG-WH", "limit": 1})).json()["items"]
    assert bales and bales[0]["number"].startswith("BL-")
    trace = (await c.get(f"/api/v1/lots/{bales[0]['id']}/trace", params={"direction": "back"})).json()
    stages = {n["order"]["stage"] for n in trace["back"] if n["kind"] == "order"}
    assert stages >= {"packing", "cutting_sewing", "weaving", "extrusion", "mixing"}, stages
    resin = [n["lot"] for n in trace["back"] if n["kind"] == "lot" and n["lot"]["sku"] == "PP-GRN-NAT"]
    assert resin and all(lot["kind"] == "supplier" for lot in resin)

    # The toll order: the customer's resin in and out by quantity only, the fee invoiced (10 000 bags x 450).
    tolls = await _all(c, "/api/v1/toll-orders")
    assert len(tolls) == 1 and tolls[0]["status"] == "invoiced"
    assert D(tolls[0]["pph23_expected"]) == D("4500000") * 2 / 100  # PPh 23 2 % of the 4 500 000 fee
    invoice = (await c.get(f"/api/v1/sales-invoices/{tolls[0]['sales_invoice_id']}")).json()
    assert D(invoice["base"]) == D("4500000")
    balance = (await c.get(f"/api/v1/toll-orders/{tolls[0]['id']}/balance")).json()["rows"]
    assert all(D(row["on_hand"]) == 0 and D(row["goods_on_hand"]) == 0 for row in balance)
    assert (await c.get("/api/v1/stock", params={"q": "PP-GRN-CUST", "nonzero": "true"})).json()["total"] == 0

    # The month's stock count: approved with a loss of 2 kg masterbatch at its average cost.
    counts = await _all(c, "/api/v1/stock-counts")
    assert [k["status"] for k in counts] == ["approved"]
    variances = (await c.get(f"/api/v1/stock-counts/{counts[0]['id']}/variances")).json()
    lost = [row for row in variances["rows"] if D(row["variance_qty"])]
    assert [(row["sku"], D(row["variance_qty"])) for row in lost] == [("MB-BLUE-01", D(-2))]
    assert D(variances["total_value"]) == D(lost[0]["variance_value"]) < 0
    print("pt-abc toll order", tolls[0]["number"], "fee", invoice["base"], "PPh 23", tolls[0]["pph23_expected"],
          "; stock count", counts[0]["number"], "loss", variances["total_value"])


async def test_demo_books_agree_with_their_documents(make_tenant, live, tenant_engine):
    for sub, name, products in DEMO_TENANTS:
        tenant = await make_tenant(sub, name)
        engine = tenant_engine(tenant)
        started = time.perf_counter()
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            assert await seed_tenant(session, sub) == len(products)
        print(f"{sub}: seeded in {time.perf_counter() - started:.2f} s")
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            assert await seed_tenant(session, sub) == 0  # the marker: products exist

    ids = {}
    for sub, _, _ in DEMO_TENANTS:
        async with live.tenant_client(sub) as c:
            tb = (await c.get("/api/v1/reports/trial-balance")).json()
            assert tb["total_debit"] == tb["total_credit"] and D(tb["total_debit"]) > 0
            gl = {r["code"]: D(r["balance"]) for r in tb["rows"]}  # balance = debit - credit

            revenue = -gl.get("4100", D(0))
            margin = revenue - gl.get("4110", D(0)) - gl.get("5100", D(0))
            assert revenue > 0 and margin > 0, (sub, revenue, margin)
            print(f"{sub}: revenue {revenue}, gross margin {margin} ({margin / revenue:.1%})")
            if sub == "pt-abc":
                assert gl["4110"] > 0  # a sales return's credit note
            # After wages, electricity, price differences and bank charges the plant still earns something.
            assert -sum((v for k, v in gl.items() if k[0] in "456"), D(0)) > 0

            # Stock ledger + the open production orders' WIP == the inventory accounts, through the history.
            today = date.fromisoformat((await c.get("/api/v1/production-wip")).json()["as_of"])
            for back in (HISTORY_DAYS, 14, 9, 2, 0):
                await _ledger_ties(c, today - timedelta(days=back))
            # Material issued to production goes through WIP (1142), not the expense 5200 (it ended November at
            # -30 M on pt-abc when output was valued by hand against it).
            assert gl.get("5200", D(0)) >= 0, (sub, gl.get("5200"))
            wip = D((await c.get("/api/v1/production-wip")).json()["wip"])
            print(f"{sub}: " + ", ".join(f"{k} {gl.get(k, D(0))}" for k in (*INVENTORY, "5200", "5610", "5620", "5720"))
                  + f", open WIP {wip}")
            # Piece-rate wages earned on the floor (Cr 2170) were paid out week by week, the last on day 20.
            assert gl.get("2170", D(0)) == 0 and gl.get("5720", D(0)) < 0, sub
            # Every production order of the history is closed but the last run's sewing and baling.
            states = {o["status"] for o in await _all(c, "/api/v1/production-orders")}
            assert states == ({"completed", "in_progress"} if sub == "pt-abc" else {"completed"}), (sub, states)

            # Received not billed (credit balance) == what purchasing's order lines received and not cleared.
            orders = await _all(c, "/api/v1/purchase-orders")
            open_receipts = sum((D(ln["received_value"]) - D(ln["cleared_value"]) for o in orders
                                 for ln in o["lines"]), D(0))
            assert open_receipts > 0 and -gl.get("2120", D(0)) == open_receipts

            # Sales and purchasing serve their aging from their open amounts (shapes differ a little).
            ar = (await c.get("/api/v1/reports/ar-aging")).json()
            ap = (await c.get("/api/v1/reports/ap-aging")).json()["totals"]
            assert gl["1130"] == D(ar["total"]) > 0
            assert -gl["2110"] == D(ap["total"]) > 0
            assert D(ar["total"]) - D(ar["totals"]["current"]) > 0  # something overdue
            assert D(ap["total"]) - D(ap["current"]) > 0
            invoices = await _all(c, "/api/v1/sales-invoices")
            assert {i["status"] for i in invoices} >= {"open", "partially_paid", "paid"}
            # Each month's output invoices make a Coretax file the tax office would take (buyers complete).
            for month in sorted({i["invoice_date"][:7] for i in invoices}):
                r = await c.get("/api/v1/tax/coretax-xml", params={"month": month})
                assert r.status_code == 200, r.text
            services = [i for i in invoices if any(ln["goods_or_services"] == "B" for ln in i["lines"])]
            assert len(services) == (1 if sub == "pt-abc" else 0)
            receipts = await _all(c, "/api/v1/payments/receipts")
            assert len(receipts) >= 3
            # PPh 23 withheld by customers (on pt-abc's toll-manufacturing service) == 1171 prepaid.
            withheld = sum((D(r["withheld"]) for r in receipts), D(0))
            assert gl.get("1171", D(0)) == withheld and (withheld > 0) == (sub == "pt-abc")
            assert len(await _all(c, "/api/v1/payments/supplier-payments")) >= 2
            ids[sub] = {"po": {o["id"] for o in orders}, "si": {i["id"] for i in invoices},
                        "partners": {p["code"] for p in await _all(c, "/api/v1/partners")}}
            low = {r["sku"] for r in (await c.get("/api/v1/stock/low")).json()}
            assert not low & {"PP-GRN-NAT", "HDPE-GRN-BLK"}

    async with live.tenant_client("pt-abc") as c:
        await _floor(c, today)

    abc, xyz = ids["pt-abc"], ids["pt-xyz"]
    assert not (abc["po"] & xyz["po"]) and not (abc["si"] & xyz["si"])
    assert "SUP-RESIN" in abc["partners"] and "SUP-RESIN" not in xyz["partners"]
    async with live.tenant_client("pt-xyz") as c:
        assert (await c.get("/api/v1/products", params={"q": "PP-GRN-NAT"})).json()["total"] == 0
        for invoice_id in list(abc["si"])[:3]:
            assert (await c.get(f"/api/v1/sales-invoices/{invoice_id}")).status_code == 404
        for order_id in list(abc["po"])[:3]:
            assert (await c.get(f"/api/v1/purchase-orders/{order_id}")).status_code == 404
