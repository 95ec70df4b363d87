"""Benchmark: do the reports cost what their answer costs, or what the history costs?

    python bench/ledger.py            # a three-year history: 1-4 minutes on 2 cores (most of it the load)
    python bench/ledger.py --quick    # a 110-day "long" history: under a minute

Starts its own PostgreSQL cluster (temp folder, fsync off) and Redis, builds a fresh main database and
provisions two tenants with the real code (migrations included). Into one it writes a three-year history
of a mid-size plant (~300 k stock movements, ~1.5 M journal lines, ~50 k sales and supplier invoices with
their payments; see bench/ledger_data.py for what is written and how it is checked), into the other one
month of the same plant. Then it times on both, through the real service functions (what the endpoints
call), median of --repeat runs after one warm-up:

  trial balance (as of today), balance sheet (today), P&L (this month), the GL of 1102 Bank for this
  month (first page), AR aging, AP aging, stock valuation (today), the PPN summary (this month)

and posting a 10-line sales invoice through the sales service (create order, confirm, deliver, post the
delivery, invoice, post the invoice: one transaction, committed) on each history.

Both tenants first close their books through the end of last month (accounting.set_books_closed_through,
as a plant does every month; --open-books skips it): the reports then read the closed months' sums and
only this month's lines.

Target: each report on the long history within 2x of the one-month history, and posting flat.
Everything it starts is stopped, and its temp folders removed, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine  # noqa: E402

from bench import harness, ledger_data  # noqa: E402
from polyflow.platform.runtime import Platform  # noqa: E402

out = Console() if sys.stdout.isatty() else Console(width=160)
progress = Console(stderr=True, style="dim")

TARGET_RATIO = 2.0
FULL_DAYS, QUICK_DAYS, MONTH_DAYS = 1095, 110, 30


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=FULL_DAYS, help="length of the long history in days")
    p.add_argument("--repeat", type=int, default=7, help="timed runs per report (median)")
    p.add_argument("--postings", type=int, default=7, help="10-line sales invoices posted per history (median)")
    p.add_argument("--open-books", action="store_true",
                   help="leave the books open (by default both tenants close them through the end of last month)")
    p.add_argument("--quick", action="store_true", help=f"a {QUICK_DAYS}-day long history, 3 runs each")
    args = p.parse_args()
    if args.quick:
        if args.days == FULL_DAYS:
            args.days = QUICK_DAYS
        args.repeat = min(args.repeat, 3)
        args.postings = min(args.postings, 3)
    if args.days < MONTH_DAYS:
        p.error(f"--days must be at least {MONTH_DAYS}")
    return args


load = harness.load


# -- the reports, as the endpoints call them ------------------------------------------------------
def reports(today: date):
    from polyflow.erp.accounting import reports as acc
    from polyflow.erp.inventory import service as inventory
    from polyflow.erp.purchasing import invoicing as purchasing
    from polyflow.erp.sales import invoicing as sales
    from polyflow.erp.tax import ppn

    month_start = today.replace(day=1)
    return [
        ("trial balance", lambda s: acc.trial_balance(s, today)),
        ("balance sheet", lambda s: acc.balance_sheet(s, today)),
        ("P&L (this month)", lambda s: acc.profit_and_loss(s, month_start, today)),
        ("GL 1102, this month, page 1", lambda s: acc.general_ledger(s, "1102", today, month_start, limit=100)),
        ("AR aging", lambda s: sales.ar_aging(s, today)),
        ("AP aging", lambda s: purchasing.ap_aging(s, today)),
        ("stock valuation", lambda s: inventory.valuation(s, today)),
        ("PPN summary (this month)", lambda s: ppn.ppn_summary(s, f"{today:%Y-%m}")),
    ]


async def time_call(engine, fn, repeat: int) -> float:
    """Median ms of `repeat` calls after one warm-up, each in its own read transaction."""
    times = []
    for i in range(repeat + 1):
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            t = time.perf_counter()
            await fn(session)
            if i:
                times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


async def post_sales_invoice(engine, today: date, user_id, customer_id, variant_ids) -> tuple[float, float]:
    """Order -> confirm -> deliver -> post delivery -> invoice -> post invoice, 10 lines, one commit:
    (ms of the whole flow, ms of post_invoice alone)."""
    from polyflow.erp.sales import service as sales
    from polyflow.erp.sales.schemas import DeliveryIn, InvoiceIn, SalesOrderIn

    t = time.perf_counter()
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        order = await sales.create_order(session, SalesOrderIn(
            customer_id=customer_id, order_date=today, location=ledger_data.LOCATION,
            lines=[{"variant_id": v, "quantity": Decimal(2)} for v in variant_ids]), user_id)
        await sales.confirm_order(session, order.id, user_id)
        lines = [{"order_line_id": line.id, "quantity": line.quantity} for line in order.lines]
        delivery = await sales.create_delivery(session, DeliveryIn(order_id=order.id, delivery_date=today,
                                                                   lines=lines), user_id)
        await sales.post_delivery(session, delivery.id, user_id)
        invoice = await sales.create_invoice(session, InvoiceIn(order_id=order.id, invoice_date=today), user_id)
        t_post = time.perf_counter()
        await sales.post_invoice(session, invoice.id, user_id)
        post_ms = (time.perf_counter() - t_post) * 1000
    return (time.perf_counter() - t) * 1000, post_ms


async def run(args, admin, settings) -> None:
    today = date.today()
    await harness.build_main_database(admin, settings)
    platform = Platform(settings)
    try:
        tenants = await harness.provision_tenants(platform, 2, 0, roles=("owner",))
        routes = [await platform.routes.get("sub:" + t.subdomain) for t in tenants]
        dsns = [r.dsn(platform.secrets.decrypt(r.db_password_enc)) for r in routes]
    finally:
        await platform.stop()

    histories = [("1 month", MONTH_DAYS), (f"{args.days} days", args.days)]
    counts, engines, actors = [], [], []
    for (label, days), tenant in zip(histories, tenants):
        conn = await asyncpg.connect(**admin.with_database(tenant.db_name).asyncpg_kwargs())
        try:
            t = time.perf_counter()
            first, last = ledger_data.history_range(today, days)
            c = await ledger_data.build_history(conn, first, last)
            problems = await ledger_data.check_history(conn, last)
            if problems:
                raise SystemExit(f"the {label} history is inconsistent: {'; '.join(problems)}")
            progress.print(f"{label} history {first}..{last}: {c['movements']:,} movements, {c['lines']:,} journal "
                           f"lines, {c['invoices']:,} invoices, checked ({time.perf_counter() - t:.0f} s)")
            counts.append(c)
            user = await conn.fetchval("SELECT id FROM users ORDER BY created_at LIMIT 1")
            customer = await conn.fetchval("SELECT id FROM partners WHERE code = 'H-C0007'")
            variants = [r["id"] for r in await conn.fetch(
                "SELECT id FROM product_variants WHERE sku LIKE 'H-FG-%' ORDER BY sku LIMIT 10")]
            actors.append((user, customer, variants))
        finally:
            await conn.close()
        engines.append(create_async_engine(dsns[len(engines)].url(), pool_size=2))

    closed_through = today.replace(day=1) - timedelta(days=1)
    if not args.open_books:
        from polyflow.erp.accounting import service as accounting

        for (label, _days), engine in zip(histories, engines):
            t = time.perf_counter()
            async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
                await accounting.set_books_closed_through(session, closed_through, may_reopen=False)
            progress.print(f"{label}: books closed through {closed_through} by the accounting service "
                           f"({(time.perf_counter() - t) * 1000:.0f} ms: the closed months summed once)")

    try:
        rows = []
        load_before = load()
        for name, fn in reports(today):
            ms = [await time_call(engine, fn, args.repeat) for engine in engines]
            rows.append((name, *ms))
            progress.print(f"{name}: {ms[0]:.1f} / {ms[1]:.1f} ms")
        postings = []
        for engine, (user, customer, variants) in zip(engines, actors):
            runs = [await post_sales_invoice(engine, today, user, customer, variants) for _ in range(args.postings + 1)]
            runs = runs[1:]  # the first pays the engine's and the caches' warm-up
            postings.append((statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)))
        load_after = load()
    finally:
        for engine in engines:
            await engine.dispose()

    short, long_ = counts
    table = Table(title=f"Reports on a 1-month vs a {args.days}-day history (median of {args.repeat}, ms)")
    for col in ("report", "1-month ms", f"{args.days}-day ms", "ratio", "target", "verdict"):
        table.add_column(col, justify="left" if col == "report" else "right")
    for name, a, b in rows:
        ratio = b / a
        table.add_row(name, f"{a:.1f}", f"{b:.1f}", f"{ratio:.2f}x", f"<= {TARGET_RATIO:g}x",
                      "ok" if ratio <= TARGET_RATIO else "MISS")
    for i, what in enumerate(("post 10-line sales invoice: whole flow", "  of which post_invoice")):
        a, b = postings[0][i], postings[1][i]
        ratio = b / a
        table.add_row(what, f"{a:.1f}", f"{b:.1f}", f"{ratio:.2f}x", f"<= {TARGET_RATIO:g}x",
                      "ok" if ratio <= TARGET_RATIO else "MISS")
    out.print(table)
    out.print("books: " + ("open (--open-books)" if args.open_books else f"closed through {closed_through} on both"))
    out.print(f"history sizes: 1 month {short['movements']:,} movements / {short['lines']:,} lines / "
              f"{short['invoices']:,} invoices; {args.days} days {long_['movements']:,} / {long_['lines']:,} / "
              f"{long_['invoices']:,}")
    out.print(f"load average while measuring: {load_before} (before) -> {load_after} (after)")


def main() -> None:
    harness.run_bench("ledger.py", out, run, parse_args())


if __name__ == "__main__":
    main()
