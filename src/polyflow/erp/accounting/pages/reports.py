"""Report pages: trial balance, general ledger, profit and loss, balance sheet, AR / AP aging, the PPN summary
per month and the Coretax e-Faktur download. Each reads the same service as its JSON API twin and exports the
same figures as CSV / Excel (the rows on the page, raw numbers; totals shown under the table)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi import Request
from fastapi.responses import Response

from polyflow.erp.accounting import service
from polyflow.erp.accounting.pages.common import chart, day, router, type_label
from polyflow.erp.pages import html_page, page, signed_in
from polyflow.erp.payments import service as payments
from polyflow.erp.purchasing import service as purchasing
from polyflow.erp.sales import service as sales
from polyflow.erp.tax import coretax, ppn
from polyflow.kit.errors import InvalidInput, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.i18n import _
from polyflow.web.lists import EXPORT_MAX, Column, Filter, ListParams, list_response

ZERO = Decimal("0.00")
GL_PAGE = 200  # the service's page of ledger lines
REPORT_ROWS = 5000  # a statement is shown whole


def _report(request: Request, p: ListParams, *, title: str, columns, rows, filters, filename: str,
            totals=(), note: str | None = None, check: tuple[bool, str] | None = None, total: int | None = None,
            **context):
    """The shared report page (filters, table, totals, CSV / Excel of the rows)."""
    return list_response(request, p, title=title, columns=columns, rows=rows,
                         total=len(rows) if total is None else total, filters=filters,
                         filename=filename, template="tenant/accounting/report.html", search=False, totals=totals,
                         note=note, check=check, **context)


def _params(request: Request) -> ListParams:
    return ListParams.from_request(request, page_size=REPORT_ROWS)


# -- trial balance -------------------------------------------------------------------------------------------
@router.get("/reports/trial-balance")
@html_page
async def trial_balance(request: Request, session: TenantSession):
    """Neraca saldo: per account the debit or credit balance up to a date (optionally from a date)."""
    await signed_in(request, session, "accounting.read")
    p = _params(request)
    date_to = day(p, "date_to", fmt.today())
    date_from = day(p, "date_from")
    tb = await service.trial_balance(session, date_to, date_from)
    columns = [Column("code", _("Code"), href=lambda r: f"/reports/general-ledger?account={r.code}"
                      f"&date_to={date_to.isoformat()}" + (f"&date_from={date_from.isoformat()}" if date_from else "")),
               Column("name", _("Account")), Column("type", _("Type"), value=lambda r: type_label(r.type)),
               Column("debit", _("Debit"), "money"), Column("credit", _("Credit"), "money")]
    balanced = tb.total_debit == tb.total_credit
    return _report(request, p, title=_("Trial balance"), columns=columns, rows=tb.rows, filename="trial-balance",
                   filters=[Filter("date_from", "From", kind="date"), Filter("date_to", "To", kind="date")],
                   totals=[(_("Total debit"), fmt.rupiah(tb.total_debit)),
                           (_("Total credit"), fmt.rupiah(tb.total_credit))],
                   check=(balanced, _("Debits equal credits") if balanced else _("Debits and credits differ")),
                   note=_("Balances up to %(to)s", to=fmt.date(date_to)) if not date_from else
                   _("Movements from %(f)s to %(to)s", f=fmt.date(date_from), to=fmt.date(date_to)))


# -- general ledger ------------------------------------------------------------------------------------------
@router.get("/reports/general-ledger")
@html_page
async def general_ledger(request: Request, session: TenantSession):
    """Buku besar: one account's lines over the dates with the running balance, opening and closing."""
    await signed_in(request, session, "accounting.read")
    p = ListParams.from_request(request, page_size=GL_PAGE)
    accounts = await chart(session)
    date_to = day(p, "date_to", fmt.today())
    date_from = day(p, "date_from")
    code = p.filter("account").upper()
    filters = [Filter("account", "Account", [(a.code, f"{a.code} — {a.name}") for a in accounts]),
               Filter("date_from", "From", kind="date"), Filter("date_to", "To", kind="date")]
    columns = [Column("entry_date", _("Date"), "date"),
               Column("number", _("Number"), href=lambda r: f"/journal/{r.entry_id}"),
               Column("description", _("Description")), Column("memo", _("Memo")),
               Column("debit", _("Debit"), "money"), Column("credit", _("Credit"), "money"),
               Column("balance", _("Balance"), "money")]
    if not code:
        return _report(request, p, title=_("General ledger"), columns=columns, rows=[], filters=filters,
                       filename="general-ledger", note=_("Choose an account."))
    # Pages follow the service's cursor (each page is one index range); an export reads them all.
    wanted = EXPORT_MAX // GL_PAGE if p.export else p.page
    lines, cursor, shown = [], None, None
    for _n in range(wanted):
        ledger = await service.general_ledger(session, code, date_to, date_from, limit=GL_PAGE, cursor=cursor)
        shown = ledger
        if p.export:
            lines.extend(ledger.lines)
        else:
            lines = ledger.lines
        cursor = ledger.next_cursor
        if cursor is None:
            break
    before = (p.page - 1) * GL_PAGE
    account = shown.account
    return _report(
        request, p, title=_("General ledger"), columns=columns, rows=lines, filters=filters,
        filename=f"general-ledger-{account.code}",
        note=f"{account.code} — {account.name} ({type_label(account.type)})",
        totals=[(_("Opening balance"), fmt.rupiah(shown.opening_balance)),
                (_("Closing balance"), fmt.rupiah(shown.closing_balance))],
        prev_url=p.url(page=p.page - 1) if p.page > 1 else None,
        next_url=p.url(page=p.page + 1) if cursor is not None and not p.export else None,
        first_row=before + 1)


# -- profit and loss -----------------------------------------------------------------------------------------
@router.get("/reports/profit-loss")
@html_page
async def profit_loss(request: Request, session: TenantSession):
    """Laba rugi: revenue and expenses over the dates (this year so far by default) and the net profit."""
    await signed_in(request, session, "accounting.read")
    p = _params(request)
    date_to = day(p, "date_to", fmt.today())
    date_from = day(p, "date_from", date(date_to.year, 1, 1))
    pl = await service.profit_and_loss(session, date_from, date_to)
    rows = ([{"section": _("Revenue"), "code": r.code, "name": r.name, "amount": r.amount} for r in pl.revenue]
            + [{"section": _("Expenses"), "code": r.code, "name": r.name, "amount": r.amount} for r in pl.expenses])
    columns = [Column("section", _("Section")), Column("code", _("Code")), Column("name", _("Account")),
               Column("amount", _("Amount"), "money")]
    return _report(request, p, title=_("Profit and loss"), columns=columns, rows=rows, filename="profit-loss",
                   filters=[Filter("date_from", "From", kind="date"), Filter("date_to", "To", kind="date")],
                   note=_("From %(f)s to %(to)s", f=fmt.date(date_from), to=fmt.date(date_to)),
                   totals=[(_("Total revenue"), fmt.rupiah(pl.total_revenue)),
                           (_("Total expenses"), fmt.rupiah(pl.total_expenses)),
                           (_("Net profit") if pl.net_profit >= 0 else _("Net loss"), fmt.rupiah(pl.net_profit))])


# -- balance sheet -------------------------------------------------------------------------------------------
@router.get("/reports/balance-sheet")
@html_page
async def balance_sheet(request: Request, session: TenantSession):
    """Neraca at a date: assets, liabilities and equity (with the earnings not yet closed); A = L + E shown."""
    await signed_in(request, session, "accounting.read")
    p = _params(request)
    as_of = day(p, "as_of", fmt.today())
    bs = await service.balance_sheet(session, as_of)
    rows = []
    for section, items in ((_("Assets"), bs.assets), (_("Liabilities"), bs.liabilities), (_("Equity"), bs.equity)):
        rows += [{"section": section, "code": r.code, "name": r.name, "amount": r.amount} for r in items]
    rows.append({"section": _("Equity"), "code": "", "name": _("Current year earnings"), "amount": bs.current_earnings})
    if bs.prior_years_unclosed_earnings:
        rows.append({"section": _("Equity"), "code": "", "name": _("Earlier years' earnings not yet closed"),
                     "amount": bs.prior_years_unclosed_earnings})
    both = bs.total_liabilities + bs.total_equity
    balanced = bs.total_assets == both
    columns = [Column("section", _("Section")), Column("code", _("Code")), Column("name", _("Account")),
               Column("amount", _("Amount"), "money")]
    return _report(request, p, title=_("Balance sheet"), columns=columns, rows=rows, filename="balance-sheet",
                   filters=[Filter("as_of", "As of", kind="date")], note=_("As of %(d)s", d=fmt.date(as_of)),
                   totals=[(_("Total assets"), fmt.rupiah(bs.total_assets)),
                           (_("Total liabilities"), fmt.rupiah(bs.total_liabilities)),
                           (_("Total equity"), fmt.rupiah(bs.total_equity)),
                           (_("Liabilities + equity"), fmt.rupiah(both))],
                   check=(balanced, _("Assets = liabilities + equity") if balanced
                          else _("Assets and liabilities + equity differ")))


# -- AR / AP aging -------------------------------------------------------------------------------------------
BUCKETS = (("current", "Not yet due"), ("days_1_30", "1–30 days"), ("days_31_60", "31–60 days"),
           ("days_61_90", "61–90 days"), ("over_90", "Over 90 days"))


AGING_PAGE = 50  # partners per page: a plant with thousands of customers must not get one page of them all
AGING_SORTS = ("partner_code", "partner_name", *(key for key, _l in BUCKETS), "total")


def _aging_params(request: Request) -> ListParams:
    return ListParams.from_request(request, sorts=AGING_SORTS, default_sort="-total", page_size=AGING_PAGE)


def _aging(request, p, aging, *, title: str, filename: str):
    columns = ([Column("partner_code", _("Code"), href=lambda r: f"/partners/{r.partner_id}", sort="partner_code"),
                Column("partner_name", _("Partner"), sort="partner_name")]
               + [Column(key, _(label), "money", sort=key) for key, label in BUCKETS]
               + [Column("total", _("Total"), "money", sort="total")])
    # Sales gives its totals as a dict, purchasing as a model: read both the same way.
    totals = aging.totals if isinstance(aging.totals, dict) else {k: getattr(aging.totals, k) for k, _l in BUCKETS}
    grand = sum((totals.get(k, ZERO) for k, _l in BUCKETS), ZERO)
    # The largest balances first by default; the partner code breaks ties so pages never overlap.
    rows = sorted(aging.rows, key=lambda r: r.partner_code)
    key = p.sort or "total"
    rows.sort(key=lambda r: (getattr(r, key) or "") if key == "partner_name" else getattr(r, key), reverse=p.desc)
    shown = rows[p.offset:p.offset + p.limit]
    return _report(request, p, title=title, columns=columns, rows=shown, total=len(rows), paged=True,
                   filename=filename, filters=[Filter("as_of", "As of", kind="date")],
                   note=_("Open amounts by days past due on %(d)s", d=fmt.date(aging.as_of)),
                   totals=[(_(label), fmt.rupiah(totals.get(key, ZERO))) for key, label in BUCKETS]
                   + [(_("Total"), fmt.rupiah(grand))])


@router.get("/reports/ar-aging")
@html_page
async def ar_aging(request: Request, session: TenantSession):
    """Umur piutang: open receivables per customer by days past due (sales.read, as the API demands)."""
    await signed_in(request, session, "sales.read")
    p = _aging_params(request)
    as_of = day(p, "as_of", fmt.today())
    aging = await sales.ar_aging(session, as_of, settled_after=lambda s, d: payments.allocated_after(s, "in", d))
    return _aging(request, p, aging, title=_("Receivables aging"), filename="ar-aging")


@router.get("/reports/ap-aging")
@html_page
async def ap_aging(request: Request, session: TenantSession):
    """Umur hutang: open supplier invoices per supplier by days past due (purchasing.read, as the API demands)."""
    await signed_in(request, session, "purchasing.read")
    p = _aging_params(request)
    as_of = day(p, "as_of", fmt.today())
    aging = await purchasing.ap_aging(session, as_of,
                                      settled_after=lambda s, d: payments.allocated_after(s, "out", d))
    return _aging(request, p, aging, title=_("Payables aging"), filename="ap-aging")


# -- PPN -----------------------------------------------------------------------------------------------------
STATUS = {"kurang_bayar": "Underpaid (kurang bayar)", "lebih_bayar": "Overpaid (lebih bayar)", "nihil": "Nil"}


@router.get("/reports/ppn")
@html_page
async def ppn_report(request: Request, session: TenantSession):
    """PPN per month of a year: output and input tax, payable or overpaid, and whether the GL agrees."""
    await signed_in(request, session, "accounting.read")
    p = _params(request)
    today = fmt.today()
    try:
        year = int(p.filter("year") or today.year)
    except ValueError:
        raise InvalidInput(_("The year must be a whole number")) from None
    if not 1900 <= year <= 9999:
        raise InvalidInput(_("The year must be between 1900 and 9999"))
    last = 12 if year < today.year else (today.month if year == today.year else 0)
    rows = []
    # One pass over the year (the carried overpayment computed once), not one summary per month from the start.
    for s in await ppn.ppn_summary_year(session, year, last, items=False):  # totals only: no document list
        rows.append({"month": s.month, "output_base": s.output_tax.net.base, "output_tax": s.output_tax.net.tax,
                     "input_base": s.input_tax.net.base, "input_tax": s.input_tax.net.tax, "net": s.net,
                     "carried_in": s.carried_in, "underpaid": s.underpaid, "overpaid": s.overpaid,
                     "status": _(STATUS[s.status]), "gl": s.matches})
    columns = [Column("month", _("Month"), href=lambda r: f"/reports/coretax?month={r['month']}"),
               Column("output_base", _("Output DPP"), "money"), Column("output_tax", _("PPN Keluaran"), "money"),
               Column("input_base", _("Input DPP"), "money"), Column("input_tax", _("PPN Masukan"), "money"),
               Column("net", _("Output − input"), "money"), Column("carried_in", _("Carried in"), "money"),
               Column("underpaid", _("To pay"), "money"), Column("overpaid", _("Overpaid"), "money"),
               Column("status", _("Status")), Column("gl", _("Matches the ledger"), "bool")]
    return _report(request, p, title=_("PPN summary"), columns=columns, rows=rows, filename=f"ppn-{year}",
                   filters=[Filter("year", "Year", [(str(y), str(y)) for y in range(today.year, today.year - 6, -1)])],
                   note=_("Year %(y)s; a month's link downloads its Coretax e-Faktur file.", y=year),
                   totals=[(_("PPN Keluaran"), fmt.rupiah(sum((r["output_tax"] for r in rows), ZERO))),
                           (_("PPN Masukan"), fmt.rupiah(sum((r["input_tax"] for r in rows), ZERO))),
                           (_("To pay"), fmt.rupiah(sum((r["underpaid"] for r in rows), ZERO)))])


@router.get("/reports/coretax")
@html_page
async def coretax_download(request: Request, session: TenantSession):
    """The Coretax e-Faktur bulk import XML of a month's posted sales invoices (a form until a month is chosen)."""
    await signed_in(request, session, "accounting.read")
    month = (request.query_params.get("month") or "").strip()[:20]
    error = None
    if month:
        try:
            filename, body = await coretax.coretax_xml(session, month)
        except PolyflowError as exc:
            await session.rollback()
            error = exc.message
        else:
            return Response(content=body, media_type="application/xml",
                            headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                     "Cache-Control": "no-store"})
    today = fmt.today()
    return page(request, "tenant/accounting/coretax.html", 422 if error else 200, error=error,
                month=month or f"{today.year:04d}-{today.month:02d}", title=_("Coretax e-Faktur"))
