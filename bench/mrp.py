"""Benchmark: MRP over a converter's catalogue, and shop-floor output recorded one execution after another.

    python bench/mrp.py            # 2,000 products / 5,000 open sales lines vs 1/10 of that; 1,000 vs 100 executions
    python bench/mrp.py --quick    # a quarter of that (500 products / 1,250 lines vs 50 / 125; 250 vs 25 executions)

Starts its own PostgreSQL cluster (temp folder, fsync off) and Redis, builds a fresh main database and
provisions two tenants with the real code (migrations included). Into each it writes (set-based SQL, see
`seed`) a catalogue in five BOM levels - finished bags (40 %), fabrics (20 %), tapes (15 %), compounds
(12.5 %) and bought raw materials (12.5 %) - where every made product has a default BOM of three lines (two
of the next level, one raw material: raw materials occur at every level, so low-level coding matters),
expected scrap 3 %; stock on every other variant; reorder points on the raw materials; open sales orders of
five lines each (confirmed, dated over the last 20 days); draft production orders for a quarter of the
fabrics (their BOMs still to issue) and one open purchase request for a third of the raw materials.
The "full" tenant gets --products / --lines, the "tenth" one a tenth of both.

Then, through the real service functions (what the endpoints call), the two tenants taking turns so that
other work on the machine falls on both sizes alike:
  1. `planning.service.run_mrp` (horizon 30 days, sales and reorder points), median of --repeat runs after
     one warm-up, each committed (each supersedes the previous run's proposals, as a planner's rerun does);
  2. one released production order of a bag with a two-line BOM, and --executions shop-floor outputs
     (10 bags each, backflushed: material issue + output movement + PEX journal + lot), each one a committed
     transaction, one after another as the tablet sends them (in 10 rounds alternating with the other
     tenant); the tenth tenant records a tenth as many.

Target: roughly linear growth (ratio near the size ratio, 10x, or below), and an MRP answer a planner can
wait for (a few seconds). Everything it starts is stopped, and its temp folders removed, also on error.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine  # noqa: E402

from bench import harness  # noqa: E402
from polyflow.platform.runtime import Platform  # noqa: E402

out = Console() if sys.stdout.isatty() else Console(width=160)
progress = Console(stderr=True, style="dim")

# Share of the products at each BOM level (0 = finished bags ... 4 = bought raw materials).
LEVEL_SHARES = (0.40, 0.20, 0.15, 0.125, 0.125)
STAGES = ("cutting_sewing", "weaving", "extrusion", "mixing")
LINES_PER_ORDER = 5


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--products", type=int, default=2000, help="products of the full tenant (5 BOM levels)")
    p.add_argument("--lines", type=int, default=5000, help="open sales order lines of the full tenant")
    p.add_argument("--executions", type=int, default=1000, help="shop-floor outputs recorded on the full tenant")
    p.add_argument("--repeat", type=int, default=5, help="timed MRP runs per tenant (median)")
    p.add_argument("--quick", action="store_true", help="a quarter of the sizes, 3 MRP runs")
    args = p.parse_args()
    if args.quick:
        args.products, args.lines, args.executions = args.products // 4, args.lines // 4, args.executions // 4
        args.repeat = min(args.repeat, 3)
    if args.products < 100 or args.lines < 50 or args.executions < 10:
        p.error("at least 100 products, 50 lines and 10 executions (the tenth tenant gets a tenth)")
    return args


load = harness.load


def level_sizes(products: int) -> list[int]:
    sizes = [max(3, round(products * share)) for share in LEVEL_SHARES]
    sizes[0] += products - sum(sizes)
    return sizes


async def seed(conn: asyncpg.Connection, products: int, lines: int) -> dict:
    """The catalogue, BOMs, stock, open demand and supply described in the module docstring, written as a
    superuser with triggers and foreign-key checks off (the rows are consistent by construction)."""
    sizes = level_sizes(products)
    orders = lines // LINES_PER_ORDER
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("CREATE TEMP TABLE m_level (k int PRIMARY KEY, n int) ON COMMIT DROP")
        await conn.executemany("INSERT INTO m_level VALUES ($1, $2)", list(enumerate(sizes)))
        await conn.execute("""
            INSERT INTO products (id, sku, name, unit, product_type, is_active, min_stock, reorder_qty)
            SELECT gen_random_uuid(), 'M' || k || '-' || lpad(i::text, 5, '0'), 'MRP item ' || k || '/' || i,
                   CASE WHEN k = 0 THEN 'PCS' ELSE 'KG' END,
                   CASE k WHEN 0 THEN 'finished_good' WHEN 4 THEN 'raw_material' ELSE 'intermediate' END, true,
                   CASE WHEN k = 4 THEN 500 ELSE 0 END, CASE WHEN k = 4 THEN 1000 ELSE 0 END
            FROM m_level, generate_series(0, n - 1) i""")
        await conn.execute("""
            INSERT INTO product_variants (id, product_id, sku, name, is_default)
            SELECT gen_random_uuid(), id, sku, name, true FROM products WHERE sku ~ '^M[0-4]-'""")
        await conn.execute("""
            CREATE TEMP TABLE m_item ON COMMIT DROP AS
            SELECT substr(v.sku, 2, 1)::int AS k, substr(v.sku, 4)::int AS i, v.id AS variant_id, v.product_id
            FROM product_variants v WHERE v.sku ~ '^M[0-4]-'""")
        await conn.execute("CREATE UNIQUE INDEX ON m_item (k, i)")
        await conn.execute(f"""
            INSERT INTO boms (id, product_id, version, stage, output_quantity, expected_scrap_pct, is_active,
                              is_default)
            SELECT gen_random_uuid(), product_id, 1, (ARRAY{list(STAGES)!r})[k + 1], 1, 3, true, true
            FROM m_item WHERE k < 4""")
        # Two lines of the next level, one raw material (for the compounds, three different raw materials).
        await conn.execute("""
            INSERT INTO bom_lines (id, bom_id, line_no, variant_id, quantity)
            SELECT gen_random_uuid(), b.id, l.line_no, c.variant_id, l.qty
            FROM m_item p JOIN boms b ON b.product_id = p.product_id
            JOIN m_level nx ON nx.k = p.k + 1 JOIN m_level raw ON raw.k = 4
            CROSS JOIN LATERAL (VALUES
                (1, p.k + 1, (p.i * 7 + 1) % nx.n, 1.05),
                (2, p.k + 1, (p.i * 7 + 2) % nx.n, 0.5),
                (3, 4, CASE WHEN p.k = 3 THEN (p.i * 7 + 3) % raw.n ELSE (p.i * 3 + 2) % raw.n END, 0.2)
            ) l(line_no, ck, ci, qty)
            JOIN m_item c ON c.k = l.ck AND c.i = l.ci
            WHERE p.k < 4""")
        fg_wh = await conn.fetchval("SELECT id FROM locations WHERE code = 'FG-WH'")
        rm_wh = await conn.fetchval("SELECT id FROM locations WHERE code = 'RM-WH'")
        await conn.execute("""
            INSERT INTO stock_levels (location_id, variant_id, on_hand, reserved)
            SELECT CASE WHEN k = 0 THEN $1::uuid ELSE $2::uuid END, variant_id, 20 + (i % 50) * 4, 0
            FROM m_item WHERE i % 2 = 0""", fg_wh, rm_wh)
        await conn.execute("""
            UPDATE product_variants v SET qty_total = s.on_hand, stock_value = s.on_hand * 1000
            FROM stock_levels s WHERE s.variant_id = v.id AND v.sku ~ '^M[0-4]-'""")
        await conn.execute("""
            INSERT INTO partners (id, code, name, is_customer)
            SELECT gen_random_uuid(), 'M-C' || lpad(c::text, 3, '0'), 'PT Pelanggan ' || c, true
            FROM generate_series(0, 19) c""")
        await conn.execute("""
            INSERT INTO sales_orders (id, number, customer_id, order_date, location_id, status)
            SELECT gen_random_uuid(), 'M-SO-' || lpad(j::text, 6, '0'),
                   (SELECT id FROM partners WHERE code = 'M-C' || lpad((j % 20)::text, 3, '0')),
                   current_date - (j % 20), $1, 'confirmed'
            FROM generate_series(0, $2 - 1) j""", fg_wh, orders)
        await conn.execute(f"""
            INSERT INTO sales_order_lines (id, order_id, line_no, variant_id, description, unit, quantity,
                                           unit_price, tax_code, amount, base, tax)
            SELECT gen_random_uuid(), o.id, ln, it.variant_id, 'Karung 50x90', 'PCS', q, 2500, 'PPN', q * 2500,
                   q * 2500, 0
            FROM (SELECT id, substr(number, 7)::int AS j FROM sales_orders WHERE number LIKE 'M-SO-%') o
            CROSS JOIN generate_series(1, {LINES_PER_ORDER}) ln
            CROSS JOIN LATERAL (SELECT 100 + ((o.j * {LINES_PER_ORDER} + ln) % 50) * 10 AS q) qq
            JOIN m_level l0 ON l0.k = 0
            JOIN m_item it ON it.k = 0 AND it.i = ((o.j * {LINES_PER_ORDER} + ln) * 17) % l0.n""")
        await conn.execute("""
            INSERT INTO production_orders (id, status, priority, stage, variant_id, bom_id, quantity,
                                           source_location_id, output_location_id, step_seq)
            SELECT gen_random_uuid(), 'draft', 'normal', 'weaving', it.variant_id, b.id, 500, $1, $1, 1
            FROM m_item it JOIN boms b ON b.product_id = it.product_id WHERE it.k = 1 AND it.i % 4 = 0""",
                           rm_wh)
        request = await conn.fetchval("""
            INSERT INTO purchase_requests (id, status, request_date, note)
            VALUES (gen_random_uuid(), 'draft', current_date, 'bench: open request') RETURNING id""")
        await conn.execute("""
            INSERT INTO purchase_request_lines (id, request_id, line_no, variant_id, quantity)
            SELECT gen_random_uuid(), $1, row_number() OVER (ORDER BY i), variant_id, 300
            FROM m_item WHERE k = 4 AND i % 3 = 0""", request)
        # The execution bench's bag: 0.05 kg resin and 0.002 kg masterbatch per bag, 2 % scrap.
        await conn.execute("""
            INSERT INTO products (id, sku, name, unit, product_type, is_active)
            VALUES (gen_random_uuid(), 'X-BAG', 'Karung bench', 'PCS', 'finished_good', true),
                   (gen_random_uuid(), 'X-RESIN', 'PP resin bench', 'KG', 'raw_material', true),
                   (gen_random_uuid(), 'X-MB', 'Masterbatch bench', 'KG', 'raw_material', true)""")
        await conn.execute("""
            INSERT INTO product_variants (id, product_id, sku, name, is_default)
            SELECT gen_random_uuid(), id, sku, name, true FROM products WHERE sku LIKE 'X-%'""")
        await conn.execute("""
            INSERT INTO boms (id, product_id, version, stage, output_quantity, expected_scrap_pct, is_active,
                              is_default)
            SELECT gen_random_uuid(), id, 1, 'cutting_sewing', 1, 2, true, true FROM products WHERE sku = 'X-BAG'""")
        await conn.execute("""
            INSERT INTO bom_lines (id, bom_id, line_no, variant_id, quantity)
            SELECT gen_random_uuid(), b.id, l.n, v.id, l.q
            FROM boms b JOIN products p ON p.id = b.product_id AND p.sku = 'X-BAG'
            CROSS JOIN (VALUES (1, 'X-RESIN', 0.05), (2, 'X-MB', 0.002)) l(n, sku, q)
            JOIN product_variants v ON v.sku = l.sku""")
    await conn.execute("VACUUM ANALYZE")  # what autovacuum would do after a load this size
    return {"products": products, "levels": sizes, "lines": orders * LINES_PER_ORDER,
            "bom_lines": await conn.fetchval("SELECT count(*) FROM bom_lines"),
            "stocked": await conn.fetchval("SELECT count(*) FROM stock_levels")}


async def mrp_once(engine, user_id) -> tuple[float, dict]:
    """One committed MRP run (each supersedes the previous run's proposals, as a planner's rerun does): ms and
    what it found."""
    from polyflow.erp.planning import service
    from polyflow.erp.planning.schemas import RunIn

    t = time.perf_counter()
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        run = await service.run_mrp(session, RunIn(), user_id)
    return (time.perf_counter() - t) * 1000, {"production": run.production_count, "purchase": run.purchase_count,
                                              "levels": run.levels}


async def prepare_order(engine, user_id, count: int):
    """Stock for the bag's materials and a released order of 10 x `count` bags; its id."""
    from polyflow.erp.inventory import service as inventory
    from polyflow.erp.inventory.schemas import MovementIn
    from polyflow.erp.production.orders import service as orders
    from polyflow.erp.production.orders.schemas import OrderIn

    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        for sku, qty, cost in (("X-RESIN", 1 * count, "21000"), ("X-MB", Decimal("0.05") * count, "90000")):
            await inventory.create_movement(session, MovementIn(kind="IN", sku=sku, quantity=qty, unit_cost=cost,
                                                                to_location="RM-WH"), user_id=user_id)
        order = await orders.create_order(session, OrderIn(sku="X-BAG", quantity=10 * count, source_location="RM-WH",
                                                           output_location="FG-WH"), user_id)
        await orders.release_order(session, order.id)
    return order.id


async def outputs(engine, user_id, order_id, count: int) -> list[float]:
    """`count` outputs of 10 bags (backflushed), each committed on its own, as the tablet sends them: ms each."""
    from polyflow.erp.production.orders import executions
    from polyflow.erp.production.orders.schemas import OutputIn

    each = []
    for _ in range(count):
        t = time.perf_counter()
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            await executions.record_output(session, order_id, OutputIn(quantity=Decimal(10), backflush=True,
                                                                       hours=Decimal("0.1")), user_id)
        each.append((time.perf_counter() - t) * 1000)
    return each


ROUNDS = 10  # the executions are recorded in this many alternating rounds


async def run(args, admin, settings) -> None:
    await harness.build_main_database(admin, settings)
    platform = Platform(settings)
    try:
        tenants = await harness.provision_tenants(platform, 2, 0, roles=("owner",))
        routes = [await platform.routes.get("sub:" + t.subdomain) for t in tenants]
        dsns = [r.dsn(platform.secrets.decrypt(r.db_password_enc)) for r in routes]
    finally:
        await platform.stop()

    shapes = [("tenth", args.products // 10, args.lines // 10, args.executions // 10),
              ("full", args.products, args.lines, args.executions)]
    results, engines = [], []
    try:
        for (label, products, lines, execs), tenant, dsn in zip(shapes, tenants, dsns):
            conn = await asyncpg.connect(**admin.with_database(tenant.db_name).asyncpg_kwargs())
            try:
                t = time.perf_counter()
                counts = await seed(conn, products, lines)
                user_id = await conn.fetchval("SELECT id FROM users ORDER BY created_at LIMIT 1")
            finally:
                await conn.close()
            progress.print(f"{label}: {counts['products']:,} products (levels {counts['levels']}), "
                           f"{counts['bom_lines']:,} BOM lines, {counts['lines']:,} open sales lines, "
                           f"{counts['stocked']:,} stock levels ({time.perf_counter() - t:.1f} s)")
            engine = create_async_engine(dsn.url(), pool_size=2)
            engines.append(engine)
            results.append({"label": label, "counts": counts, "user": user_id, "execs": execs, "mrp": [],
                            "each": [], "exec_s": 0.0,
                            "order": await prepare_order(engine, user_id, execs)})
        load_before = load()
        # The two tenants take turns (a warm-up run each first), so that the machine's ups and downs (other
        # work on it) fall on both sizes alike.
        for i in range(args.repeat + 1):
            for r, engine in zip(results, engines):
                ms, r["found"] = await mrp_once(engine, r["user"])
                if i:
                    r["mrp"].append(ms)
        for r in results:
            r["mrp_ms"] = statistics.median(r["mrp"])
            progress.print(f"{r['label']}: MRP {r['mrp_ms']:.0f} ms -> {r['found']}")
        for n in range(ROUNDS):
            for r, engine in zip(results, engines):
                chunk = r["execs"] // ROUNDS + (1 if n < r["execs"] % ROUNDS else 0)
                t = time.perf_counter()
                r["each"] += await outputs(engine, r["user"], r["order"], chunk)
                r["exec_s"] += time.perf_counter() - t
        for r in results:
            s = sorted(r["each"])
            r["exec_median"], r["exec_p99"] = statistics.median(s), harness.percentile(s, 99)
            progress.print(f"{r['label']}: {r['execs']} executions in {r['exec_s']:.1f} s "
                           f"(median {r['exec_median']:.1f} ms)")
    finally:
        for engine in engines:
            await engine.dispose()

    small, big = results
    size_ratio = args.products / (args.products // 10)
    table = Table(title=f"MRP and shop-floor outputs: 1/10 size vs full size (MRP median of {args.repeat})")
    for col in ("measure", "1/10 size", "full size", "ratio", "size ratio", "verdict"):
        table.add_column(col, justify="left" if col == "measure" else "right")

    def row(name, a, b, fmt, linear=True):
        ratio = b / a if a else float("nan")
        verdict = ("ok" if ratio <= size_ratio * 1.25 else "MISS") if linear else ""
        table.add_row(name, fmt(a), fmt(b), f"{ratio:.2f}x", f"{size_ratio:.0f}x", verdict)

    row("products", small["counts"]["products"], big["counts"]["products"],
        lambda v: f"{v:,}", linear=False)
    row("proposals (production + purchase)", small["found"]["production"] + small["found"]["purchase"],
        big["found"]["production"] + big["found"]["purchase"], lambda v: f"{v:,}", linear=False)
    row("MRP run (ms)", small["mrp_ms"], big["mrp_ms"], lambda v: f"{v:,.0f}")
    row(f"{small['execs']:,} / {big['execs']:,} executions in a row (s)", small["exec_s"], big["exec_s"],
        lambda v: f"{v:,.1f}")
    table.add_row("  one execution, median (ms)", f"{small['exec_median']:.1f}", f"{big['exec_median']:.1f}",
                  f"{big['exec_median'] / small['exec_median']:.2f}x", "1x", "")
    table.add_row("  one execution, p99 (ms)", f"{small['exec_p99']:.1f}", f"{big['exec_p99']:.1f}",
                  f"{big['exec_p99'] / small['exec_p99']:.2f}x", "1x", "")
    out.print(table)
    out.print(f"load average while measuring: {load_before} (before) -> {load()} (after)")
    out.print(f"open sales lines: {small['counts']['lines']:,} / {big['counts']['lines']:,}; BOM levels planned: "
              f"{small['found']['levels']} / {big['found']['levels']}; verdict: ratio within 1.25 x the size ratio; "
              f"MRP interactive: {'yes' if big['mrp_ms'] < 5000 else 'NO'} ({big['mrp_ms'] / 1000:.1f} s < 5 s)")


def main() -> None:
    harness.run_bench("mrp.py", out, run, parse_args())


if __name__ == "__main__":
    main()
