"""The sales and payment pages' rules: who may open what (the API's permissions, receipts for sales or
accounting, supplier payments for purchasing or accounting), a refused form keeps every typed line and says why
next to the field (422), another tenant's documents and their PDFs are 404, and a supplier payment through the
pages settles the supplier invoice."""

from __future__ import annotations

import html

from tests.erp.payments.helpers import purchase_invoice, sales_invoice, supplier
from tests.erp.sales.helpers import ok
from tests.web.sales.conftest import TODAY, browser, created_id, csrf_of, post_form


async def test_roles_open_only_their_pages(shop, live):
    async with live.tenant_client("pt-abc") as api:
        inv = await sales_invoice(api, shop["customer"], shop["variant"], "10", "2500", TODAY, location="WH")
    # purchasing: no sales.* at all, but accounting.read (receipts may be read) and purchasing.write.
    async with browser(live, "pt-abc", ["purchasing"]) as b:
        for path in ("/sales-orders", "/sales-orders/new", "/deliveries", "/invoices", f"/invoices/{inv['id']}",
                     f"/invoices/{inv['id']}/pdf", f"/sales-orders/{inv['order_id']}", "/receipts/new"):
            r = await b.get(path, follow_redirects=False)
            assert r.status_code == 403, (path, r.status_code)
            assert "text/html" in r.headers["content-type"] and "does not allow" in r.text, r.text[:400]
        assert (await b.get("/receipts")).status_code == 200
        page = await b.get("/supplier-payments/new")
        assert page.status_code == 200 and "Pembayaran pemasok baru" in page.text
        # A refused POST writes nothing (the order count stays).
        r = await b.post("/sales-orders", data={"csrf_token": csrf_of(page.text), "customer_id": shop["customer"],
                                                "order_date": TODAY, "location": shop["location"],
                                                "variant_0": shop["variant"], "qty_0": "1"}, follow_redirects=False)
        assert r.status_code == 403
    # warehouse: reads sales, writes none of it.
    async with browser(live, "pt-abc", ["warehouse"]) as b:
        assert (await b.get("/sales-orders")).status_code == 200
        page = await b.get(f"/invoices/{inv['id']}")
        assert page.status_code == 200 and f"/invoices/{inv['id']}/post" not in page.text
        assert "Catat pembayaran" not in page.text  # no sales.write nor accounting.write
        assert (await b.get("/sales-orders/new")).status_code == 403
        assert (await b.get("/deliveries/new")).status_code == 403
    async with live.tenant_client("pt-abc") as api:
        orders = await ok(await api.get("/api/v1/sales-orders"))
        assert orders["total"] == 1


async def test_a_refused_order_keeps_the_typed_lines_and_says_why(shop, live):
    async with live.tenant_client("pt-abc") as api:
        sup = await supplier(api, "S-1")
    async with browser(live, "pt-abc", ["sales"]) as b:
        typed = {"rows": "8", "customer_id": shop["customer"], "order_date": TODAY, "location": shop["location"],
                 "variant_0": shop["variant"], "qty_0": "abc", "price_0": "1.750",
                 "variant_1": shop["variant"], "qty_1": "", "price_1": "2.000,50", "customer_reference": "PO-9"}
        r = await post_form(b, "/sales-orders/new", "/sales-orders", typed)
        assert r.status_code == 422
        text = html.unescape(r.text)
        assert 'value="abc"' in text and 'value="1.750"' in text and 'value="2.000,50"' in text
        assert 'value="PO-9"' in text
        assert "“abc” bukan angka" in text and "Wajib diisi" in text  # next to qty_0 and qty_1
        assert "dibaca: 1.750" in text and "dibaca: 2.000,5" in text  # what the prices were read as
        assert text.count(f'<option value="{shop["variant"]}" selected') == 2
        # A service refusal (the partner is a supplier, not a customer) keeps the form too, with the reason.
        r = await post_form(b, "/sales-orders/new", "/sales-orders", {**typed, "customer_id": sup, "qty_0": "5",
                                                                       "qty_1": "1"})
        assert r.status_code == 422 and "S-1 is not a customer" in r.text and 'value="2.000,50"' in r.text
        # "Add more lines" shows 16 rows and keeps what was typed, saving nothing.
        r = await post_form(b, "/sales-orders/new", "/sales-orders", {**typed, "more": "1"})
        assert r.status_code == 200 and r.text.count('name="variant_') == 16 and 'value="1.750"' in r.text
        # Fixed: saved, the price typed "1.750" is 1 750.
        r = await post_form(b, "/sales-orders/new", "/sales-orders", {**typed, "qty_0": "5", "qty_1": "1"})
        order_id = created_id(r, "/sales-orders")
    async with live.tenant_client("pt-abc") as api:
        so = await ok(await api.get(f"/api/v1/sales-orders/{order_id}"))
        assert [(ln["quantity"], ln["unit_price"]) for ln in so["lines"]] == [("5.000", "1750.00"),
                                                                           ("1.000", "2000.50")]
        assert (await ok(await api.get("/api/v1/sales-orders")))["total"] == 1  # the refused posts wrote nothing


async def test_another_tenants_documents_and_pdfs_are_404(shop, make_tenant, live):
    async with live.tenant_client("pt-abc") as api:
        inv = await sales_invoice(api, shop["customer"], shop["variant"], "10", "2500", TODAY, location="WH")
        rc = await ok(await api.post("/api/v1/payments/receipts", json={
            "partner_id": shop["customer"], "payment_date": TODAY, "account": "1102", "amount": inv["total"],
            "allocations": [{"invoice_id": inv["id"], "amount": inv["total"]}]}), 201)
        delivery = (await ok(await api.get("/api/v1/deliveries")))["items"][0]
    await make_tenant("pt-xyz")
    async with browser(live, "pt-xyz", ["owner"]) as x:
        for path in (f"/invoices/{inv['id']}", f"/invoices/{inv['id']}/pdf", f"/sales-orders/{inv['order_id']}",
                     f"/deliveries/{delivery['id']}", f"/deliveries/{delivery['id']}/pdf", f"/receipts/{rc['id']}",
                     f"/receipts/{rc['id']}/pdf", f"/deliveries/new?order={inv['order_id']}",
                     f"/supplier-payments/{rc['id']}", "/invoices/not-a-uuid"):
            r = await x.get(path)
            assert r.status_code == 404, (path, r.status_code)
            assert b"%PDF" not in r.content[:10]
        page = await x.get("/receipts")
        r = await x.post(f"/invoices/{inv['id']}/delete", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 404
        r = await x.post(f"/receipts/{rc['id']}/cancel", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 404
        assert inv["number"] not in (await x.get("/invoices")).text
    async with live.tenant_client("pt-abc") as api:
        assert (await ok(await api.get(f"/api/v1/payments/receipts/{rc['id']}")))["status"] == "posted"


async def test_a_supplier_payment_through_the_pages_settles_the_supplier_invoice(shop, live):
    async with live.tenant_client("pt-abc") as api:
        sup = await supplier(api, "S-1")
        pinv = await purchase_invoice(api, sup, shop["variant"], "100", "1200", TODAY, location="WH")
    async with browser(live, "pt-abc", ["purchasing"]) as b:
        form = await b.get(f"/supplier-payments/new?partner={sup}")
        assert form.status_code == 200 and pinv["number"] in form.text
        total = pinv["total"].split(".")[0]
        r = await post_form(b, f"/supplier-payments/new?partner={sup}", "/supplier-payments", {
            "partner_id": sup, "payment_date": TODAY, "account": "1102", f"alloc_{pinv['id']}": total,
            "bank_charges": "6.500", "amount": ""})
        payment_id = created_id(r, "/supplier-payments")
        page = await b.get(r.headers["location"])
        assert pinv["number"] in page.text and "Pembayaran sudah dicatat dan diposting." in page.text
        listing = await b.get("/supplier-payments?export=csv")
        assert pinv["number"] in listing.text
    async with live.tenant_client("pt-abc") as api:
        pay = await ok(await api.get(f"/api/v1/payments/supplier-payments/{payment_id}"))
        # Paid through the bank: the invoice's total plus the bank's charge of 6 500.
        assert pay["amount"] == f"{int(total) + 6500}.00" and pay["bank_charges"] == "6500.00"
        got = await ok(await api.get(f"/api/v1/purchase-invoices/{pinv['id']}"))
        assert (got["status"], got["open_amount"]) == ("paid", "0.00")


async def test_the_pages_speak_english_to_an_english_reader(shop, live, monkeypatch):
    monkeypatch.setenv("POLYFLOW_PDF_COMPRESS", "0")
    async with live.tenant_client("pt-abc") as api:
        inv = await sales_invoice(api, shop["customer"], shop["variant"], "1000", "2500", TODAY, location="WH")
    async with browser(live, "pt-abc", ["sales"], language="en") as b:
        page = await b.get(f"/invoices/{inv['id']}")
        assert "Still to pay" in page.text and "Rp 2,775,000" in page.text and "Sisa tagihan" not in page.text
        assert "New sales order" in (await b.get("/sales-orders/new")).text
        pdf = await b.get(f"/invoices/{inv['id']}/pdf")
        # English labels; the amount in words stays Bahasa Indonesia (it is the legal wording).
        assert b"INVOICE" in pdf.content and b"dua juta tujuh ratus tujuh puluh lima ribu rupiah" in pdf.content
