"""Payments: customer receipts and supplier payments, allocated to open invoices of their partner.

A payment is posted when it is recorded (no draft): it takes its gap-free number (RCV/<year>/<n> for a
receipt, PAY/<year>/<n> for a supplier payment), posts its journal through accounting and reduces each
allocated invoice's open amount through the owning module (`sales` or `purchasing` `apply_payment`), all
in the request's transaction. A posted payment is never edited; cancelling it posts the reversing journal
(PMX/<year>/<n>, on a date of the user's choosing, not before the payment) and re-opens the invoices.

Journals (whole figures from the request; the payment's amounts must tie out, see models/payment.py):
  receipt : Dr cash/bank (amount) + Dr 6910 (bank charges) + Dr 1171 (PPh 23 withheld) / Cr 1130 (allocated)
  supplier: Dr 2110 (allocated) + Dr 6910 (bank charges) / Cr cash/bank (amount) + Cr 2140 (PPh 23 withheld)

Locking: the invoices are locked FOR UPDATE in id order (open_item) before any figure is checked, so two
payments racing for the same open amount serialise there and the second sees what the first left (409)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.accounting.seeds import HUTANG_USAHA, PIUTANG
from polyflow.erp.models import Payment, PaymentAllocation
from polyflow.erp.partners import service as partners
from polyflow.erp.payments import repository
from polyflow.erp.payments.schemas import CancelIn, PaymentIn
from polyflow.erp.purchasing import invoicing as purchase_invoices
from polyflow.erp.sales import invoicing as sales_invoices
from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.kit.money import ZERO

RECEIPT, SUPPLIER_PAYMENT = "in", "out"
DOC_TYPE = {RECEIPT: "RCV", SUPPLIER_PAYMENT: "PAY"}
CANCEL_DOC_TYPE = "PMX"
accounting.DOC_TYPES.update({"RCV": "customer receipt", "PAY": "supplier payment",
                             "PMX": "payment cancellation"})
WHAT = {RECEIPT: "receipt", SUPPLIER_PAYMENT: "supplier payment"}
BEBAN_ADMINISTRASI_BANK = "6910"
PPH23_DIBAYAR_DIMUKA = "1171"  # withheld by the customer: a prepayment of our income tax
HUTANG_PPH = "2140"  # withheld by us from a supplier: owed to the tax office
# Cash and bank accounts are the 110x group of the chart (1101 Kas, 1102 Bank, and any bank a tenant adds there).
CASH_BANK_PREFIX = "110"


def _owner(direction: str):
    return sales_invoices if direction == RECEIPT else purchase_invoices


async def allocated_after(session: AsyncSession, direction: str, day: date) -> dict[uuid.UUID, Decimal]:
    """Invoice id -> what payments dated after `day` allocated to it, net of cancellations dated after `day`
    (for the owning modules' agings as of a past date: open then = open now + this)."""
    return await repository.allocations_after(session, direction, day)


async def get_payment(session: AsyncSession, direction: str, payment_id: uuid.UUID, *,
                      lock: bool = False) -> Payment:
    """One receipt or supplier payment, or 404 (also for a payment of the other direction)."""
    payment = await repository.get(session, payment_id, lock=lock)
    if payment is None or payment.direction != direction:
        raise NotFound(f"{WHAT[direction]} not found")
    return payment


async def list_payments(session: AsyncSession, *, directions: tuple[str, ...], partner_id: uuid.UUID | None = None,
                        status: str | None = None, date_from: date | None = None, date_to: date | None = None,
                        limit: int, offset: int, q: str | None = None) -> tuple[list[Payment], int]:
    """A page of payments of the given directions, newest first (`q`: number, reference or partner)."""
    accounting.check_range(date_from, date_to)
    return await repository.list_page(session, directions=directions, partner_id=partner_id, status=status,
                                      date_from=date_from, date_to=date_to, limit=limit, offset=offset, q=q)


async def payments_of(session: AsyncSession, direction: str, invoice_id: uuid.UUID) -> list[tuple[Payment, Decimal]]:
    """The payments allocated to one invoice, with the amount each settled (cancelled ones included)."""
    return await repository.allocations_to(session, direction, invoice_id)


async def open_items(session: AsyncSession, direction: str, partner_id: uuid.UUID) -> list:
    """The partner's open items a payment of `direction` can be allocated to, by due date."""
    await partners.get_partner(session, partner_id)
    return await _owner(direction).open_items(session, partner_id)


async def _cash_account(session: AsyncSession, code: str) -> str:
    try:
        account = await accounting.get_account(session, code)
    except NotFound:
        raise InvalidInput(f"account {code} does not exist") from None
    if account.type != "asset" or not account.code.startswith(CASH_BANK_PREFIX) or not account.is_active:
        raise InvalidInput(f"account {code} ({account.name}) is not an active cash or bank account (110x)")
    return account.code


def _lines(direction: str, account: str, amount: Decimal, allocated: Decimal, charges: Decimal,
           withheld: Decimal, memo: str) -> list[accounting.Line]:
    if direction == RECEIPT:
        lines = [accounting.Line(account, debit=amount, memo=memo),
                 accounting.Line(BEBAN_ADMINISTRASI_BANK, debit=charges, memo=memo),
                 accounting.Line(PPH23_DIBAYAR_DIMUKA, debit=withheld, memo=memo),
                 accounting.Line(PIUTANG, credit=allocated, memo=memo)]
    else:
        lines = [accounting.Line(HUTANG_USAHA, debit=allocated, memo=memo),
                 accounting.Line(BEBAN_ADMINISTRASI_BANK, debit=charges, memo=memo),
                 accounting.Line(account, credit=amount, memo=memo),
                 accounting.Line(HUTANG_PPH, credit=withheld, memo=memo)]
    return [ln for ln in lines if ln.debit or ln.credit]


def _owner_amount(item, amount: Decimal) -> Decimal:
    """What the owning module's apply_payment takes: a credit note (negative open item) is reduced by a
    positive amount there."""
    return -amount if item.total < 0 else amount


async def _checked_allocations(session: AsyncSession, direction: str, partner, data: PaymentIn, on: date):
    """(item, amount) per allocation, the invoices locked in id order; 422/409 with the figures."""
    owner = _owner(direction)
    out = []
    for alloc in sorted(data.allocations, key=lambda a: a.invoice_id):
        try:
            item = await owner.open_item(session, alloc.invoice_id, lock=True)
        except NotFound:
            kind = "sales invoice or credit note" if direction == RECEIPT else "supplier invoice"
            raise InvalidInput(f"invoice {alloc.invoice_id} is not a {kind} of this workspace") from None
        if item.partner_id != partner.id:
            raise InvalidInput(f"{item.number} belongs to another partner, not {partner.code}: a payment is allocated "
                               "to its own partner's invoices only")
        if item.invoice_date > on:
            raise InvalidInput(f"{item.number} is dated {item.invoice_date}, after the payment ({on})")
        amount = alloc.amount
        if amount == 0:
            raise InvalidInput(f"the allocation to {item.number} is zero")
        if item.total < 0:  # a credit note: its credit is used as a negative allocation
            if amount > 0:
                raise InvalidInput(f"{item.number} is a credit note: allocate its credit as a negative amount")
            if amount < item.open_amount:
                raise Conflict(f"allocating {-amount:.2f} of credit note {item.number} is more than its open credit "
                               f"{-item.open_amount:.2f}")
        else:
            if amount < 0:
                raise InvalidInput(f"the allocation to {item.number} must be positive")
            if amount > item.open_amount:
                raise Conflict(f"allocating {amount:.2f} to {item.number} is more than its open amount "
                               f"{item.open_amount:.2f} (total {item.total:.2f})")
        out.append((item, amount))
    return out


async def create_payment(session: AsyncSession, direction: str, data: PaymentIn,
                         user_id: uuid.UUID | None = None) -> Payment:
    """Record and post a receipt (`in`) or supplier payment (`out`) with its allocations."""
    partner = await partners.get_partner(session, data.partner_id)
    if direction == RECEIPT and not partner.is_customer:
        raise InvalidInput(f"partner {partner.code} is not a customer")
    if direction == SUPPLIER_PAYMENT and not partner.is_supplier:
        raise InvalidInput(f"partner {partner.code} is not a supplier")
    account = await _cash_account(session, data.account)
    on = data.payment_date or await accounting.local_today(session)
    # The closed-period answer first, before any invoice is locked (post_journal checks it again).
    await accounting.ensure_postable(session, on)
    items = await _checked_allocations(session, direction, partner, data, on)
    allocated = sum((amount for _, amount in items), ZERO)
    if allocated <= 0:
        raise InvalidInput(f"the allocations add up to {allocated:.2f}: a payment settles more than it uses "
                           "of credit notes")
    charges, withheld = data.bank_charges, data.withheld
    if direction == RECEIPT:
        due = allocated - charges - withheld
        formula = (f"allocated {allocated:.2f} - bank charges {charges:.2f} - PPh 23 withheld {withheld:.2f} "
                   f"= {due:.2f}")
    else:
        due = allocated + charges - withheld
        formula = (f"allocated {allocated:.2f} + bank charges {charges:.2f} - PPh 23 withheld {withheld:.2f} "
                   f"= {due:.2f}")
    if due < 0:
        raise InvalidInput(f"bank charges and withholding are more than the allocations: {formula}")
    if data.amount > due:
        raise Conflict(f"amount {data.amount:.2f} is more than is owed on the allocated invoices ({formula}): an "
                       "over-payment is not recorded; allocate it to more open invoices")
    if data.amount < due:
        raise InvalidInput(f"amount {data.amount:.2f} does not cover the allocations: {formula}; allocate less "
                           "or record the bank charges / withholding")
    if withheld and data.withholding_date is None:
        data = data.model_copy(update={"withholding_date": on})

    number = await accounting.next_document_number(session, DOC_TYPE[direction], on)
    memo = f"{number} {partner.code}"
    entry = await accounting.post_journal(
        session, doc_type=DOC_TYPE[direction], number=number, entry_date=on, source="payments",
        description=f"{WHAT[direction].capitalize()} {number} {partner.code} "
                    f"({', '.join(item.number for item, _ in items)})",
        reference=data.reference or number, created_by=user_id,
        lines=_lines(direction, account, data.amount, allocated, charges, withheld, memo))
    payment = Payment(
        number=number, direction=direction, status="posted", partner_id=partner.id, payment_date=on,
        account_code=account, amount=data.amount, allocated=allocated, bank_charges=charges, withheld=withheld,
        withholding_slip_no=data.withholding_slip_no, withholding_date=data.withholding_date,
        reference=data.reference, note=data.note, journal_entry_id=entry.id, created_by=user_id,
        allocations=[PaymentAllocation(
            position=n, invoice_number=item.number, amount=amount,
            sales_invoice_id=item.id if direction == RECEIPT else None,
            purchase_invoice_id=item.id if direction == SUPPLIER_PAYMENT else None)
            for n, (item, amount) in enumerate(sorted(items, key=lambda i: (i[0].invoice_date, i[0].number)))])
    session.add(payment)
    owner = _owner(direction)
    for item, amount in items:
        await owner.apply_payment(session, item.id, _owner_amount(item, amount))
    await session.flush()
    await session.refresh(payment)  # server-set timestamps, read back for the answer
    return payment


async def cancel_payment(session: AsyncSession, direction: str, payment_id: uuid.UUID, data: CancelIn,
                         user_id: uuid.UUID | None = None) -> Payment:
    """Cancel a posted payment: the reversing journal and the invoices re-opened (never an edit)."""
    payment = await get_payment(session, direction, payment_id, lock=True)
    if payment.status != "posted":
        raise Conflict(f"{WHAT[direction]} {payment.number} is already cancelled (on {payment.cancel_date})")
    on = data.cancel_date or payment.payment_date
    if on < payment.payment_date:
        raise InvalidInput(f"a cancellation cannot be dated before the {WHAT[direction]} ({payment.payment_date})")
    owner = _owner(direction)
    for alloc in sorted(payment.allocations, key=lambda a: a.invoice_id):
        item = await owner.open_item(session, alloc.invoice_id, lock=True)
        await owner.apply_payment(session, item.id, -_owner_amount(item, alloc.amount))
    memo = f"cancels {payment.number}"
    lines = [accounting.Line(ln.account, debit=ln.credit, credit=ln.debit, memo=memo) for ln in _lines(
        direction, payment.account_code, payment.amount, payment.allocated, payment.bank_charges, payment.withheld,
        memo)]
    entry = await accounting.post_journal(
        session, doc_type=CANCEL_DOC_TYPE, entry_date=on, source="payments", reference=payment.number,
        description=f"Cancellation of {payment.number}" + (f": {data.reason}" if data.reason else ""),
        lines=lines, created_by=user_id, reversal_of_id=payment.journal_entry_id)
    payment.status, payment.cancel_entry_id, payment.cancel_date = "cancelled", entry.id, on
    payment.cancel_reason, payment.cancelled_by = data.reason, user_id
    payment.cancelled_at = datetime.now(timezone.utc)
    await session.flush()
    await session.refresh(payment)
    return payment
