"""Accounting reports: trial balance, general ledger, profit and loss, balance sheet. Read-only; every
range is checked (from <= to)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import repository
from polyflow.erp.accounting.schemas import (
    BalanceSheet, GeneralLedger, LedgerLine, ProfitAndLoss, StatementRow, TrialBalance, TrialBalanceRow,
)
from polyflow.erp.models import Account
from polyflow.erp.models.account import DEBIT_NORMAL
from polyflow.kit.errors import InvalidInput, NotFound
from polyflow.kit.money import money
from polyflow.kit.pagination import MAX_PAGE_SIZE

ZERO = Decimal("0.00")


def check_range(date_from: date | None, date_to: date | None) -> None:
    """422 when a date range runs backwards."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(f"date_from ({date_from}) is after date_to ({date_to})")


def _natural(account_type: str, debit_minus_credit: Decimal) -> Decimal:
    return debit_minus_credit if account_type in DEBIT_NORMAL else -debit_minus_credit


async def trial_balance(session: AsyncSession, date_to: date, date_from: date | None = None,
                        include_zero: bool = False) -> TrialBalance:
    """Per account: debit/credit net balance over the dates (all history up to `date_to` by default).
    The balances sum to zero because every entry balances."""
    check_range(date_from, date_to)
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


async def general_ledger(session: AsyncSession, code: str, date_to: date, date_from: date | None = None, *,
                         limit: int = MAX_PAGE_SIZE, cursor: str | None = None) -> GeneralLedger:
    """A page of an account's lines with the running balance on its normal side (debit for assets and
    expenses); opening and closing balances are those of the whole period."""
    check_range(date_from, date_to)
    account = await session.get(Account, code.upper())
    if account is None:
        raise NotFound(f"account {code} not found")
    rows, opening_sum, closing_sum, next_cursor = await repository.ledger_page(
        session, account.code, date_from, date_to, limit=limit, cursor=cursor)
    lines = [LedgerLine(entry_id=eid, number=number, entry_date=on, description=description, memo=memo, debit=d,
                        credit=c, balance=_natural(account.type, money(running)))
             for eid, number, on, description, memo, d, c, _line_id, running in rows]
    return GeneralLedger(account=account, date_from=date_from, date_to=date_to,
                         opening_balance=_natural(account.type, money(opening_sum)), lines=lines,
                         closing_balance=_natural(account.type, money(closing_sum)), limit=limit,
                         next_cursor=next_cursor)


async def profit_and_loss(session: AsyncSession, date_from: date, date_to: date) -> ProfitAndLoss:
    """Revenue and expenses over the dates and the net profit (year-end closing entries left out, so a
    closed year still shows its result)."""
    check_range(date_from, date_to)
    closing = await _closing_sums(session, date_from, date_to)
    revenue, expenses = [], []
    for account, d, c in await repository.sums_by_account(session, date_from, date_to):
        cd, cc = closing.get(account.code, (ZERO, ZERO))
        d, c = d - cd, c - cc
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


YEAR_ENDS_ONE_BY_ONE = 5  # up to this many 31 Decembers in a range: one one-day read each


async def _closing_sums(session: AsyncSession, date_from: date, date_to: date) -> dict:
    """The year-end closing entries' sums over the dates. They are dated 31 December (close_year), so only
    those days are read: asked over the whole range, the query filtered every entry of it by its source
    (no index on it: 70 ms for a year of 130 k entries; a year-to-date P&L holds no 31 December at all)."""
    ends = [date(y, 12, 31) for y in range(date_from.year, date_to.year + 1) if date_from <= date(y, 12, 31) <= date_to]
    if len(ends) > YEAR_ENDS_ONE_BY_ONE:
        return await repository.closing_sums(session, date_from, date_to)
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for end in ends:
        for code, (d, c) in (await repository.closing_sums(session, end, end)).items():
            od, oc = out.get(code, (ZERO, ZERO))
            out[code] = (od + d, oc + c)
    return out


def _earnings(rows) -> Decimal:
    return sum((money(c - d) for account, d, c in rows if account.type in ("revenue", "expense")), ZERO)


async def balance_sheet(session: AsyncSession, as_of: date) -> BalanceSheet:
    """Assets = liabilities + equity. Equity shows the current (calendar) year's earnings not yet closed;
    earlier years' results sit in Laba Ditahan once closed, and under `prior_years_unclosed_earnings`
    until then."""
    groups: dict[str, list[StatementRow]] = {"asset": [], "liability": [], "equity": []}
    rows = await repository.sums_by_account(session, None, as_of)
    unclosed = _earnings(rows)  # closing entries included: what no close has moved to 3200 yet
    current = _earnings(await repository.sums_by_account(session, date(as_of.year, 1, 1), as_of))
    for account, d, c in rows:
        if (d == 0 and c == 0) or account.type in ("revenue", "expense"):
            continue
        groups[account.type].append(
            StatementRow(code=account.code, name=account.name, amount=_natural(account.type, money(d - c))))
    total = {k: sum((r.amount for r in v), ZERO) for k, v in groups.items()}
    return BalanceSheet(as_of=as_of, assets=groups["asset"], liabilities=groups["liability"], equity=groups["equity"],
                        current_earnings=current, prior_years_unclosed_earnings=unclosed - current,
                        total_assets=total["asset"], total_liabilities=total["liability"],
                        total_equity=total["equity"] + unclosed)
