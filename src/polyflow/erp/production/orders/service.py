"""Production runs and orders: creation (a run makes one draft order per route step, quantities worked
back from the last step), release (numbers, material lines from the BOM, reservations), close (the order's
WIP cleared to the yield and price variances), cancel, the detail views and `wip_balance`.

State flow of an order: draft -> released -> in_progress (first issue or execution) -> completed, or
cancelled from draft/released while nothing was issued or produced. Every action locks the order row
(after its run's row: run first, then its orders in step order, on every path) for the whole request.
Issues and executions are in executions.py, returns of unused material in returns.py; the arithmetic
in costing.py."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import seeds as coa
from polyflow.erp.accounting import service as accounting
from polyflow.erp.accounting.service import Line
from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import ReservationIn
from polyflow.erp.models import (
    Bom, Location, OrderMaterial, ProductionCost, ProductionOrder, ProductionRun, ProductVariant,
)
from polyflow.erp.production.orders import costing, repository
from polyflow.erp.production.orders.schemas import (
    CloseIn, CostsOut, ExecutionOut, MaterialOut, OrderIn, OrderOut, RunIn, RunOut,
)
from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.kit.money import money

accounting.DOC_TYPES.setdefault("PRN", "production run")
accounting.DOC_TYPES.setdefault("SPK", "production order (surat perintah kerja)")
accounting.DOC_TYPES.setdefault("PEX", "production execution")
accounting.DOC_TYPES.setdefault("PVR", "production variance")

ZERO = Decimal("0.00")
DEFAULT_SOURCE, DEFAULT_OUTPUT = "RM-WH", "FG-WH"
# What each state allows (the 409 of a refused action names them).
ACTIONS = {
    "draft": ("release", "cancel"),
    "released": ("issue", "output", "scrap", "cancel"),
    "in_progress": ("issue", "return", "output", "scrap", "void", "close"),
    "completed": ("close",),  # again: clears what a later re-costing left in WIP
    "cancelled": (),
}


def label(order: ProductionOrder) -> str:
    return order.number or f"(draft, step {order.step_seq})"


def require(order: ProductionOrder, action: str) -> None:
    """409 unless the order's state allows `action`, naming what it allows."""
    allowed = ACTIONS[order.status]
    if action not in allowed:
        can = ", ".join(allowed) if allowed else "nothing"
        raise Conflict(f"production order {label(order)} is {order.status}: cannot {action} (allowed: {can})")


async def lock_order(session: AsyncSession, order_id: uuid.UUID) -> ProductionOrder:
    """The order row locked for the request (its run's row first, the one lock order of every path); 404."""
    found = await repository.order(session, order_id)
    if found is None:
        raise NotFound("production order not found")
    if found.run_id is not None:
        await repository.run(session, found.run_id, lock=True)
    return await repository.order(session, order_id, lock=True)


async def variant_of(session: AsyncSession, variant_id, sku, what: str = "variant") -> ProductVariant:
    v = await repository.variant(session, variant_id=variant_id, sku=sku)
    if v is None:
        raise InvalidInput(f"unknown {what} '{variant_id or sku}'")
    if not (v.is_active and v.product.is_active):
        raise InvalidInput(f"{v.sku} is inactive")
    return v


async def resolve_location(session: AsyncSession, ref: str | None, default: str, role: str, *,
                           quarantine_ok: bool = False) -> Location:
    """A location by code or id for an order; quarantined stock is not available to production, except
    to a granulator order (`quarantine_ok`), which is how rejected goods are ground into regrind."""
    location = await repository.location(session, ref or default)
    if location is None:
        raise InvalidInput(f"unknown {role} location '{ref or default}'" + ("" if ref else " (the default)"))
    if not location.is_active:
        raise InvalidInput(f"{role} location {location.code} is inactive")
    if location.kind == "quarantine" and not quarantine_ok:
        raise InvalidInput(f"{role} location {location.code} is a quarantine location"
                           + (" (only a granulating order may take from it)" if role == "source" else ""))
    return location


def _unusable_stock(product_type: str) -> bool:
    return product_type == "service"


async def _bom_for(session: AsyncSession, variant: ProductVariant, bom_id) -> Bom | None:
    if bom_id is not None:
        bom = await repository.bom(session, bom_id)
        if bom is None:
            raise InvalidInput(f"unknown bom_id '{bom_id}'")
        if bom.product_id != variant.product_id:
            raise InvalidInput(f"BOM {bom_id} is not a BOM of {variant.sku}")
        if not bom.is_active:
            raise InvalidInput(f"BOM version {bom.version} of {variant.sku} is inactive")
        return bom
    return await repository.default_bom(session, variant.product_id)


async def _check_machine(session: AsyncSession, machine_id) -> None:
    if machine_id is not None and await repository.machine(session, machine_id) is None:
        raise InvalidInput(f"unknown machine_id '{machine_id}'")


async def _check_sales_line(session: AsyncSession, line_id) -> None:
    if line_id is not None and not await repository.sales_order_line_exists(session, line_id):
        raise InvalidInput(f"unknown sales_order_line_id '{line_id}'")


async def create_order(session: AsyncSession, data: OrderIn, user_id: uuid.UUID | None) -> ProductionOrder:
    """A standalone draft order (e.g. a granulator turning scrap into regrind), from the product's default
    BOM unless one is given; the stage defaults to the BOM's."""
    variant = await variant_of(session, data.variant_id, data.sku)
    if _unusable_stock(variant.product.product_type):
        raise InvalidInput(f"{variant.sku} is a service: it cannot be produced into stock")
    bom = await _bom_for(session, variant, data.bom_id)
    stage = data.stage or (bom.stage if bom else None)
    if stage is None:
        raise InvalidInput(f"{variant.sku} has no default BOM: give bom_id or stage")
    await _check_machine(session, data.machine_id)
    await _check_sales_line(session, data.sales_order_line_id)
    src = await resolve_location(session, data.source_location, DEFAULT_SOURCE, "source",
                                 quarantine_ok=stage == "granulating")
    dst = await resolve_location(session, data.output_location, DEFAULT_OUTPUT, "output")
    order = ProductionOrder(
        variant_id=variant.id, bom_id=bom.id if bom else None, stage=stage, machine_id=data.machine_id,
        quantity=data.quantity, priority=data.priority, planned_start=data.planned_start, due_date=data.due_date,
        source_location_id=src.id, output_location_id=dst.id, sales_order_line_id=data.sales_order_line_id,
        note=data.note, created_by=user_id, step_seq=1)
    session.add(order)
    await session.flush()
    return order


async def create_run(session: AsyncSession, data: RunIn, user_id: uuid.UUID | None) -> ProductionRun:
    """A draft run with one draft order per route step. The last step makes `quantity`; each earlier
    step makes what the next one needs of it: the next BOM's quantity of this step's output per unit x the
    next step's quantity x (1 + the next BOM's expected scrap %). Materials come from `source_location`,
    where the intermediate steps also put their output (the next step takes it from there); the last step
    outputs into `output_location`."""
    variant = await variant_of(session, data.variant_id, data.sku)
    if data.route_id is not None:
        route = await repository.route(session, data.route_id)
        if route is None:
            raise InvalidInput(f"unknown route_id '{data.route_id}'")
        if route.product_id != variant.product_id:
            raise InvalidInput(f"route {route.code} does not make {variant.sku}")
    else:
        route = await repository.default_route(session, variant.product_id)
        if route is None:
            raise InvalidInput(f"{variant.sku} has no default route: give route_id")
    if not route.is_active:
        raise InvalidInput(f"route {route.code} is inactive")
    steps = sorted(route.steps, key=lambda s: s.seq)
    if not steps:
        raise InvalidInput(f"route {route.code} has no steps")
    if steps[-1].output_variant_id != variant.id:
        raise InvalidInput(f"route {route.code}'s last step does not make {variant.sku}")
    await _check_sales_line(session, data.sales_order_line_id)
    src = await resolve_location(session, data.source_location, DEFAULT_SOURCE, "source")
    dst = await resolve_location(session, data.output_location, DEFAULT_OUTPUT, "output")
    outputs = await repository.variants(session, [s.output_variant_id for s in steps])
    boms: list[Bom | None] = []
    for step in steps:
        out = outputs[step.output_variant_id]
        bom = await repository.bom(session, step.bom_id) if step.bom_id else \
            await repository.default_bom(session, out.product_id)
        boms.append(bom)
    # Work back from the last step.
    quantities = [Decimal(0)] * len(steps)
    quantities[-1] = data.quantity
    for i in range(len(steps) - 2, -1, -1):
        nxt = boms[i + 1]
        need = Decimal(0)
        if nxt is not None:
            need = sum((ln.quantity for ln in nxt.lines if ln.variant_id == steps[i].output_variant_id),
                       Decimal(0)) / nxt.output_quantity
        if need <= 0:
            raise InvalidInput(f"route {route.code}: step {steps[i + 1].seq}'s BOM does not use step "
                               f"{steps[i].seq}'s output {outputs[steps[i].output_variant_id].sku}")
        quantities[i] = costing.qty(costing.with_scrap(need * quantities[i + 1], nxt.expected_scrap_pct))
        if quantities[i] <= 0:
            raise InvalidInput(f"step {steps[i].seq} would make nothing: the quantity is too small")
    run = ProductionRun(variant_id=variant.id, route_id=route.id, quantity=data.quantity, priority=data.priority,
                        planned_start=data.planned_start, due_date=data.due_date,
                        sales_order_line_id=data.sales_order_line_id, note=data.note, created_by=user_id)
    session.add(run)
    await session.flush()
    previous = None
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        machine = step.machines[0].machine_id if step.machines else None
        order = ProductionOrder(
            run_id=run.id, step_seq=step.seq, input_order_id=previous.id if previous else None,
            stage=step.stage, variant_id=step.output_variant_id, bom_id=boms[i].id if boms[i] else None,
            route_step_id=step.id, machine_id=machine, quantity=quantities[i], priority=data.priority,
            planned_start=data.planned_start, due_date=data.due_date, source_location_id=src.id,
            output_location_id=dst.id if last else src.id,
            sales_order_line_id=data.sales_order_line_id if last else None, created_by=user_id)
        session.add(order)
        await session.flush()
        previous = order
    await session.refresh(run)
    return run


# -- release -------------------------------------------------------------------------------------------------


async def _available(session: AsyncSession, location_id, variant_id) -> Decimal:
    rows, _ = await inventory.list_levels(session, variant_id=variant_id, location_id=location_id, product_id=None,
                                          q=None, nonzero=False, sort="sku", limit=1, offset=0)
    return rows[0].available if rows else Decimal(0)


async def _release(session: AsyncSession, order: ProductionOrder, on: date, *, reserve: bool) -> None:
    """Number the order, lay out its materials from the BOM and reserve what is available of them."""
    require(order, "release")
    order.number = await accounting.next_document_number(session, "SPK", on)
    bom = await repository.bom(session, order.bom_id) if order.bom_id else None
    if bom is not None:
        src = await repository.location_by_id(session, order.source_location_id)
        for n, line in enumerate(bom.lines, 1):
            per_unit = (line.quantity / bom.output_quantity).quantize(Decimal("0.000001"))
            planned = costing.qty(costing.with_scrap(per_unit * order.quantity, bom.expected_scrap_pct))
            material = OrderMaterial(line_no=n, variant_id=line.variant_id, qty_per_unit=per_unit,
                                     is_regrind=line.is_regrind, planned_qty=planned, reserved_qty=Decimal(0),
                                     issued_qty=Decimal(0))
            order.materials.append(material)
            if reserve and planned > 0:
                take = min(planned, await _available(session, src.id, line.variant_id))
                if take > 0:
                    await inventory.reserve(session, ReservationIn(variant_id=line.variant_id, location=str(src.id),
                                                                   quantity=take),
                                            from_quarantine=order.stage == "granulating")
                    material.reserved_qty = take
    order.status = "released"
    order.released_at = datetime.now(timezone.utc)
    await session.flush()


async def release_order(session: AsyncSession, order_id: uuid.UUID) -> ProductionOrder:
    """draft -> released: SPK number, material lines from the BOM scaled to the quantity with expected
    scrap, and what is available of them reserved at the source location."""
    order = await lock_order(session, order_id)
    if order.run_id is not None:
        raise Conflict(f"production order step {order.step_seq} belongs to a run: release the run")
    await _release(session, order, await accounting.local_today(session), reserve=True)
    return order


async def release_run(session: AsyncSession, run_id: uuid.UUID) -> ProductionRun:
    """draft -> released: PRN number, every order numbered (SPK) with its materials; the first step's
    materials are reserved (the later steps' inputs do not exist yet)."""
    run = await repository.run(session, run_id, lock=True)
    if run is None:
        raise NotFound("production run not found")
    if run.status != "draft":
        raise Conflict(f"production run {run.number} is {run.status}: cannot release (allowed: "
                       f"{'cancel' if run.status == 'released' else 'nothing'})")
    orders = await repository.run_orders(session, run.id, lock=True)
    on = await accounting.local_today(session)
    run.number = await accounting.next_document_number(session, "PRN", on)
    for i, order in enumerate(orders):
        await _release(session, order, on, reserve=i == 0)
    run.status = "released"
    run.released_at = datetime.now(timezone.utc)
    await session.flush()
    await session.refresh(run)
    return run


# -- reservations, run status --------------------------------------------------------------------------------


async def unreserve(session: AsyncSession, order: ProductionOrder, material: OrderMaterial, qty: Decimal) -> None:
    """Give back up to `qty` of what the order holds reserved of a material."""
    give = min(qty, material.reserved_qty)
    if give > 0:
        await inventory.release(session, ReservationIn(variant_id=material.variant_id,
                                                       location=str(order.source_location_id), quantity=give))
        material.reserved_qty -= give


async def refresh_run(session: AsyncSession, order: ProductionOrder) -> None:
    """A run is in progress when any order is (or some are done), completed when all live ones are."""
    if order.run_id is None:
        return
    run = await repository.run(session, order.run_id)
    statuses = [o.status for o in await repository.run_orders(session, run.id)]
    live = [s for s in statuses if s != "cancelled"]
    if not live:
        # Every order cancelled on its own: nothing is left to run.
        run.status = "cancelled"
    elif all(s == "completed" for s in live):
        if run.status != "completed":
            run.status, run.completed_at = "completed", datetime.now(timezone.utc)
    elif any(s in ("in_progress", "completed") for s in live) and run.status == "released":
        run.status = "in_progress"


async def start(session: AsyncSession, order: ProductionOrder) -> None:
    """released -> in_progress on the first issue or execution."""
    if order.status == "released":
        order.status = "in_progress"
        await session.flush()
        await refresh_run(session, order)


# -- close and cancel ----------------------------------------------------------------------------------------


async def _average_costs(session: AsyncSession, order: ProductionOrder) -> dict[uuid.UUID, tuple[Decimal, Decimal,
                                                                                             Decimal]]:
    """Variant -> (qty issued, value issued, average issued cost) of the order's materials."""
    out = {}
    for vid, (q, v) in (await repository.issued(session, order.id)).items():
        out[vid] = (q, v, costing.average(v, q))
    return out


async def close_order(session: AsyncSession, order_id: uuid.UUID, data: CloseIn,
                      user_id: uuid.UUID | None) -> ProductionOrder:
    """in_progress -> completed: the WIP left on the order (R) is cleared by a PVR journal: the yield
    variance (issued - standard quantity for the good output, at the order's average issued cost) to 5610,
    the rest (price) to 5620, against 1142. On a completed order: clears a residual a later re-costing
    left (all to 5620), or 409 when there is none."""
    order = await lock_order(session, order_id)
    require(order, "close")
    on = data.date or await accounting.local_today(session)
    last = await repository.last_cost_date(session, order.id)
    if last is not None and on < last:
        raise InvalidInput(f"close date {on} is before the order's last posting ({last})")
    residual = await repository.wip(session, None, order.id)
    again = order.status == "completed"
    if again:
        if residual == 0:
            raise Conflict(f"production order {label(order)} is completed and holds no WIP: nothing to clear")
        yield_, price = ZERO, money(residual)
    else:
        bom = await repository.bom(session, order.bom_id) if order.bom_id else None
        scrap_pct = bom.expected_scrap_pct if bom else Decimal(0)
        issued = await _average_costs(session, order)
        usages = []
        for m in order.materials:
            q, _v, avg = issued.get(m.variant_id, (Decimal(0), Decimal(0), Decimal(0)))
            standard = costing.with_scrap(m.qty_per_unit * order.qty_output, scrap_pct)
            usages.append(costing.Usage(q, standard, avg))
        yield_, price = costing.variances(residual, usages)
    entry = None
    if residual != 0 or yield_ != 0:
        lines = []
        for account, amount in ((coa.SELISIH_KUANTITAS_PRODUKSI, yield_), (coa.SELISIH_HARGA_PRODUKSI, price),
                                (coa.PERSEDIAAN_BDP, -money(residual))):
            if amount > 0:
                lines.append(Line(account, debit=amount))
            elif amount < 0:
                lines.append(Line(account, credit=-amount))
        entry = await accounting.post_journal(
            session, doc_type="PVR", entry_date=on, source="production", reference=order.number,
            description=f"Variance of production order {label(order)}" + (" (re-costing residual)" if again else ""),
            lines=lines, created_by=user_id)
    if residual != 0:
        session.add(ProductionCost(order_id=order.id, posting_date=on, kind="variance", amount=-money(residual),
                                   journal_entry_id=entry.id if entry else None,
                                   memo=f"yield {yield_} price {price}"))
    for m in order.materials:
        await unreserve(session, order, m, m.reserved_qty)
    if not again:
        order.status = "completed"
        order.closed_at, order.closed_on = datetime.now(timezone.utc), on
    await session.flush()
    await refresh_run(session, order)
    return order


async def _cancel(session: AsyncSession, order: ProductionOrder) -> None:
    require(order, "cancel")
    if await repository.has_activity(session, order.id):
        raise Conflict(f"production order {label(order)} has material issued or output recorded: close it instead")
    for m in order.materials:
        await unreserve(session, order, m, m.reserved_qty)
    order.status = "cancelled"


async def cancel_order(session: AsyncSession, order_id: uuid.UUID) -> ProductionOrder:
    """draft/released -> cancelled, only with nothing issued or produced; reservations are given back."""
    order = await lock_order(session, order_id)
    if order.run_id is not None and order.status == "draft":
        # A draft run releases all its steps together: one step gone would leave it unreleasable.
        raise Conflict(f"production order step {order.step_seq} belongs to a draft run: cancel the run")
    await _cancel(session, order)
    await session.flush()
    await refresh_run(session, order)
    return order


async def cancel_run(session: AsyncSession, run_id: uuid.UUID) -> ProductionRun:
    """draft/released -> cancelled with all its orders (none may have anything issued or produced)."""
    run = await repository.run(session, run_id, lock=True)
    if run is None:
        raise NotFound("production run not found")
    if run.status not in ("draft", "released"):
        raise Conflict(f"production run {run.number or '(draft)'} is {run.status}: cannot cancel (allowed: "
                       f"{'nothing' if run.status in ('completed', 'cancelled') else 'close its orders'})")
    for order in await repository.run_orders(session, run.id, lock=True):
        if order.status != "cancelled":
            await _cancel(session, order)
    run.status = "cancelled"
    await session.flush()
    await session.refresh(run)
    return run


# -- reads ---------------------------------------------------------------------------------------------------


async def wip_balance(session: AsyncSession, as_of: date) -> Decimal:
    """The WIP all production orders hold as of a date (the part of 1142 the stock ledger does not)."""
    return await repository.wip(session, as_of)


async def get_run(session: AsyncSession, run_id: uuid.UUID) -> ProductionRun:
    run = await repository.run(session, run_id)
    if run is None:
        raise NotFound("production run not found")
    return run


async def get_order(session: AsyncSession, order_id: uuid.UUID) -> ProductionOrder:
    order = await repository.order(session, order_id)
    if order is None:
        raise NotFound("production order not found")
    return order


async def order_out(session: AsyncSession, order: ProductionOrder, *, detail: bool = True) -> OrderOut:
    """The order with the actions its state allows; `detail`: materials (issued value, average cost),
    WIP by kind and executions."""
    if detail:
        await session.flush()
        await session.refresh(order)  # server defaults and the materials after a write
    out = OrderOut.model_validate(order, from_attributes=True).model_copy(update={
        "allowed_actions": list(ACTIONS[order.status]), "materials": [], "executions": []})
    if not detail:
        return out
    issued = await _average_costs(session, order)
    skus = await repository.variants(session, [m.variant_id for m in order.materials])
    materials = []
    for m in order.materials:
        _q, v, avg = issued.get(m.variant_id, (Decimal(0), Decimal(0), Decimal(0)))
        mo = MaterialOut.model_validate(m, from_attributes=True)
        materials.append(mo.model_copy(update={"sku": skus[m.variant_id].sku, "issued_value": v, "avg_cost": avg}))
    kinds = await repository.wip_by_kind(session, order.id)
    costs = CostsOut(**{k: kinds.get(k, ZERO) for k in ("material", "labour", "overhead", "output", "scrap",
                                                        "variance")}, wip=sum(kinds.values(), ZERO))
    executions = [ExecutionOut.model_validate(e, from_attributes=True).model_copy(update={"lot_number": n})
                  for e, n in await repository.executions(session, order.id)]
    return out.model_copy(update={"materials": materials, "costs": costs, "executions": executions})


async def execution_out(session: AsyncSession, execution) -> ExecutionOut:
    """One execution with its lot's number."""
    await session.flush()
    await session.refresh(execution)
    lot = await repository.lot(session, execution.lot_id) if execution.lot_id else None
    return ExecutionOut.model_validate(execution, from_attributes=True).model_copy(
        update={"lot_number": lot.number if lot else None})


async def run_out(session: AsyncSession, run: ProductionRun, *, detail: bool = True) -> RunOut:
    out = RunOut.model_validate({f: getattr(run, f) for f in RunOut.model_fields if f != "orders"})
    if not detail:
        return out
    orders = await repository.run_orders(session, run.id)
    return out.model_copy(update={"orders": [await order_out(session, o, detail=False) for o in orders]})


async def list_runs(session: AsyncSession, **filters):
    items, total = await repository.list_runs(session, **filters)
    return [await run_out(session, r, detail=False) for r in items], total


async def list_orders(session: AsyncSession, **filters):
    items, total = await repository.list_orders(session, **filters)
    return [await order_out(session, o, detail=False) for o in items], total
