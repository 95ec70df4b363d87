"""A toll order end to end with hand-computed figures: 1 000 kg of the customer's resin received, 980 kg
consumed into 950 kg of fabric, 950 kg delivered, 20 kg leftover returned, the fee invoiced (950 x 1 250)
and paid with PPh 23 withheld. The customer's resin is the very catalog variant we also stock ourselves:
our stock, its valuation, the stock movements and the GL show no trace of the customer's material; the
only journals are the fee invoice and its receipt."""

from decimal import Decimal

from tests.erp.sales.helpers import balances, customer, ok, product, receive
from tests.erp.toll.helpers import confirmed_order, moves, order_body

D = Decimal
COMPANY = {"legal_name": "PT Plastik Sejahtera", "npwp": "09.112.233.4-455.667", "is_pkp": True,
           "address": "Jl. Raya Serang km 12, Tangerang"}


async def _ledger(c) -> dict:
    """What would show a trace of the customer's material: our stock, its value, movements, journals."""
    stock = (await ok(await c.get("/api/v1/stock")))["items"]
    valuation = await ok(await c.get("/api/v1/stock/valuation", params={"as_of": "2026-11-28"}))
    movements = (await ok(await c.get("/api/v1/stock-movements", params={"limit": 200})))["items"]
    journals = (await ok(await c.get("/api/v1/journal-entries", params={"limit": 200})))["items"]
    return {"stock": [(s["sku"], s["on_hand"], s["reserved"]) for s in stock],
            "valuation": (valuation["total_value"], valuation["by_account"],
                          [(r["sku"], str(r["quantity"]), r["value"]) for r in valuation["rows"]]),
            "movements": sorted(m["id"] for m in movements), "journals": sorted(j["number"] for j in journals)}


async def test_toll_order_end_to_end(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
        resin = await product(c, "PP-RAFIA", "Polypropylene rafia grade", "KG")
        fabric = await product(c, "KAIN-MKL", "Kain karung maklon", "KG")
        # Our own resin: 100 kg @ 15 000 = 1 500 000 in stock (1141 / 1143 by the product's type).
        await receive(c, resin, "100", "15000", "2026-11-02")
        cust = await customer(c, "C-MKL", terms=30)
        before = await _ledger(c)
        tb_before = await balances(c, "2026-11-30")

        # A draft, edited, then confirmed (numbered MKL on confirmation).
        draft = await ok(await c.post("/api/v1/toll-orders", json=order_body(cust, resin, fabric, "2026-11-09",
                                                                             fee_price="1200")), 201)
        assert draft["number"] is None and draft["status"] == "draft" and draft["fee_price"] == "1200.00"
        await ok(await c.put(f"/api/v1/toll-orders/{draft['id']}",
                             json=order_body(cust, resin, fabric, "2026-11-09")))
        order = await ok(await c.post(f"/api/v1/toll-orders/{draft['id']}/confirm"))
        oid = order["id"]
        assert (order["number"], order["status"], order["fee_price"], order["fee_basis"]) == (
            "MKL/2026/00001", "confirmed", "1250.00", "KG")
        assert order["lines"][0]["material_qty"] == "1000.000" and order["lines"][0]["finished_qty"] == "950.000"
        r = await c.put(f"/api/v1/toll-orders/{oid}", json=order_body(cust, resin, fabric, "2026-11-09"))
        assert r.status_code == 409 and "MKL/2026/00001 is confirmed: it cannot be edited" in r.text
        assert (await c.delete(f"/api/v1/toll-orders/{oid}")).status_code == 409
        r = await c.post(f"/api/v1/toll-orders/{oid}/invoice", json={"invoice_date": "2026-11-20"})
        assert r.status_code == 409 and "only when completed" in r.text

        # 10 Nov: the customer's 1 000 kg arrive (its surat jalan SJ-C-001).
        order = await ok(await c.post(f"/api/v1/toll-orders/{oid}/receive",
                                      json=moves(resin, "1000", "2026-11-10", "SJ-C-001")))
        assert order["status"] == "in_progress"
        assert [(m["kind"], m["quantity"], m["reference"]) for m in order["moves"]] == [
            ("receive", "1000.000", "SJ-C-001")]
        # Goods are not material: receiving the fabric as material is refused.
        r = await c.post(f"/api/v1/toll-orders/{oid}/receive", json=moves(fabric, "1", "2026-11-10"))
        assert r.status_code == 422 and "KAIN-MKL is not a material of toll order MKL/2026/00001" in r.text

        # 12 Nov: 980 kg consumed, 950 kg fabric made.
        await ok(await c.post(f"/api/v1/toll-orders/{oid}/consume", json={
            "move_date": "2026-11-12", "consumed": [{"variant_id": resin, "quantity": "980"}],
            "produced": [{"variant_id": fabric, "quantity": "950"}]}))
        # Over-consumption: on hand 1 000 - 980 = 20, so 21 more is refused with the figures.
        r = await c.post(f"/api/v1/toll-orders/{oid}/consume", json={
            "move_date": "2026-11-13", "consumed": [{"variant_id": resin, "quantity": "15"}],
            "scrap": [{"variant_id": resin, "quantity": "6"}]})
        assert r.status_code == 409, r.text
        assert r.json()["detail"] == (
            "cannot consume 21 KG of PP-RAFIA on toll order MKL/2026/00001: on 2026-11-13 the customer's received "
            "1000, consumed 980, returned leftover 0, scrap 0: on hand 20")
        # Backdated before the receipt: nothing was there on 9 Nov... (the order's date is the floor)
        r = await c.post(f"/api/v1/toll-orders/{oid}/return-leftover", json=moves(resin, "1", "2026-11-09"))
        assert r.status_code == 409 and "on 2026-11-09 the customer's received 0" in r.text
        # ... and a return dated between the receipt and the consumption may not take what the 12th used.
        r = await c.post(f"/api/v1/toll-orders/{oid}/return-leftover", json=moves(resin, "25", "2026-11-11"))
        assert r.status_code == 409 and "on 2026-11-12 (a later day than 2026-11-11" in r.text \
            and "on hand 20" in r.text

        # 14 Nov: 950 kg delivered (951 refused), then 20 kg leftover back.
        r = await c.post(f"/api/v1/toll-orders/{oid}/deliver", json=moves(fabric, "951", "2026-11-14"))
        assert r.status_code == 409 and "produced 950, delivered 0: goods on hand 950" in r.text
        await ok(await c.post(f"/api/v1/toll-orders/{oid}/deliver", json=moves(fabric, "950", "2026-11-14", "DO-77")))
        r = await c.post(f"/api/v1/toll-orders/{oid}/complete")
        assert r.status_code == 409 and "20 KG of material PP-RAFIA with us" in r.text
        await ok(await c.post(f"/api/v1/toll-orders/{oid}/return-leftover", json=moves(resin, "20", "2026-11-14")))

        balance = await ok(await c.get(f"/api/v1/toll-orders/{oid}/balance", params={"as_of": "2026-11-30"}))
        rows = {r["sku"]: r for r in balance["rows"]}
        assert [(k, rows["PP-RAFIA"][k]) for k in ("received", "consumed", "returned_leftover", "scrap", "on_hand",
                                                   "expected_material")] == [
            ("received", "1000.000"), ("consumed", "980.000"), ("returned_leftover", "20.000"), ("scrap", "0.000"),
            ("on_hand", "0.000"), ("expected_material", "1000.000")]
        assert (rows["KAIN-MKL"]["produced"], rows["KAIN-MKL"]["returned_goods"], rows["KAIN-MKL"]["goods_on_hand"],
                rows["KAIN-MKL"]["expected_finished"]) == ("950.000", "950.000", "0.000", "950.000")
        # As of 12 Nov: 1 000 - 980 = 20 kg on hand, 950 kg made and not yet delivered.
        early = await ok(await c.get(f"/api/v1/toll-orders/{oid}/balance", params={"as_of": "2026-11-12"}))
        rows = {r["sku"]: r for r in early["rows"]}
        assert (rows["PP-RAFIA"]["on_hand"], rows["KAIN-MKL"]["goods_on_hand"]) == ("20.000", "950.000")

        order = await ok(await c.post(f"/api/v1/toll-orders/{oid}/complete"))
        assert order["status"] == "completed"

        # Not a trace of the customer's 1 000 kg in our stock, its value, the movements or the journals.
        assert await _ledger(c) == before
        assert await balances(c, "2026-11-30") == tb_before

        # 20 Nov: the fee. DPP 950 x 1 250 = 1 187 500; DPP nilai lain 1 187 500 x 11/12 = 1 088 541.67
        # -> 1 088 542; PPN 12 % = 130 625.04 -> 130 625; total 1 318 125. PPh 23 2 % x 1 187 500 = 23 750.
        r = await c.post(f"/api/v1/toll-orders/{oid}/invoice", json={"invoice_date": "2026-11-13"})
        assert r.status_code == 422 and "before the last delivery" in r.text
        order = await ok(await c.post(f"/api/v1/toll-orders/{oid}/invoice", json={"invoice_date": "2026-11-20"}))
        assert (order["status"], order["pph23_expected"]) == ("invoiced", "23750.00")
        inv = await ok(await c.get(f"/api/v1/sales-invoices/{order['sales_invoice_id']}"))
        assert (inv["number"], inv["order_id"], inv["status"], inv["trx_code"]) == ("SI/2026/00001", None, "open", "04")
        assert (inv["base"], inv["other_base"], inv["tax"], inv["total"], inv["open_amount"], inv["due_date"]) == (
            "1187500.00", "1088542.00", "130625.00", "1318125.00", "1318125.00", "2026-12-20")
        line = inv["lines"][0]
        assert (line["order_line_id"], line["variant_id"], line["quantity"], line["unit_code"], line["unit_price"],
                line["goods_or_services"], line["amount"]) == (None, fabric, "950.000", "KG", "1250.00", "B",
                                                               "1187500.00")
        assert line["description"] == "Jasa maklon kain karung - Kain karung maklon"
        r = await c.post(f"/api/v1/toll-orders/{oid}/invoice", json={"invoice_date": "2026-11-20"})
        assert r.status_code == 409 and "is invoiced: it cannot be invoiced" in r.text
        r = await c.post(f"/api/v1/toll-orders/{oid}/receive", json=moves(resin, "1", "2026-11-20"))
        assert r.status_code == 409

        tb = await balances(c, "2026-11-30")
        # Dr 1130 1 318 125 / Cr 4300 1 187 500 / Cr 2130 130 625 — and nothing else moved.
        assert (tb["1130"], tb["4300"], tb["2130"]) == (D("1318125"), D("-1187500"), D("-130625"))
        fee_accounts = ("1130", "4300", "2130", "debit", "credit")
        assert {k: v for k, v in tb.items() if k not in fee_accounts} == {
            k: v for k, v in tb_before.items() if k not in fee_accounts}
        after = await _ledger(c)
        assert after["journals"] == sorted(before["journals"] + ["SI/2026/00001"])
        assert {k: v for k, v in after.items() if k != "journals"} == {k: v for k, v in before.items()
                                                                        if k != "journals"}

        # The fee invoice is an ordinary tax invoice: in the month's PPN summary (tying to the GL), the Coretax
        # file and the AR aging.
        ppn = await ok(await c.get("/api/v1/tax/ppn-summary", params={"month": "2026-11"}))
        assert ppn["output_tax"]["net"]["tax"] == "130625.00" and ppn["matches"] is True
        await ok(await c.patch("/api/v1/tax/company", json=COMPANY))
        xml = await c.get("/api/v1/tax/coretax-xml", params={"month": "2026-11"})
        assert xml.status_code == 200, xml.text
        assert "<Opt>B</Opt>" in xml.text and "1187500" in xml.text and "Jasa maklon kain karung" in xml.text
        aging = await ok(await c.get("/api/v1/reports/ar-aging", params={"as_of": "2026-11-20"}))
        assert aging["total"] == "1318125.00"

        # 25 Nov: the customer pays 1 318 125 - 23 750 = 1 294 375 and hands over the bukti potong.
        rcv = await ok(await c.post("/api/v1/payments/receipts", json={
            "partner_id": cust, "payment_date": "2026-11-25", "account": "1102", "amount": "1294375",
            "withheld": "23750", "withholding_slip_no": "BP-2026-0042", "withholding_date": "2026-11-25",
            "allocations": [{"invoice_id": inv["id"], "amount": "1318125"}]}), 201)
        assert rcv["withheld"] == "23750.00"
        inv = await ok(await c.get(f"/api/v1/sales-invoices/{inv['id']}"))
        assert (inv["status"], inv["open_amount"], inv["paid"]) == ("paid", "0.00", "1318125.00")
        tb = await balances(c, "2026-11-30")
        # Dr 1102 1 294 375 + Dr 1171 23 750 / Cr 1130 1 318 125.
        assert (tb["1130"], tb["1171"], tb["1102"] - tb_before.get("1102", D(0))) == (D(0), D("23750"),
                                                                                     D("1294375"))
        assert tb["debit"] == tb["credit"]
        assert (await _ledger(c))["valuation"] == before["valuation"]
        # The bukti potong is in the month's PPh 23 register against the fee invoice (23 750 == the order's).
        register = await ok(await c.get("/api/v1/tax/pph23-register", params={"month": "2026-11"}))
        assert [(r["withholding_slip_no"], r["invoices"], r["amount"]) for r in register["withheld_by_customers"]] == [
            ("BP-2026-0042", ["SI/2026/00001"], order["pph23_expected"])]

        # The customer material report: by customer and variant, as of a date.
        report = await ok(await c.get("/api/v1/reports/toll-material", params={"as_of": "2026-11-12"}))
        assert [x["customer_code"] for x in report["customers"]] == ["C-MKL"]
        rows = {r["sku"]: r for r in report["customers"][0]["rows"]}
        assert (rows["PP-RAFIA"]["received"], rows["PP-RAFIA"]["consumed"], rows["PP-RAFIA"]["on_hand"]) == (
            "1000.000", "980.000", "20.000")
        assert (rows["KAIN-MKL"]["produced"], rows["KAIN-MKL"]["returned_goods"]) == ("950.000", "0.000")
        report = await ok(await c.get("/api/v1/reports/toll-material",
                                      params={"as_of": "2026-11-30", "customer_id": cust}))
        rows = {r["sku"]: r for r in report["customers"][0]["rows"]}
        assert (rows["PP-RAFIA"]["returned_leftover"], rows["PP-RAFIA"]["on_hand"],
                rows["KAIN-MKL"]["returned_goods"], rows["KAIN-MKL"]["goods_on_hand"]) == (
            "20.000", "0.000", "950.000", "0.000")
        assert (await ok(await c.get("/api/v1/reports/toll-material", params={"as_of": "2026-11-09"})))[
            "customers"] == []
        listed = await ok(await c.get("/api/v1/toll-orders", params={"customer_id": cust, "status": "invoiced"}))
        assert [o["number"] for o in listed["items"]] == ["MKL/2026/00001"] and listed["total"] == 1


async def test_cancel_fee_basis_and_pcs_goods(make_tenant, live):
    """Cancel only once the material went back; a fee per KG refuses goods counted in PCS; goods counted
    in PCS are charged per PCS (bags): 4 000 bags x 180 = 720 000, PPN 12 % x 660 000 = 79 200."""
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        resin = await product(c, "PP-C", "Customer resin", "KG")
        bag = await product(c, "BAG-C", "Karung 50 kg", "PCS")
        cust = await customer(c, "C-BAG")
        r = await c.post("/api/v1/toll-orders", json=order_body(cust, resin, bag, "2026-11-09"))
        assert r.status_code == 422 and "the fee is per KG but BAG-C is counted in PCS" in r.text
        order = await confirmed_order(c, cust, resin, bag, "2026-11-09", finished_qty="4000", fee_price="180",
                                      fee_basis="PCS")
        oid = order["id"]
        await ok(await c.post(f"/api/v1/toll-orders/{oid}/receive", json=moves(resin, "500", "2026-11-10")))
        r = await c.post(f"/api/v1/toll-orders/{oid}/cancel")
        assert r.status_code == 409 and "500 KG of material PP-C with us: return it first" in r.text
        # 480 kg into 4 000 bags, 20 kg trim scrapped; all bags delivered.
        await ok(await c.post(f"/api/v1/toll-orders/{oid}/consume", json={
            "move_date": "2026-11-11", "consumed": [{"variant_id": resin, "quantity": "480"}],
            "scrap": [{"variant_id": resin, "quantity": "20"}], "produced": [{"variant_id": bag, "quantity": "4000"}]}))
        await ok(await c.post(f"/api/v1/toll-orders/{oid}/deliver", json=moves(bag, "4000", "2026-11-12")))
        r = await c.post(f"/api/v1/toll-orders/{oid}/cancel")
        assert r.status_code == 409 and "has delivered goods" in r.text
        await ok(await c.post(f"/api/v1/toll-orders/{oid}/complete"))
        order = await ok(await c.post(f"/api/v1/toll-orders/{oid}/invoice", json={"invoice_date": "2026-11-12"}))
        inv = await ok(await c.get(f"/api/v1/sales-invoices/{order['sales_invoice_id']}"))
        # DPP 720 000; DPP nilai lain 660 000; PPN 79 200; PPh 23 2 % x 720 000 = 14 400.
        assert (inv["base"], inv["other_base"], inv["tax"], inv["total"], order["pph23_expected"]) == (
            "720000.00", "660000.00", "79200.00", "799200.00", "14400.00")
        assert inv["lines"][0]["unit_code"] == "PCS"

        # A draft is deleted; a confirmed order with everything returned is cancelled.
        other = await confirmed_order(c, cust, resin, resin, "2026-11-09", fee_basis="KG")
        await ok(await c.post(f"/api/v1/toll-orders/{other['id']}/receive", json=moves(resin, "5", "2026-11-10")))
        await ok(await c.post(f"/api/v1/toll-orders/{other['id']}/return-leftover",
                              json=moves(resin, "5", "2026-11-10")))
        assert (await ok(await c.post(f"/api/v1/toll-orders/{other['id']}/cancel")))["status"] == "cancelled"
        draft = await ok(await c.post("/api/v1/toll-orders", json=order_body(cust, resin, resin, "2026-11-09")), 201)
        assert (await c.delete(f"/api/v1/toll-orders/{draft['id']}")).status_code == 204
        assert (await c.get(f"/api/v1/toll-orders/{draft['id']}")).status_code == 404
