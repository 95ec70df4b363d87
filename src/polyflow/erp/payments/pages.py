"""Payment pages: customer receipts (``/receipts``: sales or accounting) and supplier payments
(``/supplier-payments``: purchasing or accounting) — the list, a new payment allocated to the partner's open
invoices (PPh 23 withheld, bank charges), the payment with its cancellation, and the kwitansi PDF of a receipt.
The same services and the same any-of permission rules as the JSON API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.pages import html_page, page, see_other, signed_form, validation_message
from polyflow.erp.partners import service as partners
from polyflow.erp.payments import documents, service
from polyflow.erp.payments.schemas import AllocationIn, CancelIn, PaymentIn
from polyflow.erp.payments.service import RECEIPT, SUPPLIER_PAYMENT
from polyflow.erp.sales.pages.common import (
    allow, cash_accounts, date_param, notice, partner_choices, partner_names, path_id, uuid_param,
)
from polyflow.kit.errors import InvalidInput, NotFound, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response
from polyflow.web.pdf import pdf_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

STATUS_OPTIONS = (("posted", "Posted"), ("cancelled", "Cancelled"))
DONE = {"created": "The payment is recorded and posted.", "cancelled": "The payment is cancelled: its journal is "
        "reversed and the invoices are open again."}
DEFAULT_ACCOUNT = "1102"  # Bank: most payments of a plant go through the bank


@dataclass(frozen=True)
class Kind:
    """One direction of payment as pages show it."""

    direction: str
    base: str
    read: tuple[str, ...]
    write: tuple[str, ...]
    title: str  # English msgids, translated when shown
    one: str
    partner_label: str
    new_title: str
    customers: bool
    invoice_base: str


KINDS = {
    RECEIPT: Kind(RECEIPT, "/receipts", ("sales.read", "accounting.read"), ("sales.write", "accounting.write"),
                  "Customer receipts", "Customer receipt", "Customer", "New customer receipt", True,
                  "/invoices"),
    SUPPLIER_PAYMENT: Kind(SUPPLIER_PAYMENT, "/supplier-payments", ("purchasing.read", "accounting.read"),
                           ("purchasing.write", "accounting.write"), "Supplier payments", "Supplier payment",
                           "Supplier", "New supplier payment", False, "/purchase-invoices"),
}


async def _list(request: Request, session: AsyncSession, kind: Kind):
    await allow(request, session, *kind.read)
    p = ListParams.from_request(request, sorts=("date",), default_sort="-date")
    status = p.filter("status")
    items, total = await service.list_payments(
        session, directions=(kind.direction,), partner_id=uuid_param(p.filter("partner")),
        status=status if status in ("posted", "cancelled") else None, date_from=date_param(p, "from"),
        date_to=date_param(p, "to"), q=p.q or None, limit=p.limit, offset=p.offset)
    names = await partner_names(session, items, "partner_id")
    rows = [{"id": x.id, "number": x.number, "date": x.payment_date, "status": x.status,
             "partner": names[x.partner_id].name if x.partner_id in names else "", "account": x.account_code,
             "amount": x.amount, "withheld": x.withheld, "charges": x.bank_charges, "allocated": x.allocated,
             "invoices": ", ".join(a.invoice_number for a in x.allocations), "reference": x.reference}
            for x in items]
    columns = [
        Column("number", _("Number"), href=lambda r: f"{kind.base}/{r['id']}"),
        Column("date", _("Date"), "date", sort="date"),
        Column("partner", _(kind.partner_label)),
        Column("invoices", _("Invoices")),
        Column("account", _("Account")),
        Column("amount", _("Amount"), "money"),
        Column("withheld", _("PPh 23 withheld"), "money"),
        Column("charges", _("Bank charges"), "money"),
        Column("allocated", _("Settled"), "money"),
        Column("reference", _("Reference")),
        Column("status", _("Status"), "status"),
    ]
    filters = [Filter("status", "Status", STATUS_OPTIONS),
               Filter("partner", kind.partner_label, await partner_choices(session, customers=kind.customers)),
               Filter("from", "From", kind="date"), Filter("to", "To", kind="date")]
    actions = [(_("New payment"), f"{kind.base}/new")] if request.state.viewer.may(kind.write) else []
    return list_response(request, p, title=_(kind.title), columns=columns, rows=rows, total=total, filters=filters,
                         actions=actions, filename=kind.base.strip("/"), placeholder=_("Number, reference or partner"),
                         notice=notice(request, DONE))


async def _form_page(request: Request, session: AsyncSession, kind: Kind, form: Form, partner_id: uuid.UUID | None,
                     status_code: int = 200) -> HTMLResponse:
    partner = items = None
    if partner_id is not None:
        try:
            partner = await partners.get_partner(session, partner_id)
            items = await service.open_items(session, kind.direction, partner_id)
        except NotFound:
            partner = None
    return page(request, "tenant/payments/payment_form.html", status_code, title=_(kind.new_title), kind=kind,
                form=form, partner=partner, items=items or [],
                partners=await partner_choices(session, customers=kind.customers),
                accounts=await cash_accounts(session))


async def _new(request: Request, session: AsyncSession, kind: Kind):
    await allow(request, session, *kind.write)
    partner_id = uuid_param(request.query_params.get("partner", ""))
    values: dict = {"payment_date": fmt.today().isoformat(), "account": DEFAULT_ACCOUNT,
                    "partner_id": str(partner_id or "")}
    if partner_id is not None:
        wanted = uuid_param(request.query_params.get("invoice", ""))
        try:
            items = await service.open_items(session, kind.direction, partner_id)
        except NotFound:
            items = []
        # The invoice the user came from (or the only one open) is filled in with its open amount.
        for item in items:
            if item.id == wanted or (wanted is None and len(items) == 1 and item.open_amount > 0):
                values[f"alloc_{item.id}"] = fmt.input_num(item.open_amount)
    return await _form_page(request, session, kind, Form(values), partner_id)


def _due(kind: Kind, allocated: Decimal, charges: Decimal, withheld: Decimal) -> Decimal:
    """What moves through the bank for these allocations (the service's own rule, to fill an empty amount)."""
    if kind.direction == RECEIPT:
        return allocated - charges - withheld
    return allocated + charges - withheld


async def _create(request: Request, session: AsyncSession, kind: Kind):
    principal = await allow(request, session, *kind.write)
    f = Form(await signed_form(request, principal))
    partner_id = f.uuid("partner_id", required=True)
    if partner_id is None:
        return await _form_page(request, session, kind, f, None, 422)
    items = await service.open_items(session, kind.direction, partner_id)
    payment_date = f.date("payment_date", required=True)
    account = f.text("account", required=True, max_length=20)
    charges = f.number("bank_charges", min=0, places=0) or Decimal(0)
    withheld = f.number("withheld", min=0, places=0) or Decimal(0)
    slip = f.text("withholding_slip_no", max_length=64) or None
    slip_date = f.date("withholding_date")
    reference = f.text("reference", max_length=100) or None
    note = f.text("note", max_length=2000, multiline=True) or None
    allocations = []
    for item in items:
        amount = f.number(f"alloc_{item.id}", places=0)
        if amount:
            allocations.append(AllocationIn(invoice_id=item.id, amount=amount))
    if withheld and not slip:
        f.fail("withholding_slip_no", _("Give the number of the withholding slip (bukti potong)"))
    if f.ok and not allocations:
        f.fail("__all__", _("Allocate the payment to at least one open invoice."))
    amount = f.number("amount", min=0, places=0)
    if amount is None and f.ok:
        amount = _due(kind, sum((a.amount for a in allocations), Decimal(0)), charges, withheld)
    if not f.ok:
        return await _form_page(request, session, kind, f, partner_id, 422)
    try:
        data = PaymentIn(partner_id=partner_id, payment_date=payment_date, account=account, amount=max(amount, 0),
                         bank_charges=charges, withheld=withheld, withholding_slip_no=slip if withheld else None,
                         withholding_date=slip_date if withheld else None, reference=reference, note=note,
                         allocations=allocations)
    except ValidationError as exc:
        f.fail("__all__", validation_message(exc))
        return await _form_page(request, session, kind, f, partner_id, 422)
    try:
        payment = await service.create_payment(session, kind.direction, data, principal.user.id)
    except PolyflowError as exc:
        await session.rollback()
        f.fail("__all__", exc.message)
        return await _form_page(request, session, kind, f, partner_id, exc.status_code)
    return see_other(f"{kind.base}/{payment.id}?done=created")


async def _detail(request: Request, session: AsyncSession, kind: Kind, payment_id: str):
    await allow(request, session, *kind.read)
    payment = await service.get_payment(session, kind.direction, path_id(payment_id, _(kind.one).lower()))
    names = await partner_names(session, [payment], "partner_id")
    actions: list[tuple] = []
    if kind.direction == RECEIPT:
        actions.append((_("Print kwitansi (PDF)"), f"{kind.base}/{payment.id}/pdf"))
    may_cancel = payment.status == "posted" and request.state.viewer.may(kind.write)
    return page(request, "tenant/payments/payment.html", title=payment.number, kind=kind, doc=payment,
                partner=names.get(payment.partner_id), actions=actions, may_cancel=may_cancel,
                form=Form({"cancel_date": payment.payment_date.isoformat()}), notice=notice(request, DONE))


async def _cancel(request: Request, session: AsyncSession, kind: Kind, payment_id: str):
    principal = await allow(request, session, *kind.write)
    f = Form(await signed_form(request, principal))
    doc_id = path_id(payment_id, _(kind.one).lower())
    on = f.date("cancel_date")
    reason = f.text("reason", max_length=500) or None
    if not f.ok:
        await service.get_payment(session, kind.direction, doc_id)  # an unknown id stays a 404
        raise_first(f)
    await service.cancel_payment(session, kind.direction, doc_id, CancelIn(cancel_date=on, reason=reason),
                                 principal.user.id)
    return see_other(f"{kind.base}/{doc_id}?done=cancelled")


def raise_first(f: Form) -> None:
    """A form without its own page (the cancel box): its first problem as a 422 page."""
    name, message = next(iter(f.errors.items()))
    raise InvalidInput(f"{name.replace('_', ' ')}: {message}")


# -- customer receipts ---------------------------------------------------------------------------------------
R, S = KINDS[RECEIPT], KINDS[SUPPLIER_PAYMENT]


@router.get("/receipts")
@html_page
async def receipts(request: Request, session: TenantSession):
    """Customer receipts: search, status, customer and date filters, export."""
    return await _list(request, session, R)


@router.get("/receipts/new")
@html_page
async def new_receipt(request: Request, session: TenantSession):
    """A new receipt: choose the customer, then allocate to its open invoices (?invoice= fills one in)."""
    return await _new(request, session, R)


@router.post("/receipts")
@html_page
async def create_receipt(request: Request, session: TenantSession):
    """Record and post a receipt; the form again (422/409) with what was typed and the reason."""
    return await _create(request, session, R)


@router.get("/receipts/{receipt_id}")
@html_page
async def receipt(request: Request, session: TenantSession, receipt_id: str):
    """One receipt: the invoices it settled, PPh 23 withheld, bank charges; cancel; the kwitansi."""
    return await _detail(request, session, R, receipt_id)


@router.post("/receipts/{receipt_id}/cancel")
@html_page
async def cancel_receipt(request: Request, session: TenantSession, receipt_id: str):
    """Cancel a posted receipt: a reversing journal, the invoices re-opened."""
    return await _cancel(request, session, R, receipt_id)


@router.get("/receipts/{receipt_id}/pdf")
@html_page
async def receipt_pdf(request: Request, session: TenantSession, receipt_id: str):
    """The kwitansi as a PDF: received from, the amount in words, what it pays, a signature."""
    await allow(request, session, *R.read)
    payment = await service.get_payment(session, RECEIPT, path_id(receipt_id, "receipt"))
    names = await partner_names(session, [payment], "partner_id")
    pdf = documents.kwitansi(await documents.letterhead(session), payment, names.get(payment.partner_id))
    return pdf_response(pdf, f"kwitansi-{payment.number}")


# -- supplier payments ---------------------------------------------------------------------------------------
@router.get("/supplier-payments")
@html_page
async def supplier_payments(request: Request, session: TenantSession):
    """Supplier payments: search, status, supplier and date filters, export."""
    return await _list(request, session, S)


@router.get("/supplier-payments/new")
@html_page
async def new_supplier_payment(request: Request, session: TenantSession):
    """A new supplier payment: choose the supplier, then allocate to its open invoices."""
    return await _new(request, session, S)


@router.post("/supplier-payments")
@html_page
async def create_supplier_payment(request: Request, session: TenantSession):
    """Record and post a supplier payment; the form again (422/409) with what was typed and the reason."""
    return await _create(request, session, S)


@router.get("/supplier-payments/{payment_id}")
@html_page
async def supplier_payment(request: Request, session: TenantSession, payment_id: str):
    """One supplier payment: the invoices it settled, PPh 23 withheld, bank charges; cancel."""
    return await _detail(request, session, S, payment_id)


@router.post("/supplier-payments/{payment_id}/cancel")
@html_page
async def cancel_supplier_payment(request: Request, session: TenantSession, payment_id: str):
    """Cancel a posted supplier payment: a reversing journal, the invoices re-opened."""
    return await _cancel(request, session, S, payment_id)
