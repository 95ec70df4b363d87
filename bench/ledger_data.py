"""The history that `bench/ledger.py` measures on: one plant's books written straight into a migrated tenant
database with `INSERT … SELECT generate_series` (a three-year history takes a minute, not the hours the
services would take).

The history is built so that the reports have something true to say, and checked after it is written:
- every day, stock receipts (IN, reason purchase: Dr 1143 / Cr 2120) and sales issues (OUT, reason sale:
  Dr 5100 / Cr 1143) of 200 finished goods at one constant unit cost per variant (so the moving average
  is that cost and the stock ledger equals 1143 at every date); a receipt comes before the issue of the
  same variant on the same day, so no balance ever goes negative;
- the day's receipts are billed the same day by supplier invoices (Dr 2120 DPP + Dr 1150 PPN / Cr 2110),
  so 2120 is back to zero every evening; the day's issues are invoiced to customers (Dr 1130 / Cr 4100 DPP
  + Cr 2130 PPN, DPP nilai lain 11/12 at 12 %, whole rupiah);
- invoices older than the payment terms are paid (Dr 1102 / Cr 1130, Dr 2110 / Cr 1102), except one in 500
  that stays open (the > 90 days bucket), so 1130 and 2110 equal the open amounts of the invoices;
- daily expense journals (wages, power, other: 10 lines each) bring the journal to its size.

Numbers carry an ``H-`` prefix so that they never meet the gap-free numbers the services hand out.
Triggers (balance, lock date, immutability) and foreign keys are switched off for the load only
(``session_replication_role = replica``, as the superuser); `check_history` then proves with the same
figures the triggers would check that the books balance and the ledgers agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg

VARIANTS = 200
CUSTOMERS = 300
SUPPLIERS = 100
TERMS_DAYS = 30
LOCATION = "FG-WH"


@dataclass(frozen=True)
class Shape:
    """How much happens per day (full size: ~300 k movements, ~1.5 M journal lines, ~50 k invoices
    over 1,095 days)."""

    movements: int = 274  # half receipts, half issues
    sales_invoices: int = 23
    supplier_invoices: int = 23
    expense_entries: int = 60  # 10 lines each


async def _exec(conn: asyncpg.Connection, sql: str, *args) -> None:
    await conn.execute(sql, *args)


async def build_history(conn: asyncpg.Connection, first: date, last: date, shape: Shape = Shape()) -> dict:
    """Write the plant's books from `first` to `last` (inclusive) into the database behind `conn` (a
    superuser connection to the tenant database). Returns the row counts."""
    days = (last - first).days + 1
    m, si, pi, ex = shape.movements, shape.sales_invoices, shape.supplier_invoices, shape.expense_entries
    async with conn.transaction():
        await _exec(conn, "SET LOCAL session_replication_role = replica")
        # Master data: 200 finished goods (default variant each), customers and suppliers.
        await _exec(conn, f"""
            INSERT INTO products (id, sku, name, unit, sell_price, buy_price, is_active, product_type)
            SELECT gen_random_uuid(), 'H-FG-' || lpad(v::text, 3, '0'), 'Granule grade ' || v, 'KG',
                   (1000 + v * 10) * 1.25, 1000 + v * 10, true, 'finished_good'
            FROM generate_series(0, {VARIANTS - 1}) v""")
        await _exec(conn, """
            INSERT INTO product_variants (id, product_id, sku, name, is_default, buy_price, sell_price)
            SELECT gen_random_uuid(), id, sku, name, true, buy_price, sell_price FROM products
            WHERE sku LIKE 'H-FG-%'""")
        await _exec(conn, f"""
            INSERT INTO partners (id, code, name, is_customer, is_supplier, npwp, nitku, is_pkp, payment_terms_days,
                                  address, city)
            SELECT gen_random_uuid(), CASE WHEN p < {CUSTOMERS} THEN 'H-C' ELSE 'H-S' END || lpad(p::text, 4, '0'),
                   'PT Mitra ' || p, p < {CUSTOMERS}, p >= {CUSTOMERS}, lpad((1000000 + p)::text, 16, '0'),
                   lpad((1000000 + p)::text, 16, '0') || '000000', true, {TERMS_DAYS}, 'Jl. Industri ' || p, 'Bekasi'
            FROM generate_series(0, {CUSTOMERS + SUPPLIERS - 1}) p""")
        await _exec(conn, """
            CREATE TEMP TABLE h_var ON COMMIT DROP AS
            SELECT (row_number() OVER (ORDER BY v.sku) - 1)::int AS k, v.id, (1000 + (row_number() OVER (ORDER BY v.sku)
                   - 1) * 10)::numeric AS cost
            FROM product_variants v WHERE v.sku LIKE 'H-FG-%'""")
        await _exec(conn, """
            CREATE TEMP TABLE h_partner ON COMMIT DROP AS
            SELECT (row_number() OVER (PARTITION BY is_customer ORDER BY code) - 1)::int AS k, id, is_customer, name
            FROM partners WHERE code LIKE 'H-%'""")
        loc = await conn.fetchval("SELECT id FROM locations WHERE code = $1", LOCATION)

        # Movements: slot s of day d; pair s/2 moves variant (d*7 + s/2) % 200: IN 20 then OUT 12.
        await _exec(conn, f"""
            CREATE TEMP TABLE h_mv ON COMMIT DROP AS
            SELECT gen_random_uuid() AS id, gen_random_uuid() AS je, d, s, $1::date + d AS on_date,
                   CASE WHEN s % 2 = 0 THEN 'IN' ELSE 'OUT' END AS kind, vr.id AS variant_id, vr.cost,
                   CASE WHEN s % 2 = 0 THEN 20 ELSE 12 END::numeric AS qty,
                   (s / 2) % {pi} AS pinv, (s / 2) % {si} AS sinv
            FROM generate_series(0, {days - 1}) d CROSS JOIN generate_series(0, {m - 1}) s
            JOIN h_var vr ON vr.k = (d * 7 + s / 2) % {VARIANTS}""", first)
        await _exec(conn, """
            INSERT INTO journal_entries (id, number, doc_type, status, entry_date, description, reference, source)
            SELECT je, 'H-' || kind || '-' || d || '-' || s, CASE kind WHEN 'IN' THEN 'GR' ELSE 'GI' END, 'posted',
                   on_date, CASE kind WHEN 'IN' THEN 'Receipt' ELSE 'Issue' END || ' H-M-' || d || '-' || s,
                   'H-M-' || d || '-' || s, 'inventory'
            FROM h_mv ORDER BY d, s""")
        await _exec(conn, """
            INSERT INTO journal_lines (entry_id, line_date, account_code, debit, credit)
            SELECT je, on_date, a, dr, cr FROM (
                SELECT d, s, 1 AS o, je, on_date, CASE kind WHEN 'IN' THEN '1143' ELSE '5100' END AS a,
                       qty * cost AS dr, 0 AS cr FROM h_mv
                UNION ALL
                SELECT d, s, 2, je, on_date, CASE kind WHEN 'IN' THEN '2120' ELSE '1143' END, 0, qty * cost
                FROM h_mv) x
            ORDER BY d, s, o""")
        await _exec(conn, """
            INSERT INTO stock_movements (id, number, kind, variant_id, from_location_id, to_location_id, quantity,
                                         unit_cost, value, reason, reference, posting_date, moved_at,
                                         journal_entry_id, counter_account)
            SELECT id, 'H-M-' || d || '-' || s, kind, variant_id, CASE kind WHEN 'OUT' THEN $1::uuid END,
                   CASE kind WHEN 'IN' THEN $1::uuid END, qty, cost,
                   CASE kind WHEN 'IN' THEN qty * cost ELSE -qty * cost END,
                   CASE kind WHEN 'IN' THEN 'purchase' ELSE 'sale' END, 'H-M-' || d || '-' || s,
                   on_date, on_date + time '08:00' + s * interval '1 second', je,
                   CASE kind WHEN 'IN' THEN '2120' ELSE '5100' END
            FROM h_mv ORDER BY d, s""", loc)
        await _exec(conn, """
            INSERT INTO stock_levels (location_id, variant_id, on_hand, reserved)
            SELECT $1::uuid, variant_id, sum(CASE kind WHEN 'IN' THEN qty ELSE -qty END), 0 FROM h_mv
            GROUP BY variant_id""", loc)
        await _exec(conn, """
            UPDATE product_variants v SET qty_total = t.q, stock_value = t.val
            FROM (SELECT variant_id, sum(CASE kind WHEN 'IN' THEN qty ELSE -qty END) AS q,
                         sum(CASE kind WHEN 'IN' THEN qty * cost ELSE -qty * cost END) AS val
                  FROM h_mv GROUP BY variant_id) t WHERE t.variant_id = v.id""")

        # Invoices: the day's receipts billed by `pi` supplier invoices, the day's issues invoiced by `si`
        # sales invoices. Sales price = cost x 1.25; PPN 12 % of DPP nilai lain 11/12, whole rupiah.
        for side, n_inv, kind_filter, price in (("S", si, "OUT", "cost * 1.25"), ("P", pi, "IN", "cost")):
            group = "sinv" if side == "S" else "pinv"
            partners = CUSTOMERS if side == "S" else SUPPLIERS
            await _exec(conn, f"""
                CREATE TEMP TABLE h_inv_{side} ON COMMIT DROP AS
                SELECT gen_random_uuid() AS id, gen_random_uuid() AS je, gen_random_uuid() AS pay_je,
                       gen_random_uuid() AS order_id, d, g, on_date, base, other_base, round(other_base * 0.12) AS tax,
                       pt.id AS partner_id, pt.name AS partner_name,
                       (d * {n_inv} + g) % 500 = 0 AS never_paid
                FROM (SELECT d, {group} AS g, min(on_date) AS on_date, round(sum(qty * {price})) AS base,
                             round(round(sum(qty * {price})) * 11 / 12) AS other_base
                      FROM h_mv WHERE kind = '{kind_filter}' GROUP BY d, {group}) x
                JOIN h_partner pt ON pt.is_customer = {side == 'S'} AND pt.k = (d * {n_inv} + g) % {partners}""")
            # Paid: past the terms (paid on the due date), except the few never paid.
            await _exec(conn, f"ALTER TABLE h_inv_{side} ADD COLUMN paid boolean")
            await _exec(conn, f"UPDATE h_inv_{side} SET paid = NOT never_paid AND on_date + {TERMS_DAYS} < $1::date",
                        last)
            number = f"'H-{side}I-' || d || '-' || g"
            if side == "S":
                await _exec(conn, f"""
                    INSERT INTO sales_orders (id, number, customer_id, order_date, location_id, status, invoiced_total,
                                              base, tax, total, confirmed_at)
                    SELECT order_id, 'H-SO-' || d || '-' || g, partner_id, on_date, $1::uuid, 'invoiced',
                           base + tax, base, tax, base + tax, on_date FROM h_inv_S ORDER BY d, g""", loc)
                await _exec(conn, f"""
                    INSERT INTO sales_invoices (id, number, kind, order_id, customer_id, invoice_date, due_date, status,
                                                base, other_base, tax, total, paid, open_amount, journal_entry_id,
                                                trx_code, buyer_name, buyer_tin, buyer_document, buyer_is_pkp,
                                                posted_at)
                    SELECT id, {number}, 'invoice', order_id, partner_id, on_date, on_date + {TERMS_DAYS},
                           CASE WHEN paid THEN 'paid' ELSE 'open' END, base, other_base, tax, base + tax,
                           CASE WHEN paid THEN base + tax ELSE 0 END, CASE WHEN paid THEN 0 ELSE base + tax END, je,
                           '04', partner_name, '0000000001000000', 'TIN', true, on_date
                    FROM h_inv_S ORDER BY d, g""")
                post = [("1130", "base + tax", "0"), ("4100", "0", "base"), ("2130", "0", "tax")]
                pay = [("1102", "base + tax", "0"), ("1130", "0", "base + tax")]
                doc, pay_doc = "SI", "RCV"
            else:
                await _exec(conn, f"""
                    INSERT INTO purchase_orders (id, number, status, partner_id, order_date, subtotal, tax_amount,
                                                 total, approved_at)
                    SELECT order_id, 'H-PO-' || d || '-' || g, 'received', partner_id, on_date, base, tax,
                           base + tax, on_date FROM h_inv_P ORDER BY d, g""")
                await _exec(conn, f"""
                    INSERT INTO purchase_invoices (id, number, status, order_id, partner_id, invoice_date, due_date,
                                                   supplier_invoice_no, tax_invoice_no, subtotal, tax_amount, total,
                                                   paid, open_amount, journal_entry_id, posted_at)
                    SELECT id, {number}, CASE WHEN paid THEN 'paid' ELSE 'open' END, order_id, partner_id, on_date,
                           on_date + {TERMS_DAYS}, 'INV-' || d || '-' || g,
                           lpad((d * 100 + g)::text, 17, '0'), base, tax, base + tax,
                           CASE WHEN paid THEN base + tax ELSE 0 END, CASE WHEN paid THEN 0 ELSE base + tax END, je,
                           on_date
                    FROM h_inv_P ORDER BY d, g""")
                post = [("2120", "base", "0"), ("1150", "tax", "0"), ("2110", "0", "base + tax")]
                pay = [("2110", "base + tax", "0"), ("1102", "0", "base + tax")]
                doc, pay_doc = "PINV", "PAY"
            await _exec(conn, f"""
                INSERT INTO journal_entries (id, number, doc_type, status, entry_date, description, source)
                SELECT je, {number}, '{doc}', 'posted', on_date, 'Invoice ' || {number},
                       '{'sales' if side == 'S' else 'purchasing'}' FROM h_inv_{side} ORDER BY d, g""")
            await _exec(conn, f"""
                INSERT INTO journal_entries (id, number, doc_type, status, entry_date, description, source)
                SELECT pay_je, 'H-{pay_doc}-' || d || '-' || g, '{pay_doc}', 'posted', on_date + {TERMS_DAYS},
                       'Payment of ' || {number}, 'payments' FROM h_inv_{side} WHERE paid ORDER BY d, g""")
            lines = " UNION ALL ".join(
                f"SELECT d, g, {i} AS o, je, on_date, '{a}' AS a, {dr} AS dr, {cr} AS cr FROM h_inv_{side}"
                for i, (a, dr, cr) in enumerate(post))
            await _exec(conn, f"""
                INSERT INTO journal_lines (entry_id, line_date, account_code, debit, credit)
                SELECT je, on_date, a, dr, cr FROM ({lines}) x WHERE dr <> 0 OR cr <> 0 ORDER BY d, g, o""")
            lines = " UNION ALL ".join(
                f"SELECT on_date + {TERMS_DAYS} AS on_date, d, g, {i} AS o, pay_je, '{a}' AS a, {dr} AS dr, {cr} AS cr "
                f"FROM h_inv_{side} WHERE paid" for i, (a, dr, cr) in enumerate(pay))
            await _exec(conn, f"""
                INSERT INTO journal_lines (entry_id, line_date, account_code, debit, credit)
                SELECT pay_je, on_date, a, dr, cr FROM ({lines}) x ORDER BY on_date, d, g, o""")

        # Expenses: `ex` entries a day, 9 debits to 6100/6200/6900 and one credit to the bank.
        await _exec(conn, f"""
            CREATE TEMP TABLE h_ex ON COMMIT DROP AS
            SELECT gen_random_uuid() AS je, d, e, $1::date + d AS on_date FROM generate_series(0, {days - 1}) d
            CROSS JOIN generate_series(0, {ex - 1}) e""", first)
        await _exec(conn, """
            INSERT INTO journal_entries (id, number, doc_type, status, entry_date, description, source)
            SELECT je, 'H-JV-' || d || '-' || e, 'JV', 'posted', on_date, 'Operating costs', 'manual'
            FROM h_ex ORDER BY d, e""")
        await _exec(conn, """
            INSERT INTO journal_lines (entry_id, line_date, account_code, debit, credit, memo)
            SELECT je, on_date, a, dr, cr, memo FROM (
                SELECT d, e, l, je, on_date, (ARRAY['6100', '6200', '6900'])[l % 3 + 1] AS a, 10000 + l * 1000 + e AS dr,
                       0 AS cr, 'cost line ' || l AS memo
                FROM h_ex CROSS JOIN generate_series(0, 8) l
                UNION ALL
                SELECT d, e, 9, je, on_date, '1102', 0, 9 * (10000 + e) + 36000, 'bank' FROM h_ex) x
            ORDER BY d, e, l""")
        # The owners' capital on the first day, so the bank is not overdrawn by the costs.
        await _exec(conn, """
            INSERT INTO journal_entries (id, number, doc_type, status, entry_date, description, source)
            VALUES ('00000000-0000-0000-0000-00000000c0de', 'H-JV-CAPITAL', 'JV', 'posted', $1, 'Paid-in capital',
                    'manual');
        """.replace("$1", f"'{first.isoformat()}'::date"))
        await _exec(conn, """
            INSERT INTO journal_lines (entry_id, line_date, account_code, debit, credit) VALUES
            ('00000000-0000-0000-0000-00000000c0de', $1, '1102', 100000000000, 0),
            ('00000000-0000-0000-0000-00000000c0de', $1, '3100', 0, 100000000000)""", first)
    # What autovacuum does after a bulk load (index-only scans need the visibility map).
    await conn.execute("VACUUM ANALYZE")
    return dict(await conn.fetchrow("""
        SELECT (SELECT count(*) FROM stock_movements) AS movements, (SELECT count(*) FROM journal_lines) AS lines,
               (SELECT count(*) FROM journal_entries) AS entries,
               (SELECT count(*) FROM sales_invoices) + (SELECT count(*) FROM purchase_invoices) AS invoices"""))


async def check_history(conn: asyncpg.Connection, as_of: date) -> list[str]:
    """What the triggers and the property tests would check, on the loaded books: every entry balances;
    stock value == 1143; 1130 / 2110 == open sales / supplier invoices; 2120 == 0. Returns the failures."""
    problems = []
    unbalanced = await conn.fetchval(
        "SELECT count(*) FROM (SELECT entry_id FROM journal_lines GROUP BY entry_id "
        "HAVING sum(debit) <> sum(credit)) x")
    if unbalanced:
        problems.append(f"{unbalanced} unbalanced journal entries")
    misdated = await conn.fetchval("SELECT count(*) FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id "
                                   "WHERE l.line_date <> e.entry_date")
    if misdated:
        problems.append(f"{misdated} journal lines not dated as their entry")

    async def gl(code):
        return await conn.fetchval(
            "SELECT coalesce(sum(l.debit - l.credit), 0) FROM journal_lines l JOIN journal_entries e ON e.id = "
            "l.entry_id WHERE l.account_code = $1 AND e.entry_date <= $2", code, as_of)

    stock = await conn.fetchval("SELECT coalesce(sum(value), 0) FROM stock_movements WHERE posting_date <= $1", as_of)
    ar = await conn.fetchval("SELECT coalesce(sum(open_amount), 0) FROM sales_invoices WHERE status <> 'draft'")
    ap = await conn.fetchval("SELECT coalesce(sum(open_amount), 0) FROM purchase_invoices WHERE status <> 'draft'")
    for label, want, code, sign in (("stock value", stock, "1143", 1), ("open sales invoices", ar, "1130", 1),
                                    ("open supplier invoices", ap, "2110", -1), ("received not billed", 0, "2120", -1)):
        got = sign * await gl(code)
        if got != want:
            problems.append(f"{label} {want} != GL {code} {got}")
    return problems


def history_range(today: date, days: int) -> tuple[date, date]:
    """The `days` days ending today."""
    return today - timedelta(days=days - 1), today
