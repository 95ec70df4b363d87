"""The AR aging as of a past date: open amounts as they stood on that date (invoice total less receipts and
credit notes dated up to it, a receipt cancelled later still counting), bucketed by days past due on it, and
equal to 1130 in the trial balance to that date; as of today (or no date) it is today's open amounts."""

from decimal import Decimal

from tests.erp.payments.helpers import purchase_invoice, sales_invoice, supplier, tb
from tests.erp.sales.helpers import customer, ok, product, receive

D = Decimal
SI = "/api/v1/sales-invoices"
RCV = "/api/v1/payments/receipts"
AGING = "/api/v1/reports/ar-aging"
AP_AGING = "/api/v1/reports/ap-aging"
PAY = "/api/v1/payments/supplier-payments"


async def _aging(c, on: str | None = None) -> dict:
    return await ok(await c.get(AGING, params={"as_of": on} if on else {}))


def _figures(aging: dict) -> tuple:
    t = aging["totals"]
    return (aging["total"], t["current"], t["days_1_30"], t["days_31_60"])


async def test_ar_aging_as_of_past_dates_matches_the_ledger(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
        bag = await product(c, "WB-50", "Woven bag 50kg", "PCS")
        await receive(c, bag, "10000", "500", "2026-10-01")
        cust = await customer(c, "C-1", terms=14)
        # INV1 10 Oct: 1 000 x 1 000 -> total 1 110 000 (DPP 916 667 x 12 % = 110 000), due 24 Oct.
        # INV2 15 Oct: 2 000 x 1 000 -> total 2 220 000, due 29 Oct.
        inv1 = await sales_invoice(c, cust, bag, "1000", "1000", "2026-10-10")
        inv2 = await sales_invoice(c, cust, bag, "2000", "1000", "2026-10-15")
        assert (inv1["due_date"], inv1["total"], inv2["due_date"], inv2["total"]) == (
            "2026-10-24", "1110000.00", "2026-10-29", "2220000.00")
        # Receipt 1 000 000 on INV2 dated 20 Oct, cancelled (bounced) on 10 Nov.
        bounced = await ok(await c.post(RCV, json={
            "partner_id": cust, "payment_date": "2026-10-20", "account": "1102", "amount": "1000000",
            "allocations": [{"invoice_id": inv2["id"], "amount": "1000000"}]}), 201)
        # Receipt 500 000 on INV1 dated 5 Nov.
        await ok(await c.post(RCV, json={
            "partner_id": cust, "payment_date": "2026-11-05", "account": "1102", "amount": "500000",
            "allocations": [{"invoice_id": inv1["id"], "amount": "500000"}]}), 201)
        # Return of 100 bags of INV2 dated 3 Nov: DPP 100 000 -> 91 667 x 12 % = 11 000; credit note 111 000,
        # applied to INV2 at once (INV2 had 1 220 000 open then).
        deliveries = (await ok(await c.get("/api/v1/deliveries", params={"customer_id": cust})))["items"]
        line = next(d for d in deliveries if d["order_id"] == inv2["order_id"])["lines"][0]["id"]
        ret = await ok(await c.post("/api/v1/sales-returns", json={
            "invoice_id": inv2["id"], "return_date": "2026-11-03", "location": "WH",
            "lines": [{"delivery_line_id": line, "quantity": "100"}]}), 201)
        ret = await ok(await c.post(f"/api/v1/sales-returns/{ret['id']}/post"))
        cn = await ok(await c.get(f"/api/v1/credit-notes/{ret['credit_note_id']}"))
        assert (cn["total"], cn["open_amount"]) == ("111000.00", "0.00")
        await ok(await c.post(f"{RCV}/{bounced['id']}/cancel", json={"cancel_date": "2026-11-10"}))

        # Today (29 Nov): INV1 1 110 000 - 500 000 = 610 000; INV2 2 220 000 - 111 000 = 2 109 000 (the bounced
        # receipt re-opened it). Both are more than 30 days late (24 Oct -> 36 days, 29 Oct -> 31 days).
        today = await _aging(c)
        assert [(await ok(await c.get(f"{SI}/{i}")))["open_amount"] for i in (inv1["id"], inv2["id"])] == [
            "610000.00", "2109000.00"]
        assert _figures(today) == ("2719000.00", "0.00", "0.00", "2719000.00")
        assert await _aging(c, today["as_of"]) == today
        assert (await tb(c, today["as_of"]))["1130"] == D(2_719_000)

        # 31 Oct: INV1 not yet paid -> 1 110 000, 7 days late; INV2 2 220 000 - 1 000 000 (the receipt, not
        # yet bounced) = 1 220 000, 2 days late; the credit note is later. Total 2 330 000 == 1130 on 31 Oct.
        october = await _aging(c, "2026-10-31")
        assert _figures(october) == ("2330000.00", "0.00", "2330000.00", "0.00")
        assert (await tb(c, "2026-10-31"))["1130"] == D(2_330_000)
        # 20 Oct: INV1 1 110 000 current (due 24 Oct); INV2 1 220 000 current. 19 Oct: INV2 still whole.
        assert _figures(await _aging(c, "2026-10-20")) == ("2330000.00", "2330000.00", "0.00", "0.00")
        assert _figures(await _aging(c, "2026-10-19")) == ("3330000.00", "3330000.00", "0.00", "0.00")
        assert (await tb(c, "2026-10-19"))["1130"] == D(3_330_000)
        # 4 Nov: the credit note (3 Nov) is in: INV2 1 220 000 - 111 000 = 1 109 000; INV1 1 110 000.
        nov4 = await _aging(c, "2026-11-04")
        assert _figures(nov4) == ("2219000.00", "0.00", "2219000.00", "0.00")
        assert (await tb(c, "2026-11-04"))["1130"] == D(2_219_000)
        # 7 Nov: INV1 paid 500 000 -> 610 000; INV2 still 1 109 000 (bounced on 10 Nov). 10 Nov: 2 719 000.
        assert (await _aging(c, "2026-11-07"))["total"] == "1719000.00" == f"{(await tb(c, '2026-11-07'))['1130']:.2f}"
        assert (await _aging(c, "2026-11-10"))["total"] == "2719000.00"
        # Before the first invoice: nothing.
        assert (await _aging(c, "2026-10-09"))["rows"] == []


async def test_ar_aging_as_of_with_an_open_credit_note(make_tenant, live):
    """A credit note left open (its invoice was paid) counts negative until a receipt uses it."""
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
        bag = await product(c, "WB-50", "Woven bag 50kg", "PCS")
        await receive(c, bag, "10000", "500", "2026-11-02")
        cust = await customer(c, "C-1")
        inv1 = await sales_invoice(c, cust, bag, "1000", "1000", "2026-11-05")  # 1 110 000
        await ok(await c.post(RCV, json={"partner_id": cust, "payment_date": "2026-11-06", "account": "1101",
                                         "amount": "1110000",
                                         "allocations": [{"invoice_id": inv1["id"], "amount": "1110000"}]}), 201)
        deliveries = (await ok(await c.get("/api/v1/deliveries", params={"customer_id": cust})))["items"]
        ret = await ok(await c.post("/api/v1/sales-returns", json={
            "invoice_id": inv1["id"], "return_date": "2026-11-07", "location": "WH",
            "lines": [{"delivery_line_id": deliveries[0]["lines"][0]["id"], "quantity": "100"}]}), 201)
        ret = await ok(await c.post(f"/api/v1/sales-returns/{ret['id']}/post"))
        cn_id = ret["credit_note_id"]  # 111 000, all open (INV1 was paid)
        inv2 = await sales_invoice(c, cust, bag, "2000", "1000", "2026-11-08")  # 2 220 000
        await ok(await c.post(RCV, json={"partner_id": cust, "payment_date": "2026-11-09", "account": "1102",
                                         "amount": "2109000", "allocations": [
                                             {"invoice_id": inv2["id"], "amount": "2220000"},
                                             {"invoice_id": cn_id, "amount": "-111000"}]}), 201)
        assert (await _aging(c))["rows"] == []
        # 8 Nov: INV2 2 220 000 less the open credit 111 000 = 2 109 000 == 1130 on 8 Nov.
        nov8 = await _aging(c, "2026-11-08")
        assert nov8["total"] == "2109000.00" and (await tb(c, "2026-11-08"))["1130"] == D(2_109_000)
        # 7 Nov: only the credit note, -111 000 == 1130 on 7 Nov; 6 Nov: nothing open.
        assert (await _aging(c, "2026-11-07"))["total"] == "-111000.00" == f"{(await tb(c, '2026-11-07'))['1130']:.2f}"
        assert (await _aging(c, "2026-11-06"))["rows"] == []


async def test_ap_aging_as_of_past_dates_matches_the_ledger(make_tenant, live):
    """The same for supplier invoices: payments (one cancelled later) and a debit note added back after the date."""
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
        pp = (await ok(await c.post("/api/v1/products", json={
            "sku": "PP-RAF", "name": "PP raffia", "unit": "KG", "product_type": "raw_material"}), 201))[
            "variants"][0]["id"]
        sup = await supplier(c, "S-1")  # 30 days
        # PINV1 10 Oct: 100 x 10 000 -> total 1 110 000, due 9 Nov. PINV2 15 Oct: 200 x 10 000 -> 2 220 000, due
        # 14 Nov.
        inv1 = await purchase_invoice(c, sup, pp, "100", "10000", "2026-10-10", faktur="0100002600000101")
        inv2 = await purchase_invoice(c, sup, pp, "200", "10000", "2026-10-15", faktur="0100002600000102")
        assert (inv1["due_date"], inv1["total"], inv2["due_date"], inv2["total"]) == (
            "2026-11-09", "1110000.00", "2026-11-14", "2220000.00")
        bounced = await ok(await c.post(PAY, json={
            "partner_id": sup, "payment_date": "2026-10-20", "account": "1102", "amount": "1000000",
            "allocations": [{"invoice_id": inv2["id"], "amount": "1000000"}]}), 201)
        await ok(await c.post(PAY, json={
            "partner_id": sup, "payment_date": "2026-11-05", "account": "1102", "amount": "500000",
            "allocations": [{"invoice_id": inv1["id"], "amount": "500000"}]}), 201)
        # Return 10 KG of PINV2 on 3 Nov: debit note 100 000 -> DPP 91 667, PPN 11 000: 111 000 off PINV2.
        ret = await ok(await c.post("/api/v1/purchase-returns", json={
            "order_id": inv2["order_id"], "location": "WH", "return_date": "2026-11-03",
            "lines": [{"order_line_id": inv2["lines"][0]["order_line_id"], "quantity": "10"}]}), 201)
        assert ret["debit_total"] == "111000.00"
        await ok(await c.post(f"{PAY}/{bounced['id']}/cancel", json={"cancel_date": "2026-11-10"}))

        async def aging(on=None):
            return await ok(await c.get(AP_AGING, params={"as_of": on} if on else {}))

        # Today (29 Nov): PINV1 610 000 (20 days late), PINV2 2 220 000 - 111 000 = 2 109 000 (15 days late).
        today = await aging()
        assert (today["totals"]["total"], today["totals"]["days_1_30"]) == ("2719000.00", "2719000.00")
        assert await aging(today["as_of"]) == today
        assert (await tb(c, today["as_of"]))["2110"] == D(-2_719_000)
        # 31 Oct: 1 110 000 + (2 220 000 - 1 000 000) = 2 330 000, both current == 2110 on 31 Oct.
        october = await aging("2026-10-31")
        assert (october["totals"]["total"], october["totals"]["current"]) == ("2330000.00", "2330000.00")
        assert (await tb(c, "2026-10-31"))["2110"] == D(-2_330_000)
        # 4 Nov: the debit note: 1 110 000 + 1 109 000; 7 Nov: PINV1 paid 500 000 -> 1 719 000; 10 Nov: bounced.
        for on, total in (("2026-11-04", 2_219_000), ("2026-11-07", 1_719_000), ("2026-11-10", 2_719_000),
                          ("2026-10-19", 3_330_000)):
            assert (await aging(on))["totals"]["total"] == f"{total}.00", on
            assert (await tb(c, on))["2110"] == -total, on
        assert (await aging("2026-10-09"))["rows"] == []


async def test_ap_aging_as_of_a_debit_note_spread_over_two_invoices_of_one_order(make_tenant, live):
    """A debit note took PINV-A whole and part of PINV-B (oldest first); before its date both are whole again,
    each in its own bucket."""
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
        pp = (await ok(await c.post("/api/v1/products", json={
            "sku": "PP-RAF", "name": "PP raffia", "unit": "KG", "product_type": "raw_material"}), 201))[
            "variants"][0]["id"]
        sup = await supplier(c, "S-1")  # 30 days
        po = await ok(await c.post("/api/v1/purchase-orders", json={
            "partner_id": sup, "order_date": "2026-10-01",
            "lines": [{"variant_id": pp, "quantity": "300", "unit_price": "10000"}]}), 201)
        po = await ok(await c.post(f"/api/v1/purchase-orders/{po['id']}/approve"))
        line = po["lines"][0]["id"]
        await ok(await c.post("/api/v1/goods-receipts", json={
            "order_id": po["id"], "location": "WH", "receipt_date": "2026-10-01",
            "lines": [{"order_line_id": line, "quantity": "300"}]}), 201)
        ids = []
        for on, quantity, faktur in (("2026-10-01", "100", "0100002600000201"),
                                     ("2026-10-15", "200", "0100002600000202")):
            inv = await ok(await c.post("/api/v1/purchase-invoices", json={
                "order_id": po["id"], "invoice_date": on, "tax_invoice_no": faktur,
                "lines": [{"order_line_id": line, "quantity": quantity}]}), 201)
            ids.append((await ok(await c.post(f"/api/v1/purchase-invoices/{inv['id']}/post")))["id"])
        # PINV-A 1 110 000 due 31 Oct; PINV-B 2 220 000 due 14 Nov. Return 150 KG on 3 Nov: 1 500 000 -> DPP
        # 1 375 000, PPN 165 000: debit note 1 665 000 = PINV-A's 1 110 000 + 555 000 of PINV-B.
        ret = await ok(await c.post("/api/v1/purchase-returns", json={
            "order_id": po["id"], "location": "WH", "return_date": "2026-11-03",
            "lines": [{"order_line_id": line, "quantity": "150"}]}), 201)
        assert ret["debit_total"] == "1665000.00"
        assert [(await ok(await c.get(f"/api/v1/purchase-invoices/{i}")))["open_amount"] for i in ids] == [
            "0.00", "1665000.00"]
        # 2 Nov: PINV-A 1 110 000 two days late, PINV-B 2 220 000 current; 3 330 000 == 2110 on 2 Nov.
        nov2 = (await ok(await c.get(AP_AGING, params={"as_of": "2026-11-02"})))["totals"]
        assert (nov2["current"], nov2["days_1_30"], nov2["total"]) == ("2220000.00", "1110000.00", "3330000.00")
        assert (await tb(c, "2026-11-02"))["2110"] == D(-3_330_000)
        # 3 Nov: PINV-B 1 665 000 only (current) == 2110 on 3 Nov.
        nov3 = (await ok(await c.get(AP_AGING, params={"as_of": "2026-11-03"})))["totals"]
        assert (nov3["current"], nov3["days_1_30"], nov3["total"]) == ("1665000.00", "0.00", "1665000.00")
        assert (await tb(c, "2026-11-03"))["2110"] == D(-1_665_000)
