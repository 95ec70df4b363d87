"""Production order pages: the list (filters, priority sort, export), the order with its status flow, materials
planned against issued, executions, WIP, and the actions its state allows as forms; the SPK ticket as a PDF.
Reading needs production.read, every action production.write (the API's checks, the same services)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.models.production import ORDER_STATES
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.production import documents
from polyflow.erp.production.floor import equipment
from polyflow.erp.production.floor import repository as floor_repository
from polyflow.erp.production.lots import service as lots_service
from polyflow.erp.production.orders import executions, repository, returns, service, voids
from polyflow.erp.production.orders.schemas import CloseIn, IssueIn, IssueLineIn, OrderOut, ReturnIn, VoidIn
from polyflow.erp.production.pages.common import (
    ORDER_STEPS, PRIORITY_LABELS, SCRAP_LABELS, STAGE_LABELS, id_from_path, label, maybe_uuid, notice, query_date,
)
from polyflow.kit.errors import NotFound, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response
from polyflow.web.pdf import pdf_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

MISSING = "production order not found"
SORTS = ("created", "number", "due", "priority", "status")


async def _names(session: AsyncSession, orders: list[OrderOut]) -> tuple[dict, dict]:
    """Variant id -> variant (SKU, product name), machine id -> machine, for a page of orders."""
    variants = await repository.variants(session, [o.variant_id for o in orders])
    machines = {m.id: m for m in await floor_repository.machines_by_ref(
        session, {o.machine_id for o in orders if o.machine_id}, set())}
    return variants, machines


def _row(o: OrderOut, variants: dict, machines: dict) -> dict:
    v = variants.get(o.variant_id)
    m = machines.get(o.machine_id)
    return {"id": o.id, "number": o.number or _("(draft)"), "sku": v.sku if v else "",
            "product": v.product.name if v else "", "stage": label(STAGE_LABELS, o.stage),
            "machine": m.code if m else "", "quantity": o.quantity, "qty_output": o.qty_output,
            "qty_scrap": o.qty_scrap, "priority": label(PRIORITY_LABELS, o.priority), "due_date": o.due_date,
            "status": o.status}


@router.get("/production/orders")
@html_page
async def order_list(request: Request, session: TenantSession):
    """Production orders with status, stage, machine, product and due-date filters, sortable, exportable."""
    await signed_in(request, session, "production.read")
    p = ListParams.from_request(request, sorts=SORTS, default_sort="-created")
    status = p.filter("status")
    stage = p.filter("stage")
    priority = p.filter("priority")
    run_id = maybe_uuid(p.filter("run"))
    items, total = await service.list_orders(
        session, status=status if status in ORDER_STATES else None, stage=stage if stage in STAGE_LABELS else None,
        priority=priority if priority in PRIORITY_LABELS else None, machine_id=maybe_uuid(p.filter("machine")),
        run_id=run_id, due_from=query_date(p.filter("due_from"), _("Due from")),
        due_to=query_date(p.filter("due_to"), _("Due to")), q=p.q or None, sort=p.order,
        limit=p.limit, offset=p.offset)
    variants, machines = await _names(session, items)
    machine_list, _n = await equipment.list_machines(session, machine_type=None, status=None, limit=500, offset=0)
    columns = [
        Column("number", _("SPK number"), sort="number", href=lambda r: f"/production/orders/{r['id']}"),
        Column("sku", _("SKU")), Column("product", _("Product")), Column("stage", _("Stage")),
        Column("machine", _("Machine")), Column("quantity", _("Quantity"), "qty"),
        Column("qty_output", _("Output"), "qty"), Column("qty_scrap", _("Scrap quantity"), "qty"),
        Column("priority", _("Priority"), sort="priority"), Column("due_date", _("Due date"), "date", sort="due"),
        Column("status", _("Status"), "status", sort="status"),
    ]
    filters = [
        Filter("status", "Status", [(s, fmt.STATUS_LABELS[s]) for s in ORDER_STATES]),
        Filter("stage", "Stage", list(STAGE_LABELS.items())),
        Filter("machine", "Machine", [(str(m.id), m.code) for m in machine_list]),
        Filter("priority", "Priority", list(PRIORITY_LABELS.items())),
        Filter("due_from", "Due from", kind="date"), Filter("due_to", "Due to", kind="date"),
    ]
    run = None
    if run_id is not None:
        try:
            run = await service.run_out(session, await service.get_run(session, run_id), detail=False)
        except PolyflowError:
            run = None
    actions = [(_("New run"), "/production/runs/new")] if request.state.viewer.may("production.write") else []
    return list_response(request, p, title=_("Production orders"), filename="production-orders", columns=columns,
                         rows=[_row(o, variants, machines) for o in items], total=total, filters=filters,
                         actions=actions, template="tenant/production/orders.html", run=run,
                         notice=notice(request.query_params.get("done")),
                         placeholder=_("SPK number, SKU or product"))


# -- the order -----------------------------------------------------------------------------------------------


async def _detail(session: AsyncSession, order_id: uuid.UUID) -> dict:
    """The order as the detail page and the ticket show it: the service's view plus names of what it refers to."""
    order = await service.order_out(session, await service.get_order(session, order_id))
    ids = [order.variant_id, *(m.variant_id for m in order.materials), *(e.variant_id for e in order.executions)]
    variants = await repository.variants(session, ids)
    machine_ids = {order.machine_id, *(e.machine_id for e in order.executions)} - {None}
    machines = {m.id: m for m in await floor_repository.machines_by_ref(session, machine_ids, set())}
    operators = {o.id: o for o in (await equipment.list_operators(session, active=None, limit=500, offset=0))[0]}
    shifts = {s.id: s for s in (await equipment.list_shifts(session, active=None, limit=100, offset=0))[0]}
    source = await repository.location_by_id(session, order.source_location_id)
    output = await repository.location_by_id(session, order.output_location_id)
    run = await service.get_run(session, order.run_id) if order.run_id else None
    step = None
    if order.route_step_id is not None and run is not None:
        route = await repository.route(session, run.route_id)
        step = next((s for s in route.steps if s.id == order.route_step_id), None) if route else None
    lots = {}
    if "issue" in order.allowed_actions:
        # The available lots of each material at the source: the issue form may name the one it comes from.
        for m in order.materials:
            found, _n = await lots_service.list_lots(
                session, location=str(order.source_location_id), variant_id=m.variant_id, sku=None, kind=None,
                status="available", supplier_lot_no=None, produced_from=None, produced_to=None, q=None, limit=50,
                offset=0)
            lots[m.variant_id] = [(str(x["id"]), f"{x['number']} · {fmt.qty(x['remaining'])}") for x in found]
    return {"order": order, "variants": variants, "machines": machines, "operators": operators, "shifts": shifts,
            "source": source, "output": output, "run": run, "route_step": step, "lots": lots,
            "remaining": {m.variant_id: max(m.planned_qty - m.issued_qty, Decimal(0)) for m in order.materials}}


async def order_page(request: Request, session: AsyncSession, order_id: uuid.UUID, status_code: int = 200,
                     **context) -> HTMLResponse:
    """Render the order's page (after a refused action: with the form as typed and its errors)."""
    d = await _detail(session, order_id)
    viewer = request.state.viewer
    context.setdefault("which", None)
    allowed = d["order"].allowed_actions if viewer.may("production.write") else []
    return page(request, "tenant/production/order.html", status_code, title=d["order"].number or _("(draft)"),
                allowed=allowed, steps=[(k, _(v)) for k, v in ORDER_STEPS], stage_label=label(STAGE_LABELS,
                d["order"].stage), priority_label=label(PRIORITY_LABELS, d["order"].priority),
                notice=notice(request.query_params.get("done")), today=fmt.today(),
                scrap_label=lambda kind: label(SCRAP_LABELS, kind), **d, **context)


@router.get("/production/orders/{order_id}")
@html_page
async def order_detail(request: Request, session: TenantSession, order_id: str):
    """One production order: status flow, materials planned vs issued, executions, WIP and its actions."""
    await signed_in(request, session, "production.read")
    return await order_page(request, session, id_from_path(order_id, MISSING))


@router.get("/production/orders/{order_id}/pdf")
@html_page
async def order_ticket(request: Request, session: TenantSession, order_id: str):
    """The SPK ticket (surat perintah kerja) to print for the floor."""
    await signed_in(request, session, "production.read")
    d = await _detail(session, id_from_path(order_id, MISSING))
    settings = await accounting.get_settings(session)
    doc = documents.order_ticket(d, settings, request.state.viewer.brand)
    return pdf_response(doc, f"SPK-{d['order'].number or 'draft'}")


async def _action(request: Request, session: AsyncSession, order_id: str):
    principal = await signed_in(request, session, "production.write")
    form = Form(await signed_form(request, principal))
    return principal, form, id_from_path(order_id, MISSING)


async def _refused(request: Request, session: AsyncSession, oid: uuid.UUID, form: Form, exc: PolyflowError,
                   which: str) -> HTMLResponse:
    """The action was refused by the service: the order again, the form as typed, the reason at its top."""
    await session.rollback()
    form.fail("__all__", exc.message)
    return await order_page(request, session, oid, exc.status_code, form=form, which=which)


@router.post("/production/orders/{order_id}/release")
@html_page
async def release(request: Request, session: TenantSession, order_id: str):
    """draft -> released (an order of a run releases the whole run: its steps are numbered together)."""
    _p, form, oid = await _action(request, session, order_id)
    try:
        order = await service.get_order(session, oid)
        if order.run_id is not None:
            await service.release_run(session, order.run_id)
        else:
            await service.release_order(session, oid)
    except PolyflowError as exc:
        return await _refused(request, session, oid, form, exc, "release")
    return see_other(f"/production/orders/{oid}?done=released")


@router.post("/production/orders/{order_id}/cancel")
@html_page
async def cancel(request: Request, session: TenantSession, order_id: str):
    """Cancel the order (a draft run's order cancels its run), only with nothing issued or produced."""
    _p, form, oid = await _action(request, session, order_id)
    try:
        order = await service.get_order(session, oid)
        if order.run_id is not None and order.status == "draft":
            await service.cancel_run(session, order.run_id)
        else:
            await service.cancel_order(session, oid)
    except PolyflowError as exc:
        return await _refused(request, session, oid, form, exc, "cancel")
    return see_other(f"/production/orders/{oid}?done=cancelled")


def _material_lines(form: Form, order: OrderOut, prefix: str) -> list[dict]:
    """One line per material with a quantity typed (Indonesian numbers), errors kept per field."""
    lines = []
    for m in order.materials:
        qty = form.number(f"{prefix}_{m.variant_id}", positive=True, places=3, max=Decimal("1e12"))
        lot = form.uuid(f"lot_{m.variant_id}") if prefix == "issue" else None
        if qty is not None and form.error(f"{prefix}_{m.variant_id}") is None:
            # A lot picked: the whole line comes from it (the service checks it is this material's, here).
            picks = [{"lot_id": lot, "quantity": qty}] if lot else None
            lines.append({"variant_id": m.variant_id, "quantity": qty, "lots": picks})
    if not lines and form.ok:
        form.fail("__all__", _("Type a quantity for at least one material"))
    return lines


@router.post("/production/orders/{order_id}/issue")
@html_page
async def issue(request: Request, session: TenantSession, order_id: str):
    """Issue materials from the order's source location into its WIP."""
    principal, form, oid = await _action(request, session, order_id)
    order = await service.order_out(session, await service.get_order(session, oid))
    lines = _material_lines(form, order, "issue")
    on = form.date("date")
    if not form.ok:
        return await order_page(request, session, oid, 422, form=form, which="issue")
    try:
        data = IssueIn(lines=[IssueLineIn(**line) for line in lines], date=on)
    except ValidationError as exc:
        form.fail("__all__", validation_message(exc))
        return await order_page(request, session, oid, 422, form=form, which="issue")
    try:
        await executions.issue_material(session, oid, data, principal.id)
    except PolyflowError as exc:
        return await _refused(request, session, oid, form, exc, "issue")
    return see_other(f"/production/orders/{oid}?done=issued")


@router.post("/production/orders/{order_id}/return")
@html_page
async def return_material(request: Request, session: TenantSession, order_id: str):
    """Return unused material to the order's source location at its average issued cost."""
    principal, form, oid = await _action(request, session, order_id)
    order = await service.order_out(session, await service.get_order(session, oid))
    lines = _material_lines(form, order, "return")
    on = form.date("date")
    note = form.text("note", max_length=200)
    if not form.ok:
        return await order_page(request, session, oid, 422, form=form, which="return")
    try:
        data = ReturnIn(lines=[IssueLineIn(**line) for line in lines], date=on, note=note or None)
    except ValidationError as exc:
        form.fail("__all__", validation_message(exc))
        return await order_page(request, session, oid, 422, form=form, which="return")
    try:
        await returns.return_material(session, oid, data, principal.id)
    except PolyflowError as exc:
        return await _refused(request, session, oid, form, exc, "return")
    return see_other(f"/production/orders/{oid}?done=returned")


@router.post("/production/orders/{order_id}/executions/{execution_id}/void")
@html_page
async def void(request: Request, session: TenantSession, order_id: str, execution_id: str):
    """Void one of the order's executions (stock, lot and conversion journal reversed), with a reason."""
    principal, form, oid = await _action(request, session, order_id)
    eid = id_from_path(execution_id, "production execution not found")
    reason = form.text("reason", required=True, max_length=500)
    if not form.ok:
        return await order_page(request, session, oid, 422, form=form, which=f"void-{eid}")
    try:
        execution = await executions.get_execution(session, eid)
        if execution.order_id != oid:
            raise NotFound("production execution not found")  # not one of this order's
        await voids.void_execution(session, eid, VoidIn(reason=reason), principal.id)
    except PolyflowError as exc:
        return await _refused(request, session, oid, form, exc, f"void-{eid}")
    return see_other(f"/production/orders/{oid}?done=voided")


@router.post("/production/orders/{order_id}/close")
@html_page
async def close(request: Request, session: TenantSession, order_id: str):
    """Complete the order: its WIP cleared to the yield and price variances (again: a later residual)."""
    principal, form, oid = await _action(request, session, order_id)
    on = form.date("date")
    if not form.ok:
        return await order_page(request, session, oid, 422, form=form, which="close")
    try:
        await service.close_order(session, oid, CloseIn(date=on), principal.id)
    except PolyflowError as exc:
        return await _refused(request, session, oid, form, exc, "close")
    return see_other(f"/production/orders/{oid}?done=closed")
