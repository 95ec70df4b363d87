"""The company's settings page: name and contact, NPWP / NITKU (the tax profile), PPN rate, the time zone
(WIB / WITA / WIT) and the workspace's default language. Reading needs accounting.read, saving
accounting.write (what PATCH /api/v1/settings and /api/v1/tax/company demand)."""

from __future__ import annotations

from fastapi import Request
from pydantic import ValidationError

from polyflow.erp.accounting import service
from polyflow.erp.accounting.pages.common import Done, notice, router
from polyflow.erp.accounting.schemas import SettingsPatch
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in
from polyflow.erp.tax import service as tax
from polyflow.erp.tax.schemas import CompanyTaxIn
from polyflow.kit.errors import PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web.fmt import ZONE_CHOICES
from polyflow.web.forms import Form
from polyflow.web.i18n import LANGUAGES, _

FIELDS = ("company_name", "address", "phone", "email", "npwp", "nitku", "is_pkp", "ppn_rate", "time_zone",
          "language")


async def _page(request, session, f: Form | None = None, status_code: int = 200, **context):
    if f is None:
        s = await service.get_settings(session)
        profile = await tax.get_company(session)
        f = Form({"company_name": s.company_name, "address": s.address or "", "phone": s.phone or "",
                  "email": s.email or "", "npwp": profile.npwp or s.npwp or "", "nitku": profile.nitku or "",
                  "is_pkp": "1" if profile.is_pkp else "", "ppn_rate": s.ppn_rate, "time_zone": s.time_zone,
                  "language": s.language})
    return page(request, "tenant/settings/company.html", status_code, form=f, zones=ZONE_CHOICES,
                languages=list(LANGUAGES.items()), title=_("Company settings"), **context)


@router.get("/settings")
@html_page
async def settings_page(request: Request, session: TenantSession, done: Done = None):
    """The company's settings form."""
    await signed_in(request, session, "accounting.read")
    return await _page(request, session, notice=notice(done))


def _fail_all(f: Form, exc: ValidationError, fields: dict[str, str]) -> None:
    f.schema_errors(exc, fields=fields, rename=fields)


@router.post("/settings")
@html_page
async def save_settings(request: Request, session: TenantSession):
    """Save the company's settings and tax identity in one go (422 keeps what was typed)."""
    principal = await signed_in(request, session, "accounting.write")
    f = Form(await signed_form(request, principal))
    values = {
        "company_name": f.text("company_name", required=True), "address": f.text("address", max_length=2000,
                                                                                 multiline=True),
        "phone": f.text("phone", max_length=50), "email": f.text("email", max_length=254),
        "ppn_rate": f.number("ppn_rate", required=True, min=0, max=100, places=2),
        "time_zone": f.choice("time_zone", [z for z, _label in ZONE_CHOICES], required=True),
        "language": f.choice("language", LANGUAGES, required=True),
    }
    npwp, nitku = f.text("npwp", max_length=40), f.text("nitku", max_length=40)
    if not f.ok:
        return await _page(request, session, f, 422)
    try:
        patch = SettingsPatch(**{k: (v or None) if k in ("address", "phone", "email") else v
                                 for k, v in values.items()})
    except ValidationError as exc:
        _fail_all(f, exc, {k: k for k in values})
        return await _page(request, session, f, 422)
    try:
        company = CompanyTaxIn(legal_name=values["company_name"], npwp=npwp or None, nitku=nitku or None,
                               is_pkp=f.bool("is_pkp"), address=values["address"] or None)
    except ValidationError as exc:
        _fail_all(f, exc, {"npwp": "npwp", "nitku": "nitku", "legal_name": "company_name", "address": "address"})
        return await _page(request, session, f, 422)
    try:
        profile = await tax.update_company(session, company)
        # The documents' header reads the NPWP from the settings: kept the same as the tax profile's.
        patch.npwp = profile.npwp
        await service.update_settings(session, patch)
    except PolyflowError as exc:
        await session.rollback()
        f.fail("npwp" if "NPWP" in exc.message or "NITKU" in exc.message else "__all__", exc.message)
        return await _page(request, session, f, exc.status_code)
    return see_other("/settings?done=saved")
