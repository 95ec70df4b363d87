"""Order to cash through the pages, in Bahasa Indonesia, with hand-computed figures: an order of 1.000 PCS typed
at "2.500" (= 2 500), confirmed, delivered (surat jalan PDF), invoiced (faktur PDF with the total in words),
paid by a receipt with PPh 23 withheld (kwitansi PDF) — the invoice is then paid; its list exports as CSV and
Excel with the same figures."""

from __future__ import annotations

import csv
import io
import re
import zlib

import openpyxl

from tests.erp.sales.helpers import ok
from tests.web.sales.conftest import TODAY, browser, created_id, post_form


def pdf_text(body: bytes) -> bytes:
    """The PDF's bytes with any Flate stream inflated (so the test reads the text either way)."""
    out = [body]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S):
        try:
            out.append(zlib.decompress(match.group(1)))
        except zlib.error:
            pass
    return b"\n".join(out)


async def test_order_deliver_invoice_receipt_through_the_pages(shop, live, monkeypatch):
    monkeypatch.setenv("POLYFLOW_PDF_COMPRESS", "0")  # the server runs in this process: the PDFs' text is plain
    async with browser(live, "pt-abc", ["sales", "finance"]) as b, live.tenant_client("pt-abc") as api:
        # -- the order: 1.000 PCS at "2.500" typed the Indonesian way, PPN (12 % of DPP nilai lain 11/12).
        form = await b.get("/sales-orders/new")
        assert form.status_code == 200 and "Pesanan penjualan baru" in form.text
        assert form.text.count('name="variant_') == 8  # the fixed empty line rows
        r = await post_form(b, "/sales-orders/new", "/sales-orders", {
            "rows": "8", "customer_id": shop["customer"], "order_date": TODAY, "location": shop["location"],
            "customer_reference": "PO-77", "variant_0": shop["variant"], "qty_0": "1.000", "price_0": "2.500",
            "tax_0": "PPN"})
        order_id = created_id(r, "/sales-orders")
        so = await ok(await api.get(f"/api/v1/sales-orders/{order_id}"))
        # DPP 1 000 x 2 500 = 2 500 000; DPP nilai lain 2 500 000 x 11/12 = 2 291 666,67 -> 2 291 667;
        # PPN 12 % = 275 000,04 -> 275 000; total 2 775 000 (11 % of the DPP, as before 2025).
        assert (so["lines"][0]["quantity"], so["lines"][0]["unit_price"]) == ("1000.000", "2500.00")
        assert (so["base"], so["tax"], so["total"]) == ("2500000.00", "275000.00", "2775000.00")
        page = await b.get(r.headers["location"])
        assert "Pesanan penjualan disimpan sebagai draf." in page.text
        assert all(x in page.text for x in ("Rp 2.500.000", "Rp 275.000", "Rp 2.775.000", "1.000"))
        assert f'action="/sales-orders/{order_id}/confirm"' in page.text  # a draft: confirm, not deliver
        assert "/deliveries/new?order=" not in page.text

        r = await post_form(b, f"/sales-orders/{order_id}", f"/sales-orders/{order_id}/confirm", {})
        assert r.status_code == 303
        so = await ok(await api.get(f"/api/v1/sales-orders/{order_id}"))
        assert so["status"] == "confirmed" and so["number"].startswith("SO/")
        page = await b.get(f"/sales-orders/{order_id}")
        assert f"/deliveries/new?order={order_id}" in page.text and "/confirm" not in page.text

        # -- the delivery: the line's quantity defaults to what remains (1 000).
        line = so["lines"][0]["id"]
        form = await b.get(f"/deliveries/new?order={order_id}")
        assert f'name="qty_{line}"' in form.text and 'value="1000"' in form.text
        r = await post_form(b, f"/deliveries/new?order={order_id}", "/deliveries", {
            "order_id": order_id, "delivery_date": TODAY, "location": shop["location"], "vehicle": "B 1234 XY",
            f"qty_{line}": "1.000"})
        delivery_id = created_id(r, "/deliveries")
        r = await post_form(b, f"/deliveries/{delivery_id}", f"/deliveries/{delivery_id}/post", {})
        assert r.status_code == 303
        d = await ok(await api.get(f"/api/v1/deliveries/{delivery_id}"))
        assert d["status"] == "posted" and d["number"].startswith("DO/") and d["lines"][0]["quantity"] == "1000.000"
        stock = (await ok(await api.get("/api/v1/stock")))["items"]
        assert [s["on_hand"] for s in stock if s["sku"] == "WB-50"] == ["500.000"]

        pdf = await b.get(f"/deliveries/{delivery_id}/pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        text = pdf_text(pdf.content)
        assert b"SURAT JALAN" in text and d["number"].encode() in text and b"B 1234 XY" in text
        assert b"Jl. Industri 1, Tangerang" in text and b"1.000" in text and b"PCS" in text
        assert b"2.500" not in text and b"Rp" not in text  # a delivery note shows no prices

        # -- the invoice of what was delivered (offered on the posted delivery), posted.
        assert 'action="/invoices"' in (await b.get(f"/deliveries/{delivery_id}")).text
        r = await post_form(b, f"/deliveries/{delivery_id}", "/invoices", {"order_id": order_id,
                                                                           "invoice_date": TODAY})
        invoice_id = created_id(r, "/invoices")
        r = await post_form(b, f"/invoices/{invoice_id}", f"/invoices/{invoice_id}/post", {})
        assert r.status_code == 303
        inv = await ok(await api.get(f"/api/v1/sales-invoices/{invoice_id}"))
        assert (inv["status"], inv["base"], inv["tax"], inv["total"], inv["open_amount"]) == (
            "open", "2500000.00", "275000.00", "2775000.00", "2775000.00")
        page = await b.get(f"/invoices/{invoice_id}")
        wanted = ("Rp 2.500.000", "Rp 2.291.667", "Rp 275.000", "Rp 2.775.000", inv["number"], inv["buyer_tin"])
        assert [x for x in wanted if x not in page.text] == [], inv
        assert "Catat pembayaran" in page.text and f"/invoices/{invoice_id}/post" not in page.text

        pdf = await b.get(f"/invoices/{invoice_id}/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        text = pdf_text(pdf.content)
        assert b"dua juta tujuh ratus tujuh puluh lima ribu rupiah" in text
        assert b"FAKTUR" in text and inv["number"].encode() in text
        # The seller's NPWP as the settings hold it; the buyer's as snapshot when posted (16 digits).
        assert b"NPWP 09.876.543.2-109.000" in text and inv["buyer_tin"].encode() in text
        assert b"Rp 2.500.000" in text and b"Rp 275.000" in text and b"Rp 2.775.000" in text

        # -- the receipt: 2 775 000 allocated, PPh 23 of 50 000 withheld, so 2 725 000 through the bank.
        form = await b.get(f"/receipts/new?partner={shop['customer']}&invoice={invoice_id}")
        assert form.status_code == 200 and inv["number"] in form.text and 'value="2775000"' in form.text
        r = await post_form(b, f"/receipts/new?partner={shop['customer']}", "/receipts", {
            "partner_id": shop["customer"], "payment_date": TODAY, "account": "1102",
            f"alloc_{invoice_id}": "2.775.000", "withheld": "50.000", "withholding_slip_no": "BP-0001",
            "amount": "", "reference": "TRF-991"})
        receipt_id = created_id(r, "/receipts")
        rc = await ok(await api.get(f"/api/v1/payments/receipts/{receipt_id}"))
        assert (rc["amount"], rc["withheld"], rc["allocated"]) == ("2725000.00", "50000.00", "2775000.00")
        inv = await ok(await api.get(f"/api/v1/sales-invoices/{invoice_id}"))
        assert (inv["status"], inv["open_amount"], inv["paid"]) == ("paid", "0.00", "2775000.00")
        page = await b.get(f"/invoices/{invoice_id}")
        assert rc["number"] in page.text and "Lunas" in page.text and "Catat pembayaran" not in page.text

        pdf = await b.get(f"/receipts/{receipt_id}/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        text = pdf_text(pdf.content)
        assert b"KWITANSI" in text and b"Sudah terima dari" in text and b"PT C-1" in text
        assert b"dua juta tujuh ratus dua puluh lima ribu rupiah" in text and b"Untuk pembayaran" in text
        assert inv["number"].encode() in text and b"Rp 2.725.000" in text and b"BP-0001" in text

        # -- the invoice list: filters, and the same figures exported as CSV and Excel.
        listing = await b.get("/invoices?payment=paid")
        assert inv["number"] in listing.text
        assert inv["number"] not in (await b.get("/invoices?payment=unpaid")).text
        r = await b.get("/invoices?export=csv")
        assert r.status_code == 200
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        header, data = rows[0], [row for row in rows[1:] if row[0] == inv["number"]]
        assert len(data) == 1
        got = dict(zip(header, data[0]))
        assert (got["DPP"], got["PPN"], got["Total"], got["Terbuka"], got["Status"]) == (
            "2500000", "275000", "2775000", "0", "paid"), got
        r = await b.get("/invoices?export=xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        values = [[cell.value for cell in row] for row in sheet.iter_rows()]
        row = next(v for v in values[1:] if v[0] == inv["number"])
        assert float(row[values[0].index("Total")]) == 2775000 and float(row[values[0].index("PPN")]) == 275000
