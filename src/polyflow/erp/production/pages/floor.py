"""The shop-floor screen for tablets: pick a machine or an open order with big buttons, then record OUTPUT
(bruto, bobin, net; pieces for bags) or SCRAP (daun, prongkol, off-spec, other) with large touch targets.
Numbers are typed the Indonesian way ("1.250,5"). After a post the screen says what was recorded (the lot /
roll number and the quantity, read back from the execution) and stays on the same order."""

from __future__ import annotations

import uuid
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.catalog import service as catalog
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.production.floor import equipment
from polyflow.erp.production.floor import repository as floor_repository
from polyflow.erp.production.orders import executions, repository, service
from polyflow.erp.production.orders.schemas import OutputIn, ScrapIn
from polyflow.erp.production.pages.common import (
    SCRAP_LABELS, STAGE_LABELS, id_from_path, label, maybe_uuid, options,
)
from polyflow.kit.errors import PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web.forms import Form
from polyflow.web.i18n import _

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

MISSING = "production order not found"
OPEN = ("released", "in_progress")
MAX_QTY = Decimal("1e12")


async def _open_orders(session: AsyncSession, machine_id: uuid.UUID | None) -> list[dict]:
    """Released and running orders (of one machine when given), urgent first."""
    found = []
    for status in OPEN:
        items, _total = await service.list_orders(session, status=status, machine_id=machine_id, sort="-priority",
                                                  limit=100, offset=0)
        found.extend(items)
    variants = await repository.variants(session, [o.variant_id for o in found])
    machines = {m.id: m for m in await floor_repository.machines_by_ref(
        session, {o.machine_id for o in found if o.machine_id}, set())}
    rank = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
    found.sort(key=lambda o: (rank.get(o.priority, 9), o.due_date or o.created_at.date(), o.number or ""))
    return [{"order": o, "variant": variants.get(o.variant_id), "machine": machines.get(o.machine_id),
             "stage": label(STAGE_LABELS, o.stage)} for o in found]


async def _choices(session: AsyncSession) -> dict:
    operators, _n = await equipment.list_operators(session, active=True, limit=500, offset=0)
    shifts, _n = await equipment.list_shifts(session, active=True, limit=100, offset=0)
    machines, _n = await equipment.list_machines(session, machine_type=None, status=None, limit=500, offset=0)
    scraps, _n = await catalog.list_products(session, q=None, product_type="scrap", active=True, limit=200,
                                             offset=0)
    return {"operators": [(str(o.id), f"{o.code} — {o.name}") for o in operators],
            "shifts": [(str(s.id), f"{s.code} — {s.name}") for s in shifts],
            "machines": [(str(m.id), f"{m.code} — {m.name}") for m in machines if m.status != "retired"],
            "machine_rows": [m for m in machines if m.status != "retired"],
            "scraps": [(p.sku, f"{p.sku} — {p.name}") for p in scraps],
            "scrap_products": scraps}


async def floor_page(request: Request, session: AsyncSession, *, order_id: uuid.UUID | None = None,
                     machine_id: uuid.UUID | None = None, status_code: int = 200, **context) -> HTMLResponse:
    """The screen: the picker, or one order with its output and scrap forms."""
    choices = await _choices(session)
    context.setdefault("which", None)
    context.setdefault("form", None)
    context.setdefault("keep_operator", "")
    context.setdefault("keep_shift", "")
    if order_id is None:
        return page(request, "tenant/production/floor.html", status_code, title=_("Shop floor"),
                    orders=await _open_orders(session, machine_id), machine_id=machine_id, **choices, **context)
    order = await service.order_out(session, await service.get_order(session, order_id))
    variant = (await repository.variants(session, [order.variant_id])).get(order.variant_id)
    machine = await repository.machine(session, order.machine_id) if order.machine_id else None
    return page(request, "tenant/production/floor_order.html", status_code, title=order.number or _("(draft)"),
                order=order, variant=variant, machine=machine, stage=label(STAGE_LABELS, order.stage),
                scrap_kinds=options(SCRAP_LABELS), may_record="output" in order.allowed_actions,
                latest=list(reversed(order.executions[-8:])), scrap_label=lambda kind: label(SCRAP_LABELS, kind),
                **choices,
                **context)


@router.get("/production/floor")
@html_page
async def floor(request: Request, session: TenantSession):
    """Tablet screen: big buttons for machines and open orders; ?order= opens one order's output/scrap forms."""
    await signed_in(request, session, "production.read")
    qp = request.query_params
    order_id = maybe_uuid(qp.get("order"))
    if qp.get("order") and order_id is None:
        id_from_path(qp["order"], MISSING)  # not an id: the same 404 as an unknown order
    recorded = None
    if order_id is not None and qp.get("done") in ("output", "scrap") and maybe_uuid(qp.get("ex")):
        try:
            execution = await executions.get_execution(session, maybe_uuid(qp.get("ex")))
            if execution.order_id == order_id:
                recorded = await service.execution_out(session, execution)
        except PolyflowError:
            recorded = None
    op, shift = maybe_uuid(qp.get("op")), maybe_uuid(qp.get("shift"))
    return await floor_page(request, session, order_id=order_id, machine_id=maybe_uuid(qp.get("machine")),
                            keep_operator=str(op) if op else "", keep_shift=str(shift) if shift else "",
                            recorded=recorded, recorded_label=label(SCRAP_LABELS, recorded.scrap_kind)
                            if recorded and recorded.scrap_kind else None)


def _floor_refs(f: Form, prefix: str = "") -> dict:
    """Operator, shift and machine picked on the screen (ids from the selects; the scrap form's fields are
    prefixed so the two forms of the screen never share an element id)."""
    return {"operator_id": f.uuid(prefix + "operator_id"), "shift_id": f.uuid(prefix + "shift_id"),
            "machine_id": f.uuid(prefix + "machine_id")}


async def _post(request: Request, session: AsyncSession, order_id: str, which: str, build, record):
    principal = await signed_in(request, session, "production.write")
    f = Form(await signed_form(request, principal))
    oid = id_from_path(order_id, MISSING)
    await service.get_order(session, oid)  # 404 first: nothing of another workspace is answered
    data = None
    values = await build(session, f)
    if f.ok:
        try:
            data = values()
        except ValidationError as exc:
            f.fail("__all__", validation_message(exc))
    if not f.ok:
        return await floor_page(request, session, order_id=oid, status_code=422, form=f, which=which)
    try:
        execution = await record(session, oid, data, principal.id)
        out = await service.execution_out(session, execution)
    except PolyflowError as exc:
        await session.rollback()
        f.fail("__all__", exc.message)
        return await floor_page(request, session, order_id=oid, status_code=exc.status_code, form=f, which=which)
    # The operator and shift stay picked for the next roll (ids only: nothing typed is echoed back).
    keep = "".join(f"&{key}={value}" for key, value in (("op", out.operator_id), ("shift", out.shift_id)) if value)
    return see_other(f"/production/floor?order={oid}&done={which}&ex={out.id}{keep}")


@router.post("/production/floor/{order_id}/output")
@html_page
async def record_output(request: Request, session: TenantSession, order_id: str):
    """Record good output: bruto and bobin (net = bruto - bobin) for a weighed roll, or a quantity; pieces."""

    async def build(_session: AsyncSession, f: Form):
        gross = f.number("gross_weight", positive=True, places=3, max=MAX_QTY)
        core = f.number("core_weight", min=0, places=3, max=MAX_QTY)
        quantity = f.number("quantity", positive=True, places=3, max=MAX_QTY)
        pieces = f.integer("pieces", min=0, max=100_000_000)
        hours = f.number("hours", min=0, max=10_000, places=3)
        refs = _floor_refs(f)
        if gross is None and core is not None and "gross_weight" not in f.errors:
            f.fail("gross_weight", _("Type the bruto weight too"))
        if gross is not None and core is not None and core >= gross and "core_weight" not in f.errors:
            f.fail("core_weight", _("The bobin must weigh less than the bruto"))
        if gross is None and quantity is None and not f.errors:
            f.fail("gross_weight", _("Type the bruto and bobin weight, or the quantity"))
        if gross is not None and core is None:
            core = Decimal(0)  # no core (a bale, a sack of granules): net = bruto
        weighed = gross is not None
        return lambda: OutputIn(gross_weight=gross if weighed else None, core_weight=core if weighed else None,
                                quantity=None if weighed else quantity, pieces=pieces, hours=hours,
                                **refs)

    return await _post(request, session, order_id, "output", build, executions.record_output)


@router.post("/production/floor/{order_id}/scrap")
@html_page
async def record_scrap(request: Request, session: TenantSession, order_id: str):
    """Record scrap of a kind in kg into scrap stock (the scrap product: the one chosen, else the one named
    after the kind)."""
    async def build(session: AsyncSession, f: Form):
        scraps, _n = await catalog.list_products(session, q=None, product_type="scrap", active=True, limit=200,
                                                 offset=0)
        kind = f.choice("scrap_kind", SCRAP_LABELS, required=True)
        sku = f.choice("scrap_sku", [p.sku for p in scraps])
        quantity = f.number("scrap_quantity", required=True, positive=True, places=3, max=MAX_QTY)
        refs = _floor_refs(f, "scrap_")
        if kind and not sku and "scrap_sku" not in f.errors:
            word = kind.replace("_", "").lower()
            named = [p.sku for p in scraps if word in p.sku.replace("-", "").replace("_", "").lower()
                     or word in p.name.replace("-", "").replace(" ", "").lower()]
            if len(named) == 1:
                sku = named[0]
            elif len(scraps) == 1:
                sku = scraps[0].sku
            else:
                f.fail("scrap_sku", _("Choose the scrap product"))
        return lambda: ScrapIn(scrap_sku=sku, scrap_kind=kind, quantity=quantity, **refs)

    return await _post(request, session, order_id, "scrap", build, executions.record_scrap)
