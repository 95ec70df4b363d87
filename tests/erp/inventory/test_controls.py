"""Ledger controls on stock (issue 11, section 1): future dates, the lock date, the counter account
following from the reason (another one needs accounting.write), valid (kind, reason) pairs, locations
that hold stock, unit changes, exponent-form numbers and backwards date ranges."""

from datetime import datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

SM = "/api/v1/stock-movements"


def mv(kind, qty, on=None, sku="PP-GRN", **kw):
    body = {"kind": kind, "sku": sku, "quantity": str(qty), **kw}
    if on:
        body["posting_date"] = on
    return body


async def _lines(c, movement):
    entry = (await c.get(f"/api/v1/journal-entries/{movement['journal_entry_id']}")).json()
    return {(l["account_code"], l["debit"], l["credit"]) for l in entry["lines"]}


async def _setup(c):
    r = await c.post("/api/v1/products", json={"sku": "PP-GRN", "name": "PP granules", "unit": "KG",
                                               "product_type": "raw_material", "buy_price": "20000"})
    assert r.status_code == 201, r.text
    r = await c.post(SM, json=mv("IN", 100, "2026-10-01", to_location="RM-WH", unit_cost="20000"))
    assert r.status_code == 201, r.text
    return r.json()


async def test_future_dated_stock_and_the_posting_window(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        await _setup(c)
        today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
        # The accountant's finding: a receipt dated 2031 counted as on hand today.
        r = await c.post(SM, json=mv("IN", 5, "2031-01-01", to_location="RM-WH", unit_cost="1"))
        assert r.status_code == 422 and "future date" in r.json()["detail"]
        r = await c.post(SM, json=mv("IN", 5, (today + timedelta(days=1)).isoformat(), to_location="RM-WH",
                                     unit_cost="1"))
        assert r.status_code == 422
        assert (await c.post(SM, json=mv("OUT", 5, today.isoformat(), from_location="RM-WH"))).status_code == 201
        r = await c.post(SM, json=mv("IN", 5, "1999-12-31", to_location="RM-WH", unit_cost="1"))
        assert r.status_code == 422 and "before 2000-01-01" in r.json()["detail"]
        # Journals: from 2000-01-01 to 366 days ahead.
        jv = {"description": "x", "lines": [{"account": "1101", "debit": "1"}, {"account": "3100", "credit": "1"}]}
        r = await c.post("/api/v1/journal-entries", json={**jv, "entry_date": "1900-01-01"})
        assert r.status_code == 422 and "before 2000-01-01" in r.json()["detail"]
        r = await c.post("/api/v1/journal-entries", json={**jv, "entry_date": (today + timedelta(days=367)).isoformat()})
        assert r.status_code == 422 and "more than 366 days ahead" in r.json()["detail"]
        r = await c.post("/api/v1/journal-entries", json={**jv, "entry_date": (today + timedelta(days=366)).isoformat()})
        assert r.status_code == 201
        assert (await c.get(SM)).json()["total"] == 2


async def test_the_lock_date_closes_every_route(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as owner, live.tenant_client("pt-abc", role="finance") as finance, \
            live.tenant_client("pt-abc", role="warehouse") as warehouse:
        await _setup(owner)
        jv = {"description": "x", "lines": [{"account": "1101", "debit": "1"}, {"account": "3100", "credit": "1"}]}
        nov = (await owner.post("/api/v1/journal-entries", json={**jv, "entry_date": "2026-11-02"})).json()
        assert (await warehouse.put("/api/v1/lock-date", json={"books_closed_through": "2026-10-31"})).status_code == 403
        r = await finance.put("/api/v1/lock-date", json={"books_closed_through": "2026-10-31"})
        assert r.status_code == 200 and r.json() == {"books_closed_through": "2026-10-31"}
        assert (await warehouse.get("/api/v1/lock-date")).status_code == 403  # accounting.read: not a warehouse's
        assert (await finance.get("/api/v1/settings")).json()["books_closed_through"] == "2026-10-31"

        # The accountant's finding: with November locked a 30 Sep journal or stock OUT still went through.
        r = await owner.post("/api/v1/journal-entries", json={**jv, "entry_date": "2026-09-30"})
        assert r.status_code == 409 and "closed through 2026-10-31" in r.json()["detail"]
        assert (await owner.post("/api/v1/journal-entries", json={**jv, "entry_date": "2026-10-31"})).status_code == 409
        r = await warehouse.post(SM, json=mv("OUT", 1, "2026-09-30", from_location="RM-WH"))
        assert r.status_code == 409 and "closed through 2026-10-31" in r.json()["detail"]
        assert (await warehouse.post(SM, json=mv("IN", 1, "2026-10-31", to_location="RM-WH",
                                                 unit_cost="1"))).status_code == 409
        r = await owner.post(f"/api/v1/journal-entries/{nov['id']}/reverse", json={"entry_date": "2026-10-31"})
        assert r.status_code in (409, 422)
        draft = await owner.post("/api/v1/journal-entries", json={**jv, "entry_date": "2026-10-15", "status": "draft"})
        assert draft.status_code == 201  # a draft is not in the books...
        r = await owner.post(f"/api/v1/journal-entries/{draft.json()['id']}/post")
        assert r.status_code == 409  # ...and cannot be posted into closed days
        assert (await owner.post("/api/v1/journal-entries", json={**jv, "entry_date": "2026-11-01"})).status_code == 201
        assert (await warehouse.post(SM, json=mv("OUT", 1, "2026-11-01", from_location="RM-WH"))).status_code == 201

        # The database refuses it too, whatever the code path.
        async with tenant_engine(tenant).connect() as conn:
            from sqlalchemy import text
            from sqlalchemy.exc import DBAPIError
            try:
                await conn.execute(text("UPDATE stock_movements SET posting_date = '2026-10-30'"))
                raise AssertionError("the trigger let a movement into closed days")
            except DBAPIError as exc:
                assert "the books are closed through 2026-10-31" in str(exc)

        # Forward with accounting.write; back (or open) only by an owner.
        r = await finance.put("/api/v1/lock-date", json={"books_closed_through": "2026-09-30"})
        assert r.status_code == 403 and "only an owner" in r.json()["detail"]
        assert (await finance.put("/api/v1/lock-date", json={"books_closed_through": None})).status_code == 403
        r = await finance.put("/api/v1/lock-date", json={"books_closed_through": "2099-01-01"})
        assert r.status_code == 422
        assert (await owner.put("/api/v1/lock-date", json={"books_closed_through": "2026-09-30"})).status_code == 200
        assert (await owner.post("/api/v1/journal-entries", json={**jv, "entry_date": "2026-10-31"})).status_code == 201
        assert (await owner.put("/api/v1/lock-date", json={"books_closed_through": None})).json() == {
            "books_closed_through": None}
        # The monthly locks still work beside it.
        assert (await finance.post("/api/v1/fiscal-periods/2026/11/lock")).status_code == 200
        r = await owner.post("/api/v1/journal-entries", json={**jv, "entry_date": "2026-11-03"})
        assert r.status_code == 409 and "2026-11 is locked" in r.json()["detail"]


async def test_the_counter_account_follows_from_the_reason(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as owner, live.tenant_client("pt-abc", role="warehouse") as warehouse:
        await _setup(owner)
        # The accountant's finding: a warehouse token posted Dr inventory / Cr Bank, and an OUT against capital.
        r = await warehouse.post(SM, json=mv("IN", 10, "2026-10-02", to_location="RM-WH", unit_cost="20000",
                                             counter_account="1102"))
        assert r.status_code == 403 and "needs the accounting.write permission" in r.json()["detail"]
        assert "posts against 2120" in r.json()["detail"]
        r = await warehouse.post(SM, json=mv("OUT", 10, "2026-10-02", from_location="RM-WH", counter_account="3100"))
        assert r.status_code == 403
        r = await warehouse.post(SM, json=mv("IN", 10, "2026-10-02", to_location="RM-WH", unit_cost="20000",
                                             counter_account="2120"))  # the mapped one: nothing to choose
        assert r.status_code == 201 and r.json()["reason"] == "purchase"
        assert await _lines(owner, r.json()) == {("1141", "200000.00", "0.00"), ("2120", "0.00", "200000.00")}
        r = await owner.post(SM, json=mv("IN", 10, "2026-10-02", to_location="RM-WH", unit_cost="20000",
                                         counter_account="1102"))
        assert r.status_code == 201 and await _lines(owner, r.json()) == {("1141", "200000.00", "0.00"),
                                                                          ("1102", "0.00", "200000.00")}
        r = await owner.post(SM, json=mv("OUT", 1, "2026-10-02", from_location="RM-WH", counter_account="1143"))
        assert r.status_code == 422 and "inventory account" in r.json()["detail"]
        r = await owner.post(SM, json=mv("TRANSFER", 1, "2026-10-02", from_location="RM-WH", to_location="MIXING",
                                         counter_account="5100"))
        assert r.status_code == 422 and "posts no journal" in r.json()["detail"]

        # Each reason's account (120 kg on hand at 20,000).
        expected = [
            (mv("OUT", 1, "2026-10-03", from_location="RM-WH", reason="sale"), "5100", "debit"),
            (mv("OUT", 1, "2026-10-03", from_location="RM-WH", reason="consumption"), "5200", "debit"),
            (mv("OUT", 1, "2026-10-03", from_location="RM-WH", reason="scrap"), "5300", "debit"),
            (mv("ADJUSTMENT", 1, "2026-10-03", from_location="RM-WH"), "5400", "debit"),
            (mv("ADJUSTMENT", 1, "2026-10-03", to_location="RM-WH"), "5400", "credit"),
            (mv("IN", 1, "2026-10-03", to_location="RM-WH", unit_cost="20000", reason="opening"), "3900", "credit"),
            # A customer return comes back into stock against cost of goods sold; a return to the supplier
            # reduces received-not-billed (not HPP).
            (mv("IN", 1, "2026-10-03", to_location="RM-WH", unit_cost="20000", reason="return"), "5100", "credit"),
            (mv("OUT", 1, "2026-10-03", from_location="RM-WH", reason="return"), "2120", "debit"),
        ]
        for body, account, side in expected:
            r = await warehouse.post(SM, json=body)
            assert r.status_code == 201, (body, r.text)
            want = ("20000.00", "0.00") if side == "debit" else ("0.00", "20000.00")
            assert (account, *want) in await _lines(owner, r.json()), body

        # Production (issue 12) moves stock against WIP (1142) only on a production order, whose WIP
        # sub-ledger holds the other side: a bare one here is refused, whoever asks; a hand-valued
        # receipt that names another counter account is a plain valued receipt.
        for body in (mv("IN", 1, "2026-10-03", to_location="RM-WH", unit_cost="20000", reason="production"),
                     mv("OUT", 1, "2026-10-03", from_location="RM-WH", reason="production"),
                     mv("OUT", 1, "2026-10-03", from_location="RM-WH", reason="production", counter_account="1142")):
            for who in (warehouse, owner):
                r = await who.post(SM, json=body)
                assert r.status_code == 422 and "production order" in r.json()["detail"], (body, r.text)
        r = await owner.post(SM, json=mv("IN", 1, "2026-10-03", to_location="RM-WH", unit_cost="20000",
                                         reason="production", counter_account="5200"))
        assert r.status_code == 201 and ("5200", "0.00", "20000.00") in await _lines(owner, r.json())


async def test_only_valid_kind_and_reason_pairs(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc", role="warehouse") as c, live.tenant_client("pt-abc") as owner:
        await _setup(owner)
        for body in (mv("IN", 1, to_location="RM-WH", unit_cost="1", reason="sale"),
                     mv("IN", 1, to_location="RM-WH", unit_cost="1", reason="consumption"),
                     mv("OUT", 1, from_location="RM-WH", reason="purchase"),
                     mv("OUT", 1, from_location="RM-WH", reason="opening"),
                     mv("ADJUSTMENT", 1, from_location="RM-WH", reason="opening"),
                     mv("TRANSFER", 1, from_location="RM-WH", to_location="MIXING", reason="sale")):
            r = await c.post(SM, json=body)
            assert r.status_code == 422 and "does not fit" in r.json()["detail"], (body, r.text)
        r = await c.post(SM, json=mv("IN", 1, to_location="RM-WH", unit_cost="1", reason="sale"))
        assert "(a IN takes: opening, production, purchase, return)" in r.json()["detail"]
        assert (await c.get(SM)).json()["total"] == 1


async def test_locations_units_numbers_and_ranges(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        first = await _setup(c)
        loc = first["to_location_id"]
        # The accountant's finding: a deactivated location with stock could be neither emptied nor written off.
        r = await c.patch(f"/api/v1/locations/{loc}", json={"is_active": False})
        assert r.status_code == 409 and "RM-WH still holds stock" in r.json()["detail"]
        await c.post(SM, json=mv("TRANSFER", 100, "2026-10-02", from_location="RM-WH", to_location="MIXING"))
        r = await c.patch(f"/api/v1/locations/{loc}", json={"is_active": False})
        assert r.status_code == 200 and r.json()["is_active"] is False

        # The accountant's finding: KG -> TON with 1,666 kg on hand made /stock read 1,500 TON.
        product = (await c.get("/api/v1/products", params={"q": "PP-GRN"})).json()["items"][0]
        r = await c.patch(f"/api/v1/products/{product['id']}", json={"unit": "TON"})
        assert r.status_code == 409 and "unit cannot change from KG" in r.json()["detail"]
        fresh = (await c.post("/api/v1/products", json={"sku": "NEW-1", "name": "new", "unit": "KG"})).json()
        assert (await c.patch(f"/api/v1/products/{fresh['id']}", json={"unit": "TON"})).json()["unit"] == "TON"

        # "1e3" is not a quantity, nor an amount.
        for body in (mv("IN", "1e3", to_location="MIXING", unit_cost="1"), mv("IN", "1E3", to_location="MIXING",
                                                                                unit_cost="1"),
                     mv("IN", "NaN", to_location="MIXING", unit_cost="1"),
                     mv("IN", 1, to_location="MIXING", unit_cost="2e4")):
            r = await c.post(SM, json=body)
            assert r.status_code == 422 and "plain notation" in r.text, body
        r = await c.post("/api/v1/journal-entries", json={"entry_date": "2026-10-05", "description": "x", "lines": [
            {"account": "1101", "debit": "1e3"}, {"account": "3100", "credit": "1000"}]})
        assert r.status_code == 422
        r = await c.post("/api/v1/stock/reservations", json={"sku": "PP-GRN", "location": "MIXING", "quantity": "1e1"})
        assert r.status_code == 422

        # Amounts echoed in one form, on create and on read.
        r = await c.post("/api/v1/products", json={"sku": "WB-50", "name": "Woven bag", "unit": "PCS",
                                                   "sell_price": "21500", "buy_price": "1950.5"})
        assert (r.json()["sell_price"], r.json()["buy_price"]) == ("21500.00", "1950.50")
        again = (await c.get(f"/api/v1/products/{r.json()['id']}")).json()
        assert (again["sell_price"], again["buy_price"]) == ("21500.00", "1950.50")
        r = await c.post("/api/v1/journal-entries", json={"entry_date": "2026-10-05", "description": "x", "lines": [
            {"account": "1101", "debit": "21500"}, {"account": "3100", "credit": "21500"}]})
        assert [(l["debit"], l["credit"]) for l in r.json()["lines"]] == [("21500.00", "0.00"), ("0.00", "21500.00")]
        r = await c.post(SM, json=mv("IN", 2, "2026-10-05", to_location="MIXING", unit_cost="21500"))
        assert r.json()["value"] == "43000.00" == (await c.get(f"{SM}/{r.json()['id']}")).json()["value"]

        # Backwards date ranges: 422 everywhere.
        backwards = {"date_from": "2026-11-30", "date_to": "2026-11-01"}
        for path in (SM, "/api/v1/journal-entries", "/api/v1/reports/trial-balance",
                     "/api/v1/reports/general-ledger/1141", "/api/v1/reports/profit-and-loss"):
            r = await c.get(path, params=backwards)
            assert r.status_code == 422 and "is after date_to" in r.text, path
        assert D((await c.get("/api/v1/stock/valuation", params={"as_of": "2026-10-31"})).json()["total_value"]) == \
            D(2_043_000)


async def test_the_posting_window_and_time_zone_come_from_the_settings(make_tenant, settings, make_live):
    from datetime import date

    from polyflow.erp.accounting import service as accounting

    await make_tenant("pt-abc")
    live = make_live(settings.model_copy(update={"posting_date_min": date(2024, 1, 1), "posting_future_days": 10}))
    try:
        async with live.tenant_client("pt-abc") as c:
            today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
            jv = {"description": "x", "lines": [{"account": "1101", "debit": "1"}, {"account": "3100", "credit": "1"}]}
            r = await c.post("/api/v1/journal-entries", json={**jv, "entry_date": "2023-12-31"})
            assert r.status_code == 422 and "before 2024-01-01" in r.json()["detail"]
            r = await c.post("/api/v1/journal-entries", json={**jv, "entry_date": (today + timedelta(days=11)).isoformat()})
            assert r.status_code == 422 and "more than 10 days ahead" in r.json()["detail"]
            r = await c.post("/api/v1/journal-entries", json={**jv, "entry_date": (today + timedelta(days=10)).isoformat()})
            assert r.status_code == 201
            # The company's time zone is a setting (WIB by default); a name that is no zone is refused.
            assert (await c.get("/api/v1/settings")).json()["time_zone"] == "Asia/Jakarta"
            r = await c.patch("/api/v1/settings", json={"time_zone": "Mars/Olympus"})
            assert r.status_code == 422 and "unknown time zone" in r.text
            assert (await c.patch("/api/v1/settings", json={"time_zone": "Asia/Jayapura"})).json()["time_zone"] == \
                "Asia/Jayapura"
    finally:
        accounting.configure_posting(settings)  # the default window again for what runs next in this process


def test_one_rounding_rule_for_amounts():
    from polyflow.kit.money import money, rupiah

    # Half up, to the cent and to the whole rupiah; written with two decimals.
    assert (str(money("0.005")), str(money("2.675")), str(money("-0.005"))) == ("0.01", "2.68", "-0.01")
    assert (str(rupiah("1500.5")), str(rupiah("1500.49")), str(rupiah("21500"))) == ("1501.00", "1500.00", "21500.00")
