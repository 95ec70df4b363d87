"""Accounting rules: posting balanced journals into open periods, numbering, period locks, the lock
date and posting window, drafts, reversals, the year-end close, reports.

`post_journal` is the one way into the ledger; inventory calls it inside the stock movement's own
transaction so a movement and its journal commit (or fail) together. Every posting passes
`ensure_postable`: the posting window (settings `posting_date_min`, `posting_future_days`; stock may not
be dated after the company's today), the books-closed-through date and the monthly locks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import repository
# The reports live in their own file; routes and other modules reach them (and check_range) through here.
from polyflow.erp.accounting.reports import (  # noqa: F401
    balance_sheet, check_range, general_ledger, profit_and_loss, trial_balance,
)
from polyflow.erp.accounting.schemas import AccountIn, AccountPatch, JournalIn, SettingsPatch
from polyflow.erp.accounting.seeds import INVENTORY_ACCOUNTS, LABA_DITAHAN
from polyflow.erp.models import Account, FiscalPeriod, JournalEntry, JournalLine, TenantSettings
from polyflow.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from polyflow.kit.money import CENT, money  # noqa: F401  (the one rounding rule; re-exported for callers)

# Books are kept in the company's local date (WIB unless the tenant says otherwise): "today" must not be
# yesterday until 07:00.
JAKARTA = ZoneInfo("Asia/Jakarta")
ZERO = Decimal("0.00")

# Document types and what they are; the number is "<type>/<year>/<5 digits>".
DOC_TYPES = {"JV": "manual journal", "GR": "goods receipt", "GI": "goods issue", "TRF": "stock transfer",
             "ADJ": "stock adjustment", "RCS": "stock re-costing", "CLS": "year-end close"}
# Sales documents (erp/sales): numbered here like every other document.
DOC_TYPES.update({"QT": "quotation", "SO": "sales order", "DO": "delivery (surat jalan)", "SI": "sales invoice",
                  "SR": "sales return", "CN": "credit note"})
# Sources whose entries a user may reverse: the others are reversed by their own documents.
REVERSIBLE = ("manual", "reversal")


@dataclass(frozen=True)
class PostingWindow:
    """Earliest posting date, and how many days after today a journal may be dated."""

    min_date: date = date(2000, 1, 1)
    future_days: int = 366


_window: PostingWindow | None = None


def configure_posting(settings) -> None:
    """Take the posting window from the settings (called when the tenant app is built)."""
    global _window
    _window = PostingWindow(settings.posting_date_min, settings.posting_future_days)


def posting_window() -> PostingWindow:
    """The configured window; a process that posts without building the app (a worker, a script) reads
    the same POLYFLOW_POSTING_* variables itself."""
    global _window
    if _window is None:
        from pydantic import Field
        from pydantic_settings import BaseSettings, SettingsConfigDict

        from polyflow.config import Settings

        class _FromEnv(BaseSettings):  # the two knobs only: nothing else (no secret) is needed for them
            model_config = SettingsConfigDict(env_prefix="POLYFLOW_", extra="ignore")
            posting_date_min: date = Settings.model_fields["posting_date_min"].default
            posting_future_days: int = Field(Settings.model_fields["posting_future_days"].default, ge=0, le=3660)

        env = _FromEnv()
        _window = PostingWindow(env.posting_date_min, env.posting_future_days)
    return _window


@dataclass(frozen=True)
class Line:
    account: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    memo: str | None = None


def today() -> date:
    """Today's date in Jakarta (the default report date)."""
    return datetime.now(JAKARTA).date()


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else JAKARTA
    except (ZoneInfoNotFoundError, ValueError):
        return JAKARTA


async def local_now(session: AsyncSession) -> datetime:
    """Now in the company's time zone (tenant settings; Asia/Jakarta by default)."""
    return datetime.now(_zone(await repository.time_zone(session)))


async def local_today(session: AsyncSession) -> date:
    """Today in the company's time zone (tenant settings; Asia/Jakarta by default)."""
    return (await local_now(session)).date()


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


async def ensure_postable(session: AsyncSession, on: date, *, stock: bool = False) -> None:
    """Refuse a posting date outside the window (422), on or before the books-closed-through date (409)
    or in a locked month (409). Share-locks the settings row until commit, so moving the lock date waits
    for postings under way (and a posting never lands behind a lock date already reported)."""
    window = posting_window()
    if on < window.min_date:
        raise InvalidInput(f"posting date {on} is before {window.min_date}, the earliest the books accept")
    closed, zone = await repository.posting_settings(session)
    local = datetime.now(_zone(zone)).date()
    if stock and on > local:
        raise InvalidInput(f"stock cannot be posted on a future date ({on}; today is {local}): post it when "
                           "the goods move")
    if on > local + timedelta(days=window.future_days):
        raise InvalidInput(f"posting date {on} is more than {window.future_days} days ahead")
    if closed is not None and on <= closed:
        raise Conflict(f"the books are closed through {closed}; post on a later date")
    await ensure_period_open(session, on)


def _rounded(lines: list[Line]) -> list[Line]:
    """The lines rounded to the cent, or 422 unless balanced with one side each."""
    if len(lines) < 2:
        raise InvalidInput("a journal entry needs at least two lines")
    debit = credit = ZERO
    out = []
    for i, line in enumerate(lines, 1):
        d, c = money(line.debit), money(line.credit)
        if d < 0 or c < 0:
            raise InvalidInput(f"line {i}: amounts cannot be negative")
        if (d == 0) == (c == 0):
            raise InvalidInput(f"line {i}: give either a debit or a credit (one of them, not zero)")
        debit += d
        credit += c
        out.append(Line(line.account, d, c, line.memo))
    if debit != credit:
        raise InvalidInput(f"journal does not balance: debit {debit} <> credit {credit}")
    return out


async def _check_accounts(session: AsyncSession, codes: set[str], source: str) -> None:
    """422 for unknown or inactive accounts, and for a manual posting to the inventory accounts."""
    accounts = await repository.accounts_by_code(session, codes)
    unknown = sorted(codes - accounts.keys())
    if unknown:
        raise InvalidInput(f"unknown account(s): {', '.join(unknown)}")
    if source in REVERSIBLE:
        kept = sorted(codes & set(INVENTORY_ACCOUNTS))
        if kept:
            raise InvalidInput(f"account(s) {', '.join(kept)} are kept by inventory; post a stock movement "
                               "or adjustment instead")
    inactive = sorted(c for c, a in accounts.items() if not a.is_active)
    if inactive:
        raise InvalidInput(f"inactive account(s): {', '.join(inactive)}")


async def _checked_lines(session: AsyncSession, lines: list[Line], source: str) -> list[Line]:
    lines = _rounded(lines)
    await _check_accounts(session, {line.account for line in lines}, source)
    return lines


def _line_rows(lines: list[Line]) -> list[JournalLine]:
    return [JournalLine(account_code=line.account, debit=line.debit, credit=line.credit, memo=line.memo)
            for line in lines]


async def post_journal(session: AsyncSession, *, doc_type: str, entry_date: date, description: str,
                       lines: list[Line], reference: str | None = None, source: str = "manual",
                       number: str | None = None, created_by: uuid.UUID | None = None,
                       reversal_of_id: uuid.UUID | None = None) -> JournalEntry:
    """Validate and post one balanced entry (in the caller's transaction)."""
    lines = await _checked_lines(session, lines, source)
    await ensure_postable(session, entry_date)
    entry = JournalEntry(
        number=number or await next_document_number(session, doc_type, entry_date), doc_type=doc_type,
        status="posted", entry_date=entry_date, description=description, reference=reference, source=source,
        created_by=created_by, reversal_of_id=reversal_of_id, lines=_line_rows(lines),
    )
    session.add(entry)
    await session.flush()
    return entry


async def post_journals(session: AsyncSession, *, doc_type: str, source: str,
                        entries: list[tuple[date, str, list[Line]]], reference: str | None = None,
                        created_by: uuid.UUID | None = None) -> list[JournalEntry]:
    """Post many entries of one type at once, each (date, description, lines), with the checks of
    `post_journal` made once for all (accounts, window, lock date, each month touched) and the numbers
    taken as one block per year: what re-costing after a backdated movement needs, at a cost that does
    not grow with round trips per entry."""
    if not entries:
        return []
    rounded = [(on, text, _rounded(lines)) for on, text, lines in entries]
    await _check_accounts(session, {line.account for _, _, lines in rounded for line in lines}, source)
    dates = sorted({on for on, _, _ in rounded})
    await ensure_postable(session, dates[-1])  # the window's upper end
    await ensure_postable(session, dates[0])  # its lower end, the lock date
    for year, month in sorted({(on.year, on.month) for on in dates[1:-1]}):
        await ensure_period_open(session, date(year, month, 1))
    numbers: dict[int, list[str]] = {}
    for year in sorted({on.year for on in dates}):
        count = sum(1 for on, _, _ in rounded if on.year == year)
        last = await repository.next_numbers(session, doc_type, year, count)
        numbers[year] = [f"{doc_type}/{year}/{n:05d}" for n in range(last - count + 1, last + 1)]
    out = []
    for on, text, lines in sorted(rounded, key=lambda e: e[0]):
        out.append(JournalEntry(number=numbers[on.year].pop(0), doc_type=doc_type, status="posted", entry_date=on,
                                description=text, reference=reference, source=source, created_by=created_by,
                                lines=_line_rows(lines)))
    session.add_all(out)
    await session.flush()
    return out


def _lines_in(data: JournalIn) -> list[Line]:
    return [Line(line.account.upper(), line.debit, line.credit, line.memo) for line in data.lines]


async def create_manual_journal(session: AsyncSession, data: JournalIn,
                                created_by: uuid.UUID | None = None) -> JournalEntry:
    """A manual journal (JV/<year>/<n>), posted, or saved as a draft (DRAFT-..., in no report) to post later."""
    if data.status == "posted":
        return await post_journal(session, doc_type="JV", entry_date=data.entry_date, description=data.description,
                                  reference=data.reference, lines=_lines_in(data), created_by=created_by)
    entry_id = uuid.uuid4()
    # Not from the counter: numbers stay gap-free however many drafts are thrown away.
    entry = JournalEntry(id=entry_id, number=f"DRAFT-{entry_id.hex[:12].upper()}", doc_type="JV", status="draft",
                         source="manual", created_by=created_by)
    await _fill_draft(session, entry, data)
    session.add(entry)
    await session.flush()
    return entry


async def _fill_draft(session: AsyncSession, entry: JournalEntry, data: JournalIn) -> None:
    lines = await _checked_lines(session, _lines_in(data), "manual")
    window = posting_window()
    if data.entry_date < window.min_date:
        raise InvalidInput(f"posting date {data.entry_date} is before {window.min_date}, the earliest the books "
                           "accept")
    entry.entry_date, entry.description, entry.reference = data.entry_date, data.description, data.reference
    entry.draft_lines = [{"account": line.account, "debit": str(line.debit), "credit": str(line.credit),
                          "memo": line.memo} for line in lines]


async def _draft(session: AsyncSession, entry_id: uuid.UUID) -> JournalEntry:
    entry = await repository.entry_for_update(session, entry_id)
    if entry is None:
        raise NotFound("journal entry not found")
    if entry.status != "draft":
        raise Conflict(f"journal entry {entry.number} is posted and is never edited; reverse it instead")
    return entry


async def update_draft(session: AsyncSession, entry_id: uuid.UUID, data: JournalIn) -> JournalEntry:
    """Replace a draft's date, text and lines (409 once posted). `status: posted` posts it as well."""
    entry = await _draft(session, entry_id)
    await _fill_draft(session, entry, data)
    await session.flush()
    if data.status == "posted":
        return await post_draft(session, entry_id)
    return entry


async def post_draft(session: AsyncSession, entry_id: uuid.UUID) -> JournalEntry:
    """Post a draft: checked as a new journal, numbered on its date, never changed afterwards."""
    entry = await _draft(session, entry_id)
    lines = await _checked_lines(session, [Line(d["account"], Decimal(d["debit"]), Decimal(d["credit"]), d["memo"])
                                           for d in entry.draft_lines or []], entry.source)
    await ensure_postable(session, entry.entry_date)
    entry.number = await next_document_number(session, entry.doc_type, entry.entry_date)
    entry.status, entry.draft_lines = "posted", None
    entry.lines = _line_rows(lines)
    await session.flush()
    return entry


async def delete_draft(session: AsyncSession, entry_id: uuid.UUID) -> None:
    """Throw a draft away (a posted entry stays; reverse it)."""
    await session.delete(await _draft(session, entry_id))
    await session.flush()


async def reverse_entry(session: AsyncSession, entry_id: uuid.UUID, on: date | None,
                        created_by: uuid.UUID | None = None) -> JournalEntry:
    """A new posted entry on `on` with the lines' sides swapped, pointing at the original (at most one
    reversal per entry). Stock journals are reversed by stock movements, a year-end close not at all."""
    entry = await repository.entry_for_update(session, entry_id)
    if entry is None:
        raise NotFound("journal entry not found")
    if entry.status != "posted":
        raise Conflict("a draft is not in the books: edit or delete it instead of reversing it")
    if entry.source not in REVERSIBLE:
        what = "is a year-end close" if entry.source == "closing" else f"comes from {entry.source}"
        raise Conflict(f"{entry.number} {what}: it is corrected by its own documents, not reversed here")
    done = await repository.reversal_of(session, entry.id)
    if done is not None:
        raise Conflict(f"{entry.number} is already reversed by {done.number}")
    on = on or await local_today(session)
    if on < entry.entry_date:
        raise InvalidInput(f"a reversal cannot be dated before the entry it reverses ({entry.entry_date})")
    lines = [Line(line.account_code, debit=line.credit, credit=line.debit, memo=line.memo) for line in entry.lines]
    return await post_journal(session, doc_type="JV", entry_date=on, description=f"Reversal of {entry.number}",
                              reference=entry.number, lines=lines, source="reversal", created_by=created_by,
                              reversal_of_id=entry.id)


async def close_year(session: AsyncSession, year: int, created_by: uuid.UUID | None = None) -> JournalEntry:
    """Year-end close: one entry on 31 December zeroing every revenue and expense account of the year
    into Laba Ditahan (3200). Closing again only closes what was posted into the year since (409 if nothing)."""
    if not 1900 <= year <= 9999:
        raise InvalidInput("no such year")
    end = date(year, 12, 31)
    if end >= await local_today(session):
        raise InvalidInput(f"{year} is not over yet: close it from 1 January {year + 1}")
    lines, net = [], ZERO
    for account, d, c in await repository.sums_by_account(session, date(year, 1, 1), end):
        balance = money(d - c)
        if account.type not in ("revenue", "expense") or balance == 0:
            continue
        net += balance
        lines.append(Line(account.code, debit=-balance if balance < 0 else ZERO,
                          credit=balance if balance > 0 else ZERO, memo="year-end close"))
    if not lines:
        raise Conflict(f"nothing to close in {year}: its revenue and expense accounts are already zero")
    if net:  # profit (credit-heavy P&L, net < 0) goes to the credit of retained earnings
        lines.append(Line(LABA_DITAHAN, debit=net if net > 0 else ZERO, credit=-net if net < 0 else ZERO,
                          memo=f"result {year}"))
    return await post_journal(session, doc_type="CLS", entry_date=end, description=f"Year-end close {year}",
                              lines=lines, source="closing", created_by=created_by)


async def get_entry(session: AsyncSession, entry_id: uuid.UUID) -> JournalEntry:
    entry = await repository.get_entry(session, entry_id)
    if entry is None:
        raise NotFound("journal entry not found")
    return entry


async def list_entries(session: AsyncSession, **filters):
    check_range(filters.get("date_from"), filters.get("date_to"))
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


async def set_books_closed_through(session: AsyncSession, closed: date | None, *, may_reopen: bool) -> TenantSettings:
    """Move the lock date. Forward (closing more days) needs accounting.write, which the route checks;
    back or clearing it reopens closed days and needs an owner (`may_reopen`). Waits for postings under
    way (they share-lock the settings row)."""
    settings = await repository.settings_for_update(session)
    current = settings.books_closed_through
    if closed is not None:
        if closed < posting_window().min_date:
            raise InvalidInput(f"the books start on {posting_window().min_date}")
        local = datetime.now(_zone(settings.time_zone)).date()
        if closed >= local:
            raise InvalidInput(f"only days that are over can be closed: choose a date before {local}")
    if current is not None and (closed is None or closed < current) and not may_reopen:
        raise Forbidden(f"the books are closed through {current}; only an owner can reopen closed days")
    settings.books_closed_through = closed
    await session.flush()
    # The closed months' sums (what long-history reports read) follow the lock date, in this transaction.
    await repository.sync_closed_months(session, closed)
    return settings


async def update_settings(session: AsyncSession, patch: SettingsPatch) -> TenantSettings:
    settings = await repository.get_settings(session)
    for key, value in patch.model_dump(exclude_unset=True).items():
        setattr(settings, key, value)
    await session.flush()
    await session.refresh(settings)
    return settings
