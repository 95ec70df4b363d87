"""Product and partner pages over real HTTP: a product created and edited through the forms the Indonesian way
(prices "1.750" = 1 750), its units used by a stock receipt, deactivate / reactivate, the partner forms with
NPWP/NITKU, and another tenant's ids answering 404."""

from __future__ import annotations

import re
from decimal import Decimal

SUB = "pt-abc"


async def test_product_created_and_edited_through_the_forms_round_trips(live, make_tenant, browser):
    await make_tenant(SUB)
    async with live.tenant_client(SUB, role="owner") as api, browser(SUB, ["owner"]) as owner:
        new = await owner.get("/products/new")
        assert new.status_code == 200 and "Produk baru" in new.text
        r = await owner.post("/products", {"sku": "PP-STD", "name": "Standard", "product_type": "raw_material",
                                           "unit": "KG", "costing_method": "standard", "standard_cost": ""})
        assert r.status_code == 422 and 'id="e-standard_cost"' in r.text and 'value="PP-STD"' in r.text
        r = await owner.post("/products", {"sku": "PP-RAF", "name": "PP raffia", "product_type": "raw_material",
                                           "unit": "kg", "buy_price": "1.750", "sell_price": "2.100,50",
                                           "min_stock": "500", "reorder_qty": "1.000", "costing_method": "actual",
                                           "conversions": "ZAK = 25", "attributes": "denier = 900\ncolor = putih"})
        assert r.status_code == 303, r.text
        product_url = r.headers["location"].split("?")[0]
        [product] = (await api.get("/api/v1/products", params={"q": "PP-RAF"})).json()["items"]
        assert product_url == f"/products/{product['id']}"
        assert Decimal(product["buy_price"]) == 1750 and Decimal(product["sell_price"]) == Decimal("2100.50")
        assert Decimal(product["reorder_qty"]) == 1000 and product["unit"] == "KG"
        assert [(c["unit"], Decimal(c["factor"])) for c in product["conversions"]] == [("ZAK", 25)]
        assert product["attributes"] == {"denier": 900, "color": "putih"}

        page = await owner.get(r.headers["location"])
        assert "Produk telah dibuat." in page.text and "Rp 1.750" in page.text and "Rp 2.101" in page.text
        assert "1 ZAK" in page.text and "25 KG" in page.text

        # The edit form shows what is stored, in the reader's format; a change saves and shows.
        edit = await owner.get(f"{product_url}/edit")
        assert edit.status_code == 200 and 'value="1750"' in edit.text and 'value="2100,5"' in edit.text
        assert "ZAK = 25" in edit.text and "denier = 900" in edit.text
        form = {"name": "PP raffia natural", "product_type": "raw_material", "unit": "KG", "buy_price": "1.800",
                "sell_price": "2.200", "min_stock": "500", "reorder_qty": "1.000", "costing_method": "actual",
                "conversions": "ZAK = 25\nBAL = 50", "attributes": "denier = 900"}
        r = await owner.post(f"{product_url}/edit", {**form, "buy_price": "banyak"})
        assert r.status_code == 422 and 'value="banyak"' in r.text and 'id="e-buy_price"' in r.text
        assert 'value="PP raffia natural"' in r.text and "BAL = 50" in r.text  # what was typed is kept
        r = await owner.post(f"{product_url}/edit", form)
        assert r.status_code == 303 and r.headers["location"] == f"{product_url}?done=saved"
        saved = (await api.get(f"/api/v1{product_url}")).json()
        assert saved["name"] == "PP raffia natural" and Decimal(saved["buy_price"]) == 1800
        assert sorted(c["unit"] for c in saved["conversions"]) == ["BAL", "ZAK"]
        assert saved["attributes"] == {"denier": 900}

        # A receipt in a unit the product knows: 4 ZAK = 100 kg, at Rp 45.000 per ZAK = Rp 180.000.
        r = await owner.post("/stock/receive", {"sku": "PP-RAF", "quantity": "4", "unit": "zak",
                                                "to_location": "RM-WH", "unit_cost": "45.000", "reason": "purchase"})
        assert r.status_code == 303, r.text
        page = await owner.get(product_url)
        assert re.search(r"100 KG", page.text) and "Rp 180.000" in page.text and "GR/" in page.text

        # With stock, the unit cannot change: the form says why, next to the field.
        r = await owner.post(f"{product_url}/edit", {**form, "unit": "TON"})
        assert r.status_code == 409 and 'id="e-unit"' in r.text and "the unit cannot change" in r.text

        r = await owner.post(f"{product_url}/deactivate", {})
        assert r.status_code == 303 and r.headers["location"] == f"{product_url}?done=deactivated"
        assert (await api.get(f"/api/v1{product_url}")).json()["is_active"] is False
        page = await owner.get(r.headers["location"])
        assert "Produk telah dinonaktifkan." in page.text and f'action="{product_url}/activate"' in page.text
        r = await owner.post("/stock/receive", {"sku": "PP-RAF", "quantity": "1", "to_location": "RM-WH",
                                                "unit_cost": "1", "reason": "purchase"})
        assert r.status_code == 422 and "inactive" in r.text
        assert (await owner.post(f"{product_url}/activate", {})).status_code == 303
        assert (await api.get(f"/api/v1{product_url}")).json()["is_active"] is True

        # The prices form on the product's page: Indonesian figures, an empty field clears that price.
        r = await owner.post(f"{product_url}/prices", {"buy_price": "1.850", "sell_price": ""})
        assert r.status_code == 303 and r.headers["location"] == f"{product_url}?done=prices"
        saved = (await api.get(f"/api/v1{product_url}")).json()
        assert Decimal(saved["buy_price"]) == 1850 and saved["sell_price"] is None
        r = await owner.post(f"{product_url}/prices", {"buy_price": "-5", "sell_price": "2.000"})
        assert r.status_code == 422 and 'id="e-buy_price"' in r.text and 'value="2.000"' in r.text

        listing = await owner.get("/products", params={"type": "raw_material", "active": "1", "export": "csv"})
        assert "PP-RAF" in listing.text and "1850" in listing.text


async def test_partner_forms_keep_the_tax_identity(live, make_tenant, browser):
    await make_tenant(SUB)
    async with live.tenant_client(SUB, role="owner") as api, browser(SUB, ["purchasing"]) as buyer:
        r = await buyer.post("/partners", {"code": "sup-01", "name": "PT Bijih Plastik", "is_supplier": "1",
                                           "entity_type": "company", "npwp": "01.234.567.8-901.000", "is_pkp": "1",
                                           "payment_terms_days": "30", "credit_limit": "50.000.000",
                                           "city": "Tangerang", "address": "Jl. Industri 5"})
        assert r.status_code == 303, r.text
        url = r.headers["location"].split("?")[0]
        page = await buyer.get(r.headers["location"])
        # The legacy 15-digit NPWP gets its leading 0; the NITKU defaults to the head office (+ 000000).
        assert "Mitra telah dibuat." in page.text and "0012345678901000" in page.text
        assert "0012345678901000000000" in page.text and "Rp 50.000.000" in page.text

        r = await buyer.post("/partners", {"code": "SUP-01", "name": "Again", "is_supplier": "1",
                                           "entity_type": "company"})
        assert r.status_code == 409 and 'id="e-code"' in r.text and 'value="Again"' in r.text
        r = await buyer.post("/partners", {"code": "X-1", "name": "Nobody", "entity_type": "company",
                                           "npwp": "123"})
        assert r.status_code == 422 and 'id="e-is_customer"' in r.text and 'value="123"' in r.text

        edit = await buyer.get(f"{url}/edit")
        assert edit.status_code == 200 and 'value="0012345678901000"' in edit.text
        r = await buyer.post(f"{url}/edit", {"name": "PT Bijih Plastik Jaya", "is_supplier": "1", "is_customer": "1",
                                             "entity_type": "company", "npwp": "0012345678901000", "is_pkp": "1",
                                             "nitku": "0012345678901000000001", "payment_terms_days": "45"})
        assert r.status_code == 303
        saved = (await api.get(f"/api/v1{url}")).json()
        assert saved["name"] == "PT Bijih Plastik Jaya" and saved["is_customer"] and saved["payment_terms_days"] == 45
        assert saved["nitku"] == "0012345678901000000001" and saved["credit_limit"] is None  # emptied: no limit
        r = await buyer.post(f"{url}/edit", {"name": "PT Bijih", "is_supplier": "1", "entity_type": "company",
                                             "npwp": "0012345678901000", "nitku": "9912345678901000000001"})
        assert r.status_code == 422 and 'id="e-nitku"' in r.text

        r = await buyer.post(f"{url}/deactivate", {})
        assert r.status_code == 303 and r.headers["location"] == f"{url}?done=deactivated"
        assert (await api.get(f"/api/v1{url}")).json()["is_active"] is False
        assert "Mitra telah dinonaktifkan." in (await buyer.get(r.headers["location"])).text
        inactive = await buyer.get("/partners", params={"active": "0", "export": "csv"})
        assert "SUP-01" in inactive.text
        assert (await buyer.post(f"{url}/activate", {})).status_code == 303
        assert (await api.get(f"/api/v1{url}")).json()["is_active"] is True

        suppliers = await buyer.get("/partners", params={"role": "supplier"})
        assert "SUP-01" in suppliers.text and "PT Bijih Plastik Jaya" in suppliers.text
        assert "SUP-01" not in (await buyer.get("/partners", params={"q": "nobody-like-this"})).text


async def test_another_tenants_product_and_partner_ids_are_404(live, make_tenant, browser):
    await make_tenant(SUB)
    await make_tenant("pt-xyz")
    async with live.tenant_client(SUB, role="owner") as api:
        product = (await api.post("/api/v1/products", json={"sku": "ABC-ONLY", "name": "abc"})).json()
        partner = (await api.post("/api/v1/partners", json={"code": "ABC-C", "name": "abc customer",
                                                             "is_customer": True})).json()
    async with browser("pt-xyz", ["owner"]) as xyz:
        for path in (f"/products/{product['id']}", f"/products/{product['id']}/edit",
                     f"/partners/{partner['id']}", f"/partners/{partner['id']}/edit", "/products/not-an-id"):
            r = await xyz.get(path)
            assert r.status_code == 404, (path, r.status_code)
            assert "ABC-ONLY" not in r.text and "abc customer" not in r.text
        for path in (f"/products/{product['id']}/deactivate", f"/partners/{partner['id']}/deactivate"):
            assert (await xyz.post(path, {})).status_code == 404
        r = await xyz.post(f"/products/{product['id']}/edit", {"name": "hijacked", "product_type": "raw_material",
                                                                "unit": "KG", "costing_method": "actual"})
        assert r.status_code == 404
    async with live.tenant_client(SUB, role="owner") as api:
        again = (await api.get(f"/api/v1/products/{product['id']}")).json()
        assert again["name"] == "abc" and again["is_active"] is True
        assert (await api.get(f"/api/v1/partners/{partner['id']}")).json()["is_active"] is True


async def test_a_suppliers_page_lists_its_open_bills(live, make_tenant, browser):
    await make_tenant(SUB)
    async with live.tenant_client(SUB, role="owner") as api:
        async def post(path, body):
            r = await api.post(path, json=body)
            assert r.status_code in (200, 201), (path, r.text)
            return r.json()

        product = await post("/api/v1/products", {"sku": "PP-BILL", "name": "PP", "product_type": "raw_material"})
        variant_id = product["variants"][0]["id"]
        supplier = await post("/api/v1/partners", {"code": "SUP-B", "name": "PT Pemasok", "is_supplier": True,
                                                   "npwp": "0123456789012345", "is_pkp": True})
        order = await post("/api/v1/purchase-orders", {"partner_id": supplier["id"], "lines": [
            {"variant_id": variant_id, "quantity": "10", "unit_price": "15000"}]})
        order = await post(f"/api/v1/purchase-orders/{order['id']}/approve", {})
        line = order["lines"][0]["id"]
        await post("/api/v1/goods-receipts", {"order_id": order["id"], "location": "RM-WH",
                                              "lines": [{"order_line_id": line, "quantity": "10"}]})
        invoice = await post("/api/v1/purchase-invoices", {"order_id": order["id"],
                                                           "tax_invoice_no": "0100002600000009",
                                                           "lines": [{"order_line_id": line, "quantity": "10"}]})
        invoice = await post(f"/api/v1/purchase-invoices/{invoice['id']}/post", {})
    open_amount = Decimal(invoice["open_amount"])
    assert open_amount > 150000  # 10 x 15 000 plus PPN
    shown = f"Rp {int(open_amount):,}".replace(",", ".")
    async with browser(SUB, ["purchasing"]) as buyer:
        page = await buyer.get(f"/partners/{supplier['id']}")
        assert "Tagihan pemasok terbuka" in page.text and invoice["number"] in page.text
        assert f'href="/purchase-invoices/{invoice["id"]}"' in page.text and shown in page.text
    async with browser(SUB, ["sales"]) as seller:  # sales may read partners, not purchasing's bills
        page = await seller.get(f"/partners/{supplier['id']}")
        assert page.status_code == 200 and invoice["number"] not in page.text
