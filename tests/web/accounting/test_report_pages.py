"""Report pages show the API's figures (and one checked by hand), export the same rows as CSV / Excel, and the
settings, periods and tax code forms work through the pages."""

from __future__ import annotations

import csv
import html
import io
import re
from decimal import Decimal as D

from openpyxl import load_workbook

from tests.web.accounting.conftest import SUB, csrf_of, post_form

JV = "/api/v1/journal-entries"


def jv(on, description, *lines):
    return {"entry_date": on, "description": description,
            "lines": [{"account": a, "debit": str(d), "credit": str(c)} for a, d, c in lines]}


# January and February 2026 of a small raffia plant (IDR).
DATA = [
    jv("2026-01-02", "Setoran modal", ("1102", 500_000_000, 0), ("3100", 0, 500_000_000)),
    jv("2026-01-10", "Beli mesin extruder + PPN", ("1210", 215_000_000, 0), ("1150", 23_650_000, 0),
       ("2110", 0, 238_650_000)),
    jv("2026-01-20", "Jual karung 50.000 pcs + PPN", ("1130", 130_425_000, 0), ("4100", 0, 117_500_000),
       ("2130", 0, 12_925_000)),
    jv("2026-01-20", "Penyusutan", ("6300", 80_000_000, 0), ("1290", 0, 80_000_000)),
    jv("2026-01-31", "Gaji Januari", ("6100", 25_000_000, 0), ("1102", 0, 25_000_000)),
    jv("2026-02-05", "Bayar pemasok", ("2110", 100_000_000, 0), ("1102", 0, 100_000_000)),
    jv("2026-02-15", "Scrap dijual", ("1101", 3_250_000, 0), ("4200", 0, 3_250_000)),
    jv("2026-02-28", "Listrik Februari", ("6200", 12_500_000, 0), ("1102", 0, 12_500_000)),
]


def rp(amount) -> str:
    """The page's way of writing money in Bahasa Indonesia."""
    d = D(amount)
    text = f"{abs(d):,.0f}".replace(",", ".")
    return f"-Rp {text}" if d < 0 else f"Rp {text}"


def total_of(page_text: str, label: str) -> str:
    found = re.search(rf"<dt>{re.escape(label)}</dt><dd[^>]*>([^<]*)</dd>", html.unescape(page_text))
    assert found, label
    return found.group(1)


async def _seed(c):
    for body in DATA:
        r = await c.post(JV, json=body)
        assert r.status_code == 201, r.text


async def test_profit_loss_and_balance_sheet_show_the_apis_figures(make_tenant, browser):
    await make_tenant(SUB)
    async with browser(["finance"]) as c:
        await _seed(c)
        api = (await c.get("/api/v1/reports/profit-and-loss",
                           params={"date_from": "2026-01-01", "date_to": "2026-02-28"})).json()
        page = await c.get("/reports/profit-loss", params={"date_from": "2026-01-01", "date_to": "2026-02-28"})
        assert page.status_code == 200
        assert total_of(page.text, "Total pendapatan") == rp(api["total_revenue"])
        assert total_of(page.text, "Total beban") == rp(api["total_expenses"])
        # By hand: revenue 117.500.000 + 3.250.000, expenses 80.000.000 + 25.000.000 + 12.500.000.
        assert total_of(page.text, "Laba bersih") == rp(api["net_profit"]) == "Rp 3.250.000"
        assert "Beban Penyusutan" in page.text and "Rp 80.000.000" in page.text

        api = (await c.get("/api/v1/reports/balance-sheet", params={"as_of": "2026-02-28"})).json()
        page = await c.get("/reports/balance-sheet", params={"as_of": "2026-02-28"})
        assert page.status_code == 200
        assert total_of(page.text, "Total aset") == rp(api["total_assets"])
        assert total_of(page.text, "Total liabilitas") == rp(api["total_liabilities"])
        assert total_of(page.text, "Total ekuitas") == rp(api["total_equity"])
        # By hand: 3.250.000 + 362.500.000 + 130.425.000 + 23.650.000 + 215.000.000 - 80.000.000.
        assert total_of(page.text, "Total aset") == "Rp 654.825.000"
        assert total_of(page.text, "Liabilitas + ekuitas") == "Rp 654.825.000"
        assert "Aset = liabilitas + ekuitas" in page.text
        assert "Laba tahun berjalan" in page.text

        # The balance sheet's export carries the same rows: assets sum to the total.
        r = await c.get("/reports/balance-sheet", params={"as_of": "2026-02-28", "export": "csv"})
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert sum(D(row["Jumlah"]) for row in rows if row["Kelompok"] == "Aset") == D(api["total_assets"])


async def test_trial_balance_exports_parse_back_and_balance(make_tenant, browser):
    await make_tenant(SUB)
    async with browser(["finance"]) as c:
        await _seed(c)
        params = {"date_to": "2026-02-28"}
        r = await c.get("/reports/trial-balance", params={**params, "export": "csv"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        debit = sum(D(row["Debit"]) for row in rows)
        assert debit == sum(D(row["Kredit"]) for row in rows) == D(852_325_000)
        assert {"Kode": "1290", "Akun": "Akumulasi Penyusutan", "Tipe": "Aset", "Debit": "0",
                "Kredit": "80000000"} in rows

        r = await c.get("/reports/trial-balance", params={**params, "export": "xlsx"})
        sheet = load_workbook(io.BytesIO(r.content)).active
        values = list(sheet.iter_rows(values_only=True))
        assert values[0] == ("Kode", "Akun", "Tipe", "Debit", "Kredit")
        assert sum(D(str(v[3])) for v in values[1:]) == sum(D(str(v[4])) for v in values[1:]) == D(852_325_000)

        page = await c.get("/reports/trial-balance", params=params)
        assert total_of(page.text, "Total debit") == total_of(page.text, "Total kredit") == "Rp 852.325.000"

        # The general ledger of the bank: running balance, closing balance as in the trial balance.
        gl = await c.get("/reports/general-ledger", params={"account": "1102", **params})
        assert gl.status_code == 200 and "1102 — Bank" in gl.text
        assert total_of(gl.text, "Saldo akhir") == "Rp 362.500.000"
        r = await c.get("/reports/general-ledger", params={"account": "1102", **params, "export": "csv"})
        lines = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [D(line["Saldo"]) for line in lines] == [D(500_000_000), D(475_000_000), D(375_000_000),
                                                         D(362_500_000)]
        assert (await c.get("/reports/general-ledger", params={"account": "0000"})).status_code == 404
        assert (await c.get("/reports/trial-balance", params={"date_to": "29-02-2026"})).status_code == 422


async def test_the_other_reports_render(make_tenant, browser):
    await make_tenant(SUB)
    async with browser(["finance"]) as c:
        await _seed(c)
        for path in ("/accounts", "/periods", "/reports/ar-aging", "/reports/ap-aging", "/reports/ppn",
                     "/reports/coretax", "/settings", "/settings/tax-codes", "/settings/tax-codes/new"):
            r = await c.get(path)
            assert r.status_code == 200, (path, r.text[:500])
        aging = await c.get("/reports/ar-aging")
        assert "Belum jatuh tempo" in aging.text and "Lebih dari 90 hari" in aging.text
        r = await c.get("/reports/ar-aging", params={"export": "xlsx"})
        assert r.status_code == 200 and r.content[:2] == b"PK"
        r = await c.get("/reports/coretax", params={"month": "2026-13"})
        assert r.status_code == 422 and "month must be YYYY-MM" in html.unescape(r.text)
        r = await c.get("/reports/coretax", params={"month": "2026-01"})  # journals only: no sales invoice
        assert r.status_code == 422 and "Coretax would reject this file" in r.text  # no company NPWP yet
        assert 'value="2026-01"' in r.text


async def test_periods_lock_and_lock_date_through_the_pages(make_tenant, browser):
    await make_tenant(SUB)
    async with browser(["finance"]) as c:
        await _seed(c)
        page = await c.get("/periods", params={"year": "2026"})
        r = await c.post("/periods/2026/1/lock", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/periods?year=2026&done=locked"
        page = await c.get(r.headers["location"])
        assert "Periode dikunci." in page.text and 'action="/periods/2026/1/unlock"' in page.text
        r = await c.post(JV, json=jv("2026-01-15", "Late", ("6100", 1, 0), ("1101", 0, 1)))
        assert r.status_code == 409
        r = await c.post("/periods/2026/13/lock", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 404
        # The lock date: forward by finance, back only by an owner.
        r = await post_form(c, "/periods", "/periods/lock-date", {"books_closed_through": "2026-02-15"})
        assert r.status_code == 303
        assert (await c.get("/api/v1/lock-date")).json()["books_closed_through"] == "2026-02-15"
        r = await post_form(c, "/periods", "/periods/lock-date", {"books_closed_through": "2026-01-31"})
        assert r.status_code == 403 and "only an owner can reopen" in r.text and 'value="2026-01-31"' in r.text
        assert (await c.get("/api/v1/lock-date")).json()["books_closed_through"] == "2026-02-15"


async def test_settings_and_tax_codes_through_the_pages(make_tenant, browser):
    await make_tenant(SUB)
    async with browser(["finance"]) as c:
        base = {"company_name": "PT Plastik Abadi", "address": "Jl. Industri 5, Sidoarjo", "phone": "031-555",
                "email": "pajak@abadi.co.id", "ppn_rate": "12", "time_zone": "Asia/Jayapura", "language": "en",
                "npwp": "01.234.567.8-901.000", "is_pkp": "1"}
        r = await post_form(c, "/settings", "/settings", {**base, "npwp": "12345", "ppn_rate": "12,5"})
        assert r.status_code == 422 and 'value="12345"' in r.text and 'value="PT Plastik Abadi"' in r.text
        r = await post_form(c, "/settings", "/settings", {**base, "ppn_rate": "abc"})
        assert r.status_code == 422 and "bukan angka" in html.unescape(r.text)
        r = await post_form(c, "/settings", "/settings", base)
        assert r.status_code == 303, r.text[:1000]
        company = (await c.get("/api/v1/tax/company")).json()
        assert company["npwp"] == "0012345678901000" and company["nitku"] == "0012345678901000000000"
        assert company["is_pkp"] is True
        settings = (await c.get("/api/v1/settings")).json()
        assert (settings["time_zone"], settings["language"], settings["npwp"]) == ("Asia/Jayapura", "en",
                                                                                    "0012345678901000")

        r = await post_form(c, "/settings/tax-codes/new", "/settings/tax-codes", {
            "code": "ppn-uji", "name": "PPN barang mewah", "kind": "ppn_output", "rate": "12", "base_rule": "full",
            "effective_from": "2026-01-01", "sales_account": "2130"})
        assert r.status_code == 303, r.text[:1000]
        listing = await c.get(r.headers["location"])
        assert "PPN-UJI" in listing.text and "PPN barang mewah" in listing.text
        found = await c.get("/api/v1/tax-codes", params={"q": "PPN-UJI"})
        tax_code = found.json()["items"][0]
        assert found.json()["total"] == 1 and tax_code["effective_from"] == "2026-01-01", found.json()
        assert (tax_code["rate"], tax_code["sales_account"]) == ("12.00", "2130")
        r = await post_form(c, f"/settings/tax-codes/{tax_code['id']}", f"/settings/tax-codes/{tax_code['id']}", {
            "name": "PPN barang mewah", "effective_to": "2025-12-31", "sales_account": "2130", "is_active": "1"})
        assert r.status_code == 422 and "effective_to is before effective_from" in r.text, (
            {k: v for k, v in (await c.get(f"/api/v1/tax-codes/{tax_code['id']}")).json().items() if "eff" in k or k == "name"})
        r = await post_form(c, f"/settings/tax-codes/{tax_code['id']}", f"/settings/tax-codes/{tax_code['id']}", {
            "name": "PPN mewah", "effective_to": "2026-12-31", "sales_account": "2130"})
        assert r.status_code == 303
        after = (await c.get(f"/api/v1/tax-codes/{tax_code['id']}")).json()
        assert (after["name"], after["effective_to"], after["is_active"]) == ("PPN mewah", "2026-12-31", False)


async def test_ppn_summary_and_coretax_download_match_the_api(make_tenant, live, browser):
    from tests.erp.tax.test_ppn_summary import november  # the tax module's November scenario (sales and purchases)

    await make_tenant(SUB)
    async with live.tenant_client(SUB) as api:
        await november(api)
        summary = (await api.get("/api/v1/tax/ppn-summary", params={"month": "2026-11"})).json()
        xml = await api.get("/api/v1/tax/coretax-xml", params={"month": "2026-11"})
        assert xml.status_code == 200
    async with browser(["finance"]) as c:
        r = await c.get("/reports/ppn", params={"year": "2026", "export": "csv"})
        rows = {row["Bulan"]: row for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))}
        nov = rows["2026-11"]
        assert D(nov["PPN Keluaran"]) == D(summary["output_tax"]["net"]["tax"])
        assert D(nov["PPN Masukan"]) == D(summary["input_tax"]["net"]["tax"])
        assert D(nov["Kurang bayar"]) == D(summary["underpaid"]) and D(nov["Lebih bayar"]) == D(summary["overpaid"])
        assert nov["Cocok dengan buku besar"] == ("Y" if summary["matches"] else "N")
        page = await c.get("/reports/ppn", params={"year": "2026"})
        assert page.status_code == 200 and 'href="/reports/coretax?month=2026-11"' in page.text
        r = await c.get("/reports/coretax", params={"month": "2026-11"})
        assert r.status_code == 200 and r.content == xml.content
        assert r.headers["content-disposition"] == 'attachment; filename="coretax-efaktur-2026-11.xml"'


async def test_year_end_close_from_the_periods_page(make_tenant, browser):
    await make_tenant(SUB)
    async with browser(["finance"]) as c:
        for body in (jv("2025-06-30", "Penjualan", ("1101", 10_000_000, 0), ("4100", 0, 10_000_000)),
                     jv("2025-07-31", "Gaji", ("6100", 4_000_000, 0), ("1101", 0, 4_000_000))):
            assert (await c.post(JV, json=body)).status_code == 201
        page = await c.get("/periods", params={"year": "2025"})
        assert 'action="/periods/2025/close"' in page.text
        r = await c.post("/periods/2025/close", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 303, r.text[:1000]
        entry = await c.get(r.headers["location"])
        assert "CLS/2025/00001" in entry.text and "3200 — Laba Ditahan" in entry.text
        assert "Tahun ditutup ke laba ditahan." in entry.text
        tb = (await c.get("/api/v1/reports/trial-balance", params={"date_to": "2025-12-31"})).json()
        assert {r["code"]: D(r["balance"]) for r in tb["rows"]}["3200"] == D(-6_000_000)  # profit 6 000 000
        r = await c.post("/periods/2025/close", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 409 and "nothing to close in 2025" in r.text
