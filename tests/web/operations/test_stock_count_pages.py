"""Stock count pages over real HTTP and PostgreSQL: a count opened on the page, counted on the blind tablet
screen with an Indonesian quantity, submitted and approved; variances with hand-computed values; form errors
keep what was typed; the list exports; roles and another tenant's ids."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal as D

import openpyxl

from tests.web.operations.conftest import text_of

SC = "/api/v1/stock-counts"


async def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:500])
    return response.json()


async def _stocked_resin(api) -> str:
    """SC-PP: 1,200 kg at RM-WH at 21,500 (one receipt); also counted in ZAK of 25 kg. Its variant id."""
    body = {"sku": "SC-PP", "name": "Polypropylene rafia", "unit": "KG", "product_type": "raw_material",
            "buy_price": "21000", "sales_unit": "ZAK", "sales_unit_factor": "25"}
    variant = (await ok(await api.post("/api/v1/products", json=body), 201))["variants"][0]["id"]
    await ok(await api.post("/api/v1/stock-movements", json={
        "kind": "IN", "sku": "SC-PP", "quantity": "1200", "unit_cost": "21500", "to_location": "RM-WH"}), 201)
    return variant


async def _open_count(b) -> str:
    r = await b.post("/stock-counts", {"location": "RM-WH", "skus": "sc-pp", "note": "opname akhir bulan"})
    assert r.status_code == 303, r.text[:500]
    m = re.fullmatch(r"/stock-counts/([0-9a-f-]{36})\?done=created", r.headers["location"])
    assert m, r.headers["location"]
    return m.group(1)


async def test_a_count_through_the_pages_blind_screen_indonesian_quantity_variance_and_stock(make_tenant, live,
                                                                                           browser):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as api, browser("pt-abc", ["warehouse"]) as b:
        variant = await _stocked_resin(api)
        assert (await b.get("/stock-counts/new")).status_code == 200
        count_id = await _open_count(b)
        page = await b.get(f"/stock-counts/{count_id}?done=created")
        assert page.status_code == 200 and "Stok opname dibuka" in page.text and "Buka layar penghitungan" in page.text
        assert "1.200" not in text_of(page.text)  # the count's own page is blind while open too

        # The counting screen is blind: the book 1.200 (1,200 kg) appears nowhere on it.
        screen = await b.get(f"/stock-counts/{count_id}/count")
        assert screen.status_code == 200 and "SC-PP" in screen.text and f'name="qty-{variant}"' in screen.text
        shown = text_of(screen.text)
        assert "1.200" not in shown and "1200" not in screen.text and "21.500" not in shown
        assert '<option value="ZAK">' in screen.text  # the product's other unit

        # A typo first: 422, the typed text kept, the message next to the field, nothing recorded.
        r = await b.post(f"/stock-counts/{count_id}/count", {f"qty-{variant}": "12x5", f"unit-{variant}": "KG",
                                                              "counted_by": "Budi"})
        assert r.status_code == 422 and 'value="12x5"' in r.text and "bukan angka" in r.text
        assert 'value="Budi"' in r.text
        assert (await ok(await api.get(f"{SC}/{count_id}")))["lines"][0]["counted_qty"] is None

        # 1.250,5 typed the Indonesian way (one thousand two hundred fifty and a half kg).
        r = await b.post(f"/stock-counts/{count_id}/count", {f"qty-{variant}": "1.250,5", f"unit-{variant}": "KG",
                                                              "counted_by": "Budi"})
        assert r.status_code == 303 and r.headers["location"] == f"/stock-counts/{count_id}/count?done=saved"
        screen = await b.get(r.headers["location"])
        assert "Tersimpan" in screen.text and "1.250,5" in text_of(screen.text)
        assert "1.200" not in text_of(screen.text)  # still blind after saving
        api_count = await ok(await api.get(f"{SC}/{count_id}"))
        assert D(api_count["lines"][0]["counted_qty"]) == D("1250.5")
        assert api_count["lines"][0]["snapshot_qty"] is None

        r = await b.post(f"/stock-counts/{count_id}/submit")
        assert r.status_code == 303 and r.headers["location"].endswith("?done=submitted")
        detail = text_of((await b.get(r.headers["location"])).text)
        # Variance 1,250.5 - 1,200 = 50.5 kg x 21,500 = 1,085,750.
        assert "1.200" in detail and "1.250,5" in detail and "50,5" in detail
        assert "Rp 1.085.750" in detail and "Rp 21.500" in detail

        # The variance table exports (raw numbers).
        r = await b.get(f"/stock-counts/{count_id}?export=csv")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[1][0] == "SC-PP" and D(rows[1][6]) == D("50.5") and D(rows[1][8]) == D("1085750")

        r = await b.post(f"/stock-counts/{count_id}/approve")
        assert r.status_code == 303 and r.headers["location"].endswith("?done=approved")
        detail = text_of((await b.get(r.headers["location"])).text)
        assert "Rp 1.085.750" in detail and "50,5" in detail and "Disetujui" in detail
        # No actions left on an approved count.
        assert f"/stock-counts/{count_id}/approve" not in detail and "Batalkan hitungan" not in detail
        levels = (await ok(await api.get("/api/v1/stock", params={"q": "SC-PP"})))["items"]
        assert [(x["location_code"], D(x["on_hand"])) for x in levels] == [("RM-WH", D("1250.5"))]

        # A second approval is refused on the page with the service's 409 and the page stays usable.
        r = await b.post(f"/stock-counts/{count_id}/approve")
        assert r.status_code == 409 and "cannot approve" in r.text


async def test_list_filters_exports_and_a_service_refusal_on_the_new_form(make_tenant, live, browser):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as api, browser("pt-abc", ["warehouse"]) as b:
        await _stocked_resin(api)
        count_id = await _open_count(b)
        # A second count of the same location while the first is open: 409, the form kept.
        r = await b.post("/stock-counts", {"location": "RM-WH", "note": "kedua"})
        assert r.status_code == 409 and "still under way" in r.text and "kedua" in r.text
        r = await b.post("/stock-counts", {"location": "", "skus": "NOPE-1"})
        assert r.status_code == 422 and "wajib" in r.text.lower()

        page = await b.get("/stock-counts?status=open")
        assert page.status_code == 200 and f"/stock-counts/{count_id}" in page.text
        number = (await ok(await api.get(f"{SC}/{count_id}")))["number"]
        assert number in page.text
        assert f"/stock-counts/{count_id}" not in (await b.get("/stock-counts?status=approved")).text
        r = await b.get("/stock-counts?export=csv&location=RM-WH")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[1][0] == number and rows[1][2] == "RM-WH" and rows[1][3] == "open" and rows[1][4] == "1"
        r = await b.get("/stock-counts?export=xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        values = list(sheet.values)
        assert values[1][0] == number and values[1][4] == 1
        assert (await b.get("/stock-counts?status=bogus")).status_code == 422

        # Counted in sacks: 2 ZAK of 25 kg are 50 kg.
        variant = (await ok(await api.get(f"{SC}/{count_id}")))["lines"][0]["variant_id"]
        r = await b.post(f"/stock-counts/{count_id}/count", {f"qty-{variant}": "2", f"unit-{variant}": "ZAK"})
        assert r.status_code == 303
        assert D((await ok(await api.get(f"{SC}/{count_id}")))["lines"][0]["counted_qty"]) == 50
        r = await b.post(f"/stock-counts/{count_id}/count", {f"qty-{variant}": "2", f"unit-{variant}": "BAL"})
        assert r.status_code == 422 and "Tidak ada dalam pilihan" in r.text and 'value="2"' in r.text

        r = await b.post(f"/stock-counts/{count_id}/cancel", {"reason": "salah lokasi"})
        assert r.status_code == 303
        assert (await ok(await api.get(f"{SC}/{count_id}")))["status"] == "cancelled"


async def test_roles_and_another_tenants_count(make_tenant, live, browser):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as api, browser("pt-abc") as owner:
        await _stocked_resin(api)
        count_id = await _open_count(owner)
    async with browser("pt-abc", ["sales"]) as sales:
        assert (await sales.get("/stock-counts")).status_code == 200  # sales may read stock
        for path in ("/stock-counts/new", f"/stock-counts/{count_id}/count"):
            r = await sales.get(path)
            assert r.status_code == 403 and "inventory.write" in r.text, path
        r = await sales.post(f"/stock-counts/{count_id}/cancel", {"reason": "x"})
        assert r.status_code == 403
    async with live.tenant_client("pt-abc") as api:
        assert (await ok(await api.get(f"{SC}/{count_id}")))["status"] == "open"
    async with browser("pt-xyz") as other:
        for path in (f"/stock-counts/{count_id}", f"/stock-counts/{count_id}/count", "/stock-counts/not-an-id"):
            assert (await other.get(path)).status_code == 404, path
        assert (await other.post(f"/stock-counts/{count_id}/cancel")).status_code == 404


async def test_the_counting_screen_pages_and_searches_a_large_location(make_tenant, live, browser):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as api, browser("pt-abc", ["warehouse"]) as b:
        for i in range(55):
            await ok(await api.post("/api/v1/products", json={"sku": f"BIG-{i:02}", "name": f"Barang {i}", "unit": "KG"}),
                     201)
            await ok(await api.post("/api/v1/stock-movements", json={
                "kind": "IN", "sku": f"BIG-{i:02}", "quantity": "10", "unit_cost": "1000", "to_location": "FG-WH"}), 201)
        r = await b.post("/stock-counts", {"location": "FG-WH"})
        count_id = r.headers["location"].split("/")[2].split("?")[0]
        first = (await b.get(f"/stock-counts/{count_id}/count")).text
        assert first.count('name="qty-') == 50 and "BIG-49" in first and "BIG-50" not in first
        second = (await b.get(f"/stock-counts/{count_id}/count?page=2")).text
        assert second.count('name="qty-') == 5 and "BIG-54" in second and "Halaman 2 dari 2" in second
        found = (await b.get(f"/stock-counts/{count_id}/count?q=barang 53")).text
        assert found.count('name="qty-') == 1 and "BIG-53" in found
        lines = {x["sku"]: x["variant_id"] for x in (await ok(await api.get(f"{SC}/{count_id}")))["lines"]}
        r = await b.post(f"/stock-counts/{count_id}/count", {f"qty-{lines['BIG-54']}": "9,75", "page": "2"})
        assert r.status_code == 303 and r.headers["location"] == f"/stock-counts/{count_id}/count?page=2&done=saved"
        counted = {x["sku"]: x["counted_qty"] for x in (await ok(await api.get(f"{SC}/{count_id}")))["lines"]}
        assert D(counted["BIG-54"]) == D("9.75") and counted["BIG-00"] is None
