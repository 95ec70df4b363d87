"""The inventory's lists and reports: stock levels, movement history, valuation as of a date, low stock and
locations (with the new-location form). Every one is exportable as CSV / Excel through the shared list page."""

from __future__ import annotations

import uuid
from datetime import date
from dataclasses import dataclass
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from polyflow.erp.inventory import reads, service
from polyflow.erp.inventory.pages.common import KIND_LABELS, KINDS, LOCATION_KINDS, TYPES, location_choices
from polyflow.erp.inventory.schemas import LocationIn
from polyflow.erp.pages import html_page, see_other, signed_form, signed_in
from polyflow.kit.errors import InvalidInput, PolyflowError
from polyflow.kit.money import money
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

TYPE_KEYS = {k for k, _label in TYPES}
YES = (("1", "Yes"),)


def _uuid_filter(p: ListParams, name: str) -> uuid.UUID | None:
    """A filter holding an id; anything else is no filter (a stale link should not be an error page)."""
    try:
        return uuid.UUID(p.filter(name)) if p.filter(name) else None
    except ValueError:
        return None


def _date_filter(p: ListParams, name: str):
    value = p.filter(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(_("Not a valid date") + f": {name}") from None


def _page_of(rows: list, p: ListParams) -> list:
    return rows[p.offset:p.offset + p.limit]


def _product_href(row) -> str | None:
    pid = row.get("product_id") if isinstance(row, dict) else getattr(row, "product_id", None)
    return f"/products/{pid}" if pid else None


# -- levels ----------------------------------------------------------------------------------------------
@router.get("/stock")
@html_page
async def stock_levels(request: Request, session: TenantSession):
    """On hand, reserved and available per location and variant; filters location, product type, non-zero."""
    await signed_in(request, session, "inventory.read")
    p = ListParams.from_request(request, sorts=("sku", "location", "on_hand"), default_sort="sku")
    product_type = p.filter("type")
    items, total = await service.list_levels(
        session, variant_id=None, location_id=_uuid_filter(p, "location"), product_id=None, q=p.q or None,
        nonzero=p.filter("nonzero") == "1", product_type=product_type if product_type in TYPE_KEYS else None,
        sort=p.order if p.order in ("sku", "-sku", "location", "on_hand", "-on_hand") else "sku",
        limit=p.limit, offset=p.offset)
    columns = [
        Column("location_code", _("Location"), sort="location"),
        Column("sku", _("SKU"), sort="sku", href=lambda r: f"/stock/moves?sku={r.sku}"),
        Column("name", _("Name")),
        Column("on_hand", _("On hand"), "qty", sort="on_hand"),
        Column("reserved", _("Reserved"), "qty"),
        Column("available", _("Available"), "qty"),
        Column("unit", _("Unit")),
    ]
    viewer = request.state.viewer
    actions = [(_("Receive"), "/stock/receive"), (_("Issue"), "/stock/issue"), (_("Transfer"), "/stock/transfer"),
               (_("Adjust"), "/stock/adjust")] if viewer.may("inventory.write") else []
    filters = [Filter("location", "Location", await location_choices(session, active_only=False)),
               Filter("type", "Type", TYPES), Filter("nonzero", "Only non-zero", YES)]
    return list_response(request, p, title=_("Stock levels"), columns=columns, rows=items, total=total,
                         filters=filters, actions=actions, filename="stock", placeholder=_("SKU or name"),
                         empty=_("No stock recorded."))


# -- movement history ------------------------------------------------------------------------------------
@dataclass
class MoveRow:
    id: uuid.UUID
    number: str
    posting_date: date
    kind: str
    sku: str
    name: str
    from_code: str
    to_code: str
    quantity: Decimal
    unit: str
    unit_cost: Decimal
    value: Decimal
    reason: str
    reference: str


@router.get("/stock/moves")
@html_page
async def stock_moves(request: Request, session: TenantSession):
    """Stock movements, newest first: filters date range, kind, location and product (SKU); exportable."""
    await signed_in(request, session, "inventory.read")
    p = ListParams.from_request(request, sorts=("date", "number"), default_sort="-date")
    date_from, date_to = _date_filter(p, "from"), _date_filter(p, "to")
    kind = p.filter("kind").upper()
    variant_id = None
    sku = p.filter("sku")
    empty = _("No movements match.")
    rows: list[MoveRow] = []
    total = 0
    if sku:
        variant = await reads.variant_by_sku(session, sku)
        variant_id = variant.id if variant else None
    if not sku or variant_id:
        items, total, _cursor = await service.list_movements(
            session, variant_id=variant_id, location_id=_uuid_filter(p, "location"),
            kind=kind if kind in KIND_LABELS else None, date_from=date_from, date_to=date_to, q=p.q or None,
            sort=p.order, limit=p.limit, offset=p.offset)
        codes = await reads.location_codes(session)
        labels = await reads.variant_labels(session, (m.variant_id for m in items))
        for m in items:
            v_sku, v_name, unit = labels.get(m.variant_id, ("", "", ""))
            rows.append(MoveRow(m.id, m.number, m.posting_date, _(KIND_LABELS.get(m.kind, m.kind)), v_sku, v_name,
                                codes.get(m.from_location_id, ""), codes.get(m.to_location_id, ""), m.quantity,
                                unit, m.unit_cost, m.value, m.reason or "", m.reference or ""))
    columns = [
        Column("number", _("Number"), sort="number"),
        Column("posting_date", _("Date"), "date", sort="date"),
        Column("kind", _("Movement type")),
        Column("sku", _("SKU"), href=lambda r: f"/stock/moves?sku={r.sku}"),
        Column("name", _("Name")),
        Column("from_code", _("From location")),
        Column("to_code", _("To location")),
        Column("quantity", _("Quantity"), "qty"),
        Column("unit", _("Unit")),
        Column("unit_cost", _("Unit cost"), "money"),
        Column("value", _("Value"), "money"),
        Column("reference", _("Reference")),
    ]
    notice = await _done_notice(request, session)
    viewer = request.state.viewer
    actions = [(_("Receive"), "/stock/receive"), (_("Issue"), "/stock/issue"), (_("Transfer"), "/stock/transfer"),
               (_("Adjust"), "/stock/adjust")] if viewer.may("inventory.write") else []
    filters = [Filter("from", "From date", kind="date"), Filter("to", "To date", kind="date"),
               Filter("kind", "Movement type", KINDS),
               Filter("location", "Location", await location_choices(session, active_only=False)),
               Filter("sku", "SKU", kind="text")]
    return list_response(request, p, title=_("Stock movements"), columns=columns, rows=rows, total=total or 0,
                         filters=filters, actions=actions, filename="stock-movements", notice=notice,
                         placeholder=_("Number or reference"), empty=empty)


# What a successful form says on the history page (?done=<kind>&movement=<id>): the words come from here and
# the number from the movement itself, never from the query string.
DONE = {"IN": "Receipt %(number)s was posted.", "OUT": "Issue %(number)s was posted.",
        "TRANSFER": "Transfer %(number)s was posted.", "ADJUSTMENT": "Adjustment %(number)s was posted."}


async def _done_notice(request: Request, session) -> str | None:
    done, movement = request.query_params.get("done"), request.query_params.get("movement")
    if done not in DONE or not movement:
        return None
    try:
        m = await service.get_movement(session, uuid.UUID(movement))
    except (ValueError, PolyflowError):
        return None
    return _(DONE[m.kind], number=m.number) if m.kind in DONE else None


# -- valuation -------------------------------------------------------------------------------------------
@router.get("/stock/valuation")
@html_page
async def stock_valuation(request: Request, session: TenantSession):
    """Stock quantity and value per product and location at the end of a date, with totals (equal to the
    inventory accounts: the moving average is per variant, so a variant's value is shared over its locations
    by quantity, the rounding cent kept on its largest location)."""
    await signed_in(request, session, "inventory.read")
    p = ListParams.from_request(request, sorts=("sku", "location", "value"), default_sort="sku", page_size=100)
    as_of = _date_filter(p, "as_of") or fmt.today()
    location_id = _uuid_filter(p, "location")
    product_type = p.filter("type")
    valuation = await service.valuation(session, as_of)
    held = await reads.location_quantities(session, as_of)
    codes = await reads.location_codes(session)
    product_ids = await reads.product_ids(session, [r.variant_id for r in valuation.rows])
    by_variant: dict[uuid.UUID, list[tuple[uuid.UUID, Decimal]]] = {}
    for vid, lid, qty in held:
        by_variant.setdefault(vid, []).append((lid, qty))
    rows = []
    q = p.q.lower()
    for r in valuation.rows:
        if r.quantity == 0 and r.value == 0:
            continue
        if product_type in TYPE_KEYS and r.product_type != product_type:
            continue
        if q and q not in r.sku.lower() and q not in r.name.lower():
            continue
        places = sorted(by_variant.get(r.variant_id, []), key=lambda x: (x[1], codes.get(x[0], "")))
        shares, left = [], r.value
        for i, (lid, qty) in enumerate(places):
            value = left if i == len(places) - 1 else money(qty * r.value / r.quantity) if r.quantity else Decimal(0)
            left -= value
            shares.append((lid, qty, value))
        if not shares:
            shares = [(None, r.quantity, r.value)]
        for lid, qty, value in shares:
            if location_id and lid != location_id:
                continue
            rows.append({"product_id": product_ids.get(r.variant_id), "sku": r.sku, "name": r.name,
                         "type": _(dict(TYPES).get(r.product_type, r.product_type)), "account": r.account,
                         "location": codes.get(lid, ""), "quantity": qty, "avg_cost": r.avg_cost, "value": value})
    key = {"sku": lambda r: (r["sku"], r["location"]), "location": lambda r: (r["location"], r["sku"]),
           "value": lambda r: (r["value"], r["sku"])}[p.sort or "sku"]
    rows.sort(key=key, reverse=p.desc)
    total_value = sum((r["value"] for r in rows), Decimal("0.00"))
    by_account: dict[str, Decimal] = {}
    for r in rows:
        by_account[r["account"]] = by_account.get(r["account"], Decimal("0.00")) + r["value"]
    columns = [
        Column("sku", _("SKU"), sort="sku", href=_product_href),
        Column("name", _("Name")),
        Column("type", _("Type")),
        Column("location", _("Location"), sort="location"),
        Column("account", _("Account")),
        Column("quantity", _("Quantity"), "qty"),
        Column("avg_cost", _("Average cost"), "money"),
        Column("value", _("Value"), "money", sort="value"),
    ]
    filters = [Filter("as_of", "As of", kind="date"),
               Filter("location", "Location", await location_choices(session, active_only=False)),
               Filter("type", "Type", TYPES)]
    return list_response(request, p, title=_("Stock valuation"), columns=columns, rows=_page_of(rows, p),
                         total=len(rows), filters=filters, filename=f"stock-valuation-{as_of.isoformat()}",
                         template="tenant/stock/valuation.html", as_of=as_of, total_value=total_value,
                         by_account=sorted(by_account.items()), placeholder=_("SKU or name"),
                         empty=_("No stock on that date."))


# -- low stock -------------------------------------------------------------------------------------------
@router.get("/stock/low")
@html_page
async def low_stock(request: Request, session: TenantSession):
    """Active variants whose available stock is below their reorder point, with what to reorder."""
    await signed_in(request, session, "inventory.read")
    p = ListParams.from_request(request, sorts=("sku", "shortfall"), default_sort="sku")
    found = await service.low_stock(session)
    reorder = await reads.reorder_quantities(session, [r.variant_id for r in found])
    product_ids = await reads.product_ids(session, [r.variant_id for r in found])
    q = p.q.lower()
    rows = []
    for r in found:
        if q and q not in r.sku.lower() and q not in r.name.lower():
            continue
        qty = reorder.get(r.variant_id) or Decimal(0)
        rows.append({"product_id": product_ids.get(r.variant_id), "sku": r.sku, "name": r.name, "unit": r.unit,
                     "on_hand": r.on_hand, "available": r.available, "min_stock": r.min_stock,
                     "shortfall": r.shortfall, "reorder_qty": qty, "suggested": max(qty, r.shortfall)})
    rows.sort(key=(lambda r: r["shortfall"]) if p.sort == "shortfall" else (lambda r: r["sku"]), reverse=p.desc)
    columns = [
        Column("sku", _("SKU"), sort="sku", href=_product_href),
        Column("name", _("Name")),
        Column("on_hand", _("On hand"), "qty"),
        Column("available", _("Available"), "qty"),
        Column("min_stock", _("Reorder point"), "qty"),
        Column("shortfall", _("Shortfall"), "qty", sort="shortfall"),
        Column("reorder_qty", _("Reorder quantity"), "qty"),
        Column("suggested", _("Suggested order"), "qty"),
        Column("unit", _("Unit")),
    ]
    return list_response(request, p, title=_("Low stock"), columns=columns, rows=_page_of(rows, p), total=len(rows),
                         filename="low-stock", placeholder=_("SKU or name"),
                         empty=_("Nothing is below its reorder point."))


# -- locations -------------------------------------------------------------------------------------------
async def _locations_page(request: Request, session, form: Form | None = None, status_code: int = 200):
    p = ListParams.from_request(request, sorts=("code", "name"), default_sort="code")
    kind = p.filter("kind")
    active = {"1": True, "0": False}.get(p.filter("active"))
    items, total = await service.list_locations(session, q=p.q or None,
                                                kind=kind if kind in dict(LOCATION_KINDS) else None, active=active,
                                                sort=p.order, limit=p.limit, offset=p.offset)
    columns = [
        Column("code", _("Code"), sort="code", href=lambda r: f"/stock?location={r.id}"),
        Column("name", _("Name"), sort="name"),
        Column("kind", _("Location type"), value=lambda r: _(dict(LOCATION_KINDS).get(r.kind, r.kind))),
        Column("is_active", _("Active"), "bool"),
    ]
    filters = [Filter("kind", "Location type", LOCATION_KINDS), Filter("active", "Status", (("1", "Active"), ("0", "Inactive")))]
    done = _("The location was added.") if request.query_params.get("done") == "created" else None
    response = list_response(request, p, title=_("Locations"), columns=columns, rows=items, total=total,
                             filters=filters, filename="locations", template="tenant/stock/locations.html",
                             form=form or Form({"kind": "warehouse"}), notice=done,
                             kinds=[(k, _(label)) for k, label in LOCATION_KINDS], placeholder=_("Code or name"))
    response.status_code = status_code
    return response


@router.get("/locations")
@html_page
async def locations(request: Request, session: TenantSession):
    """Warehouses and production areas; users who may post stock add new ones below the list."""
    await signed_in(request, session, "inventory.read")
    return await _locations_page(request, session)


@router.post("/locations")
@html_page
async def create_location(request: Request, session: TenantSession):
    """Add a location from the form under the list; refused: the list again with the form as typed."""
    principal = await signed_in(request, session, "inventory.write")
    f = Form(await signed_form(request, principal))
    code = f.text("code", required=True, max_length=32)
    name = f.text("name", required=True, max_length=200)
    kind = f.choice("kind", dict(LOCATION_KINDS), required=True)
    if f.ok:
        try:
            await service.create_location(session, LocationIn(code=code, name=name, kind=kind))
            return see_other("/locations?done=created")
        except ValidationError as exc:
            f.schema_errors(exc, fields=("code", "name", "kind"))
        except PolyflowError as exc:
            await session.rollback()
            f.fail("code" if "code" in exc.message else "__all__", exc.message)
            return await _locations_page(request, session, f, exc.status_code)
    return await _locations_page(request, session, f, 422)
