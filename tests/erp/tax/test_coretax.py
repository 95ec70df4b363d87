"""The Coretax e-Faktur bulk import XML: the template's elements in its order, buyers with an NPWP and with a
NIK, escaping, unit codes, line figures; down payments (the final invoice reports the rest); and the 422s
that stand in for a file Coretax would reject."""

from __future__ import annotations

from decimal import Decimal as D
from xml.etree import ElementTree as ET

from polyflow.erp.tax.coretax import unit_code
from tests.erp.sales.helpers import ok, product, receive
from tests.erp.tax.test_ppn_summary import COMPANY, PKP_BUYER, november, partner, sell

INVOICE_ELEMENTS = ["TaxInvoiceDate", "TaxInvoiceOpt", "TrxCode", "AddInfo", "CustomDoc", "RefDesc", "FacilityStamp",
                    "SellerIDTKU", "BuyerTin", "BuyerDocument", "BuyerCountry", "BuyerDocumentNumber", "BuyerName",
                    "BuyerAdress", "BuyerEmail", "BuyerIDTKU", "ListOfGoodService"]
LINE_ELEMENTS = ["Opt", "Code", "Name", "Unit", "Price", "Qty", "TotalDiscount", "TaxBase", "OtherTaxBase", "VATRate",
                 "VAT", "STLGRate", "STLG"]


def _fields(element) -> dict[str, str | None]:
    return {child.tag: child.text for child in element if child.tag != "ListOfGoodService"}


def test_unit_codes():
    # Certain ones, then the uncertain ones documented in coretax.UNIT_CODES.
    assert [unit_code(u) for u in ("KG", "kg", "PCS", "METER", "M", "M2", "L", "TON", "G", "LBR")] == [
        "UM.0003", "UM.0003", "UM.0021", "UM.0013", "UM.0013", "UM.0012", "UM.0007", "UM.0001", "UM.0004", "UM.0020"]
    assert [unit_code(u) for u in ("KARTON", "ROLL", "BAL", "ZAK", "DRUM", "")] == [
        "UM.0022", "UM.0033", "UM.0033", "UM.0033", "UM.0033", "UM.0033"]


async def test_the_file_follows_the_template(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        docs = await november(c)
        r = await c.get("/api/v1/tax/coretax-xml", params={"month": "2026-11"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/xml")
        assert r.headers["content-disposition"] == 'attachment; filename="coretax-efaktur-2026-11.xml"'
        assert r.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
        # Escaped in the file, the buyer's name as entered once parsed.
        assert b"PT Maju &amp; Jaya &lt;Plastik&gt;" in r.content
        root = ET.fromstring(r.content)
        assert [child.tag for child in root] == ["TIN", "ListOfTaxInvoice"]
        first, second = root.findall("ListOfTaxInvoice/TaxInvoice")
        assert [child.tag for child in first] == INVOICE_ELEMENTS
        assert _fields(first) == {
            "TaxInvoiceDate": "2026-11-06", "TaxInvoiceOpt": "Normal", "TrxCode": "04", "AddInfo": None,
            "CustomDoc": None, "RefDesc": "SI/2026/00001", "FacilityStamp": None,
            "SellerIDTKU": "0091122334455667000000", "BuyerTin": "0012345678901000", "BuyerDocument": "TIN",
            "BuyerCountry": "IDN", "BuyerDocumentNumber": "-", "BuyerName": "PT Maju & Jaya <Plastik>",
            "BuyerAdress": "Jl. Industri 1, Tangerang", "BuyerEmail": "pajak@majujaya.test",
            "BuyerIDTKU": "0012345678901000000000"}
        # The individual: no NPWP, identified by the NIK.
        wanted = {"RefDesc": "SI/2026/00002", "BuyerTin": "0000000000000000", "BuyerDocument": "National ID",
                  "BuyerDocumentNumber": "3171234567890001", "BuyerName": "Budi Santoso",
                  "BuyerIDTKU": "3171234567890001000000", "BuyerEmail": None}
        assert {k: _fields(second)[k] for k in wanted} == wanted
        bag, film = first.findall("ListOfGoodService/GoodService")
        assert [child.tag for child in film] == LINE_ELEMENTS
        # Bags 600 x 2 300 = 1 380 000 (DPP nilai lain 1 265 000, PPN 151 800); film 300 x 30 000 - 900 000
        # discount = 8 100 000 (7 425 000, 891 000).
        assert [child.text for child in bag] == ["A", "000000", "Woven bag 50kg", "UM.0021", "2300", "600", "0",
                                                 "1380000", "1265000", "12", "151800", "0", "0"]
        assert [child.text for child in film] == ["A", "000000", "Film roll", "UM.0003", "30000", "300", "900000",
                                                  "8100000", "7425000", "12", "891000", "0", "0"]
        for line in root.iter("GoodService"):  # Coretax checks Price x Qty - TotalDiscount = TaxBase
            assert D(line.findtext("Price")) * D(line.findtext("Qty")) - D(line.findtext("TotalDiscount")) == D(
                line.findtext("TaxBase"))
        # Per invoice the lines add up to the invoice's figures.
        for inv, element in ((docs["s1"], first), (docs["s2"], second)):
            assert sum(D(g.findtext("VAT")) for g in element.iter("GoodService")) == D(inv["tax"])
            assert sum(D(g.findtext("OtherTaxBase")) for g in element.iter("GoodService")) == D(inv["other_base"])


async def test_what_coretax_would_reject_is_refused(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
        bag = await product(c, "WB-50", "Woven bag 50kg", "PCS")
        await receive(c, bag, "100", "1500", "2026-11-02")
        good = await partner(c, PKP_BUYER)
        nobody = await partner(c, {"code": "C-CASH", "name": "Pembeli tunai", "is_customer": True})
        await sell(c, good, "2026-11-06", [(bag, "10", "2300", "0")])
        await sell(c, nobody, "2026-11-07", [(bag, "5", "2300", "0")])
        # The company has no tax identity yet, and one buyer has neither NPWP nor NIK (nor an address).
        r = await c.get("/api/v1/tax/coretax-xml", params={"month": "2026-11"})
        assert r.status_code == 422
        detail = r.json()["detail"]
        assert "not a PKP" in detail and "no NPWP" in detail and "no NITKU" in detail
        assert "SI/2026/00002 (Pembeli tunai): the buyer has neither an NPWP nor a NIK; the buyer has no address" \
            in detail and "SI/2026/00001" not in detail
        await ok(await c.patch("/api/v1/tax/company", json=COMPANY))
        r = await c.get("/api/v1/tax/coretax-xml", params={"month": "2026-11"})
        assert r.status_code == 422 and "not a PKP" not in r.text and "SI/2026/00002 (Pembeli tunai)" in r.text
        # A month without invoices: nothing to import.
        r = await c.get("/api/v1/tax/coretax-xml", params={"month": "2026-10"})
        assert r.status_code == 422 and "no posted sales invoices dated in 2026-10" in r.text


async def test_down_payment_and_final_invoice(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.patch("/api/v1/tax/company", json=COMPANY))
        await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang"}), 201)
        bag = await product(c, "WB-50", "Woven bag", "PCS")
        await receive(c, bag, "1000", "1500", "2026-11-02")
        cust = await partner(c, PKP_BUYER)
        so = await ok(await c.post("/api/v1/sales-orders", json={
            "customer_id": cust, "order_date": "2026-11-03", "location": "WH",
            "lines": [{"variant_id": bag, "quantity": "1000", "unit_price": "2000"}]}), 201)
        so = await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
        # Down payment 30 %: DPP 600 000; DPP nilai lain 550 000; PPN 66 000.
        dp = await ok(await c.post("/api/v1/sales-invoices", json={
            "order_id": so["id"], "invoice_date": "2026-11-03", "down_payment_percent": "30"}), 201)
        await ok(await c.post(f"/api/v1/sales-invoices/{dp['id']}/post"))
        d = await ok(await c.post("/api/v1/deliveries", json={
            "order_id": so["id"], "delivery_date": "2026-11-05",
            "lines": [{"order_line_id": so["lines"][0]["id"], "quantity": "1000"}]}), 201)
        await ok(await c.post(f"/api/v1/deliveries/{d['id']}/post"))
        inv = await ok(await c.post("/api/v1/sales-invoices", json={"order_id": so["id"],
                                                                    "invoice_date": "2026-11-06"}), 201)
        await ok(await c.post(f"/api/v1/sales-invoices/{inv['id']}/post"))

        root = ET.fromstring((await c.get("/api/v1/tax/coretax-xml", params={"month": "2026-11"})).content)
        down, final = (i.find("ListOfGoodService/GoodService") for i in root.iter("TaxInvoice"))
        assert [down.findtext(t) for t in ("Name", "Qty", "TaxBase", "OtherTaxBase", "VATRate", "VAT")] == [
            "Uang muka SO/2026/00001", "1", "600000", "550000", "12", "66000"]
        # Final invoice: DPP 2 000 000 - 600 000 = 1 400 000 (the down payment's DPP as a discount); DPP nilai
        # lain 1 833 333 - 600 000 x 1 833 333 / 2 000 000 (549 999.9 -> 550 000) = 1 283 333; PPN 220 000 -
        # 66 000 = 154 000.
        assert [final.findtext(t) for t in ("Price", "Qty", "TotalDiscount", "TaxBase", "OtherTaxBase", "VAT")] == [
            "2000", "1000", "600000", "1400000", "1283333", "154000"]
        summary = await ok(await c.get("/api/v1/tax/ppn-summary", params={"month": "2026-11"}))
        # The order's PPN once: 66 000 + 154 000 = 220 000 = the file's VAT = 2130's movement.
        assert summary["output_tax"]["net"]["tax"] == "220000.00"
        assert sum(D(g.findtext("VAT")) for g in root.iter("GoodService")) == D("220000")
        assert summary["gl"][0]["movement"] == "220000.00" and summary["matches"] is True


async def test_tax_inclusive_prices_report_the_dpp_per_unit(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.patch("/api/v1/tax/company", json=COMPANY))
        await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang"}), 201)
        bag = await product(c, "WB-50", "Woven bag", "PCS")
        await receive(c, bag, "100", "1500", "2026-11-02")
        cust = await partner(c, PKP_BUYER)
        so = await ok(await c.post("/api/v1/sales-orders", json={
            "customer_id": cust, "order_date": "2026-11-03", "location": "WH", "prices_include_tax": True,
            "lines": [{"variant_id": bag, "quantity": "100", "unit_price": "2220"}]}), 201)
        so = await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
        d = await ok(await c.post("/api/v1/deliveries", json={
            "order_id": so["id"], "delivery_date": "2026-11-04",
            "lines": [{"order_line_id": so["lines"][0]["id"], "quantity": "100"}]}), 201)
        await ok(await c.post(f"/api/v1/deliveries/{d['id']}/post"))
        inv = await ok(await c.post("/api/v1/sales-invoices", json={"order_id": so["id"],
                                                                    "invoice_date": "2026-11-04"}), 201)
        inv = await ok(await c.post(f"/api/v1/sales-invoices/{inv['id']}/post"))
        # Gross 100 x 2 220 = 222 000 = DPP 200 000 (222 000 / 1.11) + PPN 22 000 (183 333 x 12 % = 21 999.96).
        assert (inv["base"], inv["other_base"], inv["tax"], inv["total"]) == (
            "200000.00", "183333.00", "22000.00", "222000.00")
        root = ET.fromstring((await c.get("/api/v1/tax/coretax-xml", params={"month": "2026-11"})).content)
        line = root.find(".//GoodService")
        # Coretax takes prices without PPN: the DPP per unit, 200 000 / 100.
        assert [line.findtext(t) for t in ("Price", "Qty", "TotalDiscount", "TaxBase", "OtherTaxBase", "VAT")] == [
            "2000", "100", "0", "200000", "183333", "22000"]
