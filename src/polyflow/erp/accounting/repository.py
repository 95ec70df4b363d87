"""All accounting queries."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Date, case, cast, delete, func, select, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Account, DocumentCounter, FiscalPeriod, JournalEntry, JournalLine, TenantSettings
from polyflow.erp.models.journal import ClosedMonthBalance
from polyflow.kit.db import escape_like
from polyflow.kit.pagination import MAX_PAGE_LINES, after, amount, bigint, decode_cursor, encode_cursor


async def next_number(session: AsyncSession, doc_type: str, year: int) -> int:
    """The next number of (type, year). The upsert keeps the counter row locked until the transaction
    ends: a concurrent document waits, a rolled-back one gives its number back (gap-free)."""
    stmt = (
        insert(DocumentCounter).values(doc_type=doc_type, year=year, last_number=1)
        .on_conflict_do_update(index_elements=["doc_type", "year"],
                               set_={"last_number": DocumentCounter.last_number + 1})
        .returning(DocumentCounter.last_number)
    )
    return (await session.execute(stmt)).scalar_one()


async def period_for_posting(session: AsyncSession, year: int, month: int) -> FiscalPeriod:
    """The period row, created if missing, share-locked so a concurrent lock waits for this posting."""
    await session.execute(insert(FiscalPeriod).values(year=year, month=month).on_conflict_do_nothing())
    stmt = select(FiscalPeriod).where(FiscalPeriod.year == year, FiscalPeriod.month == month).with_for_update(read=True)
    return (await session.execute(stmt)).scalar_one()


async def period_for_update(session: AsyncSession, year: int, month: int) -> FiscalPeriod:
    await session.execute(insert(FiscalPeriod).values(year=year, month=month).on_conflict_do_nothing())
    stmt = select(FiscalPeriod).where(FiscalPeriod.year == year, FiscalPeriod.month == month).with_for_update()
    return (await session.execute(stmt)).scalar_one()


async def list_periods(session: AsyncSession, year: int | None) -> list[FiscalPeriod]:
    stmt = select(FiscalPeriod).order_by(FiscalPeriod.year, FiscalPeriod.month)
    if year is not None:
        stmt = stmt.where(FiscalPeriod.year == year)
    return list((await session.execute(stmt)).scalars())


async def accounts_by_code(session: AsyncSession, codes: set[str]) -> dict[str, Account]:
    rows = await session.execute(select(Account).where(Account.code.in_(codes)))
    return {a.code: a for a in rows.scalars()}


async def list_accounts(session: AsyncSession, *, q: str | None, type: str | None, active: bool | None,
                        sort: str, limit: int, offset: int) -> tuple[list[Account], int]:
    filters = []
    if q:
        like = "%" + escape_like(q) + "%"
        filters.append(Account.code.ilike(like) | Account.name.ilike(like))
    if type:
        filters.append(Account.type == type)
    if active is not None:
        filters.append(Account.is_active == active)
    order = {"code": Account.code, "-code": Account.code.desc(), "name": Account.name, "-name": Account.name.desc()}[sort]
    total = func.count().over().label("total")
    rows = (await session.execute(select(Account, total).where(*filters).order_by(order, Account.code)
                                  .limit(limit).offset(offset))).all()
    if rows:
        return [r[0] for r in rows], rows[0][1]
    return [], (await session.execute(select(func.count()).select_from(Account).where(*filters))).scalar_one()


# Sort -> (key columns, descending). Every key ends with a unique column (the entry number), so a cursor
# on it never repeats or skips an entry, even among many sharing a date.
_ENTRY_KEYS = {
    "date": ((JournalEntry.entry_date, JournalEntry.number), False),
    "-date": ((JournalEntry.entry_date, JournalEntry.number), True),
    "number": ((JournalEntry.number,), False),
    "-number": ((JournalEntry.number,), True),
}
_ENTRY_KEY_TYPES = {"date": (date.fromisoformat, str), "-date": (date.fromisoformat, str), "number": (str,),
                    "-number": (str,)}


async def list_entries(session: AsyncSession, *, date_from: date | None, date_to: date | None, account: str | None,
                       doc_type: str | None, q: str | None, sort: str, limit: int, offset: int = 0,
                       cursor: str | None = None) -> tuple[list[JournalEntry], int | None, str | None]:
    """A page of entries (lines loaded with them): (entries, total or None on a cursor page, next cursor)."""
    filters = []
    if date_from:
        filters.append(JournalEntry.entry_date >= date_from)
    if date_to:
        filters.append(JournalEntry.entry_date <= date_to)
    if doc_type:
        filters.append(JournalEntry.doc_type == doc_type)
    if account:
        filters.append(JournalEntry.id.in_(select(JournalLine.entry_id).where(JournalLine.account_code == account)))
    if q:
        like = "%" + escape_like(q) + "%"
        filters.append(JournalEntry.number.ilike(like) | JournalEntry.description.ilike(like)
                       | JournalEntry.reference.ilike(like))
    columns, descending = _ENTRY_KEYS[sort]
    page = list(filters)
    if cursor is not None:
        page.append(after(columns, decode_cursor(cursor, "je" + sort, _ENTRY_KEY_TYPES[sort]), descending=descending))
    order = [c.desc() for c in columns] if descending else list(columns)
    # Keys and line counts first (one row more than asked tells whether there is a next page): a page also
    # stops before the entry that would take it past MAX_PAGE_LINES lines, so 200 entries of 500 lines
    # each (a second of serialisation on the event loop) can never be one answer.
    posted = select(func.count()).where(JournalLine.entry_id == JournalEntry.id).scalar_subquery()
    # A posted draft's draft_lines is JSON null (not SQL NULL): jsonb_array_length of it is an error, so only
    # drafts are asked for their length.
    lines = posted + case((JournalEntry.status == "draft", func.jsonb_array_length(JournalEntry.draft_lines)), else_=0)
    keys = (await session.execute(select(JournalEntry.id, lines, *columns).where(*page).order_by(*order)
                                  .limit(limit + 1).offset(offset))).all()
    kept, budget = [], MAX_PAGE_LINES
    for row in keys[:limit]:
        if kept and row[1] > budget:
            break
        kept.append(row)
        budget -= row[1]
    next_cursor = encode_cursor("je" + sort, list(kept[-1][2:])) if len(keys) > len(kept) else None
    by_id = {e.id: e for e in (await session.execute(
        select(JournalEntry).where(JournalEntry.id.in_([r[0] for r in kept])))).scalars()} if kept else {}
    rows = [by_id[r[0]] for r in kept]
    total = None
    if cursor is None:
        total = (await session.execute(select(func.count()).select_from(JournalEntry).where(*filters))).scalar_one()
    return rows, total, next_cursor


async def get_entry(session: AsyncSession, entry_id: uuid.UUID) -> JournalEntry | None:
    return await session.get(JournalEntry, entry_id)


# -- sums over dates: closed months from closed_month_balances, open days from the lines ---------------
def _next_month(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1)


async def _closed_span(session: AsyncSession, date_from: date | None, date_to: date) -> tuple[date | None, date] | None:
    """The whole closed months within the dates, as (first month or None for "from the start", first day
    after the last one); None when no closed month lies within them. closed_month_balances holds every month
    with lines before its last month, so "from the start" needs no lines before it."""
    last = (await session.execute(select(func.max(ClosedMonthBalance.month)))).scalar()
    if last is None:
        return None
    lo = None if date_from is None else (date_from if date_from.day == 1 else _next_month(date_from))
    after_last = _next_month(last)
    hi = after_last if date_to >= after_last - timedelta(days=1) else (date_to + timedelta(days=1)).replace(day=1)
    return None if lo is not None and lo >= hi else (lo, hi)


async def _sums(session: AsyncSession, date_from: date | None, date_to: date, codes: list[str] | None = None):
    """A subquery (account_code, d, c): sums of debits and credits per account over the dates (inclusive),
    reading the closed months' sums and only the other days' lines (both answered from indexes)."""
    span = await _closed_span(session, date_from, date_to)
    # The open days as plain date ranges (one index range scan each; an OR of two ranges scanned all between).
    ranges = [(date_from, date_to)]
    if span is not None:
        lo, hi = span
        ranges = [(hi, date_to)] + ([] if lo is None or date_from >= lo else [(date_from, lo - timedelta(days=1))])
    parts = []
    for start, end in ranges:
        lines = select(JournalLine.account_code.label("account_code"), JournalLine.debit.label("d"),
                       JournalLine.credit.label("c")).where(JournalLine.line_date <= end)
        if start is not None:
            lines = lines.where(JournalLine.line_date >= start)
        if codes is not None:
            lines = lines.where(JournalLine.account_code.in_(codes))
        parts.append(lines)
    if span is not None:
        lo, hi = span
        closed = select(ClosedMonthBalance.account_code, ClosedMonthBalance.debit, ClosedMonthBalance.credit).where(
            ClosedMonthBalance.month < hi, *([] if lo is None else [ClosedMonthBalance.month >= lo]))
        if codes is not None:
            closed = closed.where(ClosedMonthBalance.account_code.in_(codes))
        parts.append(closed)
    rows = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    return (select(rows.c.account_code, func.sum(rows.c.d).label("d"), func.sum(rows.c.c).label("c"))
            .group_by(rows.c.account_code).subquery())


async def sums_by_account(session: AsyncSession, date_from: date | None, date_to: date):
    """(account, total debit, total credit) per account over the dates (every account, zeros included)."""
    sums = await _sums(session, date_from, date_to)
    stmt = (select(Account, func.coalesce(sums.c.d, 0), func.coalesce(sums.c.c, 0))
            .outerjoin(sums, sums.c.account_code == Account.code).order_by(Account.code))
    return (await session.execute(stmt)).all()


async def _balance(session: AsyncSession, codes: list[str], date_from: date | None, date_to: date):
    sums = await _sums(session, date_from, date_to, codes)
    return (await session.execute(select(func.coalesce(func.sum(sums.c.d - sums.c.c), 0)))).scalar_one()


async def account_balance(session: AsyncSession, codes: list[str], date_to: date | None = None):
    """sum(debit - credit) over accounts up to a date (inclusive)."""
    return await _balance(session, codes, None, date_to or date.max)


async def sync_closed_months(session: AsyncSession, closed: date | None) -> None:
    """Make closed_month_balances hold exactly the months lying entirely on or before `closed` (the new
    books-closed-through date): drop those no longer closed, sum the lines of those newly closed. Called
    with the settings row locked, so no posting is under way."""
    bound = None if closed is None else (closed + timedelta(days=1)).replace(day=1)
    await session.execute(delete(ClosedMonthBalance) if bound is None
                          else delete(ClosedMonthBalance).where(ClosedMonthBalance.month >= bound))
    if bound is None:
        return
    done = (await session.execute(select(func.max(ClosedMonthBalance.month)))).scalar()
    month = cast(func.date_trunc("month", JournalLine.line_date), Date)
    cond = [JournalLine.line_date < bound]
    if done is not None:
        cond.append(JournalLine.line_date >= _next_month(done))
    rows = (select(month, JournalLine.account_code, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
            .where(*cond).group_by(month, JournalLine.account_code))
    await session.execute(insert(ClosedMonthBalance).from_select(
        ["month", "account_code", "debit", "credit"], rows))


# The line's copy of the entry date leads (revision 0012): the account's lines come in order from its index,
# where the entry's date sent the planner through every entry since the first day.
_LEDGER_KEY = (JournalLine.line_date, JournalEntry.number, JournalLine.id)
# Cursor: the last line's key, then sum(debit - credit) of the period's lines up to it, and the period's
# opening and closing sums (computed once, on the first page). Carrying the sums makes every later page one
# index range scan: a running sum recomputed per page costs a sort of the whole account (0.2 s for 50k lines).
_LEDGER_KEY_TYPES = (date.fromisoformat, str, bigint, amount, amount, amount)


async def ledger_page(session: AsyncSession, code: str, date_from: date | None, date_to: date, *, limit: int,
                      cursor: str | None):
    """A page of an account's lines in ledger order: (rows, opening, closing, next cursor). Each row ends with
    sum(debit - credit) from the start of the books up to and including it; opening and closing are that
    sum before and at the end of the period (opening 0 without ``date_from``)."""
    # The line's own date (revision 0012): the account's lines of the period are one index range.
    cond = [JournalLine.account_code == code, JournalLine.line_date <= date_to]
    if date_from is not None:
        cond.append(JournalLine.line_date >= date_from)
    tag = f"gl{code}:{date_from}:{date_to}"
    if cursor is None:
        opening_sum = await opening(session, code, date_from) if date_from is not None else Decimal(0)
        closing_sum = opening_sum + await range_sum(session, code, date_from, date_to)
        running = opening_sum
    else:
        *key, running, opening_sum, closing_sum = decode_cursor(cursor, tag, _LEDGER_KEY_TYPES)
        cond.append(after(_LEDGER_KEY, key))
    stmt = (select(JournalEntry.id, JournalEntry.number, JournalEntry.entry_date, JournalEntry.description,
                   JournalLine.memo, JournalLine.debit, JournalLine.credit, JournalLine.id)
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id).where(*cond).order_by(*_LEDGER_KEY)
            .limit(limit + 1))
    rows = []
    fetched = (await session.execute(stmt)).all()
    for row in fetched[:limit]:
        running += row.debit - row.credit
        rows.append((*row, running))
    next_cursor = None
    if len(fetched) > limit:
        last = rows[-1]
        next_cursor = encode_cursor(tag, [last[2], last[1], last[7], last[8], opening_sum, closing_sum])
    return rows, opening_sum, closing_sum, next_cursor


async def range_sum(session: AsyncSession, code: str, date_from: date | None, date_to: date):
    """sum(debit - credit) of an account's lines within the dates."""
    return await _balance(session, [code], date_from, date_to)


async def opening(session: AsyncSession, code: str, before: date):
    """sum(debit - credit) of an account's lines before a date."""
    return await _balance(session, [code], None, before - timedelta(days=1))


async def get_settings(session: AsyncSession) -> TenantSettings:
    await session.execute(insert(TenantSettings).values(id=1).on_conflict_do_nothing())
    return (await session.execute(select(TenantSettings).where(TenantSettings.id == 1))).scalar_one()


# -- ledger controls (lock date, drafts, reversals, closing) --------------------------------------


async def posting_settings(session: AsyncSession):
    """(books_closed_through, time_zone), share-locking the settings row until commit so that the lock
    date cannot move while this posting is under way. (None, None) before the row is seeded."""
    stmt = (select(TenantSettings.books_closed_through, TenantSettings.time_zone)
            .where(TenantSettings.id == 1).with_for_update(read=True))
    row = (await session.execute(stmt)).one_or_none()
    return tuple(row) if row is not None else (None, None)


async def time_zone(session: AsyncSession) -> str | None:
    return (await session.execute(select(TenantSettings.time_zone).where(TenantSettings.id == 1))).scalar()


async def settings_for_update(session: AsyncSession) -> TenantSettings:
    await session.execute(insert(TenantSettings).values(id=1).on_conflict_do_nothing())
    stmt = select(TenantSettings).where(TenantSettings.id == 1).with_for_update()
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()


async def entry_for_update(session: AsyncSession, entry_id: uuid.UUID) -> JournalEntry | None:
    """The entry row locked until commit (two reversals or postings of one entry run one after the other)."""
    stmt = select(JournalEntry).where(JournalEntry.id == entry_id).with_for_update(of=JournalEntry)
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()


async def reversal_of(session: AsyncSession, entry_id: uuid.UUID) -> JournalEntry | None:
    return (await session.execute(select(JournalEntry).where(JournalEntry.reversal_of_id == entry_id))).scalar()


async def closing_sums(session: AsyncSession, date_from: date | None, date_to: date) -> dict:
    """{account: (debit, credit)} of the year-end closing entries over the dates."""
    cond = [JournalEntry.entry_date <= date_to, JournalEntry.source == "closing"]
    if date_from is not None:
        cond.append(JournalEntry.entry_date >= date_from)
    stmt = (select(JournalLine.account_code, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id).where(*cond)
            .group_by(JournalLine.account_code))
    return {code: (d, c) for code, d, c in (await session.execute(stmt)).all()}


async def next_numbers(session: AsyncSession, doc_type: str, year: int, count: int) -> int:
    """Take `count` numbers of (type, year) at once; returns the last one (same locking as next_number)."""
    stmt = (
        insert(DocumentCounter).values(doc_type=doc_type, year=year, last_number=count)
        .on_conflict_do_update(index_elements=["doc_type", "year"],
                               set_={"last_number": DocumentCounter.last_number + count})
        .returning(DocumentCounter.last_number)
    )
    return (await session.execute(stmt)).scalar_one()
