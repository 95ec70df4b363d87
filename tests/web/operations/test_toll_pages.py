"""Toll order pages over real HTTP and PostgreSQL: a draft typed the Indonesian way, confirmed, 5.000 kg of the
customer's resin received, a consumption beyond the balance refused on the page (409, input kept, nothing
recorded), production and delivery, completion and the fee invoice with hand-computed figures; the list and
the material report export; roles and another tenant's ids."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal as D

import openpyxl

from tests.erp.sales.helpers import customer, ok
from tests.web.operations.conftest import text_of

TO = "/api/v1/toll-orders"


async def _setup(api) -> tuple[str, str, str]:
    cust = await customer(api, "C-MKL")
    resin = (await ok(await api.post("/api/v1/products", json={
        "sku": "MKL-PP", "name": "Resin PP pelanggan", "unit": "KG", "product_type": "raw_material"}), 201))
    fabric = (await ok(await api.post("/api/v1/products", json={
        "sku": "MKL-KAIN", "name": "Kain karung maklon", "unit": "KG", "product_type": "finished_good"}), 201))
    return cust, resin["variants"][0]["id"], fabric["variants"][0]["id"]


async def _new_order(b, cust: str) -> str:
    r = await b.post("/toll-orders", {
        "customer_id": cust, "order_date": "", "service_description": "Jasa maklon kain karung",
        "fee_price": "1.250", "fee_basis": "KG", "material_sku_1": "mkl-pp", "material_qty_1": "5.000",
        "finished_sku_1": "MKL-KAIN", "finished_qty_1": "4.800"})
    assert r.status_code == 422 and "wajib" in r.text.lower() and 'value="1.250"' in r.text  # the date
    r = await b.post("/toll-orders", {
        "customer_id": cust, "order_date": "2026-11-02", "service_description": "Jasa maklon kain karung",
        "fee_price": "1.250", "fee_basis": "KG", "material_sku_1": "mkl-pp", "material_qty_1": "5.000",
        "finished_sku_1": "MKL-KAIN", "finished_qty_1": "4.800", "customer_reference": "PO-77"})
    assert r.status_code == 303, r.text[:800]
    m = re.fullmatch(r"/toll-orders/([0-9a-f-]{36})\?done=created", r.headers["location"])
    assert m, r.headers["location"]
    return m.group(1)


async def test_toll_order_through_the_pages_with_a_refused_consumption_and_the_fee_invoice(make_tenant, live,
                                                                                             browser):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as api, browser("pt-abc", ["production"]) as b:
        cust, resin, fabric = await _setup(api)
        assert (await b.get("/toll-orders/new")).status_code == 200
        order_id = await _new_order(b, cust)
        order = await ok(await api.get(f"{TO}/{order_id}"))
        # "1.250" is one thousand two hundred fifty rupiah per kg; "5.000" five thousand kg.
        assert (order["status"], order["fee_price"]) == ("draft", "1250.00")
        assert (D(order["lines"][0]["material_qty"]), D(order["lines"][0]["finished_qty"])) == (5000, 4800)

        r = await b.post(f"/toll-orders/{order_id}/confirm")
        assert r.status_code == 303
        r = await b.post(f"/toll-orders/{order_id}/receive", {f"receive-{resin}": "5.000", "move_date": "2026-11-03",
                                                              "reference": "SJ-C-001"})
        assert r.status_code == 303 and r.headers["location"].endswith("?done=received")
        page = text_of((await b.get(r.headers["location"])).text)
        assert "5.000" in page and "SJ-C-001" in page and "Penerimaan bahan tercatat" in page

        # 5.000,5 kg is half a kilo more than the customer's 5 000 kg: 409 on the page, what was typed kept.
        r = await b.post(f"/toll-orders/{order_id}/consume", {
            f"consume-{resin}": "5.000,5", f"produce-{fabric}": "4.700", "move_date": "2026-11-04"})
        assert r.status_code == 409, r.text[:500]
        assert "cannot consume 5000.5 KG of MKL-PP" in r.text and "on hand 5000" in r.text
        assert 'value="5.000,5"' in r.text and 'value="4.700"' in r.text
        balance = await ok(await api.get(f"{TO}/{order_id}/balance"))
        assert (D(balance["rows"][0]["on_hand"]), D(balance["rows"][0]["consumed"])) == (5000, 0)

        # 4 900 kg consumed, 100 kg scrap, 4 700 kg of fabric made; 4 700 delivered; nothing left with us.
        r = await b.post(f"/toll-orders/{order_id}/consume", {
            f"consume-{resin}": "4.900", f"scrap-{resin}": "100", f"produce-{fabric}": "4.700",
            "move_date": "2026-11-04"})
        assert r.status_code == 303, r.text[:500]
        r = await b.post(f"/toll-orders/{order_id}/deliver", {f"deliver-{fabric}": "4.700", "move_date": "2026-11-05"})
        assert r.status_code == 303, r.text[:500]
        r = await b.post(f"/toll-orders/{order_id}/complete")
        assert r.status_code == 303, r.text[:500]
        page = text_of((await b.get(f"/toll-orders/{order_id}")).text)
        # Fee: 4 700 kg x Rp 1.250 = Rp 5.875.000 before PPN.
        assert "Rp 5.875.000" in page and "Selesai" in page
        r = await b.post(f"/toll-orders/{order_id}/invoice", {"invoice_date": "2026-11-06"})
        assert r.status_code == 303, r.text[:500]
        order = await ok(await api.get(f"{TO}/{order_id}"))
        assert order["status"] == "invoiced" and order["sales_invoice_id"]
        # PPh 23 2 % of the fee's DPP 5,875,000 = 117,500.
        assert order["pph23_expected"] == "117500.00"
        page = text_of((await b.get(f"/toll-orders/{order_id}")).text)
        assert "Rp 117.500" in page and f'/invoices/{order["sales_invoice_id"]}' in (
            await b.get(f"/toll-orders/{order_id}")).text

        # The list and the customer material report export.
        r = await b.get("/toll-orders?export=csv&customer=C-MKL")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[1][0] == order["number"] and D(rows[1][4]) == 1250 and rows[1][6] == "invoiced"
        r = await b.get("/toll-orders/material?export=xlsx&as_of=2026-11-03")
        values = list(openpyxl.load_workbook(io.BytesIO(r.content)).active.values)
        assert values[1][1] == "MKL-PP" and values[1][4] == 5000 and values[1][8] == 5000
        page = await b.get("/toll-orders/material")
        assert page.status_code == 200 and "MKL-KAIN" in page.text


async def test_roles_and_another_tenants_toll_order(make_tenant, live, browser):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as api, browser("pt-abc") as owner:
        cust, _resin, _fabric = await _setup(api)
        order_id = await _new_order(owner, cust)
    async with browser("pt-abc", ["sales"]) as sales:
        for path in ("/toll-orders", "/toll-orders/new", f"/toll-orders/{order_id}", "/toll-orders/material"):
            r = await sales.get(path)
            assert r.status_code == 403 and "production" in r.text, path
        assert (await sales.post(f"/toll-orders/{order_id}/confirm")).status_code == 403
    async with browser("pt-abc", ["warehouse"]) as reader:  # production.read only
        assert (await reader.get(f"/toll-orders/{order_id}")).status_code == 200
        assert (await reader.post(f"/toll-orders/{order_id}/confirm")).status_code == 403
    async with live.tenant_client("pt-abc") as api:
        assert (await ok(await api.get(f"{TO}/{order_id}")))["status"] == "draft"
    async with browser("pt-xyz") as other:
        assert (await other.get(f"/toll-orders/{order_id}")).status_code == 404
        assert (await other.post(f"/toll-orders/{order_id}/confirm")).status_code == 404
        assert (await other.get("/toll-orders/nope")).status_code == 404
