"""Accounting JSON API (tenant host only): accounts, journal entries, fiscal periods, settings, reports."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from polyflow.erp.accounting import service
from polyflow.erp.accounting.schemas import (
    AccountIn, AccountOut, AccountPatch, AccountType, BalanceSheet, GeneralLedger, JournalIn, JournalOut, PeriodOut,
    LockDateIn, LockDateOut, ProfitAndLoss, ReverseIn, SettingsOut, SettingsPatch, TrialBalance,
)
from polyflow.kit.limits import Day
from polyflow.kit.pagination import CursorPage, Page, PageParams, keyset_params, page_params, report_params
from polyflow.erp.identity.auth import CurrentUser, authorize
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(prefix="/api/v1", tags=["accounting"], dependencies=[authorize("accounting")])

Pg = Annotated[PageParams, Depends(page_params)]
Keyset = Annotated[PageParams, Depends(keyset_params)]
Report = Annotated[PageParams, Depends(report_params)]


@router.get("/accounts", response_model=Page[AccountOut])
async def list_accounts(
    session: TenantSession, page: Pg,
    q: Annotated[str | None, Query(max_length=100, description="Search code or name")] = None,
    type: AccountType | None = None,
    active: bool | None = None,
    sort: Literal["code", "-code", "name", "-name"] = "code",
):
    """The chart of accounts."""
    items, total = await service.list_accounts(session, q=q, type=type, active=active, sort=sort,
                                               limit=page.limit, offset=page.offset)
    return Page[AccountOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/accounts", response_model=AccountOut, status_code=201)
async def create_account(session: TenantSession, data: AccountIn):
    """Add an account."""
    return await service.create_account(session, data)


@router.get("/accounts/{code}", response_model=AccountOut)
async def get_account(session: TenantSession, code: str):
    """One account by code."""
    return await service.get_account(session, code)


@router.patch("/accounts/{code}", response_model=AccountOut)
async def update_account(session: TenantSession, code: str, patch: AccountPatch):
    """Rename or (de)activate an account."""
    return await service.update_account(session, code, patch)


@router.get("/journal-entries", response_model=CursorPage[JournalOut])
async def list_journal_entries(
    session: TenantSession, page: Keyset,
    date_from: Day | None = None, date_to: Day | None = None,
    account: Annotated[str | None, Query(max_length=20)] = None,
    doc_type: Annotated[str | None, Query(max_length=8)] = None,
    q: Annotated[str | None, Query(max_length=100, description="Search number, description, reference")] = None,
    sort: Literal["date", "-date", "number", "-number"] = "-date",
):
    """Posted journal entries with their lines, a page at a time (follow `next_cursor`)."""
    items, total, next_cursor = await service.list_entries(
        session, date_from=date_from, date_to=date_to, account=account, doc_type=doc_type, q=q, sort=sort,
        limit=page.limit, offset=page.offset, cursor=page.cursor)
    return CursorPage[JournalOut](items=items, total=total, limit=page.limit, offset=page.offset, next_cursor=next_cursor)


@router.post("/journal-entries", response_model=JournalOut, status_code=201)
async def create_journal_entry(session: TenantSession, data: JournalIn, principal: CurrentUser):
    """Post a manual journal (must balance; its date must be open), or save it as a draft."""
    return await service.create_manual_journal(session, data, created_by=principal.id)


@router.patch("/journal-entries/{entry_id}", response_model=JournalOut)
async def update_draft_journal(session: TenantSession, entry_id: uuid.UUID, data: JournalIn):
    """Replace a draft (409 once posted: a posted entry is only reversed)."""
    return await service.update_draft(session, entry_id, data)


@router.delete("/journal-entries/{entry_id}", status_code=204)
async def delete_draft_journal(session: TenantSession, entry_id: uuid.UUID):
    """Throw a draft away (409 once posted)."""
    await service.delete_draft(session, entry_id)
    return Response(status_code=204)


@router.post("/journal-entries/{entry_id}/post", response_model=JournalOut)
async def post_draft_journal(session: TenantSession, entry_id: uuid.UUID):
    """Post a draft: numbered, in the books, never edited afterwards."""
    return await service.post_draft(session, entry_id)


@router.post("/journal-entries/{entry_id}/reverse", response_model=JournalOut, status_code=201)
async def reverse_journal_entry(session: TenantSession, entry_id: uuid.UUID, principal: CurrentUser,
                                data: ReverseIn | None = None):
    """Reverse a posted manual entry on a chosen date (a new entry with the sides swapped; once only)."""
    return await service.reverse_entry(session, entry_id, data.entry_date if data else None,
                                       created_by=principal.id)


@router.post("/fiscal-years/{year}/close", response_model=JournalOut, status_code=201)
async def close_fiscal_year(session: TenantSession, year: int, principal: CurrentUser):
    """Year-end close: the year's revenue and expense accounts zeroed into Laba Ditahan (3200)."""
    return await service.close_year(session, year, created_by=principal.id)


@router.get("/lock-date", response_model=LockDateOut)
async def get_lock_date(session: TenantSession):
    """The date the books are closed through (nothing may be posted on or before it)."""
    return await service.get_settings(session)


@router.put("/lock-date", response_model=LockDateOut)
async def set_lock_date(session: TenantSession, data: LockDateIn, principal: CurrentUser):
    """Close the books through a date (accounting.write); moving it back or clearing it: owner only."""
    return await service.set_books_closed_through(session, data.books_closed_through,
                                                  may_reopen="owner" in principal.roles)


@router.get("/journal-entries/{entry_id}", response_model=JournalOut)
async def get_journal_entry(session: TenantSession, entry_id: uuid.UUID):
    """One journal entry."""
    return await service.get_entry(session, entry_id)


@router.get("/fiscal-periods", response_model=list[PeriodOut])
async def list_periods(session: TenantSession, year: Annotated[int | None, Query(ge=1900, le=9999)] = None):
    """Months that have postings or a lock."""
    return await service.list_periods(session, year)


@router.post("/fiscal-periods/{year}/{month}/lock", response_model=PeriodOut)
async def lock_period(session: TenantSession, year: int, month: int):
    """Lock a month: no more postings into it."""
    return await service.set_period_lock(session, year, month, True)


@router.post("/fiscal-periods/{year}/{month}/unlock", response_model=PeriodOut)
async def unlock_period(session: TenantSession, year: int, month: int):
    """Reopen a month."""
    return await service.set_period_lock(session, year, month, False)


@router.get("/settings", response_model=SettingsOut)
async def get_settings(session: TenantSession):
    """Company data, currency and PPN rate."""
    return await service.get_settings(session)


@router.patch("/settings", response_model=SettingsOut)
async def update_settings(session: TenantSession, patch: SettingsPatch):
    """Change company data or the PPN rate."""
    return await service.update_settings(session, patch)


@router.get("/reports/trial-balance", response_model=TrialBalance)
async def trial_balance(session: TenantSession, date_to: Day | None = None, date_from: Day | None = None,
                        include_zero: bool = False):
    """Trial balance up to `date_to` (today by default), optionally from `date_from`."""
    return await service.trial_balance(session, date_to or service.today(), date_from, include_zero)


@router.get("/reports/general-ledger/{code}", response_model=GeneralLedger)
async def general_ledger(session: TenantSession, code: str, page: Report, date_to: Day | None = None,
                         date_from: Day | None = None):
    """An account's postings with the running balance, a page at a time (follow `next_cursor`)."""
    return await service.general_ledger(session, code, date_to or service.today(), date_from, limit=page.limit,
                                        cursor=page.cursor)


@router.get("/reports/profit-and-loss", response_model=ProfitAndLoss)
async def profit_and_loss(session: TenantSession, date_from: Day, date_to: Day):
    """Laba rugi over a period."""
    return await service.profit_and_loss(session, date_from, date_to)


@router.get("/reports/balance-sheet", response_model=BalanceSheet)
async def balance_sheet(session: TenantSession, as_of: Day | None = None):
    """Neraca at a date."""
    return await service.balance_sheet(session, as_of or service.today())
