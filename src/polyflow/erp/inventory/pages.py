"""Inventory pages: stock levels per location (inventory.read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from polyflow.erp.inventory import service
from polyflow.erp.pages import PAGE_SIZE, html_page, page, signed_in
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/stock")
@html_page
async def stock(request: Request, session: TenantSession,
                q: Annotated[str, Query(max_length=100)] = "",
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0):
    """On hand, reserved and available per location and variant, by SKU."""
    await signed_in(request, session, "inventory.read")
    items, total = await service.list_levels(session, variant_id=None, location_id=None, product_id=None,
                                             q=q.strip() or None, nonzero=False, sort="sku", limit=PAGE_SIZE,
                                             offset=offset)
    return page(request, "tenant/stock.html", items=items, total=total, q=q, offset=offset, size=PAGE_SIZE)
