"""Property test: random sequences of stock movements, reservations and manual journals keep the books
right — stock never negative, inventory valuation equals the inventory accounts' ledger balance (at the
end and at any date), every entry balances, the trial balance sums to zero."""

import asyncio
from datetime import date
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from polyflow.erp.accounting import service as accounting
from polyflow.erp.accounting.schemas import JournalIn, LineIn
from polyflow.erp.accounting.seeds import INVENTORY_ACCOUNTS
from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import MovementIn, ReservationIn
from polyflow.kit.errors import PolyflowError
from polyflow.platform import provisioning

SKUS = ("PP-GRN", "WB-50", "SCRAP-PP")
LOCS = ("RM-WH", "MIXING")
qty = st.decimals(min_value=D("0.001"), max_value=D(40), places=3)
small = st.decimals(min_value=D("0.001"), max_value=D(12), places=3)
cost = st.decimals(min_value=D(0), max_value=D(60000), places=2)
day = st.integers(1, 28)
sku, loc = st.sampled_from(SKUS), st.sampled_from(LOCS)

receipt = st.tuples(st.just("in"), sku, loc, qty, cost, day)
ops = st.lists(st.one_of(
    receipt, receipt,
    st.tuples(st.just("out"), sku, loc, small, st.sampled_from(["sale", "scrap", "consumption"]), day),
    st.tuples(st.just("out"), sku, loc, small, st.sampled_from(["sale", "scrap", "consumption"]), day),
    st.tuples(st.just("transfer"), sku, loc, loc, small, day),
    st.tuples(st.just("adj"), sku, loc, small, st.booleans(), day),
    st.tuples(st.just("reserve"), sku, loc, small, st.booleans()),
    st.tuples(st.just("jv"), st.decimals(min_value=D("0.01"), max_value=D(10**9), places=2),
              st.sampled_from([("1101", "3100"), ("6100", "1102"), ("1130", "4100")]), day),
), min_size=5, max_size=30)


def movement(op) -> MovementIn:
    kind, s = op[0], op[1]
    on = date(2026, 7, op[-1])
    if kind == "in":
        return MovementIn(kind="IN", sku=s, to_location=op[2], quantity=op[3], unit_cost=op[4], posting_date=on)
    if kind == "out":
        return MovementIn(kind="OUT", sku=s, from_location=op[2], quantity=op[3], reason=op[4], posting_date=on)
    if kind == "transfer":
        return MovementIn(kind="TRANSFER", sku=s, from_location=op[2], to_location=op[3], quantity=op[4],
                          posting_date=on)
    where = {"to_location": op[2]} if op[4] else {"from_location": op[2]}
    return MovementIn(kind="ADJUSTMENT", sku=s, quantity=op[3], posting_date=on, **where)


async def run(url: str, sequence, check_day: int) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        for op in sequence:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                try:
                    async with session.begin():
                        if op[0] == "reserve":
                            body = ReservationIn(sku=op[1], location=op[2], quantity=op[3])
                            await (inventory.reserve if op[4] else inventory.release)(session, body)
                        elif op[0] == "jv":
                            amount, (dr, cr), on = op[1], op[2], date(2026, 7, op[3])
                            await accounting.create_manual_journal(session, JournalIn(
                                entry_date=on, description="random", lines=[LineIn(account=dr, debit=amount),
                                                                            LineIn(account=cr, credit=amount)]))
                        elif op[0] == "transfer" and op[2] == op[3]:
                            continue
                        else:
                            await inventory.create_movement(session, movement(op))
                except PolyflowError as exc:
                    assert exc.status_code in (409, 422), exc.message  # short of stock; nothing written

        async with AsyncSession(engine) as session:
            q = lambda sql: session.execute(text(sql))  # noqa: E731
            assert (await q("SELECT count(*) FROM stock_levels WHERE on_hand < 0 OR reserved > on_hand")).scalar() == 0
            assert (await q("SELECT count(*) FROM (SELECT entry_id FROM journal_lines GROUP BY entry_id "
                            "HAVING sum(debit) <> sum(credit)) x")).scalar() == 0
            tb = await accounting.trial_balance(session, date(2026, 12, 31))
            assert sum(r.balance for r in tb.rows) == 0 and tb.total_debit == tb.total_credit
            # The moving-average totals on the variants agree with the levels and with the movements.
            assert (await q("SELECT count(*) FROM product_variants v WHERE v.qty_total <> "
                            "(SELECT coalesce(sum(on_hand), 0) FROM stock_levels s WHERE s.variant_id = v.id)")).scalar() == 0
            for as_of in (date(2026, 7, check_day), date(2026, 12, 31)):
                val = await inventory.valuation(session, as_of)
                for code in INVENTORY_ACCOUNTS:
                    ledger = (await q(f"SELECT coalesce(sum(debit - credit), 0) FROM journal_lines l JOIN journal_entries e "
                                      f"ON e.id = l.entry_id WHERE account_code = '{code}' "
                                      f"AND entry_date <= '{as_of.isoformat()}'")).scalar()
                    assert val.by_account[code] == ledger, (as_of, code)
            total_value = (await q("SELECT coalesce(sum(stock_value), 0) FROM product_variants")).scalar()
            assert (await inventory.valuation(session, date(2026, 12, 31))).total_value == total_value
            assert (await q("SELECT count(*) FROM product_variants WHERE stock_value < 0")).scalar() == 0
    finally:
        await engine.dispose()


async def test_random_movements_and_journals_keep_the_books_right(make_tenant, live, platform):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        for s, ptype, unit in (("PP-GRN", "raw_material", "KG"), ("WB-50", "finished_good", "PCS"),
                               ("SCRAP-PP", "scrap", "KG")):
            r = await c.post("/api/v1/products", json={"sku": s, "name": s, "product_type": ptype, "unit": unit})
            assert r.status_code == 201
    url = provisioning.tenant_dsn(tenant, platform.secrets).url()

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(sequence=ops, check_day=day)
    def prop(sequence, check_day):
        asyncio.run(run(url, sequence, check_day))

    await asyncio.to_thread(prop)
    async with live.tenant_client("pt-abc") as c:  # the sequences really moved stock and posted journals
        assert (await c.get("/api/v1/stock-movements", params={"kind": "OUT"})).json()["total"] > 10
        assert (await c.get("/api/v1/journal-entries", params={"doc_type": "JV"})).json()["total"] > 10
