"""The whole trade cycle on ONE tenant, through HTTP, with hand-computed figures (issue 11, "Must show").

Procure to pay: resin ordered, received in part (twice), invoiced for the first receipt at a higher price
(the difference to 5500), consumed in part, paid in part with a bank charge. Order to cash: woven bags
(produced) delivered in two parts with a production receipt in between moving the average cost and one found
late and dated back before the second delivery (which is re-costed), invoiced,
a return with its credit note; a toll-printing service (maklon, Coretax Opt B) delivered and invoiced; one
customer receipt settling the service invoice in full and the goods invoice in part, with PPh 23 withheld by
the customer on the service and a bank charge. Then every ledger agrees with its documents and with the hand
figures: GL balanced, stock ledger == inventory accounts (at several dates), AR open items == 1130, AP ==
2110, 2120 == received not invoiced, PPN summary == PPN accounts == hand figures, the Coretax XML's sums ==
the summary, the customer statement's closing balance == the open items, AR/AP aging == 1130/2110."""

from decimal import Decimal
from xml.etree import ElementTree as ET

from tests.erp.sales.helpers import customer, ok, product
from tests.erp.tax.test_ppn_summary import COMPANY
from tests.erp.trade.helpers import (SUPPLIER, aging_total, ppn_matches_accounts, received_not_invoiced,
                                     stock_equals_gl, tb)

D = Decimal


async def produce(c, variant: str, quantity: str, unit_cost: str, on: str) -> None:
    """Finished goods into stock from production (Dr 1143 / Cr 5200), not a purchase: 2120 stays the
    purchasing documents' business only. Valued by hand outside a production order, so the counter account
    is chosen (IN "production" itself credits the orders' WIP, 1142)."""
    await ok(await c.post("/api/v1/stock-movements", json={
        "kind": "IN", "reason": "production", "variant_id": variant, "quantity": quantity, "unit_cost": unit_cost,
        "to_location": "WH", "posting_date": on, "counter_account": "5200"}), 201)


async def test_one_tenant_procure_to_pay_and_order_to_cash(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.patch("/api/v1/tax/company", json=COMPANY))
        await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
        sup = (await ok(await c.post("/api/v1/partners", json=SUPPLIER), 201))["id"]
        resin = (await ok(await c.post("/api/v1/products", json={
            "sku": "PP-RAF", "name": "PP raffia resin", "unit": "KG", "product_type": "raw_material"}),
            201))["variants"][0]["id"]
        bag = await product(c, "WB-50", "Woven bag 50kg", "PCS")
        maklon = await product(c, "MKL-PRT", "Jasa cetak karung (maklon)", "PCS")
        cust = await customer(c, "C-1", credit_limit="100000000", terms=30)

        # ---------------- Procure to pay ----------------
        # PO 2 Nov: resin 1 000 kg x 20 000 = DPP 20 000 000.
        po = await ok(await c.post("/api/v1/purchase-orders", json={
            "partner_id": sup, "order_date": "2026-11-02",
            "lines": [{"variant_id": resin, "quantity": "1000", "unit_price": "20000"}]}), 201)
        po = await ok(await c.post(f"/api/v1/purchase-orders/{po['id']}/approve"))
        po_line = po["lines"][0]["id"]
        # GR 3 Nov (partial): 600 kg x 20 000 = 12 000 000: Dr 1141 / Cr 2120.
        gr1 = await ok(await c.post("/api/v1/goods-receipts", json={
            "order_id": po["id"], "location": "WH", "receipt_date": "2026-11-03",
            "lines": [{"order_line_id": po_line, "quantity": "600"}]}), 201)
        assert gr1["value"] == "12000000.00"
        # Supplier invoice 5 Nov for the 600 kg at 20 150 (150 above the order): DPP 12 090 000; x 11/12 =
        # 11 082 500; PPN 12 % = 1 329 900; total 13 419 900.
        # Journal: Dr 2120 12 000 000 + Dr 5500 90 000 (600 x 150) + Dr 1150 1 329 900 / Cr 2110 13 419 900.
        pinv = await ok(await c.post("/api/v1/purchase-invoices", json={
            "order_id": po["id"], "invoice_date": "2026-11-05", "supplier_invoice_no": "RN/11/0042",
            "tax_invoice_no": "0100002600000123",
            "lines": [{"order_line_id": po_line, "quantity": "600", "unit_price": "20150"}]}), 201)
        pinv = await ok(await c.post(f"/api/v1/purchase-invoices/{pinv['id']}/post"))
        assert (pinv["subtotal"], pinv["tax_amount"], pinv["total"], pinv["price_difference"]) == (
            "12090000.00", "1329900.00", "13419900.00", "90000.00")
        # GR 9 Nov: 250 kg x 20 000 = 5 000 000, not invoiced (2120).
        await ok(await c.post("/api/v1/goods-receipts", json={
            "order_id": po["id"], "location": "WH", "receipt_date": "2026-11-09",
            "lines": [{"order_line_id": po_line, "quantity": "250"}]}), 201)
        assert (await ok(await c.get(f"/api/v1/purchase-orders/{po['id']}")))["status"] == "partially_received"
        # Consumed 12 Nov: 500 kg at the average 20 000 = 10 000 000 (Dr 5200 / Cr 1141); 350 kg = 7 000 000 left.
        await ok(await c.post("/api/v1/stock-movements", json={
            "kind": "OUT", "reason": "consumption", "variant_id": resin, "quantity": "500", "from_location": "WH",
            "posting_date": "2026-11-12"}), 201)
        # Payment 20 Nov: 8 000 000 of the invoice, the bank's fee 6 500 on us: 8 006 500 out of 1102.
        # Dr 2110 8 000 000 + Dr 6910 6 500 / Cr 1102 8 006 500; open 13 419 900 - 8 000 000 = 5 419 900.
        pay = await ok(await c.post("/api/v1/payments/supplier-payments", json={
            "partner_id": sup, "payment_date": "2026-11-20", "account": "1102", "amount": "8006500",
            "bank_charges": "6500", "allocations": [{"invoice_id": pinv["id"], "amount": "8000000"}]}), 201)
        assert pay["number"] == "PAY/2026/00001"
        pinv = await ok(await c.get(f"/api/v1/purchase-invoices/{pinv['id']}"))
        assert (pinv["open_amount"], pinv["status"]) == ("5419900.00", "partially_paid")

        # ---------------- Order to cash ----------------
        # Production 2 Nov: bags 2 000 x 1 500 = 3 000 000; maklon 500 x 400 = 200 000 (Dr 1143 / Cr 5200).
        await produce(c, bag, "2000", "1500", "2026-11-02")
        await produce(c, maklon, "500", "400", "2026-11-02")
        # SO 3 Nov: bags 1 500 x 2 300 = 3 450 000.
        so = await ok(await c.post("/api/v1/sales-orders", json={
            "customer_id": cust, "order_date": "2026-11-03", "location": "WH",
            "lines": [{"variant_id": bag, "quantity": "1500", "unit_price": "2300"}]}), 201)
        so = await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
        so_line = so["lines"][0]["id"]
        # Delivery 4 Nov: 1 000 bags at 1 500 = 1 500 000 HPP.
        d1 = await ok(await c.post("/api/v1/deliveries", json={
            "order_id": so["id"], "delivery_date": "2026-11-04",
            "lines": [{"order_line_id": so_line, "quantity": "1000"}]}), 201)
        d1 = await ok(await c.post(f"/api/v1/deliveries/{d1['id']}/post"))
        assert d1["lines"][0]["cost"] == "1500000.00"
        # The service order 5 Nov: 500 x 3 000 = 1 500 000; delivered 6 Nov at 400 = 200 000 HPP.
        so2 = await ok(await c.post("/api/v1/sales-orders", json={
            "customer_id": cust, "order_date": "2026-11-05", "location": "WH",
            "lines": [{"variant_id": maklon, "quantity": "500", "unit_price": "3000"}]}), 201)
        so2 = await ok(await c.post(f"/api/v1/sales-orders/{so2['id']}/confirm"))
        d3 = await ok(await c.post("/api/v1/deliveries", json={
            "order_id": so2["id"], "delivery_date": "2026-11-06",
            "lines": [{"order_line_id": so2["lines"][0]["id"], "quantity": "500"}]}), 201)
        await ok(await c.post(f"/api/v1/deliveries/{d3['id']}/post"))
        # Production 6 Nov: bags 1 000 x 1 800 = 1 800 000. On hand 1 000 @ 1 500 + 1 000 @ 1 800 =
        # 3 300 000 / 2 000 = 1 650.
        await produce(c, bag, "1000", "1800", "2026-11-06")
        # Delivery 7 Nov: 400 bags x 1 650 = 660 000 HPP; 100 of the order stay open.
        d2 = await ok(await c.post("/api/v1/deliveries", json={
            "order_id": so["id"], "delivery_date": "2026-11-07",
            "lines": [{"order_line_id": so_line, "quantity": "400"}]}), 201)
        d2 = await ok(await c.post(f"/api/v1/deliveries/{d2['id']}/post"))
        assert d2["lines"][0]["cost"] == "660000.00"
        # A production receipt found late, dated 5 Nov (after delivery 1, before delivery 2): 500 bags x 2 100
        # = 1 050 000. As of 5 Nov: 1 000 @ 1 500 + 500 @ 2 100 = 2 550 000; with 6 Nov's 1 000 @ 1 800:
        # 2 500 bags, 4 350 000, average 1 740. Delivery 2 is re-costed: 400 x 1 740 = 696 000, 36 000 more
        # HPP journaled on its date (Dr 5100 / Cr 1143 on 7 Nov).
        await produce(c, bag, "500", "2100", "2026-11-05")
        assert (await tb(c, "2026-11-06"))["1143"] == D(4_350_000)  # bags only: the maklon stock has left
        assert (await tb(c, "2026-11-07"))["1143"] == D(4_350_000 - 696_000)
        assert (await tb(c, "2026-11-07"))["5100"] == D(1_500_000 + 200_000 + 696_000)
        # Invoice 8 Nov of the 1 400 delivered: DPP 1 400 x 2 300 = 3 220 000; x 11/12 = 2 951 666.67 ->
        # 2 951 667; PPN 12 % = 354 200.04 -> 354 200; total 3 574 200.
        si1 = await ok(await c.post("/api/v1/sales-invoices", json={"order_id": so["id"],
                                                                    "invoice_date": "2026-11-08"}), 201)
        si1 = await ok(await c.post(f"/api/v1/sales-invoices/{si1['id']}/post"))
        assert (si1["number"], si1["base"], si1["other_base"], si1["tax"], si1["total"]) == (
            "SI/2026/00001", "3220000.00", "2951667.00", "354200.00", "3574200.00")
        # The service invoice 9 Nov (Coretax Opt B): DPP 1 500 000; x 11/12 = 1 375 000; PPN 165 000; total
        # 1 665 000.
        si2 = await ok(await c.post("/api/v1/sales-invoices", json={
            "order_id": so2["id"], "invoice_date": "2026-11-09",
            "lines": [{"order_line_id": so2["lines"][0]["id"], "quantity": "500", "goods_or_services": "B"}]}), 201)
        si2 = await ok(await c.post(f"/api/v1/sales-invoices/{si2['id']}/post"))
        assert (si2["number"], si2["other_base"], si2["tax"], si2["total"]) == (
            "SI/2026/00002", "1375000.00", "165000.00", "1665000.00")
        # Return 10 Nov: 100 bags of delivery 2, back at the 1 740 they left with (re-costed) = 174 000
        # (Dr 1143 / Cr 5100).
        # Credit note: DPP 230 000; x 11/12 = 210 833.33 -> 210 833; PPN 25 299.96 -> 25 300; total 255 300,
        # set against SI 1: 3 574 200 - 255 300 = 3 318 900 open.
        ret = await ok(await c.post("/api/v1/sales-returns", json={
            "invoice_id": si1["id"], "return_date": "2026-11-10", "location": "WH", "reason": "torn",
            "lines": [{"delivery_line_id": d2["lines"][0]["id"], "quantity": "100"}]}), 201)
        ret = await ok(await c.post(f"/api/v1/sales-returns/{ret['id']}/post"))
        assert ret["lines"][0]["cost"] == "174000.00"
        cn = await ok(await c.get(f"/api/v1/credit-notes/{ret['credit_note_id']}"))
        assert (cn["base"], cn["other_base"], cn["tax"], cn["total"], cn["open_amount"]) == (
            "230000.00", "210833.00", "25300.00", "255300.00", "0.00")
        assert (await ok(await c.get(f"/api/v1/sales-invoices/{si1['id']}")))["open_amount"] == "3318900.00"
        # Receipt 25 Nov: SI 2 in full 1 665 000 + SI 1 in part 2 000 000 = 3 665 000 allocated. The customer
        # withheld PPh 23 of 2 % x the service's DPP 1 500 000 = 30 000 (slip BP-2611-001); the bank took
        # 5 000. Received 3 665 000 - 30 000 - 5 000 = 3 630 000.
        # Dr 1102 3 630 000 + Dr 6910 5 000 + Dr 1171 30 000 / Cr 1130 3 665 000.
        rcv = await ok(await c.post("/api/v1/payments/receipts", json={
            "partner_id": cust, "payment_date": "2026-11-25", "account": "1102", "amount": "3630000",
            "bank_charges": "5000", "withheld": "30000", "withholding_slip_no": "BP-2611-001",
            "allocations": [{"invoice_id": si2["id"], "amount": "1665000"},
                            {"invoice_id": si1["id"], "amount": "2000000"}]}), 201)
        entry = await ok(await c.get(f"/api/v1/journal-entries/{rcv['journal_entry_id']}"))
        assert sorted((ln["account_code"], ln["debit"], ln["credit"]) for ln in entry["lines"]) == [
            ("1102", "3630000.00", "0.00"), ("1130", "0.00", "3665000.00"), ("1171", "30000.00", "0.00"),
            ("6910", "5000.00", "0.00")]

        # ---------------- The ledgers agree ----------------
        # Stock ledger == inventory accounts at every date a movement landed on, and at the end.
        for on in ("2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06", "2026-11-07", "2026-11-09",
                   "2026-11-10", "2026-11-12", "2026-11-30"):
            await stock_equals_gl(c, on)
        end = await stock_equals_gl(c, "2026-11-30")
        hand = {
            # 3 574 200 + 1 665 000 - 255 300 - 3 665 000
            "1130": D(1_318_900),
            # resin 12 000 000 + 5 000 000 - 10 000 000
            "1141": D(7_000_000),
            # bags 3 000 000 - 1 500 000 + 1 050 000 + 1 800 000 - 696 000 + 174 000 = 2 200 x 1 740; maklon
            # 200 000 - 200 000
            "1143": D(3_828_000),
            "1150": D(1_329_900),
            "1171": D(30_000),
            # -8 006 500 + 3 630 000
            "1102": D(-4_376_500),
            "2110": D(-5_419_900),
            "2120": D(-5_000_000),
            # -(354 200 + 165 000 - 25 300)
            "2130": D(-493_900),
            "4100": D(-4_720_000),
            "4110": D(230_000),
            # 1 500 000 + 200 000 + 696 000 - 174 000
            "5100": D(2_222_000),
            # -3 000 000 - 200 000 - 1 050 000 - 1 800 000 + 10 000 000
            "5200": D(3_950_000),
            "5500": D(90_000),
            # 6 500 + 5 000
            "6910": D(11_500),
        }
        assert {code: end.get(code, D(0)) for code in hand} == hand
        assert all(v == 0 for k, v in end.items() if k not in hand), end  # nothing else moved
        # Subledgers == control accounts; aging totals == the same.
        open_ar = D(0)
        for path in (f"sales-invoices/{si1['id']}", f"sales-invoices/{si2['id']}", f"credit-notes/{cn['id']}"):
            open_ar += D((await ok(await c.get(f"/api/v1/{path}")))["open_amount"])
        assert open_ar == D(1_318_900)  # SI 1: 3 318 900 - 2 000 000; SI 2 and the credit note 0
        assert open_ar == end["1130"] == await aging_total(c, "ar", "2026-11-30")
        assert D(pinv["open_amount"]) == -end["2110"] == await aging_total(c, "ap", "2026-11-30")
        # 2120: 850 kg received - 600 invoiced = 250 x 20 000.
        assert await received_not_invoiced(c, [po["id"]]) == -end["2120"] == D(5_000_000)

        # PPN: November's summary == the PPN accounts' movement (the books start in November) == the hand figures.
        s = await ppn_matches_accounts(c, "2026-11", await tb(c, "2026-10-31"), end)
        out, inp = s["output_tax"], s["input_tax"]
        # Output: DPP 3 220 000 + 1 500 000 = 4 720 000; nilai lain 2 951 667 + 1 375 000 = 4 326 667; PPN
        # 354 200 + 165 000 = 519 200; the credit note -230 000 / -210 833 / -25 300; net PPN 493 900.
        assert out["documents"] == {"base": "4720000.00", "other_base": "4326667.00", "tax": "519200.00"}
        assert out["corrections"] == {"base": "-230000.00", "other_base": "-210833.00", "tax": "-25300.00"}
        assert out["net"]["tax"] == "493900.00"
        assert inp["documents"]["tax"] == "1329900.00" and inp["net"]["tax"] == "1329900.00"
        # 493 900 - 1 329 900 = -836 000: lebih bayar.
        assert (s["net"], s["overpaid"], s["underpaid"], s["status"]) == (
            "-836000.00", "836000.00", "0.00", "lebih_bayar")

        # The Coretax XML parses and carries the summary's figures; the service line is Opt B.
        r = await c.get("/api/v1/tax/coretax-xml", params={"month": "2026-11"})
        assert r.status_code == 200, r.text
        root = ET.fromstring(r.content)
        invoices = root.findall("ListOfTaxInvoice/TaxInvoice")
        assert [i.findtext("RefDesc") for i in invoices] == ["SI/2026/00001", "SI/2026/00002"]
        goods = root.findall(".//GoodService")
        assert [g.findtext("Opt") for g in goods] == ["A", "B"]
        assert sum(D(g.findtext("VAT")) for g in goods) == D(out["documents"]["tax"])
        assert sum(D(g.findtext("OtherTaxBase")) for g in goods) == D(out["documents"]["other_base"])
        assert sum(D(g.findtext("TaxBase")) for g in goods) == D(out["documents"]["base"])

        # The customer statement: opening 0, closing == the open items == 1130.
        st = await ok(await c.get("/api/v1/reports/customer-statement",
                                  params={"partner": cust, "from": "2026-11-01", "to": "2026-11-30"}))
        assert (st["opening_balance"], D(st["closing_balance"])) == ("0.00", open_ar)
        # 3 574 200 + 1 665 000 - 255 300 - 3 665 000 line by line.
        assert sum((D(ln["debit"]) - D(ln["credit"]) for ln in st["lines"]), D(0)) == D(1_318_900)
        # The PPh 23 the customer withheld is in the register.
        reg = await ok(await c.get("/api/v1/tax/pph23-register", params={"month": "2026-11"}))
        assert D(reg["total_withheld_by_customers"]) == end["1171"] == D(30_000)
        assert [(x["withholding_slip_no"], x["amount"]) for x in reg["withheld_by_customers"]] == [
            ("BP-2611-001", "30000.00")]
