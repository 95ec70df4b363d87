"""What the purchasing pages share: ids from the path, notices after a redirect, supplier / product / location
choices, the company for documents, and how a service's refusal lands on a form."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.inventory import service as inventory
from polyflow.erp.partners import service as partners
from polyflow.erp.purchasing import service
from polyflow.erp.tax import service as tax
from polyflow.kit.errors import InvalidInput, NotFound
from polyflow.web.i18n import _
from polyflow.web.pdf import Company

# Enough for a plant's supplier list / product list in one select; more would need a search box.
MAX_CHOICES = 1000
DEFAULT_RECEIPT_LOCATION = "RM-WH"  # the seeded raw-material warehouse
MAX_PICK = 200  # orders offered on a 'pick the order' page, per status
PURCHASE_TAX_KINDS = ("ppn_input", "exempt", "zero_rated", "not_collected")

# ?done=<code> after a successful post -> the notice shown (never the user's own text).
NOTICES = {
    "created": "The purchase order was saved as a draft.",
    "updated": "The draft purchase order was saved.",
    "approved": "Approved.",
    "cancelled": "Cancelled.",
    "closed": "The order was closed: no more receipts.",
    "submitted": "The request was submitted.",
    "rejected": "The request was rejected.",
    "converted": "A draft purchase order was made from the request.",
    "received": "The goods were received and posted to stock.",
    "invoice_created": "The supplier invoice was saved as a draft.",
    "posted": "The supplier invoice was posted.",
    "returned": "The goods went back to the supplier; the return is posted.",
}


def doc_id(value: str, missing: str) -> uuid.UUID:
    """The id in the path, or 404 (a malformed id is as unknown as another tenant's)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(missing) from None


def list_date(p, name: str) -> date | None:
    """A date filter of a list (YYYY-MM-DD), or a 422 saying so."""
    raw = p.filter(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_("“%(text)s” is not a date (YYYY-MM-DD)", text=raw[:20])) from None


def list_uuid(p, name: str) -> uuid.UUID | None:
    """A choice filter of a list that holds an id, or a 422."""
    raw = p.filter(name)
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise InvalidInput(_("Not one of the choices")) from None


def notice(request: Request) -> str | None:
    english = NOTICES.get(request.query_params.get("done") or "")
    return _(english) if english else None


def supplier_label(code: str | None, name: str | None) -> str:
    return f"{code} · {name}" if code else ""


async def supplier_choices(session: AsyncSession, *, active_only: bool = True) -> list[tuple[str, str]]:
    """(id, "CODE · name") of the suppliers, by code."""
    items, _total = await partners.list_partners(session, is_supplier=True, active=True if active_only else None,
                                                 limit=MAX_CHOICES, offset=0)
    return [(str(p.id), supplier_label(p.code, p.name)) for p in items]


async def variant_choices(session: AsyncSession) -> list[tuple[str, str, str]]:
    """(variant id, SKU, "name (stock unit)") of the active products' active variants, by SKU."""
    from polyflow.erp.catalog import service as catalog

    products, _total = await catalog.list_products(session, q=None, active=True, limit=MAX_CHOICES, offset=0)
    out = []
    for product in products:
        for variant in product.variants:
            if variant.is_active:
                out.append((str(variant.id), variant.sku, f"{variant.name} ({product.unit})"))
    return sorted(out, key=lambda row: row[1])


async def location_choices(session: AsyncSession) -> list[tuple[str, str]]:
    """(code, "CODE · name") of the active locations."""
    items, _total = await inventory.list_locations(session, q=None, kind=None, active=True, sort="code",
                                                   limit=MAX_CHOICES, offset=0)
    return [(loc.code, f"{loc.code} · {loc.name}") for loc in items]


async def default_location(session: AsyncSession) -> str:
    """Where a receipt goes unless told otherwise: the raw-material warehouse, else the first warehouse (the
    select must never fall on a production or quarantine location by the alphabet)."""
    items, _total = await inventory.list_locations(session, q=None, kind="warehouse", active=True, sort="code",
                                                   limit=MAX_CHOICES, offset=0)
    codes = [loc.code for loc in items]
    return DEFAULT_RECEIPT_LOCATION if DEFAULT_RECEIPT_LOCATION in codes else (codes[0] if codes else "")


async def tax_choices(session: AsyncSession, on: date) -> list[tuple[str, str]]:
    """(code, "CODE · name") of the tax codes a purchase line may carry, in effect on `on`."""
    items, _total = await tax.list_tax_codes(session, active=True, on=on, limit=MAX_CHOICES, offset=0)
    seen, out = set(), []
    for t in items:
        if t.kind in PURCHASE_TAX_KINDS and t.code not in seen:
            seen.add(t.code)
            out.append((t.code, f"{t.code} · {t.name}"))
    return out


async def lines_info(session: AsyncSession, lines) -> dict[uuid.UUID, object]:
    """Variant id -> variant (SKU, name, product) for the given document lines."""
    return await service.variants_by_id(session, {line.variant_id for line in lines})


async def supplier_of(session: AsyncSession, partner_id: uuid.UUID):
    return await partners.get_partner(session, partner_id)


async def company(session: AsyncSession, fallback: str) -> Company:
    """The letterhead: the tax profile's legal name, NPWP and address, else the company settings'."""
    settings = await accounting.get_settings(session)
    profile = await tax.get_company(session)
    return Company(name=profile.legal_name or settings.company_name or fallback,
                   address=profile.address or settings.address, npwp=profile.npwp or settings.npwp,
                   phone=settings.phone, email=settings.email)


def service_error(form, message: str) -> None:
    """A service's refusal on a form: at the top (its text names the line when it is about one)."""
    form.fail("__all__", message)


async def location_of(session: AsyncSession, location_id: uuid.UUID):
    return await inventory.get_location(session, location_id)


async def orders_waiting(session: AsyncSession, statuses: tuple[str, ...], keep=lambda order: True) -> list[dict]:
    """The orders in `statuses` (oldest first, up to MAX_PICK each) that `keep` accepts, as rows to pick from."""
    out = []
    for status in statuses:
        rows, _total = await service.browse(session, "order", status=status, sort="date", limit=MAX_PICK, offset=0)
        out += [{"id": o.id, "number": o.number, "order_date": o.order_date, "status": o.status,
                 "supplier": supplier_label(code, name), "total": o.total}
                for o, code, name in rows if keep(o)]
    return sorted(out, key=lambda row: (row["order_date"], row["number"] or ""))


def variant_from(form, name: str, choices: list[tuple[str, str, str]]) -> uuid.UUID | None:
    """The variant typed in a product field: its SKU (any case, as the datalist offers it) or its id; a problem
    on the field otherwise."""
    typed = form.raw(name).strip()
    if not typed:
        form.fail(name, _("Choose a product"))
        return None
    key = typed.split(" · ")[0].strip().upper()
    for variant_id, sku, _label in choices:
        if sku.upper() == key or variant_id == typed.lower():
            return uuid.UUID(variant_id)
    form.fail(name, _("No active product has the SKU “%(sku)s”", sku=typed[:64]))
    return None
