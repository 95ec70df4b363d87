"""Procure to pay on one tenant with hand-computed figures: a two-line order, a partial and a second
receipt, a supplier invoice with a price difference on one line and part of the other line, a return of
goods both not yet invoiced and invoiced (debit note), then the ledgers agree: GL balanced, 2120 ==
value received not invoiced, 2110 == the open supplier invoices, 1150 == PPN of the posted invoices less
the debit note, stock valuation == the inventory account. Then the open-item functions the payments module
will use, called directly."""

import uuid
from decimal import Decimal as D

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.purchasing import service
from polyflow.kit.errors import Conflict

SUPPLIER = {"code": "S-RESIN", "name": "PT Resin Nusantara", "is_supplier": True, "npwp": "0123456789012345",
            "is_pkp": True, "payment_terms_days": 30}
FAKTUR = "010.000-26.00000123"  # the 16-digit e-Faktur form; stored as digits


async def _tb(c, date_to):
    r = await c.get("/api/v1/reports/trial-balance", params={"date_to": date_to})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total_debit"] == body["total_credit"]  # the GL balances
    return {row["code"]: D(row["balance"]) for row in body["rows"]}


async def setup_order(c):
    """Supplier (PKP, 30 days), two raw materials, a supplier price for PP; a draft order of two lines."""
    supplier = (await c.post("/api/v1/partners", json=SUPPLIER)).json()
    pp = (await c.post("/api/v1/products", json={"sku": "PP-RAF", "name": "PP raffia", "unit": "KG",
                                                  "product_type": "raw_material"})).json()["variants"][0]
    hd = (await c.post("/api/v1/products", json={"sku": "HDPE-FLM", "name": "HDPE film", "unit": "KG",
                                                  "product_type": "raw_material"})).json()["variants"][0]
    r = await c.post(f"/api/v1/partners/{supplier['id']}/prices", json={
        "variant_id": pp["id"], "side": "purchase", "price": "20000", "effective_from": "2026-01-01"})
    assert r.status_code == 201, r.text
    r = await c.post("/api/v1/purchase-orders", json={
        "partner_id": supplier["id"], "order_date": "2026-11-02", "expected_date": "2026-11-09",
        "lines": [{"variant_id": pp["id"], "quantity": "1000"},  # price from the supplier's price list
                  {"variant_id": hd["id"], "quantity": "500", "unit_price": "15500"}]})
    assert r.status_code == 201, r.text
    return supplier, pp, hd, r.json()


async def test_procure_to_pay_end_to_end(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        supplier, pp, hd, po = await setup_order(c)
        # DPP 1 000 x 20 000 + 500 x 15 500 = 20 000 000 + 7 750 000 = 27 750 000; DPP nilai lain x 11/12 =
        # 25 437 500; PPN 12 % = 3 052 500; total 30 802 500. Line PPN by share: 2 200 000 and 852 500.
        assert (po["status"], po["number"]) == ("draft", None)
        assert (po["subtotal"], po["tax_amount"], po["total"]) == ("27750000.00", "3052500.00", "30802500.00")
        assert [(l["unit_price"], l["tax_code"], l["base_amount"], l["tax_amount"], l["unit"]) for l in po["lines"]] == [
            ("20000.00", "PPN-IN", "20000000.00", "2200000.00", "KG"),
            ("15500.00", "PPN-IN", "7750000.00", "852500.00", "KG")]
        pp_line, hd_line = (l["id"] for l in po["lines"])

        # Not approved yet: no receipt.
        receipt = {"order_id": po["id"], "location": "RM-WH", "receipt_date": "2026-11-05",
                   "lines": [{"order_line_id": pp_line, "quantity": "600", "lot_number": "LOT-A1"},
                             {"order_line_id": hd_line, "quantity": "500"}]}
        r = await c.post("/api/v1/goods-receipts", json=receipt)
        assert r.status_code == 409 and "approve it first" in r.json()["detail"]
        r = await c.post(f"/api/v1/purchase-orders/{po['id']}/approve")
        assert r.status_code == 200 and r.json()["number"] == "PO/2026/00001" and r.json()["status"] == "approved"
        r = await c.post(f"/api/v1/purchase-orders/{po['id']}/approve")
        assert r.status_code == 409 and "already approved" in r.json()["detail"]
        r = await c.patch(f"/api/v1/purchase-orders/{po['id']}", json={
            "partner_id": supplier["id"], "lines": [{"variant_id": pp["id"], "quantity": "1", "unit_price": "1"}]})
        assert r.status_code == 409 and "only a draft can be edited" in r.json()["detail"]

        # Receipt 1 (partial): PP 600 x 20 000 = 12 000 000; HDPE 500 x 15 500 = 7 750 000; 19 750 000 on 2120.
        r = await c.post("/api/v1/goods-receipts", json=receipt)
        assert r.status_code == 201, r.text
        gr1 = r.json()
        assert (gr1["number"], gr1["value"]) == ("GRN/2026/00001", "19750000.00")
        assert [(l["quantity"], l["value"], l["lot_number"]) for l in gr1["lines"]] == [
            ("600.000", "12000000.00", "LOT-A1"), ("500.000", "7750000.00", None)]
        assert (await c.get(f"/api/v1/purchase-orders/{po['id']}")).json()["status"] == "partially_received"
        assert (await _tb(c, "2026-11-05"))["2120"] == D(-19_750_000)
        r = await c.post(f"/api/v1/purchase-orders/{po['id']}/cancel")
        assert r.status_code == 409 and "nothing received" in r.json()["detail"]

        # More than ordered (tolerance 0 %): HDPE is complete; PP 401 when 400 are left.
        r = await c.post("/api/v1/goods-receipts", json={
            "order_id": po["id"], "location": "RM-WH", "receipt_date": "2026-11-09",
            "lines": [{"order_line_id": pp_line, "quantity": "401"}]})
        assert r.status_code == 409 and "at most 400 more" in r.json()["detail"], r.text
        r = await c.post("/api/v1/goods-receipts", json={
            "order_id": po["id"], "location": "RM-WH", "receipt_date": "2026-11-09",
            "lines": [{"order_line_id": hd_line, "quantity": "0.001"}]})
        assert r.status_code == 409 and "at most 0 more" in r.json()["detail"]

        # Receipt 2: PP 400 x 20 000 = 8 000 000; the order is received; 2120 = 27 750 000.
        r = await c.post("/api/v1/goods-receipts", json={
            "order_id": po["id"], "location": "RM-WH", "receipt_date": "2026-11-09", "delivery_note": "SJ-889",
            "lines": [{"order_line_id": pp_line, "quantity": "400", "lot_number": "LOT-A2"}]})
        assert r.status_code == 201 and r.json()["number"] == "GRN/2026/00002" and r.json()["value"] == "8000000.00"
        assert (await c.get(f"/api/v1/purchase-orders/{po['id']}")).json()["status"] == "received"
        assert (await _tb(c, "2026-11-09"))["2120"] == D(-27_750_000)

        # Invoicing more than received: 409.
        invoice = {"order_id": po["id"], "invoice_date": "2026-11-10", "supplier_invoice_no": "INV/RN/0042",
                   "lines": [{"order_line_id": pp_line, "quantity": "1000", "unit_price": "20150"},
                             {"order_line_id": hd_line, "quantity": "501"}]}
        r = await c.post("/api/v1/purchase-invoices", json=invoice)
        assert r.status_code == 409 and "more than received and not yet invoiced" in r.json()["detail"]

        # The invoice: PP 1 000 at 20 150 (150 above the order) = 20 150 000; HDPE 300 of 500 at the order's
        # 15 500 = 4 650 000. DPP 24 800 000; x 11/12 = 22 733 333.33 -> 22 733 333; PPN 12 % = 2 727 999.96 ->
        # 2 728 000; total 27 528 000; due 10 Nov + 30 days.
        invoice["lines"][1]["quantity"] = "300"
        r = await c.post("/api/v1/purchase-invoices", json=invoice)
        assert r.status_code == 201, r.text
        inv = r.json()
        assert (inv["status"], inv["number"], inv["due_date"]) == ("draft", None, "2026-12-10")
        assert (inv["subtotal"], inv["tax_amount"], inv["total"]) == ("24800000.00", "2728000.00", "27528000.00")
        # No faktur pajak number: the PPN cannot be credited.
        r = await c.post(f"/api/v1/purchase-invoices/{inv['id']}/post")
        assert r.status_code == 422 and "faktur pajak" in r.json()["detail"]
        r = await c.patch(f"/api/v1/purchase-invoices/{inv['id']}", json={**invoice, "tax_invoice_no": "12-34"})
        assert r.status_code == 422 and "16 or 17 digits" in r.text
        r = await c.patch(f"/api/v1/purchase-invoices/{inv['id']}", json={**invoice, "tax_invoice_no": FAKTUR})
        assert r.status_code == 200 and r.json()["tax_invoice_no"] == "0100002600000123"
        r = await c.post(f"/api/v1/purchase-invoices/{inv['id']}/post")
        assert r.status_code == 200, r.text
        inv = r.json()
        # Dr 2120 20 000 000 + 4 650 000 = 24 650 000; Dr 5500 150 000; Dr 1150 2 728 000; Cr 2110 27 528 000.
        assert (inv["status"], inv["number"], inv["open_amount"], inv["price_difference"]) == (
            "open", "PINV/2026/00001", "27528000.00", "150000.00")
        assert [(l["cleared_value"], l["price_difference"]) for l in inv["lines"]] == [
            ("20000000.00", "150000.00"), ("4650000.00", "0.00")]
        entry = (await c.get(f"/api/v1/journal-entries/{inv['journal_entry_id']}")).json()
        assert entry["number"] == "PINV/2026/00001"
        assert {(l["account_code"], l["debit"], l["credit"]) for l in entry["lines"]} == {
            ("2120", "24650000.00", "0.00"), ("5500", "150000.00", "0.00"), ("1150", "2728000.00", "0.00"),
            ("2110", "0.00", "27528000.00")}
        # Posted: never edited, posted again or cancelled.
        r = await c.patch(f"/api/v1/purchase-invoices/{inv['id']}", json=invoice)
        assert r.status_code == 409 and "never edited" in r.json()["detail"]
        assert (await c.post(f"/api/v1/purchase-invoices/{inv['id']}/post")).status_code == 409
        assert (await c.post(f"/api/v1/purchase-invoices/{inv['id']}/cancel")).status_code == 409
        # 2120 left: HDPE 200 x 15 500 = 3 100 000.
        assert (await _tb(c, "2026-11-10"))["2120"] == D(-3_100_000)
        # The remaining 200 HDPE only.
        r = await c.post("/api/v1/purchase-invoices", json={**invoice, "lines": [
            {"order_line_id": hd_line, "quantity": "200.001"}]})
        assert r.status_code == 409 and "(200)" in r.json()["detail"]

        # Return on 12 Nov: HDPE 50 (not invoiced: clears 2120 at 15 500 = 775 000) and PP 100 (invoiced: a
        # debit note at the invoiced 20 150 = DPP 2 015 000; x 11/12 = 1 847 083.33 -> 1 847 083; PPN 12 % =
        # 221 649.96 -> 221 650; 2 236 650). Stock leaves at the moving average: 775 000 + 2 000 000.
        # Inventory's journal: Dr 5500 / Cr 1141 2 775 000. Journal PRET: Dr 2120 775 000 (cleared), Dr 2110
        # 2 236 650, Cr 1150 221 650, Cr 5500 775 000 + 2 015 000 = 2 790 000: 5500 nets -15 000 (100 x 150 the
        # supplier takes back above the stock cost).
        r = await c.post("/api/v1/purchase-returns", json={
            "order_id": po["id"], "location": "RM-WH", "return_date": "2026-11-12", "reason": "off-spec",
            "lines": [{"order_line_id": hd_line, "quantity": "50"}, {"order_line_id": pp_line, "quantity": "100"}]})
        assert r.status_code == 201, r.text
        ret = r.json()
        assert (ret["number"], ret["debit_base"], ret["debit_tax"], ret["debit_total"]) == (
            "PRET/2026/00001", "2015000.00", "221650.00", "2236650.00")
        assert [(l["qty_not_invoiced"], l["stock_value"]) for l in ret["lines"]] == [
            ("50.000", "775000.00"), ("0.000", "2000000.00")]
        entry = (await c.get(f"/api/v1/journal-entries/{ret['journal_entry_id']}")).json()
        assert {(l["account_code"], l["debit"], l["credit"]) for l in entry["lines"]} == {
            ("2120", "775000.00", "0.00"), ("2110", "2236650.00", "0.00"), ("1150", "0.00", "221650.00"),
            ("5500", "0.00", "2790000.00")}
        inv = (await c.get(f"/api/v1/purchase-invoices/{inv['id']}")).json()
        assert (inv["credited"], inv["open_amount"], inv["status"]) == ("2236650.00", "25291350.00", "open")
        # Returning more than is left of a line: 409.
        r = await c.post("/api/v1/purchase-returns", json={
            "order_id": po["id"], "location": "RM-WH", "return_date": "2026-11-12",
            "lines": [{"order_line_id": hd_line, "quantity": "451"}]})
        assert r.status_code == 409 and "only 450 KG of HDPE-FLM" in r.json()["detail"]

        # The ledgers agree on 12 Nov.
        tb = await _tb(c, "2026-11-12")
        # 2120: HDPE 150 received, not invoiced, not returned x 15 500 = 2 325 000.
        assert tb["2120"] == D(-2_325_000)
        order = (await c.get(f"/api/v1/purchase-orders/{po['id']}")).json()
        assert sum(D(l["received_value"]) - D(l["cleared_value"]) for l in order["lines"]) == D(2_325_000)
        # 2110 == the open supplier invoices: 27 528 000 - 2 236 650 = 25 291 350.
        assert tb["2110"] == D(-25_291_350)
        # 1150: 2 728 000 - 221 650 = 2 506 350; 5500: 150 000 - 15 000 = 135 000.
        assert tb["1150"] == D(2_506_350) and tb["5500"] == D(135_000)
        # Stock: PP 900 x 20 000 + HDPE 450 x 15 500 = 18 000 000 + 6 975 000 = 24 975 000 == 1141.
        valuation = (await c.get("/api/v1/stock/valuation", params={"as_of": "2026-11-12"})).json()
        assert valuation["by_account"]["1141"] == "24975000.00" and tb["1141"] == D(24_975_000)
        # A return leaves the order short again (replacement goods may come).
        assert order["status"] == "partially_received"

        aging = (await c.get("/api/v1/reports/ap-aging", params={"as_of": "2026-11-12"})).json()
        assert aging["totals"]["current"] == "25291350.00" and aging["totals"]["total"] == "25291350.00"
        assert [(a["partner_code"], a["current"]) for a in aging["rows"]] == [("S-RESIN", "25291350.00")]
        # 10 Dec + 41 days = 20 Jan: 31-60 days past due.
        aging = (await c.get("/api/v1/reports/ap-aging", params={"as_of": "2027-01-20"})).json()
        assert aging["rows"][0]["days_31_60"] == "25291350.00" and aging["rows"][0]["current"] == "0.00"
        # Before the invoice date it is not in the aging.
        assert (await c.get("/api/v1/reports/ap-aging", params={"as_of": "2026-11-09"})).json()["rows"] == []

    # The payments module's functions (called directly, in one transaction each).
    async with AsyncSession(tenant_engine(tenant)) as s:
        inv_id, partner_id = uuid.UUID(inv["id"]), uuid.UUID(supplier["id"])
        items = await service.open_items(s, partner_id)
        assert [(i.number, i.total, i.open_amount, i.control_account, str(i.due_date)) for i in items] == [
            ("PINV/2026/00001", D("27528000.00"), D("25291350.00"), "2110", "2026-12-10")]
        assert await service.open_items(s, uuid.uuid4()) == []
        await service.apply_payment(s, inv_id, D("10000000"))
        item = await service.open_item(s, inv_id)
        assert item.open_amount == D("15291350.00")
        with pytest.raises(Conflict, match="more than the 15291350.00 open"):
            await service.apply_payment(s, inv_id, D("15291351"))
        with pytest.raises(Conflict, match="only 10000000.00 was paid"):
            await service.apply_payment(s, inv_id, D("-10000001"))
        await service.apply_payment(s, inv_id, D("-1000000"))  # a payment reversed in part re-opens
        await service.apply_payment(s, inv_id, D("16291350"))
        item = await service.open_item(s, inv_id, lock=False)
        assert item.open_amount == 0
        await s.commit()
    async with live.tenant_client("pt-abc") as c:
        inv = (await c.get(f"/api/v1/purchase-invoices/{inv['id']}")).json()
        assert (inv["paid"], inv["open_amount"], inv["status"]) == ("25291350.00", "0.00", "paid")
        assert (await c.get("/api/v1/reports/ap-aging")).json()["rows"] == []
