"""The sales lists' search, filters and sort (the same service as the API, with the page's extras), and the
receipt form's refusals and cancellation: an over-allocation is a 409 that keeps what was typed, withholding
without its slip number is refused next to the field, and a cancelled receipt opens its invoice again."""

from __future__ import annotations

import csv
import html
import io

from tests.erp.payments.helpers import sales_invoice
from tests.erp.sales.helpers import customer, ok
from tests.web.sales.conftest import TODAY, browser, created_id, post_form


async def test_order_list_search_filters_sort_and_export(shop, live):
    async with live.tenant_client("pt-abc") as api:
        other = await customer(api, "C-2")
        ids = []
        for cust, qty, price in ((shop["customer"], "10", "1000"), (other, "3", "5000"), (other, "1", "700")):
            so = await ok(await api.post("/api/v1/sales-orders", json={
                "customer_id": cust, "order_date": TODAY, "location": "WH",
                "lines": [{"variant_id": shop["variant"], "quantity": qty, "unit_price": price}]}), 201)
            ids.append(so["id"])
        await ok(await api.post(f"/api/v1/sales-orders/{ids[1]}/confirm"))
    async with browser(live, "pt-abc", ["sales"]) as b:
        # Search by the customer's code: only C-2's two orders.
        r = await b.get("/sales-orders?q=C-2")
        assert r.status_code == 200 and all(f"/sales-orders/{i}" in r.text for i in ids[1:])
        assert f"/sales-orders/{ids[0]}" not in r.text
        r = await b.get("/sales-orders?status=confirmed")
        assert [i for i in ids if f"/sales-orders/{i}" in r.text] == [ids[1]]
        r = await b.get(f"/sales-orders?customer={shop['customer']}")
        assert [i for i in ids if f"/sales-orders/{i}" in r.text] == [ids[0]]
        later = (await b.get("/sales-orders?from=2099-01-01")).text
        assert all(f"/sales-orders/{i}" not in later for i in ids)
        # Sorted by total, smallest first: 700 + PPN, 10 000 + PPN, 15 000 + PPN.
        r = await b.get("/sales-orders?sort=total")
        assert [r.text.index(f"/sales-orders/{i}") for i in (ids[2], ids[0], ids[1])] == \
            sorted(r.text.index(f"/sales-orders/{i}") for i in ids)
        rows = list(csv.reader(io.StringIO((await b.get("/sales-orders?sort=-total&export=csv")).content
                                           .decode("utf-8-sig"))))
        # DPP 15 000 / 10 000 / 700; PPN 12 % of 11/12 of it: 1 650 / 1 100 / 77.
        assert [(row[5], row[6], row[7]) for row in rows[1:]] == [("15000", "1650", "16650"),
                                                                  ("10000", "1100", "11100"), ("700", "77", "777")]
        # A malformed date or sort in the address is ignored, not a 500.
        assert (await b.get("/sales-orders?from=31-12-2026&sort=nonsense")).status_code == 200


async def test_receipt_refusals_keep_the_form_and_a_cancelled_receipt_reopens_the_invoice(shop, live):
    async with live.tenant_client("pt-abc") as api:
        inv = await sales_invoice(api, shop["customer"], shop["variant"], "10", "2500", TODAY, location="WH")
    # 10 x 2 500 = 25 000 DPP; PPN 12 % of 22 917 = 2 750; total 27 750.
    assert inv["total"] == "27750.00"
    async with browser(live, "pt-abc", ["finance"]) as b:
        new = f"/receipts/new?partner={shop['customer']}"
        base = {"partner_id": shop["customer"], "payment_date": TODAY, "account": "1102"}
        r = await post_form(b, new, "/receipts", {**base, f"alloc_{inv['id']}": "30.000"})
        assert r.status_code == 409 and "more than its open amount 27750.00" in r.text
        assert 'value="30.000"' in r.text
        r = await post_form(b, new, "/receipts", {**base, f"alloc_{inv['id']}": "27.750", "withheld": "500"})
        assert r.status_code == 422 and 'value="500"' in r.text
        assert "Isi nomor bukti potong" in html.unescape(r.text)
        r = await post_form(b, new, "/receipts", {**base, f"alloc_{inv['id']}": "27.750"})
        receipt_id = created_id(r, "/receipts")
        async with live.tenant_client("pt-abc") as api:
            assert (await ok(await api.get(f"/api/v1/sales-invoices/{inv['id']}")))["status"] == "paid"
        r = await post_form(b, f"/receipts/{receipt_id}", f"/receipts/{receipt_id}/cancel",
                            {"cancel_date": TODAY, "reason": "salah transfer"})
        assert r.status_code == 303
        page = await b.get(r.headers["location"])
        assert "Dibatalkan" in page.text and "salah transfer" in page.text
        assert f"/receipts/{receipt_id}/cancel" not in page.text  # no second cancellation offered
    async with live.tenant_client("pt-abc") as api:
        got = await ok(await api.get(f"/api/v1/sales-invoices/{inv['id']}"))
        assert (got["status"], got["open_amount"]) == ("open", "27750.00")
        assert (await ok(await api.get(f"/api/v1/payments/receipts/{receipt_id}")))["status"] == "cancelled"
