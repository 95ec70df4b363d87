"""Admin JSON API for plans, entitlements and billing (admin host; operator token or admin session).

Invoice numbers contain slashes (``INV/2026/00001``): they are the tail of the path, sent as is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from polyflow.kit.limits import Day as BoundedDay
from polyflow.platform import billing, entitlements
from polyflow.platform.admin.auth import Operator

router = APIRouter(prefix="/admin/api", tags=["admin: plans and billing"])


def _platform(request: Request):
    return request.app.state.platform


class PlanChange(BaseModel):
    plan: str = Field(min_length=1, max_length=40)
    trial_until: datetime | None = None


class ModuleGrant(BaseModel):
    until: datetime | None = None


class Day(BaseModel):
    on: BoundedDay | None = Field(None, description="Run as of this day (default today, UTC)")


class PaymentIn(BaseModel):
    reference: str | None = Field(None, max_length=200)


@router.get("/plans")
async def list_plans(request: Request, operator: Operator):
    """Every plan: price, user limit, modules, trial length."""
    return [p.as_json() for p in await entitlements.list_plans(_platform(request).main_engine)]


@router.get("/tenants/{subdomain}/entitlements")
async def get_entitlements(request: Request, operator: Operator, subdomain: str):
    """A tenant's plan, user limit and modules with their source and end."""
    return (await entitlements.get_entitlements(_platform(request), subdomain)).as_json()


@router.put("/tenants/{subdomain}/plan")
async def set_plan(request: Request, operator: Operator, subdomain: str, body: PlanChange):
    """Move a tenant to another plan; answers with its entitlements."""
    platform = _platform(request)
    await entitlements.set_plan(platform, subdomain, body.plan, trial_until=body.trial_until, actor=operator)
    return (await entitlements.get_entitlements(platform, subdomain)).as_json()


@router.put("/tenants/{subdomain}/modules/{module}")
async def grant_module(request: Request, operator: Operator, subdomain: str, module: str,
                       body: ModuleGrant | None = None):
    """Grant a module beyond the plan, optionally until a moment; answers with the entitlements."""
    platform = _platform(request)
    await entitlements.grant_module(platform, subdomain, module, until=body.until if body else None, actor=operator)
    return (await entitlements.get_entitlements(platform, subdomain)).as_json()


@router.delete("/tenants/{subdomain}/modules/{module}")
async def revoke_module(request: Request, operator: Operator, subdomain: str, module: str):
    """Remove a module grant; answers with the entitlements."""
    platform = _platform(request)
    await entitlements.revoke_module(platform, subdomain, module, actor=operator)
    return (await entitlements.get_entitlements(platform, subdomain)).as_json()


@router.get("/invoices")
async def list_invoices(request: Request, operator: Operator, tenant: str | None = None,
                        status: Literal["issued", "paid", "void", "overdue"] | None = None):
    """Invoices, newest first, optionally of one tenant and/or in one status."""
    platform = _platform(request)
    invoices = await billing.list_invoices(platform.main_engine, tenant=tenant, status=status,
                                           grace_days=platform.settings.billing_grace_days)
    return [i.as_json() for i in invoices]


@router.post("/invoices/{number:path}/paid")
async def mark_paid(request: Request, operator: Operator, number: str, body: PaymentIn | None = None):
    """Record a payment; resumes a tenant suspended for non-payment when nothing else is overdue."""
    payment = await billing.mark_paid(_platform(request), number, body.reference if body else None, actor=operator)
    return payment.as_json()


@router.get("/invoices/{number:path}")
async def get_invoice(request: Request, operator: Operator, number: str):
    """One invoice with its lines."""
    return (await billing.get_invoice(_platform(request).main_engine, number)).as_json()


@router.post("/billing/run")
async def run_billing(request: Request, operator: Operator, body: Day | None = None):
    """Issue the invoices for the month before `on` (default today); idempotent."""
    result = await billing.run(_platform(request), body.on if body else None, actor=operator)
    return result.as_json()


@router.post("/billing/suspend-overdue")
async def suspend_overdue(request: Request, operator: Operator, body: Day | None = None):
    """Suspend tenants with an invoice unpaid past due date + grace (the daily job does the same)."""
    done = await billing.suspend_overdue(_platform(request), body.on if body else None, actor=operator)
    return [s.as_json() for s in done]
