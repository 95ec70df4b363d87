"""Benchmark: do the pages cost what they show, or what the history holds? And how big are they?

    python bench/pages.py            # the demo plant, and the demo plant on a three-year history (3-5 minutes)
    python bench/pages.py --quick    # a 110-day "long" history, fewer runs (about 2 minutes)
    python bench/pages.py --only /invoices --only /partners   # time just the pages under these prefixes
    python bench/pages.py --hold /tmp/hold   # keep the databases: measure again each time the file is touched

Starts its own PostgreSQL cluster (temp folder, fsync off) and Redis, builds a fresh main database and
provisions two tenants with the real code (migrations included), both on the "pro" plan (every module):

  pt-001: the demo plant (erp/demo: products, partners, three weeks of purchasing, sales, production, a stock
          count, a toll order ...), seeded through the services;
  pt-002: the same demo plant, plus the ledger benchmark's three-year history written under it
          (bench/ledger_data.py: ~300 k stock movements, ~1.5 M journal lines, ~50 k invoices).

Both close their books through the end of last month, as a plant does every month (the ledger bench does
the same). The app runs in its own process (bench/serve.py, one uvicorn worker); every main page - the
dashboard, each page of the menu, the account page and one document of each kind - is requested --repeat
times after one warm-up, by the tenant owner's API token, in Bahasa Indonesia. For each page the table shows
the response time on loopback (p50, p95: the server's time plus well under a millisecond of HTTP), the
page's size before compression, and the verdicts: p95 on the long history within 2x of the demo's, and no
page above 150 KB.

Everything it starts is stopped, and its temp folders removed, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine  # noqa: E402

from bench import harness, ledger_data  # noqa: E402
from polyflow.platform.runtime import Platform  # noqa: E402

out = Console() if sys.stdout.isatty() else Console(width=170)
progress = Console(stderr=True, style="dim")

TARGET_RATIO = 2.0
MAX_BYTES = 150 * 1024
FULL_DAYS, QUICK_DAYS = 1095, 110
DEMO_PLANT = "pt-abc"  # erp/demo's plant whose data both tenants get
# One document of each kind (the demo's own, not the bulk history's "H-" rows): page template -> query.
DETAILS = {
    "/products/{id}": "SELECT id FROM products WHERE sku NOT LIKE 'H-%' ORDER BY sku LIMIT 1",
    "/partners/{id}": "SELECT id FROM partners WHERE code NOT LIKE 'H-%' ORDER BY code LIMIT 1",
    "/sales-orders/{id}": "SELECT id FROM sales_orders WHERE number NOT LIKE 'H-%' ORDER BY number DESC LIMIT 1",
    "/invoices/{id}": "SELECT id FROM sales_invoices WHERE number NOT LIKE 'H-%' AND kind = 'invoice' "
                      "AND status <> 'draft' ORDER BY number DESC LIMIT 1",
    "/purchase-orders/{id}": "SELECT id FROM purchase_orders WHERE number NOT LIKE 'H-%' ORDER BY number DESC LIMIT 1",
    "/journal/{id}": "SELECT id FROM journal_entries WHERE number NOT LIKE 'H-%' ORDER BY entry_date DESC, number "
                     "DESC LIMIT 1",
    "/production/orders/{id}": "SELECT id FROM production_orders ORDER BY number DESC LIMIT 1",
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=FULL_DAYS, help="length of the long history in days")
    p.add_argument("--repeat", type=int, default=20, help="timed requests per page and tenant (after a warm-up)")
    p.add_argument("--quick", action="store_true", help=f"a {QUICK_DAYS}-day long history, 8 requests per page")
    p.add_argument("--only", action="append", default=[], metavar="PREFIX",
                   help="time only the pages whose path template starts with PREFIX (repeatable)")
    p.add_argument("--hold", type=Path, metavar="FILE",
                   help="after measuring, write the tenants' database DSNs to FILE and keep everything running: "
                        "touch FILE to restart the app server and measure again (e.g. after a code change), "
                        "delete it to stop")
    args = p.parse_args()
    if args.quick:
        if args.days == FULL_DAYS:
            args.days = QUICK_DAYS
        args.repeat = min(args.repeat, 8)
    return args


def main_pages() -> list[str]:
    """The dashboard, every page of the menu (in its order) and the account page."""
    from polyflow.erp.pages import NAV

    return ["/"] + [href for _group, items in NAV for _label, href, _perm in items] + ["/account"]


async def seed_demo(engine) -> int:
    from polyflow.erp.demo import seed_tenant

    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        return await seed_tenant(session, DEMO_PLANT)


async def close_books(engine, through: date) -> None:
    from polyflow.erp.accounting import service as accounting

    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        await accounting.set_books_closed_through(session, through, may_reopen=False)


async def prepare(args, admin, settings) -> tuple[list, list[dict]]:
    """Two tenants with the demo plant, the second on the long history; returns their infos and sizes."""
    from polyflow.platform import entitlements

    today = date.today()
    await harness.build_main_database(admin, settings)
    platform = Platform(settings)
    try:
        tenants = await harness.provision_tenants(platform, 2, 0, roles=("owner",))
        for t in tenants:
            await entitlements.set_plan(platform, t.subdomain, "pro")
        routes = [await platform.routes.get("sub:" + t.subdomain) for t in tenants]
        dsns = [r.dsn(platform.secrets.decrypt(r.db_password_enc)) for r in routes]
    finally:
        await platform.stop()

    sizes = []
    for i, (tenant, dsn) in enumerate(zip(tenants, dsns)):
        engine = create_async_engine(dsn.url(), pool_size=1)
        try:
            t = time.perf_counter()
            products = await seed_demo(engine)
            progress.print(f"{tenant.subdomain}: demo plant seeded ({products} products, "
                           f"{time.perf_counter() - t:.0f} s)")
            if i == 1:
                conn = await asyncpg.connect(**admin.with_database(tenant.db_name).asyncpg_kwargs())
                try:
                    t = time.perf_counter()
                    # The history ends the day before the demo's three weeks start, so neither changes the other's
                    # figures; it only makes the tables (and every date range before them) three years deep.
                    demo_start = await conn.fetchval("SELECT min(entry_date) FROM journal_entries")
                    first, last = ledger_data.history_range(demo_start - timedelta(days=1), args.days)
                    c = await ledger_data.build_history(conn, first, last)
                    progress.print(f"{tenant.subdomain}: history {first}..{last} written under the demo: "
                                   f"{c['movements']:,} movements, {c['lines']:,} journal lines, "
                                   f"{c['invoices']:,} invoices ({time.perf_counter() - t:.0f} s)")
                finally:
                    await conn.close()
            await close_books(engine, today.replace(day=1) - timedelta(days=1))
            conn = await asyncpg.connect(**admin.with_database(tenant.db_name).asyncpg_kwargs())
            try:
                await conn.execute("ANALYZE")  # what autovacuum does soon after a load: plans with statistics
                sizes.append(dict(await conn.fetchrow(
                    "SELECT (SELECT count(*) FROM stock_movements) AS movements, "
                    "(SELECT count(*) FROM journal_lines) AS lines, "
                    "(SELECT count(*) FROM sales_invoices) + (SELECT count(*) FROM purchase_invoices) AS invoices")))
                ids = {}
                for template, query in DETAILS.items():
                    found = await conn.fetchval(query)
                    if found is not None:
                        ids[template] = template.replace("{id}", str(found))
                tenant.details = ids
            finally:
                await conn.close()
        finally:
            await engine.dispose()
    return tenants, sizes


def measure(base_url: str, tenants: list[tuple[str, str, list[str]]], repeat: int) -> list[dict[str, dict]]:
    """Per tenant (host, token, paths), per path: p50 / p95 ms (loopback), bytes, status. The tenants take
    turns request by request, so a busy moment of the machine falls on both alike."""
    clients = [httpx.Client(base_url=base_url, timeout=60, headers={
        "Host": host, "Authorization": f"Bearer {token}", "Accept": "text/html"}) for host, token, _paths in tenants]
    results: list[dict[str, dict]] = [{} for _ in tenants]
    try:
        for i in range(len(tenants[0][2])):
            times: list[list[float]] = [[] for _ in tenants]
            for n in range(repeat + 1):
                for k, client in enumerate(clients):
                    path = tenants[k][2][i]
                    t = time.perf_counter()
                    r = client.get(path)
                    elapsed = (time.perf_counter() - t) * 1000
                    if n:  # the first request of each page warms it up
                        times[k].append(elapsed)
                    results[k][path] = {"bytes": len(r.content), "status": r.status_code}
            for k in range(len(tenants)):
                path = tenants[k][2][i]
                ordered = sorted(times[k])
                results[k][path].update(p50=harness.percentile(ordered, 50), p95=harness.percentile(ordered, 95))
    finally:
        for client in clients:
            client.close()
    return results


def wanted(template: str, prefixes: list[str]) -> bool:
    return not prefixes or any(template.startswith(prefix) for prefix in prefixes)


async def run(args, admin, settings, stack: contextlib.ExitStack, workdir: Path) -> None:
    tenants, sizes = await prepare(args, admin, settings)
    while True:
        with contextlib.ExitStack() as round_stack:  # a fresh app server per round: it loads the code as it is now
            server = harness.ServerProcess(settings, workdir).start(round_stack)
            report(args, settings, server, tenants, sizes)
        if args.hold is None:
            return
        args.hold.write_text("".join(f"{t.subdomain} {admin.with_database(t.db_name).url('postgresql')}\n"
                                     for t in tenants))
        seen = args.hold.stat().st_mtime
        progress.print(f"holding: DSNs in {args.hold}; touch it to measure again, delete it to stop")
        while args.hold.exists() and args.hold.stat().st_mtime == seen:
            time.sleep(1)
        if not args.hold.exists():
            return


def report(args, settings, server, tenants, sizes) -> None:
    pages = [page for page in main_pages() if wanted(page, args.only)]
    load_before = harness.load()
    # The same pages in the same order on both tenants (a document page of a kind the demo lacks is left out).
    details = [t for t in DETAILS if wanted(t, args.only) and all(t in tenant.details for tenant in tenants)]
    plan = [(f"{tenant.subdomain}.{settings.root_domain}", tenant.token,
             pages + [tenant.details[t] for t in details]) for tenant in tenants]
    t = time.perf_counter()
    results = measure(server.base_url, plan, args.repeat)
    progress.print(f"{len(plan[0][2])} pages x {args.repeat + 1} requests x {len(plan)} tenants "
                   f"({time.perf_counter() - t:.0f} s)")
    load_after = harness.load()

    short, long_ = results
    table = Table(title=f"Pages on the demo plant vs the demo plant on a {args.days}-day history "
                        f"(ms on loopback, {args.repeat} requests each after a warm-up; KB before compression)")
    for col in ("page", "demo p50", "demo p95", "long p50", "long p95", "p95 ratio", "demo KB", "long KB",
                "verdict"):
        table.add_column(col, justify="left" if col == "page" else "right")
    misses = 0
    for template in pages + [t for t in DETAILS if wanted(t, args.only)]:
        a_path = template if template in short else tenants[0].details.get(template)
        b_path = template if template in long_ else tenants[1].details.get(template)
        if a_path is None or b_path is None:
            table.add_row(template, *["-"] * 7, "no row")
            continue
        a, b = short[a_path], long_[b_path]
        ratio = b["p95"] / a["p95"]
        problems = []
        if a["status"] != 200 or b["status"] != 200:
            problems.append(f"status {a['status']}/{b['status']}")
        if ratio > TARGET_RATIO:
            problems.append(f"p95 > {TARGET_RATIO:g}x")
        if max(a["bytes"], b["bytes"]) > MAX_BYTES:
            problems.append("> 150 KB")
        misses += bool(problems)
        table.add_row(template, f"{a['p50']:.1f}", f"{a['p95']:.1f}", f"{b['p50']:.1f}", f"{b['p95']:.1f}",
                      f"{ratio:.2f}x", f"{a['bytes'] / 1024:.1f}", f"{b['bytes'] / 1024:.1f}",
                      "ok" if not problems else "MISS: " + ", ".join(problems))
    out.print(table)
    out.print(f"targets: p95 on the long history <= {TARGET_RATIO:g}x the demo's, every page <= 150 KB; "
              f"{misses} page(s) miss")
    out.print(f"data: demo {sizes[0]['movements']:,} movements / {sizes[0]['lines']:,} journal lines / "
              f"{sizes[0]['invoices']:,} invoices; long {sizes[1]['movements']:,} / {sizes[1]['lines']:,} / "
              f"{sizes[1]['invoices']:,}; books closed through the end of last month on both")
    out.print(f"load average while measuring: {load_before} (before) -> {load_after} (after)")


def main() -> None:
    args = parse_args()
    out.print(f"command: python bench/pages.py {' '.join(sys.argv[1:])}".rstrip())
    out.print(f"machine: {harness.machine_line()}")
    out.print(f"code: {harness.git_state()}; load average at start: {harness.load()}")
    with contextlib.ExitStack() as stack:
        workdir, _load, admin, redis = harness.start_services(stack, prefix="pf-bench-pages-", load_kind="python",
                                                              say=progress.print)
        settings = harness.bench_settings(admin.with_database(harness.MAIN_DB).url("postgresql"), redis.url)
        harness.run_async(run(args, admin, settings, stack, workdir))


if __name__ == "__main__":
    main()
