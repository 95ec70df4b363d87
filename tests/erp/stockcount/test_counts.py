"""Stock counts (stock opname) over real HTTP and PostgreSQL: snapshot, blind entries, variances, approval
posting adjustments through inventory (GL 5400 against the inventory account), movements during a count
counted against the snapshot, cancel, final states, bad input, and another tenant's count."""

from __future__ import annotations

from decimal import Decimal as D

from polyflow.erp.accounting.service import today
from tests.erp.stockcount.helpers import SC, move, ok, product, tb, valuation


def _lines(count: dict) -> dict[str, dict]:
    return {line["sku"]: line for line in count["lines"]}


async def test_a_count_with_a_loss_and_a_found_item_posts_adjustments_and_the_ledgers_agree(make_tenant, live):
    await make_tenant("pt-abc")
    on = today().isoformat()
    async with live.tenant_client("pt-abc") as c:
        await product(c, "SC-PP", buy_price="20000")
        await product(c, "SC-MB", sales_unit="ZAK", sales_unit_factor="25")
        await product(c, "SC-INK", buy_price="80000")  # never in stock: the count finds 5 kg
        await move(c, "IN", "SC-PP", 1000, to_location="RM-WH", unit_cost="21000")  # 21,000,000
        await move(c, "IN", "SC-PP", 200, to_location="RM-WH", unit_cost="24000")   # 4,800,000 -> avg 21,500
        await move(c, "TRANSFER", "SC-PP", 200, from_location="RM-WH", to_location="MIXING")  # RM-WH 1,000
        await move(c, "IN", "SC-MB", 100, to_location="RM-WH", unit_cost="50000")   # 5,000,000
        before = await tb(c, on)
        assert before["1141"] == D("30800000")

        count = await ok(await c.post(SC, json={"location": "rm-wh", "note": "year-end opname"}), 201)
        assert count["number"].startswith(f"OPN/{today().year}/") and count["status"] == "open"
        assert count["blind"] and count["allowed_actions"] == ["entries", "submit", "cancel"]
        # Every variant with stock at RM-WH, nothing from MIXING's 200 kg; no book figures while open.
        assert sorted(_lines(count)) == ["SC-MB", "SC-PP"]
        assert all(line["snapshot_qty"] is None and line["counted_qty"] is None for line in count["lines"])
        shown = await ok(await c.get(f"{SC}/{count['id']}"))
        assert shown["blind"] and all(line[k] is None for line in shown["lines"]
                                      for k in ("snapshot_qty", "snapshot_unit_cost", "expected_qty"))
        r = await c.get(f"{SC}/{count['id']}/variances")
        assert r.status_code == 409 and "once it is submitted" in r.json()["detail"]

        # Two counters on the resin (summed), the masterbatch in sacks of 25 kg, the ink found on a shelf.
        count = await ok(await c.post(f"{SC}/{count['id']}/entries", json=[
            {"sku": "SC-PP", "counted_qty": "600", "counted_by": "Budi", "note": "pallets 1-3"},
            {"sku": "SC-MB", "counted_qty": "4", "unit": "zak", "counted_by": "Budi"},
            {"sku": "SC-INK", "counted_qty": "5", "counted_by": "Sari"}]))
        count = await ok(await c.post(f"{SC}/{count['id']}/entries", json=[
            {"sku": "SC-PP", "counted_qty": "390", "counted_by": "Sari", "note": "pallets 4-5"}]))
        lines = _lines(count)
        assert (D(lines["SC-PP"]["counted_qty"]), lines["SC-PP"]["entries"]) == (990, 2)
        assert D(lines["SC-MB"]["counted_qty"]) == 100  # 4 ZAK x 25 kg
        assert not lines["SC-INK"]["in_snapshot"] and lines["SC-INK"]["snapshot_qty"] is None  # still blind

        count = await ok(await c.post(f"{SC}/{count['id']}/submit"))
        assert count["status"] == "counted" and not count["blind"]
        assert D(_lines(count)["SC-PP"]["snapshot_qty"]) == 1000
        assert D(_lines(count)["SC-PP"]["snapshot_unit_cost"]) == 21500  # 25,800,000 / 1,200
        var = await ok(await c.get(f"{SC}/{count['id']}/variances"))
        rows = {r["sku"]: r for r in var["rows"]}
        # PP: 990 - 1,000 = -10 kg x 21,500 = -215,000; INK: 5 - 0 = +5 kg x buy price 80,000 = +400,000.
        assert (D(rows["SC-PP"]["variance_qty"]), rows["SC-PP"]["variance_value"]) == (-10, "-215000.00")
        assert (D(rows["SC-INK"]["variance_qty"]), rows["SC-INK"]["variance_value"]) == (5, "400000.00")
        assert (D(rows["SC-MB"]["variance_qty"]), rows["SC-MB"]["variance_value"]) == (0, "0.00")
        assert var["total_value"] == "185000.00" and var["uncounted"] == []

        count = await ok(await c.post(f"{SC}/{count['id']}/approve"))
        assert count["status"] == "approved" and count["approval_date"] == on and count["allowed_actions"] == []
        lines = _lines(count)
        assert (D(lines["SC-PP"]["adjustment_qty"]), lines["SC-PP"]["adjustment_value"]) == (-10, "-215000.00")
        assert (D(lines["SC-INK"]["adjustment_qty"]), lines["SC-INK"]["adjustment_value"]) == (5, "400000.00")
        assert lines["SC-MB"]["movement_id"] is None  # no variance, no movement
        moves = (await ok(await c.get("/api/v1/stock-movements", params={"q": count["number"]})))["items"]
        assert sorted((m["kind"], m["reason"], m["quantity"], m["value"], m["posting_date"]) for m in moves) == [
            ("ADJUSTMENT", "count", "10.000", "-215000.00", on), ("ADJUSTMENT", "count", "5.000", "400000.00", on)]
        assert {m["reference"] for m in moves} == {count["number"]}

        after = await tb(c, on)
        # 5400: Dr 215,000 (loss) - Cr 400,000 (found) = -185,000; 1141: 30,800,000 - 215,000 + 400,000.
        assert after.get("5400", D(0)) - before.get("5400", D(0)) == D("-185000")
        assert after["1141"] == D("30985000") == (await valuation(c, on))["1141"]
        levels = (await ok(await c.get("/api/v1/stock", params={"q": "SC-", "sort": "sku"})))["items"]
        assert [(x["sku"], x["location_code"], D(x["on_hand"])) for x in levels] == [
            ("SC-INK", "RM-WH", 5), ("SC-MB", "RM-WH", 100), ("SC-PP", "MIXING", 200), ("SC-PP", "RM-WH", 990)]

        # Approved is final: a second approval (or a cancel, or entries) is a 409 naming no allowed action.
        for action, body in (("approve", None), ("cancel", None), ("entries", [{"sku": "SC-PP", "counted_qty": "1"}])):
            r = await c.post(f"{SC}/{count['id']}/{action}", json=body)
            assert r.status_code == 409 and "allowed: none, it is final" in r.json()["detail"], (action, r.text)
        assert await tb(c, on) == after
        var = await ok(await c.get(f"{SC}/{count['id']}/variances"))
        assert var["total_value"] == "185000.00" and var["status"] == "approved"


async def test_movements_during_an_open_count_are_counted_against_the_snapshot(make_tenant, live):
    await make_tenant("pt-abc")
    on = today().isoformat()
    async with live.tenant_client("pt-abc") as c:
        await product(c, "SC-PP")
        await product(c, "SC-BAG", unit="PCS", product_type="finished_good")
        await move(c, "IN", "SC-PP", 1000, to_location="RM-WH", unit_cost="21000")  # 21,000,000
        await move(c, "IN", "SC-BAG", 10, to_location="RM-WH", unit_cost="1500")     # bags parked in RM-WH
        count = await ok(await c.post(SC, json={"location": "RM-WH", "product_type": "raw_material"}), 201)
        assert sorted(_lines(count)) == ["SC-PP"]  # the filter leaves the bags out

        # Between snapshot and approval: a receipt and an issue at RM-WH, a transfer out of it, and a receipt
        # elsewhere (MIXING), which the count must ignore.
        await move(c, "IN", "SC-PP", 500, to_location="RM-WH", unit_cost="24000")  # 33,000,000 / 1,500 = 22,000
        count = await ok(await c.post(f"{SC}/{count['id']}/entries", json=[
            {"sku": "SC-PP", "counted_qty": "700", "counted_by": "Budi"}]))
        await move(c, "OUT", "SC-PP", 300, from_location="RM-WH", reason="consumption")  # -6,600,000
        await move(c, "TRANSFER", "SC-PP", 250, from_location="RM-WH", to_location="MIXING")
        await move(c, "IN", "SC-PP", 100, to_location="MIXING", unit_cost="22000")  # +2,200,000, avg stays 22,000
        # The bags were out of the filter: found now, their line books what RM-WH held at the snapshot (10).
        count = await ok(await c.post(f"{SC}/{count['id']}/entries", json=[
            {"sku": "SC-PP", "counted_qty": "240", "counted_by": "Sari"},
            {"sku": "SC-BAG", "counted_qty": "10", "counted_by": "Sari"}]))
        await ok(await c.post(f"{SC}/{count['id']}/submit"))
        var = {r["sku"]: r for r in (await ok(await c.get(f"{SC}/{count['id']}/variances")))["rows"]}
        # PP at RM-WH: snapshot 1,000 + 500 - 300 - 250 = 950 expected; counted 700 + 240 = 940 -> -10 kg.
        # (Frozen at the snapshot it would read -60; the MIXING receipt does not count.)
        assert (D(var["SC-PP"]["snapshot_qty"]), D(var["SC-PP"]["moved_since"])) == (1000, -50)
        assert (D(var["SC-PP"]["expected_qty"]), D(var["SC-PP"]["variance_qty"])) == (950, -10)
        assert var["SC-PP"]["variance_value"] == "-220000.00"  # -10 x 22,000
        assert (D(var["SC-BAG"]["snapshot_qty"]), D(var["SC-BAG"]["variance_qty"])) == (10, 0)
        assert not var["SC-BAG"]["in_snapshot"]

        before = await tb(c, on)
        # An issue of 40 booked after submission, before approval: the count stands for the stock after every
        # movement booked up to approval, so expected becomes 950 - 40 = 910 and the variance 940 - 910 = +30.
        await move(c, "OUT", "SC-PP", 40, from_location="RM-WH", reason="consumption")  # -880,000
        count = await ok(await c.post(f"{SC}/{count['id']}/approve"))
        lines = _lines(count)
        assert (D(lines["SC-PP"]["expected_qty"]), D(lines["SC-PP"]["adjustment_qty"])) == (910, 30)
        assert lines["SC-PP"]["adjustment_value"] == "660000.00"  # +30 x 22,000 (the average)
        assert D(lines["SC-BAG"]["adjustment_qty"]) == 0 and lines["SC-BAG"]["movement_id"] is None
        after = await tb(c, on)
        # 1141: 21,000,000 + 12,000,000 - 6,600,000 + 2,200,000 - 880,000 + 660,000 = 28,380,000.
        assert after["1141"] == D("28380000") == (await valuation(c, on))["1141"]
        assert after["5400"] - before.get("5400", D(0)) == D("-660000")  # a gain: credit
        assert after["1143"] == D("15000") == (await valuation(c, on))["1143"]  # the bags did not move
        stock = (await ok(await c.get("/api/v1/stock", params={"q": "SC-PP", "sort": "location"})))["items"]
        assert [(x["location_code"], D(x["on_hand"])) for x in stock] == [("MIXING", 350), ("RM-WH", 940)]


async def test_cancel_posts_nothing_and_bad_input_is_refused(make_tenant, live):
    await make_tenant("pt-abc")
    on = today().isoformat()
    async with live.tenant_client("pt-abc") as c:
        pp = await product(c, "SC-PP")
        await product(c, "SC-FREE")  # no stock, no buy price
        svc = await product(c, "SC-SETUP", unit="PCS", product_type="service")  # no stock to count
        await move(c, "IN", "SC-PP", 100, to_location="RM-WH", unit_cost="21000")
        bad = [
            ({"location": "NOWHERE"}, 422, "unknown location 'NOWHERE'"),
            ({"location": "RM-WH", "count_date": "2999-01-01"}, 422, None),
            ({"location": "RM-WH", "variant_ids": ["00000000-0000-4000-8000-000000000000"]}, 422, "unknown variant"),
            ({"location": "RM-WH", "product_type": "gold"}, 422, None),
            ({"location": "RM-WH", "surprise": 1}, 422, None),
        ]
        for body, status, text in bad:
            r = await c.post(SC, json=body)
            assert r.status_code == status and (text is None or text in r.json()["detail"]), (body, r.text)

        count = await ok(await c.post(SC, json={"location": "RM-WH"}), 201)
        r = await c.post(SC, json={"location": "RM-WH"})
        assert r.status_code == 409 and count["number"] in r.json()["detail"]  # one count under way per location
        url = f"{SC}/{count['id']}"
        r = await c.post(f"{url}/submit")
        assert r.status_code == 409 and "nothing has been counted" in r.json()["detail"]
        for body, text in (([{"sku": "NOPE", "counted_qty": "1"}], "unknown variant 'NOPE'"),
                           ([{"sku": "SC-PP", "counted_qty": "-1"}], None),
                           ([{"sku": "SC-PP", "variant_id": pp, "counted_qty": "1"}], None),
                           ([{"sku": "SC-PP", "counted_qty": "1", "unit": "BAL"}], "unknown unit 'BAL'"),
                           ([{"sku": "SC-PP", "counted_qty": 8.0e307}], "too large"),  # was a 500
                           ([], None), ({"sku": "SC-PP", "counted_qty": "1"}, None)):
            r = await c.post(f"{url}/entries", json=body)
            assert r.status_code == 422 and (text is None or text in r.text), (body, r.text)
        r = await c.post(f"{SC}/00000000-0000-4000-8000-000000000000/entries", json=[{"sku": "SC-PP",
                                                                                      "counted_qty": "1"}])
        assert r.status_code == 404
        r = await c.post(f"{url}/approve")
        assert r.status_code == 409 and "allowed: entries, submit, cancel" in r.json()["detail"]

        await ok(await c.post(f"{url}/entries", json=[{"sku": "SC-PP", "counted_qty": "60"}]))
        await ok(await c.post(f"{url}/submit"))
        r = await c.post(f"{url}/entries", json=[{"sku": "SC-PP", "counted_qty": "1"}])
        assert r.status_code == 409 and "allowed: approve, cancel" in r.json()["detail"]
        before = await tb(c, on)
        count = await ok(await c.post(f"{url}/cancel", json={"reason": "counted the wrong aisle"}))
        assert count["status"] == "cancelled" and count["cancel_reason"] == "counted the wrong aisle"
        r = await c.post(f"{url}/approve")
        assert r.status_code == 409 and "allowed: none, it is final" in r.json()["detail"]
        assert await tb(c, on) == before
        assert (await ok(await c.get("/api/v1/stock-movements", params={"q": count["number"]})))["total"] == 0
        assert (await c.get(f"{url}/variances")).status_code == 409

        # A new count: a line nobody counted is a 409 naming it, unless booked as counted zero.
        count = await ok(await c.post(SC, json={"location": "RM-WH", "variant_ids": [pp, svc]}), 201)
        assert sorted(_lines(count)) == ["SC-PP"]  # the service is left out
        url = f"{SC}/{count['id']}"
        r = await c.post(f"{url}/entries", json=[{"sku": "SC-SETUP", "counted_qty": "1"}])
        assert r.status_code == 422 and "SC-SETUP is a service" in r.json()["detail"]
        await ok(await c.post(f"{url}/entries", json=[{"sku": "SC-FREE", "counted_qty": "3"}]))
        await ok(await c.post(f"{url}/submit"))
        r = await c.post(f"{url}/approve")
        assert r.status_code == 409 and "not counted: SC-PP" in r.json()["detail"]
        # The found SC-FREE has no stock to average and no buy price: a clear 409, nothing posted.
        r = await c.post(f"{url}/approve", json={"zero_uncounted": True})
        assert r.status_code == 409 and "SC-FREE" in r.json()["detail"] and "buy price" in r.json()["detail"]
        assert await tb(c, on) == before
        free = (await ok(await c.get("/api/v1/products", params={"q": "SC-FREE"})))["items"][0]["id"]
        await ok(await c.patch(f"/api/v1/products/{free}", json={"buy_price": "1000"}))
        count = await ok(await c.post(f"{url}/approve", json={"zero_uncounted": True}))
        lines = _lines(count)
        # SC-PP: counted zero -> -100 x 21,000 = -2,100,000; SC-FREE: +3 x 1,000 = +3,000.
        assert (D(lines["SC-PP"]["adjustment_qty"]), lines["SC-PP"]["adjustment_value"]) == (-100, "-2100000.00")
        assert (D(lines["SC-FREE"]["adjustment_qty"]), lines["SC-FREE"]["adjustment_value"]) == (3, "3000.00")
        after = await tb(c, on)
        assert after["1141"] == D("3000") == (await valuation(c, on))["1141"]
        assert after["5400"] - before.get("5400", D(0)) == D("2097000")

        listed = await ok(await c.get(SC, params={"status": "approved"}))
        assert [x["number"] for x in listed["items"]] == [count["number"]] and listed["total"] == 1
        page = await ok(await c.get(SC, params={"limit": 1}))
        assert page["total"] == 2 and len(page["items"]) == 1 and page["items"][0]["number"] == count["number"]
        assert (await c.get(SC, params={"status": "lost"})).status_code == 422


async def test_another_tenant_cannot_see_or_act_on_a_count(make_tenant, live):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as abc, live.tenant_client("pt-xyz") as xyz, \
            live.tenant_client("pt-abc", role="viewer") as viewer:
        await product(abc, "ABC-SECRET-PP")
        await move(abc, "IN", "ABC-SECRET-PP", 100, to_location="RM-WH", unit_cost="21000")
        count = await ok(await abc.post(SC, json={"location": "RM-WH"}), 201)
        url = f"{SC}/{count['id']}"
        await ok(await abc.post(f"{url}/entries", json=[{"sku": "ABC-SECRET-PP", "counted_qty": "90"}]))
        await ok(await abc.post(f"{url}/submit"))
        for method, path, body in (("GET", url, None), ("GET", f"{url}/variances", None),
                                   ("POST", f"{url}/approve", {"zero_uncounted": True}),
                                   ("POST", f"{url}/cancel", None),
                                   ("POST", f"{url}/entries", [{"sku": "ABC-SECRET-PP", "counted_qty": "1"}])):
            r = await xyz.request(method, path, json=body)
            assert r.status_code == 404 and "ABC-SECRET" not in r.text, (method, path, r.text)
        assert (await ok(await xyz.get(SC)))["total"] == 0
        # inventory.read may look, not act.
        assert (await viewer.get(url)).status_code == 200
        r = await viewer.post(f"{url}/approve")
        assert r.status_code == 403 and "inventory.write" in r.json()["detail"]
        assert (await ok(await abc.get(url)))["status"] == "counted"


async def test_a_count_below_what_open_orders_reserve_says_so_and_posts_nothing(make_tenant, live):
    """Counting away stock that open orders hold would leave them counting on stock that is not there: the
    approval is refused naming the reservation; once it is released the same count approves."""
    await make_tenant("pt-abc")
    on = today().isoformat()
    async with live.tenant_client("pt-abc") as c:
        await product(c, "SC-RES", buy_price="20000")
        await move(c, "IN", "SC-RES", 100, to_location="RM-WH", unit_cost="20000")  # 2,000,000
        hold = {"sku": "SC-RES", "location": "RM-WH", "quantity": "40"}
        await ok(await c.post("/api/v1/stock/reservations", json=hold))
        count = await ok(await c.post(SC, json={"location": "RM-WH"}), 201)
        await ok(await c.post(f"{SC}/{count['id']}/entries", json=[{"sku": "SC-RES", "counted_qty": "30"}]))
        await ok(await c.post(f"{SC}/{count['id']}/submit"))
        before = await tb(c, on)
        r = await c.post(f"{SC}/{count['id']}/approve", json={})
        assert r.status_code == 409, r.text
        assert "SC-RES counted 30" in r.json()["detail"] and "40 is reserved" in r.json()["detail"]
        assert await tb(c, on) == before
        assert (await ok(await c.get(f"{SC}/{count['id']}")))["status"] == "counted"
        # Released: the loss of 70 kg x 20,000 = 1,400,000 posts (Dr 5400 / Cr 1141).
        await ok(await c.post("/api/v1/stock/reservations/release", json=hold))
        await ok(await c.post(f"{SC}/{count['id']}/approve", json={}))
        after = await tb(c, on)
        assert after["1141"] - before["1141"] == D(-1_400_000)
        assert after["5400"] - before.get("5400", D(0)) == D(1_400_000)
