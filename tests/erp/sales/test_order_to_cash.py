"""Order to cash on one tenant with hand-computed figures: a sales order of two lines (credit limit OK,
stock reserved), two partial deliveries (HPP at the moving average, which a receipt between them moves),
one invoice (DPP, PPN 12 % on DPP nilai lain 11/12), a return with its credit note, a payment applied
through `apply_payment` — then the ledgers agree: GL balanced, 1130 == open items, 2130 == PPN of invoices
- credit notes, 4100 / 4110, HPP == cost delivered - returned, stock valuation == inventory account."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.sales import service
from polyflow.kit.errors import Conflict, InvalidInput
from tests.erp.sales.helpers import balances, customer, ok, product, receive

D = Decimal


async def test_order_to_cash_end_to_end(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
        bag = await product(c, "WB-50", "Woven bag 50kg", "PCS")
        film = await product(c, "FR-20", "Film roll", "KG")
        # Stock: bags 1 000 @ 1 500 = 1 500 000; film 300 @ 20 000 + 100 @ 24 000 = 8 400 000 (avg 21 000).
        await receive(c, bag, "1000", "1500", "2026-11-02")
        await receive(c, film, "300", "20000", "2026-11-02")
        await receive(c, film, "100", "24000", "2026-11-02")
        cust = await customer(c, "C-1", credit_limit="200000000", terms=30)
        # The customer's price list gives the bag's price when the order line has none.
        await ok(await c.post(f"/api/v1/partners/{cust}/prices", json={
            "variant_id": bag, "side": "sale", "price": "2300", "effective_from": "2026-01-01"}), 201)

        so = await ok(await c.post("/api/v1/sales-orders", json={
            "customer_id": cust, "order_date": "2026-11-03", "location": "WH", "customer_reference": "PO-77",
            "lines": [{"variant_id": bag, "quantity": "600"},
                      {"variant_id": film, "quantity": "300", "unit_price": "30000", "discount_percent": "10"}]}), 201)
        # Bag 600 x 2 300 = 1 380 000; film 300 x 30 000 less 10 % = 8 100 000. DPP 9 480 000,
        # DPP nilai lain 9 480 000 x 11/12 = 8 690 000, PPN 12 % = 1 042 800 (lines 151 800 / 891 000);
        # total 10 522 800.
        assert so["number"] is None and so["status"] == "draft"
        assert [ln["unit_price"] for ln in so["lines"]] == ["2300.00", "30000.00"]
        assert [ln["amount"] for ln in so["lines"]] == ["1380000.00", "8100000.00"]
        assert [ln["tax"] for ln in so["lines"]] == ["151800.00", "891000.00"]
        assert (so["base"], so["tax"], so["total"]) == ("9480000.00", "1042800.00", "10522800.00")
        bag_line, film_line = (ln["id"] for ln in so["lines"])

        so = await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
        assert so["number"] == "SO/2026/00001" and so["status"] == "confirmed"
        assert [ln["qty_reserved"] for ln in so["lines"]] == ["600.000", "300.000"]
        stock = {(s["sku"]): (s["on_hand"], s["reserved"]) for s in
                 (await ok(await c.get("/api/v1/stock")))["items"]}
        assert stock == {"WB-50": ("1000.000", "600.000"), "FR-20": ("400.000", "300.000")}

        # Refused: confirming twice, editing a confirmed order, deleting it.
        r = await c.post(f"/api/v1/sales-orders/{so['id']}/confirm")
        assert r.status_code == 409 and "SO/2026/00001 is confirmed: it cannot be confirmed" in r.text
        r = await c.put(f"/api/v1/sales-orders/{so['id']}", json={
            "customer_id": cust, "order_date": "2026-11-03", "location": "WH",
            "lines": [{"variant_id": bag, "quantity": "1"}]})
        assert r.status_code == 409 and "cannot be edited" in r.text
        assert (await c.delete(f"/api/v1/sales-orders/{so['id']}")).status_code == 409

        # Delivery 1 (4 Nov): bags 400 @ 1 500 = 600 000; film 100 @ 21 000 = 2 100 000.
        d1 = await ok(await c.post("/api/v1/deliveries", json={
            "order_id": so["id"], "delivery_date": "2026-11-04", "vehicle": "B 1234 XY",
            "lines": [{"order_line_id": bag_line, "quantity": "400"},
                      {"order_line_id": film_line, "quantity": "100"}]}),
            201)
        d1 = await ok(await c.post(f"/api/v1/deliveries/{d1['id']}/post"))
        assert d1["number"] == "DO/2026/00001" and [ln["cost"] for ln in d1["lines"]] == ["600000.00", "2100000.00"]
        # Refused: posting it again; delivering more than remains (bags: 600 ordered, 400 delivered).
        assert (await c.post(f"/api/v1/deliveries/{d1['id']}/post")).status_code == 409
        r = await c.post("/api/v1/deliveries", json={"order_id": so["id"], "delivery_date": "2026-11-05",
                                                     "lines": [{"order_line_id": bag_line, "quantity": "201"}]})
        assert r.status_code == 409 and "ordered 600, delivered 400, remaining 200" in r.text
        # Refused: invoicing more than delivered (400 bags delivered).
        r = await c.post("/api/v1/sales-invoices", json={"order_id": so["id"], "invoice_date": "2026-11-04",
                                                         "lines": [{"order_line_id": bag_line, "quantity": "401"}]})
        assert r.status_code == 409 and "delivered 400, invoiced 0, left to invoice 400" in r.text

        # A receipt after delivery 1 moves the film's average: 300 @ 21 000 + 100 @ 27 000 = 9 000 000 / 400
        # = 22 500.
        await receive(c, film, "100", "27000", "2026-11-04")
        # Delivery 2 (5 Nov): bags 200 @ 1 500 = 300 000; film 200 @ 22 500 = 4 500 000.
        d2 = await ok(await c.post("/api/v1/deliveries", json={
            "order_id": so["id"], "delivery_date": "2026-11-05",
            "lines": [{"order_line_id": bag_line, "quantity": "200"},
                      {"order_line_id": film_line, "quantity": "200"}]}),
            201)
        d2 = await ok(await c.post(f"/api/v1/deliveries/{d2['id']}/post"))
        assert d2["number"] == "DO/2026/00002" and [ln["cost"] for ln in d2["lines"]] == ["300000.00", "4500000.00"]
        so = await ok(await c.get(f"/api/v1/sales-orders/{so['id']}"))
        assert so["status"] == "delivered" and [ln["qty_reserved"] for ln in so["lines"]] == ["0.000", "0.000"]

        # Invoice (6 Nov) of everything delivered: the order's figures; due 30 days later.
        inv = await ok(await c.post("/api/v1/sales-invoices",
                                    json={"order_id": so["id"], "invoice_date": "2026-11-06"}), 201)
        assert inv["status"] == "draft" and inv["number"] is None
        inv = await ok(await c.post(f"/api/v1/sales-invoices/{inv['id']}/post"))
        assert inv["number"] == "SI/2026/00001" and inv["status"] == "open" and inv["due_date"] == "2026-12-06"
        assert (inv["base"], inv["other_base"], inv["tax"], inv["total"], inv["open_amount"]) == (
            "9480000.00", "8690000.00", "1042800.00", "10522800.00", "10522800.00")
        # e-Faktur fields: transaction code 04 (DPP nilai lain), the buyer's identity, goods lines with units.
        assert (inv["trx_code"], inv["buyer_tin"], inv["buyer_document"], inv["buyer_idtku"]) == (
            "04", "0012345678901000", "TIN", "0012345678901000000000")  # legacy 15 digits -> leading 0
        assert [(ln["item_code"], ln["unit_code"], ln["goods_or_services"], ln["discount"]) for ln in inv["lines"]] == [
            ("WB-50", "PCS", "A", "0.00"), ("FR-20", "KG", "A", "900000.00")]
        assert (await ok(await c.get(f"/api/v1/sales-orders/{so['id']}")))["status"] == "invoiced"
        # Refused: posting twice, deleting a posted invoice, invoicing again (nothing left).
        assert (await c.post(f"/api/v1/sales-invoices/{inv['id']}/post")).status_code == 409
        assert (await c.delete(f"/api/v1/sales-invoices/{inv['id']}")).status_code == 409
        r = await c.post("/api/v1/sales-invoices", json={"order_id": so["id"], "invoice_date": "2026-11-06"})
        assert r.status_code == 409

        # Return (7 Nov) of 50 kg film from delivery 2, at the cost it left with (22 500) = 1 125 000.
        # Credit note: DPP 8 100 000 x 50/300 = 1 350 000; DPP nilai lain 1 237 500; PPN 148 500; total 1 498 500.
        ret = await ok(await c.post("/api/v1/sales-returns", json={
            "invoice_id": inv["id"], "return_date": "2026-11-07", "location": "WH", "reason": "torn rolls",
            "lines": [{"delivery_line_id": d2["lines"][1]["id"], "quantity": "50"}]}), 201)
        r = await c.post("/api/v1/sales-returns", json={
            "invoice_id": inv["id"], "return_date": "2026-11-07", "location": "WH",
            "lines": [{"delivery_line_id": d2["lines"][1]["id"], "quantity": "201"}]})
        assert r.status_code == 409 and "delivered 200, returned 0" in r.text
        ret = await ok(await c.post(f"/api/v1/sales-returns/{ret['id']}/post"))
        assert ret["number"] == "SR/2026/00001" and ret["lines"][0]["cost"] == "1125000.00"
        cn = await ok(await c.get(f"/api/v1/credit-notes/{ret['credit_note_id']}"))
        assert (cn["number"], cn["base"], cn["other_base"], cn["tax"], cn["total"]) == (
            "CN/2026/00001", "1350000.00", "1237500.00", "148500.00", "1498500.00")
        # Applied to the invoice: 10 522 800 - 1 498 500 = 9 024 300 still owed; nothing left on the note.
        assert (cn["open_amount"], cn["status"], cn["credit_note_of_id"]) == ("0.00", "paid", inv["id"])
        inv = await ok(await c.get(f"/api/v1/sales-invoices/{inv['id']}"))
        assert (inv["credited"], inv["open_amount"], inv["status"]) == ("1498500.00", "9024300.00", "partially_paid")

        async def ledgers_agree(open_ar: Decimal):
            tb = await balances(c)
            assert tb["debit"] == tb["credit"]
            items = (await ok(await c.get("/api/v1/reports/ar-aging", params={"as_of": "2026-11-28"})))
            assert Decimal(items["total"]) == open_ar == tb["1130"]
            assert tb["2130"] == -(D("1042800") - D("148500"))  # PPN of invoices - credit notes
            assert tb["4100"] == D("-9480000") and tb["4110"] == D("1350000")
            # HPP: delivered 600 000 + 2 100 000 + 300 000 + 4 500 000 = 7 500 000, returned 1 125 000.
            assert tb["5100"] == D("7500000") - D("1125000")
            valuation = await ok(await c.get("/api/v1/stock/valuation", params={"as_of": "2026-11-28"}))
            # Bags 1 500 000 - 900 000 = 600 000; film 8 400 000 - 2 100 000 + 2 700 000 - 4 500 000 + 1 125 000
            # = 5 625 000.
            assert Decimal(valuation["by_account"]["1143"]) == tb["1143"] == D("6225000")

        await ledgers_agree(D("9024300"))

    # A payment (the payments module will call this): 4 000 000 against the invoice, with its journal.
    async with AsyncSession(tenant_engine(tenant)) as session:
        item = await service.open_item(session, uuid.UUID(inv["id"]))
        assert (item.number, item.open_amount, item.control_account, item.due_date) == (
            "SI/2026/00001", D("9024300"), "1130", date(2026, 12, 6))
        await service.apply_payment(session, item.id, D("4000000"))
        for amount, message in ((D("5024301"), "exceeds the open amount 5024300.00"),
                                (D("-4000001"), "above what was paid (4000000.00)")):
            try:
                await service.apply_payment(session, item.id, amount)
                raise AssertionError("accepted")
            except Conflict as exc:
                assert message in exc.message
        try:
            await service.apply_payment(session, item.id, D("0.5"))
            raise AssertionError("accepted")
        except InvalidInput:
            pass
        await service.apply_payment(session, item.id, D("-1000000"))  # a reversal re-opens
        await service.apply_payment(session, item.id, D("1000000"))
        assert [(i.number, i.open_amount) for i in await service.open_items(session, uuid.UUID(cust))] == [
            ("SI/2026/00001", D("5024300"))]
        await session.commit()
    async with live.tenant_client("pt-abc") as c:
        await ok(await c.post("/api/v1/journal-entries", json={
            "entry_date": "2026-11-20", "description": "Receipt from C-1 (the payments module's journal)",
            "lines": [{"account": "1102", "debit": "4000000"}, {"account": "1130", "credit": "4000000"}]}), 201)
        inv = await ok(await c.get(f"/api/v1/sales-invoices/{inv['id']}"))
        assert (inv["paid"], inv["open_amount"], inv["status"]) == ("4000000.00", "5024300.00", "partially_paid")
        await ledgers_agree(D("5024300"))
        aging = await ok(await c.get("/api/v1/reports/ar-aging", params={"as_of": "2027-01-10"}))
        # Due 6 Dec; on 10 Jan it is 35 days late.
        assert aging["rows"][0]["days_31_60"] == "5024300.00" and aging["rows"][0]["partner_code"] == "C-1"
        assert aging["totals"]["current"] == "0.00"
