"""Toll manufacturing (maklon) pages: the list (customer, status, export), a new draft order, the order's page
(status flow, the customer's material balance per product, receive / consume / produce / deliver / return
leftover forms, complete, the fee invoice) and the customer material report. Same services and permissions as
the JSON API: ``production.read`` to look, ``production.write`` to act.

Quantities only: the customer's material is not our stock, so these pages never show a value for it.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models.toll import TOLL_STATES
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.partners import service as partners
from polyflow.erp.production.orders.service import variant_of
from polyflow.erp.toll import repository, service
from polyflow.erp.toll.schemas import ConsumeIn, MoveLineIn, MovesIn, TollInvoiceIn, TollLineIn, TollOrderIn
from polyflow.kit.errors import InvalidInput, NotFound, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

FEE_BASES = ("KG", "PCS")
NEW_LINES = 3  # empty line rows on the new-order form
# The move forms of an order's page: action -> [(field prefix, the side its variants come from)].
MOVE_FORMS = {
    "receive": [("receive", "material")],
    "consume": [("consume", "material"), ("produce", "goods"), ("scrap", "material")],
    "deliver": [("deliver", "goods")],
    "return-leftover": [("return", "material")],
}


def order_id_of(value: str) -> uuid.UUID:
    """The id in the path; anything that is no id is a 404 (after the permission check, like the API)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("toll order not found") from None


async def _customers(session: AsyncSession) -> list:
    rows, _total = await partners.list_partners(session, is_customer=True, active=True, limit=500, offset=0)
    return rows


# -- list and report -----------------------------------------------------------------------------------------


@router.get("/toll-orders")
@html_page
async def toll_orders(request: Request, session: TenantSession):
    """Toll orders, newest first, by customer and status; CSV / Excel export."""
    await signed_in(request, session, "production.read")
    p = ListParams.from_request(request)
    status = p.filter("status") or None
    if status is not None and status not in TOLL_STATES:
        raise InvalidInput(_("Not one of the choices"))
    customers = await _customers(session)
    code = p.filter("customer")
    customer_id = next((c.id for c in customers if c.code == code), None)
    if code and customer_id is None:
        raise InvalidInput(_("Not one of the choices"))
    orders, total = await service.list_orders(session, customer_id=customer_id, status=status, limit=p.limit,
                                              offset=p.offset)
    names = await repository.partners(session, {o.customer_id for o in orders})
    rows = [{"id": o.id, "number": o.number or _("Draft"), "order_date": o.order_date,
             "customer": f"{names[o.customer_id].code} — {names[o.customer_id].name}",
             "service": o.service_description, "fee_price": o.fee_price, "fee_basis": o.fee_basis,
             "status": o.status} for o in orders]
    columns = [
        Column("number", _("Number"), href=lambda r: f"/toll-orders/{r['id']}"),
        Column("order_date", _("Date"), "date"),
        Column("customer", _("Customer")),
        Column("service", _("Service")),
        Column("fee_price", _("Fee per unit"), "money"),
        Column("fee_basis", _("Unit")),
        Column("status", _("Status"), "status"),
    ]
    filters = [Filter("customer", "Customer", [(c.code, f"{c.code} — {c.name}") for c in customers]),
               Filter("status", "Status", [(s, fmt.status_label(s)) for s in TOLL_STATES])]
    actions = [(_("Customer material"), "/toll-orders/material")]
    if request.state.viewer.may("production.write"):
        actions.insert(0, (_("New toll order"), "/toll-orders/new"))
    return list_response(request, p, title=_("Toll orders"), columns=columns, rows=rows, total=total,
                         filters=filters, actions=actions, filename="toll-orders", search=False)


@router.get("/toll-orders/material")
@html_page
async def material_report(request: Request, session: TenantSession):
    """The customers' material with us as of a date (quantities only), per customer and product; export."""
    await signed_in(request, session, "production.read")
    p = ListParams.from_request(request, page_size=500)
    customers = await _customers(session)
    code = p.filter("customer")
    customer_id = next((c.id for c in customers if c.code == code), None)
    if code and customer_id is None:
        raise InvalidInput(_("Not one of the choices"))
    as_of = None
    if p.filter("as_of"):
        f = Form({"as_of": p.filter("as_of")})
        as_of = f.date("as_of")
        if not f.ok:
            raise InvalidInput(f.errors["as_of"])
    report = await service.material_report(session, customer_id, as_of)
    rows = [{"customer": f"{c.customer_code} — {c.customer_name}", **dict(r)}
            for c in report.customers for r in c.rows]
    columns = [Column("customer", _("Customer")), Column("sku", _("SKU")), Column("name", _("Name")),
               Column("unit", _("Unit")), Column("received", _("Received"), "qty"),
               Column("consumed", _("Consumed"), "qty"), Column("scrap", _("Scrap"), "qty"),
               Column("returned_leftover", _("Leftover returned"), "qty"),
               Column("on_hand", _("Material with us"), "qty"), Column("produced", _("Produced"), "qty"),
               Column("returned_goods", _("Goods delivered"), "qty"),
               Column("goods_on_hand", _("Goods with us"), "qty")]
    filters = [Filter("customer", "Customer", [(c.code, f"{c.code} — {c.name}") for c in customers]),
               Filter("as_of", "As of", kind="date")]
    return list_response(request, p, title=_("Customer material (toll)"), columns=columns, rows=rows,
                         total=len(rows), filters=filters, filename="toll-material", search=False,
                         actions=[(_("Toll orders"), "/toll-orders")],
                         template="tenant/toll/material.html", subtitle=_("As of %(d)s", d=fmt.date(report.as_of)))


# -- new -----------------------------------------------------------------------------------------------------


async def _new_page(request: Request, session: AsyncSession, form: Form, status_code: int = 200) -> HTMLResponse:
    customers = await _customers(session)
    return page(request, "tenant/toll/new.html", status_code, form=form, title=_("New toll order"),
                customers=[(str(c.id), f"{c.code} — {c.name}") for c in customers],
                fee_bases=[(b, b) for b in FEE_BASES], line_numbers=range(1, NEW_LINES + 1))


@router.get("/toll-orders/new")
@html_page
async def new_order(request: Request, session: TenantSession):
    """The form of a new (draft) toll order."""
    await signed_in(request, session, "production.write")
    return await _new_page(request, session, Form({"order_date": fmt.today().isoformat(), "fee_basis": "KG",
                                                   "tax_code": "PPN", "pph23_code": "PPH23"}))


async def _lines(session: AsyncSession, f: Form) -> list[TollLineIn]:
    """The line rows that were filled in; SKUs resolved to variants (problems collected on the form)."""
    lines = []
    for n in range(1, NEW_LINES + 1):
        parts = {}
        for side in ("material", "finished"):
            sku = f.text(f"{side}_sku_{n}", max_length=64).upper()
            qty = f.number(f"{side}_qty_{n}", positive=True, places=3)
            if sku and qty is None and f"{side}_qty_{n}" not in f.errors:
                f.fail(f"{side}_qty_{n}", _("This field is required"))
            elif qty is not None and not sku:
                f.fail(f"{side}_sku_{n}", _("This field is required"))
            elif sku and qty is not None:
                try:
                    parts[f"{side}_variant_id"] = (await variant_of(session, None, sku, "SKU")).id
                    parts[f"{side}_qty"] = qty
                except PolyflowError as exc:
                    f.fail(f"{side}_sku_{n}", exc.message)
        if parts and f.ok:
            lines.append(TollLineIn(**parts))
    if f.ok and not lines:
        f.fail("material_sku_1", _("Give at least one line"))
    return lines


@router.post("/toll-orders")
@html_page
async def create_order(request: Request, session: TenantSession):
    """Create the draft toll order and go to it."""
    principal = await signed_in(request, session, "production.write")
    f = Form(await signed_form(request, principal))
    customer_id = f.uuid("customer_id", required=True)
    order_date = f.date("order_date", required=True)
    description = f.text("service_description", required=True, max_length=200)
    fee_basis = f.choice("fee_basis", FEE_BASES, required=True)
    fee_price = f.number("fee_price", required=True, positive=True, places=2)
    tax_code = f.text("tax_code", max_length=20) or "PPN"
    pph23_code = f.text("pph23_code", max_length=20) or "PPH23"
    reference = f.text("customer_reference", max_length=100) or None
    note = f.text("note", max_length=2000, multiline=True) or None
    try:
        lines = await _lines(session, f)
        if not f.ok:
            return await _new_page(request, session, f, 422)
        data = TollOrderIn(customer_id=customer_id, order_date=order_date, service_description=description,
                           fee_basis=fee_basis, fee_price=fee_price, tax_code=tax_code, pph23_code=pph23_code,
                           customer_reference=reference, note=note, lines=lines)
        order = await service.create_order(session, data, principal.id)
    except ValidationError as exc:
        f.fail("__all__", validation_message(exc))
        return await _new_page(request, session, f, 422)
    except PolyflowError as exc:
        await session.rollback()
        f.fail("customer_id" if "customer" in exc.message else "__all__", exc.message)
        return await _new_page(request, session, f, exc.status_code)
    return see_other(f"/toll-orders/{order.id}?done=created")


# -- one order -----------------------------------------------------------------------------------------------

NOTICES = {"created": "The draft toll order is saved. Confirm it to receive the customer's material.",
           "confirmed": "The toll order is confirmed.", "received": "The material receipt is recorded.",
           "consumed": "The production is recorded.", "delivered": "The delivery is recorded.",
           "returned": "The leftover return is recorded.", "completed": "The toll order is completed.",
           "invoiced": "The fee invoice is posted.", "cancelled": "The toll order is cancelled."}
DONE = {"confirm": "confirmed", "receive": "received", "consume": "consumed", "deliver": "delivered",
        "return-leftover": "returned", "complete": "completed", "invoice": "invoiced", "cancel": "cancelled"}
STEPS = (("draft", "Draft"), ("confirmed", "Confirmed"), ("in_progress", "In progress"),
         ("completed", "Completed"), ("invoiced", "Invoiced"))


async def _order_page(request: Request, session: AsyncSession, order_id: uuid.UUID, status_code: int = 200, *,
                      form: Form | None = None, failed: str | None = None, **context: Any) -> HTMLResponse:
    order = await service.get_order(session, order_id)
    balance = await service.balance(session, order_id)
    customer = await partners.get_partner(session, order.customer_id)
    by_id = {row.variant_id: row for row in balance.rows}
    materials = [by_id[v] for v in dict.fromkeys(ln.material_variant_id for ln in order.lines
                                                 if ln.material_variant_id is not None)]
    goods = [by_id[v] for v in dict.fromkeys(ln.finished_variant_id for ln in order.lines
                                             if ln.finished_variant_id is not None)]
    steps = [(key, _(label)) for key, label in STEPS] + ([("cancelled", _("Cancelled"))]
                                                       if order.status == "cancelled" else [])
    english = NOTICES.get(request.query_params.get("done", "")) if form is None else None
    context.setdefault("notice", _(english) if english else None)
    moves = sorted(order.moves, key=lambda m: (m.move_date, m.created_at))
    kinds = {"receive": _("Received"), "consume": _("Consumed"), "produce": _("Produced"), "scrap": _("Scrap"),
             "return_goods": _("Goods delivered"), "return_leftover": _("Leftover returned")}
    return page(request, "tenant/toll/detail.html", status_code, order=order, balance=balance, customer=customer,
                materials=materials, goods=goods, by_id=by_id, steps=steps, moves=moves, kinds=kinds,
                form=form or Form({}), failed=failed, today=fmt.today().isoformat(), fee=fee_amount(order, balance),
                title=f"{_('Toll order')} {order.number or _('Draft')}", **context)


@router.get("/toll-orders/{order_id}")
@html_page
async def order_detail(request: Request, session: TenantSession, order_id: str):
    """One toll order: status flow, the customer's material balance, its moves and the actions allowed now."""
    await signed_in(request, session, "production.read")
    return await _order_page(request, session, order_id_of(order_id))


def _move_lines(f: Form, prefix: str, rows) -> list[MoveLineIn]:
    out = []
    for row in rows:
        name = f"{prefix}-{row.variant_id}"
        qty = f.number(name, positive=True, places=3)
        if qty is not None and name not in f.errors:
            out.append(MoveLineIn(variant_id=row.variant_id, quantity=qty))
    return out


async def _act(request: Request, session: AsyncSession, order_id: str, action: str) -> HTMLResponse:
    principal = await signed_in(request, session, "production.write")
    ident = order_id_of(order_id)
    f = Form(await signed_form(request, principal))
    try:
        if action in MOVE_FORMS:
            order = await service.get_order(session, ident)
            balance = await service.balance(session, ident)
            by_id = {row.variant_id: row for row in balance.rows}
            sides = {"material": [by_id[v] for v in dict.fromkeys(
                ln.material_variant_id for ln in order.lines if ln.material_variant_id is not None)],
                "goods": [by_id[v] for v in dict.fromkeys(
                    ln.finished_variant_id for ln in order.lines if ln.finished_variant_id is not None)]}
            header = {"move_date": f.date("move_date"), "reference": f.text("reference", max_length=100) or None,
                      "note": f.text("note", max_length=2000) or None}
            parts = {prefix: _move_lines(f, prefix, sides[side]) for prefix, side in MOVE_FORMS[action]}
            if f.ok and not any(parts.values()):
                f.fail("__all__", _("Type at least one quantity"))
            if not f.ok:
                return await _order_page(request, session, ident, 422, form=f, failed=action)
            if action == "consume":
                await service.consume(session, ident, ConsumeIn(
                    consumed=parts["consume"], produced=parts["produce"], scrap=parts["scrap"], **header),
                    principal.id)
            else:
                call = {"receive": service.receive, "deliver": service.deliver,
                        "return-leftover": service.return_leftover}[action]
                await call(session, ident, MovesIn(lines=next(iter(parts.values())), **header), principal.id)
        elif action == "confirm":
            await service.confirm_order(session, ident, principal.id)
        elif action == "complete":
            await service.complete(session, ident)
        elif action == "invoice":
            on = f.date("invoice_date")
            note = f.text("note", max_length=2000) or None
            if not f.ok:
                return await _order_page(request, session, ident, 422, form=f, failed=action)
            await service.invoice(session, ident, TollInvoiceIn(invoice_date=on, note=note), principal.id)
        else:
            await service.cancel(session, ident)
    except ValidationError as exc:
        f.fail("__all__", validation_message(exc))
        return await _order_page(request, session, ident, 422, form=f, failed=action)
    except PolyflowError as exc:
        await session.rollback()
        if exc.status_code == 404:
            raise
        f.fail("__all__", exc.message)
        return await _order_page(request, session, ident, exc.status_code, form=f, failed=action)
    return see_other(f"/toll-orders/{ident}?done={DONE[action]}")


def _post(action: str, doc: str):
    async def handler(request: Request, session: TenantSession, order_id: str):
        return await _act(request, session, order_id, action)

    handler.__doc__ = doc
    handler.__name__ = f"toll_{action.replace('-', '_')}"
    router.post(f"/toll-orders/{{order_id}}/{action}")(html_page(handler))


_post("confirm", "Confirm the draft: it gets its MKL number.")
_post("receive", "Record the customer's material arriving (quantities only).")
_post("consume", "Record production: material consumed and scrapped, goods produced (409 beyond the balance).")
_post("deliver", "Record finished goods going back to the customer.")
_post("return-leftover", "Record unused material going back to the customer.")
_post("complete", "Complete an order whose goods and leftover all went back.")
_post("invoice", "Invoice the fee through sales (Dr 1130 / Cr 4300 / Cr 2130).")
_post("cancel", "Cancel an order with nothing delivered and none of the customer's material left with us.")


def fee_amount(order, balance) -> Decimal:
    """What the fee invoice will charge before PPN: goods delivered x the fee price."""
    goods = {ln.finished_variant_id for ln in order.lines if ln.finished_variant_id is not None}
    return sum((r.returned_goods for r in balance.rows if r.variant_id in goods), Decimal(0)) * order.fee_price
