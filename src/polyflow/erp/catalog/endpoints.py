"""Catalog JSON API (tenant host only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from polyflow.erp.catalog import service
from polyflow.erp.catalog.schemas import ProductIn, ProductOut, ProductPatch
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.platform.tenancy.deps import TenantSession, require_module

router = APIRouter(prefix="/api/v1/products", tags=["catalog"], dependencies=[require_module("catalog")])


@router.get("", response_model=Page[ProductOut])
async def list_products(
    session: TenantSession,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100, description="Search SKU or name")] = None,
):
    """List this tenant's products, ordered by SKU."""
    items, total = await service.list_products(session, q=q, limit=page.limit, offset=page.offset)
    return Page[ProductOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("", response_model=ProductOut, status_code=201)
async def create_product(session: TenantSession, data: ProductIn):
    """Create a product."""
    return await service.create_product(session, data)


@router.get("/{product_id}", response_model=ProductOut)
async def get_product(session: TenantSession, product_id: uuid.UUID):
    """One product by id."""
    return await service.get_product(session, product_id)


@router.patch("/{product_id}", response_model=ProductOut)
async def update_product(session: TenantSession, product_id: uuid.UUID, patch: ProductPatch):
    """Change a product."""
    return await service.update_product(session, product_id, patch)


@router.delete("/{product_id}", status_code=204)
async def delete_product(session: TenantSession, product_id: uuid.UUID):
    """Delete a product."""
    await service.delete_product(session, product_id)
    return Response(status_code=204)
