"""Random purchase-to-pay sequences (fixed seeds, so a failure replays): receipts, invoices at other prices,
returns before and after invoicing, landed costs and stock consumed in between, day after day, with awkward
prices and quantities (cents, thousandths). At the end of every day the ledger agrees with the documents:
GL balanced, 2120 == value received not invoiced, 2110 == open supplier invoices, 1150 == PPN of the
invoices less the debit notes, and the stock valuation == the inventory account."""

import random
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

SUPPLIER = {"code": "S-RND", "name": "PT Acak", "is_supplier": True, "npwp": "0123456789012345", "is_pkp": True}
PRICES = (D("12345.67"), D("9999.99"), D("333.33"))
QTY = D("0.001")


def _qty(rng, most: D) -> D:
    """A quantity in (0, most], in thousandths, often a whole number."""
    if most <= 0:
        return D(0)
    whole = D(rng.randint(1, max(int(most), 1)))
    q = whole if whole <= most and rng.random() < 0.6 else (most * D(rng.randint(1, 1000)) / 1000).quantize(QTY)
    return max(min(q, most), QTY)


@pytest.mark.parametrize("seed", [7, 11, 5])
async def test_ledger_agrees_with_the_documents_every_day(make_tenant, live, seed):
    rng = random.Random(seed)
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        supplier = (await c.post("/api/v1/partners", json=SUPPLIER)).json()
        variants = []
        for i in range(3):
            p = (await c.post("/api/v1/products", json={"sku": f"RM-{i}", "name": f"Raw {i}", "unit": "KG",
                                                         "product_type": "raw_material"})).json()
            variants.append(p["variants"][0]["id"])
        po = (await c.post("/api/v1/purchase-orders", json={
            "partner_id": supplier["id"], "order_date": "2026-10-01",
            "lines": [{"variant_id": v, "quantity": str(q), "unit_price": str(p)}
                      for v, q, p in zip(variants, (D("250.5"), D(400), D("75.125")), PRICES)]})).json()
        assert (await c.post(f"/api/v1/purchase-orders/{po['id']}/approve")).status_code == 200
        lines = [line["id"] for line in po["lines"]]
        on_hand = {v: D(0) for v in variants}
        receipts, invoices, returns = [], [], []
        expected = {}
        day = date(2026, 10, 1)
        for _ in range(12):
            day += timedelta(days=rng.randint(1, 2))
            on = day.isoformat()
            for _ in range(rng.randint(1, 4)):
                order = (await c.get(f"/api/v1/purchase-orders/{po['id']}")).json()
                i = rng.randrange(3)
                ol = order["lines"][i]
                received, invoiced = D(ol["qty_received"]), D(ol["qty_invoiced"])
                returned_open, debited = D(ol["qty_returned_open"]), D(ol["qty_debited"])
                to_invoice = received - invoiced - returned_open
                op = rng.choice(("receive", "receive", "invoice", "invoice", "return", "consume", "landed"))
                if op == "receive":
                    q = _qty(rng, D(ol["quantity"]) - (received - returned_open - debited))
                    if q:
                        r = await c.post("/api/v1/goods-receipts", json={
                            "order_id": po["id"], "location": "RM-WH", "receipt_date": on,
                            "lines": [{"order_line_id": lines[i], "quantity": str(q)}]})
                        assert r.status_code == 201, r.text
                        receipts.append(r.json()["id"])
                        on_hand[variants[i]] += q
                elif op == "invoice" and to_invoice > 0:
                    q = _qty(rng, to_invoice)
                    price = PRICES[i] + rng.choice((D(0), D("150"), D("-0.07"), D("777.77")))
                    r = await c.post("/api/v1/purchase-invoices", json={
                        "order_id": po["id"], "invoice_date": on, "tax_invoice_no": "0100002600000001",
                        "lines": [{"order_line_id": lines[i], "quantity": str(q), "unit_price": str(price)}]})
                    assert r.status_code == 201, r.text
                    r = await c.post(f"/api/v1/purchase-invoices/{r.json()['id']}/post")
                    assert r.status_code == 200, r.text
                    invoices.append(r.json()["id"])
                elif op == "return":
                    q = _qty(rng, min(to_invoice + invoiced - debited, on_hand[variants[i]]))
                    if q:
                        r = await c.post("/api/v1/purchase-returns", json={
                            "order_id": po["id"], "location": "RM-WH", "return_date": on,
                            "lines": [{"order_line_id": lines[i], "quantity": str(q)}]})
                        if r.status_code == 409:  # the debit note is more than the invoices still owe
                            assert "exceeds what is still open" in r.json()["detail"]
                            continue
                        assert r.status_code == 201, r.text
                        returns.append(r.json()["id"])
                        on_hand[variants[i]] -= q
                elif op == "consume":
                    q = _qty(rng, on_hand[variants[i]])
                    if q:
                        r = await c.post("/api/v1/stock-movements", json={
                            "kind": "OUT", "reason": "consumption", "variant_id": variants[i], "quantity": str(q),
                            "from_location": "RM-WH", "posting_date": on})
                        assert r.status_code == 201, r.text
                        on_hand[variants[i]] -= q
                elif op == "landed" and receipts:
                    # Dated on the receipt's day (re-costs what was consumed since) or today.
                    gr = (await c.get(f"/api/v1/goods-receipts/{rng.choice(receipts)}")).json()
                    r = await c.post("/api/v1/landed-costs", json={
                        "receipt_id": gr["id"], "description": "freight", "amount": str(rng.randint(1, 250_000)),
                        "cost_date": rng.choice((gr["receipt_date"], on))})
                    assert r.status_code == 201 or "no stock of" in r.json()["detail"], r.text
            # What the documents say at the end of the day.
            order = (await c.get(f"/api/v1/purchase-orders/{po['id']}")).json()
            docs_inv = [(await c.get(f"/api/v1/purchase-invoices/{x}")).json() for x in invoices]
            docs_ret = [(await c.get(f"/api/v1/purchase-returns/{x}")).json() for x in returns]
            expected[on] = {
                "2120": -sum((D(l["received_value"]) - D(l["cleared_value"]) for l in order["lines"]), D(0)),
                "2110": -sum((D(x["open_amount"]) for x in docs_inv), D(0)),
                "1150": sum((D(x["tax_amount"]) for x in docs_inv), D(0)) - sum((D(x["debit_tax"]) for x in docs_ret),
                                                                               D(0)),
            }
            assert D(order["lines"][0]["qty_received"]) >= D(order["lines"][0]["qty_invoiced"])

        assert len(invoices) >= 2 and len(receipts) >= 3 and returns  # the seeds exercise the paths that matter
        for on, figures in expected.items():
            tb = (await c.get("/api/v1/reports/trial-balance", params={"date_to": on})).json()
            assert tb["total_debit"] == tb["total_credit"], on
            balances = {row["code"]: D(row["balance"]) for row in tb["rows"]}
            for code, value in figures.items():
                assert balances.get(code, D(0)) == value, (on, code, balances.get(code), value)
            valuation = (await c.get("/api/v1/stock/valuation", params={"as_of": on})).json()
            assert D(valuation["by_account"]["1141"]) == balances.get("1141", D(0)), on
