"""Sales rules a user can trip: credit limit, reservations when stock is short, cancel and close, the
books-closed-through date, quotations; the delivery race over real concurrent HTTP; permissions by role;
another tenant's documents."""

import asyncio

from tests.erp.sales.helpers import balances, customer, ok, product, receive


async def _setup(c, stock: str | None = "100"):
    await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang"}), 201)
    bag = await product(c, "WB-50", "Woven bag", "PCS", sell_price="2000")
    if stock:
        await receive(c, bag, stock, "1500", "2026-11-02")
    return bag


async def _order(c, cust, bag, quantity: str, price: str = "2000", on: str = "2026-11-03") -> dict:
    return await ok(await c.post("/api/v1/sales-orders", json={
        "customer_id": cust, "order_date": on, "location": "WH",
        "lines": [{"variant_id": bag, "quantity": quantity, "unit_price": price}]}), 201)


async def test_credit_limit_reservations_cancel_close_and_lock_date(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        bag = await _setup(c, stock="100")
        # Limit 5 000 000. Order A: 1 000 x 2 000 = 2 000 000 DPP, PPN 12 % x 1 833 333 = 220 000 -> 2 220 000.
        cust = await customer(c, "C-LIM", credit_limit="5000000")
        a = await _order(c, cust, bag, "1000")
        assert a["total"] == "2220000.00"
        a = await ok(await c.post(f"/api/v1/sales-orders/{a['id']}/confirm"))
        # Only 100 are in stock: those are reserved, the other 900 stay unreserved.
        assert a["lines"][0]["qty_reserved"] == "100.000"
        # Order B (same total): 0 open AR + 2 220 000 confirmed not invoiced + 2 220 000 = 4 440 000 <= 5 000 000.
        b = await _order(c, cust, bag, "1000")
        b = await ok(await c.post(f"/api/v1/sales-orders/{b['id']}/confirm"))
        assert b["lines"][0]["qty_reserved"] == "0.000"
        # Order C: 4 440 000 + 2 220 000 = 6 660 000 > 5 000 000: refused with the figures, no number used.
        oc = await _order(c, cust, bag, "1000")
        r = await c.post(f"/api/v1/sales-orders/{oc['id']}/confirm")
        assert r.status_code == 409, r.text
        assert ("credit limit of C-LIM exceeded: open receivables 0.00 + confirmed orders not yet invoiced 4440000.00 "
                "+ this order 2220000.00 = 6660000.00 > credit limit 5000000.00") in r.json()["detail"]
        assert (await ok(await c.get(f"/api/v1/sales-orders/{oc['id']}")))["number"] is None
        # No limit (null) = no check.
        await ok(await c.patch(f"/api/v1/partners/{cust}", json={"credit_limit": None}))
        assert (await ok(await c.post(f"/api/v1/sales-orders/{oc['id']}/confirm")))["number"] == "SO/2026/00003"

        # Cancel releases the reservation; a cancelled order cannot be confirmed or cancelled again.
        a = await ok(await c.post(f"/api/v1/sales-orders/{a['id']}/cancel"))
        assert a["status"] == "cancelled" and a["lines"][0]["qty_reserved"] == "0.000"
        level = (await ok(await c.get("/api/v1/stock")))["items"][0]
        assert (level["on_hand"], level["reserved"]) == ("100.000", "0.000")
        assert (await c.post(f"/api/v1/sales-orders/{a['id']}/confirm")).status_code == 409
        # After a delivery an order cannot be cancelled; it is closed (what is undelivered will not be).
        d = await ok(await c.post("/api/v1/deliveries", json={
            "order_id": b["id"], "delivery_date": "2026-11-04",
            "lines": [{"order_line_id": b["lines"][0]["id"], "quantity": "60"}]}), 201)
        await ok(await c.post(f"/api/v1/deliveries/{d['id']}/post"))
        r = await c.post(f"/api/v1/sales-orders/{b['id']}/cancel")
        assert r.status_code == 409 and "has deliveries: it cannot be cancelled" in r.text
        r = await c.post(f"/api/v1/sales-orders/{b['id']}/close")
        assert r.status_code == 409 and "invoice it first" in r.text
        inv = await ok(await c.post("/api/v1/sales-invoices", json={"order_id": b["id"], "invoice_date": "2026-11-05"}),
                       201)
        await ok(await c.post(f"/api/v1/sales-invoices/{inv['id']}/post"))
        assert (await ok(await c.post(f"/api/v1/sales-orders/{b['id']}/close")))["status"] == "closed"
        r = await c.post("/api/v1/deliveries", json={
            "order_id": b["id"], "delivery_date": "2026-11-06",
            "lines": [{"order_line_id": b["lines"][0]["id"], "quantity": "1"}]})
        assert r.status_code == 409 and "is closed" in r.text

        # Books closed through 10 Nov: a delivery, an invoice or a return dated on or before it is refused, and
        # nothing is numbered or moved.
        d = await ok(await c.post("/api/v1/deliveries", json={
            "order_id": oc["id"], "delivery_date": "2026-11-09",
            "lines": [{"order_line_id": oc["lines"][0]["id"], "quantity": "10"}]}), 201)
        await ok(await c.put("/api/v1/lock-date", json={"books_closed_through": "2026-11-10"}))
        before = await balances(c)
        r = await c.post(f"/api/v1/deliveries/{d['id']}/post")
        assert r.status_code == 409 and "the books are closed through 2026-11-10" in r.text
        assert (await ok(await c.get(f"/api/v1/deliveries/{d['id']}")))["number"] is None
        assert await balances(c) == before


async def test_invoice_refused_in_closed_books_and_quotation_flow(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        bag = await _setup(c, stock="100")
        cust = await customer(c, "C-1")
        so = await _order(c, cust, bag, "10")
        await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
        d = await ok(await c.post("/api/v1/deliveries", json={
            "order_id": so["id"], "delivery_date": "2026-11-04",
            "lines": [{"order_line_id": so["lines"][0]["id"], "quantity": "10"}]}), 201)
        await ok(await c.post(f"/api/v1/deliveries/{d['id']}/post"))
        inv = await ok(await c.post("/api/v1/sales-invoices",
                                    json={"order_id": so["id"], "invoice_date": "2026-11-05"}), 201)
        await ok(await c.put("/api/v1/lock-date", json={"books_closed_through": "2026-11-10"}))
        r = await c.post(f"/api/v1/sales-invoices/{inv['id']}/post")
        assert r.status_code == 409 and "closed through 2026-11-10" in r.text
        again = await ok(await c.get(f"/api/v1/sales-invoices/{inv['id']}"))
        assert (again["status"], again["number"]) == ("draft", None)
        so = await ok(await c.get(f"/api/v1/sales-orders/{so['id']}"))
        assert so["lines"][0]["qty_invoiced"] == "0.000"  # nothing half-written

        # Quotation: draft -> sent (numbered) -> accepted -> converted into a draft order at its prices.
        q = await ok(await c.post("/api/v1/quotations", json={
            "customer_id": cust, "quote_date": "2026-11-20", "valid_until": "2099-12-31",
            "lines": [{"variant_id": bag, "quantity": "5"}]}), 201)
        assert q["lines"][0]["unit_price"] == "2000.00" and q["total"] == "11100.00"  # 10 000 + 12 % x 9 167
        assert (await c.post(f"/api/v1/quotations/{q['id']}/accept")).status_code == 409  # not sent yet
        q = await ok(await c.post(f"/api/v1/quotations/{q['id']}/send"))
        assert q["number"] == "QT/2026/00001"
        assert (await c.put(f"/api/v1/quotations/{q['id']}", json={
            "customer_id": cust, "quote_date": "2026-11-20", "lines": [{"variant_id": bag, "quantity": "1"}]})
        ).status_code == 409
        assert (await c.post(f"/api/v1/quotations/{q['id']}/convert", json={"location": "WH"})).status_code == 409
        await ok(await c.post(f"/api/v1/quotations/{q['id']}/accept"))
        order = await ok(await c.post(f"/api/v1/quotations/{q['id']}/convert", json={"location": "WH"}), 201)
        assert (order["status"], order["total"], order["lines"][0]["quantity"]) == ("draft", "11100.00", "5.000")
        assert (await c.post(f"/api/v1/quotations/{q['id']}/convert", json={"location": "WH"})).status_code == 409


async def test_two_deliveries_racing_for_the_last_stock(make_tenant, live):
    """Two orders confirmed before the stock came (nothing reserved), then 10 arrive: two deliveries of 10
    posted at the same time over HTTP — one wins, the other gets a clear 409; stock never goes negative.
    And two drafts of one order racing for its last 10: the order's lock lets one through."""
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        bag = await _setup(c, stock=None)
        cust = await customer(c, "C-1")
        drafts = []
        for _ in range(2):
            so = await _order(c, cust, bag, "10")
            so = await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
            assert so["lines"][0]["qty_reserved"] == "0.000"
            drafts.append(await ok(await c.post("/api/v1/deliveries", json={
                "order_id": so["id"], "delivery_date": "2026-11-04",
                "lines": [{"order_line_id": so["lines"][0]["id"], "quantity": "10"}]}), 201))
        await receive(c, bag, "10", "1500", "2026-11-03")
        results = await asyncio.gather(*(c.post(f"/api/v1/deliveries/{d['id']}/post") for d in drafts))
        assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert "insufficient stock of WB-50 at WH: available 0, requested 10" in loser.json()["detail"]
        level = (await ok(await c.get("/api/v1/stock")))["items"][0]
        assert (level["on_hand"], level["reserved"]) == ("0.000", "0.000")
        numbers = [(await ok(await c.get(f"/api/v1/deliveries/{d['id']}")))["number"] for d in drafts]
        assert sorted(numbers, key=str) == sorted(["DO/2026/00001", None], key=str)  # the loser used no number

        # One order, two drafts for its last 10 (20 in stock): only one can be posted.
        await receive(c, bag, "20", "1500", "2026-11-04")
        so = await _order(c, cust, bag, "10")
        so = await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
        body = {"order_id": so["id"], "delivery_date": "2026-11-05",
                "lines": [{"order_line_id": so["lines"][0]["id"], "quantity": "10"}]}
        pair = [await ok(await c.post("/api/v1/deliveries", json=body), 201) for _ in range(2)]
        results = await asyncio.gather(*(c.post(f"/api/v1/deliveries/{d['id']}/post") for d in pair))
        assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
        # The second waits for the order's lock, then finds it fully delivered.
        assert "is delivered: it cannot be delivered" in next(r for r in results if r.status_code == 409).text
        level = (await ok(await c.get("/api/v1/stock")))["items"][0]
        assert (level["on_hand"], level["reserved"]) == ("10.000", "0.000")


async def test_roles_and_another_tenant(make_tenant, live):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as c:
        bag = await _setup(c)
        cust = await customer(c, "C-1")
        so = await _order(c, cust, bag, "5")
    body = {"customer_id": cust, "order_date": "2026-11-03", "location": "WH",
            "lines": [{"variant_id": bag, "quantity": "1", "unit_price": "1"}]}
    async with live.tenant_client("pt-abc", role="purchasing") as buyer:
        r = await buyer.post("/api/v1/sales-orders", json=body)
        assert r.status_code == 403 and "does not allow sales.write" in r.text
        assert (await buyer.get("/api/v1/sales-orders")).status_code == 403
    async with live.tenant_client("pt-abc", role="sales") as clerk:
        await ok(await clerk.post("/api/v1/sales-orders", json=body), 201)
        await ok(await clerk.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
    async with live.tenant_client("pt-abc", role="viewer") as viewer:
        assert (await ok(await viewer.get("/api/v1/sales-orders")))["total"] == 2
        await ok(await viewer.get("/api/v1/reports/ar-aging"))
        assert (await viewer.post("/api/v1/sales-orders", json=body)).status_code == 403
        assert (await viewer.post(f"/api/v1/sales-orders/{so['id']}/cancel")).status_code == 403
    # pt-xyz's owner sees none of it and cannot act on it; pt-abc's customer is unknown there.
    async with live.tenant_client("pt-xyz") as other:
        assert (await ok(await other.get("/api/v1/sales-orders")))["total"] == 0
        for method, path in (("GET", f"/api/v1/sales-orders/{so['id']}"),
                             ("POST", f"/api/v1/sales-orders/{so['id']}/cancel"),
                             ("DELETE", f"/api/v1/sales-orders/{so['id']}")):
            r = await other.request(method, path)
            assert r.status_code == 404 and "WB-50" not in r.text, (method, path, r.text)
        r = await other.post("/api/v1/sales-orders", json=body)
        assert r.status_code == 422 and "unknown customer_id" in r.text
    async with live.tenant_client("pt-abc") as c:
        assert (await ok(await c.get(f"/api/v1/sales-orders/{so['id']}")))["status"] == "confirmed"


async def test_inclusive_prices_and_delivery_from_another_location(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        bag = await _setup(c, stock="10")
        await ok(await c.post("/api/v1/locations", json={"code": "WH2", "name": "Gudang 2"}), 201)
        await receive(c, bag, "10", "1500", "2026-11-02", location="WH2")
        cust = await customer(c, "C-1")
        # Tax-inclusive: 10 x 111 000 = 1 110 000 gross = DPP 1 000 000 + PPN (12 % x 916 667 = 110 000).
        so = await ok(await c.post("/api/v1/sales-orders", json={
            "customer_id": cust, "order_date": "2026-11-03", "location": "WH", "prices_include_tax": True,
            "lines": [{"variant_id": bag, "quantity": "10", "unit_price": "111000"}]}), 201)
        assert (so["base"], so["tax"], so["total"]) == ("1000000.00", "110000.00", "1110000.00")
        # Amounts past NUMERIC(18, 2) are a clear 422, not a 500.
        for quantity, price in (("999999999999999.999", "9999999999999999.99"), ("99999999999.999", "99999.99")):
            r = await c.post("/api/v1/sales-orders", json={
                "customer_id": cust, "order_date": "2026-11-03", "location": "WH",
                "lines": [{"variant_id": bag, "quantity": quantity, "unit_price": price}]})
            assert r.status_code == 422 and "rupiah" in r.text, r.text
        so = await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
        assert so["lines"][0]["qty_reserved"] == "10.000"
        r = await c.post("/api/v1/deliveries", json={
            "order_id": so["id"], "delivery_date": "2026-11-02",
            "lines": [{"order_line_id": so["lines"][0]["id"], "quantity": "1"}]})
        assert r.status_code == 422 and "before the order's date 2026-11-03" in r.text
        # 4 leave from WH2: WH keeps 6 reserved (what is still to deliver), not 10.
        d = await ok(await c.post("/api/v1/deliveries", json={
            "order_id": so["id"], "delivery_date": "2026-11-04", "location": "WH2",
            "lines": [{"order_line_id": so["lines"][0]["id"], "quantity": "4"}]}), 201)
        await ok(await c.post(f"/api/v1/deliveries/{d['id']}/post"))
        levels = {s["location_code"]: (s["on_hand"], s["reserved"]) for s in
                  (await ok(await c.get("/api/v1/stock")))["items"]}
        assert levels == {"WH": ("10.000", "6.000"), "WH2": ("6.000", "0.000")}
        # The invoice of the 4 delivered: 4 x 111 000 = 444 000 gross = DPP 400 000 + PPN 44 000.
        inv = await ok(await c.post("/api/v1/sales-invoices",
                                    json={"order_id": so["id"], "invoice_date": "2026-11-05"}), 201)
        assert (inv["base"], inv["tax"], inv["total"]) == ("400000.00", "44000.00", "444000.00")


async def test_two_confirmations_racing_for_the_last_credit(make_tenant, live):
    """Limit 3 000 000 and two orders of 2 220 000 confirmed at the same time: the credit check of one
    customer is serialised, so exactly one fits; the other is refused with the first one's value counted.
    Each confirmation is in the audit log with its author."""
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        bag = await _setup(c, stock="100")
        cust = await customer(c, "C-RACE", credit_limit="3000000")
        orders = [await _order(c, cust, bag, "1000") for _ in range(2)]
        results = await asyncio.gather(*(c.post(f"/api/v1/sales-orders/{o['id']}/confirm") for o in orders))
        assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409).json()["detail"]
        assert "confirmed orders not yet invoiced 2220000.00 + this order 2220000.00 = 4440000.00 > credit limit " \
               "3000000.00" in loser
        winner = next(r for r in results if r.status_code == 200).json()
        me = (await ok(await c.get("/api/v1/auth/me")))["id"]
        assert winner["confirmed_by"] == me and winner["created_by"] == me
        audit = (await ok(await c.get("/api/v1/audit", params={"entity": "sales_orders",
                                                                "entity_id": winner["id"]})))["items"]
        assert audit and all(a["user_id"] == me for a in audit)
