"""Manual journals through the pages: Indonesian amounts, the balance check that keeps what was typed, the
trial balance with account names, reversal, the workspace's time zone, roles and tenants."""

from __future__ import annotations

import csv
import html
import io
import re
from decimal import Decimal as D

from openpyxl import load_workbook

from tests.fixtures.auth import tenant_sql
from tests.web.accounting.conftest import SUB, csrf_of, post_form

LINES = {"account": ["6100 — Beban Gaji dan Upah", "1101", "", ""], "debit": ["1.750.000", "", "", ""],
         "credit": ["", "1.750.000", "", ""], "memo": ["Lembur November", "", "", ""]}


def journal_form(**changes) -> dict:
    return {"entry_date": "2026-11-03", "description": "Upah lembur", "reference": "BKK-17", **LINES, **changes}


async def _post_journal(c, **changes):
    r = await post_form(c, "/journal/new", "/journal", journal_form(**changes))
    assert r.status_code == 303, r.text[:2000]
    return r.headers["location"]


async def test_a_journal_typed_the_indonesian_way_posts_1750000_and_shows_in_the_trial_balance(make_tenant, browser):
    await make_tenant(SUB)
    async with browser(["finance"]) as c:
        form = await c.get("/journal/new")
        assert form.status_code == 200
        assert 'list="account-list"' in form.text and "6100 — Beban Gaji dan Upah" in form.text
        assert "Jurnal baru" in form.text  # Bahasa Indonesia
        location = await _post_journal(c)
        assert re.fullmatch(r"/journal/[0-9a-f-]{36}\?done=posted", location)
        entry_id = location.split("/")[2].split("?")[0]

        entry = (await c.get(f"/api/v1/journal-entries/{entry_id}")).json()
        assert entry["number"] == "JV/2026/00001" and entry["reference"] == "BKK-17"
        assert {(l["account_code"], D(l["debit"]), D(l["credit"])) for l in entry["lines"]} == {
            ("6100", D(1_750_000), D(0)), ("1101", D(0), D(1_750_000))}

        detail = await c.get(location)
        assert detail.status_code == 200
        assert "Jurnal diposting." in detail.text
        assert "6100 — Beban Gaji dan Upah" in detail.text and "1101 — Kas" in detail.text
        assert "Rp 1.750.000" in detail.text

        tb = await c.get("/reports/trial-balance", params={"date_to": "2026-11-30"})
        assert tb.status_code == 200
        row = re.search(r"6100</a>\s*</td>\s*<td[^>]*>\s*Beban Gaji dan Upah\s*</td>.*?</tr>", tb.text, re.S)
        assert row and "Rp 1.750.000" in row.group(0)
        assert "Debit sama dengan kredit" in tb.text

        listing = await c.get("/journal", params={"q": "BKK-17"})
        assert "JV/2026/00001" in listing.text and "6100 — Beban Gaji dan Upah" in listing.text
        assert "1101 — Kas" in listing.text


async def test_an_unbalanced_journal_is_a_422_that_keeps_every_typed_line(make_tenant, browser):
    await make_tenant(SUB)
    async with browser(["finance"]) as c:
        r = await post_form(c, "/journal/new", "/journal",
                            journal_form(credit=["", "1.705.000", "", ""], memo=["Lembur <November>", "", "", ""]))
        assert r.status_code == 422
        text = html.unescape(r.text)
        assert "Jurnal tidak seimbang" in text and "selisih Rp 45.000" in text
        assert 'value="6100 — Beban Gaji dan Upah"' in text and 'value="1.750.000"' in text
        assert 'value="1.705.000"' in text and 'value="BKK-17"' in text
        assert 'value="Lembur &lt;November&gt;"' in r.text  # kept, and escaped
        # A line with both sides, and an unknown account from the service: both come back too.
        r = await post_form(c, "/journal/new", "/journal", journal_form(credit=["5", "1.750.000", "", ""]))
        assert r.status_code == 422 and "Isi debit atau kredit" in r.text
        r = await post_form(c, "/journal/new", "/journal", journal_form(account=["9999", "1101", "", ""]))
        assert r.status_code == 422 and "unknown account(s): 9999" in r.text and 'value="9999"' in r.text
        assert (await c.get("/api/v1/journal-entries")).json()["total"] == 0


async def test_reversal_through_the_page_zeroes_the_balance(make_tenant, browser):
    await make_tenant(SUB)
    async with browser(["finance"]) as c:
        location = await _post_journal(c)
        entry_url = location.split("?")[0]
        page = await c.get(entry_url)
        assert 'action="' + entry_url + '/reverse"' in page.text
        r = await c.post(entry_url + "/reverse", data={"entry_date": "2026-11-01", "csrf_token": csrf_of(page.text)})
        assert r.status_code == 422 and "before the entry it reverses" in r.text
        r = await c.post(entry_url + "/reverse", data={"entry_date": "2026-11-10", "csrf_token": csrf_of(page.text)})
        assert r.status_code == 303, r.text[:1000]
        reversal = await c.get(r.headers["location"])
        assert "JV/2026/00002" in reversal.text and "JV/2026/00001" in reversal.text
        tb = (await c.get("/api/v1/reports/trial-balance", params={"date_to": "2026-11-30"})).json()
        assert {r["code"]: D(r["balance"]) for r in tb["rows"] if r["code"] in ("6100", "1101")} == {
            "6100": D(0), "1101": D(0)}
        accounts = await c.get("/accounts", params={"q": "6100", "as_of": "2026-11-30"})
        assert re.search(r"Beban Gaji dan Upah.*?Rp 0\s*</td>", accounts.text, re.S)
        page = await c.get(entry_url)
        assert "/reverse" not in page.text  # once only: no form any more
        r = await c.post(entry_url + "/reverse", data={"entry_date": "2026-11-11", "csrf_token": csrf_of(page.text)})
        assert r.status_code == 409 and "already reversed" in r.text


async def test_time_zone_set_to_makassar_shows_journal_times_in_wita(make_tenant, browser):
    await make_tenant(SUB)
    async with browser(["finance"]) as c:
        location = await _post_journal(c)
        assert " WIB" in (await c.get(location)).text
        r = await post_form(c, "/settings", "/settings", {"company_name": "PT Plastik Abadi", "ppn_rate": "12",
                                                          "time_zone": "Asia/Makassar", "language": "id"})
        assert r.status_code == 303, r.text[:1000]
        detail = await c.get(location)
        assert re.search(r"\d{2}\.\d{2} WITA", detail.text) and " WIB" not in detail.text
        settings = (await c.get("/api/v1/settings")).json()
        assert settings["time_zone"] == "Asia/Makassar" and settings["company_name"] == "PT Plastik Abadi"


async def test_roles_and_tenants(make_tenant, live, browser):
    await make_tenant(SUB)
    await make_tenant("pt-xyz")
    async with browser(["finance"], sub="pt-xyz") as xyz:
        location = await _post_journal(xyz)
    async with browser(["sales"]) as sales:
        for path in ("/journal", "/journal/new", "/reports/trial-balance", "/settings"):
            r = await sales.get(path)
            assert r.status_code == 403 and "does not allow accounting" in r.text, path
    async with browser(["purchasing"]) as reader:  # reads accounting, may not write it
        assert (await reader.get("/journal")).status_code == 200
        assert 'href="/journal/new"' not in (await reader.get("/journal")).text
        assert (await reader.get("/journal/new")).status_code == 403
        r = await reader.get("/settings")
        assert r.status_code == 200 and 'type="submit"' not in r.text.split('action="/settings"')[1]
    async with browser(["owner"]) as abc:
        # pt-xyz's journal id on pt-abc's host: not found, like any unknown id.
        r = await abc.get(location.split("?")[0])
        assert r.status_code == 404
        assert (await abc.get("/journal/not-an-id")).status_code == 404
        page = await abc.get("/journal")
        r = await abc.post(location.split("?")[0] + "/reverse", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 404
    assert tenant_sql(live.settings, "SELECT count(*) FROM journal_entries", sub="pt-xyz") == [(1,)]


async def test_journal_export_drafts_and_english(make_tenant, live, browser):
    await make_tenant(SUB)
    async with browser(["finance"]) as c:
        await _post_journal(c)
        r = await c.get("/journal", params={"export": "csv", "account": "6100"})
        assert r.status_code == 200
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [(row["Akun"], row["Nama akun"], row["Debit"], row["Kredit"]) for row in rows] == [
            ("6100", "Beban Gaji dan Upah", "1750000", "0"), ("1101", "Kas", "0", "1750000")]
        r = await c.get("/journal", params={"export": "xlsx", "doc_type": "GR"})
        assert load_workbook(io.BytesIO(r.content)).active.max_row == 1  # only the header: no goods receipt

        # A draft saved through the API is posted from its page.
        r = await c.post("/api/v1/journal-entries", json={
            "entry_date": "2026-11-05", "description": "Draf", "status": "draft",
            "lines": [{"account": "6200", "debit": "10", "credit": "0"}, {"account": "1101", "debit": "0", "credit": "10"}]})
        draft = r.json()
        page = await c.get(f"/journal/{draft['id']}")
        assert page.status_code == 200 and f'action="/journal/{draft["id"]}/post"' in page.text
        assert "/reverse" not in page.text
        r = await c.post(f"/journal/{draft['id']}/post", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 303
        posted = await c.get(r.headers["location"])
        assert "JV/2026/00002" in posted.text and "/reverse" in posted.text
        # The list (and the API's) with a posted draft among the entries (its draft_lines became JSON null).
        assert (await c.get("/api/v1/journal-entries")).status_code == 200
        assert "JV/2026/00002" in (await c.get("/journal")).text

    tenant_sql(live.settings, "UPDATE users SET language = 'en'")
    async with browser(["owner"]) as c:
        tenant_sql(live.settings, "UPDATE users SET language = 'en'")
        for path in ("/journal", "/journal/new", "/accounts", "/periods", "/reports/trial-balance",
                     "/reports/general-ledger?account=1101", "/reports/profit-loss", "/reports/balance-sheet",
                     "/reports/ar-aging", "/reports/ap-aging", "/reports/ppn", "/reports/coretax", "/settings",
                     "/settings/tax-codes", "/settings/tax-codes/new"):
            r = await c.get(path)
            assert r.status_code == 200 and 'lang="en"' in r.text, (path, r.text[-1500:])
        page = await c.get("/journal")
        assert "Rp 1,750,000" in page.text and "6100 — Beban Gaji dan Upah" in page.text
