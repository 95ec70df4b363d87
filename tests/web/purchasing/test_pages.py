"""The purchasing pages one by one: who may open them, a refused form keeps what was typed, the PO list as CSV and
Excel, the PO as a PDF, another tenant's ids are 404, purchase requests from submit to a purchase order, and
every string of the area has its Bahasa Indonesia translation."""

from __future__ import annotations

import csv
import io
import pathlib
import re
from decimal import Decimal as D

import openpyxl

from tests.fixtures.auth import tenant_sql
from tests.web.purchasing.conftest import SUPPLIER, ids_in

LISTS = ("/purchase-requests", "/purchase-orders", "/purchase-receipts", "/purchase-invoices", "/purchase-returns")


async def _order(live, shop, sub="pt-abc", quantity="2000", price="18500", approve=True, receive=None):
    """An order made through the JSON API (the pages' own flow is tests/web/purchasing/test_flow.py)."""
    async with live.tenant_client(sub) as c:
        r = await c.post("/api/v1/purchase-orders", json={"partner_id": shop.supplier_id, "lines": [
            {"variant_id": shop.variant_id, "quantity": quantity, "unit_price": price}]})
        assert r.status_code == 201, r.text
        order = r.json()
        if approve:
            order = (await c.post(f"/api/v1/purchase-orders/{order['id']}/approve")).json()
        if receive:
            r = await c.post("/api/v1/goods-receipts", json={"order_id": order["id"], "location": "RM-WH", "lines": [
                {"order_line_id": order["lines"][0]["id"], "quantity": receive}]})
            assert r.status_code == 201, r.text
            order["receipt_id"] = r.json()["id"]
        return order


async def test_who_may_open_what(shop, browser, live):
    order = await _order(live, shop, receive="5")
    detail = f"/purchase-orders/{order['id']}"
    async with browser("sales") as s:  # sales has no purchasing permission at all
        for path in (*LISTS, detail, f"{detail}/pdf", "/purchase-orders/new",
                     f"/purchase-receipts/{order['receipt_id']}"):
            r = await s.get(path)
            assert r.status_code == 403 and "does not allow purchasing" in r.text, (path, r.status_code)
            assert r.headers["content-type"].startswith("text/html")
        r = await s.post("/purchase-orders", data={"csrf_token": s.csrf, "partner_id": shop.supplier_id,
                                                   "variant_1": shop.variant_id, "qty_1": "1", "price_1": "1"})
        assert r.status_code == 403
        r = await s.post(f"{detail}/close", data={"csrf_token": s.csrf})
        assert r.status_code == 403
    async with browser("warehouse") as w:  # reads purchasing, does not write it
        for path in (*LISTS, detail, f"/purchase-receipts/{order['receipt_id']}"):
            assert (await w.get(path)).status_code == 200, path
        r = await w.get(detail)
        assert "Tutup (tidak ada penerimaan lagi)" not in r.text and "Terima barang" not in r.text  # no actions
        assert (await w.get("/purchase-orders/new")).status_code == 403
        assert (await w.get(f"/purchase-receipts/new?order={order['id']}")).status_code == 403
        r = await w.post(f"{detail}/close", data={"csrf_token": w.csrf})
        assert r.status_code == 403 and "does not allow purchasing.write" in r.text
    assert tenant_sql(live.settings, "SELECT count(*), min(status) FROM purchase_orders") == [(1, "partially_received")]
    async with browser("purchasing") as p:
        r = await p.get(detail)
        assert "Tutup (tidak ada penerimaan lagi)" in r.text and "Terima barang" in r.text
        assert "Batalkan pesanan" not in r.text  # something was received: close, not cancel
        r = await p.post(f"{detail}/close", data={"csrf_token": p.csrf}, follow_redirects=False)
        assert r.status_code == 303
        r = await p.post(f"{detail}/close", data={"csrf_token": p.csrf})
        assert r.status_code == 409 and "only a (partially) received order can be closed" in r.text
        r = await p.post(f"{detail}/close", data={"csrf_token": "forged"})
        assert r.status_code == 403
    assert tenant_sql(live.settings, "SELECT status FROM purchase_orders") == [("closed",)]


async def test_a_refused_order_form_comes_back_with_what_was_typed(shop, browser, live):
    async with browser("purchasing") as b:
        r = await b.post("/purchase-orders", data={
            "csrf_token": b.csrf, "partner_id": shop.supplier_id, "order_date": "2026-11-20",
            "expected_date": "2026-11-10",
            "variant_1": shop.variant_id, "qty_1": "2.000", "price_1": "18.500",
            "variant_2": shop.variant_id, "qty_2": "dua ribu", "price_2": "1.250,50",
            "variant_3": "NOPE-1", "qty_3": "5"})
        assert r.status_code == 422
        html = r.text
        for typed in ('value="2.000"', 'value="18.500"', 'value="dua ribu"', 'value="1.250,50"', 'value="2026-11-20"'):
            assert typed in html, typed
        assert "“dua ribu” bukan angka" in html  # the message, next to the field
        assert "Perkiraan tanggal tiba sebelum tanggal pesanan" in html
        assert "Tidak ada produk aktif dengan SKU “NOPE-1”" in html and 'value="NOPE-1"' in html
        assert re.search(r'name="qty_2"[^>]*aria-invalid="true"', html)
        assert "dibaca: 1.250,5" in html and "dibaca: 18.500" in html  # what each number was read as, in Bahasa
        # A line the service refuses (no price for the supplier, none on the product): 422, the line kept.
        r = await b.post("/purchase-orders", data={"csrf_token": b.csrf, "partner_id": shop.supplier_id,
                                                   "variant_1": shop.variant_id, "qty_1": "10"})
        assert r.status_code == 422 and "no purchase price of PP-RAF" in r.text and 'value="10"' in r.text
        # No line at all.
        r = await b.post("/purchase-orders", data={"csrf_token": b.csrf, "partner_id": shop.supplier_id})
        assert r.status_code == 422 and "Tambahkan minimal satu baris" in r.text
    assert tenant_sql(live.settings, "SELECT count(*) FROM purchase_orders") == [(0,)]


async def test_the_order_list_exports_as_csv_and_excel(shop, browser, live):
    first = await _order(live, shop, quantity="2000", price="18500")  # DPP 37 000 000, PPN 4 070 000
    await _order(live, shop, quantity="10", price="1000", approve=False)  # a draft: DPP 10 000, PPN 1 100
    async with browser("warehouse") as w:
        r = await w.get("/purchase-orders", params={"sort": "-total"})
        assert r.status_code == 200 and "Rp 41.070.000" in r.text and "Rp 11.100" in r.text
        assert ids_in(r.text, "/purchase-orders")[0] == first["id"]  # biggest first
        r = await w.get("/purchase-orders", params={"status": "draft"})
        assert "Rp 11.100" in r.text and "Rp 41.070.000" not in r.text
        r = await w.get("/purchase-orders", params={"q": "PO/2026/00001"})
        assert "Rp 41.070.000" in r.text and "Rp 11.100" not in r.text
        r = await w.get("/purchase-orders", params={"from": "not a date"})
        assert r.status_code == 422

        r = await w.get("/purchase-orders", params={"export": "csv", "sort": "-total"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0] == ["Nomor", "Tanggal", "Pemasok", "Perkiraan pengiriman", "Status", "DPP", "PPN", "Total"]
        assert [(row[0], row[2], row[4], D(row[5]), D(row[6]), D(row[7])) for row in rows[1:]] == [
            ("PO/2026/00001", "S-RESIN · PT Resin Nusantara", "approved", D(37_000_000), D(4_070_000), D(41_070_000)),
            ("(draf)", "S-RESIN · PT Resin Nusantara", "draft", D(10_000), D(1_100), D(11_100))]

        r = await w.get("/purchase-orders", params={"export": "xlsx", "supplier": shop.supplier_id})
        assert r.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert cells[0][0] == "Nomor" and len(cells) == 3
        assert sorted(D(str(row[7])) for row in cells[1:]) == [D(11_100), D(41_070_000)]
        assert sum(D(str(row[5])) for row in cells[1:]) == D(37_010_000)

    # The same list for a user who reads English: English words and the English number format.
    async with browser("purchasing") as e:
        tenant_sql(live.settings, "UPDATE users SET language = 'en'")
        r = await e.get("/purchase-orders")
        assert r.status_code == 200 and "Purchase orders" in r.text and "Rp 41,070,000" in r.text
        assert "Pesanan" not in r.text and "Rp 41.070.000" not in r.text
        r = await e.post("/purchase-orders", data={"csrf_token": e.csrf, "partner_id": shop.supplier_id,
                                                   "variant_1": shop.variant_id, "qty_1": "1,250.5",
                                                   "price_1": "1.750"})
        assert r.status_code == 303, r.text[:1000]  # English: "1,250.5" is 1250.5 and "1.750" is 1.75
    assert tenant_sql(live.settings, "SELECT quantity, unit_price FROM purchase_order_lines ORDER BY unit_price") == [
        (D("1250.5"), D("1.75")), (D("10"), D("1000")), (D("2000"), D("18500"))]


async def test_the_purchase_order_pdf(shop, browser, live, monkeypatch):
    order = await _order(live, shop)
    async with browser("warehouse") as w:
        r = await w.get(f"/purchase-orders/{order['id']}/pdf")
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        assert r.content.startswith(b"%PDF")
        assert len(re.findall(rb"/Type\s*/Page\b", r.content)) >= 1
        monkeypatch.setenv("POLYFLOW_PDF_COMPRESS", "0")  # the server runs in this process: its text is readable
        r = await w.get(f"/purchase-orders/{order['id']}/pdf")
        body = r.content.decode("latin-1")
        for text in ("PESANAN PEMBELIAN", "PO/2026/00001", SUPPLIER["name"], SUPPLIER["npwp"], "Jl. Industri 5",
                     "PP-RAF", "Rp 18.500", "Rp 37.000.000", "Rp 4.070.000", "Rp 41.070.000",
                     "Pembayaran: 30 hari", "Disetujui oleh", "Dikirim ke"):
            assert text in body, text


async def test_another_tenants_documents_are_404(shop, make_tenant, browser, live):
    order = await _order(live, shop, receive="5")
    async with live.tenant_client("pt-abc") as c:
        invoice = (await c.post("/api/v1/purchase-invoices", json={
            "order_id": order["id"], "lines": [{"order_line_id": order["lines"][0]["id"], "quantity": "5"}]})).json()
        request = (await c.post("/api/v1/purchase-requests", json={
            "lines": [{"variant_id": shop.variant_id, "quantity": "3"}]})).json()
    await make_tenant("pt-xyz")
    async with browser("owner", sub="pt-xyz") as x:
        for path in (f"/purchase-orders/{order['id']}", f"/purchase-orders/{order['id']}/pdf",
                     f"/purchase-receipts/{order['receipt_id']}", f"/purchase-invoices/{invoice['id']}",
                     f"/purchase-requests/{request['id']}", f"/purchase-receipts/new?order={order['id']}",
                     f"/purchase-invoices/new?order={order['id']}", "/purchase-orders/not-an-id"):
            r = await x.get(path)
            assert r.status_code == 404, (path, r.status_code)
            assert "PT Resin" not in r.text and "PO/2026" not in r.text
        for path in (f"/purchase-orders/{order['id']}/close", f"/purchase-invoices/{invoice['id']}/post",
                     f"/purchase-invoices/{invoice['id']}/cancel", f"/purchase-requests/{request['id']}/submit"):
            assert (await x.post(path, data={"csrf_token": x.csrf})).status_code == 404, path
        r = await x.post("/purchase-receipts", data={"csrf_token": x.csrf, "order_id": order["id"],
                                                     "location": "RM-WH", f"qty_{order['lines'][0]['id']}": "1"})
        assert r.status_code == 404
        r = await x.get("/purchase-orders")
        assert r.status_code == 200 and "PO/2026/00001" not in r.text
    assert tenant_sql(live.settings, "SELECT status FROM purchase_orders") == [("partially_received",)]
    assert tenant_sql(live.settings, "SELECT status FROM purchase_invoices") == [("draft",)]
    assert tenant_sql(live.settings, "SELECT status FROM purchase_requests") == [("draft",)]
    assert tenant_sql(live.settings, "SELECT count(*) FROM goods_receipts") == [(1,)]


async def test_a_request_is_submitted_approved_and_becomes_an_order(shop, browser, live):
    async with live.tenant_client("pt-abc") as c:
        r = await c.post(f"/api/v1/partners/{shop.supplier_id}/prices", json={
            "variant_id": shop.variant_id, "side": "purchase", "price": "20000", "effective_from": "2026-01-01"})
        assert r.status_code == 201, r.text
        request = (await c.post("/api/v1/purchase-requests", json={
            "note": "for the December run", "lines": [{"variant_id": shop.variant_id, "quantity": "750"}]})).json()
    url = f"/purchase-requests/{request['id']}"
    async with browser("purchasing") as b:
        r = await b.get("/purchase-requests")
        assert r.status_code == 200 and "for the December run" in r.text and url in r.text
        r = await b.get(url)
        assert "Ajukan" in r.text and "Setujui" not in r.text
        r = await b.post(f"{url}/submit", data={"csrf_token": b.csrf}, follow_redirects=False)
        assert r.status_code == 303
        r = await b.get(url)
        assert "PR/2026/00001" in r.text and "Setujui" in r.text and "Tolak" in r.text
        assert (await b.post(f"{url}/approve", data={"csrf_token": b.csrf})).status_code == 303
        r = await b.get(url)
        assert "Jadikan pesanan pembelian" in r.text
        r = await b.post(f"{url}/convert", data={"csrf_token": b.csrf, "partner_id": "", "order_date": ""})
        assert r.status_code == 422 and "Pilih salah satu" in r.text
        r = await b.post(f"{url}/convert", data={"csrf_token": b.csrf, "partner_id": shop.supplier_id},
                         follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/purchase-orders/")
        r = await b.get(r.headers["location"])
        # 750 x 20 000 (the supplier's price list) = 15 000 000; PPN 15 000 000 x 11/12 x 12 % = 1 650 000.
        assert "Draf" in r.text and "Rp 15.000.000" in r.text and "Rp 1.650.000" in r.text
        # The draft is edited before approval: the supplier agreed 21.000 a kilo.
        order_url = str(r.url).split("?")[0]
        r = await b.get(f"{order_url}/edit")
        assert r.status_code == 200 and 'value="PP-RAF"' in r.text and 'value="750"' in r.text
        assert 'value="20000"' in r.text
        r = await b.post(f"{order_url}/edit", data={
            "csrf_token": b.csrf, "partner_id": shop.supplier_id, "expected_date": "2099-01-15",
            "variant_1": "PP-RAF", "qty_1": "750", "unit_1": "KG", "price_1": "21.000", "tax_1": "PPN-IN"},
            follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].endswith("?done=updated")
        r = await b.get(order_url)
        # 750 x 21 000 = 15 750 000; PPN 15 750 000 x 11/12 x 12 % = 1 732 500.
        assert "Rp 15.750.000" in r.text and "Rp 1.732.500" in r.text and "15 Jan 2099" in r.text
        assert (await b.post(f"{order_url}/approve", data={"csrf_token": b.csrf})).status_code == 303
        r = await b.get(f"{order_url}/edit")
        assert r.status_code == 409 and "hanya draf yang dapat diubah" in r.text
        r = await b.get("/purchase-requests", params={"status": "converted"})
        assert "PR/2026/00001" in r.text and "Dijadikan PO" in r.text


def test_every_purchasing_string_has_its_indonesian_translation():
    from babel.messages.extract import extract_from_file
    from jinja2.ext import babel_extract

    from polyflow.erp.purchasing.pages import common, invoices, orders, requests
    from polyflow.web.i18n import catalog

    root = pathlib.Path(__file__).parents[3] / "src" / "polyflow"
    found = set()
    for path in (root / "web" / "templates" / "tenant" / "purchasing").glob("*.html"):
        found |= {m[1] for m in extract_from_file(babel_extract, str(path), options={
            "extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"})}
    for path in [*(root / "erp" / "purchasing" / "pages").glob("*.py"), root / "erp" / "purchasing" / "documents.py"]:
        found |= {m[1] for m in extract_from_file("python", str(path))}
    # English labels the templates translate when shown.
    found |= set(common.NOTICES.values()) | {"Status", "Supplier", "From", "To"}
    found |= {label for module in (orders, invoices, requests) for name in ("STATUSES", "FLOW")
              for _key, label in getattr(module, name, ())}
    missing = sorted(m for m in found if isinstance(m, str) and m not in catalog("id"))
    assert len(found) > 100 and not missing, missing


async def test_a_draft_supplier_invoice_is_posted_or_cancelled_from_its_page(shop, browser, live):
    order = await _order(live, shop, receive="500")
    line = order["lines"][0]["id"]
    async with browser("purchasing") as b:
        r = await b.get("/purchase-invoices/new")  # no order given: the orders with something to invoice
        assert r.status_code == 200 and f"/purchase-invoices/new?order={order['id']}" in r.text
        form = {"csrf_token": b.csrf, "order_id": order["id"], "tax_invoice_no": "010.000-26.00000777",
                f"qty_{line}": "200", f"price_{line}": "18.500", "then": "draft"}
        r = await b.post("/purchase-invoices", data=form, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].endswith("?done=invoice_created")
        first = r.headers["location"].split("?")[0]
        r = await b.get(first)
        # 200 x 18 500 = 3 700 000; PPN 3 700 000 x 11/12 x 12 % = 407 000.
        assert "Draf" in r.text and "Rp 3.700.000" in r.text and "Rp 407.000" in r.text and "Bukukan" in r.text
        r = await b.post("/purchase-invoices", data={**form, f"qty_{line}": "300"}, follow_redirects=False)
        second = r.headers["location"].split("?")[0]
        r = await b.post(f"{second}/cancel", data={"csrf_token": b.csrf}, follow_redirects=False)
        assert r.status_code == 303
        r = await b.post(f"{first}/post", data={"csrf_token": b.csrf}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].endswith("?done=posted")
        r = await b.get(r.headers["location"])
        assert "PINV/2026/00001" in r.text and "Faktur pemasok sudah dibukukan." in r.text
        assert 'action="' + first + '/post"' not in r.text  # posted: no more actions
        r = await b.post(f"{first}/post", data={"csrf_token": b.csrf})
        assert r.status_code == 409 and "a posted invoice is never edited" in r.text
        r = await b.post("/purchase-invoices", data={**form, f"qty_{line}": "301"})
        assert r.status_code == 409 and "more than received and not yet invoiced" in r.text and 'value="301"' in r.text
    assert sorted(tenant_sql(live.settings, "SELECT status, total FROM purchase_invoices")) == [
        ("cancelled", D("6160500.00")), ("open", D("4107000.00"))]  # 5 550 000 + 610 500; 3 700 000 + 407 000


async def test_goods_go_back_to_the_supplier_with_a_debit_note(shop, browser, live):
    order = await _order(live, shop, receive="500")
    line = order["lines"][0]["id"]
    async with live.tenant_client("pt-abc") as c:
        r = await c.post("/api/v1/purchase-invoices", json={
            "order_id": order["id"], "tax_invoice_no": "0100002600000009",
            "lines": [{"order_line_id": line, "quantity": "200"}]})
        assert (await c.post(f"/api/v1/purchase-invoices/{r.json()['id']}/post")).status_code == 200
    async with browser("purchasing") as b:
        r = await b.get(f"/purchase-orders/{order['id']}")
        assert f"/purchase-returns/new?order={order['id']}" in r.text
        r = await b.get(f"/purchase-returns/new?order={order['id']}")
        assert r.status_code == 200 and "Dapat dikembalikan" in r.text
        form = {"csrf_token": b.csrf, "order_id": order["id"], "location": "RM-WH", "reason": "sobek",
                f"qty_{line}": "501"}
        r = await b.post("/purchase-returns", data=form)
        assert r.status_code == 409 and "can be returned, not 501" in r.text and 'value="501"' in r.text
        r = await b.post("/purchase-returns", data={**form, f"qty_{line}": "350"}, follow_redirects=False)
        assert r.status_code == 303, r.text[:1000]
        r = await b.get(r.headers["location"])
        # 300 not invoiced go back first; 50 were invoiced: a debit note of 50 x 18 500 = 925 000 DPP and
        # 925 000 x 11/12 x 12 % = 101 750 PPN, 1 026 750 in all.
        assert "PRET/2026/00001" in r.text and "Rp 925.000" in r.text and "Rp 101.750" in r.text
        assert "Rp 1.026.750" in r.text and "sobek" in r.text
        r = await b.get("/purchase-returns", params={"export": "csv"})
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [(row[0], D(row[6])) for row in rows[1:]] == [("PRET/2026/00001", D(1_026_750))]
    # The invoice of 200 x 18 500 + PPN = 4 107 000 is open for 4 107 000 - 1 026 750 = 3 080 250; 150 kg stay.
    assert tenant_sql(live.settings, "SELECT open_amount FROM purchase_invoices") == [(D("3080250.00"),)]
    assert tenant_sql(live.settings, "SELECT sum(on_hand) FROM stock_levels") == [(D("150"),)]
