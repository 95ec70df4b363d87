"""A delivery's cost follows its stock issue: a backdated receipt at another cost re-costs the issue (inventory
re-values the movement and journals the difference to HPP), and the delivery then reports the new cost."""

from decimal import Decimal

from tests.erp.sales.helpers import balances, customer, ok, product, receive

D = Decimal


async def test_delivery_cost_after_a_backdated_receipt_re_costs_it(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
        bag = await product(c, "WB-50", "Woven bag 50kg", "PCS")
        await receive(c, bag, "100", "500", "2026-11-01")
        cust = await customer(c, "C-1")
        so = await ok(await c.post("/api/v1/sales-orders", json={
            "customer_id": cust, "order_date": "2026-11-10", "location": "WH",
            "lines": [{"variant_id": bag, "quantity": "50", "unit_price": "1000"}]}), 201)
        so = await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
        d = await ok(await c.post("/api/v1/deliveries", json={
            "order_id": so["id"], "delivery_date": "2026-11-10",
            "lines": [{"order_line_id": so["lines"][0]["id"], "quantity": "50"}]}), 201)
        d = await ok(await c.post(f"/api/v1/deliveries/{d['id']}/post"))
        # At posting: 50 x 500 = 25 000.
        assert d["lines"][0]["cost"] == "25000.00"
        # Backdated receipt on 5 Nov: 100 x 800. On 10 Nov the average is (50 000 + 80 000) / 200 = 650: the
        # issue becomes 50 x 650 = 32 500 (re-costing journal Dr 5100 7 500 / Cr inventory on 10 Nov).
        await receive(c, bag, "100", "800", "2026-11-05")
        got = await ok(await c.get(f"/api/v1/deliveries/{d['id']}"))
        movement = await ok(await c.get(f"/api/v1/stock-movements/{got['lines'][0]['movement_id']}"))
        assert got["lines"][0]["cost"] == "32500.00"
        assert D(movement["value"]) == D(-32_500)
        assert (await balances(c, "2026-11-10"))["5100"] == D(32_500)  # 25 000 at posting + 7 500 re-costed
        listed = await ok(await c.get("/api/v1/deliveries", params={"order_id": so["id"]}))
        assert [ln["cost"] for ln in listed["items"][0]["lines"]] == ["32500.00"]
