"""The floor KPI report as a page: output, kg, scrap %, yield, kg/hour and OEE per machine, shift, day,
operator or product over a date range (the same report as GET /api/v1/reports/production), exportable."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from polyflow.erp.pages import html_page, signed_in
from polyflow.erp.production import reports
from polyflow.erp.production.pages.common import SCRAP_LABELS, label, query_date
from polyflow.erp.production.report_schemas import ProductionGroup
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.i18n import _
from polyflow.web.lists import Column, Filter, ListParams, list_response

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

GROUPS = {"machine": "Machine", "shift": "Shift", "day": "Day", "operator": "Operator", "product": "Product"}
HUNDREDTH = Decimal("0.01")
THOUSANDTH = Decimal("0.001")


def _percent(ratio: Decimal | None) -> Decimal | None:
    """A ratio (0.0159) as the percent figure shown and exported (1.59)."""
    return None if ratio is None else (ratio * 100).quantize(HUNDREDTH)


def _kg(value: Decimal | None) -> Decimal | None:
    """Weights to the gram, as the API writes them (a kg worked out through a conversion has many digits)."""
    return None if value is None else Decimal(value).quantize(THOUSANDTH)


def _row(g: ProductionGroup, name: str) -> dict:
    return {"group": name, "executions": g.executions,
            "output": " · ".join(f"{fmt.qty(_kg(u.quantity))} {u.unit}" for u in g.output),
            "output_kg": _kg(g.output_kg), "scrap_kg": _kg(g.scrap_kg), "scrap_pct": _percent(g.scrap_ratio),
            "issued_kg": _kg(g.issued_kg), "yield_pct": _percent(g.yield_ratio), "hours": _kg(g.hours),
            "kg_per_hour": g.kg_per_hour.quantize(HUNDREDTH) if g.kg_per_hour is not None else None,
            "oee_pct": _percent(g.oee.oee) if g.oee else None}


@router.get("/production/kpi")
@html_page
async def kpi(request: Request, session: TenantSession):
    """Floor KPIs grouped by machine, shift, day, operator or product over a date range (default: 30 days)."""
    await signed_in(request, session, "production.read")
    p = ListParams.from_request(request, sorts=(), default_sort=None, page_size=400)
    today = fmt.today()
    date_to = query_date(p.filter("date_to"), _("Date to")) or today
    date_from = query_date(p.filter("date_from"), _("Date from")) or date_to - timedelta(days=29)
    group_by = p.filter("group_by") if p.filter("group_by") in GROUPS else "machine"
    if not p.filter("date_from"):
        p.query["date_from"] = date_from.isoformat()
    if not p.filter("date_to"):
        p.query["date_to"] = date_to.isoformat()
    p.query.setdefault("group_by", group_by)
    report = await reports.production_report(session, date_from, date_to, group_by)
    rows = []
    for g in report.groups:
        if group_by == "day":
            name = fmt.date(date.fromisoformat(g.code)) if g.code else _("(none)")
        else:
            name = " — ".join(x for x in (g.code, g.name) if x) or _("(none)")
        rows.append(_row(g, name))
    rows.append(_row(report.totals, _("Total")))
    columns = [Column("group", _(GROUPS[group_by])), Column("executions", _("Executions"), "num"),
               Column("output", _("Output")), Column("output_kg", _("Output kg"), "qty"),
               Column("scrap_kg", _("Scrap kg"), "qty"), Column("scrap_pct", _("Scrap %"), "pct"),
               Column("issued_kg", _("Material issued kg"), "qty"), Column("yield_pct", _("Yield %"), "pct"),
               Column("hours", _("Hours"), "qty"), Column("kg_per_hour", _("Kg per hour"), "qty"),
               Column("oee_pct", _("OEE %"), "pct")]
    filters = [Filter("date_from", "Date from", kind="date"), Filter("date_to", "Date to", kind="date"),
               Filter("group_by", "Group by", list(GROUPS.items()))]
    return list_response(request, p, title=_("Production KPIs"),
                         filename=f"production-kpi-{group_by}-{date_from}-{date_to}", columns=columns, rows=rows,
                         total=len(rows), filters=filters, search=False, template="tenant/production/kpi.html",
                         report=report, head=rows[-1], scrap_label=lambda kind: label(SCRAP_LABELS, kind))
