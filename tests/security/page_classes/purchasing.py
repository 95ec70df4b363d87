"""The classes of the purchasing pages (requests, orders and their PDF, goods receipts, supplier invoices,
returns)."""

PAGES = {
    ("GET", "/purchase-requests"): "purchasing.read",
    ("GET", "/purchase-requests/{request_id}"): "purchasing.read",
    ("POST", "/purchase-requests/{request_id}/submit"): "purchasing.write",
    ("POST", "/purchase-requests/{request_id}/approve"): "purchasing.write",
    ("POST", "/purchase-requests/{request_id}/reject"): "purchasing.write",
    ("POST", "/purchase-requests/{request_id}/convert"): "purchasing.write",
    ("GET", "/purchase-orders"): "purchasing.read",
    ("GET", "/purchase-orders/new"): "purchasing.write",
    ("POST", "/purchase-orders"): "purchasing.write",
    ("GET", "/purchase-orders/{order_id}"): "purchasing.read",
    ("GET", "/purchase-orders/{order_id}/pdf"): "purchasing.read",
    ("GET", "/purchase-orders/{order_id}/edit"): "purchasing.write",
    ("POST", "/purchase-orders/{order_id}/edit"): "purchasing.write",
    ("POST", "/purchase-orders/{order_id}/approve"): "purchasing.write",
    ("POST", "/purchase-orders/{order_id}/cancel"): "purchasing.write",
    ("POST", "/purchase-orders/{order_id}/close"): "purchasing.write",
    ("GET", "/purchase-receipts"): "purchasing.read",
    ("GET", "/purchase-receipts/new"): "purchasing.write",
    ("POST", "/purchase-receipts"): "purchasing.write",
    ("GET", "/purchase-receipts/{receipt_id}"): "purchasing.read",
    ("GET", "/purchase-invoices"): "purchasing.read",
    ("GET", "/purchase-invoices/new"): "purchasing.write",
    ("POST", "/purchase-invoices"): "purchasing.write",
    ("GET", "/purchase-invoices/{invoice_id}"): "purchasing.read",
    ("POST", "/purchase-invoices/{invoice_id}/post"): "purchasing.write",
    ("POST", "/purchase-invoices/{invoice_id}/cancel"): "purchasing.write",
    ("GET", "/purchase-returns"): "purchasing.read",
    ("GET", "/purchase-returns/new"): "purchasing.write",
    ("POST", "/purchase-returns"): "purchasing.write",
    ("GET", "/purchase-returns/{return_id}"): "purchasing.read",
}

# Valid-looking forms (a 422 / 404 after the check still proves the permission check passed).
FORMS = {
    "/purchase-orders": {"partner_id": "00000000-0000-4000-8000-000000000000", "variant_1": "", "qty_1": ""},
}
