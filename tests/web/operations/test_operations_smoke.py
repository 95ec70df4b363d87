"""Every operations page renders for a permitted role in Bahasa Indonesia and in English, with a document of
each kind in place (a count, a toll order, an MRP run), and the words follow the reader's language."""

from __future__ import annotations

import re

from tests.erp.sales.helpers import customer, ok


async def test_every_operations_page_renders_in_both_languages(make_tenant, live, browser):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as api:
        cust = await customer(api, "C-SMOKE")
        resin = (await ok(await api.post("/api/v1/products", json={
            "sku": "SM-PP", "name": "Resin", "unit": "KG", "min_stock": "10", "reorder_qty": "100"}), 201))
        await ok(await api.post("/api/v1/stock-movements", json={
            "kind": "IN", "sku": "SM-PP", "quantity": "5", "unit_cost": "1000", "to_location": "RM-WH"}), 201)
        count = await ok(await api.post("/api/v1/stock-counts", json={"location": "RM-WH"}), 201)
        vid = resin["variants"][0]["id"]
        order = await ok(await api.post("/api/v1/toll-orders", json={
            "customer_id": cust, "order_date": "2026-11-02", "service_description": "Jasa maklon", "fee_price": "1000",
            "lines": [{"material_variant_id": vid, "material_qty": "10", "finished_variant_id": vid,
                       "finished_qty": "9"}]}), 201)
        await ok(await api.post("/api/v1/mrp/run", json={}), 201)
    paths = ["/stock-counts", "/stock-counts/new", f"/stock-counts/{count['id']}",
             f"/stock-counts/{count['id']}/count", "/toll-orders", "/toll-orders/new", f"/toll-orders/{order['id']}",
             "/toll-orders/material", "/planning"]
    words = {"id": ("Stok opname", "Order maklon", "Jalankan MRP"), "en": ("Stock count", "Toll order", "Run MRP")}
    for lang in ("id", "en"):
        async with browser("pt-abc", ["owner"], language=lang) as b:
            seen = ""
            for path in paths:
                r = await b.get(path)
                assert r.status_code == 200, (lang, path, r.status_code, r.text[:300])
                assert f'<html lang="{lang}">' in r.text and " style=" not in r.text and "<script>" not in r.text
                seen += r.text
            for word in words[lang]:
                assert word in seen, (lang, word)
            other = words["en" if lang == "id" else "id"]
            assert not any(re.search(rf">\s*{re.escape(w)}", seen) for w in other[1:]), lang
