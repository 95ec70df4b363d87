"""Tax JSON API (tenant host only): tax codes with effective dates, the tax calculator, and the company's
own tax identity. All of it is accounting: accounting.read to read, accounting.write to change."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from polyflow.erp.identity.auth import authorize
from polyflow.erp.tax import coretax, ppn, service
from polyflow.erp.tax.output_schemas import PpnSummary
from polyflow.erp.tax.schemas import (
    CODE_PATTERN, CompanyTaxIn, CompanyTaxOut, LineTaxOut, TaxCodeIn, TaxCodeOut, TaxCodePatch, TaxComputation,
    TaxKind,
)
from polyflow.kit.limits import Day
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(prefix="/api/v1", tags=["tax"], dependencies=[authorize("accounting")])

Amount = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2, allow_inf_nan=False)]


@router.get("/tax-codes", response_model=Page[TaxCodeOut])
async def list_tax_codes(
    session: TenantSession,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100, description="Search code or name")] = None,
    kind: TaxKind | None = None,
    active: bool | None = None,
    on: Annotated[Day | None, Query(description="Only versions in effect on this date")] = None,
):
    """List tax code versions, by code and start date."""
    items, total = await service.list_tax_codes(session, q=q, kind=kind, active=active, on=on, limit=page.limit,
                                                offset=page.offset)
    return Page[TaxCodeOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/tax-codes", response_model=TaxCodeOut, status_code=201)
async def create_tax_code(session: TenantSession, data: TaxCodeIn):
    """Create a tax code or a new version of one (a rate change closes the open version the day before)."""
    return await service.create_tax_code(session, data)


@router.get("/tax-codes/effective", response_model=TaxCodeOut)
async def tax_code_in_effect(
    session: TenantSession,
    code: Annotated[str, Query(min_length=1, max_length=20, pattern=CODE_PATTERN)],
    on: Annotated[Day, Query(description="The document date")],
):
    """The version of a tax code in effect on a date (what a document of that date charges)."""
    return await service.in_effect(session, code, on)


@router.get("/tax-codes/{tax_code_id}", response_model=TaxCodeOut)
async def get_tax_code(session: TenantSession, tax_code_id: uuid.UUID):
    """One tax code version."""
    return await service.get_tax_code(session, tax_code_id)


@router.patch("/tax-codes/{tax_code_id}", response_model=TaxCodeOut)
async def update_tax_code(session: TenantSession, tax_code_id: uuid.UUID, patch: TaxCodePatch):
    """Change a version's name, accounts, end date or active flag."""
    return await service.update_tax_code(session, tax_code_id, patch)


@router.get("/tax-codes/{tax_code_id}/compute", response_model=TaxComputation)
async def compute_tax(
    session: TenantSession,
    tax_code_id: uuid.UUID,
    amounts: Annotated[list[Amount], Query(max_length=200, description="Line amounts (quantity x price, after "
                                                                         "discount); none: a document of 0")] = [],
    inclusive: Annotated[bool, Query(description="The amounts include the tax")] = False,
):
    """DPP, DPP nilai lain and tax of a document's lines under this code, in whole rupiah."""
    tax_code = await service.get_tax_code(session, tax_code_id)
    result = service.compute(tax_code, amounts, inclusive=inclusive)
    return TaxComputation(
        tax_code_id=tax_code.id, code=tax_code.code, rate=tax_code.rate, base_rule=tax_code.base_rule,
        inclusive=inclusive, base=result.base, other_base=result.other_base, tax=result.tax, total=result.total,
        rounding_difference=result.rounding_difference,
        lines=[LineTaxOut(base=line.base, other_base=line.other_base, tax=line.tax) for line in result.lines])


@router.get("/tax/company", response_model=CompanyTaxOut)
async def get_company_tax(session: TenantSession):
    """The company's own tax identity: NPWP, NITKU, PKP, registered name and address."""
    return await service.get_company(session)


@router.patch("/tax/company", response_model=CompanyTaxOut)
async def update_company_tax(session: TenantSession, data: CompanyTaxIn):
    """Change the company's tax identity (NPWP/NITKU validated; a PKP must have an NPWP)."""
    return await service.update_company(session, data)


Month = Annotated[str, Query(max_length=7, description="The tax period, YYYY-MM")]


@router.get("/tax/ppn-summary", response_model=PpnSummary)
async def ppn_summary(session: TenantSession, month: Month):
    """The month's PPN: output vs creditable input tax, kurang/lebih bayar, carried overpayment, GL check."""
    return await ppn.ppn_summary(session, month)


@router.get("/tax/coretax-xml", response_class=Response,
            responses={200: {"content": {"application/xml": {}}, "description": "The e-Faktur bulk import file"}})
async def coretax_xml(session: TenantSession, month: Month):
    """The Coretax e-Faktur bulk import XML of the month's posted sales invoices, as a download."""
    filename, body = await coretax.coretax_xml(session, month)
    return Response(content=body, media_type="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
