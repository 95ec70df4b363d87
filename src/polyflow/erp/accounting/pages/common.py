"""What the accounting pages share: the router, the notices a redirect may name, the chart of accounts by code
(for "code — name" everywhere), and the date filters of the reports."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service
from polyflow.kit.errors import InvalidInput, NotFound
from polyflow.web.i18n import _
from polyflow.web.lists import ListParams

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

MAX_ACCOUNTS = 2000  # a chart of accounts is a few hundred rows: read whole
Done = Annotated[str | None, Query(max_length=20)]

# What a page says after a successful post (the redirect names one; no user text is reflected). English msgids.
NOTICES = {
    "posted": "The journal was posted.",
    "reversed": "The reversal was posted.",
    "locked": "The period was locked.",
    "unlocked": "The period was reopened.",
    "lock-date": "The lock date was saved.",
    "saved": "The settings were saved.",
    "tax-code": "The tax code was saved.",
    "closed": "The year was closed into retained earnings.",
}

ACCOUNT_TYPES = (("asset", "Assets"), ("liability", "Liabilities"), ("equity", "Equity"),
                 ("revenue", "Revenue"), ("expense", "Expenses"))
TYPE_LABELS = dict(ACCOUNT_TYPES)


def notice(done: str | None) -> str | None:
    english = NOTICES.get(done or "")
    return _(english) if english else None


def type_label(account_type: str) -> str:
    english = TYPE_LABELS.get(account_type)
    return _(english) if english else account_type


async def chart(session: AsyncSession, *, active_only: bool = False) -> list:
    """Every account by code (the service's own listing)."""
    items, _total = await service.list_accounts(session, q=None, type=None, active=True if active_only else None,
                                                sort="code", limit=MAX_ACCOUNTS, offset=0)
    return items


async def account_names(session: AsyncSession) -> dict[str, str]:
    return {a.code: a.name for a in await chart(session)}


def labelled(code: str, names: dict[str, str]) -> str:
    """ "1101 — Kas" (the code alone when the chart does not know it)."""
    name = names.get(code)
    return f"{code} — {name}" if name else code


def grouped_accounts(accounts) -> list[tuple[str, list[tuple[str, str]]]]:
    """(type label, [(code, "code — name")]) for a <select> with <optgroup>s."""
    out = []
    for key, _label in ACCOUNT_TYPES:
        items = [(a.code, f"{a.code} — {a.name}") for a in accounts if a.type == key]
        if items:
            out.append((type_label(key), items))
    return out


def day(p: ListParams, name: str, default: date | None = None) -> date | None:
    """A date filter of a report (YYYY-MM-DD from an <input type=date>); 422 naming the field otherwise."""
    raw = p.filter(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_("%(field)s: not a valid date (YYYY-MM-DD)", field=name)) from None


def id_from_path(value: str) -> uuid.UUID:
    """The id in a page's path; anything else is the same 404 as an unknown id."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(_("journal entry not found")) from None
