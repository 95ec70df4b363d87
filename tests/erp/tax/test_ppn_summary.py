"""The monthly PPN summary with hand-computed figures: a November with two sales invoices (a PKP buyer with
an NPWP, an individual with a NIK), a credit note, two supplier invoices and a debit note; the GL movement of
2130 / 1150 against the documents; the Coretax XML of the same month carries the same totals; an
overpayment carried forward across an empty month; bad months; roles; another tenant."""

from __future__ import annotations

from decimal import Decimal as D
from xml.etree import ElementTree as ET

from tests.erp.sales.helpers import ok, product, receive

COMPANY = {"legal_name": "PT Plastik Sejahtera", "npwp": "09.112.233.4-455.667", "is_pkp": True,
           "address": "Jl. Raya Serang km 12, Tangerang"}
PKP_BUYER = {"code": "C-PKP", "name": "PT Maju & Jaya <Plastik>", "is_customer": True, "is_pkp": True,
             "npwp": "01.234.567.8-901.000", "address": "Jl. Industri 1,\nTangerang", "email": "pajak@majujaya.test",
             "payment_terms_days": 30}
NIK_BUYER = {"code": "C-NIK", "name": "Budi Santoso", "is_customer": True, "entity_type": "individual",
             "nik": "3171234567890001", "address": "Jl. Melati 5, Jakarta"}
SUPPLIER = {"code": "S-RESIN", "name": "PT Resin Nusantara", "is_supplier": True, "is_pkp": True,
            "npwp": "0123456789012345", "payment_terms_days": 30}


async def partner(c, body: dict) -> str:
    return (await ok(await c.post("/api/v1/partners", json=body), 201))["id"]


async def sell(c, customer_id: str, on: str, lines: list[tuple[str, str, str, str]]) -> dict:
    """Order, confirm, deliver everything and invoice it on `on`: lines of (variant, qty, price, discount %)."""
    so = await ok(await c.post("/api/v1/sales-orders", json={
        "customer_id": customer_id, "order_date": on, "location": "WH",
        "lines": [{"variant_id": v, "quantity": q, "unit_price": p, "discount_percent": d} for v, q, p, d in lines]}),
        201)
    so = await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
    d = await ok(await c.post("/api/v1/deliveries", json={
        "order_id": so["id"], "delivery_date": on,
        "lines": [{"order_line_id": ln["id"], "quantity": ln["quantity"]} for ln in so["lines"]]}), 201)
    d = await ok(await c.post(f"/api/v1/deliveries/{d['id']}/post"))
    inv = await ok(await c.post("/api/v1/sales-invoices", json={"order_id": so["id"], "invoice_date": on}), 201)
    inv = await ok(await c.post(f"/api/v1/sales-invoices/{inv['id']}/post"))
    return {"invoice": inv, "delivery": d}


async def buy(c, supplier_id: str, on: str, lines: list[tuple[str, str, str]]) -> dict:
    """An approved order received in full into RM-WH on `on`: lines of (variant, qty, price)."""
    po = await ok(await c.post("/api/v1/purchase-orders", json={
        "partner_id": supplier_id, "order_date": on,
        "lines": [{"variant_id": v, "quantity": q, "unit_price": p} for v, q, p in lines]}), 201)
    po = await ok(await c.post(f"/api/v1/purchase-orders/{po['id']}/approve"))
    await ok(await c.post("/api/v1/goods-receipts", json={
        "order_id": po["id"], "location": "RM-WH", "receipt_date": on,
        "lines": [{"order_line_id": ln["id"], "quantity": ln["quantity"]} for ln in po["lines"]]}), 201)
    return po


async def supplier_invoice(c, po: dict, line: dict, on: str, faktur: str) -> dict:
    inv = await ok(await c.post("/api/v1/purchase-invoices", json={
        "order_id": po["id"], "invoice_date": on, "tax_invoice_no": faktur,
        "lines": [{"order_line_id": line["id"], "quantity": line["quantity"]}]}), 201)
    return await ok(await c.post(f"/api/v1/purchase-invoices/{inv['id']}/post"))


async def november(c) -> dict:
    """The month of the module's docstring on one tenant; returns the documents."""
    await ok(await c.patch("/api/v1/tax/company", json=COMPANY))
    await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
    bag = await product(c, "WB-50", "Woven bag 50kg", "PCS")
    film = await product(c, "FR-20", "Film roll", "KG")
    await receive(c, bag, "1000", "1500", "2026-11-02")
    await receive(c, film, "400", "21000", "2026-11-02")
    pkp, nik, supplier = await partner(c, PKP_BUYER), await partner(c, NIK_BUYER), await partner(c, SUPPLIER)
    resin = (await ok(await c.post("/api/v1/products", json={"sku": "PP-RAF", "name": "PP raffia", "unit": "KG",
                                                              "product_type": "raw_material"}), 201))["variants"][0]
    hdpe = (await ok(await c.post("/api/v1/products", json={"sku": "HDPE", "name": "HDPE film", "unit": "KG",
                                                             "product_type": "raw_material"}), 201))["variants"][0]

    # Invoice 1 (6 Nov, PKP buyer): bags 600 x 2 300 = 1 380 000; film 300 x 30 000 less 10 % = 8 100 000.
    # DPP 9 480 000; DPP nilai lain x 11/12 = 8 690 000 (lines 1 265 000 / 7 425 000); PPN 12 % = 1 042 800
    # (lines 151 800 / 891 000).
    s1 = await sell(c, pkp, "2026-11-06", [(bag, "600", "2300", "0"), (film, "300", "30000", "10")])
    assert (s1["invoice"]["other_base"], s1["invoice"]["tax"]) == ("8690000.00", "1042800.00")
    # Invoice 2 (10 Nov, individual with a NIK): bags 100 x 2 500 = 250 000; DPP nilai lain 229 166.67 ->
    # 229 167; PPN 27 500.04 -> 27 500.
    s2 = await sell(c, nik, "2026-11-10", [(bag, "100", "2500", "0")])
    assert (s2["invoice"]["other_base"], s2["invoice"]["tax"]) == ("229167.00", "27500.00")
    # Credit note (12 Nov): 50 kg of film back from invoice 1: DPP 8 100 000 x 50/300 = 1 350 000; DPP nilai
    # lain 1 237 500; PPN 148 500.
    ret = await ok(await c.post("/api/v1/sales-returns", json={
        "invoice_id": s1["invoice"]["id"], "return_date": "2026-11-12", "location": "WH",
        "lines": [{"delivery_line_id": s1["delivery"]["lines"][1]["id"], "quantity": "50"}]}), 201)
    ret = await ok(await c.post(f"/api/v1/sales-returns/{ret['id']}/post"))
    cn = await ok(await c.get(f"/api/v1/credit-notes/{ret['credit_note_id']}"))
    assert (cn["base"], cn["other_base"], cn["tax"]) == ("1350000.00", "1237500.00", "148500.00")

    # Purchases (3 Nov): resin 1 000 x 20 000 and HDPE 500 x 15 500, received in full, invoiced separately.
    po = await buy(c, supplier, "2026-11-03", [(resin["id"], "1000", "20000"), (hdpe["id"], "500", "15500")])
    # Supplier invoice A (4 Nov): DPP 20 000 000; x 11/12 = 18 333 333.33 -> 18 333 333; PPN 2 199 999.96
    # -> 2 200 000.
    pa = await supplier_invoice(c, po, po["lines"][0], "2026-11-04", "0100002600000101")
    # Supplier invoice B (5 Nov): DPP 7 750 000; x 11/12 = 7 104 166.67 -> 7 104 167; PPN 852 500.04 -> 852 500.
    pb = await supplier_invoice(c, po, po["lines"][1], "2026-11-05", "0100002600000102")
    assert (pa["tax_amount"], pb["tax_amount"]) == ("2200000.00", "852500.00")
    # Debit note (15 Nov): 100 kg resin back after invoicing: DPP 2 000 000; x 11/12 = 1 833 333; PPN 220 000.
    pr = await ok(await c.post("/api/v1/purchase-returns", json={
        "order_id": po["id"], "location": "RM-WH", "return_date": "2026-11-15", "tax_invoice_no": "0100002600000101",
        "lines": [{"order_line_id": po["lines"][0]["id"], "quantity": "100"}]}), 201)
    assert pr["debit_tax"] == "220000.00"
    return {"s1": s1["invoice"], "s2": s2["invoice"], "cn": cn, "pa": pa, "pb": pb, "pr": pr, "bag": bag,
            "nik": nik}


async def test_a_month_of_ppn_against_the_ledger_and_the_coretax_file(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        docs = await november(c)
        s = await ok(await c.get("/api/v1/tax/ppn-summary", params={"month": "2026-11"}))
        assert (s["month"], s["date_from"], s["date_to"]) == ("2026-11", "2026-11-01", "2026-11-30")
        out = s["output_tax"]
        # Invoices: DPP 9 480 000 + 250 000 = 9 730 000; DPP nilai lain 8 690 000 + 229 167 = 8 919 167;
        # PPN 1 042 800 + 27 500 = 1 070 300. Credit note -1 350 000 / -1 237 500 / -148 500.
        assert out["documents"] == {"base": "9730000.00", "other_base": "8919167.00", "tax": "1070300.00"}
        assert out["corrections"] == {"base": "-1350000.00", "other_base": "-1237500.00", "tax": "-148500.00"}
        # Net PPN Keluaran 1 070 300 - 148 500 = 921 800.
        assert out["net"] == {"base": "8380000.00", "other_base": "7681667.00", "tax": "921800.00"}
        assert [(d["kind"], d["number"], d["tax"]) for d in out["items"]] == [
            ("sales_invoice", "SI/2026/00001", "1042800.00"), ("sales_invoice", "SI/2026/00002", "27500.00"),
            ("credit_note", "CN/2026/00001", "-148500.00")]
        inp = s["input_tax"]
        # PPN Masukan 2 200 000 + 852 500 = 3 052 500, less the debit note's 220 000 = 2 832 500.
        assert inp["documents"] == {"base": "27750000.00", "other_base": None, "tax": "3052500.00"}
        assert inp["corrections"] == {"base": "-2000000.00", "other_base": None, "tax": "-220000.00"}
        assert inp["net"]["tax"] == "2832500.00"
        assert [(d["kind"], d["tax_invoice_no"], d["tax"]) for d in inp["items"]] == [
            ("purchase_invoice", "0100002600000101", "2200000.00"),
            ("purchase_invoice", "0100002600000102", "852500.00"), ("debit_note", "0100002600000101", "-220000.00")]
        # 921 800 - 2 832 500 = -1 910 700: lebih bayar, nothing carried in (no earlier month).
        assert (s["net"], s["carried_in"], s["underpaid"], s["overpaid"], s["status"]) == (
            "-1910700.00", "0.00", "0.00", "1910700.00", "lebih_bayar")
        # The ledger: 2130 moved 1 070 300 - 148 500 on the credit side, 1150 3 052 500 - 220 000 on the debit.
        assert s["gl"] == [
            {"account": "2130", "movement": "921800.00", "documents": "921800.00", "difference": "0.00",
             "matches": True},
            {"account": "1150", "movement": "2832500.00", "documents": "2832500.00", "difference": "0.00",
             "matches": True}]
        assert s["matches"] is True

        # The Coretax file of the same month: the two invoices (not the credit note), the same totals.
        r = await c.get("/api/v1/tax/coretax-xml", params={"month": "2026-11"})
        assert r.status_code == 200, r.text
        root = ET.fromstring(r.content)
        assert root.tag == "TaxInvoiceBulk" and root.findtext("TIN") == "0091122334455667"  # legacy 15 digits -> 16
        invoices = root.findall("ListOfTaxInvoice/TaxInvoice")
        assert [i.findtext("RefDesc") for i in invoices] == ["SI/2026/00001", "SI/2026/00002"]
        goods = root.findall(".//GoodService")
        assert len(goods) == 3
        assert sum(D(g.findtext("VAT")) for g in goods) == D(out["documents"]["tax"]) == D("1070300")
        assert sum(D(g.findtext("OtherTaxBase")) for g in goods) == D(out["documents"]["other_base"]) == D("8919167")
        assert sum(D(g.findtext("TaxBase")) for g in goods) == D(out["documents"]["base"])

        # A PPN payment journal moves 2130 outside the documents: the check says so.
        await ok(await c.post("/api/v1/journal-entries", json={
            "entry_date": "2026-11-28", "description": "PPN settlement", "lines": [
                {"account": "2130", "debit": "100000"}, {"account": "1102", "credit": "100000"}]}), 201)
        s = await ok(await c.get("/api/v1/tax/ppn-summary", params={"month": "2026-11"}))
        assert s["gl"][0] == {"account": "2130", "movement": "821800.00", "documents": "921800.00",
                              "difference": "-100000.00", "matches": False}
        assert s["gl"][1]["matches"] is True and s["matches"] is False


async def test_overpayment_carried_forward_month_by_month(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.patch("/api/v1/tax/company", json=COMPANY))
        await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
        bag = await product(c, "WB-50", "Woven bag 50kg", "PCS")
        await receive(c, bag, "10000", "1500", "2026-09-01")
        supplier, pkp = await partner(c, SUPPLIER), await partner(c, PKP_BUYER)
        resin = (await ok(await c.post("/api/v1/products", json={"sku": "PP-RAF", "name": "PP raffia", "unit": "KG",
                                                                  "product_type": "raw_material"}), 201))["variants"][0]
        # September: supplier invoice PPN 2 200 000 (1 000 x 20 000, as above), no sales: lebih bayar 2 200 000.
        po = await buy(c, supplier, "2026-09-10", [(resin["id"], "1000", "20000")])
        await supplier_invoice(c, po, po["lines"][0], "2026-09-10", "0100002600000201")
        # November: bags 10 000 x 2 500 = 25 000 000; x 11/12 = 22 916 666.67 -> 22 916 667; PPN 2 750 000.04
        # -> 2 750 000.
        await sell(c, pkp, "2026-11-05", [(bag, "10000", "2500", "0")])

        async def summary(month):
            body = await ok(await c.get("/api/v1/tax/ppn-summary", params={"month": month}))
            return body["carried_in"], body["net"], body["underpaid"], body["overpaid"], body["status"]

        assert await summary("2026-08") == ("0.00", "0.00", "0.00", "0.00", "nihil")
        assert await summary("2026-09") == ("0.00", "-2200000.00", "0.00", "2200000.00", "lebih_bayar")
        # October has no document: the overpayment passes through whole.
        assert await summary("2026-10") == ("2200000.00", "0.00", "0.00", "2200000.00", "lebih_bayar")
        # November: 2 750 000 - 0 - 2 200 000 carried = 550 000 kurang bayar.
        assert await summary("2026-11") == ("2200000.00", "2750000.00", "550000.00", "0.00", "kurang_bayar")
        # December: the overpayment was used up in November.
        assert await summary("2026-12") == ("0.00", "0.00", "0.00", "0.00", "nihil")


async def test_bad_months_are_422(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        for path in ("/api/v1/tax/ppn-summary", "/api/v1/tax/coretax-xml"):
            for month in ("2026-13", "2026-00", "11-2026", "2026-1", "november", "2026-11-01"):
                r = await c.get(path, params={"month": month})
                assert r.status_code == 422, (path, month, r.text)
            r = await c.get(path, params={"month": "2026-13"})
            assert "month must be YYYY-MM" in r.text
            assert (await c.get(path)).status_code == 422  # no month at all


async def test_roles_and_another_tenant(make_tenant, live):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as c:
        await november(c)
    for role, allowed in (("finance", True), ("viewer", True), ("purchasing", True), ("sales", False),
                          ("warehouse", False), ("production", False)):
        async with live.tenant_client("pt-abc", role=role) as c:
            for path in ("/api/v1/tax/ppn-summary", "/api/v1/tax/coretax-xml"):
                r = await c.get(path, params={"month": "2026-11"})
                assert (r.status_code == 200) == allowed and r.status_code in (200, 403), (role, path, r.text)
                if not allowed:
                    assert "does not allow accounting.read" in r.text
    async with live.tenant_client("pt-abc", role=None) as c:
        assert (await c.get("/api/v1/tax/ppn-summary", params={"month": "2026-11"})).status_code == 401
    # pt-xyz sees none of pt-abc's documents, and has no tax identity to build a file with.
    async with live.tenant_client("pt-xyz") as c:
        s = await ok(await c.get("/api/v1/tax/ppn-summary", params={"month": "2026-11"}))
        assert s["output_tax"]["items"] == [] and s["input_tax"]["items"] == [] and s["net"] == "0.00"
        assert s["matches"] is True
        r = await c.get("/api/v1/tax/coretax-xml", params={"month": "2026-11"})
        assert r.status_code == 422 and "not a PKP" in r.text and "SI/2026" not in r.text
