"""Accounting rules: posting balanced journals into open periods, numbering, period locks, reports.

`post_journal` is the one way into the ledger; inventory calls it inside the stock movement's own
transaction so a movement and its journal commit (or fail) together."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import repository
from polyflow.erp.accounting.schemas import (
    AccountIn, AccountPatch, BalanceSheet, GeneralLedger, JournalIn, LedgerLine, ProfitAndLoss, SettingsPatch,
    StatementRow, TrialBalance, TrialBalanceRow,
)
from polyflow.erp.accounting.seeds import INVENTORY_ACCOUNTS
from polyflow.erp.models import Account, FiscalPeriod, JournalEntry, JournalLine, TenantSettings
from polyflow.erp.models.account import DEBIT_NORMAL
from polyflow.kit.errors import Conflict, InvalidInput, NotFound

CENT = Decimal("0.01")
# Books are kept in the company's local date (WIB): "today" must not be yesterday until 07:00.
JAKARTA = ZoneInfo("Asia/Jakarta")
ZERO = Decimal("0.00")

# Document types and what they are; the number is "<type>/<year>/<5 digits>".
DOC_TYPES = {"JV": "manual journal", "GR": "goods receipt", "GI": "goods issue", "TRF": "stock transfer",
             "ADJ": "stock adjustment"}


@dataclass(frozen=True)
class Line:
    account: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    memo: str | None = None


def today() -> date:
    """Today's date in Jakarta (the default posting and report date)."""
    return datetime.now(JAKARTA).date()


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


async def next_document_number(session: AsyncSession, doc_type: str, on: date) -> str:
    """`JV/2026/00001`: gap-free and unique per type and year (see repository.next_number)."""
    if doc_type not in DOC_TYPES:
        raise ValueError(f"unknown document type {doc_type}")
    n = await repository.next_number(session, doc_type, on.year)
    return f"{doc_type}/{on.year}/{n:05d}"


async def ensure_period_open(session: AsyncSession, on: date) -> None:
    """409 if the month of `on` is locked. Share-locks the period row until commit, so locking a period
    waits for postings already under way and a posting never slips in after the lock."""
    period = await repository.period_for_posting(session, on.year, on.month)
    if period.is_locked:
        raise Conflict(f"fiscal period {on.year}-{on.month:02d} is locked; post into an open period")


async def post_journal(session: AsyncSession, *, doc_type: str, entry_date: date, description: str,
                       lines: list[Line], reference: str | None = None, source: str = "manual",
                       number: str | None = None, created_by: uuid.UUID | None = None) -> JournalEntry:
    """Validate and post one balanced entry (in the caller's transaction)."""
    if len(lines) < 2:
        raise InvalidInput("a journal entry needs at least two lines")
    debit = credit = ZERO
    for i, line in enumerate(lines, 1):
        d, c = money(line.debit), money(line.credit)
        if d < 0 or c < 0:
            raise InvalidInput(f"line {i}: amounts cannot be negative")
        if (d == 0) == (c == 0):
            raise InvalidInput(f"line {i}: give either a debit or a credit (one of them, not zero)")
        debit += d
        credit += c
    if debit != credit:
        raise InvalidInput(f"journal does not balance: debit {debit} <> credit {credit}")
    codes = {line.account for line in lines}
    accounts = await repository.accounts_by_code(session, codes)
    unknown = sorted(codes - accounts.keys())
    if unknown:
        raise InvalidInput(f"unknown account(s): {', '.join(unknown)}")
    if source == "manual":
        kept = sorted(codes & set(INVENTORY_ACCOUNTS))
        if kept:
            raise InvalidInput(f"account(s) {', '.join(kept)} are kept by inventory; post a stock movement "
                               "or adjustment instead")
    inactive = sorted(c for c, a in accounts.items() if not a.is_active)
    if inactive:
        raise InvalidInput(f"inactive account(s): {', '.join(inactive)}")
    await ensure_period_open(session, entry_date)
    entry = JournalEntry(
        number=number or await next_document_number(session, doc_type, entry_date), doc_type=doc_type,
        entry_date=entry_date, description=description, reference=reference, source=source, created_by=created_by,
        lines=[JournalLine(account_code=line.account, debit=money(line.debit), credit=money(line.credit),
                           memo=line.memo) for line in lines],
    )
    session.add(entry)
    await session.flush()
    return entry


async def create_manual_journal(session: AsyncSession, data: JournalIn) -> JournalEntry:
    """A manual journal (JV/<year>/<n>)."""
    return await post_journal(
        session, doc_type="JV", entry_date=data.entry_date, description=data.description, reference=data.reference,
        lines=[Line(line.account.upper(), line.debit, line.credit, line.memo) for line in data.lines],
    )


async def get_entry(session: AsyncSession, entry_id: uuid.UUID) -> JournalEntry:
    entry = await repository.get_entry(session, entry_id)
    if entry is None:
        raise NotFound("journal entry not found")
    return entry


async def list_entries(session: AsyncSession, **filters):
    return await repository.list_entries(session, **filters)


# -- accounts ------------------------------------------------------------------------------------


async def list_accounts(session: AsyncSession, **filters):
    return await repository.list_accounts(session, **filters)


async def get_account(session: AsyncSession, code: str) -> Account:
    account = await session.get(Account, code.upper())
    if account is None:
        raise NotFound(f"account {code} not found")
    return account


async def create_account(session: AsyncSession, data: AccountIn) -> Account:
    """Add an account to the chart; a code in use is a 409."""
    account = Account(code=data.code, name=data.name, type=data.type)
    session.add(account)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"account code {data.code} is already used") from None
    await session.refresh(account)
    return account


async def update_account(session: AsyncSession, code: str, patch: AccountPatch) -> Account:
    """Rename or (de)activate an account (its type and code are fixed once it may have postings)."""
    account = await get_account(session, code)
    for key, value in patch.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(account, key, value)
    await session.flush()
    await session.refresh(account)
    return account


# -- periods -------------------------------------------------------------------------------------


def _check_month(year: int, month: int) -> None:
    if not (1 <= month <= 12) or not (1900 <= year <= 9999):
        raise InvalidInput("no such period (month 1-12, year 1900-9999)")


async def set_period_lock(session: AsyncSession, year: int, month: int, locked: bool) -> FiscalPeriod:
    """Lock or reopen a month. Waits for postings into it that are under way (they hold a share lock)."""
    _check_month(year, month)
    period = await repository.period_for_update(session, year, month)
    period.is_locked = locked
    period.locked_at = datetime.now(timezone.utc) if locked else None
    await session.flush()
    return period


async def list_periods(session: AsyncSession, year: int | None) -> list[FiscalPeriod]:
    return await repository.list_periods(session, year)


# -- settings ------------------------------------------------------------------------------------


async def get_settings(session: AsyncSession) -> TenantSettings:
    return await repository.get_settings(session)


async def update_settings(session: AsyncSession, patch: SettingsPatch) -> TenantSettings:
    settings = await repository.get_settings(session)
    for key, value in patch.model_dump(exclude_unset=True).items():
        setattr(settings, key, value)
    await session.flush()
    await session.refresh(settings)
    return settings


# -- reports -------------------------------------------------------------------------------------


def _natural(account_type: str, debit_minus_credit: Decimal) -> Decimal:
    return debit_minus_credit if account_type in DEBIT_NORMAL else -debit_minus_credit


async def trial_balance(session: AsyncSession, date_to: date, date_from: date | None = None,
                        include_zero: bool = False) -> TrialBalance:
    """Per account: debit/credit net balance over the dates (all history up to `date_to` by default).
    The balances sum to zero because every entry balances."""
    rows = []
    total_d = total_c = ZERO
    for account, d, c in await repository.sums_by_account(session, date_from, date_to):
        balance = money(d - c)
        if balance == 0 and not include_zero and d == 0:
            continue
        rd, rc = (balance, ZERO) if balance >= 0 else (ZERO, -balance)
        total_d += rd
        total_c += rc
        rows.append(TrialBalanceRow(code=account.code, name=account.name, type=account.type, debit=rd, credit=rc,
                                    balance=balance))
    return TrialBalance(date_from=date_from, date_to=date_to, rows=rows, total_debit=total_d, total_credit=total_c)


async def general_ledger(session: AsyncSession, code: str, date_to: date, date_from: date | None = None) -> GeneralLedger:
    """An account's lines with the running balance on its normal side (debit for assets and expenses)."""
    account = await get_account(session, code)
    opening = _natural(account.type, money(await repository.opening(session, account.code, date_from))) \
        if date_from else ZERO
    running = opening
    lines = []
    for eid, number, on, description, memo, d, c in await repository.ledger_lines(session, account.code,
                                                                                   date_from, date_to):
        running += _natural(account.type, d - c)
        lines.append(LedgerLine(entry_id=eid, number=number, entry_date=on, description=description, memo=memo,
                                debit=d, credit=c, balance=running))
    return GeneralLedger(account=account, date_from=date_from, date_to=date_to, opening_balance=opening,
                         lines=lines, closing_balance=running)


async def profit_and_loss(session: AsyncSession, date_from: date, date_to: date) -> ProfitAndLoss:
    """Revenue and expenses over the dates and the net profit."""
    if date_from > date_to:
        raise InvalidInput("date_from is after date_to")
    revenue, expenses = [], []
    for account, d, c in await repository.sums_by_account(session, date_from, date_to):
        if d == 0 and c == 0:
            continue
        if account.type == "revenue":
            revenue.append(StatementRow(code=account.code, name=account.name, amount=money(c - d)))
        elif account.type == "expense":
            expenses.append(StatementRow(code=account.code, name=account.name, amount=money(d - c)))
    total_r = sum((r.amount for r in revenue), ZERO)
    total_e = sum((r.amount for r in expenses), ZERO)
    return ProfitAndLoss(date_from=date_from, date_to=date_to, revenue=revenue, expenses=expenses,
                         total_revenue=total_r, total_expenses=total_e, net_profit=total_r - total_e)


async def balance_sheet(session: AsyncSession, as_of: date) -> BalanceSheet:
    """Assets = liabilities + equity, where equity includes the earnings not yet closed to Laba Ditahan."""
    groups: dict[str, list[StatementRow]] = {"asset": [], "liability": [], "equity": []}
    earnings = ZERO
    for account, d, c in await repository.sums_by_account(session, None, as_of):
        if d == 0 and c == 0:
            continue
        if account.type in ("revenue", "expense"):
            earnings += money(c - d)
            continue
        groups[account.type].append(
            StatementRow(code=account.code, name=account.name, amount=_natural(account.type, money(d - c))))
    total = {k: sum((r.amount for r in v), ZERO) for k, v in groups.items()}
    return BalanceSheet(as_of=as_of, assets=groups["asset"], liabilities=groups["liability"], equity=groups["equity"],
                        current_earnings=earnings, total_assets=total["asset"], total_liabilities=total["liability"],
                        total_equity=total["equity"] + earnings)
