"""The classes of the sales pages (orders, deliveries, invoices: sales.*) and the payment pages: customer receipts
serve sales and accounting, supplier payments purchasing and accounting, like the payments API (either opens them)."""

RECEIPT_READ, RECEIPT_WRITE = "sales.read or accounting.read", "sales.write or accounting.write"
PAYMENT_READ, PAYMENT_WRITE = "purchasing.read or accounting.read", "purchasing.write or accounting.write"

PAGES = {
    ("GET", "/sales-orders"): "sales.read", ("GET", "/sales-orders/new"): "sales.write",
    ("POST", "/sales-orders"): "sales.write", ("GET", "/sales-orders/{order_id}"): "sales.read",
    **{("POST", f"/sales-orders/{{order_id}}/{action}"): "sales.write"
       for action in ("confirm", "cancel", "close", "delete")},
    ("GET", "/deliveries"): "sales.read", ("GET", "/deliveries/new"): "sales.write",
    ("POST", "/deliveries"): "sales.write", ("GET", "/deliveries/{delivery_id}"): "sales.read",
    ("GET", "/deliveries/{delivery_id}/pdf"): "sales.read",
    ("POST", "/deliveries/{delivery_id}/post"): "sales.write",
    ("POST", "/deliveries/{delivery_id}/delete"): "sales.write",
    ("GET", "/invoices"): "sales.read", ("POST", "/invoices"): "sales.write",
    ("GET", "/invoices/{invoice_id}"): "sales.read", ("GET", "/invoices/{invoice_id}/pdf"): "sales.read",
    ("POST", "/invoices/{invoice_id}/post"): "sales.write", ("POST", "/invoices/{invoice_id}/delete"): "sales.write",
    ("GET", "/receipts"): RECEIPT_READ, ("GET", "/receipts/new"): RECEIPT_WRITE, ("POST", "/receipts"): RECEIPT_WRITE,
    ("GET", "/receipts/{receipt_id}"): RECEIPT_READ, ("GET", "/receipts/{receipt_id}/pdf"): RECEIPT_READ,
    ("POST", "/receipts/{receipt_id}/cancel"): RECEIPT_WRITE,
    ("GET", "/supplier-payments"): PAYMENT_READ, ("GET", "/supplier-payments/new"): PAYMENT_WRITE,
    ("POST", "/supplier-payments"): PAYMENT_WRITE, ("GET", "/supplier-payments/{payment_id}"): PAYMENT_READ,
    ("POST", "/supplier-payments/{payment_id}/cancel"): PAYMENT_WRITE,
}

# Valid-looking forms for the guarded POSTs: they reach the services (which refuse the made-up ids), so the
# permission check has passed; nothing is written.
FORMS = {
    "/sales-orders": {"customer_id": "00000000-0000-4000-8000-000000000000", "order_date": "2026-11-02",
                      "location": "00000000-0000-4000-8000-000000000000",
                      "variant_0": "00000000-0000-4000-8000-000000000000", "qty_0": "1"},
    "/deliveries": {"order_id": "00000000-0000-4000-8000-000000000000", "delivery_date": "2026-11-02"},
    "/invoices": {"order_id": "00000000-0000-4000-8000-000000000000", "invoice_date": "2026-11-02"},
    "/receipts": {"partner_id": "00000000-0000-4000-8000-000000000000", "payment_date": "2026-11-02",
                  "account": "1102"},
    "/supplier-payments": {"partner_id": "00000000-0000-4000-8000-000000000000", "payment_date": "2026-11-02",
                           "account": "1102"},
}
