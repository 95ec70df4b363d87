"""The chart of accounts with balances, and the fiscal periods with the lock date (books closed through)."""

from __future__ import annotations

import calendar

from fastapi import Request

from polyflow.erp.accounting import service
from polyflow.erp.accounting.pages.common import ACCOUNT_TYPES, Done, chart, day, notice, router, type_label
from polyflow.erp.models.account import DEBIT_NORMAL
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in
from polyflow.kit.errors import InvalidInput, NotFound, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


@router.get("/accounts")
@html_page
async def accounts(request: Request, session: TenantSession):
    """The chart of accounts by code, each with its balance on its normal side at a date (today by default)."""
    await signed_in(request, session, "accounting.read")
    p = ListParams.from_request(request, sorts=("code",), default_sort="code", page_size=1000)
    as_of = day(p, "as_of", fmt.today())
    kind = p.filter("type")
    items, _total = await service.list_accounts(session, q=p.q or None, type=kind or None, active=None,
                                                sort="-code" if p.desc else "code", limit=1000, offset=0)
    tb = await service.trial_balance(session, as_of, None, True)
    balances = {r.code: r.balance for r in tb.rows}
    rows = [{"code": a.code, "name": a.name, "type": type_label(a.type), "active": a.is_active,
             "balance": balances.get(a.code, 0) if a.type in DEBIT_NORMAL else -balances.get(a.code, 0),
             "href": f"/reports/general-ledger?account={a.code}&date_to={as_of.isoformat()}"} for a in items]
    columns = [Column("code", _("Code"), sort="code", href=lambda r: r["href"]), Column("name", _("Name")),
               Column("type", _("Type")), Column("balance", _("Balance"), "money"),
               Column("active", _("Active"), "bool")]
    return list_response(request, p, title=_("Chart of accounts"), columns=columns, rows=rows, total=len(rows),
                         filename="chart-of-accounts", placeholder=_("Code or name"),
                         filters=[Filter("type", "Type", ACCOUNT_TYPES), Filter("as_of", "Balance at", kind="date")])


# -- periods and the lock date -------------------------------------------------------------------------------
async def _periods_page(request, session, year: int, status_code: int = 200, **context):
    known = {(p.year, p.month): p for p in await service.list_periods(session, year)}
    months = [{"year": year, "month": m, "name": _(MONTHS[m - 1]), "last": calendar.monthrange(year, m)[1],
               "period": known.get((year, m))} for m in range(1, 13)]
    settings = await service.get_settings(session)
    context.setdefault("form", Form({"books_closed_through": settings.books_closed_through}))
    return page(request, "tenant/accounting/periods.html", status_code, year=year, months=months,
                closed=settings.books_closed_through, title=_("Periods and lock date"), **context)


def _year(value: str | None) -> int:
    try:
        year = int(value or fmt.today().year)
    except ValueError:
        raise InvalidInput(_("The year must be a whole number")) from None
    if not 1900 <= year <= 9999:
        raise InvalidInput(_("The year must be between 1900 and 9999"))
    return year


@router.get("/periods")
@html_page
async def periods(request: Request, session: TenantSession, done: Done = None):
    """The months of a year, locked or open, and the lock date (nothing posts on or before it)."""
    await signed_in(request, session, "accounting.read")
    return await _periods_page(request, session, _year(request.query_params.get("year")), notice=notice(done))


def _period(year: str, month: str) -> tuple[int, int]:
    try:
        y, m = int(year), int(month)
    except ValueError:
        raise NotFound(_("no such period")) from None
    if not (1900 <= y <= 9999 and 1 <= m <= 12):
        raise NotFound(_("no such period"))
    return y, m


async def _set_lock(request: Request, session, year: str, month: str, locked: bool):
    principal = await signed_in(request, session, "accounting.write")
    await signed_form(request, principal)
    y, m = _period(year, month)
    try:
        await service.set_period_lock(session, y, m, locked)
    except PolyflowError as exc:
        await session.rollback()
        return await _periods_page(request, session, y, exc.status_code, error=exc.message)
    return see_other(f"/periods?year={y}&done={'locked' if locked else 'unlocked'}")


@router.post("/periods/{year}/{month}/lock")
@html_page
async def lock_period(request: Request, session: TenantSession, year: str, month: str):
    """Lock a month: nothing more posts into it."""
    return await _set_lock(request, session, year, month, True)


@router.post("/periods/{year}/{month}/unlock")
@html_page
async def unlock_period(request: Request, session: TenantSession, year: str, month: str):
    """Reopen a month."""
    return await _set_lock(request, session, year, month, False)


@router.post("/periods/lock-date")
@html_page
async def set_lock_date(request: Request, session: TenantSession):
    """Close the books through a date (accounting.write); moving it back or clearing it: owners only."""
    principal = await signed_in(request, session, "accounting.write")
    f = Form(await signed_form(request, principal))
    closed = f.date("books_closed_through")
    year = closed.year if closed else fmt.today().year
    if not f.ok:
        return await _periods_page(request, session, year, 422, form=f)
    try:
        await service.set_books_closed_through(session, closed, may_reopen="owner" in principal.roles)
    except PolyflowError as exc:
        await session.rollback()
        f.fail("books_closed_through", exc.message)
        return await _periods_page(request, session, year, exc.status_code, form=f)
    return see_other(f"/periods?year={year}&done=lock-date")


@router.post("/periods/{year}/close")
@html_page
async def close_year(request: Request, session: TenantSession, year: str):
    """Year-end close: the year's revenue and expense accounts zeroed into Laba Ditahan (3200), one journal."""
    principal = await signed_in(request, session, "accounting.write")
    await signed_form(request, principal)
    y, _m = _period(year, "12")
    try:
        entry = await service.close_year(session, y, created_by=principal.id)
    except PolyflowError as exc:
        await session.rollback()
        return await _periods_page(request, session, y, exc.status_code, error=exc.message)
    return see_other(f"/journal/{entry.id}?done=closed")
