"""Catalog JSON API (tenant host only): products and their variants."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from polyflow.erp.catalog import service
from polyflow.erp.catalog.schemas import (
    ProductIn, ProductOut, ProductPatch, ProductType, VariantIn, VariantOut, VariantPatch,
)
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.erp.identity.auth import authorize
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(prefix="/api/v1", tags=["catalog"], dependencies=[authorize("catalog")])


@router.get("/products", response_model=Page[ProductOut])
async def list_products(
    session: TenantSession,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100, description="Search SKU or name")] = None,
    product_type: ProductType | None = None,
    active: bool | None = None,
    sort: Literal["sku", "-sku", "name", "-name", "created", "-created"] = "sku",
):
    """List this tenant's products, ordered by SKU unless `sort` says otherwise."""
    items, total = await service.list_products(session, q=q, product_type=product_type, active=active, sort=sort,
                                               limit=page.limit, offset=page.offset)
    return Page[ProductOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/products", response_model=ProductOut, status_code=201)
async def create_product(session: TenantSession, data: ProductIn):
    """Create a product (and its default variant with the same SKU)."""
    return await service.create_product(session, data)


@router.get("/products/{product_id}", response_model=ProductOut)
async def get_product(session: TenantSession, product_id: uuid.UUID):
    """One product by id."""
    return await service.get_product(session, product_id)


@router.patch("/products/{product_id}", response_model=ProductOut)
async def update_product(session: TenantSession, product_id: uuid.UUID, patch: ProductPatch):
    """Change a product."""
    return await service.update_product(session, product_id, patch)


@router.delete("/products/{product_id}", status_code=204)
async def delete_product(session: TenantSession, product_id: uuid.UUID):
    """Delete a product that never had stock."""
    await service.delete_product(session, product_id)
    return Response(status_code=204)


@router.post("/products/{product_id}/variants", response_model=VariantOut, status_code=201)
async def add_variant(session: TenantSession, product_id: uuid.UUID, data: VariantIn):
    """Add a variant (own SKU) to a product."""
    return await service.add_variant(session, product_id, data)


@router.get("/variants/{variant_id}", response_model=VariantOut)
async def get_variant(session: TenantSession, variant_id: uuid.UUID):
    """One variant with its stock total and moving-average cost."""
    return await service.get_variant(session, variant_id)


@router.patch("/variants/{variant_id}", response_model=VariantOut)
async def update_variant(session: TenantSession, variant_id: uuid.UUID, patch: VariantPatch):
    """Change a variant."""
    return await service.update_variant(session, variant_id, patch)
