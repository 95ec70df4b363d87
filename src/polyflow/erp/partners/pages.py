"""Partner pages: the list (customers / suppliers), a partner's page (tax identity NPWP/NIK/NITKU, address,
terms, open invoices and bills), the new / edit forms and deactivate / reactivate.

Like the API, partners serve two plan modules: reading needs sales.read or purchasing.read, changing
sales.write or purchasing.write."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from polyflow.erp.identity.auth import check_permission
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in
from polyflow.erp.partners import service
from polyflow.erp.partners.schemas import PartnerIn, PartnerPatch
from polyflow.erp.purchasing import invoicing as purchase_invoicing
from polyflow.erp.sales import invoicing as sales_invoicing
from polyflow.kit.errors import NotFound, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web.forms import Form
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

ROLES = (("customer", "Customers"), ("supplier", "Suppliers"))
ENTITY_TYPES = (("company", "Company"), ("individual", "Individual"))
DONE = {"created": "The partner was created.", "saved": "The changes were saved.",
        "deactivated": "The partner was deactivated.", "activated": "The partner was reactivated."}
TEXT_FIELDS = {"name": 200, "npwp": 40, "nik": 40, "nitku": 40, "city": 100, "phone": 50, "email": 254}


async def _allowed(request: Request, session, action: str):
    """The signed-in user, holding sales.<action> or purchasing.<action> (what the partners API demands)."""
    principal = await signed_in(request, session)
    check_permission(request, principal, f"sales.{action}", f"purchasing.{action}")
    return principal


def _partner_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("partner not found") from None


def _role(partner) -> str:
    both = partner.is_customer and partner.is_supplier
    return _("Customer and supplier") if both else _("Customer") if partner.is_customer else _("Supplier")


@router.get("/partners")
@html_page
async def partners(request: Request, session: TenantSession):
    """Customers and suppliers: search over code, name and NPWP/NITKU/NIK; filter by role and status."""
    await _allowed(request, session, "read")
    p = ListParams.from_request(request, sorts=("code", "name", "created"), default_sort="code")
    role = p.filter("role")
    items, total = await service.list_partners(
        session, q=p.q or None, is_customer=True if role == "customer" else None,
        is_supplier=True if role == "supplier" else None, active={"1": True, "0": False}.get(p.filter("active")),
        sort=p.order, limit=p.limit, offset=p.offset)
    columns = [
        Column("code", _("Code"), sort="code", href=lambda r: f"/partners/{r.id}"),
        Column("name", _("Name"), sort="name"),
        Column("role", _("Role"), value=_role),
        Column("npwp", _("NPWP")),
        Column("city", _("City")),
        Column("payment_terms_days", _("Terms (days)"), "num"),
        Column("is_active", _("Active"), "bool"),
    ]
    viewer = request.state.viewer
    actions = [(_("New partner"), "/partners/new")] if viewer.may(("sales.write", "purchasing.write")) else []
    return list_response(request, p, title=_("Partners"), columns=columns, rows=items, total=total,
                         filters=[Filter("role", "Role", ROLES),
                                  Filter("active", "Status", (("1", "Active"), ("0", "Inactive")))],
                         actions=actions, filename="partners", placeholder=_("Code, name or NPWP"),
                         empty=_("No partner matches.") if p.q else _("No partners yet."))


# -- new / edit ------------------------------------------------------------------------------------------
def _form_page(request: Request, form: Form, partner=None, status_code: int = 200) -> HTMLResponse:
    return page(request, "tenant/partners/partner_form.html", status_code, form=form, partner=partner,
                entity_types=[(k, _(label)) for k, label in ENTITY_TYPES])


def _initial(partner) -> dict:
    data = {name: getattr(partner, name) or "" for name in TEXT_FIELDS}
    data.update(code=partner.code, address=partner.address or "", entity_type=partner.entity_type,
                is_customer="1" if partner.is_customer else "", is_supplier="1" if partner.is_supplier else "",
                is_pkp="1" if partner.is_pkp else "", payment_terms_days=partner.payment_terms_days,
                credit_limit=partner.credit_limit)
    return data


def _read(f: Form, *, new: bool) -> dict:
    data: dict = {}
    if new:
        data["code"] = f.text("code", required=True, max_length=32)
    for name, limit in TEXT_FIELDS.items():
        data[name] = f.text(name, required=name == "name", max_length=limit) or None
    data["address"] = f.text("address", max_length=2000, multiline=True) or None
    data["entity_type"] = f.choice("entity_type", dict(ENTITY_TYPES), required=True)
    data["is_customer"], data["is_supplier"], data["is_pkp"] = f.bool("is_customer"), f.bool("is_supplier"), \
        f.bool("is_pkp")
    if not (data["is_customer"] or data["is_supplier"]):
        f.fail("is_customer", _("Tick customer, supplier or both"))
    data["payment_terms_days"] = f.integer("payment_terms_days", min=0, max=3650) or 0
    data["credit_limit"] = f.number("credit_limit", min=0, places=0)
    return data


# Where a service refusal is shown: the first field its message names.
_ERROR_FIELDS = (("code", "code"), ("nitku", "nitku"), ("nik", "nik"), ("pkp", "npwp"), ("npwp", "npwp"),
                 ("customer, a supplier", "is_customer"))


def _fail(f: Form, message: str) -> None:
    lowered = message.lower()
    f.fail(next((field for words, field in _ERROR_FIELDS if words in lowered), "__all__"), message)


def _schema_errors(f: Form, exc: ValidationError) -> None:
    f.schema_errors(exc, fields=set(f.data) | set(TEXT_FIELDS), other=lambda message: _fail(f, message))


@router.get("/partners/new")
@html_page
async def new_partner(request: Request, session: TenantSession):
    """The new-partner form."""
    await _allowed(request, session, "write")
    return _form_page(request, Form({"entity_type": "company", "is_customer": "1", "payment_terms_days": "30"}))


@router.post("/partners")
@html_page
async def create_partner(request: Request, session: TenantSession):
    """Create a partner from the form; refused: the form again with what was typed and the reasons."""
    principal = await _allowed(request, session, "write")
    f = Form(await signed_form(request, principal))
    data = _read(f, new=True)
    if f.ok:
        try:
            partner = await service.create_partner(session, PartnerIn(**data))
            return see_other(f"/partners/{partner.id}?done=created")
        except ValidationError as exc:
            _schema_errors(f, exc)
        except PolyflowError as exc:
            await session.rollback()
            _fail(f, exc.message)
            return _form_page(request, f, status_code=exc.status_code)
    return _form_page(request, f, status_code=422)


@router.get("/partners/{partner_id}/edit")
@html_page
async def edit_partner(request: Request, session: TenantSession, partner_id: str):
    """The edit form of a partner, filled in."""
    await _allowed(request, session, "write")
    partner = await service.get_partner(session, _partner_id(partner_id))
    return _form_page(request, Form(_initial(partner)), partner)


@router.post("/partners/{partner_id}/edit")
@html_page
async def save_partner(request: Request, session: TenantSession, partner_id: str):
    """Save the edit form (the code stays)."""
    principal = await _allowed(request, session, "write")
    pid = _partner_id(partner_id)
    partner = await service.get_partner(session, pid)
    f = Form(await signed_form(request, principal))
    data = _read(f, new=False)
    if f.ok:
        try:
            await service.update_partner(session, pid, PartnerPatch(**data))
            return see_other(f"/partners/{pid}?done=saved")
        except ValidationError as exc:
            _schema_errors(f, exc)
        except PolyflowError as exc:
            await session.rollback()
            _fail(f, exc.message)
            return _form_page(request, f, await service.get_partner(session, pid), status_code=exc.status_code)
    return _form_page(request, f, partner, status_code=422)


@router.post("/partners/{partner_id}/deactivate")
@html_page
async def deactivate_partner(request: Request, session: TenantSession, partner_id: str):
    """Deactivate a partner: its history stays, new documents refuse it."""
    return await _set_active(request, session, partner_id, False)


@router.post("/partners/{partner_id}/activate")
@html_page
async def activate_partner(request: Request, session: TenantSession, partner_id: str):
    """Reactivate a partner."""
    return await _set_active(request, session, partner_id, True)


async def _set_active(request: Request, session, partner_id: str, active: bool):
    principal = await _allowed(request, session, "write")
    pid = _partner_id(partner_id)
    await signed_form(request, principal)
    await service.set_active(session, pid, active)
    return see_other(f"/partners/{pid}?done={'activated' if active else 'deactivated'}")


# -- detail ----------------------------------------------------------------------------------------------
@router.get("/partners/{partner_id}")
@html_page
async def partner_detail(request: Request, session: TenantSession, partner_id: str):
    """A partner: identity for tax invoices, address, terms, and its open invoices (customer) and bills
    (supplier) for users who may read them."""
    await _allowed(request, session, "read")
    partner = await service.get_partner(session, _partner_id(partner_id))
    viewer = request.state.viewer
    receivables, payables = [], []
    if partner.is_customer and viewer.may("sales.read"):
        receivables = await sales_invoicing.open_items(session, partner.id)
    if partner.is_supplier and viewer.may("purchasing.read"):
        payables = await purchase_invoicing.open_items(session, partner.id)
    notice = _(DONE[request.query_params["done"]]) if request.query_params.get("done") in DONE else None
    return page(request, "tenant/partners/partner.html", partner=partner, role=_role(partner),
                entity=_(dict(ENTITY_TYPES).get(partner.entity_type, partner.entity_type)),
                receivables=receivables, payables=payables, notice=notice)
