"""Down-payment invoices: 30 % of an order's DPP billed before delivery (Cr 2160 Uang Muka Penjualan), then
deducted (its DPP and PPN as invoiced) on the invoice of the delivered goods."""

from decimal import Decimal

from tests.erp.sales.helpers import balances, customer, ok, product, receive


async def test_down_payment_invoiced_then_deducted(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang"}), 201)
        bag = await product(c, "WB-50", "Woven bag", "PCS")
        await receive(c, bag, "1000", "1500", "2026-11-02")
        cust = await customer(c, "C-DP", terms=14)
        so = await ok(await c.post("/api/v1/sales-orders", json={
            "customer_id": cust, "order_date": "2026-11-03", "location": "WH",
            "lines": [{"variant_id": bag, "quantity": "1000", "unit_price": "2000"}]}), 201)
        # DPP 2 000 000; DPP nilai lain 1 833 333; PPN 12 % = 220 000; total 2 220 000.
        assert (so["base"], so["tax"], so["total"]) == ("2000000.00", "220000.00", "2220000.00")
        # Not before the order is confirmed.
        r = await c.post("/api/v1/sales-invoices", json={"order_id": so["id"], "invoice_date": "2026-11-03",
                                                         "down_payment_percent": "30"})
        assert r.status_code == 409 and "down payments are invoiced on confirmed orders" in r.text
        await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
        # 30 %: DPP 600 000; DPP nilai lain 550 000; PPN 66 000; total 666 000.
        dp = await ok(await c.post("/api/v1/sales-invoices", json={
            "order_id": so["id"], "invoice_date": "2026-11-03", "down_payment_percent": "30"}), 201)
        assert (dp["is_down_payment"], dp["base"], dp["other_base"], dp["tax"], dp["total"], dp["lines"]) == (
            True, "600000.00", "550000.00", "66000.00", "666000.00", [])
        dp = await ok(await c.post(f"/api/v1/sales-invoices/{dp['id']}/post"))
        assert (dp["number"], dp["open_amount"], dp["due_date"]) == ("SI/2026/00001", "666000.00", "2026-11-17")
        tb = await balances(c)
        assert (tb["1130"], tb["2160"], tb["2130"]) == (Decimal("666000"), Decimal("-600000"), Decimal("-66000"))
        # A second down payment may not take the order's down payments past its DPP (600 000 + 1 400 001).
        r = await c.post("/api/v1/sales-invoices", json={"order_id": so["id"], "invoice_date": "2026-11-03",
                                                         "down_payment_amount": "1400001"})
        assert r.status_code == 409 and "more than its DPP 2000000.00" in r.text
        r = await c.post("/api/v1/sales-invoices", json={"order_id": so["id"], "invoice_date": "2026-11-03",
                                                         "down_payment_amount": "1", "down_payment_percent": "1"})
        assert r.status_code == 422

        # An order with an undeducted down payment is neither cancelled nor closed.
        r = await c.post(f"/api/v1/sales-orders/{so['id']}/cancel")
        assert r.status_code == 409 and "down payments of 600000.00 (DPP) not yet deducted" in r.text
        d = await ok(await c.post("/api/v1/deliveries", json={
            "order_id": so["id"], "delivery_date": "2026-11-05",
            "lines": [{"order_line_id": so["lines"][0]["id"], "quantity": "1000"}]}), 201)
        await ok(await c.post(f"/api/v1/deliveries/{d['id']}/post"))
        inv = await ok(await c.post("/api/v1/sales-invoices",
                                    json={"order_id": so["id"], "invoice_date": "2026-11-06"}), 201)
        # 2 000 000 + 220 000 - (600 000 + 66 000) = 1 554 000 due.
        assert (inv["base"], inv["tax"], inv["dp_base_deducted"], inv["dp_tax_deducted"], inv["total"]) == (
            "2000000.00", "220000.00", "600000.00", "66000.00", "1554000.00")
        inv = await ok(await c.post(f"/api/v1/sales-invoices/{inv['id']}/post"))
        assert inv["open_amount"] == "1554000.00"
        tb = await balances(c)
        # 1130: 666 000 + 1 554 000 = the order's 2 220 000; 2160 cleared; 2130 = the order's PPN; 4100 = DPP.
        assert tb["debit"] == tb["credit"]
        assert (tb["1130"], tb.get("2160", Decimal(0)), tb["2130"], tb["4100"]) == (
            Decimal("2220000"), Decimal(0), Decimal("-220000"), Decimal("-2000000"))
        so = await ok(await c.get(f"/api/v1/sales-orders/{so['id']}"))
        assert (so["status"], so["invoiced_total"], so["dp_base_deducted"]) == ("invoiced", "2220000.00", "600000.00")
        aging = await ok(await c.get("/api/v1/reports/ar-aging", params={"as_of": "2026-11-28"}))
        # The down payment (due 17 Nov) is 11 days late; the invoice (due 20 Nov) 8 days.
        assert aging["rows"][0]["days_1_30"] == "2220000.00" and aging["total"] == "2220000.00"
