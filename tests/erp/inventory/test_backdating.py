"""Backdated stock movements (issue 11, section 1): no location's balance may go negative at any date,
a backdated movement is costed at the moving average as of its date, and the later issues of the
variant are re-costed with the differences journaled on their own dates, so that the stock valuation as
of every date equals the inventory account's ledger as of that date."""

from decimal import Decimal as D

SM = "/api/v1/stock-movements"
DAYS = ("2026-11-04", "2026-11-05", "2026-11-09", "2026-11-10", "2026-11-19", "2026-11-20", "2026-11-28")


async def _ledger(c, code, date_to):
    tb = (await c.get("/api/v1/reports/trial-balance", params={"date_to": date_to})).json()
    return {r["code"]: D(r["balance"]) for r in tb["rows"]}.get(code, D(0))


async def _value(c, as_of):
    return D((await c.get("/api/v1/stock/valuation", params={"as_of": as_of})).json()["total_value"])


async def _product(c, sku, ptype="raw_material"):
    r = await c.post("/api/v1/products", json={"sku": sku, "name": sku, "unit": "KG", "product_type": ptype})
    assert r.status_code == 201, r.text
    return r.json()["variants"][0]["id"]


def mv(kind, sku, qty, on, **kw):
    return {"kind": kind, "sku": sku, "quantity": str(qty), "posting_date": on, **kw}


async def test_a_backdated_issue_cannot_take_stock_that_arrived_later(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await _product(c, "PP-GRN")
        r = await c.post(SM, json=mv("IN", "PP-GRN", 100, "2026-11-20", to_location="RM-WH", unit_cost="40000"))
        assert r.status_code == 201, r.text
        # The accountant's finding: OUT 100 dated 5 Nov was accepted and left -100 / -4,000,000 on 10 Nov.
        r = await c.post(SM, json=mv("OUT", "PP-GRN", 100, "2026-11-05", from_location="RM-WH"))
        assert r.status_code == 409, r.text
        assert "insufficient stock of PP-GRN at RM-WH on 2026-11-05: 0 KG can be taken" in r.json()["detail"]
        r = await c.post(SM, json=mv("OUT", "PP-GRN", 1, "2026-09-30", from_location="RM-WH", reason="scrap"))
        assert r.status_code == 409
        assert await _value(c, "2026-11-10") == 0 == await _ledger(c, "1141", "2026-11-10")
        assert await _value(c, "2026-09-30") == 0 == await _ledger(c, "1141", "2026-09-30")
        # On its own date or after, the same issue is fine.
        r = await c.post(SM, json=mv("OUT", "PP-GRN", 100, "2026-11-20", from_location="RM-WH"))
        assert r.status_code == 201 and r.json()["value"] == "-4000000.00"


async def test_each_location_keeps_a_non_negative_history(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await _product(c, "PP-GRN")
        assert (await c.post(SM, json=mv("IN", "PP-GRN", 10, "2026-10-01", to_location="RM-WH",
                                         unit_cost="1000"))).status_code == 201
        assert (await c.post(SM, json=mv("TRANSFER", "PP-GRN", 10, "2026-10-10", from_location="RM-WH",
                                         to_location="MIXING"))).status_code == 201
        # RM-WH has 10 on 5 Oct, but giving 5 then leaves -5 when the 10 Oct transfer takes its 10.
        r = await c.post(SM, json=mv("OUT", "PP-GRN", 5, "2026-10-05", from_location="RM-WH"))
        assert r.status_code == 409 and "RM-WH on 2026-10-05: 0 KG can be taken from that date on" in r.json()["detail"]
        # MIXING has nothing before 10 Oct, even though the variant has 10 in total.
        assert (await c.post(SM, json=mv("OUT", "PP-GRN", 5, "2026-10-05", from_location="MIXING"))).status_code == 409
        assert (await c.post(SM, json=mv("TRANSFER", "PP-GRN", 1, "2026-10-09", from_location="MIXING",
                                         to_location="RM-WH"))).status_code == 409
        r = await c.post(SM, json=mv("OUT", "PP-GRN", 5, "2026-10-12", from_location="MIXING"))
        assert r.status_code == 201 and r.json()["value"] == "-5000.00"
        r = await c.post(SM, json=mv("OUT", "PP-GRN", 6, "2026-10-11", from_location="MIXING"))
        assert r.status_code == 409
        assert "MIXING on 2026-10-11: 5 KG can be taken from that date on (what is left there today)" in r.json()["detail"]
        # A backdated receipt at RM-WH lets a backdated issue there go through (10 + 4 - 4 before the transfer).
        assert (await c.post(SM, json=mv("IN", "PP-GRN", 4, "2026-10-03", to_location="RM-WH",
                                         unit_cost="1000"))).status_code == 201
        assert (await c.post(SM, json=mv("OUT", "PP-GRN", 4, "2026-10-05", from_location="RM-WH"))).status_code == 201
        assert (await c.post(SM, json=mv("OUT", "PP-GRN", "0.001", "2026-10-05",
                                         from_location="RM-WH"))).status_code == 409


async def test_a_backdated_receipt_re_costs_later_issues_on_their_dates(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        variant_id = await _product(c, "PP-GRN")
        posts = [mv("IN", "PP-GRN", 100, "2026-11-01", to_location="RM-WH", unit_cost="10000"),  # 1,000,000
                 mv("OUT", "PP-GRN", 50, "2026-11-10", from_location="RM-WH", reason="sale"),  # 500,000
                 mv("OUT", "PP-GRN", 30, "2026-11-20", from_location="RM-WH", reason="consumption")]  # 300,000
        ids = []
        for body in posts:
            r = await c.post(SM, json=body)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        assert await _value(c, "2026-11-28") == D(200_000)

        # Backdated to 5 Nov: 100 @ 13,000. As of 5 Nov: 200 kg worth 2,300,000 (average 11,500).
        r = await c.post(SM, json=mv("IN", "PP-GRN", 100, "2026-11-05", to_location="RM-WH", unit_cost="13000"))
        assert r.status_code == 201, r.text
        backdated = r.json()
        # 10 Nov: 50 x 11,500 = 575,000 (was 500,000) -> 150 kg, 1,725,000 left.
        # 20 Nov: 30 x 11,500 = 345,000 (was 300,000) -> 120 kg, 1,380,000 left.
        out1 = (await c.get(f"{SM}/{ids[1]}")).json()
        out2 = (await c.get(f"{SM}/{ids[2]}")).json()
        assert (out1["value"], out2["value"]) == ("-575000.00", "-345000.00")
        assert D(out1["unit_cost"]) == D(11500) == D(out2["unit_cost"])
        expected = dict(zip(DAYS, map(D, (1_000_000, 2_300_000, 2_300_000, 1_725_000, 1_725_000, 1_380_000,
                                         1_380_000))))
        for day, value in expected.items():
            assert await _value(c, day) == value == await _ledger(c, "1141", day), day
        # The differences sit on the issues' own dates, against their own counter accounts.
        assert await _ledger(c, "5100", "2026-11-10") == D(575_000)
        assert await _ledger(c, "5200", "2026-11-19") == D(0)
        assert await _ledger(c, "5200", "2026-11-20") == D(345_000)
        rcs = (await c.get("/api/v1/journal-entries", params={"doc_type": "RCS", "sort": "date"})).json()["items"]
        assert [(e["entry_date"], e["reference"]) for e in rcs] == [("2026-11-10", backdated["number"]),
                                                                    ("2026-11-20", backdated["number"])]
        assert {(l["account_code"], l["debit"], l["credit"]) for l in rcs[0]["lines"]} == {
            ("5100", "75000.00", "0.00"), ("1141", "0.00", "75000.00")}
        variant = (await c.get(f"/api/v1/variants/{variant_id}")).json()
        assert (D(variant["qty_total"]), D(variant["stock_value"]), D(variant["avg_cost"])) == (120, 1_380_000, 11_500)

        # A backdated issue at the average leaves the average (and so the later costs) as they are:
        # 8 Nov, 10 x 11,500 = 115,000; 10 Nov then 50 x 2,185,000 / 190 = 575,000 again: no new RCS entry.
        r = await c.post(SM, json=mv("OUT", "PP-GRN", 10, "2026-11-08", from_location="RM-WH", reason="scrap"))
        assert r.status_code == 201 and r.json()["value"] == "-115000.00"
        assert (await c.get("/api/v1/journal-entries", params={"doc_type": "RCS"})).json()["total"] == 2
        assert await _value(c, "2026-11-28") == D(1_265_000) == await _ledger(c, "1141", "2026-11-28")

        # A receipt without a cost dated before everything takes the buy price... there is none: 422.
        r = await c.post(SM, json=mv("IN", "PP-GRN", 1, "2026-10-01", to_location="RM-WH"))
        assert r.status_code == 422 and "give unit_cost" in r.json()["detail"]


async def test_re_costing_into_a_locked_month_is_refused_whole(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await _product(c, "PP-GRN")
        await c.post(SM, json=mv("IN", "PP-GRN", 10, "2026-09-01", to_location="RM-WH", unit_cost="1000"))
        await c.post(SM, json=mv("OUT", "PP-GRN", 5, "2026-10-15", from_location="RM-WH"))
        assert (await c.post("/api/v1/fiscal-periods/2026/10/lock")).status_code == 200
        r = await c.post(SM, json=mv("IN", "PP-GRN", 10, "2026-09-10", to_location="RM-WH", unit_cost="3000"))
        assert r.status_code == 409, r.text
        assert "changes the cost of issues from 2026-10-15 on" in r.json()["detail"]
        assert "2026-10 is locked" in r.json()["detail"]
        assert (await c.get(SM)).json()["total"] == 2  # nothing half-written
        assert await _value(c, "2026-10-31") == D(5000) == await _ledger(c, "1141", "2026-10-31")
