"""Tax code pages under the settings: the list of tax code versions, a new code or a new version of one (a rate
change), and the edit of what a version may change (name, accounts, end date, active). Same services and
permissions as the JSON API: accounting.read to read, accounting.write to change."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from polyflow.erp.accounting.pages.common import Done, chart, notice
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in
from polyflow.erp.tax import service
from polyflow.erp.tax.schemas import TaxCodeIn, TaxCodePatch
from polyflow.kit.errors import NotFound, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

KINDS = (("ppn_output", "PPN Keluaran (output VAT)"), ("ppn_input", "PPN Masukan (input VAT)"),
         ("pph23", "PPh 23"), ("pph22", "PPh 22"), ("exempt", "Exempt"), ("zero_rated", "Zero-rated"),
         ("not_collected", "Not collected"))
BASE_RULES = (("full", "Full price"), ("dpp_11_12", "DPP nilai lain 11/12"))
KIND_LABELS, RULE_LABELS = dict(KINDS), dict(BASE_RULES)
NEW_FIELDS = ("code", "name", "kind", "rate", "base_rule", "effective_from", "effective_to", "sales_account",
              "purchase_account", "description")


def _tax_code_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(_("tax code not found")) from None


@router.get("/settings/tax-codes")
@html_page
async def tax_codes(request: Request, session: TenantSession, done: Done = None):
    """Tax code versions by code and start date, with search, kind filter and export."""
    await signed_in(request, session, "accounting.read")
    p = ListParams.from_request(request, page_size=100)
    kind = p.filter("kind")
    items, total = await service.list_tax_codes(session, q=p.q or None, kind=kind if kind in KIND_LABELS else None,
                                                limit=p.limit, offset=p.offset)
    edit = request.state.viewer.may("accounting.write")
    columns = [Column("code", _("Code"), href=(lambda r: f"/settings/tax-codes/{r.id}") if edit else None),
               Column("name", _("Name")), Column("kind", _("Kind"), value=lambda r: _(KIND_LABELS.get(r.kind, r.kind))),
               Column("rate", _("Rate"), "num"),
               Column("base_rule", _("Base"), value=lambda r: _(RULE_LABELS.get(r.base_rule, r.base_rule))),
               Column("effective_from", _("From"), "date"), Column("effective_to", _("To"), "date"),
               Column("sales_account", _("Sales account")), Column("purchase_account", _("Purchase account")),
               Column("is_active", _("Active"), "bool")]
    return list_response(request, p, title=_("Tax codes"), columns=columns, rows=items, total=total,
                         filename="tax-codes", filters=[Filter("kind", "Kind", KINDS)], notice=notice(done),
                         placeholder=_("Code or name"),
                         actions=[(_("New tax code or rate"), "/settings/tax-codes/new")] if edit else [])


async def _form_page(request, session, f: Form, status_code: int = 200, tax_code=None):
    accounts = [(a.code, f"{a.code} — {a.name}") for a in await chart(session, active_only=True)]
    return page(request, "tenant/settings/tax_code.html", status_code, form=f, tax_code=tax_code,
                kinds=[(k, _(label)) for k, label in KINDS], rules=[(k, _(label)) for k, label in BASE_RULES],
                accounts=accounts,
                title=(_("Tax code %(code)s", code=tax_code.code) if tax_code else _("New tax code or rate")))


def _fail_all(f: Form, exc: ValidationError) -> None:
    f.schema_errors(exc, fields=NEW_FIELDS + ("is_active",))


@router.get("/settings/tax-codes/new")
@html_page
async def new_tax_code(request: Request, session: TenantSession):
    """A new tax code, or a new version of one from a date (its rate change)."""
    await signed_in(request, session, "accounting.write")
    return await _form_page(request, session, Form({"base_rule": "full"}))


@router.post("/settings/tax-codes")
@html_page
async def create_tax_code(request: Request, session: TenantSession):
    """Create the code or version; overlapping dates are a 409 shown on the form."""
    principal = await signed_in(request, session, "accounting.write")
    f = Form(await signed_form(request, principal))
    values = {"code": f.text("code", required=True, max_length=20).upper(), "name": f.text("name", required=True),
              "kind": f.choice("kind", KIND_LABELS, required=True), "rate": f.number("rate", required=True, min=0,
                                                                                   max=100, places=2),
              "base_rule": f.choice("base_rule", RULE_LABELS, required=True),
              "effective_from": f.date("effective_from", required=True), "effective_to": f.date("effective_to"),
              "sales_account": f.choice("sales_account", [a.code for a in await chart(session)]),
              "purchase_account": f.choice("purchase_account", [a.code for a in await chart(session)]),
              "description": f.text("description", max_length=2000, multiline=True) or None}
    if not f.ok:
        return await _form_page(request, session, f, 422)
    try:
        data = TaxCodeIn(**values)
    except ValidationError as exc:
        _fail_all(f, exc)
        return await _form_page(request, session, f, 422)
    try:
        await service.create_tax_code(session, data)
    except PolyflowError as exc:
        await session.rollback()
        f.fail("__all__", exc.message)
        return await _form_page(request, session, f, exc.status_code)
    return see_other(f"/settings/tax-codes?q={data.code}&done=tax-code")


@router.get("/settings/tax-codes/{tax_code_id}")
@html_page
async def edit_tax_code(request: Request, session: TenantSession, tax_code_id: str):
    """A version's page: what may change (name, accounts, end date, active); rate and start stay."""
    await signed_in(request, session, "accounting.write")
    tc = await service.get_tax_code(session, _tax_code_id(tax_code_id))
    f = Form({"name": tc.name, "effective_to": tc.effective_to, "sales_account": tc.sales_account or "",
              "purchase_account": tc.purchase_account or "", "description": tc.description or "",
              "is_active": "1" if tc.is_active else ""})
    return await _form_page(request, session, f, tax_code=tc)


@router.post("/settings/tax-codes/{tax_code_id}")
@html_page
async def update_tax_code(request: Request, session: TenantSession, tax_code_id: str):
    """Save a version's changes (422 / 409 come back on the form)."""
    principal = await signed_in(request, session, "accounting.write")
    f = Form(await signed_form(request, principal))
    target = _tax_code_id(tax_code_id)
    codes = [a.code for a in await chart(session)]
    values = {"name": f.text("name", required=True), "effective_to": f.date("effective_to"),
              "sales_account": f.choice("sales_account", codes), "purchase_account": f.choice("purchase_account", codes),
              "description": f.text("description", max_length=2000, multiline=True) or None,
              "is_active": f.bool("is_active")}
    tc = await service.get_tax_code(session, target)
    if not f.ok:
        return await _form_page(request, session, f, 422, tax_code=tc)
    try:
        await service.update_tax_code(session, target, TaxCodePatch(**values))
    except ValidationError as exc:
        _fail_all(f, exc)
        return await _form_page(request, session, f, 422, tax_code=tc)
    except PolyflowError as exc:
        await session.rollback()
        f.fail("__all__", exc.message)
        return await _form_page(request, session, f, exc.status_code,
                                tax_code=await service.get_tax_code(session, target))
    return see_other(f"/settings/tax-codes?q={tc.code}&done=tax-code")
