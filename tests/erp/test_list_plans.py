"""The document lists read a page, not the history: each list's default query (newest first) is an index walk
that stops after the page (no Sort, no count(*) OVER () window over every matching row), whatever the planner's
statistics; and the totals stay exact on every page (a short page tells it, a full or empty one counts)."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.partners import service as partners
from polyflow.erp.purchasing import service as purchasing
from polyflow.erp.sales import service as sales
from polyflow.erp.sales import delivering, invoicing
from tests.erp.sales.helpers import ok


async def _page_plan(engine, call) -> str:
    """The plan of the SELECT ... LIMIT that `call(session)` sends, with sorting and sequential scans priced out:
    a plan that still sorts or windows has no index able to give the order."""
    sent: list[tuple[str, tuple]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT") and "LIMIT" in statement.upper():
            sent.append((statement, tuple(parameters or ())))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with AsyncSession(engine) as session:
            await call(session)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert len(sent) == 1, sent
    statement, parameters = sent[0]
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        async with raw.transaction():
            await raw.execute("SET LOCAL enable_sort = off; SET LOCAL enable_seqscan = off")
            rows = await raw.fetch("EXPLAIN " + statement, *parameters)
    return "\n".join(r[0] for r in rows)


async def test_default_list_pages_walk_an_index_and_stop(make_tenant, tenant_engine):
    engine = tenant_engine(await make_tenant("pt-abc"))
    lists = {
        "sales orders": lambda s: sales.list_orders(s, customer_id=None, status=None, limit=50, offset=0),
        "sales invoices": lambda s: invoicing.list_invoices(s, customer_id=None, status=None, order_id=None,
                                                            limit=50, offset=0),
        "deliveries": lambda s: delivering.list_deliveries(s, customer_id=None, status=None, order_id=None,
                                                           limit=50, offset=0),
        "purchase orders": lambda s: purchasing.browse(s, "order", sort="-date", limit=50, offset=0),
        "purchase invoices": lambda s: purchasing.browse(s, "invoice", sort="-date", limit=50, offset=0),
        "goods receipts": lambda s: purchasing.browse(s, "receipt", sort="-date", limit=50, offset=0),
        "purchase orders, oldest first": lambda s: purchasing.browse(s, "order", sort="date", limit=50, offset=0),
        "partners": lambda s: partners.list_partners(s, q=None, is_customer=None, is_supplier=None, active=None,
                                                     sort="code", limit=50, offset=0),
    }
    for name, call in lists.items():
        plan = await _page_plan(engine, call)
        assert "Sort" not in plan and "WindowAgg" not in plan, f"{name}:\n{plan}"
        assert "Index Scan" in plan, f"{name}:\n{plan}"


async def test_totals_are_exact_on_full_short_and_empty_pages(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        for i in range(5):
            await ok(await c.post("/api/v1/partners", json={"code": f"C-{i}", "name": f"PT C {i}",
                                                            "is_customer": True}), 201)
        for limit, offset, rows in ((2, 0, 2), (5, 0, 5), (2, 4, 1), (3, 3, 2), (2, 5, 0), (2, 9, 0), (9, 0, 5)):
            page = await ok(await c.get("/api/v1/partners", params={"limit": limit, "offset": offset}))
            assert (len(page["items"]), page["total"]) == (rows, 5), (limit, offset, page)
        page = await ok(await c.get("/api/v1/partners", params={"q": "C-3"}))
        assert [p["code"] for p in page["items"]] == ["C-3"] and page["total"] == 1
