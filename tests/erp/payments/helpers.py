"""Posted invoices to pay: a sales invoice (order, delivery, invoice) and a supplier invoice (order, receipt,
invoice) through the API; and the payments routes' bodies for the security sweeps."""

from __future__ import annotations

from decimal import Decimal

from tests.erp.sales.helpers import ok

PAYMENT_TABLES = ("payments", "payment_allocations")


async def sales_invoice(c, customer_id: str, variant_id: str, quantity: str, price: str, on: str,
                        location: str = "WH") -> dict:
    """A posted sales invoice of `quantity` x `price` (PPN 12 % on DPP nilai lain), delivered on `on`."""
    so = await ok(await c.post("/api/v1/sales-orders", json={
        "customer_id": customer_id, "order_date": on, "location": location,
        "lines": [{"variant_id": variant_id, "quantity": quantity, "unit_price": price}]}), 201)
    so = await ok(await c.post(f"/api/v1/sales-orders/{so['id']}/confirm"))
    d = await ok(await c.post("/api/v1/deliveries", json={
        "order_id": so["id"], "delivery_date": on,
        "lines": [{"order_line_id": so["lines"][0]["id"], "quantity": quantity}]}), 201)
    await ok(await c.post(f"/api/v1/deliveries/{d['id']}/post"))
    inv = await ok(await c.post("/api/v1/sales-invoices", json={"order_id": so["id"], "invoice_date": on}), 201)
    return await ok(await c.post(f"/api/v1/sales-invoices/{inv['id']}/post"))


async def supplier(c, code: str) -> str:
    return (await ok(await c.post("/api/v1/partners", json={
        "code": code, "name": f"PT {code}", "is_supplier": True, "npwp": "0123456789012345", "is_pkp": True,
        "payment_terms_days": 30}), 201))["id"]


async def purchase_invoice(c, supplier_id: str, variant_id: str, quantity: str, price: str, on: str,
                           location: str = "WH", faktur: str = "0100002600000123") -> dict:
    """A posted supplier invoice of `quantity` x `price` (PPN-IN 12 % on DPP nilai lain), received on `on`."""
    po = await ok(await c.post("/api/v1/purchase-orders", json={
        "partner_id": supplier_id, "order_date": on,
        "lines": [{"variant_id": variant_id, "quantity": quantity, "unit_price": price}]}), 201)
    po = await ok(await c.post(f"/api/v1/purchase-orders/{po['id']}/approve"))
    line = po["lines"][0]["id"]
    await ok(await c.post("/api/v1/goods-receipts", json={
        "order_id": po["id"], "location": location, "receipt_date": on,
        "lines": [{"order_line_id": line, "quantity": quantity}]}), 201)
    inv = await ok(await c.post("/api/v1/purchase-invoices", json={
        "order_id": po["id"], "invoice_date": on, "tax_invoice_no": faktur,
        "lines": [{"order_line_id": line, "quantity": quantity}]}), 201)
    return await ok(await c.post(f"/api/v1/purchase-invoices/{inv['id']}/post"))


async def tb(c, on: str = "2026-11-30") -> dict[str, Decimal]:
    """Account code -> debit-minus-credit balance; 'debit'/'credit' the trial balance's totals."""
    t = await ok(await c.get("/api/v1/reports/trial-balance", params={"date_to": on}))
    out = {row["code"]: Decimal(row["balance"]) for row in t["rows"]}
    out["debit"], out["credit"] = Decimal(t["total_debit"]), Decimal(t["total_credit"])
    return out


async def open_amounts(c, path: str, ids: list[str]) -> list[str]:
    return [(await ok(await c.get(f"{path}/{i}")))["open_amount"] for i in ids]


async def payment_records(c, customer_id: str, sales_invoice_id: str, variant_id: str, location: str, on: str,
                          tag: str = "PERM") -> dict[str, str]:
    """For the security sweeps: a receipt of 1 on a posted sales invoice, and a supplier (its own) with a posted
    invoice and a payment of 1. The path ids, and (keys starting with "_") what the bodies need."""
    sup = await supplier(c, f"{tag}-PAYSUP")
    pinv = await purchase_invoice(c, sup, variant_id, "2", "1000", on, location=location, faktur="0100002600000777")
    rcv = await ok(await c.post("/api/v1/payments/receipts", json=receipt_body(customer_id, sales_invoice_id, on)),
                   201)
    pay = await ok(await c.post("/api/v1/payments/supplier-payments", json=receipt_body(sup, pinv["id"], on)), 201)
    return {"customer_receipt_id": rcv["id"], "supplier_payment_id": pay["id"], "_pay_customer_id": customer_id,
            "_pay_sales_invoice_id": sales_invoice_id, "_pay_supplier_id": sup, "_pay_purchase_invoice_id": pinv["id"]}


def payment_paths(ids: dict[str, str]) -> list[str]:
    """What a tenant's owner reads of its payments (for before/after snapshots)."""
    return [f"/api/v1/payments/receipts/{ids['customer_receipt_id']}",
            f"/api/v1/payments/supplier-payments/{ids['supplier_payment_id']}", "/api/v1/payments"]


def receipt_body(partner_id: str, invoice_id: str, on: str, amount: str = "1") -> dict:
    return {"partner_id": partner_id, "payment_date": on, "account": "1102", "amount": amount,
            "allocations": [{"invoice_id": invoice_id, "amount": amount}]}


def payment_bodies(ids: dict[str, str], on: str) -> dict[tuple[str, str], dict]:
    """Valid bodies of the payments routes (a refused request would really have changed something)."""
    return {
        ("POST", "/api/v1/payments/receipts"): receipt_body(ids["_pay_customer_id"], ids["_pay_sales_invoice_id"], on),
        ("POST", "/api/v1/payments/supplier-payments"): receipt_body(ids["_pay_supplier_id"],
                                                                     ids["_pay_purchase_invoice_id"], on),
    }
