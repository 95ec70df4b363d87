"""Accounting pages: the chart of accounts and recent journal entries (accounting.read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from polyflow.erp.accounting import service
from polyflow.erp.pages import PAGE_SIZE, html_page, page, signed_in
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Search = Annotated[str, Query(max_length=100)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
MAX_ACCOUNTS = 500  # a chart of accounts is a few hundred rows: one page


@router.get("/accounts")
@html_page
async def accounts(request: Request, session: TenantSession, q: Search = ""):
    """The chart of accounts, by code."""
    await signed_in(request, session, "accounting.read")
    items, total = await service.list_accounts(session, q=q.strip() or None, type=None, active=None, sort="code",
                                               limit=MAX_ACCOUNTS, offset=0)
    return page(request, "tenant/accounts.html", items=items, total=total, q=q)


@router.get("/journal")
@html_page
async def journal(request: Request, session: TenantSession, q: Search = "", offset: Offset = 0):
    """Posted journal entries, newest first, with their lines."""
    await signed_in(request, session, "accounting.read")
    items, total, _ = await service.list_entries(session, date_from=None, date_to=None, account=None, doc_type=None,
                                                 q=q.strip() or None, sort="-date", limit=PAGE_SIZE, offset=offset)
    # A page of entries with many lines ends early (kit.pagination.MAX_PAGE_LINES): "next" starts after it.
    return page(request, "tenant/journal.html", items=items, total=total, q=q, offset=offset,
                size=len(items) or PAGE_SIZE)
