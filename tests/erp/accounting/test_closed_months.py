"""Closed months are summed once (closed_month_balances, revision 0012) and the reports read those sums
plus the open days' lines: every figure must be the one the lines give, whatever the lock date does."""

from datetime import date
from decimal import Decimal as D

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import reports, service

# (date, debit account, credit account, amount) - three months of a small plant.
POSTINGS = [
    (date(2026, 1, 2), "1102", "3100", 500_000_000),  # capital
    (date(2026, 1, 20), "1130", "4100", 120_000_000),  # a sale
    (date(2026, 1, 31), "6100", "1102", 25_000_000),  # wages
    (date(2026, 2, 1), "1102", "1130", 70_000_000),  # a receipt
    (date(2026, 2, 14), "6200", "1102", 12_500_000),  # power
    (date(2026, 2, 28), "1130", "4100", 30_000_000),  # a sale
    (date(2026, 3, 10), "6100", "1102", 26_000_000),  # wages
    (date(2026, 3, 31), "1102", "1130", 15_000_000),  # a receipt
]


async def _post(s, on, dr, cr, amount):
    await service.post_journal(s, doc_type="JV", entry_date=on, description=f"{dr}/{cr}",
                               lines=[service.Line(dr, debit=D(amount)), service.Line(cr, credit=D(amount))])


async def _figures(s):
    """Every kind of read the reports make: cumulative, ranges starting on and off a month's first day,
    one account's opening and closing, and the balance sheet."""
    out = {}
    for start, end in ((None, date(2026, 3, 31)), (None, date(2026, 2, 28)), (None, date(2026, 2, 13)),
                       (date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 1, 15), date(2026, 3, 15)),
                       (date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 2, 2), date(2026, 2, 27))):
        tb = await reports.trial_balance(s, end, start)
        out[("tb", start, end)] = {r.code: r.balance for r in tb.rows}
    for start, end in ((date(2026, 2, 1), date(2026, 3, 31)), (date(2026, 3, 1), date(2026, 3, 31)),
                       (date(2026, 2, 15), date(2026, 3, 20))):
        gl = await reports.general_ledger(s, "1102", end, start)
        out[("gl", start, end)] = (gl.opening_balance, gl.closing_balance, [r.balance for r in gl.lines])
    bs = await reports.balance_sheet(s, date(2026, 3, 31))
    out["bs"] = bs.model_dump() if hasattr(bs, "model_dump") else bs
    return out


async def _closed_rows(engine):
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT month, account_code, debit, credit FROM closed_month_balances ORDER BY month, account_code"))
        return [tuple(r) for r in rows]


async def test_reports_read_closed_months_and_follow_the_lock_date(make_tenant, tenant_engine):
    engine = tenant_engine(await make_tenant("pt-abc"))
    async with AsyncSession(engine) as s, s.begin():
        for p in POSTINGS:
            await _post(s, *p)
    async with AsyncSession(engine) as s, s.begin():
        open_books = await _figures(s)
    # By hand: 1102 = 500 - 25 + 70 - 12.5 - 26 + 15 = 521.5 M; on 13 Feb: 500 - 25 + 70 = 545 M.
    assert open_books[("tb", None, date(2026, 3, 31))]["1102"] == D(521_500_000)
    assert open_books[("tb", None, date(2026, 2, 13))]["1102"] == D(545_000_000)
    # 1102 over 15 Feb - 20 Mar: opening 545 - 12.5 = 532.5 M, closing 532.5 - 26 = 506.5 M.
    assert open_books[("gl", date(2026, 2, 15), date(2026, 3, 20))][:2] == (D(532_500_000), D(506_500_000))

    # Close through 10 March: January and February are summed (March is not over in the books).
    async with AsyncSession(engine) as s, s.begin():
        await service.set_books_closed_through(s, date(2026, 3, 10), may_reopen=False)
    rows = await _closed_rows(engine)
    assert {r[0] for r in rows} == {date(2026, 1, 1), date(2026, 2, 1)}
    # February's 1102: debit 70 M (receipt), credit 12.5 M (power).
    assert (date(2026, 2, 1), "1102", D(70_000_000), D(12_500_000)) in rows
    async with AsyncSession(engine) as s, s.begin():
        assert await _figures(s) == open_books

    # Reopen back to 31 January (an owner): February's sums go, and a late February posting counts.
    async with AsyncSession(engine) as s, s.begin():
        await service.set_books_closed_through(s, date(2026, 1, 31), may_reopen=True)
    assert {r[0] for r in await _closed_rows(engine)} == {date(2026, 1, 1)}
    async with AsyncSession(engine) as s, s.begin():
        await _post(s, date(2026, 2, 20), "6900", "1102", 1_000_000)
    async with AsyncSession(engine) as s, s.begin():
        tb = await reports.trial_balance(s, date(2026, 3, 31))
        assert {r.code: r.balance for r in tb.rows}["1102"] == D(520_500_000)
        gl = await reports.general_ledger(s, "1102", date(2026, 3, 31), date(2026, 3, 1))
        # 1102 before March: 500 - 25 + 70 - 12.5 - 1 = 531.5 M.
        assert gl.opening_balance == D(531_500_000)

    # Closing again sums February with the late posting; clearing the date forgets every month.
    async with AsyncSession(engine) as s, s.begin():
        await service.set_books_closed_through(s, date(2026, 2, 28), may_reopen=False)
    assert (date(2026, 2, 1), "1102", D(70_000_000), D(13_500_000)) in await _closed_rows(engine)
    async with AsyncSession(engine) as s, s.begin():
        tb = await reports.trial_balance(s, date(2026, 3, 31))
        assert {r.code: r.balance for r in tb.rows}["1102"] == D(520_500_000)
        await service.set_books_closed_through(s, None, may_reopen=True)
    assert await _closed_rows(engine) == []


async def test_journal_lines_carry_their_entry_date(make_tenant, tenant_engine):
    engine = tenant_engine(await make_tenant("pt-abc"))
    async with AsyncSession(engine) as s, s.begin():
        await _post(s, date(2026, 2, 14), "6200", "1102", 12_500_000)
    async with engine.connect() as conn:
        dates = (await conn.execute(text("SELECT DISTINCT line_date FROM journal_lines"))).scalars().all()
    assert dates == [date(2026, 2, 14)]
