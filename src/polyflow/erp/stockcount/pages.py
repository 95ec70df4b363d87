"""Stock count (stock opname) pages: the list, a new count (location, optional filter -> snapshot), the count's
page (status flow, variances with values and totals, the actions allowed now) and the counting screen for a
tablet. Same services and permissions as the JSON API: ``inventory.read`` to look, ``inventory.write`` to act.

The counting screen is blind like the service: while a count is open nobody sees the book quantity, only
what was counted so far. Quantities are typed the reader's way ("1.250,5") in any unit the product knows.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.catalog import repository as catalog_repository
from polyflow.erp.catalog.schemas import ProductType
from polyflow.erp.inventory import service as inventory
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, validation_message
from polyflow.erp.production.orders.service import variant_of
from polyflow.erp.stockcount import repository, service
from polyflow.erp.stockcount.schemas import MAX_ENTRIES, MAX_FILTER_VARIANTS, ApproveIn, CancelIn, EntryIn, StockCountIn
from polyflow.kit.errors import InvalidInput, NotFound, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.export import table_response
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

STATUSES = ("open", "counted", "approved", "cancelled")
PRODUCT_TYPES = tuple(t for t in ProductType.__args__ if t != "service")  # a service has no stock to count
MAX_SKUS = 200  # SKUs typed into a new count's filter (the API takes ids; a page types codes)


def status_text(status: str) -> str:
    """A count's status in the reader's language ("counted" is this module's own word)."""
    return _("Counted") if status == "counted" else fmt.status_label(status)


def type_text(product_type: str) -> str:
    return {"raw_material": _("Raw material"), "intermediate": _("Intermediate"), "packaging": _("Packaging"),
            "auxiliary": _("Auxiliary"), "wip": _("Work in process"), "finished_good": _("Finished good"),
            "scrap": _("Scrap")}.get(product_type, product_type)


class StatusColumn(Column):
    """A status column whose labels include "counted" (exports keep the raw value)."""

    def show(self, row: Any) -> str:
        value = self.get(row)
        return "" if value is None else status_text(str(value))


def count_id_of(value: str) -> uuid.UUID:
    """The id in the path; anything that is no id is a 404 (after the permission check, like the API)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("stock count not found") from None


async def _locations(session: AsyncSession) -> list:
    rows, _total = await inventory.list_locations(session, q=None, kind=None, active=True, sort="code", limit=500,
                                                  offset=0)
    return rows


# -- list ----------------------------------------------------------------------------------------------------


@router.get("/stock-counts")
@html_page
async def counts(request: Request, session: TenantSession):
    """Stock counts, newest first, by status and location; CSV / Excel export."""
    await signed_in(request, session, "inventory.read")
    p = ListParams.from_request(request)
    status = p.filter("status") or None
    if status is not None and status not in STATUSES:
        raise InvalidInput(_("Not one of the choices"))
    locations = await _locations(session)
    location_code = p.filter("location")
    location_id = next((loc.id for loc in locations if loc.code == location_code), None)
    if location_code and location_id is None:
        raise InvalidInput(_("Not one of the choices"))
    rows, total = await service.list_counts(session, status=status, location_id=location_id, limit=p.limit,
                                            offset=p.offset)
    columns = [
        Column("number", _("Number"), href=lambda r: f"/stock-counts/{r.id}"),
        Column("count_date", _("Date"), "date"),
        Column("location_code", _("Location")),
        StatusColumn("status", _("Status"), "status"),
        Column("lines", _("Lines"), "num"),
        Column("counted_lines", _("Lines counted"), "num"),
        Column("approval_date", _("Approved on"), "date"),
    ]
    filters = [Filter("status", "Status", [(s, status_text(s)) for s in STATUSES]),
               Filter("location", "Location", [(loc.code, loc.code) for loc in locations])]
    viewer = request.state.viewer
    actions = [(_("New stock count"), "/stock-counts/new")] if viewer.may("inventory.write") else []
    return list_response(request, p, title=_("Stock counts"), columns=columns, rows=rows, total=total,
                         filters=filters, actions=actions, filename="stock-counts", search=False)


# -- new -----------------------------------------------------------------------------------------------------


async def _new_page(request: Request, session: AsyncSession, form: Form, status_code: int = 200) -> HTMLResponse:
    locations = await _locations(session)
    return page(request, "tenant/stockcount/new.html", status_code, form=form, title=_("New stock count"),
                locations=[(loc.code, f"{loc.code} — {loc.name}") for loc in locations],
                product_types=[(t, type_text(t)) for t in PRODUCT_TYPES])


@router.get("/stock-counts/new")
@html_page
async def new_count(request: Request, session: TenantSession):
    """The form that opens a count: a location and, optionally, which products to count."""
    await signed_in(request, session, "inventory.write")
    return await _new_page(request, session, Form({"count_date": fmt.today().isoformat()}))


def _skus(text: str) -> list[str]:
    return list(dict.fromkeys(s.upper() for s in re.split(r"[\s,;]+", text) if s))


@router.post("/stock-counts")
@html_page
async def create_count(request: Request, session: TenantSession):
    """Open the count (its snapshot is taken now) and go to it."""
    principal = await signed_in(request, session, "inventory.write")
    f = Form(await signed_form(request, principal))
    location = f.text("location", required=True, max_length=64)
    product_type = f.choice("product_type", PRODUCT_TYPES)
    count_date = f.date("count_date")
    note = f.text("note", max_length=2000, multiline=True) or None
    skus = _skus(f.text("skus", max_length=10_000, multiline=True))
    if len(skus) > MAX_SKUS:
        f.fail("skus", _("At most %(n)s products", n=MAX_SKUS))
    if not f.ok:
        return await _new_page(request, session, f, 422)
    try:
        variant_ids = [(await variant_of(session, None, sku, "SKU")).id for sku in skus][:MAX_FILTER_VARIANTS]
    except PolyflowError as exc:
        await session.rollback()
        f.fail("skus", exc.message)
        return await _new_page(request, session, f, exc.status_code)
    try:
        data = StockCountIn(location=location, count_date=count_date, note=note, product_type=product_type,
                            variant_ids=variant_ids or None)
        count = await service.create_count(session, data, principal.id)
    except ValidationError as exc:
        f.fail("__all__", validation_message(exc))
        return await _new_page(request, session, f, 422)
    except PolyflowError as exc:
        await session.rollback()
        f.fail("location" if "location" in exc.message else "__all__", exc.message)
        return await _new_page(request, session, f, exc.status_code)
    return see_other(f"/stock-counts/{count.id}?done=created")


# -- one count -----------------------------------------------------------------------------------------------

DONE = {"submit": "submitted", "approve": "approved", "cancel": "cancelled"}
NOTICES = {"created": "The count is open: the stock was snapshotted. Count it on the counting screen.",
           "saved": "Saved. Count the next items or submit the count when done.",
           "submitted": "The count is submitted: the variances are below.",
           "approved": "The count is approved: the stock was adjusted.",
           "cancelled": "The count is cancelled: nothing was posted."}


def _notice(request: Request) -> str | None:
    english = NOTICES.get(request.query_params.get("done", ""))
    return _(english) if english else None


async def _names(session: AsyncSession, variant_ids) -> dict[uuid.UUID, Any]:
    return await repository.variants_by_ids(session, list(variant_ids))


async def _count_page(request: Request, session: AsyncSession, count_id: uuid.UUID, status_code: int = 200,
                      **context) -> HTMLResponse:
    count = await service.get_count(session, count_id)
    out = await service.count_out(session, count)
    variants = await _names(session, [line.variant_id for line in out.lines])
    variances = None
    if out.status in ("counted", "approved"):
        variances = await service.variances(session, count_id)
    steps = [("open", _("Counting")), ("counted", status_text("counted")), ("approved", _("Approved"))]
    if out.status == "cancelled":
        steps.append(("cancelled", _("Cancelled")))
    context.setdefault("notice", _notice(request))
    return page(request, "tenant/stockcount/detail.html", status_code, count=out, variances=variances,
                variants=variants, steps=steps, status_text=status_text, type_text=type_text,
                title=f"{_('Stock count')} {out.number}", **context)


@router.get("/stock-counts/{count_id}")
@html_page
async def count_detail(request: Request, session: TenantSession, count_id: str):
    """One count: its status flow, what was counted (blind while open) or the variances, and its actions."""
    await signed_in(request, session, "inventory.read")
    ident = count_id_of(count_id)
    export = request.query_params.get("export")
    if export in ("csv", "xlsx"):
        return await _variances_file(session, ident, export)
    return await _count_page(request, session, ident)


async def _variances_file(session: AsyncSession, count_id: uuid.UUID, kind: str):
    """The variance table as a file (raw numbers); 409 while the count is open, like the API."""
    variances = await service.variances(session, count_id)
    variants = await _names(session, [r.variant_id for r in variances.rows])
    headers = [_("SKU"), _("Name"), _("Snapshot"), _("Moved since"), _("Expected"), _("Counted"), _("Variance"),
               _("Unit cost"), _("Variance value")]
    rows = [[r.sku, variants[r.variant_id].name if r.variant_id in variants else "", r.snapshot_qty, r.moved_since,
             r.expected_qty, r.counted_qty, r.variance_qty, r.unit_cost, r.variance_value] for r in variances.rows]
    return table_response(kind, f"{variances.number}-variances", headers, rows)


async def _act(request: Request, session: AsyncSession, count_id: str, action: str) -> HTMLResponse:
    principal = await signed_in(request, session, "inventory.write")
    ident = count_id_of(count_id)
    f = Form(await signed_form(request, principal))
    try:
        if action == "submit":
            await service.submit_count(session, ident, principal.id)
        elif action == "approve":
            await service.approve_count(session, ident, ApproveIn(zero_uncounted=f.bool("zero_uncounted")),
                                        principal.id)
        else:
            reason = f.text("reason", max_length=500) or None
            if not f.ok:
                raise InvalidInput(f.errors["reason"])
            await service.cancel_count(session, ident, CancelIn(reason=reason), principal.id)
    except PolyflowError as exc:
        await session.rollback()
        return await _count_page(request, session, ident, exc.status_code, error=exc.message, notice=None)
    return see_other(f"/stock-counts/{ident}?done={DONE[action]}")


@router.post("/stock-counts/{count_id}/submit")
@html_page
async def submit_count(request: Request, session: TenantSession, count_id: str):
    """Close counting: the variances become visible."""
    return await _act(request, session, count_id, "submit")


@router.post("/stock-counts/{count_id}/approve")
@html_page
async def approve_count(request: Request, session: TenantSession, count_id: str):
    """Post the adjustments of the variances and close the count."""
    return await _act(request, session, count_id, "approve")


@router.post("/stock-counts/{count_id}/cancel")
@html_page
async def cancel_count(request: Request, session: TenantSession, count_id: str):
    """Cancel the count before approval (nothing is posted)."""
    return await _act(request, session, count_id, "cancel")


# -- the counting screen -------------------------------------------------------------------------------------


async def _units(session: AsyncSession, variants: dict[uuid.UUID, Any]) -> dict[uuid.UUID, list[str]]:
    """variant -> the units its product is counted in: its own first, then its sales unit and conversions."""
    by_product: dict[uuid.UUID, list[str]] = {}
    out = {}
    for vid, v in variants.items():
        product = v.product
        if product.id not in by_product:
            units = [product.unit] + ([product.sales_unit] if product.sales_unit else [])
            units += [u for u in await catalog_repository.conversion_units(session, product.id) if u not in units]
            by_product[product.id] = units
        out[vid] = by_product[product.id]
    return out


SCREEN_LINES = 50  # lines per counting screen: a tablet page stays light, and a search finds the rest


def _screen_params(q: str, page_no: str) -> tuple[str, int]:
    """The counting screen's search and page (bad values fall back: this is a tablet, not an API)."""
    q = q.strip()[:100]
    try:
        number = max(1, min(int(page_no or 1), 100_000))
    except ValueError:
        number = 1
    return q, number


def _screen_lines(lines, variants: dict, q: str, number: int) -> tuple[list, int]:
    """The lines of screen page `number` matching `q` (SKU or name), by SKU; and how many pages there are."""
    wanted = q.casefold()
    found = [line for line in sorted(lines, key=lambda x: x.sku)
             if not wanted or wanted in line.sku.casefold()
             or (line.variant_id in variants and wanted in variants[line.variant_id].name.casefold())]
    pages = max(1, -(-len(found) // SCREEN_LINES))
    number = min(number, pages)
    return found[(number - 1) * SCREEN_LINES:number * SCREEN_LINES], pages


def _screen_url(count_id: uuid.UUID, q: str, number: int, **extra: str) -> str:
    params = {**({"q": q} if q else {}), **({"page": str(number)} if number > 1 else {}), **extra}
    return f"/stock-counts/{count_id}/count" + ("?" + urlencode(params) if params else "")


async def _counting_page(request: Request, session: AsyncSession, count_id: uuid.UUID, form: Form | None = None,
                         status_code: int = 200, *, q: str = "", number: int = 1) -> HTMLResponse:
    count = await service.get_count(session, count_id)
    out = await service.count_out(session, count)  # blind while open: no book figures in it
    variants = await _names(session, [line.variant_id for line in out.lines])
    lines, pages = _screen_lines(out.lines, variants, q, number)
    number = min(number, pages)
    units = await _units(session, {line.variant_id: variants[line.variant_id] for line in lines})
    notice = _notice(request) if form is None else None
    return page(request, "tenant/stockcount/count.html", status_code, count=out, lines=lines, variants=variants,
                units=units, form=form or Form({}), notice=notice, status_text=status_text, q=q, number=number,
                pages=pages, total_lines=len(out.lines), title=f"{_('Counting')} {out.number}",
                prev_url=_screen_url(out.id, q, number - 1) if number > 1 else None,
                next_url=_screen_url(out.id, q, number + 1) if number < pages else None)


@router.get("/stock-counts/{count_id}/count")
@html_page
async def counting_screen(request: Request, session: TenantSession, count_id: str):
    """The tablet screen: one line per item, the quantity counted in any of its units (blind); 50 a page."""
    await signed_in(request, session, "inventory.write")
    q, number = _screen_params(request.query_params.get("q", ""), request.query_params.get("page", ""))
    return await _counting_page(request, session, count_id_of(count_id), q=q, number=number)


@router.post("/stock-counts/{count_id}/count")
@html_page
async def save_counts(request: Request, session: TenantSession, count_id: str):
    """Record what was typed on the counting screen (one entry per filled line) and come back to it."""
    principal = await signed_in(request, session, "inventory.write")
    ident = count_id_of(count_id)
    f = Form(await signed_form(request, principal))
    q, number = _screen_params(f.raw("q"), f.raw("page"))
    count = await service.get_count(session, ident)
    counted_by = f.text("counted_by", max_length=100) or None
    note = f.text("note", max_length=500) or None
    # Units are looked up only for the lines something was typed on (a screen shows 50 of maybe hundreds).
    typed = [line for line in count.lines if f.raw(f"qty-{line.variant_id}").strip()]
    units = await _units(session, await _names(session, [line.variant_id for line in typed]))
    try:
        entries = _entries(f, typed, units, counted_by, note)
    except ValidationError as exc:
        f.fail("__all__", validation_message(exc))
        entries = []
    if f.ok and not entries:
        f.fail("__all__", _("Type at least one quantity"))
    if f.ok and len(entries) > MAX_ENTRIES:
        f.fail("__all__", _("At most %(n)s lines at once", n=MAX_ENTRIES))
    if not f.ok:
        return await _counting_page(request, session, ident, f, 422, q=q, number=number)
    try:
        await service.add_entries(session, ident, entries, principal.id)
    except PolyflowError as exc:
        await session.rollback()
        found_sku = f.raw("found_sku").strip().upper()
        f.fail("found_sku" if found_sku and found_sku in exc.message else "__all__", exc.message)
        return await _counting_page(request, session, ident, f, exc.status_code, q=q, number=number)
    return see_other(_screen_url(ident, q, number, done="saved"))


def _entries(f: Form, lines, units: dict[uuid.UUID, list[str]], counted_by: str | None,
             note: str | None) -> list[EntryIn]:
    """The entries typed on the counting screen (problems collected on the form)."""
    entries: list[EntryIn] = []
    for line in lines:
        key = str(line.variant_id)
        qty = f.number(f"qty-{key}", min=0, places=3)
        if qty is None or f"qty-{key}" in f.errors:
            continue
        unit = f.choice(f"unit-{key}", units.get(line.variant_id, [])) or None
        entries.append(EntryIn(variant_id=line.variant_id, counted_qty=qty, unit=unit, counted_by=counted_by,
                               note=note))
    # Found stock: an item the snapshot did not list, by its SKU.
    found_sku = f.text("found_sku", max_length=64).upper()
    found_qty = f.number("found_qty", min=0, places=3)
    found_unit = f.text("found_unit", max_length=16).upper() or None
    if found_sku and found_qty is None and "found_qty" not in f.errors:
        f.fail("found_qty", _("This field is required"))
    elif found_qty is not None and not found_sku:
        f.fail("found_sku", _("This field is required"))
    elif found_sku and found_qty is not None:
        entries.append(EntryIn(sku=found_sku, counted_qty=found_qty, unit=found_unit, counted_by=counted_by,
                               note=note))
    return entries
