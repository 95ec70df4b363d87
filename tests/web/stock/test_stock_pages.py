"""The stock pages over real HTTP and a real tenant database, in Bahasa Indonesia: who may post stock, a receipt
typed the Indonesian way ("1.750" kg at "12.500") valued in the valuation report, a transfer, a refused form
that keeps what was typed, the movement history exported as CSV and Excel, low stock and locations."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import openpyxl

from tests.fixtures.auth import tenant_sql

SUB = "pt-abc"


async def _product(api, sku: str, **extra) -> dict:
    r = await api.post("/api/v1/products", json={"sku": sku, "name": f"{sku} resin", "unit": "KG",
                                                 "product_type": "raw_material", **extra})
    assert r.status_code == 201, r.text
    return r.json()


async def _levels(api, sku: str) -> dict[str, Decimal]:
    items = (await api.get("/api/v1/stock", params={"q": sku})).json()["items"]
    return {i["location_code"]: Decimal(i["on_hand"]) for i in items if i["sku"] == sku}


async def test_warehouse_posts_stock_and_sales_may_only_look(live, make_tenant, browser):
    await make_tenant(SUB)
    async with live.tenant_client(SUB, role="owner") as api:
        await _product(api, "PP-ROLE")
    async with browser(SUB, ["sales"]) as sales:
        assert (await sales.get("/stock")).status_code == 200
        r = await sales.get("/stock/receive")
        assert r.status_code == 403 and "inventory.write" in r.text
        r = await sales.post("/stock/receive", {"sku": "PP-ROLE", "quantity": "5", "to_location": "RM-WH",
                                                "unit_cost": "1000", "reason": "purchase"})
        assert r.status_code == 403
        assert (await sales.get("/partners")).status_code == 200  # sales.read opens partners
    async with browser(SUB, ["production"]) as production:
        assert (await production.get("/partners")).status_code == 403  # neither sales nor purchasing
        assert (await production.get("/stock/issue")).status_code == 200
    async with browser(SUB, ["warehouse"]) as wh:
        form = await wh.get("/stock/receive")
        assert form.status_code == 200 and "Penerimaan barang" in form.text and 'list="stock-variants"' in form.text
        assert '<option value="PP-ROLE">' in form.text  # the product search (datalist)
        r = await wh.post("/stock/receive", {"sku": "PP-ROLE", "quantity": "5", "to_location": "RM-WH",
                                             "unit_cost": "1000", "reason": "purchase"})
        assert r.status_code == 303, r.text
    assert tenant_sql(live.settings, "SELECT count(*) FROM stock_movements")[0][0] == 1


async def test_a_receipt_typed_the_indonesian_way_lands_as_1750_kg_worth_21_875_000(live, make_tenant, browser):
    await make_tenant(SUB)
    async with live.tenant_client(SUB, role="owner") as api:
        await _product(api, "PP-ID")
        async with browser(SUB, ["warehouse"]) as wh:
            r = await wh.post("/stock/receive", {"sku": "PP-ID", "quantity": "1.750", "to_location": "RM-WH",
                                                 "unit_cost": "12.500", "reason": "purchase",
                                                 "reference": "SJ-77", "posting_date": ""})
            assert r.status_code == 303, r.text
            assert r.headers["location"].startswith("/stock/moves?done=IN&movement=")
            history = await wh.get(r.headers["location"])
            [number] = tenant_sql(live.settings, "SELECT number FROM stock_movements")[0]
            assert f"Penerimaan {number} telah dibukukan." in history.text
            assert "1.750" in history.text and "Rp 21.875.000" in history.text and "SJ-77" in history.text

            assert await _levels(api, "PP-ID") == {"RM-WH": Decimal("1750")}
            [(qty, value)] = tenant_sql(live.settings, "SELECT quantity, value FROM stock_movements")
            assert qty == Decimal("1750.000") and value == Decimal("21875000.00")  # 1 750 x 12 500

            valuation = await wh.get("/stock/valuation")
            assert valuation.status_code == 200
            assert 'id="total-value">Rp 21.875.000<' in valuation.text
            assert "RM-WH" in valuation.text and "1.750" in valuation.text

            # The day before the receipt there was nothing.
            before = await wh.get("/stock/valuation", params={"as_of": "2000-01-01"})
            assert 'id="total-value">Rp 0<' in before.text

            # In English the same figures read the English way.
            tenant_sql(live.settings, "UPDATE users SET language = 'en'")
            english = await wh.get("/stock/valuation")
            assert "Stock valuation" in english.text and 'id="total-value">Rp 21,875,000<' in english.text
            assert "1,750" in english.text


async def test_a_transfer_moves_stock_and_the_valuation_splits_it_by_location(live, make_tenant, browser):
    await make_tenant(SUB)
    async with live.tenant_client(SUB, role="owner") as api:
        await _product(api, "PP-TRF")
        async with browser(SUB, ["warehouse"]) as wh:
            r = await wh.post("/stock/receive", {"sku": "PP-TRF", "quantity": "1.000", "to_location": "RM-WH",
                                                 "unit_cost": "12.000", "reason": "purchase"})
            assert r.status_code == 303
            form = await wh.get("/stock/transfer?sku=PP-TRF")
            assert form.status_code == 200 and 'value="PP-TRF"' in form.text
            r = await wh.post("/stock/transfer", {"sku": "PP-TRF", "quantity": "250,5", "from_location": "RM-WH",
                                                  "to_location": "MIXING"})
            assert r.status_code == 303, r.text
            history = await wh.get(r.headers["location"])
            assert "Transfer TRF/" in history.text and "telah dibukukan" in history.text
            assert await _levels(api, "PP-TRF") == {"RM-WH": Decimal("749.5"), "MIXING": Decimal("250.5")}

            levels = await wh.get("/stock", params={"q": "PP-TRF", "nonzero": "1"})
            assert "749,5" in levels.text and "250,5" in levels.text
            # 749.5 x 12 000 = 8 994 000 and 250.5 x 12 000 = 3 006 000; together the receipt's 12 000 000.
            valuation = await wh.get("/stock/valuation", params={"export": "csv"})
            rows = list(csv.reader(io.StringIO(valuation.text)))
            by_location = {row[3]: (Decimal(row[5]), Decimal(row[7])) for row in rows[1:]}
            assert by_location == {"RM-WH": (Decimal("749.500"), Decimal("8994000.00")),
                                   "MIXING": (Decimal("250.500"), Decimal("3006000.00"))}

            # Taking more than is there is refused with the reason next to the quantity; nothing moves.
            r = await wh.post("/stock/issue", {"sku": "PP-TRF", "quantity": "800", "from_location": "RM-WH",
                                               "reason": "consumption"})
            assert r.status_code == 409 and "insufficient stock" in r.text and 'id="e-quantity"' in r.text
            assert await _levels(api, "PP-TRF") == {"RM-WH": Decimal("749.5"), "MIXING": Decimal("250.5")}

            # An issue to consumption, a count that found 100 missing and one that found 0,5 more.
            r = await wh.post("/stock/issue", {"sku": "PP-TRF", "quantity": "49,5", "from_location": "RM-WH",
                                               "reason": "consumption"})
            assert r.status_code == 303 and "done=OUT" in r.headers["location"]
            r = await wh.post("/stock/adjust", {"sku": "PP-TRF", "quantity": "100", "location": "MIXING",
                                                "direction": "out", "reason": "count"})
            assert r.status_code == 303 and "done=ADJUSTMENT" in r.headers["location"]
            assert "Penyesuaian ADJ/" in (await wh.get(r.headers["location"])).text
            r = await wh.post("/stock/adjust", {"sku": "PP-TRF", "quantity": "0,5", "location": "MIXING",
                                                "direction": "in", "reason": "count"})
            assert r.status_code == 303
            assert await _levels(api, "PP-TRF") == {"RM-WH": Decimal("700"), "MIXING": Decimal("151")}
            # Everything moved at the moving average of Rp 12.000: 851 kg are worth Rp 10.212.000.
            valuation = await wh.get("/stock/valuation")
            assert 'id="total-value">Rp 10.212.000<' in valuation.text


async def test_a_refused_form_keeps_what_was_typed(live, make_tenant, browser):
    await make_tenant(SUB)
    async with live.tenant_client(SUB, role="owner") as api:
        await _product(api, "PP-BAD")
    async with browser(SUB, ["warehouse"]) as wh:
        r = await wh.post("/stock/receive", {"sku": "PP-BAD", "quantity": "satu", "to_location": "RM-WH",
                                             "unit_cost": "12.500", "reason": "purchase", "reference": "SJ-<9>"})
        assert r.status_code == 422
        assert 'value="satu"' in r.text and 'value="12.500"' in r.text and 'value="SJ-&lt;9&gt;"' in r.text
        assert re.search(r'id="e-quantity"[^>]*>[^<]*satu', r.text)  # the message sits next to the field
        r = await wh.post("/stock/receive", {"sku": "NO-SUCH", "quantity": "3", "to_location": "RM-WH",
                                             "unit_cost": "1", "reason": "purchase"})
        assert r.status_code == 422 and "unknown variant" in r.text and 'id="e-sku"' in r.text
        assert 'value="NO-SUCH"' in r.text
        r = await wh.post("/stock/adjust", {"sku": "PP-BAD", "quantity": "3", "location": "RM-WH",
                                            "reason": "count"})
        assert r.status_code == 422 and 'id="e-direction"' in r.text
    assert tenant_sql(live.settings, "SELECT count(*) FROM stock_movements")[0][0] == 0


async def test_movement_history_exports_as_csv_and_excel(live, make_tenant, browser):
    await make_tenant(SUB)
    async with live.tenant_client(SUB, role="owner") as api:
        await _product(api, "PP-EXP")
        await _product(api, "PE-OTHER")
    async with browser(SUB, ["warehouse"]) as wh:
        for sku, qty in (("PP-EXP", "1.750"), ("PE-OTHER", "3")):
            r = await wh.post("/stock/receive", {"sku": sku, "quantity": qty, "to_location": "RM-WH",
                                                 "unit_cost": "12.500", "reason": "purchase"})
            assert r.status_code == 303
        r = await wh.get("/stock/moves", params={"sku": "PP-EXP", "kind": "IN", "export": "csv"})
        assert r.status_code == 200
        rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
        assert rows[0][:3] == ["Nomor", "Tanggal", "Jenis mutasi"] and len(rows) == 2  # the filter kept PE-OTHER out
        record = dict(zip(rows[0], rows[1]))
        assert record["SKU"] == "PP-EXP" and Decimal(record["Jumlah"]) == Decimal("1750")
        assert Decimal(record["Nilai"]) == Decimal("21875000")

        r = await wh.get("/stock/moves", params={"sku": "PP-EXP", "export": "xlsx"})
        assert r.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        values = list(sheet.iter_rows(values_only=True))
        header, first = values[0], values[1]
        assert Decimal(str(first[header.index("Jumlah")])) == Decimal("1750")
        assert Decimal(str(first[header.index("Nilai")])) == Decimal("21875000")

        # Filters by date range: nothing before the receipts.
        r = await wh.get("/stock/moves", params={"to": "2000-01-01"})
        assert r.status_code == 200 and "Tidak ada mutasi yang cocok." in r.text


async def test_low_stock_shows_what_to_reorder_and_locations_can_be_added(live, make_tenant, browser):
    await make_tenant(SUB)
    async with live.tenant_client(SUB, role="owner") as api:
        await _product(api, "PP-LOW", min_stock="500", reorder_qty="1000")
    async with browser(SUB, ["warehouse"]) as wh:
        r = await wh.post("/stock/receive", {"sku": "PP-LOW", "quantity": "120", "to_location": "RM-WH",
                                             "unit_cost": "10.000", "reason": "purchase"})
        assert r.status_code == 303
        r = await wh.get("/stock/low", params={"export": "csv"})
        rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
        record = dict(zip(rows[0], rows[1]))
        # 500 - 120 = 380 short; the product's reorder quantity (1 000) is the order to place.
        assert record["SKU"] == "PP-LOW" and Decimal(record["Kekurangan"]) == 380
        assert Decimal(record["Saran pesanan"]) == 1000

        r = await wh.post("/locations", {"code": "FG-WH2", "name": "Gudang barang jadi 2", "kind": "warehouse"})
        assert r.status_code == 303 and r.headers["location"] == "/locations?done=created"
        listing = await wh.get(r.headers["location"])
        assert "FG-WH2" in listing.text and "Lokasi telah ditambahkan." in listing.text
        r = await wh.post("/locations", {"code": "FG-WH2", "name": "Again", "kind": "warehouse"})
        assert r.status_code == 409 and "already used" in r.text and 'value="Again"' in r.text
