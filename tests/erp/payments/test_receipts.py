"""Customer receipts with hand-computed figures: two invoices paid by one receipt (one partially) with PPh 23
withheld by the customer and a bank charge; the journal, the invoices' open amounts, 1130 == open items, 1171 ==
withheld; the customer statement and the PPh 23 register; cancel re-opens; the refusals (more than open, an
over-payment, another customer's invoice, a closed period, a non-bank account); a credit note used in a receipt;
two receipts racing for the same open amount over real concurrent HTTP."""

import asyncio
from decimal import Decimal

from tests.erp.payments.helpers import open_amounts, sales_invoice, tb
from tests.erp.sales.helpers import customer, ok, product, receive

D = Decimal
SI = "/api/v1/sales-invoices"
RCV = "/api/v1/payments/receipts"


async def _setup(c):
    await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
    bag = await product(c, "WB-50", "Woven bag 50kg", "PCS")
    await receive(c, bag, "10000", "500", "2026-11-02")
    return bag


async def _open_items_total(c, customer_id: str) -> Decimal:
    aging = await ok(await c.get("/api/v1/reports/ar-aging", params={"as_of": "2026-11-30"}))
    return sum((D(r["total"]) for r in aging["rows"] if r["partner_id"] == customer_id), D(0))


async def test_receipt_two_invoices_pph23_and_bank_charge_then_cancel(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        bag = await _setup(c)
        cust = await customer(c, "C-1", terms=30)
        # INV1: 1 000 x 1 000 = DPP 1 000 000; x 11/12 = 916 666.67 -> 916 667; PPN 12 % = 110 000.04 -> 110 000;
        # total 1 110 000. INV2: 2 000 x 1 000 = 2 000 000; 1 833 333.33 -> 1 833 333; PPN 219 999.96 -> 220 000;
        # total 2 220 000.
        inv1 = await sales_invoice(c, cust, bag, "1000", "1000", "2026-11-05")
        inv2 = await sales_invoice(c, cust, bag, "2000", "1000", "2026-11-06")
        assert (inv1["total"], inv2["total"]) == ("1110000.00", "2220000.00")
        before = await tb(c)
        assert before["1130"] == D(3_330_000)

        # Receipt: INV1 in full (1 110 000) and INV2 in part (1 000 000) = 2 110 000 allocated. The customer
        # withheld PPh 23 of 2 % x DPP 1 000 000 = 20 000 on INV1 (slip BP-0001); the bank took 6 500.
        # Received: 2 110 000 - 20 000 - 6 500 = 2 083 500.
        body = {"partner_id": cust, "payment_date": "2026-11-20", "account": "1102", "amount": "2083500",
                "bank_charges": "6500", "withheld": "20000", "withholding_slip_no": "BP-0001",
                "withholding_date": "2026-11-19", "reference": "TRF BCA 778",
                "allocations": [{"invoice_id": inv2["id"], "amount": "1000000"},
                                {"invoice_id": inv1["id"], "amount": "1110000"}]}
        rcv = await ok(await c.post(RCV, json=body), 201)
        assert (rcv["number"], rcv["status"], rcv["direction"]) == ("RCV/2026/00001", "posted", "in")
        assert (rcv["amount"], rcv["allocated"], rcv["bank_charges"], rcv["withheld"]) == (
            "2083500.00", "2110000.00", "6500.00", "20000.00")
        # Allocations listed by invoice date.
        assert [(a["invoice_number"], a["amount"]) for a in rcv["allocations"]] == [
            (inv1["number"], "1110000.00"), (inv2["number"], "1000000.00")]
        entry = await ok(await c.get(f"/api/v1/journal-entries/{rcv['journal_entry_id']}"))
        assert entry["number"] == "RCV/2026/00001" and entry["entry_date"] == "2026-11-20"
        # Dr 1102 2 083 500 + Dr 6910 6 500 + Dr 1171 20 000 = Cr 1130 2 110 000.
        assert sorted((ln["account_code"], ln["debit"], ln["credit"]) for ln in entry["lines"]) == [
            ("1102", "2083500.00", "0.00"), ("1130", "0.00", "2110000.00"), ("1171", "20000.00", "0.00"),
            ("6910", "6500.00", "0.00")]
        assert await open_amounts(c, SI, [inv1["id"], inv2["id"]]) == ["0.00", "1220000.00"]
        assert [(await ok(await c.get(f"{SI}/{i}")))["status"] for i in (inv1["id"], inv2["id"])] == [
            "paid", "partially_paid"]
        after = await tb(c)
        assert after["1130"] == D(1_220_000) == await _open_items_total(c, cust)
        assert after["1171"] == D(20_000) and after["6910"] == D(6_500)
        assert after["1102"] - before.get("1102", D(0)) == D(2_083_500)
        assert after["debit"] == after["credit"]

        # Statement for November: opening 0; INV1 +1 110 000, INV2 +2 220 000, the receipt -2 110 000;
        # closing 1 220 000 == the open items.
        st = await ok(await c.get("/api/v1/reports/customer-statement",
                                  params={"partner": cust, "from": "2026-11-01", "to": "2026-11-30"}))
        assert st["opening_balance"] == "0.00" and st["closing_balance"] == "1220000.00"
        assert [(ln["kind"], ln["number"], ln["debit"], ln["credit"], ln["balance"]) for ln in st["lines"]] == [
            ("invoice", inv1["number"], "1110000.00", "0.00", "1110000.00"),
            ("invoice", inv2["number"], "2220000.00", "0.00", "3330000.00"),
            ("receipt", "RCV/2026/00001", "0.00", "2110000.00", "1220000.00")]
        # From the 10th: the two invoices are the opening balance.
        st = await ok(await c.get("/api/v1/reports/customer-statement",
                                  params={"partner": cust, "from": "2026-11-10", "to": "2026-11-30"}))
        assert (st["opening_balance"], len(st["lines"]), st["closing_balance"]) == ("3330000.00", 1, "1220000.00")
        r = await c.get("/api/v1/reports/customer-statement",
                        params={"partner": cust, "from": "2026-11-30", "to": "2026-11-01"})
        assert r.status_code == 422

        # PPh 23 register for November (slip dated 19 Nov).
        reg = await ok(await c.get("/api/v1/tax/pph23-register", params={"month": "2026-11"}))
        assert reg["total_withheld_by_customers"] == "20000.00" and reg["withheld_by_us"] == []
        row = reg["withheld_by_customers"][0]
        assert (row["withholding_slip_no"], row["withholding_date"], row["amount"], row["partner_npwp"]) == (
            "BP-0001", "2026-11-19", "20000.00", "0012345678901000")
        assert (await c.get("/api/v1/tax/pph23-register", params={"month": "2026-13"})).status_code == 422
        assert (await ok(await c.get("/api/v1/tax/pph23-register", params={"month": "2026-12"})))[
            "withheld_by_customers"] == []

        # A posted receipt is not edited; it is cancelled by a reversing journal, re-opening the invoices.
        assert (await c.put(f"{RCV}/{rcv['id']}", json=body)).status_code == 405
        r = await c.post(f"{RCV}/{rcv['id']}/cancel", json={"cancel_date": "2026-11-19"})
        assert r.status_code == 422 and "before the receipt" in r.text
        cancelled = await ok(await c.post(f"{RCV}/{rcv['id']}/cancel", json={"cancel_date": "2026-11-25",
                                                                            "reason": "bounced"}))
        assert (cancelled["status"], cancelled["cancel_date"]) == ("cancelled", "2026-11-25")
        rev = await ok(await c.get(f"/api/v1/journal-entries/{cancelled['cancel_entry_id']}"))
        assert rev["number"] == "PMX/2026/00001" and rev["entry_date"] == "2026-11-25"
        assert sorted((ln["account_code"], ln["debit"], ln["credit"]) for ln in rev["lines"]) == [
            ("1102", "0.00", "2083500.00"), ("1130", "2110000.00", "0.00"), ("1171", "0.00", "20000.00"),
            ("6910", "0.00", "6500.00")]
        assert await open_amounts(c, SI, [inv1["id"], inv2["id"]]) == ["1110000.00", "2220000.00"]
        r = await c.post(f"{RCV}/{rcv['id']}/cancel")
        assert r.status_code == 409 and "RCV/2026/00001 is already cancelled" in r.text
        # Its journal cannot be reversed by hand either (it belongs to the payment).
        assert (await c.post(f"/api/v1/journal-entries/{rcv['journal_entry_id']}/reverse", json={})).status_code == 409
        final = await tb(c)
        assert final["1130"] == D(3_330_000) == await _open_items_total(c, cust)
        assert final["1171"] == 0 and final["6910"] == 0 and final["debit"] == final["credit"]
        # The statement shows the receipt and its cancellation; the register leaves the cancelled slip out.
        st = await ok(await c.get("/api/v1/reports/customer-statement",
                                  params={"partner": cust, "from": "2026-11-01", "to": "2026-11-30"}))
        assert [ln["kind"] for ln in st["lines"]][-2:] == ["receipt", "receipt_cancelled"]
        assert st["closing_balance"] == "3330000.00"
        assert (await ok(await c.get("/api/v1/tax/pph23-register", params={"month": "2026-11"})))[
            "withheld_by_customers"] == []
        # Numbers stay gap-free: the next receipt is 00002.
        again = await ok(await c.post(RCV, json={**body, "payment_date": "2026-11-26"}), 201)
        assert again["number"] == "RCV/2026/00002"


async def test_receipt_refusals(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        bag = await _setup(c)
        cust = await customer(c, "C-1")
        other = await customer(c, "C-2")
        inv = await sales_invoice(c, cust, bag, "1000", "1000", "2026-11-05")  # total 1 110 000
        foreign = await sales_invoice(c, other, bag, "1000", "1000", "2026-11-05")
        base = {"partner_id": cust, "payment_date": "2026-11-20", "account": "1102"}
        before = await tb(c)

        # More than the invoice's open amount: 409 with the figures.
        r = await c.post(RCV, json={**base, "amount": "1110001",
                                    "allocations": [{"invoice_id": inv["id"], "amount": "1110001"}]})
        assert r.status_code == 409, r.text
        assert f"allocating 1110001.00 to {inv['number']} is more than its open amount 1110000.00" in r.json()["detail"]
        # An over-payment: received more than the allocations settle.
        r = await c.post(RCV, json={**base, "amount": "1200000",
                                    "allocations": [{"invoice_id": inv["id"], "amount": "1110000"}]})
        assert r.status_code == 409 and "over-payment is not recorded" in r.json()["detail"]
        assert "allocated 1110000.00 - bank charges 0.00 - PPh 23 withheld 0.00 = 1110000.00" in r.json()["detail"]
        # Less than the allocations minus charges and withholding.
        r = await c.post(RCV, json={**base, "amount": "1000000", "bank_charges": "5000",
                                    "allocations": [{"invoice_id": inv["id"], "amount": "1110000"}]})
        assert r.status_code == 422 and "does not cover the allocations" in r.text
        # Another customer's invoice.
        r = await c.post(RCV, json={**base, "amount": "1110000",
                                    "allocations": [{"invoice_id": foreign["id"], "amount": "1110000"}]})
        assert r.status_code == 422 and "belongs to another partner, not C-1" in r.text
        # Not a cash or bank account; a withholding without its slip; an unknown invoice.
        r = await c.post(RCV, json={**base, "account": "1130", "amount": "1110000",
                                    "allocations": [{"invoice_id": inv["id"], "amount": "1110000"}]})
        assert r.status_code == 422 and "not an active cash or bank account" in r.text
        r = await c.post(RCV, json={**base, "amount": "1090000", "withheld": "20000",
                                    "allocations": [{"invoice_id": inv["id"], "amount": "1110000"}]})
        assert r.status_code == 422 and "bukti potong" in r.text
        r = await c.post(RCV, json={**base, "amount": "1", "allocations": [
            {"invoice_id": "00000000-0000-4000-8000-000000000000", "amount": "1"}]})
        assert r.status_code == 422 and "not a sales invoice or credit note" in r.text
        r = await c.post(RCV, json={**base, "amount": "1109999.50", "bank_charges": "0.50",
                                    "allocations": [{"invoice_id": inv["id"], "amount": "1110000"}]})
        assert r.status_code == 422 and "whole rupiah" in r.text
        # Dated before the invoice; into closed books.
        r = await c.post(RCV, json={**base, "payment_date": "2026-11-04", "amount": "1",
                                    "allocations": [{"invoice_id": inv["id"], "amount": "1"}]})
        assert r.status_code == 422 and "after the payment" in r.text
        await ok(await c.put("/api/v1/lock-date", json={"books_closed_through": "2026-11-20"}))
        r = await c.post(RCV, json={**base, "amount": "1110000",
                                    "allocations": [{"invoice_id": inv["id"], "amount": "1110000"}]})
        assert r.status_code == 409 and "the books are closed through 2026-11-20" in r.text
        # Nothing of the refusals was written: no receipt, no number, the ledger as before.
        assert (await ok(await c.get(RCV)))["total"] == 0
        assert await tb(c) == before
        assert await open_amounts(c, SI, [inv["id"]]) == ["1110000.00"]
        # After the lock date it goes through, as RCV/2026/00001.
        rcv = await ok(await c.post(RCV, json={**base, "payment_date": "2026-11-21", "amount": "1110000",
                                               "allocations": [{"invoice_id": inv["id"], "amount": "1110000"}]}), 201)
        assert rcv["number"] == "RCV/2026/00001"
        # Cancelling on its own date works; into the closed period it would not.
        await ok(await c.put("/api/v1/lock-date", json={"books_closed_through": "2026-11-21"}))
        r = await c.post(f"{RCV}/{rcv['id']}/cancel")
        assert r.status_code == 409 and "the books are closed through 2026-11-21" in r.text
        assert await open_amounts(c, SI, [inv["id"]]) == ["0.00"]
        # The receipts of one direction are not reachable through the other.
        assert (await c.get(f"/api/v1/payments/supplier-payments/{rcv['id']}")).status_code == 404


async def test_credit_note_used_in_a_receipt(make_tenant, live):
    """A return after payment leaves a credit note open (a negative open item); the next receipt uses it."""
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        bag = await _setup(c)
        cust = await customer(c, "C-1")
        inv1 = await sales_invoice(c, cust, bag, "1000", "1000", "2026-11-05")  # 1 110 000
        await ok(await c.post(RCV, json={"partner_id": cust, "payment_date": "2026-11-06", "account": "1101",
                                         "amount": "1110000",
                                         "allocations": [{"invoice_id": inv1["id"], "amount": "1110000"}]}), 201)
        # Return 100 of INV1's bags: DPP 100 000; x 11/12 = 91 666.67 -> 91 667; PPN 11 000.04 -> 11 000; CN
        # 111 000, all of it open (INV1 is paid).
        so_line = (await ok(await c.get(f"{SI}/{inv1['id']}")))
        deliveries = (await ok(await c.get("/api/v1/deliveries", params={"customer_id": cust})))["items"]
        ret = await ok(await c.post("/api/v1/sales-returns", json={
            "invoice_id": inv1["id"], "return_date": "2026-11-07", "location": "WH",
            "lines": [{"delivery_line_id": deliveries[0]["lines"][0]["id"], "quantity": "100"}]}), 201)
        ret = await ok(await c.post(f"/api/v1/sales-returns/{ret['id']}/post"))
        cn = await ok(await c.get(f"/api/v1/credit-notes/{ret['credit_note_id']}"))
        assert (cn["total"], cn["open_amount"], so_line["status"]) == ("111000.00", "111000.00", "paid")
        inv2 = await sales_invoice(c, cust, bag, "2000", "1000", "2026-11-08")  # 2 220 000
        items = await ok(await c.get(f"{RCV}/open-items", params={"partner_id": cust}))
        assert [(i["number"], i["kind"], i["open_amount"]) for i in items] == [
            (cn["number"], "credit_note", "-111000.00"), (inv2["number"], "invoice", "2220000.00")]
        # Receipt: INV2 2 220 000 less the credit 111 000 = 2 109 000 allocated and received.
        r = await c.post(RCV, json={"partner_id": cust, "payment_date": "2026-11-09", "account": "1102",
                                    "amount": "2109000", "allocations": [
                                        {"invoice_id": inv2["id"], "amount": "2220000"},
                                        {"invoice_id": cn["id"], "amount": "-111001"}]})
        assert r.status_code == 409 and "more than its open credit 111000.00" in r.text
        rcv = await ok(await c.post(RCV, json={"partner_id": cust, "payment_date": "2026-11-09", "account": "1102",
                                               "amount": "2109000", "allocations": [
                                                   {"invoice_id": inv2["id"], "amount": "2220000"},
                                                   {"invoice_id": cn["id"], "amount": "-111000"}]}), 201)
        assert rcv["allocated"] == "2109000.00"
        assert await open_amounts(c, SI, [inv2["id"]]) == ["0.00"]
        assert await open_amounts(c, "/api/v1/credit-notes", [cn["id"]]) == ["0.00"]
        balances = await tb(c)
        assert balances["1130"] == 0 == await _open_items_total(c, cust)
        # Cancelling gives the credit back.
        await ok(await c.post(f"{RCV}/{rcv['id']}/cancel"))
        assert await open_amounts(c, SI, [inv2["id"]]) == ["2220000.00"]
        assert await open_amounts(c, "/api/v1/credit-notes", [cn["id"]]) == ["111000.00"]
        assert (await tb(c))["1130"] == D(2_109_000) == await _open_items_total(c, cust)


async def test_two_receipts_racing_for_one_open_amount(make_tenant, live):
    """Two receipts of the whole open amount of one invoice sent at the same time over HTTP: the invoice's
    row lock lets one through; the other sees the amount already settled and gets a 409 with the figures."""
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        bag = await _setup(c)
        cust = await customer(c, "C-1")
        inv = await sales_invoice(c, cust, bag, "1000", "1000", "2026-11-05")  # 1 110 000
        body = {"partner_id": cust, "payment_date": "2026-11-20", "account": "1102", "amount": "1110000",
                "allocations": [{"invoice_id": inv["id"], "amount": "1110000"}]}
        results = await asyncio.gather(*(c.post(RCV, json=body) for _ in range(2)))
        assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409).json()["detail"]
        assert f"allocating 1110000.00 to {inv['number']} is more than its open amount 0.00" in loser
        assert next(r for r in results if r.status_code == 201).json()["number"] == "RCV/2026/00001"
        assert (await ok(await c.get(RCV)))["total"] == 1
        assert (await tb(c))["1130"] == 0
