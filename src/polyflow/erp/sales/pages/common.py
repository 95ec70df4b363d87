"""What the sales and payments pages share: record ids from the path (a malformed one is a 404, checked after the
permission), "any of these permissions" checks, the choices the forms offer, and the notice after an action."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Iterable

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.catalog import service as catalog
from polyflow.erp.identity.auth import Principal, check_permission
from polyflow.erp.inventory import service as inventory
from polyflow.erp.pages import signed_in
from polyflow.erp.partners import service as partners
from polyflow.erp.sales import service
from polyflow.erp.sales.common import SALES_TAX_KINDS
from polyflow.erp.tax import service as tax
from polyflow.kit.errors import NotFound
from polyflow.web.i18n import _
from polyflow.web.lists import ListParams

# How many choices a form's drop-down lists at most (a plant has tens of customers and products, not thousands).
CHOICES_MAX = 500


def path_id(value: str, what: str = "record") -> uuid.UUID:
    """The id in a page's path; anything but a UUID is the same 404 as an unknown id."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"{what} not found") from None


async def allow(request: Request, session: AsyncSession, *permissions: str) -> Principal:
    """The signed-in user, holding any one of `permissions` (the API's authorize_any rule)."""
    principal = await signed_in(request, session)
    check_permission(request, principal, *permissions)
    return principal


def uuid_param(value: str) -> uuid.UUID | None:
    """A filter's id from the query string; a malformed one filters nothing."""
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def date_param(p: ListParams, name: str) -> date | None:
    """A date filter (YYYY-MM-DD); a malformed one is ignored, like an unknown sort."""
    value = p.filter(name)
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def notice(request: Request, messages: dict[str, str]) -> str | None:
    """The translated notice for `?done=<code>` after a successful action (never the user's own text)."""
    code = request.query_params.get("done")
    return _(messages[code]) if code in messages else None


async def partner_choices(session: AsyncSession, *, customers: bool) -> list[tuple[str, str]]:
    """(id, "CODE · Name") of the active customers (or suppliers)."""
    kind = {"is_customer": True} if customers else {"is_supplier": True}
    found, _total = await partners.list_partners(session, active=True, limit=CHOICES_MAX, offset=0, **kind)
    return [(str(p.id), f"{p.code} · {p.name}") for p in found]


async def variant_choices(session: AsyncSession) -> list[tuple[str, str]]:
    """(variant id, "SKU · name (unit)") of the active products' active variants."""
    products, _total = await catalog.list_products(session, q=None, active=True, limit=CHOICES_MAX, offset=0)
    return [(str(v.id), f"{v.sku} · {v.name} ({p.unit})") for p in products for v in p.variants if v.is_active]


async def location_choices(session: AsyncSession) -> list[tuple[str, str]]:
    found, _total = await inventory.list_locations(session, q=None, kind=None, active=True, sort="code",
                                                   limit=CHOICES_MAX, offset=0)
    return [(str(lo.id), f"{lo.code} · {lo.name}") for lo in found]


async def sales_tax_choices(session: AsyncSession, on: date) -> list[tuple[str, str]]:
    """(code, "CODE · name") of the sales tax codes in effect on `on`."""
    found, _total = await tax.list_tax_codes(session, active=True, on=on, limit=CHOICES_MAX, offset=0)
    seen: dict[str, str] = {}
    for code in found:
        if code.kind in SALES_TAX_KINDS:
            seen.setdefault(code.code, f"{code.code} · {code.name}")
    return list(seen.items())


async def cash_accounts(session: AsyncSession) -> list[tuple[str, str]]:
    """(code, "code · name") of the active cash and bank accounts (110x) a payment goes through."""
    found, _total = await accounting.list_accounts(session, q="110", type="asset", active=True, sort="code",
                                                   limit=CHOICES_MAX, offset=0)
    return [(a.code, f"{a.code} · {a.name}") for a in found if a.code.startswith("110")]


async def partner_names(session: AsyncSession, docs: Iterable, attr: str = "customer_id") -> dict:
    """Partner id -> partner of the documents shown (one query)."""
    return await service.partners_by_id(session, {getattr(d, attr) for d in docs})


async def variants(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict:
    """Variant id -> variant (SKU, name) of a document's lines."""
    out = {}
    for variant_id in set(ids):
        try:
            out[variant_id] = await catalog.get_variant(session, variant_id)
        except NotFound:
            pass
    return out
