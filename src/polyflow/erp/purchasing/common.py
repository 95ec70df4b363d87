"""Helpers shared by receiving.py and invoicing.py (receipts, returns and invoices all match lines of one
purchase order and keep 2120 exact), so that neither imports the other."""

from __future__ import annotations

from decimal import Decimal

from polyflow.erp.models import PurchaseInvoice, PurchaseOrder
from polyflow.erp.purchasing import orders
from polyflow.kit.errors import InvalidInput
from polyflow.kit.money import money
from polyflow.kit.money import quantity_text as qty  # noqa: F401  (used here and by the module's siblings)


def matched_lines(order: PurchaseOrder, lines) -> list:
    """The order line each document line names (by order_line_id), in the document's order; 422 for a
    line of another order or an order line named twice."""
    by_id = {line.id: line for line in order.lines}
    seen, out = set(), []
    for n, line in enumerate(lines, 1):
        ol = by_id.get(line.order_line_id)
        if ol is None:
            raise InvalidInput(f"line {n}: order_line_id is not a line of purchase order {orders.label(order)}")
        if ol.id in seen:
            raise InvalidInput(f"line {n}: order line {ol.line_no} appears twice; give it once with the total")
        seen.add(ol.id)
        out.append(ol)
    return out


def received_value(ol, quantity: Decimal, open_qty: Decimal) -> Decimal:
    """The 2120 value of `quantity` of the line's received-not-invoiced quantity: its share at the net
    price, or all that is left when it takes the rest (no cent stays behind on 2120)."""
    residue = ol.received_value - ol.cleared_value
    if quantity >= open_qty:
        return residue
    return min(money(quantity * ol.net_unit_price), residue)


def set_invoice_status(invoice: PurchaseInvoice) -> None:
    """open / partially_paid / paid from the open amount (a debit note counts as settled, not as paid)."""
    if invoice.open_amount == 0:
        invoice.status = "paid"
    elif invoice.paid == 0:
        invoice.status = "open"
    else:
        invoice.status = "partially_paid"
