"""Purchase requests and purchase orders: creation, pricing and tax, and their state transitions.

Order states: draft -> approved -> partially_received -> received -> closed; draft/approved -> cancelled
(only while nothing was received); partially_received -> closed (short-closed: the rest is not coming).
A draft has no number; approving takes the gap-free PO/<year>/<n> of its order date."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.models import Partner, PurchaseOrder, PurchaseOrderLine, PurchaseRequest, PurchaseRequestLine
from polyflow.erp.partners import service as partners
from polyflow.erp.purchasing import repository
from polyflow.erp.purchasing.schemas import ConvertIn, OrderIn, OrderLineIn, RequestIn
from polyflow.erp.tax import service as tax
from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.kit.money import ZERO, money

# The document types purchasing numbers through accounting's gap-free counter (registered here so the
# purchasing module owns its list; accounting refuses a type it does not know).
accounting.DOC_TYPES.update({"PR": "purchase request", "PO": "purchase order", "GRN": "goods receipt note",
                             "PINV": "supplier invoice", "PRET": "purchase return",
                             "LC": "landed cost"})

NET_PRICE = Decimal("0.0001")
# A document's amount stays well inside the ledger's NUMERIC(18, 2), totals and tax included.
MAX_AMOUNT = Decimal(10) ** 14
# Tax kinds a purchase line may carry: input PPN, or a supply without PPN. Withholding (PPh) is settled at
# payment, not on the order.
PURCHASE_TAX_KINDS = ("ppn_input", "exempt", "zero_rated", "not_collected")
DEFAULT_TAX_PKP, DEFAULT_TAX_NON_PKP = "PPN-IN", "PPN-NC"


async def get_doc(session: AsyncSession, kind: str, doc_id: uuid.UUID, *, lock: bool = False):
    """A purchasing document of this tenant by id, or 404 ('purchase order not found')."""
    doc = await repository.get(session, repository.MODELS[kind], doc_id, lock=lock)
    if doc is None:
        raise NotFound(f"{_NAMES[kind]} not found")
    return doc


_NAMES = {"request": "purchase request", "order": "purchase order", "receipt": "goods receipt",
          "invoice": "purchase invoice", "return": "purchase return", "landed_cost": "landed cost"}


def label(doc) -> str:
    return doc.number or "(draft)"


async def supplier(session: AsyncSession, partner_id: uuid.UUID) -> Partner:
    """The partner as a supplier for a new document: 422 if unknown, not a supplier or inactive."""
    partner = await repository.get(session, Partner, partner_id)
    if partner is None:
        raise InvalidInput("unknown partner_id")
    if not partner.is_supplier:
        raise InvalidInput(f"{partner.code} is not a supplier")
    if not partner.is_active:
        raise InvalidInput(f"supplier {partner.code} is inactive")
    return partner


async def tax_code_for(session: AsyncSession, code: str, on: date):
    """The tax code version in effect on `on` for a purchase line (422 if none or not a purchase code)."""
    try:
        version = await tax.in_effect(session, code, on)
    except NotFound as exc:
        raise InvalidInput(exc.message) from None
    if version.kind not in PURCHASE_TAX_KINDS:
        raise InvalidInput(f"tax code {version.code} ({version.kind}) does not apply to a purchase line; use one of "
                           "kind ppn_input, exempt, zero_rated or not_collected")
    return version


async def compute_lines(session: AsyncSession, amounts: list[tuple[str, Decimal]], on: date,
                        inclusive: bool) -> tuple[list[tuple[Decimal, Decimal]], dict[str, object]]:
    """(base, tax) per line for [(tax code, amount)], computed per document and tax code (erp/tax/calc.py),
    and the tax code versions by code."""
    groups: dict[str, list[int]] = defaultdict(list)
    if sum((amount for _, amount in amounts), ZERO) >= MAX_AMOUNT:
        raise InvalidInput(f"the document comes to more than {MAX_AMOUNT:,} rupiah; split it")
    for i, (code, _) in enumerate(amounts):
        groups[code].append(i)
    out: list[tuple[Decimal, Decimal]] = [(ZERO, ZERO)] * len(amounts)
    versions = {}
    for code, idx in groups.items():
        versions[code] = version = await tax_code_for(session, code, on)
        figures = tax.compute(version, [amounts[i][1] for i in idx], inclusive=inclusive)
        for i, line in zip(idx, figures.lines):
            out[i] = (money(line.base), money(line.tax))
    return out, versions


async def _order_lines(session: AsyncSession, partner: Partner, data_lines: list[OrderLineIn], on: date,
                       inclusive: bool) -> list[PurchaseOrderLine]:
    found = await repository.variants(session, {line.variant_id for line in data_lines})
    rows, amounts = [], []
    for n, line in enumerate(data_lines, 1):
        variant = found.get(line.variant_id)
        if variant is None:
            raise InvalidInput(f"line {n}: unknown variant_id")
        product = variant.product
        if not (variant.is_active and product.is_active):
            raise InvalidInput(f"line {n}: {variant.sku} is inactive")
        if line.unit is not None and line.unit.upper() != product.unit.upper():
            raise InvalidInput(f"line {n}: {variant.sku} is ordered in its stock unit {product.unit}")
        price = line.unit_price
        if price is None:
            if inclusive:
                raise InvalidInput(f"line {n}: give unit_price (list prices are tax-exclusive and this order's "
                                   "prices include tax)")
            listed = await partners.price_for(session, partner.id, variant.id, "purchase", on)
            price = listed.price if listed is not None else (variant.buy_price or product.buy_price)
            if price is None:
                raise InvalidInput(f"line {n}: no purchase price of {variant.sku} for {partner.code}: give unit_price")
        code = (line.tax_code or (DEFAULT_TAX_PKP if partner.is_pkp else DEFAULT_TAX_NON_PKP)).strip().upper()
        rows.append(PurchaseOrderLine(line_no=n, variant_id=variant.id, quantity=line.quantity, unit=product.unit,
                                      unit_price=money(price), tax_code=code))
        amounts.append((code, line.quantity * money(price)))
    figures, _ = await compute_lines(session, amounts, on, inclusive)
    for row, (base, tax_amount) in zip(rows, figures):
        row.base_amount, row.tax_amount = base, tax_amount
        # The stock cost of a receipt: the price without PPN. Exclusive prices are that already; an
        # inclusive one is the line's DPP per unit.
        row.net_unit_price = row.unit_price if not inclusive else (base / row.quantity).quantize(NET_PRICE)
    return rows


def _totals(order: PurchaseOrder) -> None:
    order.subtotal = sum((line.base_amount for line in order.lines), ZERO)
    order.tax_amount = sum((line.tax_amount for line in order.lines), ZERO)
    order.total = order.subtotal + order.tax_amount


async def create_order(session: AsyncSession, data: OrderIn, user_id: uuid.UUID | None) -> PurchaseOrder:
    """A draft purchase order to an active supplier, priced and taxed (no number until approved)."""
    partner = await supplier(session, data.partner_id)
    on = data.order_date or await accounting.local_today(session)
    order = PurchaseOrder(partner_id=partner.id, order_date=on, expected_date=data.expected_date,
                          prices_include_tax=data.prices_include_tax, note=data.note, created_by=user_id,
                          lines=await _order_lines(session, partner, data.lines, on, data.prices_include_tax))
    _totals(order)
    session.add(order)
    await session.flush()
    return order


async def update_order(session: AsyncSession, order_id: uuid.UUID, data: OrderIn) -> PurchaseOrder:
    """Replace a draft order's supplier, dates and lines (409 once approved)."""
    order = await get_doc(session, "order", order_id, lock=True)
    if order.status != "draft":
        raise Conflict(f"purchase order {label(order)} is {order.status}: only a draft can be edited")
    partner = await supplier(session, data.partner_id)
    on = data.order_date or order.order_date
    lines = await _order_lines(session, partner, data.lines, on, data.prices_include_tax)
    order.lines.clear()
    await session.flush()  # the old lines go before the new ones take their line numbers
    order.partner_id, order.order_date, order.expected_date = partner.id, on, data.expected_date
    order.prices_include_tax, order.note = data.prices_include_tax, data.note
    order.lines.extend(lines)
    _totals(order)
    await session.flush()
    return order


async def approve_order(session: AsyncSession, order_id: uuid.UUID, user_id: uuid.UUID | None) -> PurchaseOrder:
    """draft -> approved: the order gets its number; approving again is a 409."""
    order = await get_doc(session, "order", order_id, lock=True)
    if order.status != "draft":
        raise Conflict(f"purchase order {label(order)} is already {order.status}; only a draft can be approved")
    await supplier(session, order.partner_id)  # still an active supplier
    order.number = await accounting.next_document_number(session, "PO", order.order_date)
    order.status, order.approved_by, order.approved_at = "approved", user_id, datetime.now(timezone.utc)
    await session.flush()
    return order


async def cancel_order(session: AsyncSession, order_id: uuid.UUID) -> PurchaseOrder:
    """draft/approved -> cancelled, only while nothing has been received (a number once given stays used)."""
    order = await get_doc(session, "order", order_id, lock=True)
    if order.status not in ("draft", "approved") or any(line.qty_received for line in order.lines):
        raise Conflict(f"purchase order {label(order)} is {order.status}: only an order with nothing received "
                       "can be cancelled (close it instead)")
    order.status = "cancelled"
    await session.flush()
    return order


async def close_order(session: AsyncSession, order_id: uuid.UUID) -> PurchaseOrder:
    """partially_received/received -> closed: no more receipts (invoicing what was received goes on)."""
    order = await get_doc(session, "order", order_id, lock=True)
    if order.status not in ("partially_received", "received"):
        raise Conflict(f"purchase order {label(order)} is {order.status}: only a (partially) received order can be "
                       "closed; cancel one with nothing received")
    order.status = "closed"
    await session.flush()
    return order


def refresh_receipt_status(order: PurchaseOrder) -> None:
    """approved / partially_received / received from the net quantities received (a closed order stays closed)."""
    if order.status == "closed":
        return
    net = [line.qty_received - line.qty_returned_open - line.qty_debited for line in order.lines]
    if all(n >= line.quantity for n, line in zip(net, order.lines)):
        order.status = "received"
    elif any(line.qty_received for line in order.lines):
        order.status = "partially_received"
    else:
        order.status = "approved"


async def list_docs(session: AsyncSession, kind: str, **filters):
    """A page of one kind of purchasing document, newest first, with the total."""
    return await repository.list_page(session, repository.MODELS[kind], **filters)


# -- purchase requests ---------------------------------------------------------------------------------------


async def create_request(session: AsyncSession, data: RequestIn, user_id: uuid.UUID | None) -> PurchaseRequest:
    """A draft purchase request (variants, quantities, needed-by dates)."""
    found = await repository.variants(session, {line.variant_id for line in data.lines})
    for n, line in enumerate(data.lines, 1):
        if line.variant_id not in found:
            raise InvalidInput(f"line {n}: unknown variant_id")
    request = PurchaseRequest(request_date=data.request_date or await accounting.local_today(session), note=data.note,
                              created_by=user_id, lines=[
                                  PurchaseRequestLine(line_no=n, variant_id=line.variant_id, quantity=line.quantity,
                                                      needed_by=line.needed_by)
                                  for n, line in enumerate(data.lines, 1)])
    session.add(request)
    await session.flush()
    return request


async def _request_in(session: AsyncSession, request_id: uuid.UUID, state: str, action: str) -> PurchaseRequest:
    request = await get_doc(session, "request", request_id, lock=True)
    if request.status != state:
        raise Conflict(f"purchase request {label(request)} is {request.status}: only a {state} request can be "
                       f"{action}")
    return request


async def submit_request(session: AsyncSession, request_id: uuid.UUID) -> PurchaseRequest:
    """draft -> submitted: the request gets its number."""
    request = await _request_in(session, request_id, "draft", "submitted")
    request.number = await accounting.next_document_number(session, "PR", request.request_date)
    request.status = "submitted"
    await session.flush()
    return request


async def decide_request(session: AsyncSession, request_id: uuid.UUID, approve: bool,
                         user_id: uuid.UUID | None) -> PurchaseRequest:
    """submitted -> approved or rejected."""
    request = await _request_in(session, request_id, "submitted", "approved" if approve else "rejected")
    request.status = "approved" if approve else "rejected"
    request.decided_by, request.decided_at = user_id, datetime.now(timezone.utc)
    await session.flush()
    return request


async def convert_request(session: AsyncSession, request_id: uuid.UUID, data: ConvertIn,
                          user_id: uuid.UUID | None) -> PurchaseOrder:
    """approved -> converted: a draft purchase order to the supplier with the request's lines."""
    request = await _request_in(session, request_id, "approved", "converted")
    order = await create_order(session, OrderIn(
        partner_id=data.partner_id, order_date=data.order_date, expected_date=data.expected_date,
        note=f"from purchase request {request.number}",
        lines=[OrderLineIn(variant_id=line.variant_id, quantity=line.quantity) for line in request.lines]), user_id)
    request.status, request.order_id = "converted", order.id
    await session.flush()
    return order
