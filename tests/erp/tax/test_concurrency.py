"""Two versions of one tax code written at the same moment with overlapping dates: one is saved, the other
gets a 409 (the writers of a code are serialised by an advisory lock), never two overlapping rates."""

import asyncio

from tests.fixtures.auth import tenant_sql


async def test_racing_overlapping_versions_one_wins(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as a, live.tenant_client("pt-abc") as b:
        for i in range(6):
            code = f"RACE-{i}"
            first = {"code": code, "name": "first", "kind": "pph23", "rate": "2", "effective_from": "2030-01-01",
                     "effective_to": "2030-12-31"}
            second = {**first, "name": "second", "rate": "3", "effective_from": "2030-06-01", "effective_to": "2031-05-31"}
            ra, rb = await asyncio.gather(a.post("/api/v1/tax-codes", json=first), b.post("/api/v1/tax-codes", json=second))
            assert sorted([ra.status_code, rb.status_code]) == [201, 409], (ra.text, rb.text)
            loser = ra if ra.status_code == 409 else rb
            assert "overlaps" in loser.json()["detail"]
        rows = tenant_sql(live.settings, "SELECT code, count(*) FROM tax_codes WHERE starts_with(code, 'RACE-') GROUP BY code",
                         sub="pt-abc")
        assert sorted(rows) == [(f"RACE-{i}", 1) for i in range(6)]
