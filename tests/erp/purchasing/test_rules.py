"""Purchasing rules a user can trip over HTTP: roles, tenant isolation, closed books, the receipt
tolerance, purchase requests, tax-inclusive prices, cancel/close, and two receipts racing for the last
quantity of an order line."""

import asyncio
from decimal import Decimal as D

from polyflow.erp.purchasing.receiving import Tolerance
from tests.erp.purchasing.test_procure_to_pay import setup_order
from tests.fixtures.auth import make_user


async def _approved(c):
    supplier, pp, hd, po = await setup_order(c)
    r = await c.post(f"/api/v1/purchase-orders/{po['id']}/approve")
    assert r.status_code == 200, r.text
    return supplier, pp, hd, r.json()


def _receipt(po, qty_pp="600", qty_hd=None, on="2026-11-05"):
    lines = [{"order_line_id": po["lines"][0]["id"], "quantity": qty_pp}]
    if qty_hd:
        lines.append({"order_line_id": po["lines"][1]["id"], "quantity": qty_hd})
    return {"order_id": po["id"], "location": "RM-WH", "receipt_date": on, "lines": lines}


async def test_roles_sales_cannot_buy_purchasing_can_viewer_reads(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as owner:
        supplier, pp, _, po = await setup_order(owner)
    body = {"partner_id": supplier["id"], "order_date": "2026-11-02",
            "lines": [{"variant_id": pp["id"], "quantity": "10"}]}
    async with live.tenant_client("pt-abc", role="sales") as sales:
        r = await sales.post("/api/v1/purchase-orders", json=body)
        assert r.status_code == 403 and "does not allow purchasing.write" in r.json()["detail"]
        assert (await sales.get("/api/v1/purchase-orders")).status_code == 403
    async with live.tenant_client("pt-abc", role="viewer") as viewer:
        assert (await viewer.get(f"/api/v1/purchase-orders/{po['id']}")).status_code == 200
        assert (await viewer.get("/api/v1/reports/ap-aging")).status_code == 200
        assert (await viewer.post("/api/v1/purchase-orders", json=body)).status_code == 403
        assert (await viewer.post(f"/api/v1/purchase-orders/{po['id']}/approve")).status_code == 403
    async with live.tenant_client("pt-abc", role="purchasing") as buyer:
        r = await buyer.post("/api/v1/purchase-orders", json=body)
        assert r.status_code == 201, r.text
        # 10 x 20 000 (the supplier's price) = 200 000; x 11/12 = 183 333.33 -> 183 333; 12 % = 21 999.96 -> 22 000.
        assert (r.json()["subtotal"], r.json()["tax_amount"], r.json()["total"]) == ("200000.00", "22000.00",
                                                                                    "222000.00")
        approved = (await buyer.post(f"/api/v1/purchase-orders/{r.json()['id']}/approve")).json()
        assert approved["approved_by"] == approved["created_by"] is not None
    async with live.tenant_client("pt-abc", role="warehouse") as warehouse:  # reads orders, does not buy
        assert (await warehouse.get("/api/v1/purchase-orders")).json()["total"] == 2
        assert (await warehouse.post("/api/v1/purchase-orders", json=body)).status_code == 403


async def test_another_tenant_cannot_read_or_act_on_the_documents(make_tenant, live):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as abc, live.tenant_client("pt-xyz") as xyz:
        supplier, _, _, po = await _approved(abc)
        gr = (await abc.post("/api/v1/goods-receipts", json=_receipt(po, "600", "500"))).json()
        inv = (await abc.post("/api/v1/purchase-invoices", json={
            "order_id": po["id"], "invoice_date": "2026-11-06", "tax_invoice_no": "0100002600000001",
            "lines": [{"order_line_id": po["lines"][0]["id"], "quantity": "100"}]})).json()
        ret = (await abc.post("/api/v1/purchase-returns", json={
            "order_id": po["id"], "location": "RM-WH", "return_date": "2026-11-06",
            "lines": [{"order_line_id": po["lines"][1]["id"], "quantity": "5"}]})).json()
        lc = (await abc.post("/api/v1/landed-costs", json={"receipt_id": gr["id"], "description": "Freight",
                                                            "amount": "250000"})).json()
        req = (await abc.post("/api/v1/purchase-requests", json={
            "lines": [{"variant_id": po["lines"][0]["variant_id"], "quantity": "5"}]})).json()
        before = {p: (await abc.get(p)).json() for p in (
            f"/api/v1/purchase-orders/{po['id']}", f"/api/v1/purchase-invoices/{inv['id']}",
            f"/api/v1/purchase-requests/{req['id']}", f"/api/v1/landed-costs/{lc['id']}")}

        await setup_order(xyz)  # pt-xyz has documents of its own
        for path in (f"/api/v1/purchase-orders/{po['id']}", f"/api/v1/goods-receipts/{gr['id']}",
                     f"/api/v1/purchase-invoices/{inv['id']}", f"/api/v1/purchase-returns/{ret['id']}",
                     f"/api/v1/purchase-requests/{req['id']}", f"/api/v1/landed-costs/{lc['id']}"):
            r = await xyz.get(path)
            assert r.status_code == 404 and "PT Resin" not in r.text, path
        for path in (f"/api/v1/purchase-orders/{po['id']}/close", f"/api/v1/purchase-orders/{po['id']}/cancel",
                     f"/api/v1/purchase-invoices/{inv['id']}/post", f"/api/v1/purchase-requests/{req['id']}/submit"):
            assert (await xyz.post(path)).status_code == 404, path
        # Documents against pt-abc's order, created on pt-xyz: the order is not there.
        r = await xyz.post("/api/v1/goods-receipts", json=_receipt(po, "1"))
        assert r.status_code == 404 and r.json()["detail"] == "purchase order not found"
        r = await xyz.post("/api/v1/purchase-invoices", json={
            "order_id": po["id"], "lines": [{"order_line_id": po["lines"][0]["id"], "quantity": "1"}]})
        assert r.status_code == 404
        r = await xyz.post("/api/v1/landed-costs", json={"receipt_id": gr["id"], "description": "x", "amount": "1"})
        assert r.status_code == 404 and r.json()["detail"] == "goods receipt not found"
        # pt-abc's supplier is unknown on pt-xyz.
        r = await xyz.post("/api/v1/purchase-orders", json={
            "partner_id": supplier["id"], "lines": [{"variant_id": po["lines"][0]["variant_id"], "quantity": "1"}]})
        assert r.status_code == 422 and r.json()["detail"] == "unknown partner_id"
        assert (await xyz.get("/api/v1/goods-receipts")).json()["total"] == 0
        assert (await xyz.get("/api/v1/reports/ap-aging")).json()["rows"] == []
        assert {p: (await abc.get(p)).json() for p in before} == before


async def test_nothing_posts_into_closed_books(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        _, _, _, po = await _approved(c)
        assert (await c.post("/api/v1/goods-receipts", json=_receipt(po, "600", "500"))).status_code == 201
        inv = (await c.post("/api/v1/purchase-invoices", json={
            "order_id": po["id"], "invoice_date": "2026-11-06", "tax_invoice_no": "01000026000000011",
            "lines": [{"order_line_id": po["lines"][0]["id"], "quantity": "600"}]})).json()
        assert (await c.put("/api/v1/lock-date", json={"books_closed_through": "2026-11-07"})).status_code == 200
        r = await c.post("/api/v1/goods-receipts", json=_receipt(po, "100", on="2026-11-07"))
        assert r.status_code == 409 and "closed through 2026-11-07" in r.json()["detail"]
        r = await c.post(f"/api/v1/purchase-invoices/{inv['id']}/post")
        assert r.status_code == 409 and "closed through 2026-11-07" in r.json()["detail"]
        r = await c.post("/api/v1/purchase-returns", json={
            "order_id": po["id"], "location": "RM-WH", "return_date": "2026-11-06",
            "lines": [{"order_line_id": po["lines"][0]["id"], "quantity": "1"}]})
        assert r.status_code == 409 and "closed through" in r.json()["detail"]
        # A locked month as well.
        assert (await c.post("/api/v1/fiscal-periods/2026/11/lock")).status_code == 200
        r = await c.post("/api/v1/goods-receipts", json=_receipt(po, "100", on="2026-11-10"))
        assert r.status_code == 409 and "2026-11 is locked" in r.json()["detail"]
        # Nothing was half-written: the invoice is still a draft, the order has only the first receipt, and
        # no number was used up.
        inv = (await c.get(f"/api/v1/purchase-invoices/{inv['id']}")).json()
        assert (inv["status"], inv["number"]) == ("draft", None)
        order = (await c.get(f"/api/v1/purchase-orders/{po['id']}")).json()
        assert [line["qty_received"] for line in order["lines"]] == ["600.000", "500.000"]
        assert (await c.post("/api/v1/fiscal-periods/2026/11/unlock")).status_code == 200
        inv = (await c.patch(f"/api/v1/purchase-invoices/{inv['id']}", json={
            "order_id": po["id"], "invoice_date": "2026-11-08", "tax_invoice_no": "01000026000000011",
            "lines": [{"order_line_id": po["lines"][0]["id"], "quantity": "600"}]})).json()
        r = await c.post(f"/api/v1/purchase-invoices/{inv['id']}/post")
        assert r.status_code == 200 and r.json()["number"] == "PINV/2026/00001"
        r = await c.post("/api/v1/goods-receipts", json=_receipt(po, "100", on="2026-11-08"))
        assert r.status_code == 201 and r.json()["number"] == "GRN/2026/00002"


async def test_receipt_tolerance_from_the_settings(make_tenant, make_live, settings, monkeypatch):
    tolerant = settings.model_copy(update={"receipt_tolerance_percent": D(5)})
    monkeypatch.setattr(Tolerance, "percent", Tolerance.percent)  # restored after the test
    await make_tenant("pt-abc")
    live = make_live(tolerant)
    assert Tolerance.percent == 5
    async with live.tenant_client("pt-abc") as c:
        _, _, _, po = await _approved(c)
        # 1 000 ordered, 5 %: up to 1 050.
        r = await c.post("/api/v1/goods-receipts", json=_receipt(po, "1050.001"))
        assert r.status_code == 409 and "tolerance 5 %: at most 1050 more" in r.json()["detail"]
        r = await c.post("/api/v1/goods-receipts", json=_receipt(po, "1030"))
        assert r.status_code == 201, r.text
        r = await c.post("/api/v1/goods-receipts", json=_receipt(po, "21", on="2026-11-06"))
        assert r.status_code == 409 and "at most 20 more" in r.json()["detail"]
        order = (await c.post("/api/v1/goods-receipts", json=_receipt(po, "20", qty_hd="500", on="2026-11-06"))).json()
        assert (await c.get(f"/api/v1/purchase-orders/{po['id']}")).json()["status"] == "received"
        # 1 050 received at 20 000: invoicing all of it is fine; 2120 = 1 050 x 20 000 + 500 x 15 500.
        tb = (await c.get("/api/v1/reports/trial-balance", params={"date_to": "2026-11-06"})).json()
        assert {r["code"]: r["balance"] for r in tb["rows"]}["2120"] == "-28750000.00"
        assert order["number"] == "GRN/2026/00002"


async def test_purchase_request_to_order(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        supplier, pp, hd, _ = await setup_order(c)
        r = await c.post("/api/v1/purchase-requests", json={"request_date": "2026-11-03", "note": "for line 2", "lines": [
            {"variant_id": pp["id"], "quantity": "250", "needed_by": "2026-11-20"}]})
        assert r.status_code == 201 and (r.json()["status"], r.json()["number"]) == ("draft", None)
        req = r.json()
        r = await c.post(f"/api/v1/purchase-requests/{req['id']}/approve")
        assert r.status_code == 409 and "only a submitted request" in r.json()["detail"]
        r = await c.post(f"/api/v1/purchase-requests/{req['id']}/submit")
        assert (r.json()["status"], r.json()["number"]) == ("submitted", "PR/2026/00001")
        assert (await c.post(f"/api/v1/purchase-requests/{req['id']}/approve")).json()["status"] == "approved"
        assert (await c.post(f"/api/v1/purchase-requests/{req['id']}/approve")).status_code == 409
        r = await c.post(f"/api/v1/purchase-requests/{req['id']}/convert", json={
            "partner_id": supplier["id"], "order_date": "2026-11-04"})
        assert r.status_code == 201, r.text
        po = r.json()
        # 250 x 20 000 (the supplier's price list) = 5 000 000; x 11/12 = 4 583 333.33 -> 4 583 333; 12 % =
        # 549 999.96 -> 550 000.
        assert (po["status"], po["subtotal"], po["tax_amount"]) == ("draft", "5000000.00", "550000.00")
        assert (await c.get(f"/api/v1/purchase-requests/{req['id']}")).json()["order_id"] == po["id"]
        r = await c.post(f"/api/v1/purchase-requests/{req['id']}/convert", json={"partner_id": supplier["id"]})
        assert r.status_code == 409 and "is converted" in r.json()["detail"]
        other = (await c.post("/api/v1/purchase-requests", json={"lines": [
            {"variant_id": hd["id"], "quantity": "1"}]})).json()
        await c.post(f"/api/v1/purchase-requests/{other['id']}/submit")
        r = await c.post(f"/api/v1/purchase-requests/{other['id']}/reject")
        assert (r.json()["status"], r.json()["number"]) == ("rejected", "PR/2026/00002")
        r = await c.post(f"/api/v1/purchase-requests/{other['id']}/convert", json={"partner_id": supplier["id"]})
        assert r.status_code == 409


async def test_prices_with_tax_orders_suppliers_and_cancelling(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        supplier, pp, hd, draft = await setup_order(c)
        # Tax-inclusive: 100 x 11 100 = 1 110 000 gross = DPP 1 000 000 + PPN 110 000 (1 000 000 x 11/12 =
        # 916 666.67 -> 916 667; 12 % = 110 000.04 -> 110 000); the stock cost is 10 000 a kg.
        r = await c.post("/api/v1/purchase-orders", json={
            "partner_id": supplier["id"], "order_date": "2026-11-02", "prices_include_tax": True,
            "lines": [{"variant_id": hd["id"], "quantity": "100", "unit_price": "11100"}]})
        assert r.status_code == 201, r.text
        po = r.json()
        assert (po["subtotal"], po["tax_amount"], po["total"]) == ("1000000.00", "110000.00", "1110000.00")
        assert po["lines"][0]["net_unit_price"] == "10000.0000"
        r = await c.post("/api/v1/purchase-orders", json={
            "partner_id": supplier["id"], "prices_include_tax": True, "lines": [{"variant_id": pp["id"], "quantity": "1"}]})
        assert r.status_code == 422 and "give unit_price" in r.json()["detail"]
        await c.post(f"/api/v1/purchase-orders/{po['id']}/approve")
        gr = (await c.post("/api/v1/goods-receipts", json={"order_id": po["id"], "location": "RM-WH",
                                                           "receipt_date": "2026-11-03", "lines": [
                                                               {"order_line_id": po["lines"][0]["id"],
                                                                "quantity": "100"}]})).json()
        assert gr["value"] == "1000000.00"
        r = await c.post("/api/v1/purchase-orders/" + po["id"] + "/close")
        assert r.status_code == 200 and r.json()["status"] == "closed"
        # A closed order takes no more receipts, but what was received is still invoiced.
        r = await c.post("/api/v1/goods-receipts", json={"order_id": po["id"], "location": "RM-WH",
                                                         "lines": [{"order_line_id": po["lines"][0]["id"],
                                                                    "quantity": "1"}]})
        assert r.status_code == 409 and "takes no more receipts" in r.json()["detail"]
        inv = (await c.post("/api/v1/purchase-invoices", json={
            "order_id": po["id"], "invoice_date": "2026-11-04", "tax_invoice_no": "04002600000000077",
            "lines": [{"order_line_id": po["lines"][0]["id"], "quantity": "100"}]})).json()
        inv = (await c.post(f"/api/v1/purchase-invoices/{inv['id']}/post")).json()
        assert (inv["total"], inv["price_difference"], inv["open_amount"]) == ("1110000.00", "0.00", "1110000.00")

        # Partners a purchase order refuses; a non-PKP supplier's lines default to PPN-NC (no PPN, no faktur).
        customer = (await c.post("/api/v1/partners", json={"code": "C-1", "name": "Buyer", "is_customer": True})).json()
        small = (await c.post("/api/v1/partners", json={"code": "S-UD", "name": "UD Plastik", "is_supplier": True,
                                                         "payment_terms_days": 14})).json()
        line = [{"variant_id": hd["id"], "quantity": "10", "unit_price": "15000"}]
        r = await c.post("/api/v1/purchase-orders", json={"partner_id": customer["id"], "lines": line})
        assert r.status_code == 422 and r.json()["detail"] == "C-1 is not a supplier"
        r = await c.post("/api/v1/purchase-orders", json={"partner_id": small["id"], "lines": line})
        assert r.status_code == 201 and r.json()["lines"][0]["tax_code"] == "PPN-NC" and r.json()["tax_amount"] == "0.00"
        r = await c.post("/api/v1/purchase-orders", json={"partner_id": small["id"], "lines": [{**line[0],
                                                                                                "tax_code": "PPN"}]})
        assert r.status_code == 422 and "does not apply to a purchase line" in r.json()["detail"]
        await c.post(f"/api/v1/partners/{small['id']}/deactivate")
        r = await c.post("/api/v1/purchase-orders", json={"partner_id": small["id"], "lines": line})
        assert r.status_code == 422 and "inactive" in r.json()["detail"]

        # A draft is replaced whole: 2 x 20 000 = 40 000; x 11/12 = 36 666.67 -> 36 667; 12 % = 4 400.04 -> 4 400.
        r = await c.patch(f"/api/v1/purchase-orders/{draft['id']}", json={
            "partner_id": supplier["id"], "order_date": "2026-11-03", "lines": [{"variant_id": pp["id"], "quantity": "2"}]})
        assert r.status_code == 200, r.text
        assert (len(r.json()["lines"]), r.json()["total"], r.json()["order_date"]) == (1, "44400.00", "2026-11-03")
        # Cancelling: a draft, or an approved order with nothing received; never twice.
        assert (await c.post(f"/api/v1/purchase-orders/{draft['id']}/cancel")).json()["status"] == "cancelled"
        r = await c.post(f"/api/v1/purchase-orders/{draft['id']}/cancel")
        assert r.status_code == 409
        r = await c.post(f"/api/v1/purchase-orders/{draft['id']}/approve")
        assert r.status_code == 409 and "already cancelled" in r.json()["detail"]


async def test_two_receipts_racing_for_the_last_quantity(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        _, _, _, po = await _approved(c)
        assert (await c.post("/api/v1/goods-receipts", json=_receipt(po, "600"))).status_code == 201
    owner = make_user(live.settings, "pt-abc", ["owner"])
    headers = {"Authorization": f"Bearer {owner['token']}"}
    host = f"pt-abc.{live.settings.root_domain}"
    async with live.client(host, headers=headers) as a, live.client(host, headers=headers) as b:
        # Both ask for the last 400 (tolerance 0): the order's row lock makes them take turns.
        results = await asyncio.gather(a.post("/api/v1/goods-receipts", json=_receipt(po, "400", on="2026-11-06")),
                                       b.post("/api/v1/goods-receipts", json=_receipt(po, "400", on="2026-11-06")))
        assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert "at most 0 more" in loser.json()["detail"]
        order = (await a.get(f"/api/v1/purchase-orders/{po['id']}")).json()
        assert order["lines"][0]["qty_received"] == "1000.000"
        # Gap-free: the loser gave its number back.
        assert sorted(r["number"] for r in (await a.get("/api/v1/goods-receipts")).json()["items"]) == [
            "GRN/2026/00001", "GRN/2026/00002"]


async def test_dates_keep_the_order_of_events(make_tenant, live):
    """An invoice is not dated before the goods it bills arrived, a debit note not before the invoice it
    reduces: otherwise 2120 / 2110 would run the wrong way between the two dates."""
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        _, _, _, po = await _approved(c)
        assert (await c.post("/api/v1/goods-receipts", json=_receipt(po, "600", on="2026-11-05"))).status_code == 201
        assert (await c.post("/api/v1/goods-receipts", json=_receipt(po, "400", on="2026-11-09"))).status_code == 201
        body = {"order_id": po["id"], "invoice_date": "2026-11-07", "tax_invoice_no": "0100002600000042",
                "lines": [{"order_line_id": po["lines"][0]["id"], "quantity": "1000"}]}
        inv = (await c.post("/api/v1/purchase-invoices", json=body)).json()
        r = await c.post(f"/api/v1/purchase-invoices/{inv['id']}/post")
        assert r.status_code == 422 and "before the last receipt on PO/2026/00001 (2026-11-09)" in r.json()["detail"]
        inv = (await c.patch(f"/api/v1/purchase-invoices/{inv['id']}", json={**body, "invoice_date": "2026-11-10"})).json()
        assert (await c.post(f"/api/v1/purchase-invoices/{inv['id']}/post")).status_code == 200
        ret = {"order_id": po["id"], "location": "RM-WH", "return_date": "2026-11-09",
               "lines": [{"order_line_id": po["lines"][0]["id"], "quantity": "10"}]}
        r = await c.post("/api/v1/purchase-returns", json=ret)
        assert r.status_code == 422 and "before the last invoice" in r.json()["detail"]
        r = await c.post("/api/v1/purchase-returns", json={**ret, "return_date": "2026-11-10"})
        assert r.status_code == 201 and r.json()["debit_base"] == "200000.00"


async def test_amounts_beyond_the_ledger_are_refused_not_a_500(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        supplier, pp, _, po = await _approved(c)
        r = await c.post("/api/v1/purchase-orders", json={"partner_id": supplier["id"], "lines": [
            {"variant_id": pp["id"], "quantity": "999999999999999.999", "unit_price": "9999999999999999.99"}]})
        assert r.status_code == 422 and "split it" in r.json()["detail"]
        gr = (await c.post("/api/v1/goods-receipts", json=_receipt(po, "1"))).json()
        r = await c.post("/api/v1/purchase-invoices", json={"order_id": po["id"], "lines": [
            {"order_line_id": po["lines"][0]["id"], "quantity": "1", "unit_price": "9999999999999999.99"}]})
        assert r.status_code == 422 and "split it" in r.json()["detail"]
        r = await c.post("/api/v1/landed-costs", json={"receipt_id": gr["id"], "description": "x",
                                                       "amount": "9999999999999999"})
        assert r.status_code == 422


async def test_two_invoices_racing_for_the_same_received_goods(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        _, _, _, po = await _approved(c)
        assert (await c.post("/api/v1/goods-receipts", json=_receipt(po, "600"))).status_code == 201
        body = {"order_id": po["id"], "invoice_date": "2026-11-06", "tax_invoice_no": "0100002600000077",
                "lines": [{"order_line_id": po["lines"][0]["id"], "quantity": "400"}]}
        drafts = [(await c.post("/api/v1/purchase-invoices", json=body)).json() for _ in range(2)]
    owner = make_user(live.settings, "pt-abc", ["owner"])
    headers = {"Authorization": f"Bearer {owner['token']}"}
    host = f"pt-abc.{live.settings.root_domain}"
    async with live.client(host, headers=headers) as a, live.client(host, headers=headers) as b:
        # 400 + 400 of the 600 received: the order's row lock makes the second see the first.
        results = await asyncio.gather(a.post(f"/api/v1/purchase-invoices/{drafts[0]['id']}/post"),
                                       b.post(f"/api/v1/purchase-invoices/{drafts[1]['id']}/post"))
        assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert "more than received and not yet invoiced" in loser.json()["detail"] and "(200)" in loser.json()["detail"]
        order = (await a.get(f"/api/v1/purchase-orders/{po['id']}")).json()
        assert order["lines"][0]["qty_invoiced"] == "400.000"
        tb = (await a.get("/api/v1/reports/trial-balance", params={"date_to": "2026-11-06"})).json()
        # 600 x 20 000 received, 400 x 20 000 invoiced: 4 000 000 left on 2120.
        assert {r["code"]: r["balance"] for r in tb["rows"]}["2120"] == "-4000000.00"
