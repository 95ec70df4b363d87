"""Procure to pay through the pages, in Bahasa Indonesia, with hand-computed figures: a PO of 2.000 KG at a
price typed "18.500" (Indonesian grouping: 18 500), approved, 1.500 KG received with a lot number, the supplier's
invoice posted with its faktur number; the stock shows 1 500 kg and the ledger agrees."""

from __future__ import annotations

from decimal import Decimal as D

from tests.fixtures.auth import tenant_sql

FAKTUR = "010.000-26.00000123"


def rp(value: D) -> str:
    """Rupiah the Indonesian way, written out here rather than with the app's formatter."""
    return "Rp " + f"{int(value):,}".replace(",", ".")


async def test_order_approve_receive_invoice_through_the_pages(shop, browser, live):
    async with browser("purchasing") as b:
        r = await b.get("/purchase-orders/new")
        assert r.status_code == 200 and "Pesanan Pembelian Baru" in r.text, r.text[:500]
        r = await b.post("/purchase-orders", data={
            "csrf_token": b.csrf, "partner_id": shop.supplier_id, "expected_date": "",
            "variant_1": "pp-raf", "qty_1": "2.000", "unit_1": "KG", "price_1": "18.500", "tax_1": "",
            "variant_2": "", "qty_2": "", "price_2": ""}, follow_redirects=False)
        assert r.status_code == 303, r.text[:2000]
        order_url = r.headers["location"].split("?")[0]
        order_id = order_url.rsplit("/", 1)[1]
        [(qty, price, status)] = tenant_sql(live.settings, "SELECT l.quantity, l.unit_price, o.status FROM "
                                            "purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id")
        assert (qty, price, status) == (D("2000"), D("18500"), "draft")  # "2.000" and "18.500" read the Indonesian way

        # Hand-computed: DPP 2 000 x 18 500 = 37 000 000; PPN 12 % on DPP nilai lain 11/12 (the tenant's rule
        # from 2025) = 37 000 000 x 11/12 x 12 % = 4 070 000 (the 11 % of old); total 41 070 000.
        dpp = D(2000) * D(18500)
        ppn = dpp * 11 / 12 * 12 / 100
        assert (dpp, ppn) == (D(37_000_000), D(4_070_000))
        r = await b.get(order_url)
        assert r.status_code == 200
        for text in ("Draf", rp(dpp), rp(ppn), rp(dpp + ppn), "Setujui", "2.000", "Rp 18.500"):
            assert text in r.text, text
        assert "Terima barang" not in r.text  # not before approval

        r = await b.post(f"{order_url}/approve", data={"csrf_token": b.csrf}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"{order_url}?done=approved"
        r = await b.get(r.headers["location"])
        assert "PO/2026/00001" in r.text and "Disetujui" in r.text and "Terima barang" in r.text
        r = await b.post(f"{order_url}/approve", data={"csrf_token": b.csrf})
        assert r.status_code == 409 and "already approved" in r.text

        # Receive 1.500 of the 2.000 into RM-WH with the supplier's lot.
        r = await b.get(f"/purchase-receipts/new?order={order_id}")
        assert r.status_code == 200 and 'value="2000"' in r.text  # the open quantity filled in
        assert '<option value="RM-WH" selected>' in r.text  # the raw-material warehouse, not the first by name
        [(line_id,)] = tenant_sql(live.settings, "SELECT id FROM purchase_order_lines")
        r = await b.post("/purchase-receipts", data={
            "csrf_token": b.csrf, "order_id": order_id, "location": "RM-WH", "delivery_note": "SJ-77",
            f"qty_{line_id}": "1.500", f"lot_{line_id}": "LOT-A1"}, follow_redirects=False)
        assert r.status_code == 303, r.text[:2000]
        receipt_url = r.headers["location"].split("?")[0]
        r = await b.get(receipt_url)
        assert r.status_code == 200
        assert all(t in r.text for t in ("GRN/2026/00001", "LOT-A1", "1.500", rp(D(1500) * D(18500)), "SJ-77"))
        r = await b.get(order_url)
        assert "Diterima sebagian" in r.text

        # Invoice the 1 500 received: DPP 1 500 x 18 500 = 27 750 000; PPN 27 750 000 x 11/12 x 12 % = 3 052 500.
        dpp = D(1500) * D(18500)
        ppn = dpp * 11 / 12 * 12 / 100
        assert (dpp, ppn) == (D(27_750_000), D(3_052_500))
        r = await b.get(f"/purchase-invoices/new?order={order_id}")
        assert r.status_code == 200 and 'value="1500"' in r.text and 'value="18500"' in r.text
        form = {"csrf_token": b.csrf, "order_id": order_id, "supplier_invoice_no": "INV-RN-991",
                f"qty_{line_id}": "1.500", f"price_{line_id}": "18.500", "then": "post"}
        r = await b.post("/purchase-invoices", data=form)
        assert r.status_code == 422 and "faktur" in r.text  # PPN is not credited without the faktur number
        assert 'value="INV-RN-991"' in r.text  # what was typed is kept
        assert tenant_sql(live.settings, "SELECT count(*) FROM purchase_invoices") == [(0,)]
        r = await b.post("/purchase-invoices", data={**form, "tax_invoice_no": FAKTUR}, follow_redirects=False)
        assert r.status_code == 303, r.text[:2000]
        r = await b.get(r.headers["location"])
        assert r.status_code == 200
        for text in ("PINV/2026/00001", rp(dpp), rp(ppn), rp(dpp + ppn), "0100002600000123", "INV-RN-991"):
            assert text in r.text, text
        [(sub, tax, total, open_)] = tenant_sql(live.settings, "SELECT subtotal, tax_amount, total, open_amount "
                                                "FROM purchase_invoices")
        assert (sub, tax, total, open_) == (dpp, ppn, dpp + ppn, dpp + ppn)

        r = await b.get("/purchase-invoices?status=unpaid")
        assert r.status_code == 200 and "PINV/2026/00001" in r.text and rp(dpp + ppn) in r.text
        r = await b.get("/purchase-invoices?status=paid")
        assert "PINV/2026/00001" not in r.text

    # The stock: 1 500 kg in RM-WH, on the stock page and through the API.
    async with browser("warehouse") as w:
        r = await w.get("/stock?q=PP-RAF")
        assert r.status_code == 200 and "1.500" in r.text, r.text[-3000:]
        r = await w.get("/api/v1/stock", params={"q": "PP-RAF"})
        levels = [row for row in r.json()["items"] if D(row["on_hand"])]
        assert [(row["location_code"], D(row["on_hand"])) for row in levels] == [("RM-WH", D(1500))]
