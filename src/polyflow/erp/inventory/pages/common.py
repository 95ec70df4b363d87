"""What the inventory pages share: the words for movement kinds, reasons and location kinds, and the
location choices of filters and forms."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.catalog.pages import KIND_LABELS, TYPES
from polyflow.erp.inventory import service

# English labels, translated when shown.
LOCATION_KINDS = (("warehouse", "Warehouse"), ("production", "Production area"), ("scrap", "Scrap"),
                  ("transit", "In transit"), ("quarantine", "Quarantine"))
REASONS = {
    "IN": (("purchase", "Purchase"), ("opening", "Opening balance"), ("return", "Customer return")),
    "OUT": (("sale", "Sale"), ("consumption", "Consumption"), ("scrap", "Scrap"), ("return", "Return to supplier")),
    "ADJUSTMENT": (("count", "Stock count"), ("other", "Other")),
    "TRANSFER": (),
}
KINDS = tuple((k, label) for k, label in KIND_LABELS.items() if k != "REVALUATION")

__all__ = ["KIND_LABELS", "KINDS", "LOCATION_KINDS", "REASONS", "TYPES", "location_choices"]


async def location_choices(session: AsyncSession, *, active_only: bool = True, by: str = "id") -> list[tuple[str, str]]:
    """(value, "CODE · name") of the locations by code; value is the id (filters) or the code (forms)."""
    items, _total = await service.list_locations(session, q=None, kind=None, active=True if active_only else None,
                                                 sort="code", limit=1000, offset=0)
    return [(str(loc.id) if by == "id" else loc.code, f"{loc.code} · {loc.name}") for loc in items]
