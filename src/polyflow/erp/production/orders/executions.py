"""The shop floor on an order: material issues, output and scrap executions (voids are in voids.py); each
request one transaction under the order's row lock.

What one output execution writes (in this order):
  [backflush: the BOM quantities for this output issued first: OUT production, Dr 1142 / Cr stock]
  -> labour (piece rate x quantity) and overhead (machine rate x hours or x net kg): one PEX journal
     Dr 1142 / Cr 2170, Cr 5720
  -> the output IN production at unit cost U into the output location: Dr stock / Cr 1142
     (U actual = BOM material cost per unit at the order's average issued cost + this execution's
     conversion per unit; U standard = the product's standard cost)
  -> the lot (roll / bale / batch / regrind) with its number and weights
  -> `production_costs` rows (material per issue, labour, overhead, output): the order's WIP.
Stock moves only through inventory.create_movement, journals only through accounting.post_journal."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import seeds as coa
from polyflow.erp.accounting import service as accounting
from polyflow.erp.accounting.service import Line
from polyflow.erp.catalog import service as catalog
from polyflow.erp.inventory import reads as stock_reads
from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import MovementIn
from polyflow.erp.models import (
    Execution, Lot, LotConsumption, Machine, MaterialIssue, OrderMaterial, ProductionCost, ProductionOrder,
    ProductVariant, Shift,
)
from polyflow.erp.production.floor import service as floor
from polyflow.erp.production.orders import costing, repository
from polyflow.erp.production.orders.schemas import IssueIn, OutputIn, ScrapIn
from polyflow.erp.production.orders.service import (
    label, lock_order, require, resolve_location, start, unreserve, variant_of,
)
from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.kit.money import quantity_text as _q

accounting.DOC_TYPES.setdefault("RL", "roll (lot)")
accounting.DOC_TYPES.setdefault("BL", "bale (lot)")
accounting.DOC_TYPES.setdefault("BT", "batch (lot)")

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
# Amounts are NUMERIC(18, 2): a value from here on would not fit.
MAX_VALUE = Decimal(10) ** 15
LOT_PREFIX = {"roll": "RL", "bale": "BL", "batch": "BT", "regrind": "BT"}


# -- issues --------------------------------------------------------------------------------------------------


def _material(order: ProductionOrder, variant: ProductVariant) -> OrderMaterial:
    """The order's line of a variant; an unplanned material gets a line of its own (no standard: all of
    it becomes variance at close)."""
    for m in order.materials:
        if m.variant_id == variant.id:
            return m
    m = OrderMaterial(line_no=max((x.line_no for x in order.materials), default=0) + 1, variant_id=variant.id,
                      qty_per_unit=Decimal(0), is_regrind=False, planned_qty=Decimal(0), reserved_qty=Decimal(0),
                      issued_qty=Decimal(0))
    order.materials.append(m)
    return m


async def _check_regrind(session: AsyncSession, order: ProductionOrder, adding: dict[uuid.UUID, Decimal]) -> None:
    """409 when the regrind lines would pass the BOM's max_regrind_pct of the order's issued material mass
    (after this issue; the materials counted in the regrind's unit)."""
    regrind = {m.variant_id for m in order.materials if m.is_regrind}
    new = sum((q for v, q in adding.items() if v in regrind), Decimal(0))
    if not new:
        return
    bom = await repository.bom(session, order.bom_id) if order.bom_id else None
    cap = bom.max_regrind_pct if bom and bom.max_regrind_pct is not None else Decimal(0)
    if cap >= HUNDRED:
        return
    # Mass: the materials counted in the regrind's own unit (KG); a bobbin counted in PCS is not mass.
    units = {v.id: v.product.unit for v in (await repository.variants(
        session, [*(m.variant_id for m in order.materials), *adding])).values()}
    mass_unit = units[next(iter(regrind))]
    issued = {m.variant_id: m.issued_qty for m in order.materials}
    before = sum((q for v, q in issued.items() if v in regrind), Decimal(0))
    total = sum((q for v, q in issued.items() if units[v] == mass_unit), Decimal(0)) + \
        sum((q for v, q in adding.items() if units[v] == mass_unit), Decimal(0))
    mine = before + new
    if mine * HUNDRED > cap * total:
        # With the other materials as they are, regrind r may reach cap % of (others + r):
        # r <= cap x others / (100 - cap).
        others = total - mine
        most = max(cap * others / (HUNDRED - cap) - before, Decimal(0))
        share = (mine * HUNDRED / total).quantize(Decimal("0.01"))
        raise Conflict(f"regrind would be {share} % of the material issued to production order {label(order)} "
                       f"({_q(mine)} of {_q(total)}); its BOM allows at most {_q(cap)} %: at most "
                       f"{_q(costing.qty(most))} more regrind now")


async def _issue_one(session: AsyncSession, order: ProductionOrder, variant: ProductVariant, qty: Decimal,
                     on: date, user_id, *, execution_id=None, lots=None) -> tuple[MaterialIssue, ProductionCost]:
    """Take `qty` (stock unit) of a material into the order's WIP: its reservation first given back (the
    stock is taken right after), OUT production at the moving average, the issue, lot consumptions and
    the material cost row."""
    material = _material(order, variant)
    await unreserve(session, order, material, qty)
    src = await repository.location_by_id(session, order.source_location_id)
    movement = await inventory.create_movement(session, MovementIn(
        kind="OUT", variant_id=variant.id, quantity=qty, from_location=str(src.id), reason="production",
        reference=order.number, posting_date=on, note=f"issue to {label(order)}"), user_id=user_id,
        may_choose_account=False, from_quarantine=order.stage == "granulating")  # grinds rejected goods
    issue = MaterialIssue(order_id=order.id, variant_id=variant.id, location_id=src.id, quantity=qty,
                          movement_id=movement.id, execution_id=execution_id, issued_on=on, created_by=user_id,
                          lot_id=lots[0][0].id if lots and len(lots) == 1 else None)
    session.add(issue)
    await session.flush()
    for lot, lot_qty in lots or ():
        session.add(LotConsumption(lot_id=lot.id, order_id=order.id, issue_id=issue.id, quantity=lot_qty,
                                   consumed_on=on))
        lot.remaining -= lot_qty
        if lot.remaining == 0:
            lot.status = "consumed"
    material.issued_qty += qty
    row = ProductionCost(order_id=order.id, posting_date=on, kind="material", movement_id=movement.id,
                         execution_id=execution_id, memo=f"{variant.sku} {_q(qty)}")
    session.add(row)
    return issue, row


async def _picked_lots(session: AsyncSession, n: int, variant: ProductVariant, qty: Decimal, picks, order):
    if not picks:
        return None
    if sum((p.quantity for p in picks), Decimal(0)) != qty:
        raise InvalidInput(f"line {n}: the lots' quantities must add up to the line's {_q(qty)} "
                           f"{variant.product.unit}")
    if len({p.lot_id for p in picks}) != len(picks):
        raise InvalidInput(f"line {n}: a lot appears twice")
    found = await repository.lots_for_update(session, [p.lot_id for p in picks])
    out = []
    for p in picks:
        lot = found.get(p.lot_id)
        if lot is None:
            raise InvalidInput(f"line {n}: unknown lot '{p.lot_id}'")
        if lot.variant_id != variant.id:
            raise InvalidInput(f"line {n}: lot {lot.number} is not {variant.sku}")
        # A granulator order grinds what inspection rejected (kept for regrind); nothing else takes it.
        usable = ("available", "rejected") if order.stage == "granulating" else ("available",)
        if lot.status not in usable:
            raise Conflict(f"line {n}: lot {lot.number} is {lot.status}, not available")
        if lot.location_id is not None and lot.location_id != order.source_location_id:
            raise InvalidInput(f"line {n}: lot {lot.number} is not at the order's source location")
        if p.quantity > lot.remaining:
            raise Conflict(f"line {n}: lot {lot.number} has {_q(lot.remaining)} left, requested {_q(p.quantity)}")
        out.append((lot, p.quantity))
    return out


async def issue_material(session: AsyncSession, order_id: uuid.UUID, data: IssueIn,
                         user_id: uuid.UUID | None) -> ProductionOrder:
    """Issue materials to the order's WIP from its source location (OUT production at the moving average,
    Dr 1142 / Cr stock); regrind beyond the BOM's share is a 409, so is a shortage."""
    order = await lock_order(session, order_id)
    require(order, "issue")
    on = data.date or await accounting.local_today(session)
    lines = []
    adding: dict[uuid.UUID, Decimal] = {}
    for n, line in enumerate(data.lines, 1):
        variant = await variant_of(session, line.variant_id, line.sku, f"material on line {n}")
        if variant.id == order.variant_id:
            raise InvalidInput(f"line {n}: {variant.sku} is what the order makes")
        factor = await catalog.unit_factor(session, variant.product, line.unit, label=variant.sku)
        qty = costing.qty(line.quantity * factor)
        if qty <= 0:
            raise InvalidInput(f"line {n}: quantity is too small for the unit")
        if variant.id in adding:
            raise InvalidInput(f"line {n}: {variant.sku} appears twice; give it once with the total")
        adding[variant.id] = qty
        lines.append((n, variant, qty, line.lots))
    await _check_regrind(session, order, adding)
    await stock_reads.lock_variants(session, adding)  # by id, before any counter (see record_output)
    for n, variant, qty, picks in lines:
        lots = await _picked_lots(session, n, variant, qty, picks, order)
        await _issue_one(session, order, variant, qty, on, user_id, lots=lots)
    await start(session, order)
    await session.flush()
    return order


# -- output --------------------------------------------------------------------------------------------------


def _lot_kind(variant: ProductVariant, weighed: bool, unit: str | None = None) -> str:
    """What the floor calls the lot: a bale when the product is stocked in BAL or the output was given in
    BAL (bags stocked in PCS, baled 500 to a BAL), a roll when stocked in ROLL or weighed, else a batch."""
    product = variant.product
    if product.product_type == "scrap":
        return "regrind"
    if product.unit == "BAL" or (unit or "").upper() == "BAL":
        return "bale"
    if product.unit == "ROLL" or weighed:
        return "roll"
    return "batch"


async def _lot_number(session: AsyncSession, kind: str, on: date, given: str | None) -> str:
    if given:
        if await repository.lot_number_taken(session, given):
            raise Conflict(f"lot number {given} is already used")
        return given
    prefix = LOT_PREFIX[kind]
    n = (await accounting.next_document_number(session, prefix, on)).rsplit("/", 1)[1]
    return f"{prefix}-{on.year}-{int(n):06d}"


async def _floor_refs(session: AsyncSession, data, order: ProductionOrder) -> tuple[Machine | None, Shift | None]:
    machine_id = data.machine_id or order.machine_id
    machine = shift = None
    if machine_id is not None:
        machine = await repository.machine(session, machine_id)
        if machine is None:
            raise InvalidInput(f"unknown machine_id '{machine_id}'")
    if data.operator_id is not None and await repository.operator(session, data.operator_id) is None:
        raise InvalidInput(f"unknown operator_id '{data.operator_id}'")
    if data.shift_id is not None:
        shift = await repository.shift(session, data.shift_id)
        if shift is None:
            raise InvalidInput(f"unknown shift_id '{data.shift_id}'")
    return machine, shift


def shift_start_date(shift: Shift, now: datetime) -> date:
    """The day the shift worked at `now` (tenant-local) started: yesterday in a night shift's hours after
    midnight (MALAM 23:00-07:00 at 02:00), else today."""
    yesterday = now.date() - timedelta(days=1)
    start, end = floor.shift_window(shift, yesterday, now.tzinfo)
    return yesterday if start <= now < end else now.date()


async def _work_date(session: AsyncSession, data, shift: Shift | None) -> date:
    # A night shift's record entered after midnight belongs to the shift that started the day before, not
    # to tonight's (the piece rate, the KPIs per shift and the document dates follow the work date).
    if data.work_date is not None:
        return data.work_date
    now = await accounting.local_now(session)
    return shift_start_date(shift, now) if shift is not None else now.date()


async def _components(session: AsyncSession, order: ProductionOrder) -> list[costing.Component]:
    """The order's BOM materials, each at the order's average issued cost (else the stock average, else
    the buy price)."""
    issued = await repository.issued(session, order.id)
    planned = [m for m in order.materials if m.qty_per_unit > 0]
    variants = await repository.variants(session, [m.variant_id for m in planned])
    out = []
    for m in planned:
        q, v = issued.get(m.variant_id, (Decimal(0), Decimal(0)))
        if q > 0:
            unit_cost = costing.average(v, q)
        else:
            variant = variants[m.variant_id]
            unit_cost = variant.avg_cost if variant.qty_total > 0 else \
                (variant.buy_price or variant.product.buy_price or Decimal(0))
        out.append(costing.Component(m.qty_per_unit, unit_cost))
    return out


def conversion_lines(labour: Decimal, overhead: Decimal, *, reverse: bool = False) -> list[Line]:
    """An output's conversion journal: Dr 1142 / Cr 2170 (piece-rate wages), Cr 5720 (overhead absorbed);
    `reverse` swaps the sides (a void)."""
    wip, other = ("credit", "debit") if reverse else ("debit", "credit")
    lines = [Line(coa.PERSEDIAAN_BDP, **{wip: labour + overhead})]
    if labour:
        lines.append(Line(coa.HUTANG_UPAH_BORONGAN, **{other: labour}))
    if overhead:
        lines.append(Line(coa.BOP_DIBEBANKAN, **{other: overhead}))
    return lines


async def record_output(session: AsyncSession, order_id: uuid.UUID, data: OutputIn,
                        user_id: uuid.UUID | None) -> Execution:
    """Good output of the order (a roll, a bale, a batch): conversion journaled into WIP, the output taken
    out of WIP into stock at its unit cost, a lot numbered; `backflush` issues the BOM materials first."""
    order = await lock_order(session, order_id)
    require(order, "output")
    variant = await repository.variant(session, variant_id=order.variant_id)
    product = variant.product
    weighed = data.gross_weight is not None
    net_kg = data.gross_weight - data.core_weight if weighed else None
    if data.quantity is not None:
        factor = await catalog.unit_factor(session, product, data.unit, label=variant.sku)
        qty = costing.qty(data.quantity * factor)
    elif product.unit == "KG":
        qty = costing.qty(net_kg)
    elif product.unit == "ROLL":
        qty = Decimal(1)  # one weighed roll
    else:
        raise InvalidInput(f"{variant.sku} is counted in {product.unit}: give quantity (the weights are kg)")
    if qty <= 0:
        raise InvalidInput("quantity is too small for the unit")
    if net_kg is None and product.unit == "KG":
        net_kg = qty
    machine, shift = await _floor_refs(session, data, order)
    on = await _work_date(session, data, shift)
    hours = data.hours
    if data.started_at is not None:
        hours = costing.qty(Decimal((data.ended_at - data.started_at).total_seconds()) / Decimal(3600))

    if machine is not None and machine.overhead_rate:
        if machine.overhead_basis == "hour" and hours is None:
            raise InvalidInput(f"machine {machine.code} absorbs overhead per hour: give hours or started_at/ended_at")
        if machine.overhead_basis == "kg" and net_kg is None:
            raise InvalidInput(f"machine {machine.code} absorbs overhead per kg: give gross_weight and core_weight")
    needs: dict[uuid.UUID, Decimal] = {}
    if data.backflush:
        bom = await repository.bom(session, order.bom_id) if order.bom_id else None
        scrap_pct = bom.expected_scrap_pct if bom else Decimal(0)
        needs = {m.variant_id: costing.qty(costing.with_scrap(m.qty_per_unit * qty, scrap_pct))
                 for m in order.materials if m.qty_per_unit > 0}
        needs = {v: q for v, q in needs.items() if q > 0}
        if not needs:
            raise InvalidInput(f"production order {label(order)} has no BOM materials to backflush")
        await _check_regrind(session, order, needs)
    # Locks in one order on every path: the order (above), the variants by id, then the document counters
    # (GI before PEX before GR), so two floor actions never wait on each other crosswise.
    await stock_reads.lock_variants(session, [*needs, variant.id])

    # Backflush first: the output's unit cost then sees what was issued for it.
    issues = []
    if needs:
        materials = await repository.variants(session, needs)
        for vid in sorted(needs, key=lambda v: materials[v].sku):
            issues.append(await _issue_one(session, order, materials[vid], needs[vid], on, user_id))
    execution = Execution(number=await accounting.next_document_number(session, "PEX", on), order_id=order.id,
                          kind="output", status="posted", variant_id=variant.id,
                          machine_id=machine.id if machine else None, operator_id=data.operator_id,
                          shift_id=data.shift_id, work_date=on, started_at=data.started_at, ended_at=data.ended_at,
                          hours=hours, gross_weight=data.gross_weight, core_weight=data.core_weight, quantity=qty,
                          pieces=data.pieces, note=data.note, created_by=user_id)
    session.add(execution)
    await session.flush()
    for issue, cost_row in issues:
        issue.execution_id = cost_row.execution_id = execution.id

    rate = await floor.piece_rate_for(session, order.stage, product.id, on)
    labour = costing.labour(rate.rate if rate else None, qty)
    overhead = ZERO
    if machine is not None and machine.overhead_rate:
        overhead = costing.overhead(machine.overhead_rate, machine.overhead_basis, hours, net_kg)
    entry = None
    if labour + overhead >= MAX_VALUE:
        raise InvalidInput("the labour and overhead of this output are beyond what the books can hold")
    if labour or overhead:
        entry = await accounting.post_journal(
            session, doc_type="PEX", number=execution.number, entry_date=on, source="production",
            reference=order.number, description=f"Conversion of {execution.number}: {variant.sku} {_q(qty)} "
                                                 f"{product.unit}", lines=conversion_lines(labour, overhead),
            created_by=user_id)
    if product.costing_method == "standard":
        unit_cost = costing.cost(product.standard_cost or 0)
    else:
        components = await _components(session, order)
        bom = await repository.bom(session, order.bom_id) if order.bom_id else None
        unit_cost = costing.output_unit_cost(components, bom.expected_scrap_pct if bom else Decimal(0),
                                             labour + overhead, qty)
    if qty * unit_cost >= MAX_VALUE:
        raise InvalidInput(f"output of {_q(qty)} {product.unit} at {unit_cost} is beyond what the books can hold")
    dst = await repository.location_by_id(session, order.output_location_id)
    movement = await inventory.create_movement(session, MovementIn(
        kind="IN", variant_id=variant.id, quantity=qty, to_location=str(dst.id), unit_cost=unit_cost,
        reason="production", reference=order.number, posting_date=on, note=f"output {execution.number}"),
        user_id=user_id, may_choose_account=False)
    kind = _lot_kind(variant, weighed, data.unit if data.quantity is not None else None)
    lot = Lot(number=await _lot_number(session, kind, on, data.lot_number), kind=kind, status="available",
              variant_id=variant.id, location_id=dst.id, quantity=qty, remaining=qty,
              gross_weight=data.gross_weight, core_weight=data.core_weight, net_weight=net_kg, pieces=data.pieces,
              execution_id=execution.id, produced_on=on)
    session.add(lot)
    await session.flush()
    execution.lot_id, execution.movement_id = lot.id, movement.id
    execution.journal_entry_id = entry.id if entry else None
    execution.unit_cost, execution.value = movement.unit_cost, movement.value
    execution.labour_amount, execution.overhead_amount = labour, overhead
    execution.piece_rate = rate.rate if rate else None
    for kind_, amount in (("labour", labour), ("overhead", overhead)):
        if amount:
            session.add(ProductionCost(order_id=order.id, posting_date=on, kind=kind_, amount=amount,
                                       journal_entry_id=entry.id, execution_id=execution.id, memo=execution.number))
    session.add(ProductionCost(order_id=order.id, posting_date=on, kind="output", movement_id=movement.id,
                               execution_id=execution.id, memo=execution.number))
    order.qty_output += qty
    await start(session, order)
    await session.flush()
    return execution


# -- scrap ---------------------------------------------------------------------------------------------------


async def record_scrap(session: AsyncSession, order_id: uuid.UUID, data: ScrapIn,
                       user_id: uuid.UUID | None) -> Execution:
    """Scrap of a kind (daun, prongkol, off-spec) into scrap stock at its net realisable value (the scrap
    product's standard cost, else its sell price, else 0): Dr 1144 / Cr 1142."""
    order = await lock_order(session, order_id)
    require(order, "scrap")
    scrap = await variant_of(session, data.scrap_variant_id, data.scrap_sku, "scrap variant")
    if scrap.product.product_type != "scrap":
        raise InvalidInput(f"{scrap.sku} is a {scrap.product.product_type}, not a scrap product")
    machine, shift = await _floor_refs(session, data, order)
    on = await _work_date(session, data, shift)
    if data.location is not None:
        dst = await resolve_location(session, data.location, data.location, "scrap")
    else:
        dst = await repository.first_location_of_kind(session, "scrap") or \
            await repository.location_by_id(session, order.output_location_id)
    nrv = scrap.product.standard_cost
    if nrv is None:
        nrv = scrap.sell_price if scrap.sell_price is not None else scrap.product.sell_price
    if data.quantity * (nrv or 0) >= MAX_VALUE:
        raise InvalidInput("the scrap's value is beyond what the books can hold")
    await stock_reads.lock_variants(session, [scrap.id])
    execution = Execution(number=await accounting.next_document_number(session, "PEX", on), order_id=order.id,
                          kind="scrap", status="posted", variant_id=scrap.id, scrap_kind=data.scrap_kind,
                          machine_id=machine.id if machine else None, operator_id=data.operator_id,
                          shift_id=data.shift_id, work_date=on, quantity=data.quantity, note=data.note,
                          created_by=user_id)
    session.add(execution)
    await session.flush()
    movement = await inventory.create_movement(session, MovementIn(
        kind="IN", variant_id=scrap.id, quantity=data.quantity, to_location=str(dst.id),
        unit_cost=costing.cost(nrv or 0), reason="production", reference=order.number, posting_date=on,
        note=f"scrap {data.scrap_kind} {execution.number}"), user_id=user_id, may_choose_account=False)
    execution.movement_id, execution.unit_cost, execution.value = movement.id, movement.unit_cost, movement.value
    session.add(ProductionCost(order_id=order.id, posting_date=on, kind="scrap", movement_id=movement.id,
                               execution_id=execution.id, memo=execution.number))
    order.qty_scrap += data.quantity
    await start(session, order)
    await session.flush()
    return execution


async def get_execution(session: AsyncSession, execution_id: uuid.UUID) -> Execution:
    """One execution, or 404."""
    execution = await repository.execution(session, execution_id)
    if execution is None:
        raise NotFound("production execution not found")
    return execution
