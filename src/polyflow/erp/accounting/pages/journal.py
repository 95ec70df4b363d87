"""Journal pages: the list of entries (accounts shown with their names, filters, export), a manual journal of
any number of lines typed the Indonesian way ("1.750.000"), an entry's page and its reversal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi import Request
from pydantic import ValidationError

from polyflow.erp.accounting import service
from polyflow.erp.accounting.pages.common import (
    Done, account_names, chart, day, grouped_accounts, id_from_path, labelled, notice, router,
)
from polyflow.erp.accounting.schemas import JournalIn
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in
from polyflow.kit.errors import PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import EXPORT_MAX, Column, Filter, ListParams, list_response

NEW_LINES = 4  # empty lines a new journal starts with ("more lines" adds four)
MAX_FORM_LINES = 200
ZERO = Decimal("0.00")

# Document types a user filters by (the ones that reach the books), English labels translated when shown.
SOURCES = (("JV", "Manual journal"), ("GR", "Goods receipt"), ("GI", "Goods issue"), ("TRF", "Stock transfer"),
           ("ADJ", "Stock adjustment"), ("RCS", "Stock re-costing"), ("RVL", "Stock revaluation"),
           ("OPN", "Stock count (opname)"), ("SI", "Sales invoice"), ("CN", "Credit note"), ("PINV", "Supplier invoice"),
           ("PRET", "Purchase return"), ("RCV", "Customer receipt"), ("PAY", "Supplier payment"),
           ("PEX", "Production"), ("PVR", "Production variance"), ("MKL", "Toll manufacturing"),
           ("CLS", "Year-end close"))


def _line_rows(entries, names: dict[str, str]) -> list[dict]:
    """One row per journal line, the entry's facts repeated (what a spreadsheet wants)."""
    rows = []
    for e in entries:
        for line in e.shown_lines:
            rows.append({"entry_date": e.entry_date, "number": e.number, "description": e.description,
                         "reference": e.reference, "doc_type": e.doc_type, "status": e.status,
                         "account": line.account_code, "account_name": names.get(line.account_code, ""),
                         "debit": line.debit, "credit": line.credit, "memo": line.memo})
    return rows


@router.get("/journal")
@html_page
async def journal(request: Request, session: TenantSession, done: Done = None):
    """Journal entries, newest first, each with its lines (account code and name); filters and export."""
    await signed_in(request, session, "accounting.read")
    p = ListParams.from_request(request, sorts=("date", "number"), default_sort="-date")
    accounts = await chart(session)
    names = {a.code: a.name for a in accounts}
    account = p.filter("account").upper() or None
    doc_type = p.filter("doc_type").upper() or None
    filters = dict(date_from=day(p, "date_from"), date_to=day(p, "date_to"), account=account, doc_type=doc_type,
                   q=p.q or None, sort=p.order or "-date")
    if p.export:
        # The whole selection, a cursor page after another (a page stops early on long entries).
        entries, cursor, total = [], None, 0
        while len(entries) < EXPORT_MAX:
            items, count, cursor = await service.list_entries(session, **filters, limit=200, offset=0, cursor=cursor)
            entries.extend(items)
            total = count if count is not None else total
            if cursor is None:
                break
    else:
        entries, total, _next = await service.list_entries(session, **filters, limit=p.size, offset=p.offset)
    columns = [Column("entry_date", _("Date"), "date"), Column("number", _("Number")),
               Column("description", _("Description")), Column("reference", _("Reference")),
               Column("doc_type", _("Source")), Column("account", _("Account")),
               Column("account_name", _("Account name")), Column("debit", _("Debit"), "money"),
               Column("credit", _("Credit"), "money"), Column("memo", _("Memo"))]
    return list_response(
        request, p, title=_("Journal"), columns=columns, rows=_line_rows(entries, names), total=total or 0,
        filename="journal", template="tenant/accounting/journal.html", entries=entries, names=names,
        labelled=labelled, notice=notice(done), placeholder=_("Number, description or reference"),
        filters=[Filter("date_from", "From", kind="date"), Filter("date_to", "To", kind="date"),
                 Filter("account", "Account", [(a.code, f"{a.code} — {a.name}") for a in accounts]),
                 Filter("doc_type", "Source", SOURCES)],
        actions=[(_("New journal"), "/journal/new")] if request.state.viewer.may("accounting.write") else [])


# -- a manual journal ----------------------------------------------------------------------------------------
def _account_code(typed: str) -> str:
    """ "1101 — Kas" or "1101" -> "1101" (the datalist offers "code — name")."""
    return typed.split("—")[0].split(" ")[0].strip().upper()


class JournalForm:
    """The posted lines, each checked; totals and what is wrong, per line, for the page that comes back."""

    def __init__(self, f: Form):
        self.f = f
        accounts, debits, credits, memos = (f.raw_list(k) for k in ("account", "debit", "credit", "memo"))
        count = min(max(len(accounts), len(debits), len(credits), len(memos)), MAX_FORM_LINES)
        pad = lambda xs: xs + [""] * (count - len(xs))  # noqa: E731
        self.typed = list(zip(pad(accounts), pad(debits), pad(credits), pad(memos)))[:count]
        self.line_errors: dict[int, str] = {}
        self.lines: list[dict] = []
        self.debit = self.credit = ZERO
        for i, (account, debit, credit, memo) in enumerate(self.typed):
            if not (account.strip() or debit.strip() or credit.strip() or memo.strip()):
                continue  # an empty line of the form
            amounts = {}
            for side, text in (("debit", debit), ("credit", credit)):
                one = Form({side: text})
                amounts[side] = one.number(side, min=0, places=2) or ZERO
                if one.errors:
                    self.line_errors.setdefault(i, f"{_('Debit') if side == 'debit' else _('Credit')}: "
                                                   f"{one.errors[side]}")
            code = _account_code(account)
            if not code:
                self.line_errors.setdefault(i, _("Choose an account"))
            elif (amounts["debit"] == 0) == (amounts["credit"] == 0):
                self.line_errors.setdefault(i, _("Give either a debit or a credit"))
            if len(memo) > 200:
                self.line_errors.setdefault(i, _("At most %(n)s characters", n=200))
            self.debit += amounts["debit"]
            self.credit += amounts["credit"]
            self.lines.append({"account": code, "debit": amounts["debit"], "credit": amounts["credit"],
                               "memo": memo.strip() or None})

    @property
    def difference(self) -> Decimal:
        return self.debit - self.credit

    @property
    def balanced(self) -> bool:
        return self.difference == 0 and self.debit > 0


async def _new_page(request, session, f: Form, jf: JournalForm | None = None, status_code: int = 200,
                    rows: int = NEW_LINES):
    accounts = await chart(session, active_only=True)
    typed = jf.typed if jf is not None else []
    typed = typed + [("", "", "", "")] * max(0, rows - len(typed))
    return page(request, "tenant/accounting/journal_new.html", status_code, form=f, jf=jf, typed=typed,
                groups=grouped_accounts(accounts), accounts=accounts, more=len(typed) + NEW_LINES,
                title=_("New journal"))


@router.get("/journal/new")
@html_page
async def new_journal(request: Request, session: TenantSession):
    """The manual journal form: date, description, reference and lines (more lines on request)."""
    await signed_in(request, session, "accounting.write")
    try:
        rows = min(max(int(request.query_params.get("lines") or NEW_LINES), 2), MAX_FORM_LINES)
    except ValueError:
        rows = NEW_LINES
    return await _new_page(request, session, Form({"entry_date": fmt.today().isoformat()}), rows=rows)


@router.post("/journal")
@html_page
async def create_journal(request: Request, session: TenantSession):
    """Post a manual journal; an unbalanced or wrong one comes back (422) with every line as typed."""
    principal = await signed_in(request, session, "accounting.write")
    f = Form(await signed_form(request, principal))
    on = f.date("entry_date", required=True)
    description = f.text("description", required=True, max_length=500)
    reference = f.text("reference", max_length=100)
    jf = JournalForm(f)
    if len(jf.lines) < 2:
        f.fail("lines", _("A journal needs at least two lines"))
    elif jf.line_errors:
        f.fail("lines", _("Some lines need attention"))
    elif not jf.balanced:
        f.fail("lines", _("The journal does not balance: debit %(d)s, credit %(c)s, difference %(x)s",
                          d=fmt.rupiah(jf.debit), c=fmt.rupiah(jf.credit), x=fmt.rupiah(jf.difference)))
    if not f.ok:
        return await _new_page(request, session, f, jf, 422)
    try:
        data = JournalIn(entry_date=on, description=description, reference=reference or None, lines=jf.lines)
        entry = await service.create_manual_journal(session, data, created_by=principal.user.id)
    except ValidationError as exc:
        f.fail("__all__", "; ".join(str(e.get("msg", "")) for e in exc.errors()))
        return await _new_page(request, session, f, jf, 422)
    except PolyflowError as exc:
        await session.rollback()
        f.fail("__all__", exc.message)
        return await _new_page(request, session, f, jf, exc.status_code)
    return see_other(f"/journal/{entry.id}?done=posted")


# -- one entry and its reversal ------------------------------------------------------------------------------
async def _entry_page(request, session, entry_id, status_code: int = 200, **context):
    entry = await service.get_entry(session, entry_id)
    names = await account_names(session)
    viewer = request.state.viewer
    reversible = (entry.status == "posted" and entry.source in service.REVERSIBLE and entry.reversed_by_id is None
                  and viewer.may("accounting.write"))
    postable = entry.status == "draft" and viewer.may("accounting.write")
    original = await service.get_entry(session, entry.reversal_of_id) if entry.reversal_of_id else None
    lines = entry.shown_lines
    context.setdefault("form", Form({"entry_date": fmt.today().isoformat()}))
    return page(request, "tenant/accounting/journal_entry.html", status_code, entry=entry, lines=lines,
                names=names, labelled=labelled, reversible=reversible, postable=postable, original=original,
                total_debit=sum((line.debit for line in lines), ZERO),
                total_credit=sum((line.credit for line in lines), ZERO), title=entry.number, **context)


@router.get("/journal/{entry_id}")
@html_page
async def journal_entry(request: Request, session: TenantSession, entry_id: str, done: Done = None):
    """One journal entry: its lines with account names, who reversed it, and the reversal form when allowed."""
    await signed_in(request, session, "accounting.read")
    return await _entry_page(request, session, id_from_path(entry_id), notice=notice(done))


@router.post("/journal/{entry_id}/reverse")
@html_page
async def reverse_journal(request: Request, session: TenantSession, entry_id: str):
    """Reverse a posted manual entry on a chosen date (a new entry, sides swapped)."""
    principal = await signed_in(request, session, "accounting.write")
    f = Form(await signed_form(request, principal))
    target = id_from_path(entry_id)
    on: date | None = f.date("entry_date")
    if not f.ok:
        return await _entry_page(request, session, target, 422, form=f)
    try:
        reversal = await service.reverse_entry(session, target, on, created_by=principal.user.id)
    except PolyflowError as exc:
        await session.rollback()
        if exc.status_code == 404:
            raise
        f.fail("entry_date", exc.message)
        return await _entry_page(request, session, target, exc.status_code, form=f)
    return see_other(f"/journal/{reversal.id}?done=reversed")


@router.post("/journal/{entry_id}/post")
@html_page
async def post_draft(request: Request, session: TenantSession, entry_id: str):
    """Post a draft (saved through the API): numbered on its date, in the books, never edited afterwards."""
    principal = await signed_in(request, session, "accounting.write")
    f = Form(await signed_form(request, principal))
    target = id_from_path(entry_id)
    try:
        entry = await service.post_draft(session, target)
    except PolyflowError as exc:
        await session.rollback()
        if exc.status_code == 404:
            raise
        f.fail("entry_date", exc.message)
        return await _entry_page(request, session, target, exc.status_code, form=f)
    return see_other(f"/journal/{entry.id}?done=posted")
