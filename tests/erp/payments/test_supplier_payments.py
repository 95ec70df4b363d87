"""Supplier payments with hand-computed figures (two invoices, one partially, a bank charge, PPh 23 we withhold),
cancel re-opens; who may record and read which payments; another tenant's payments and invoices."""

from decimal import Decimal

from tests.erp.payments.helpers import open_amounts, purchase_invoice, sales_invoice, supplier, tb
from tests.erp.sales.helpers import customer, ok, product, receive

D = Decimal
PI = "/api/v1/purchase-invoices"
PAY = "/api/v1/payments/supplier-payments"
RCV = "/api/v1/payments/receipts"


async def _ap_total(c, supplier_id: str) -> Decimal:
    aging = await ok(await c.get("/api/v1/reports/ap-aging", params={"as_of": "2026-11-30"}))
    return sum((D(r["total"]) for r in aging["rows"] if r["partner_id"] == supplier_id), D(0))


async def _setup(c):
    await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
    return (await ok(await c.post("/api/v1/products", json={"sku": "PP-RAF", "name": "PP raffia", "unit": "KG",
                                                            "product_type": "raw_material"}), 201))["variants"][0]["id"]


async def test_supplier_payment_two_invoices_then_cancel(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        pp = await _setup(c)
        sup = await supplier(c, "S-1")
        other = await supplier(c, "S-2")
        # PINV1: 100 x 10 000 = DPP 1 000 000; x 11/12 = 916 667; PPN 12 % = 110 000; total 1 110 000.
        # PINV2: 200 x 10 000 = 2 000 000; 1 833 333; PPN 220 000; total 2 220 000.
        inv1 = await purchase_invoice(c, sup, pp, "100", "10000", "2026-11-05", faktur="0100002600000101")
        inv2 = await purchase_invoice(c, sup, pp, "200", "10000", "2026-11-06", faktur="0100002600000102")
        foreign = await purchase_invoice(c, other, pp, "10", "10000", "2026-11-06", faktur="0100002600000103")
        assert (inv1["total"], inv2["total"]) == ("1110000.00", "2220000.00")
        assert (await tb(c))["2110"] == D(-3_441_000)  # + S-2's 111 000

        base = {"partner_id": sup, "payment_date": "2026-11-20", "account": "1102"}
        # More than PINV2's open amount; another supplier's invoice; an over-payment.
        r = await c.post(PAY, json={**base, "amount": "2220001",
                                    "allocations": [{"invoice_id": inv2["id"], "amount": "2220001"}]})
        assert r.status_code == 409 and "is more than its open amount 2220000.00" in r.text
        r = await c.post(PAY, json={**base, "amount": "111000",
                                    "allocations": [{"invoice_id": foreign["id"], "amount": "111000"}]})
        assert r.status_code == 422 and "belongs to another partner, not S-1" in r.text
        r = await c.post(PAY, json={**base, "amount": "1110001",
                                    "allocations": [{"invoice_id": inv1["id"], "amount": "1110000"}]})
        assert r.status_code == 409 and "over-payment" in r.text
        # A sales invoice is not a supplier's open item.
        r = await c.post(PAY, json={**base, "amount": "1", "allocations": [
            {"invoice_id": "00000000-0000-4000-8000-000000000000", "amount": "1"}]})
        assert r.status_code == 422 and "not a supplier invoice" in r.text

        # PINV1 in full 1 110 000 + PINV2 in part 500 000 = 1 610 000 allocated. We withhold PPh 23 of 20 000
        # (slip BP-OUT-1: the invoice stands for a service) and bear a 6 500 transfer fee.
        # Paid from the bank: 1 610 000 + 6 500 - 20 000 = 1 596 500.
        pay = await ok(await c.post(PAY, json={
            **base, "amount": "1596500", "bank_charges": "6500", "withheld": "20000",
            "withholding_slip_no": "BP-OUT-1", "allocations": [{"invoice_id": inv1["id"], "amount": "1110000"},
                                                               {"invoice_id": inv2["id"], "amount": "500000"}]}), 201)
        assert (pay["number"], pay["direction"], pay["withholding_date"]) == ("PAY/2026/00001", "out", "2026-11-20")
        entry = await ok(await c.get(f"/api/v1/journal-entries/{pay['journal_entry_id']}"))
        # Dr 2110 1 610 000 + Dr 6910 6 500 = Cr 1102 1 596 500 + Cr 2140 20 000.
        assert sorted((ln["account_code"], ln["debit"], ln["credit"]) for ln in entry["lines"]) == [
            ("1102", "0.00", "1596500.00"), ("2110", "1610000.00", "0.00"), ("2140", "0.00", "20000.00"),
            ("6910", "6500.00", "0.00")]
        assert await open_amounts(c, PI, [inv1["id"], inv2["id"]]) == ["0.00", "1720000.00"]
        items = await ok(await c.get(f"{PAY}/open-items", params={"partner_id": sup}))
        assert [(i["number"], i["open_amount"], i["control_account"]) for i in items] == [
            (inv2["number"], "1720000.00", "2110")]
        after = await tb(c)
        # AP: 3 441 000 - 1 610 000 = 1 831 000 == S-1's 1 720 000 + S-2's 111 000.
        assert after["2110"] == D(-1_831_000) and -after["2110"] == await _ap_total(c, sup) + await _ap_total(c, other)
        assert after["2140"] == D(-20_000) and after["debit"] == after["credit"]
        reg = await ok(await c.get("/api/v1/tax/pph23-register", params={"month": "2026-11"}))
        assert [(r["withholding_slip_no"], r["amount"], r["invoices"]) for r in reg["withheld_by_us"]] == [
            ("BP-OUT-1", "20000.00", [inv1["number"], inv2["number"]])]
        assert reg["total_withheld_by_us"] == "20000.00" and reg["withheld_by_customers"] == []

        # Cancel: the reversing journal and both invoices open again.
        done = await ok(await c.post(f"{PAY}/{pay['id']}/cancel", json={"reason": "wrong account"}))
        assert done["status"] == "cancelled" and done["cancel_date"] == "2026-11-20"
        assert await open_amounts(c, PI, [inv1["id"], inv2["id"]]) == ["1110000.00", "2220000.00"]
        final = await tb(c)
        assert final["2110"] == D(-3_441_000) and final.get("2140", D(0)) == 0 and final.get("1102", D(0)) == 0
        assert (await c.post(f"{PAY}/{pay['id']}/cancel")).status_code == 409
        lst = await ok(await c.get(PAY, params={"status": "cancelled"}))
        assert [p["number"] for p in lst["items"]] == ["PAY/2026/00001"]


async def test_who_may_record_and_read_payments_and_another_tenant(make_tenant, live):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as c:
        pp = await _setup(c)
        bag = await product(c, "WB-50", "Woven bag", "PCS")
        await receive(c, bag, "100", "500", "2026-11-02")
        cust = await customer(c, "C-1")
        sup = await supplier(c, "S-1")
        sinv = await sales_invoice(c, cust, bag, "10", "1000", "2026-11-05")  # 11 100
        pinv = await purchase_invoice(c, sup, pp, "10", "1000", "2026-11-05")  # 11 100
    rbody = {"partner_id": cust, "payment_date": "2026-11-20", "account": "1102", "amount": "100",
             "allocations": [{"invoice_id": sinv["id"], "amount": "100"}]}
    pbody = {**rbody, "partner_id": sup, "allocations": [{"invoice_id": pinv["id"], "amount": "100"}]}
    async with live.tenant_client("pt-abc", role="sales") as clerk:
        rcv = await ok(await clerk.post(RCV, json=rbody), 201)
        r = await clerk.post(PAY, json=pbody)
        assert r.status_code == 403 and "does not allow purchasing.write or accounting.write" in r.text
        # The combined list shows a sales clerk the receipts only; no PPh 23 register (accounting.read).
        assert [p["direction"] for p in (await ok(await clerk.get("/api/v1/payments")))["items"]] == ["in"]
        assert (await clerk.get("/api/v1/tax/pph23-register", params={"month": "2026-11"})).status_code == 403
        await ok(await clerk.get("/api/v1/reports/customer-statement", params={"partner": cust}))
    async with live.tenant_client("pt-abc", role="purchasing") as buyer:
        pay = await ok(await buyer.post(PAY, json=pbody), 201)
        r = await buyer.post(RCV, json=rbody)
        assert r.status_code == 403 and "does not allow sales.write or accounting.write" in r.text
    async with live.tenant_client("pt-abc", role="finance") as finance:  # records both, reads the register
        await ok(await finance.post(RCV, json=rbody), 201)
        await ok(await finance.post(PAY, json=pbody), 201)
        await ok(await finance.post(f"{RCV}/{rcv['id']}/cancel"))
        assert (await ok(await finance.get("/api/v1/payments")))["total"] == 4
        await ok(await finance.get("/api/v1/tax/pph23-register", params={"month": "2026-11"}))
    async with live.tenant_client("pt-abc", role="warehouse") as wh:  # reads sales and purchasing, writes neither
        assert (await ok(await wh.get(RCV)))["total"] == 2
        assert (await wh.post(RCV, json=rbody)).status_code == 403
        assert (await wh.post(f"{PAY}/{pay['id']}/cancel")).status_code == 403
    async with live.tenant_client("pt-abc", role="production") as prod:
        for path in (RCV, PAY, "/api/v1/payments"):
            assert (await prod.get(path)).status_code == 403, path
        r = await prod.get("/api/v1/reports/customer-statement", params={"partner": cust})
        assert r.status_code == 403
    # pt-xyz sees none of it and cannot act on it; pt-abc's partners and invoices are unknown there.
    async with live.tenant_client("pt-xyz") as other:
        assert (await ok(await other.get("/api/v1/payments")))["total"] == 0
        for method, path in (("GET", f"{RCV}/{rcv['id']}"), ("POST", f"{RCV}/{rcv['id']}/cancel"),
                             ("GET", f"{PAY}/{pay['id']}"), ("POST", f"{PAY}/{pay['id']}/cancel")):
            r = await other.request(method, path)
            assert r.status_code == 404 and "C-1" not in r.text and "S-1" not in r.text, (method, path, r.text)
        assert (await other.post(RCV, json=rbody)).status_code == 404  # partner not found
        r = await other.get("/api/v1/reports/customer-statement", params={"partner": cust})
        assert r.status_code == 404
    async with live.tenant_client("pt-abc") as c:
        assert (await ok(await c.get(f"{PAY}/{pay['id']}")))["status"] == "posted"
        assert await open_amounts(c, PI, [pinv["id"]]) == ["10900.00"]
