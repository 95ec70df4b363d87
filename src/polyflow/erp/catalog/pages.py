"""Catalog pages: the product list (search, type/active filters, sort, export), a product's page (attributes,
units, prices, stock per location, recent movements), the new / edit forms and deactivate / reactivate.
Reading needs catalog.read, changing catalog.write; the stock parts show only to users with inventory.read."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from polyflow.erp.catalog import service
from polyflow.erp.catalog.schemas import ProductIn, ProductPatch
from polyflow.erp.inventory import reads as stock_reads
from polyflow.erp.inventory import service as inventory
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in
from polyflow.kit.errors import NotFound, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response
from polyflow.web.numbers import parse_number

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

# Product types and costing methods with their English labels (translated when shown).
TYPES = (("raw_material", "Raw material"), ("intermediate", "Intermediate"), ("packaging", "Packaging"),
         ("auxiliary", "Auxiliary material"), ("wip", "Work in progress"), ("finished_good", "Finished good"),
         ("scrap", "Scrap"), ("service", "Service"))
TYPE_KEYS = tuple(k for k, _label in TYPES)
COSTING = (("actual", "Moving average"), ("standard", "Standard cost"))
ACTIVE = (("1", "Active"), ("0", "Inactive"))
# ?done=<code> after a successful form: the notice shown (user text is never reflected).
DONE = {"created": "The product was created.", "saved": "The changes were saved.",
        "deactivated": "The product was deactivated.", "activated": "The product was reactivated.",
        "prices": "The prices were saved."}


def type_label(key: str) -> str:
    return _(dict(TYPES).get(key, key))


def product_id_of(value: str) -> uuid.UUID:
    """The id in a page's path; anything that is not one is the same 404 as an unknown product (checked after
    the permission, so a role without it gets its 403 whatever the path holds)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("product not found") from None


# -- list ------------------------------------------------------------------------------------------------
@router.get("/products")
@html_page
async def products(request: Request, session: TenantSession):
    """The products: search over SKU and name, filters by type and active, sortable, exportable."""
    await signed_in(request, session, "catalog.read")
    p = ListParams.from_request(request, sorts=("sku", "name", "created"), default_sort="sku")
    product_type = p.filter("type")
    active = {"1": True, "0": False}.get(p.filter("active"))
    items, total = await service.list_products(
        session, q=p.q or None, product_type=product_type if product_type in TYPE_KEYS else None, active=active,
        sort=p.order, limit=p.limit, offset=p.offset)
    columns = [
        Column("sku", _("SKU"), sort="sku", href=lambda r: f"/products/{r.id}"),
        Column("name", _("Name"), sort="name"),
        Column("product_type", _("Type"), value=lambda r: type_label(r.product_type)),
        Column("unit", _("Unit")),
        Column("buy_price", _("Buy price"), "money"),
        Column("sell_price", _("Sell price"), "money"),
        Column("is_active", _("Active"), "bool"),
    ]
    viewer = request.state.viewer
    actions = [(_("New product"), "/products/new")] if viewer.may("catalog.write") else []
    return list_response(request, p, title=_("Products"), columns=columns, rows=items, total=total,
                         filters=[Filter("type", "Type", TYPES), Filter("active", "Status", ACTIVE)],
                         actions=actions, filename="products", placeholder=_("SKU or name"),
                         empty=_("No product matches.") if p.q else _("No products yet."))


# -- new / edit ------------------------------------------------------------------------------------------
def _form_page(request: Request, form: Form, product=None, status_code: int = 200) -> HTMLResponse:
    return page(request, "tenant/catalog/product_form.html", status_code, form=form, product=product,
                types=[(k, _(label)) for k, label in TYPES], costing=[(k, _(label)) for k, label in COSTING])


def _initial(product) -> dict:
    """A product as the form shows it (numbers in the reader's format, conversions and attributes as lines)."""
    return {
        "sku": product.sku, "name": product.name, "product_type": product.product_type, "unit": product.unit,
        "sales_unit": product.sales_unit or "",
        "sales_unit_factor": product.sales_unit_factor if product.sales_unit else "",
        "buy_price": product.buy_price, "sell_price": product.sell_price, "min_stock": product.min_stock,
        "reorder_qty": product.reorder_qty, "lead_time_days": product.lead_time_days,
        "costing_method": product.costing_method, "standard_cost": product.standard_cost,
        "description": product.description or "",
        "conversions": "\n".join(f"{c.unit} = {_plain(c.factor)}" for c in product.conversions),
        "attributes": "\n".join(f"{k} = {v}" for k, v in (product.attributes or {}).items()),
    }


def _plain(value: Decimal) -> str:
    from polyflow.web import fmt

    return fmt.input_num(value)


def _conversions(f: Form) -> list[dict]:
    """'ZAK = 25' per line: one more unit of the product and its primary units per one."""
    out = []
    for n, line in enumerate(f.text("conversions", max_length=2000, multiline=True).splitlines(), 1):
        if not line.strip():
            continue
        unit, sep, factor = line.partition("=")
        try:
            value = parse_number(factor.strip()) if sep else None
        except ValueError:
            value = None
        if not unit.strip() or value is None or value <= 0:
            f.fail("conversions", _("Line %(n)s: write a unit, '=' and its primary units (ZAK = 25)", n=n))
            return []
        out.append({"unit": unit.strip().upper(), "factor": value})
    return out


def _attributes(f: Form) -> dict:
    """'gsm = 70' per line; a value that reads as a number is stored as one (production computes with specs)."""
    out: dict = {}
    for n, line in enumerate(f.text("attributes", max_length=4000, multiline=True).splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            f.fail("attributes", _("Line %(n)s: write a name, '=' and a value (gsm = 70)", n=n))
            return {}
        value = value.strip()
        try:
            number = parse_number(value)
            out[key.strip()] = int(number) if number == number.to_integral_value() else float(number)
        except (ValueError, InvalidOperation):
            out[key.strip()] = value
    return out


def _read(f: Form, *, new: bool) -> dict:
    """The form's fields, typed; problems are collected on `f`."""
    data: dict = {}
    if new:
        data["sku"] = f.text("sku", required=True, max_length=64)
    data["name"] = f.text("name", required=True, max_length=200)
    data["product_type"] = f.choice("product_type", TYPE_KEYS, required=True)
    data["unit"] = f.text("unit", required=True, max_length=16).upper()
    data["sales_unit"] = f.text("sales_unit", max_length=16).upper() or None
    factor = f.number("sales_unit_factor", places=6, positive=True)
    if data["sales_unit"]:
        data["sales_unit_factor"] = factor if factor is not None else Decimal(1)
    data["buy_price"] = f.number("buy_price", min=0, places=2)
    data["sell_price"] = f.number("sell_price", min=0, places=2)
    data["min_stock"] = f.number("min_stock", min=0, places=3) or Decimal(0)
    data["reorder_qty"] = f.number("reorder_qty", min=0, places=3) or Decimal(0)
    data["lead_time_days"] = f.integer("lead_time_days", min=0, max=365) or 0
    data["costing_method"] = f.choice("costing_method", ("actual", "standard")) or "actual"
    data["standard_cost"] = f.number("standard_cost", min=0, places=4)
    data["description"] = f.text("description", max_length=5000, multiline=True) or None
    data["conversions"] = _conversions(f)
    data["attributes"] = _attributes(f)
    return data


def _schema_errors(f: Form, exc: ValidationError) -> None:
    """Pydantic's refusals next to the fields they concern; a rule over several fields by the words of its message."""
    f.schema_errors(exc, other=lambda message: _service_error(f, message))


def _service_error(f: Form, message: str) -> None:
    lowered = message.lower()
    name = "sku" if lowered.startswith("sku") else "conversions" if "conversion" in lowered \
        else "unit" if "unit" in lowered else "standard_cost" if "standard_cost" in lowered else "__all__"
    f.fail(name, message)


@router.get("/products/new")
@html_page
async def new_product(request: Request, session: TenantSession):
    """The new-product form."""
    await signed_in(request, session, "catalog.write")
    return _form_page(request, Form({"product_type": "finished_good", "unit": "KG", "costing_method": "actual"}))


@router.post("/products")
@html_page
async def create_product(request: Request, session: TenantSession):
    """Create a product from the form; refused: the form again with what was typed and the reasons (422/409)."""
    principal = await signed_in(request, session, "catalog.write")
    f = Form(await signed_form(request, principal))
    data = _read(f, new=True)
    if f.ok:
        try:
            product = await service.create_product(session, ProductIn(**data))
            return see_other(f"/products/{product.id}?done=created")
        except ValidationError as exc:
            _schema_errors(f, exc)
        except PolyflowError as exc:
            await session.rollback()
            _service_error(f, exc.message)
            return _form_page(request, f, status_code=exc.status_code)
    return _form_page(request, f, status_code=422)


@router.get("/products/{product_id}/edit")
@html_page
async def edit_product(request: Request, session: TenantSession, product_id: str):
    """The edit form of a product, filled in."""
    await signed_in(request, session, "catalog.write")
    product = await service.get_product(session, product_id_of(product_id))
    return _form_page(request, Form(_initial(product)), product)


@router.post("/products/{product_id}/edit")
@html_page
async def save_product(request: Request, session: TenantSession, product_id: str):
    """Save the edit form (the SKU stays); refused: the form again with what was typed."""
    principal = await signed_in(request, session, "catalog.write")
    pid = product_id_of(product_id)
    product = await service.get_product(session, pid)
    f = Form(await signed_form(request, principal))
    data = _read(f, new=False)
    if not data.get("sales_unit"):
        data["sales_unit_factor"] = Decimal(1)
    if f.ok:
        try:
            await service.update_product(session, pid, ProductPatch(**data))
            return see_other(f"/products/{pid}?done=saved")
        except ValidationError as exc:
            _schema_errors(f, exc)
        except PolyflowError as exc:
            await session.rollback()
            _service_error(f, exc.message)
            product = await service.get_product(session, pid)
            return _form_page(request, f, product, status_code=exc.status_code)
    return _form_page(request, f, product, status_code=422)


@router.post("/products/{product_id}/deactivate")
@html_page
async def deactivate_product(request: Request, session: TenantSession, product_id: str):
    """Deactivate a product: kept with its history, refused by new stock movements and documents."""
    return await _set_active(request, session, product_id, False)


@router.post("/products/{product_id}/activate")
@html_page
async def activate_product(request: Request, session: TenantSession, product_id: str):
    """Reactivate a product."""
    return await _set_active(request, session, product_id, True)


@router.post("/products/{product_id}/prices")
@html_page
async def save_prices(request: Request, session: TenantSession, product_id: str):
    """Change a product's list prices from the small form on its page (an empty field clears that price)."""
    principal = await signed_in(request, session, "catalog.write")
    pid = product_id_of(product_id)
    await service.get_product(session, pid)
    f = Form(await signed_form(request, principal))
    prices = {"buy_price": f.number("buy_price", min=0, places=2), "sell_price": f.number("sell_price", min=0,
                                                                                          places=2)}
    if f.ok:
        try:
            await service.update_product(session, pid, ProductPatch(**prices))
            return see_other(f"/products/{pid}?done=prices")
        except ValidationError as exc:
            _schema_errors(f, exc)
    return await _detail(request, session, pid, f, 422)


async def _set_active(request: Request, session, product_id: str, active: bool):
    principal = await signed_in(request, session, "catalog.write")
    pid = product_id_of(product_id)
    await signed_form(request, principal)
    await service.update_product(session, pid, ProductPatch(is_active=active))
    return see_other(f"/products/{pid}?done={'activated' if active else 'deactivated'}")


# -- detail ----------------------------------------------------------------------------------------------
@router.get("/products/{product_id}")
@html_page
async def product_detail(request: Request, session: TenantSession, product_id: str):
    """A product: its facts, units, prices per variant, stock per location and its latest movements."""
    await signed_in(request, session, "catalog.read")
    return await _detail(request, session, product_id_of(product_id))


async def _detail(request: Request, session, pid: uuid.UUID, prices: Form | None = None, status_code: int = 200):
    product = await service.get_product(session, pid)
    viewer = request.state.viewer
    levels, moves, locations = [], [], {}
    if viewer.may("inventory.read") and product.product_type != "service":
        levels, _total = await inventory.list_levels(session, variant_id=None, location_id=None,
                                                     product_id=product.id, q=None, nonzero=False, sort="location",
                                                     limit=200, offset=0)
        for variant in product.variants:
            items, _n, _c = await inventory.list_movements(session, variant_id=variant.id, location_id=None,
                                                           kind=None, date_from=None, date_to=None, q=None,
                                                           sort="-date", limit=10)
            moves += items
        moves.sort(key=lambda m: (m.posting_date, m.moved_at, m.number), reverse=True)
        moves = moves[:10]
        locations = await stock_reads.location_codes(session)
    skus = {v.id: v.sku for v in product.variants}
    notice = _(DONE[request.query_params["done"]]) if request.query_params.get("done") in DONE else None
    prices = prices or Form({"buy_price": product.buy_price, "sell_price": product.sell_price})
    return page(request, "tenant/catalog/product.html", status_code, product=product, prices=prices,
                type_label=type_label(product.product_type),
                costing=_(dict(COSTING).get(product.costing_method, product.costing_method)), levels=levels,
                moves=moves, locations=locations, skus=skus, notice=notice,
                kinds=KIND_LABELS)


# Movement kinds as the pages name them (shared with the stock pages).
KIND_LABELS = {"IN": "Receipt", "OUT": "Issue", "TRANSFER": "Transfer", "ADJUSTMENT": "Adjustment",
               "REVALUATION": "Revaluation"}
