"""Fair share per tenant and unknown hosts, over real HTTP against real servers.

- one tenant with more requests in flight than its cap gets 429 + Retry-After; another tenant on the same
  process is served promptly all the while;
- a request waiting for its tenant's (full) connection pool gets a clear 503 after a bounded wait;
- a flood of random subdomains never queries the main database, and one client asking for too many
  unknown names is throttled (429) without affecting other clients or real tenants.
"""

from __future__ import annotations

import asyncio
import secrets
import time

import asyncpg
from sqlalchemy import event

from polyflow.platform import provisioning
from polyflow.platform.runtime import Platform
from tests.platform.test_fleet import tenant_row


async def _tenants(settings, *subs: str) -> dict:
    p = Platform(settings)
    try:
        for sub in subs:
            await provisioning.create_tenant(p, name=sub.upper(), subdomain=sub)
        return {sub: await tenant_row(p, sub) for sub in subs}
    finally:
        await p.stop()


class _Locked:
    """Holds ACCESS EXCLUSIVE on a tenant table (a long transaction elsewhere): requests reading it stay in
    flight until released. No test-only route is needed to make a request slow."""

    def __init__(self, pg_admin, db_name: str, table: str = "accounts"):
        self.dsn, self.table = pg_admin.with_database(db_name), table

    async def __aenter__(self):
        self.conn = await asyncpg.connect(**self.dsn.asyncpg_kwargs())
        self.tx = self.conn.transaction()
        await self.tx.start()
        await self.conn.execute(f"LOCK TABLE {self.table} IN ACCESS EXCLUSIVE MODE")
        return self

    async def __aexit__(self, *exc):
        await self.tx.rollback()
        await self.conn.close()


async def test_a_tenant_over_its_inflight_cap_gets_429_while_another_is_served_promptly(make_settings, make_live,
                                                                                        pg_admin):
    settings = make_settings(tenant_max_inflight=3, tenant_queue_size=2, tenant_queue_seconds=0.5)
    rows = await _tenants(settings, "pt-abc", "pt-xyz")
    live = make_live(settings)
    abc, xyz = live.tenant_client("pt-abc"), live.tenant_client("pt-xyz")
    try:
        assert (await abc.get("/api/v1/accounts")).status_code == 200
        assert (await xyz.get("/api/v1/accounts")).status_code == 200
        async with _Locked(pg_admin, rows["pt-abc"].db_name):
            # 12 requests of pt-abc: 3 go in (and wait on the lock), 2 queue, the rest are refused.
            flood = [asyncio.create_task(abc.get("/api/v1/accounts")) for _ in range(12)]
            await asyncio.sleep(0.2)
            victim_times, victim_codes = [], []
            for _ in range(20):
                started = time.monotonic()
                r = await xyz.get("/api/v1/accounts")
                victim_times.append(time.monotonic() - started)
                victim_codes.append(r.status_code)
            early = [t for t in flood if t.done()]
            await asyncio.sleep(0.8)  # the queued ones give up after 0.5 s
            refused = [t.result() for t in flood if t.done()]
        done = await asyncio.gather(*flood)
    finally:
        await abc.aclose()
        await xyz.aclose()

    # Served as at rest (a few ms each here; the bound only allows for a loaded test machine).
    assert victim_codes == [200] * 20 and sorted(victim_times)[10] < 0.2 and max(victim_times) < 2.5, victim_times
    assert len(early) >= 7  # refused at once: the queue was full
    assert len(refused) == 9 and all(r.status_code == 429 for r in refused)
    r = refused[0]
    assert r.headers["retry-after"] == "1" and "too many requests in progress" in r.json()["detail"]
    assert "pt-abc" in r.json()["detail"]
    # The admitted ones finish normally once the lock is gone.
    assert sorted(r.status_code for r in done) == [200] * 3 + [429] * 9


async def test_a_request_waiting_for_its_tenants_full_pool_gets_a_clear_503(make_settings, make_live, pg_admin):
    settings = make_settings(tenant_pool_size=1, budget_wait_seconds=0.5)
    rows = await _tenants(settings, "pt-abc", "pt-xyz")
    live = make_live(settings)
    async with live.tenant_client("pt-abc") as abc, live.tenant_client("pt-xyz") as xyz:
        assert (await abc.get("/api/v1/accounts")).status_code == 200
        async with _Locked(pg_admin, rows["pt-abc"].db_name):
            holder = asyncio.create_task(abc.get("/api/v1/accounts"))  # takes the one connection, waits
            await asyncio.sleep(0.2)
            started = time.monotonic()
            r = await abc.get("/api/v1/products")
            waited = time.monotonic() - started
            assert (await xyz.get("/api/v1/accounts")).status_code == 200
        assert (await holder).status_code == 200
    assert r.status_code == 503 and r.headers["retry-after"] and "busy" in r.json()["detail"]
    assert waited < 2


async def test_a_flood_of_random_subdomains_never_queries_the_main_database(make_settings, make_live, pg_admin):
    settings = make_settings(unknown_host_per_minute=100_000)
    await _tenants(settings, "pt-abc")
    live = make_live(settings)
    statements: list[str] = []
    engine = live.platform.main_engine.sync_engine
    listener = lambda conn, cursor, statement, *a: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    db_loads = live.platform.routes.stats["db"]
    main = settings.database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(**pg_admin.asyncpg_kwargs())
    try:
        xacts = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1"
        await admin.execute("SELECT pg_stat_clear_snapshot()")
        before = await admin.fetchval(xacts, main)
        started = time.monotonic()
        async with live.client() as c:
            sem = asyncio.Semaphore(50)

            async def one() -> int:
                async with sem:
                    r = await c.get("/api/v1/tenant", headers={"Host": f"{secrets.token_hex(6)}.localhost"})
                    return r.status_code

            codes = await asyncio.gather(*(one() for _ in range(1000)))
        took = time.monotonic() - started
        during, loads = list(statements), live.platform.routes.stats["db"] - db_loads
        async with live.tenant_client("pt-abc") as c:
            assert (await c.get("/api/v1/tenant")).json()["subdomain"] == "pt-abc"
        await asyncio.sleep(1.2)  # backends report their counters at most once a second
        await admin.execute("SELECT pg_stat_clear_snapshot()")
        after = await admin.fetchval(xacts, main)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
        await admin.close()
    assert codes == [404] * 1000
    # No lookup of any name; at most the periodic reload of the set of names (one query each, at most once
    # a second when the invalidation listener reconnects under load).
    assert not [s for s in during if "tenants.subdomain = " in s or "tenant_domains.domain = " in s], during
    assert len(during) <= took + 2, during
    assert loads == 0
    # A few from this test's own connection and the server's background work (counters reported late, the
    # reloads above), never one per request.
    assert after - before < 20 + took, (before, after, took)
    print(f"1000 random names: {took:.2f}s, main-DB statements {len(during)}, transactions {after - before}")


async def test_one_client_asking_for_too_many_unknown_names_is_throttled_alone(make_settings, make_live):
    # Loopback is a trusted proxy here, so X-Forwarded-For names the client (two clients, one server).
    settings = make_settings(unknown_host_per_minute=20, trusted_proxies="127.0.0.1/32")
    await _tenants(settings, "pt-abc")
    live = make_live(settings)
    attacker = {"X-Forwarded-For": "203.0.113.5"}
    async with live.client() as c:
        codes = [(await c.get("/api/v1/tenant", headers={**attacker, "Host": f"nobody-{i:03d}.localhost"})).status_code
                 for i in range(30)]
        assert codes == [404] * 20 + [429] * 10
        r = await c.get("/api/v1/tenant", headers={**attacker, "Host": "again.localhost"})
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
        assert "unknown workspaces" in r.json()["detail"]
        # The same client still reaches a real workspace; another client is not throttled.
        r = await c.get("/api/v1/tenant", headers={**attacker, "Host": "pt-abc.localhost"})
        assert r.status_code == 200 and r.json()["subdomain"] == "pt-abc"
        r = await c.get("/api/v1/tenant", headers={"X-Forwarded-For": "203.0.113.6", "Host": "other.localhost"})
        assert r.status_code == 404


async def test_a_new_tenant_is_reachable_at_once_although_its_name_was_unknown(make_settings, make_live):
    settings = make_settings()
    live = make_live(settings)
    async with live.client("pt-new.localhost") as c:
        assert (await c.get("/api/v1/tenant")).status_code == 404
        assert live.platform.routes.may_exist("sub:pt-new") is False  # answered without a query
        await _tenants(settings, "pt-new")  # another process: the invalidation reaches the server via Redis
        for _ in range(200):
            r = await c.get("/api/v1/tenant")
            if r.status_code == 200:
                break
            await asyncio.sleep(0.01)
        assert r.status_code == 200 and r.json()["subdomain"] == "pt-new"


# --- large answers: a hard page cap and keyset cursors ------------------------------------------------------

ENTRIES, MOVES = 350, 300
DAYS = ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"]


def _seed_history(tenant_sql, variant_id: str, location_id: str) -> None:
    """Hundreds of journal entries and stock movements straight in the tenant's database, most sharing a date
    (and the movements an instant), numbered out of date order so that the number alone is not the order."""
    tenant_sql("pt-abc", f"""
        WITH e AS (
            INSERT INTO journal_entries (id, number, doc_type, entry_date, description, source)
            SELECT gen_random_uuid(), 'JV/T/' || lpad(mod(i * 37, {ENTRIES})::text, 5, '0'), 'JV',
                   (ARRAY{DAYS!r}::date[])[1 + mod(i, 5)], 'bulk ' || i, 'manual'
            FROM generate_series(1, {ENTRIES}) AS i
            RETURNING id, description
        )
        INSERT INTO journal_lines (entry_id, account_code, debit, credit)
        SELECT id, code, CASE WHEN code = '1101' THEN amount ELSE 0 END, CASE WHEN code = '1102' THEN amount ELSE 0 END
        FROM (SELECT id, (split_part(description, ' ', 2))::numeric AS amount FROM e) AS x,
             (VALUES ('1101'), ('1102')) AS c(code)""")
    tenant_sql("pt-abc", f"""
        INSERT INTO stock_movements (id, number, kind, variant_id, to_location_id, quantity, unit_cost, value,
                                     posting_date, moved_at)
        SELECT gen_random_uuid(), 'GR/T/' || lpad(mod(i * 41, {MOVES})::text, 5, '0'), 'IN', %s, %s, 1, 10, 10,
               (ARRAY{DAYS!r}::date[])[1 + mod(i, 5)], timestamptz '2026-03-06 10:00+07' + mod(i, 3) * interval '1 second'
        FROM generate_series(1, {MOVES}) AS i""", (variant_id, location_id))


async def _walk(client, path: str, params: dict, field: str = "items") -> list[dict]:
    rows, cursor, pages = [], None, 0
    while True:
        r = await client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body[field]) <= min(params.get("limit", 200), 200)
        rows += body[field]
        cursor, pages = body["next_cursor"], pages + 1
        if cursor is None:
            return rows
        assert pages < 100


async def test_lists_that_grow_with_history_have_a_hard_page_cap_and_keyset_cursors(make_tenant, live, tenant_sql):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc", role="owner") as c:
        r = await c.post("/api/v1/products", json={"sku": "PG-1", "name": "paging", "unit": "PCS"})
        assert r.status_code == 201, r.text
        variant = r.json()["variants"][0]["id"]
        location = (await c.get("/api/v1/locations", params={"q": "RM-WH"})).json()["items"][0]["id"]
        _seed_history(tenant_sql, variant, location)
        entries = tenant_sql("pt-abc", "SELECT number, entry_date::text FROM journal_entries")
        moves = tenant_sql("pt-abc", "SELECT number, posting_date::text, moved_at FROM stock_movements")
        assert len(entries) == ENTRIES and len(moves) == MOVES

        # Whatever `limit` asks (up to 500 accepted), a page holds at most 200 rows (clamped, and said so).
        r = (await c.get("/api/v1/journal-entries", params={"limit": 500})).json()
        assert len(r["items"]) == r["limit"] == 200 and r["total"] == ENTRIES and r["next_cursor"]
        r = (await c.get("/api/v1/stock-movements", params={"limit": 499})).json()
        assert len(r["items"]) == 200 and r["total"] == MOVES and r["next_cursor"]
        gl = (await c.get("/api/v1/reports/general-ledger/1101",
                          params={"date_to": "2026-12-31", "limit": 300})).json()
        assert len(gl["lines"]) == gl["limit"] == 200 and gl["next_cursor"]
        h = (await c.get(f"/api/v1/stock-movements/history/{variant}", params={"limit": 300})).json()
        assert len(h["lines"]) == 200 and h["next_cursor"]

        # Walking every page gives every row exactly once, in order, ties on a date (and an instant) included.
        by_date = sorted(entries, key=lambda e: (e[1], e[0]))
        for sort, expected in (("date", by_date), ("-date", by_date[::-1]),
                               ("number", sorted(entries)), ("-number", sorted(entries, reverse=True))):
            got = await _walk(c, "/api/v1/journal-entries", {"limit": 37, "sort": sort})
            assert [e["number"] for e in got] == [e[0] for e in expected], sort
            assert all(len(e["lines"]) == 2 for e in got)
        got = await _walk(c, "/api/v1/journal-entries", {"limit": 23, "account": "1101", "date_from": DAYS[1],
                                                         "sort": "date"})
        assert [e["number"] for e in got] == [e[0] for e in by_date if e[1] >= DAYS[1]]

        moves_by_date = sorted(moves, key=lambda m: (m[1], m[2], m[0]))
        for sort, expected in (("date", moves_by_date), ("-date", moves_by_date[::-1])):
            got = await _walk(c, "/api/v1/stock-movements", {"limit": 41, "sort": sort})
            assert [m["number"] for m in got] == [m[0] for m in expected], sort

        # Running balances stay right across pages; the closing balance is the whole period's.
        lines = await _walk(c, "/api/v1/reports/general-ledger/1101", {"date_to": "2026-12-31", "limit": 50},
                            field="lines")
        assert [l["number"] for l in lines] == [e[0] for e in by_date]
        amounts = [int(l["description"].split()[1]) for l in lines]
        running = [sum(amounts[:i + 1]) for i in range(len(amounts))]
        assert [float(l["balance"]) for l in lines] == running
        assert float(gl["closing_balance"]) == running[-1] == sum(range(1, ENTRIES + 1))
        part = await _walk(c, "/api/v1/reports/general-ledger/1101",
                           {"date_from": DAYS[2], "date_to": DAYS[3], "limit": 30}, field="lines")
        opening = sum(a for a, l in zip(amounts, lines) if l["entry_date"] < DAYS[2])
        first = (await c.get("/api/v1/reports/general-ledger/1101",
                             params={"date_from": DAYS[2], "date_to": DAYS[3]})).json()
        assert float(first["opening_balance"]) == opening
        assert float(part[-1]["balance"]) == float(first["closing_balance"]) == opening + sum(
            a for a, l in zip(amounts, lines) if DAYS[2] <= l["entry_date"] <= DAYS[3])

        hist = await _walk(c, f"/api/v1/stock-movements/history/{variant}", {"limit": 45}, field="lines")
        assert [m["number"] for m in hist] == [m[0] for m in moves_by_date]
        assert [float(m["balance"]) for m in hist] == list(range(1, MOVES + 1))

        # A damaged cursor, one from another sort or list, or a cursor with an offset: 422, never a 500.
        cursor = (await c.get("/api/v1/journal-entries", params={"sort": "date"})).json()["next_cursor"]
        for path, params in (("/api/v1/journal-entries", {"cursor": "not-a-cursor"}),
                             ("/api/v1/journal-entries", {"cursor": cursor, "sort": "number"}),
                             ("/api/v1/journal-entries", {"cursor": cursor, "sort": "date", "offset": 5}),
                             ("/api/v1/stock-movements", {"cursor": cursor, "sort": "date"}),
                             ("/api/v1/reports/general-ledger/1101", {"cursor": cursor}),
                             ("/api/v1/reports/general-ledger/1101", {"cursor": "W1siZ2wxMTAxIiwieCIsMSwyXQ"})):
            r = await c.get(path, params=params)
            assert r.status_code == 422, (path, params, r.status_code, r.text)
            assert "cursor" in r.text


async def test_a_journal_page_also_stops_at_a_thousand_lines(make_tenant, live, tenant_sql):
    """200 entries of 500 lines would be 100,000 lines in one answer (over a second of serialisation on the
    event loop every tenant shares): a page ends before the entry that would pass 1,000 lines."""
    await make_tenant("pt-abc")
    tenant_sql("pt-abc", """
        WITH e AS (
            INSERT INTO journal_entries (id, number, doc_type, entry_date, description, source)
            SELECT gen_random_uuid(), 'JV/L/' || lpad(i::text, 3, '0'), 'JV', date '2026-03-02', 'wide ' || i, 'manual'
            FROM generate_series(1, 30) AS i RETURNING id
        )
        INSERT INTO journal_lines (entry_id, account_code, debit, credit)
        SELECT id, CASE WHEN mod(j, 2) = 0 THEN '1101' ELSE '1102' END, CASE WHEN mod(j, 2) = 0 THEN 5 ELSE 0 END,
               CASE WHEN mod(j, 2) = 0 THEN 0 ELSE 5 END
        FROM e, generate_series(1, 150) AS j""")
    async with live.tenant_client("pt-abc", role="owner") as c:
        first = (await c.get("/api/v1/journal-entries", params={"limit": 200, "sort": "number"})).json()
        assert first["total"] == 30 and len(first["items"]) == 6 and first["next_cursor"]  # 6 x 150 = 900 lines
        got = await _walk(c, "/api/v1/journal-entries", {"limit": 200, "sort": "number"})
        assert [e["number"] for e in got] == [f"JV/L/{i:03d}" for i in range(1, 31)]
        assert all(len(e["lines"]) == 150 for e in got)
