"""The dashboard at ``/``: the figures a plant looks at first. Each tile is shown only to a viewer who may read
its module (role and plan) and links to the page behind it; the figures come from the modules' own service reads
(low stock, the production report) and from the few aggregates in `reads` (the stock's value now, open orders,
receivables / payables by days past due, sales per day)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.dashboard import reads
from polyflow.erp.inventory import service as inventory
from polyflow.erp.pages import Viewer, html_page, page, signed_in, tenant_of
from polyflow.erp.production import reports as production
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.i18n import _

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

CHART_DAYS = 30
BUCKETS = (("current", "Not yet due"), ("days_1_30", "1-30 days"), ("days_31_60", "31-60 days"),
           ("days_61_90", "61-90 days"), ("over_90", "Over 90 days"))


@dataclass
class Tile:
    label: str
    value: str
    href: str
    note: str = ""
    tone: str = ""  # "" or "warn": something needs attention
    rows: list[tuple[str, str]] = field(default_factory=list)  # a small breakdown (aging buckets)


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    day: date
    amount: Decimal


@dataclass(frozen=True)
class Chart:
    """Sales per day as bars in an SVG drawn on the server (its size in SVG units; CSS scales it)."""

    bars: list[Bar]
    total: Decimal
    top: Decimal
    ticks: list[tuple[int, date]]
    width: int = CHART_DAYS * 20
    height: int = 150
    base: int = 130  # the y of the zero line; labels under it
    bar_width: int = 16


def sales_chart(per_day: dict[date, Decimal], last: date) -> Chart:
    """Bars for the CHART_DAYS days ending `last` (a day without sales is an empty slot; a net-negative day,
    credit notes above sales, draws no bar)."""
    days = [last - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]
    top = max([per_day.get(d, Decimal(0)) for d in days] + [Decimal(0)])
    room = 120  # the tallest bar's height
    bars, ticks = [], []
    for i, day in enumerate(days):
        amount = per_day.get(day, Decimal(0))
        height = int((amount / top * room).to_integral_value()) if top > 0 and amount > 0 else 0
        if amount > 0 and height == 0:
            height = 1  # a small day still shows
        bars.append(Bar(x=i * 20 + 2, y=130 - height, height=height, day=day, amount=amount))
        if i % 7 == 0 or i == CHART_DAYS - 1:
            ticks.append((i * 20 + 10, day))
    return Chart(bars=bars, total=sum((per_day.get(d, Decimal(0)) for d in days), Decimal(0)), top=top, ticks=ticks)


def _aging_tile(label: str, totals: dict[str, Decimal], href: str) -> Tile:
    totals = {key: Decimal(value) for key, value in totals.items()}
    total = totals.get("total", Decimal(0))
    overdue = sum((totals.get(key, Decimal(0)) for key, _label in BUCKETS[1:]), Decimal(0))
    return Tile(label, fmt.rupiah(total), href,
                note=_("%(amount)s overdue", amount=fmt.rupiah(overdue)) if overdue else _("nothing overdue"),
                tone="warn" if overdue else "",
                rows=[(_(english), fmt.rupiah(totals.get(key, Decimal(0)))) for key, english in BUCKETS])


async def tiles(session: AsyncSession, viewer: Viewer, today: date) -> tuple[list[Tile], Chart | None]:
    """The tiles this viewer may see, and the sales chart (None without sales.read)."""
    out: list[Tile] = []
    if viewer.may("inventory.read"):
        stock = await reads.stock_value(session)
        out.append(Tile(_("Stock value"), fmt.rupiah(stock.value), "/stock/valuation",
                        note=_("products in stock: %(n)s", n=fmt.num(stock.in_stock))))
        low = len(await inventory.low_stock(session))
        out.append(Tile(_("Low stock"), fmt.num(low), "/stock/low",
                        note=_("products below their minimum") if low else _("every product above its minimum"),
                        tone="warn" if low else ""))
    if viewer.may("sales.read"):
        orders = await reads.open_sales_orders(session)
        out.append(Tile(_("Open sales orders"), fmt.num(orders.count), "/sales-orders",
                        note=_("worth %(amount)s", amount=fmt.rupiah(orders.total))))
    if viewer.may("purchasing.read"):
        orders = await reads.open_purchase_orders(session)
        out.append(Tile(_("Open purchase orders"), fmt.num(orders.count), "/purchase-orders",
                        note=_("worth %(amount)s", amount=fmt.rupiah(orders.total))))
    # The aging tiles demand what their reports (and the API) demand: receivables sales.read, payables
    # purchasing.read.
    if viewer.may("sales.read"):
        out.append(_aging_tile(_("Receivables (AR)"), await reads.receivables_aging(session, today),
                               "/reports/ar-aging"))
    if viewer.may("purchasing.read"):
        out.append(_aging_tile(_("Payables (AP)"), await reads.payables_aging(session, today), "/reports/ap-aging"))
    if viewer.may("production.read"):
        report = await production.production_report(session, today, today, "day")
        totals = report.totals
        out.append(Tile(_("Production today"), f"{fmt.qty(totals.output_kg)} kg", "/production/kpi",
                        note=_("scrap %(pct)s", pct=fmt.ratio_pct(totals.scrap_ratio)) if totals.scrap_ratio
                        is not None else _("no output posted yet"),
                        tone="warn" if (totals.scrap_ratio or 0) > Decimal("0.05") else ""))
    chart = None
    if viewer.may("sales.read"):
        first = today - timedelta(days=CHART_DAYS - 1)
        chart = sales_chart(await reads.sales_per_day(session, first, today), today)
    return out, chart


@router.get("/")
@html_page
async def dashboard(request: Request, session: TenantSession):
    """The plant's figures the viewer may read: stock, orders, receivables and payables, today's production,
    and sales per day over the last 30 days."""
    principal = await signed_in(request, session)
    viewer: Viewer = request.state.viewer
    today = fmt.today()
    shown, chart = await tiles(session, viewer, today)
    return page(request, "tenant/dashboard.html", title=_("Dashboard"), plan=tenant_of(request).plan,
                must_change=principal.user.must_change_password, last_login=principal.user.last_login_at,
                tiles=shown, chart=chart, today=today)
