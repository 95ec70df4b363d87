"""Reports on a fixed data set, checked against figures computed by hand."""

from decimal import Decimal as D

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


async def test_reports_match_hand_computed_figures(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        for body in DATA:
            r = await c.post(JV, json=body)
            assert r.status_code == 201, r.text

        tb = (await c.get("/api/v1/reports/trial-balance", params={"date_to": "2026-02-28"})).json()
        balances = {r["code"]: D(r["balance"]) for r in tb["rows"]}
        assert balances == {
            "1101": D(3_250_000), "1102": D(362_500_000), "1130": D(130_425_000), "1210": D(215_000_000), "1290": D(-80_000_000),
            "1150": D(23_650_000), "2110": D(-138_650_000), "2130": D(-12_925_000), "3100": D(-500_000_000),
            "4100": D(-117_500_000), "4200": D(-3_250_000), "6300": D(80_000_000), "6100": D(25_000_000),
            "6200": D(12_500_000),
        }
        assert sum(balances.values()) == 0
        assert D(tb["total_debit"]) == D(tb["total_credit"]) == D(852_325_000)

        jan = (await c.get("/api/v1/reports/trial-balance",
                           params={"date_from": "2026-01-01", "date_to": "2026-01-31"})).json()
        assert {r["code"]: D(r["balance"]) for r in jan["rows"]}["1102"] == D(475_000_000)

        pl = (await c.get("/api/v1/reports/profit-and-loss",
                          params={"date_from": "2026-01-01", "date_to": "2026-01-31"})).json()
        assert D(pl["total_revenue"]) == D(117_500_000) and D(pl["total_expenses"]) == D(105_000_000)
        assert D(pl["net_profit"]) == D(12_500_000)
        pl = (await c.get("/api/v1/reports/profit-and-loss",
                          params={"date_from": "2026-02-01", "date_to": "2026-02-28"})).json()
        assert D(pl["net_profit"]) == D(3_250_000 - 12_500_000)
        assert (await c.get("/api/v1/reports/profit-and-loss",
                            params={"date_from": "2026-03-01", "date_to": "2026-02-01"})).status_code == 422

        bs = (await c.get("/api/v1/reports/balance-sheet", params={"as_of": "2026-02-28"})).json()
        assert D(bs["total_assets"]) == D(654_825_000)
        assert D(bs["total_liabilities"]) == D(151_575_000)
        assert D(bs["current_earnings"]) == D(3_250_000)
        assert D(bs["total_equity"]) == D(503_250_000)
        assert D(bs["total_assets"]) == D(bs["total_liabilities"]) + D(bs["total_equity"])
        bs = (await c.get("/api/v1/reports/balance-sheet", params={"as_of": "2026-01-15"})).json()
        assert D(bs["total_assets"]) == D(738_650_000) and D(bs["current_earnings"]) == 0

        gl = (await c.get("/api/v1/reports/general-ledger/1102",
                          params={"date_from": "2026-02-01", "date_to": "2026-02-28"})).json()
        assert D(gl["opening_balance"]) == D(475_000_000)
        assert [D(line["balance"]) for line in gl["lines"]] == [D(375_000_000), D(362_500_000)]
        assert D(gl["closing_balance"]) == D(362_500_000)
        gl = (await c.get("/api/v1/reports/general-ledger/2110", params={"date_to": "2026-02-28"})).json()
        # A liability runs on the credit side.
        assert [D(line["balance"]) for line in gl["lines"]] == [D(238_650_000), D(138_650_000)]
        assert (await c.get("/api/v1/reports/general-ledger/9999")).status_code == 404
        # Inventory accounts are kept by stock movements only.
        r = await c.post(JV, json=jv("2026-02-01", "x", ("1141", 1, 0), ("1101", 0, 1)))
        assert r.status_code == 422 and "kept by inventory" in r.json()["detail"]
