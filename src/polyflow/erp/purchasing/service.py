"""Purchasing rules, one function per state transition (the same functions serve the API and, later, the
pages and the payments module). The rules live in three files by document:

- orders.py     purchase requests and purchase orders (pricing, tax, approve / cancel / close)
- receiving.py  goods receipts, purchase returns and landed costs (stock through inventory, 2120 kept exact)
- invoicing.py  supplier invoices (matching, price difference, PPN Masukan), open items, AP aging

The payments module uses exactly `open_item`, `apply_payment` and `open_items` (notes/trade.md)."""

from __future__ import annotations

from polyflow.erp.purchasing import repository
from polyflow.erp.purchasing.invoicing import (  # noqa: F401
    ap_aging, apply_payment, cancel_invoice, create_invoice, open_item, open_items, post_invoice, update_invoice,
)
from polyflow.erp.purchasing.orders import (  # noqa: F401
    approve_order, cancel_order, close_order, convert_request, create_order, create_request, decide_request,
    get_doc, list_docs, submit_request, update_order,
)
from polyflow.erp.purchasing.receiving import configure, create_landed_cost, create_receipt, create_return  # noqa: F401


async def input_tax_documents(session, date_from, date_to):
    """(posted supplier invoices, purchase returns with a debit note) dated within the dates, as rows of their
    tax figures (id, number, date, partner_id, tax_invoice_no, DPP, PPN), for the tax module's PPN summary."""
    return await repository.input_tax_documents(session, date_from, date_to)


async def monthly_input_tax(session, before):
    """Month -> creditable PPN Masukan (invoices less debit notes) of every month before `before`."""
    return await repository.monthly_input_tax(session, before)


async def browse(session, kind: str, **filters):
    """A page of one kind of document for the lists: ([(document, supplier code, supplier name)], total),
    searched (number, supplier, notes), filtered (status, "unpaid", supplier, order, dates) and sorted."""
    return await repository.browse(session, kind, **filters)


async def variants_by_id(session, ids):
    """Variant id -> variant (with its product) for showing document lines."""
    return await repository.variants(session, set(ids))
