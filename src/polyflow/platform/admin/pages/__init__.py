"""The operators' console (admin host, signed-in super-admins, cookie sessions only): one module per screen.

    tenants.py     GET /tenants: the table (filters, search, sort, pages, CSV/Excel)
    onboarding.py  /tenants/new and /tenants/{sub}/onboarding: create a tenant and watch it come up
    tenant.py      /tenants/{sub} and its forms: suspend, resume, back up, plan, archive, delete, restore,
                   move, module grants
    fleet.py       /fleet and /fleet/runs/{id}: schema revisions, failures, rollouts with a canary
    platform.py    /plans, /billing (invoices, payments, billing run), /servers (list, add)
    audit.py       /audit: the platform audit log with filters and export
    admins.py      /admins: super-admins, two-factor status, invite
    common.py      who may see a page, trusted forms, rendering, notices

``router`` gathers them; the order matters where paths overlap (/tenants/new before /tenants/{subdomain}).
"""

from __future__ import annotations

from fastapi import APIRouter

from polyflow.platform.admin.pages import admins, audit, fleet, onboarding, platform, tenant, tenants

router = APIRouter(include_in_schema=False)
for _module in (tenants, onboarding, tenant, fleet, platform, audit, admins):
    router.include_router(_module.router)
