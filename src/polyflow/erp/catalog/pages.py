"""Catalog pages: the product list (catalog.read) and the new-product form (catalog.write)."""

from __future__ import annotations

from typing import Annotated, get_args
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.catalog import service
from polyflow.erp.catalog.schemas import ProductIn, ProductType
from polyflow.erp.pages import PAGE_SIZE, html_page, page, see_other, signed_form, signed_in, text, validation_message
from polyflow.kit.errors import InvalidInput, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

PRODUCT_TYPES = get_args(ProductType)
FIELDS = {"sku": 64, "name": 200, "product_type": 20, "unit": 16, "sell_price": 30, "buy_price": 30,
          "description": 5000}
BLANK = {"sku": "", "name": "", "product_type": "finished_good", "unit": "KG", "sell_price": "", "buy_price": "",
         "description": ""}


@router.get("/products")
@html_page
async def products(request: Request, session: TenantSession,
                   q: Annotated[str, Query(max_length=100)] = "",
                   offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0):
    """The products, by SKU, with a search over SKU and name."""
    await signed_in(request, session, "catalog.read")
    items, total = await service.list_products(session, q=q.strip() or None, limit=PAGE_SIZE, offset=offset)
    return page(request, "tenant/products.html", items=items, total=total, q=q, offset=offset, size=PAGE_SIZE)


def _form_page(request: Request, status_code: int = 200, **context) -> HTMLResponse:
    context.setdefault("values", BLANK)
    return page(request, "tenant/product_form.html", status_code, product_types=PRODUCT_TYPES, **context)


@router.get("/products/new")
@html_page
async def new_product(request: Request, session: TenantSession):
    """The new-product form."""
    await signed_in(request, session, "catalog.write")
    return _form_page(request)


@router.post("/products")
@html_page
async def create_product(request: Request, session: TenantSession):
    """Create a product from the form (the API's rules); the form again with the reason if it is refused."""
    principal = await signed_in(request, session, "catalog.write")
    form = await signed_form(request, principal)
    values = dict(BLANK)
    try:
        values.update({name: text(form, name, limit) for name, limit in FIELDS.items()})
        await _create(session, values)
    except PolyflowError as exc:
        await session.rollback()
        return _form_page(request, exc.status_code, error=exc.message, values=values)
    return see_other("/products?q=" + quote(values["sku"]))  # the list, showing the new product


async def _create(session: AsyncSession, values: dict[str, str]) -> None:
    # Empty fields are left out, so the API's defaults apply.
    try:
        data = ProductIn(**{k: v for k, v in values.items() if v})
    except ValidationError as exc:
        raise InvalidInput(validation_message(exc)) from None
    await service.create_product(session, data)
