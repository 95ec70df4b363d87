"""Floor master data pages: machines with their status and a downtime entry, and bills of materials (list and
one version with its lines and expected scrap %). Reading needs production.read, recording downtime
production.write."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.production.floor import equipment
from polyflow.erp.production.floor import service as floor
from polyflow.erp.production.floor.schemas import DowntimeEnd, DowntimeIn
from polyflow.erp.production.pages.common import (
    DOWNTIME_LABELS, MACHINE_STATE_LABELS, MACHINE_TYPE_LABELS, STAGE_LABELS, id_from_path, label, notice, options,
)
from polyflow.kit.errors import PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


async def _machines_page(request: Request, session: AsyncSession, form: Form | None = None,
                         status_code: int = 200):
    p = ListParams.from_request(request, sorts=(), default_sort=None)
    mtype, status = p.filter("type"), p.filter("status")
    items, total = await equipment.list_machines(
        session, machine_type=mtype if mtype in MACHINE_TYPE_LABELS else None,
        status=status if status in MACHINE_STATE_LABELS else None, limit=p.limit, offset=p.offset)
    open_downtimes = []
    for m in items:
        running, _n = await equipment.list_downtimes(session, m.id, open_only=True, limit=5, offset=0)
        open_downtimes += [(m, d, label(DOWNTIME_LABELS, d.reason)) for d in running]
    rows = [{"code": m.code, "name": m.name, "type": label(MACHINE_TYPE_LABELS, m.machine_type),
             "status": label(MACHINE_STATE_LABELS, m.status), "overhead_rate": m.overhead_rate,
             "basis": _("per hour") if m.overhead_basis == "hour" else _("per kg"),
             "capacity": m.rated_capacity, "down": any(x[0].id == m.id for x in open_downtimes)} for m in items]
    columns = [Column("code", _("Code")), Column("name", _("Name")), Column("type", _("Machine type")),
               Column("status", _("Status")), Column("down", _("Stopped now"), "bool"),
               Column("overhead_rate", _("Overhead rate"), "money"), Column("basis", _("Overhead basis")),
               Column("capacity", _("Rated capacity per hour"), "qty")]
    filters = [Filter("type", "Machine type", list(MACHINE_TYPE_LABELS.items())),
               Filter("status", "Status", list(MACHINE_STATE_LABELS.items()))]
    if p.export:
        return list_response(request, p, title=_("Machines"), filename="machines", columns=columns, rows=rows,
                             total=total)
    all_machines, _n = await equipment.list_machines(session, machine_type=None, status=None, limit=500, offset=0)
    shifts, _n = await equipment.list_shifts(session, active=True, limit=100, offset=0)
    response = list_response(
        request, p, title=_("Machines"), filename="machines", columns=columns, rows=rows, total=total,
        filters=filters, search=False, template="tenant/production/machines.html", form=form,
        machines=[(str(m.id), f"{m.code} — {m.name}") for m in all_machines if m.status != "retired"],
        reasons=options(DOWNTIME_LABELS), shifts=[(str(s.id), f"{s.code} — {s.name}") for s in shifts],
        open_downtimes=open_downtimes, notice=notice(request.query_params.get("done")))
    response.status_code = status_code
    return response


@router.get("/production/machines")
@html_page
async def machines(request: Request, session: TenantSession):
    """Machines with their status and open downtimes, and a form to record a downtime."""
    await signed_in(request, session, "production.read")
    return await _machines_page(request, session)


def _moment(f: Form, name: str, required: bool = False) -> datetime | None:
    """A datetime-local input, read in the workspace's time zone."""
    typed = f.raw(name).strip()
    if not typed:
        if required:
            f.fail(name, _("This field is required"))
        return None
    try:
        moment = datetime.fromisoformat(typed)
    except ValueError:
        f.fail(name, _("Not a valid date and time"))
        return None
    return moment.replace(tzinfo=fmt.zone()) if moment.tzinfo is None else moment


@router.post("/production/machines/downtime")
@html_page
async def record_downtime(request: Request, session: TenantSession):
    """Record a machine's stop (open while no end is given); overlapping another stop of it is refused."""
    principal = await signed_in(request, session, "production.write")
    f = Form(await signed_form(request, principal))
    machine_id = f.uuid("machine_id", required=True)
    reason = f.choice("reason", DOWNTIME_LABELS, required=True)
    started = _moment(f, "started_at", required=True)
    ended = _moment(f, "ended_at")
    shift_id = f.uuid("shift_id")
    note = f.text("note", max_length=500)
    if started and ended and ended <= started:
        f.fail("ended_at", _("The end must be after the start"))
    if f.ok:
        try:
            data = DowntimeIn(reason=reason, started_at=started, ended_at=ended, shift_id=shift_id,
                              note=note or None)
        except ValidationError as exc:
            f.fail("__all__", validation_message(exc))
    if not f.ok:
        return await _machines_page(request, session, f, 422)
    try:
        await equipment.start_downtime(session, machine_id, data, principal.id)
    except PolyflowError as exc:
        await session.rollback()
        f.fail("__all__", exc.message)
        return await _machines_page(request, session, f, exc.status_code)
    return see_other("/production/machines?done=downtime")


@router.post("/production/machines/{machine_id}/downtimes/{downtime_id}/end")
@html_page
async def end_downtime(request: Request, session: TenantSession, machine_id: str, downtime_id: str):
    """End an open downtime now."""
    principal = await signed_in(request, session, "production.write")
    await signed_form(request, principal)
    await equipment.end_downtime(session, id_from_path(machine_id, "machine not found"),
                                 id_from_path(downtime_id, "downtime not found"), DowntimeEnd())
    return see_other("/production/machines?done=downtime_ended")


# -- BOMs ------------------------------------------------------------------------------------------------------


@router.get("/production/boms")
@html_page
async def boms(request: Request, session: TenantSession):
    """BOM versions by product (newest version first), with stage and active filters; exportable."""
    await signed_in(request, session, "production.read")
    p = ListParams.from_request(request, sorts=(), default_sort=None)
    stage, active = p.filter("stage"), p.filter("active")
    items, total = await floor.list_boms(session, product_id=None, stage=stage if stage in STAGE_LABELS else None,
                                         active={"1": True, "0": False}.get(active), is_default=None,
                                         limit=p.limit, offset=p.offset)
    views = await floor.bom_views(session, items)
    rows = [{**v, "stage_label": label(STAGE_LABELS, v["stage"]), "lines_n": len(v["lines"])} for v in views]
    columns = [Column("product_sku", _("Product"), href=lambda r: f"/production/boms/{r['id']}"),
               Column("version", _("Version"), "num"), Column("name", _("Name")),
               Column("stage_label", _("Stage")), Column("output_quantity", _("Output quantity"), "qty"),
               Column("expected_scrap_pct", _("Expected scrap %"), "pct"), Column("lines_n", _("Lines"), "num"),
               Column("is_default", _("Default"), "bool"), Column("is_active", _("Active"), "bool")]
    filters = [Filter("stage", "Stage", list(STAGE_LABELS.items())),
               Filter("active", "Active", [("1", "Yes"), ("0", "No")])]
    return list_response(request, p, title=_("Bills of materials"), filename="boms", columns=columns, rows=rows,
                         total=total, filters=filters, search=False)


@router.get("/production/boms/{bom_id}")
@html_page
async def bom_detail(request: Request, session: TenantSession, bom_id: str):
    """One BOM version: its lines per output quantity, expected scrap % and regrind limit."""
    await signed_in(request, session, "production.read")
    bom = await floor.get_bom(session, id_from_path(bom_id, "BOM not found"))
    view = (await floor.bom_views(session, [bom]))[0]
    return page(request, "tenant/production/bom.html", title=f"{view['product_sku']} v{view['version']}", bom=view,
                stage=label(STAGE_LABELS, view["stage"]))
