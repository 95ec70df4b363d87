"""Toll manufacturing (maklon) rules: a customer's own material, received, converted and returned, tracked
by QUANTITY ONLY; the service is invoiced through sales.

Why quantity only: the material stays the customer's property, so it is not our stock. Nothing here
calls inventory (no stock movement, no stock level, no valuation) and nothing posts a journal except the
fee invoice, which sales posts (Dr 1130 Piutang / Cr 4300 Pendapatan Jasa Maklon / Cr 2130 PPN
Keluaran). PPh 23 the customer withholds from the fee is booked when its payment comes (payments:
`withheld` with the bukti potong number -> Dr 1171); the order shows the amount to expect.

States: draft -> confirmed (numbered MKL) -> in_progress (first move) -> completed -> invoiced; cancelled
from draft, confirmed or in progress while none of the customer's material is with us and nothing was
delivered. Balances, per variant (in its unit):
  material on hand = received - consumed - returned leftover - scrap;
  goods on hand    = produced - returned as goods.
An outflow may not exceed what is on hand on its date, nor on any later date a move already stands on
(409 with the figures). Every action locks the order's row first, so two consumptions of the last kilos
are serialised and the second sees the first."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.accounting.seeds import PENDAPATAN_MAKLON  # 4300 Pendapatan Jasa Maklon
from polyflow.erp.models import TollMaterialMove, TollOrder, TollOrderLine
from polyflow.erp.sales import invoicing as sales_invoicing
from polyflow.erp.sales.common import SALES_TAX_KINDS
from polyflow.erp.tax import service as tax
from polyflow.erp.toll import repository
from polyflow.erp.toll.schemas import (
    BalanceRow, ConsumeIn, CustomerMaterial, MovesIn, TollBalance, TollInvoiceIn, TollMaterialReport, TollOrderIn,
)
from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.kit.money import rupiah
from polyflow.kit.money import quantity_text as _qty

accounting.DOC_TYPES.setdefault("MKL", "toll manufacturing order (maklon)")

ZERO = Decimal(0)
# kind -> (side, sign): material moves change the material on hand, goods moves the goods on hand.
SIDE = {"receive": ("material", 1), "consume": ("material", -1), "return_leftover": ("material", -1),
        "scrap": ("material", -1), "produce": ("goods", 1), "return_goods": ("goods", -1)}
VERB = {"receive": "receive", "consume": "consume", "return_leftover": "return", "scrap": "scrap",
        "produce": "record as produced", "return_goods": "deliver"}
MOVABLE = ("confirmed", "in_progress")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _name(order: TollOrder) -> str:
    return order.number or "the draft"


def _refuse(order: TollOrder, wanted: tuple[str, ...], action: str) -> None:
    """409 unless the order is in one of the wanted states."""
    if order.status not in wanted:
        raise Conflict(f"toll order {_name(order)} is {order.status.replace('_', ' ')}: it cannot be {action} "
                       f"(only when {' or '.join(w.replace('_', ' ') for w in wanted)})")


# -- orders --------------------------------------------------------------------------------------


async def get_order(session: AsyncSession, order_id: uuid.UUID, *, lock: bool = False) -> TollOrder:
    """One toll order, or 404."""
    order = await repository.get_order(session, order_id, lock=lock)
    if order is None:
        raise NotFound("toll order not found")
    return order


async def list_orders(session: AsyncSession, *, customer_id: uuid.UUID | None, status: str | None, limit: int,
                      offset: int) -> tuple[list[TollOrder], int]:
    """A page of toll orders, newest first."""
    return await repository.list_orders(session, customer_id=customer_id, status=status, limit=limit, offset=offset)


async def _tax_code(session: AsyncSession, code: str, on: date, kinds: tuple[str, ...], what: str):
    try:
        found = await tax.in_effect(session, code, on)
    except NotFound as exc:
        raise InvalidInput(exc.message) from None
    if found.kind not in kinds:
        raise InvalidInput(f"{what}: tax code {found.code} is {found.kind}")
    return found


async def _fill(session: AsyncSession, order: TollOrder, data: TollOrderIn) -> None:
    customer = (await repository.partners(session, [data.customer_id])).get(data.customer_id)
    if customer is None:
        raise InvalidInput("unknown customer_id")
    if not customer.is_customer:
        raise InvalidInput(f"{customer.code} is not a customer")
    if not customer.is_active:
        raise InvalidInput(f"customer {customer.code} is inactive")
    await _tax_code(session, data.tax_code, data.order_date, SALES_TAX_KINDS, "tax_code (PPN on the fee)")
    await _tax_code(session, data.pph23_code, data.order_date, ("pph23",), "pph23_code")
    ids = [i for ln in data.lines for i in (ln.material_variant_id, ln.finished_variant_id) if i is not None]
    found = await repository.variants(session, ids)
    for i, ln in enumerate(data.lines, 1):
        for vid in (ln.material_variant_id, ln.finished_variant_id):
            if vid is None:
                continue
            v = found.get(vid)
            if v is None:
                raise InvalidInput(f"line {i}: unknown variant_id {vid}")
            if not (v.is_active and v.product.is_active):
                raise InvalidInput(f"line {i}: {v.sku} is inactive")
        if ln.finished_variant_id is not None:
            v = found[ln.finished_variant_id]
            # The fee is counted on the goods' own quantity: they must be counted in the fee's unit.
            if v.product.unit != data.fee_basis:
                raise InvalidInput(f"line {i}: the fee is per {data.fee_basis} but {v.sku} is counted in "
                                   f"{v.product.unit}; charge per {v.product.unit} or make a product counted in "
                                   f"{data.fee_basis}")
    order.customer_id, order.order_date = data.customer_id, data.order_date
    order.service_description, order.fee_basis, order.fee_price = data.service_description, data.fee_basis, \
        data.fee_price
    order.tax_code, order.pph23_code = data.tax_code, data.pph23_code
    order.customer_reference, order.note = data.customer_reference, data.note
    order.lines = [TollOrderLine(line_no=i, material_variant_id=ln.material_variant_id, material_qty=ln.material_qty,
                                 finished_variant_id=ln.finished_variant_id, finished_qty=ln.finished_qty)
                   for i, ln in enumerate(data.lines, 1)]


async def create_order(session: AsyncSession, data: TollOrderIn, user_id: uuid.UUID | None) -> TollOrder:
    """A draft toll order (no number yet)."""
    order = TollOrder(status="draft", created_by=user_id, moves=[])
    await _fill(session, order, data)
    session.add(order)
    await session.flush()
    return order


async def update_order(session: AsyncSession, order_id: uuid.UUID, data: TollOrderIn) -> TollOrder:
    """Replace a draft toll order (409 once confirmed)."""
    order = await get_order(session, order_id, lock=True)
    _refuse(order, ("draft",), "edited")
    await _fill(session, order, data)
    await session.flush()
    return order


async def delete_order(session: AsyncSession, order_id: uuid.UUID) -> None:
    """Throw a draft toll order away (a confirmed one is cancelled instead)."""
    order = await get_order(session, order_id, lock=True)
    _refuse(order, ("draft",), "deleted")
    await session.delete(order)
    await session.flush()


async def confirm_order(session: AsyncSession, order_id: uuid.UUID, user_id: uuid.UUID | None) -> TollOrder:
    """Draft -> confirmed: the order gets its number (MKL) and may receive the customer's material."""
    order = await get_order(session, order_id, lock=True)
    _refuse(order, ("draft",), "confirmed")
    customer = (await repository.partners(session, [order.customer_id]))[order.customer_id]
    if not customer.is_active:
        raise InvalidInput(f"customer {customer.code} is inactive")
    order.number = await accounting.next_document_number(session, "MKL", order.order_date)
    order.status, order.confirmed_by, order.confirmed_at = "confirmed", user_id, _now()
    await session.flush()
    return order


# -- balances ------------------------------------------------------------------------------------


def _sums(moves, on: date | None = None) -> dict[uuid.UUID, dict[str, Decimal]]:
    """variant -> kind -> quantity over the moves dated on or before `on` (all when None)."""
    out: dict[uuid.UUID, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for m in moves:
        if on is None or m.move_date <= on:
            out[m.variant_id][m.kind] += m.quantity
    return out


def _row(v, sums: dict[str, Decimal]) -> BalanceRow:
    g = lambda kind: sums.get(kind, ZERO)  # noqa: E731
    return BalanceRow(
        variant_id=v.id, sku=v.sku, name=v.name, unit=v.product.unit, received=g("receive"), consumed=g("consume"),
        returned_leftover=g("return_leftover"), scrap=g("scrap"),
        on_hand=g("receive") - g("consume") - g("return_leftover") - g("scrap"),
        produced=g("produce"), returned_goods=g("return_goods"), goods_on_hand=g("produce") - g("return_goods"))


def _on_hand(moves, variant_id: uuid.UUID, side: str, on: date | None = None) -> Decimal:
    return sum((SIDE[m.kind][1] * m.quantity for m in moves
                if m.variant_id == variant_id and SIDE[m.kind][0] == side and (on is None or m.move_date <= on)),
               ZERO)


def _lowest_from(moves, variant_id: uuid.UUID, side: str, on: date) -> tuple[Decimal, date]:
    """The least on hand on `on` or any later day a move stands on (what an outflow dated `on` may take
    without making a later day negative), and that day."""
    days = sorted({m.move_date for m in moves if m.variant_id == variant_id and m.move_date > on})
    low, low_day = _on_hand(moves, variant_id, side, on), on
    for day in days:
        level = _on_hand(moves, variant_id, side, day)
        if level < low:
            low, low_day = level, day
    return low, low_day


def _shortage(order: TollOrder, v, kind: str, wanted: Decimal, moves, on: date, low: Decimal,
              low_day: date) -> Conflict:
    s = _sums(moves, low_day)[v.id]
    g = lambda k: _qty(s.get(k, ZERO))  # noqa: E731
    if SIDE[kind][0] == "material":
        figures = (f"received {g('receive')}, consumed {g('consume')}, returned leftover {g('return_leftover')}, "
                   f"scrap {g('scrap')}: on hand {_qty(low)}")
    else:
        figures = f"produced {g('produce')}, delivered {g('return_goods')}: goods on hand {_qty(low)}"
    when = f"on {low_day}" + (f" (a later day than {on}, after moves already recorded)" if low_day != on else "")
    return Conflict(f"cannot {VERB[kind]} {_qty(wanted)} {v.product.unit} of {v.sku} on toll order {_name(order)}: "
                    f"{when} the customer's {figures}")


# -- moves ---------------------------------------------------------------------------------------


async def _move_date(session: AsyncSession, order: TollOrder, given: date | None) -> date:
    today = await accounting.local_today(session)
    on = given or today
    if on < order.order_date:
        raise InvalidInput(f"move_date {on} is before the order's date {order.order_date}")
    if on > today:
        raise InvalidInput(f"move_date {on} is after today ({today}): moves are recorded when they happen")
    return on


async def _record(session: AsyncSession, order_id: uuid.UUID, action: str, entries: list[tuple[str, list]],
                  header, user_id: uuid.UUID | None) -> TollOrder:
    """Record (kind, lines) moves on a confirmed or in-progress order, each variant checked against the
    order's lines and every outflow against what is on hand (on its date and any later one)."""
    order = await get_order(session, order_id, lock=True)
    _refuse(order, MOVABLE, action)
    on = await _move_date(session, order, header.move_date)
    material = {ln.material_variant_id for ln in order.lines if ln.material_variant_id is not None}
    goods = {ln.finished_variant_id for ln in order.lines if ln.finished_variant_id is not None}
    found = await repository.variants(session, [ln.variant_id for _, lines in entries for ln in lines])
    outflow: dict[tuple[uuid.UUID, str], Decimal] = defaultdict(Decimal)
    new = []
    for kind, lines in entries:
        side, sign = SIDE[kind]
        allowed = material if side == "material" else goods
        for i, ln in enumerate(lines, 1):
            v = found.get(ln.variant_id)
            if ln.variant_id not in allowed or v is None:
                label = v.sku if v is not None else str(ln.variant_id)
                raise InvalidInput(f"{kind.replace('_', ' ')} line {i}: {label} is not a "
                                   f"{'material' if side == 'material' else 'finished product'} of toll order "
                                   f"{_name(order)}")
            if sign < 0:
                outflow[(ln.variant_id, side)] += ln.quantity
            new.append(TollMaterialMove(variant_id=ln.variant_id, kind=kind, quantity=ln.quantity, move_date=on,
                                        reference=header.reference, note=header.note, created_by=user_id))
    # Inflows of this same action count first (goods produced and delivered on one visit).
    pending = list(order.moves) + [m for m in new if SIDE[m.kind][1] > 0]
    for (variant_id, side), wanted in sorted(outflow.items(), key=lambda kv: str(kv[0][0])):
        low, low_day = _lowest_from(pending, variant_id, side, on)
        if wanted > low:
            kind = next(m.kind for m in new if m.variant_id == variant_id and SIDE[m.kind] == (side, -1))
            raise _shortage(order, found[variant_id], kind, wanted, pending, on, low, low_day)
    order.moves.extend(new)
    if order.status == "confirmed":
        order.status = "in_progress"
    await session.flush()
    return order


async def receive(session: AsyncSession, order_id: uuid.UUID, data: MovesIn, user_id: uuid.UUID | None) -> TollOrder:
    """The customer's material arrives (by quantity; no stock, no value)."""
    return await _record(session, order_id, "received into", [("receive", data.lines)], data, user_id)


async def consume(session: AsyncSession, order_id: uuid.UUID, data: ConsumeIn, user_id: uuid.UUID | None) -> TollOrder:
    """Production on the order: material consumed and scrapped, finished goods produced (409 beyond what
    is on hand)."""
    return await _record(session, order_id, "consumed on",
                         [("consume", data.consumed), ("scrap", data.scrap), ("produce", data.produced)], data,
                         user_id)


async def deliver(session: AsyncSession, order_id: uuid.UUID, data: MovesIn, user_id: uuid.UUID | None) -> TollOrder:
    """Finished goods go back to the customer (409 beyond what was produced and not yet delivered)."""
    return await _record(session, order_id, "delivered from", [("return_goods", data.lines)], data, user_id)


async def return_leftover(session: AsyncSession, order_id: uuid.UUID, data: MovesIn,
                          user_id: uuid.UUID | None) -> TollOrder:
    """Unused material goes back to the customer (409 beyond what is on hand)."""
    return await _record(session, order_id, "returned from", [("return_leftover", data.lines)], data, user_id)


def _left_with_us(order: TollOrder, found) -> list[str]:
    out = []
    for vid, s in _sums(order.moves).items():
        material = s.get("receive", ZERO) - s.get("consume", ZERO) - s.get("return_leftover", ZERO) \
            - s.get("scrap", ZERO)
        goods = s.get("produce", ZERO) - s.get("return_goods", ZERO)
        if material:
            out.append(f"{_qty(material)} {found[vid].product.unit} of material {found[vid].sku}")
        if goods:
            out.append(f"{_qty(goods)} {found[vid].product.unit} of goods {found[vid].sku}")
    return sorted(out)


async def complete(session: AsyncSession, order_id: uuid.UUID) -> TollOrder:
    """In progress -> completed: everything went back (goods delivered, leftover returned or scrapped)."""
    order = await get_order(session, order_id, lock=True)
    _refuse(order, ("in_progress",), "completed")
    found = await repository.variants(session, {m.variant_id for m in order.moves})
    left = _left_with_us(order, found)
    if left:
        raise Conflict(f"toll order {order.number} still has the customer's {', '.join(left)} with us: deliver the "
                       "goods and return (or scrap) the leftover first")
    if not any(m.kind == "return_goods" for m in order.moves):
        raise Conflict(f"toll order {order.number} has delivered nothing: there is no fee to invoice; cancel it "
                       "instead")
    order.status, order.completed_at = "completed", _now()
    await session.flush()
    return order


async def invoice(session: AsyncSession, order_id: uuid.UUID, data: TollInvoiceIn,
                  user_id: uuid.UUID | None) -> TollOrder:
    """Completed -> invoiced: a sales invoice of the service, fee = goods delivered x fee price per finished
    product, PPN on the fee (Dr 1130 / Cr 4300 / Cr 2130); the PPh 23 the customer will withhold is noted."""
    order = await get_order(session, order_id, lock=True)
    _refuse(order, ("completed",), "invoiced")
    on = data.invoice_date or await accounting.local_today(session)
    last = max(m.move_date for m in order.moves if m.kind == "return_goods")
    if on < last:
        raise InvalidInput(f"invoice_date {on} is before the last delivery of toll order {order.number} ({last})")
    delivered = _sums(order.moves)
    found = await repository.variants(session, delivered.keys())
    lines, seen = [], set()
    for ln in order.lines:
        vid = ln.finished_variant_id
        if vid is None or vid in seen or not delivered[vid].get("return_goods"):
            continue
        seen.add(vid)
        lines.append(sales_invoicing.ServiceLine(
            variant_id=vid, description=f"{order.service_description} - {found[vid].name}"[:200],
            quantity=delivered[vid]["return_goods"], unit=order.fee_basis, unit_price=order.fee_price,
            tax_code=order.tax_code))
    pph23 = await _tax_code(session, order.pph23_code, on, ("pph23",), "pph23_code")
    invoice_doc = await sales_invoicing.create_service_invoice(
        session, customer_id=order.customer_id, invoice_date=on, lines=lines, revenue_account=PENDAPATAN_MAKLON,
        reference=order.number, note=data.note or f"Jasa maklon {order.number}", user_id=user_id)
    # PPh 23 is withheld on the fee without PPN (its DPP), whole rupiah.
    order.pph23_expected = rupiah(invoice_doc.base * pph23.rate / 100)
    order.sales_invoice_id, order.status = invoice_doc.id, "invoiced"
    await session.flush()
    return order


async def cancel(session: AsyncSession, order_id: uuid.UUID) -> TollOrder:
    """Cancel an order before anything was delivered, once none of the customer's material is with us."""
    order = await get_order(session, order_id, lock=True)
    _refuse(order, ("draft", "confirmed", "in_progress"), "cancelled")
    if any(m.kind == "return_goods" for m in order.moves):
        raise Conflict(f"toll order {order.number} has delivered goods: complete and invoice it instead")
    found = await repository.variants(session, {m.variant_id for m in order.moves})
    left = _left_with_us(order, found)
    if left:
        raise Conflict(f"toll order {order.number} still has the customer's {', '.join(left)} with us: return it "
                       "first")
    order.status = "cancelled"
    await session.flush()
    return order


# -- reports -------------------------------------------------------------------------------------


async def balance(session: AsyncSession, order_id: uuid.UUID, as_of: date | None = None) -> TollBalance:
    """The order's material and goods per variant as of a date (default today), with the expected
    quantities of its lines."""
    order = await get_order(session, order_id)
    as_of = as_of or await accounting.local_today(session)
    expected_material: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    expected_finished: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    ordered: list[uuid.UUID] = []
    for ln in order.lines:
        for vid, qty, bucket in ((ln.material_variant_id, ln.material_qty, expected_material),
                                 (ln.finished_variant_id, ln.finished_qty, expected_finished)):
            if vid is not None:
                bucket[vid] += qty
                if vid not in ordered:
                    ordered.append(vid)
    sums = _sums(order.moves, as_of)
    found = await repository.variants(session, ordered)
    rows = []
    for vid in ordered:
        row = _row(found[vid], sums.get(vid, {}))
        row.expected_material, row.expected_finished = expected_material.get(vid), expected_finished.get(vid)
        rows.append(row)
    return TollBalance(order_id=order.id, number=order.number, status=order.status, as_of=as_of, rows=rows)


async def material_report(session: AsyncSession, customer_id: uuid.UUID | None = None,
                          as_of: date | None = None) -> TollMaterialReport:
    """Customer-owned material per customer and variant over all toll orders, as of a date (default
    today): received, consumed, returned leftover, scrap, on hand; goods produced and returned."""
    as_of = as_of or await accounting.local_today(session)
    sums: dict[uuid.UUID, dict[uuid.UUID, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    for cust, vid, kind, quantity in await repository.move_totals(session, as_of, customer_id):
        sums[cust][vid][kind] = quantity
    found = await repository.variants(session, {vid for per in sums.values() for vid in per})
    customers = await repository.partners(session, sums.keys())
    out = []
    for cust in sorted(sums, key=lambda c: customers[c].code):
        rows = sorted((_row(found[vid], s) for vid, s in sums[cust].items()), key=lambda r: r.sku)
        out.append(CustomerMaterial(customer_id=cust, customer_code=customers[cust].code,
                                    customer_name=customers[cust].name, rows=rows))
    return TollMaterialReport(as_of=as_of, customers=out)
