"""The dashboard over real HTTP: its tiles carry the figures of the books (hand-computed here), each only for a
role that may read its module, each linking to its page; sales per day are an inline SVG without style
attributes; an empty workspace shows zeros, not an error."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tests.erp.identity.test_pages import signed_in_client
from tests.erp.sales.helpers import customer, ok, receive

SUB = "pt-abc"


def tile(page: str, href: str) -> str:
    """The text of the tile linking to `href` ('' when there is none)."""
    found = re.search(rf'<li class="kpi[^"]*">\s*<a href="{re.escape(href)}">(.*?)</li>', page, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""


async def test_tiles_show_the_books_figures_to_the_roles_that_may_read_them(live, make_tenant):
    await make_tenant(SUB, "PT Plastik Abadi")
    day = datetime.now(ZoneInfo("Asia/Jakarta")).date()  # the workspace's day (WIB)
    today, before = day.isoformat(), (day - timedelta(days=40)).isoformat()
    async with live.tenant_client(SUB, role="owner") as api:
        product = await ok(await api.post("/api/v1/products", json={
            "sku": "PP-BAG", "name": "PP woven bag", "unit": "PCS", "sell_price": "3000", "min_stock": "100"}), 201)
        variant = product["variants"][0]["id"]
        # 40 x 2.000 = 80.000 in stock 45 days ago, below the 100 minimum.
        await receive(api, variant, "40", "2000", (day - timedelta(days=45)).isoformat(), "FG-WH")
        buyer = await customer(api, "C-DASH")  # 30 days' terms

        async def sell(on: str, quantity: str) -> dict:
            so = await ok(await api.post("/api/v1/sales-orders", json={
                "customer_id": buyer, "order_date": on, "location": "FG-WH",
                "lines": [{"variant_id": variant, "quantity": quantity, "unit_price": "3000"}]}), 201)
            so = await ok(await api.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
            d = await ok(await api.post("/api/v1/deliveries", json={
                "order_id": so["id"], "delivery_date": on,
                "lines": [{"order_line_id": so["lines"][0]["id"], "quantity": quantity}]}), 201)
            await ok(await api.post(f"/api/v1/deliveries/{d['id']}/post"))
            inv = await ok(await api.post("/api/v1/sales-invoices", json={"order_id": so["id"], "invoice_date": on}),
                           201)
            return await ok(await api.post(f"/api/v1/sales-invoices/{inv['id']}/post"))

        late = await sell(before, "4")  # due 10 days ago: in the 1-30 days bucket
        inv = await sell(today, "10")
        # A second order, confirmed and not delivered: the one open sales order.
        open_so = await ok(await api.post("/api/v1/sales-orders", json={
            "customer_id": buyer, "order_date": today, "location": "FG-WH",
            "lines": [{"variant_id": variant, "quantity": "5", "unit_price": "3000"}]}), 201)
        open_so = await ok(await api.post(f"/api/v1/sales-orders/{open_so['id']}/confirm"))
        aging = await ok(await api.get("/api/v1/reports/ar-aging"))
    # 10 x 3.000 = 30.000 DPP invoiced today; PPN 12 % of 11/12 of it = 3.300; 4 x 3.000 = 12.000 + 1.320 earlier.
    assert Decimal(inv["base"]) == 30000 and Decimal(inv["total"]) == 33300, inv
    assert Decimal(late["total"]) == 13320 and late["due_date"] == (day - timedelta(days=10)).isoformat(), late
    assert Decimal(open_so["total"]) == 16650  # 15.000 + 1.650
    # The tile's sums are the report's totals.
    assert (Decimal(aging["total"]), Decimal(aging["totals"]["current"]), Decimal(aging["totals"]["days_1_30"])) == \
        (46620, 33300, 13320), aging

    async with signed_in_client(live, ["owner"]) as (client, _user):
        home = await client.get("/")
        assert home.status_code == 200 and "PT Plastik Abadi" in home.text
        # 26 left x 2.000 = 52.000 (the 14 delivered left the stock at their average cost).
        assert tile(home.text, "/stock/valuation") == "Nilai stok Rp 52.000 produk ada stok: 1", \
            tile(home.text, "/stock/valuation")
        assert tile(home.text, "/stock/low") == "Stok Menipis 1 produk di bawah stok minimum"
        assert tile(home.text, "/sales-orders") == "Pesanan penjualan terbuka 1 senilai Rp 16.650"
        assert tile(home.text, "/purchase-orders") == "Pesanan pembelian terbuka 0 senilai Rp 0"
        ar = tile(home.text, "/reports/ar-aging")
        assert ar.startswith("Piutang (AR) Rp 46.620 Rp 13.320 lewat jatuh tempo"), ar
        assert "Belum jatuh tempo Rp 33.300 1-30 hari Rp 13.320 31-60 hari Rp 0" in ar and "Lebih dari 90 hari Rp 0" in ar
        assert '<li class="kpi warn">\n    <a href="/reports/ar-aging">' in home.text
        assert tile(home.text, "/reports/ap-aging").startswith("Hutang (AP) Rp 0")
        assert tile(home.text, "/production/kpi") == "Produksi hari ini 0 kg belum ada output yang dicatat"

        # The chart: 30 bars, today's the tallest (120 units) with the day's DPP, nothing on the other days.
        svg = re.search(r'<svg class="chart".*?</svg>', home.text, re.S).group(0)
        bars = re.findall(r'<rect class="bar" x="\d+" y="(\d+)" width="16" height="(\d+)" data-day="([\d-]+)" '
                          r'data-amount="([\d.-]+)"', svg)
        assert len(bars) == 30 and bars[-1] == ("10", "120", today, "30000.00"), bars[-1]
        assert all(height == "0" for _y, height, _d, _a in bars[:-1])
        assert "style=" not in home.text and "<script>" not in home.text  # CSP: no inline style or script
        assert "Total Rp 30.000" in home.text

        # English follows the user's language.
        token = re.search(r'name="csrf_token" value="([^"]*)"', (await client.get("/account")).text).group(1)
        await client.post("/account/language", data={"csrf_token": token, "language": "en"})
        home = await client.get("/")
        assert tile(home.text, "/stock/valuation") == "Stock value Rp 52,000 products in stock: 1"
        assert "Sales per day, last 30 days" in home.text

    # A salesperson: stock, sales and receivables (as their reports demand); no purchasing, payables or production.
    async with signed_in_client(live, ["sales"]) as (client, _user):
        home = await client.get("/")
        assert tile(home.text, "/stock/valuation") and tile(home.text, "/sales-orders")
        assert tile(home.text, "/reports/ar-aging").startswith("Piutang (AR) Rp 46.620")
        for href in ("/purchase-orders", "/reports/ap-aging", "/production/kpi"):
            assert tile(home.text, href) == "", href
        assert '<svg class="chart"' in home.text
    # Production sees only its floor and the stock; finance reads every module.
    async with signed_in_client(live, ["production"]) as (client, _user):
        home = await client.get("/")
        assert tile(home.text, "/production/kpi") and tile(home.text, "/stock/low")
        assert not tile(home.text, "/sales-orders") and '<svg class="chart"' not in home.text
        assert not tile(home.text, "/reports/ar-aging") and not tile(home.text, "/reports/ap-aging")
    async with signed_in_client(live, ["finance"]) as (client, _user):
        home = await client.get("/")
        assert all(tile(home.text, href) for href in ("/stock/valuation", "/sales-orders", "/purchase-orders",
                                                      "/reports/ar-aging", "/reports/ap-aging", "/production/kpi"))


async def test_an_empty_workspace_shows_zeros(live, make_tenant):
    await make_tenant(SUB)
    async with signed_in_client(live, ["viewer"]) as (client, _user):
        home = await client.get("/")
        assert home.status_code == 200
        assert tile(home.text, "/stock/valuation") == "Nilai stok Rp 0 produk ada stok: 0"
        assert tile(home.text, "/stock/low") == "Stok Menipis 0 semua produk di atas stok minimum"
        assert len(re.findall(r'<rect class="bar"[^>]* height="0"', home.text)) == 30
