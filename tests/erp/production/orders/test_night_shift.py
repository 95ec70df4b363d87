"""An execution given a shift but no work date lands on the day that shift STARTED, in the tenant's time zone:
a night shift's (MALAM 23:00-07:00) output or scrap entered at 02:00 is yesterday's, not tonight's. Without a
shift, or with a day shift, it is today."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.production.orders.executions import shift_start_date
from tests.erp.production.orders.helpers import act, ledger_ties, ok, released, small_plant

D0 = date(2026, 11, 2)
MALAM = SimpleNamespace(starts_at=time(23), ends_at=time(7))
PAGI = SimpleNamespace(starts_at=time(7), ends_at=time(15))


def test_the_day_a_shift_started():
    zone = ZoneInfo("Asia/Jakarta")
    at = lambda h, m=0: datetime(2026, 11, 29, h, m, tzinfo=zone)  # noqa: E731
    assert shift_start_date(MALAM, at(2)) == date(2026, 11, 28)      # after midnight: began yesterday 23:00
    assert shift_start_date(MALAM, at(6, 59)) == date(2026, 11, 28)
    assert shift_start_date(MALAM, at(7)) == date(2026, 11, 29)      # that shift has ended at 07:00
    assert shift_start_date(MALAM, at(23, 30)) == date(2026, 11, 29)  # tonight's, begun today
    assert shift_start_date(PAGI, at(2)) == date(2026, 11, 29)       # a day shift never crosses midnight
    assert shift_start_date(PAGI, at(8)) == date(2026, 11, 29)


def _zone_at_two_in_the_night() -> str:
    """A fixed-offset zone whose local time is 02:xx now (offsets -12..+14 cover every hour of the day),
    so the API sees 'after midnight' without touching the clock."""
    off = (2 - datetime.now(timezone.utc).hour) % 24
    if off > 14:
        off -= 24
    return f"Etc/GMT{-off:+d}" if off else "Etc/GMT"  # POSIX sign: Etc/GMT-7 is UTC+7


@pytest.fixture
async def plant(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c, AsyncSession(tenant_engine(tenant), expire_on_commit=False) as session:
        await small_plant(c, session, D0)


async def test_a_night_shift_record_after_midnight_is_dated_the_day_the_shift_started(plant, live):
    zone = _zone_at_two_in_the_night()
    async with live.tenant_client("pt-abc") as owner:
        await ok(await owner.patch("/api/v1/settings", json={"time_zone": zone}))
        malam = await ok(await owner.post("/api/v1/shifts", json={"code": "MALAM", "name": "Malam",
                                                                   "starts_at": "23:00", "ends_at": "07:00"}), 201)
        pagi = await ok(await owner.post("/api/v1/shifts", json={"code": "PAGI", "name": "Pagi",
                                                                  "starts_at": "07:00", "ends_at": "15:00"}), 201)
    today = datetime.now(ZoneInfo(zone)).date()
    assert datetime.now(ZoneInfo(zone)).hour in (2, 3)
    yesterday = today - timedelta(days=1)
    async with live.tenant_client("pt-abc", role="production") as c:
        o = await released(c, "TAPE", "100")
        night = await act(c, o["id"], "output", {"quantity": "10", "shift_id": malam["id"]}, 201)
        assert night["work_date"] == yesterday.isoformat()
        movement = await ok(await c.get(f"/api/v1/stock-movements/{night['movement_id']}"))
        assert movement["posting_date"] == yesterday.isoformat()  # the stock and WIP follow the work date
        scrap = await act(c, o["id"], "scrap", {"scrap_sku": "DAUN", "scrap_kind": "daun", "quantity": "1",
                                                "shift_id": malam["id"]}, 201)
        assert scrap["work_date"] == yesterday.isoformat()
        day = await act(c, o["id"], "output", {"quantity": "5", "shift_id": pagi["id"]}, 201)
        assert day["work_date"] == today.isoformat()
        plain = await act(c, o["id"], "output", {"quantity": "5"}, 201)
        assert plain["work_date"] == today.isoformat()
        given = await act(c, o["id"], "output", {"quantity": "1", "shift_id": malam["id"],
                                                 "work_date": today.isoformat()}, 201)
        assert given["work_date"] == today.isoformat()  # a given date is kept
    async with live.tenant_client("pt-abc") as owner:
        await ledger_ties(owner, yesterday)
        await ledger_ties(owner, today)
