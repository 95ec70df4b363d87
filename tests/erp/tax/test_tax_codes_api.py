"""Tax codes over HTTP: the seeded Indonesian set, effective-date selection, new versions for a rate change,
the calculator, the company's tax identity, who may read and write (accounting), and tenant isolation."""

import pytest

from polyflow.platform import entitlements


def _detail(r) -> str:
    body = r.json()["detail"]
    return body if isinstance(body, str) else " | ".join(e["msg"] for e in body)


async def _by_code(c, code: str, on: str) -> dict:
    r = await c.get("/api/v1/tax-codes/effective", params={"code": code, "on": on})
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_standard_set_is_seeded_with_accounts(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        page = (await c.get("/api/v1/tax-codes", params={"limit": 100})).json()
        seen = {(t["code"], t["effective_from"]): t for t in page["items"]}
        assert page["total"] == 12
        ppn = seen[("PPN", "2025-01-01")]
        assert (ppn["kind"], ppn["rate"], ppn["base_rule"], ppn["sales_account"], ppn["purchase_account"]) == \
            ("ppn_output", "12.00", "dpp_11_12", "2130", None)
        assert seen[("PPN", "2022-04-01")]["effective_to"] == "2024-12-31"
        assert seen[("PPN-IN", "2025-01-01")]["purchase_account"] == "1150"
        assert seen[("PPN-LUX", "2025-01-01")]["base_rule"] == "full"
        pph23 = seen[("PPH23", "2009-01-01")]
        assert (pph23["rate"], pph23["sales_account"], pph23["purchase_account"]) == ("2.00", "1171", "2140")
        assert seen[("PPH22-IMPORT", "2017-03-01")]["rate"] == "2.50"
        for code in ("PPN-EXPORT", "PPN-EXEMPT", "PPN-NC"):
            assert [t["rate"] for (k, _), t in seen.items() if k == code] == ["0.00"]
        # The prepaid-tax accounts the codes need are in the chart.
        assert (await c.get("/api/v1/accounts/1171")).json()["name"] == "PPh 23 Dibayar Dimuka"
        assert (await c.get("/api/v1/accounts/1172")).json()["type"] == "asset"
        # Filters: kind, and "in effect on".
        assert (await c.get("/api/v1/tax-codes", params={"kind": "ppn_output"})).json()["total"] == 3
        on_2024 = (await c.get("/api/v1/tax-codes", params={"on": "2024-06-30", "q": "ppn"})).json()["items"]
        assert {(t["code"], t["rate"]) for t in on_2024} == {("PPN", "11.00"), ("PPN-IN", "11.00"),
                                                             ("PPN-EXPORT", "0.00"), ("PPN-EXEMPT", "0.00"),
                                                             ("PPN-NC", "0.00")}


async def test_effective_date_selection_and_new_versions(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        assert (await _by_code(c, "PPN", "2024-12-31"))["rate"] == "11.00"
        assert (await _by_code(c, "ppn", "2025-01-01"))["base_rule"] == "dpp_11_12"
        r = await c.get("/api/v1/tax-codes/effective", params={"code": "PPN", "on": "2021-01-01"})
        assert r.status_code == 404 and r.json()["detail"] == "no active tax code 'PPN' is in effect on 2021-01-01"

        # A rate change is a new version: the open one is closed the day before.
        r = await c.post("/api/v1/tax-codes", json={
            "code": "ppn", "name": "PPN Keluaran 13%", "kind": "ppn_output", "rate": "13", "base_rule": "dpp_11_12",
            "effective_from": "2027-01-01", "sales_account": "2130"})
        assert r.status_code == 201, r.text
        new = r.json()
        assert new["code"] == "PPN" and new["rate"] == "13.00" and new["effective_to"] is None
        assert (await _by_code(c, "PPN", "2026-12-31"))["effective_to"] == "2026-12-31"
        assert (await _by_code(c, "PPN", "2027-01-01"))["id"] == new["id"]

        # Overlapping a closed range, changing the kind, a start date taken: 409 with the reason.
        r = await c.post("/api/v1/tax-codes", json={"code": "PPN", "name": "x", "kind": "ppn_output", "rate": "10",
                                                    "effective_from": "2024-01-01", "effective_to": "2025-06-30"})
        assert r.status_code == 409 and "already has a version for 2022-04-01..2024-12-31" in r.json()["detail"]
        r = await c.post("/api/v1/tax-codes", json={"code": "PPN", "name": "x", "kind": "pph23", "rate": "2",
                                                    "effective_from": "2030-01-01"})
        assert r.status_code == 409 and "cannot change its kind" in r.json()["detail"]
        # Closing a version so that it would overlap the next: 409; deactivating one hides it from documents.
        r = await c.patch(f"/api/v1/tax-codes/{new['id']}", json={"effective_to": "2026-06-30"})
        assert r.status_code == 422 and "before effective_from" in r.json()["detail"]
        old = await _by_code(c, "PPN", "2026-01-01")
        r = await c.patch(f"/api/v1/tax-codes/{old['id']}", json={"effective_to": None})
        assert r.status_code == 409 and "overlaps the version for 2027-01-01..open" in r.json()["detail"]
        r = await c.patch(f"/api/v1/tax-codes/{new['id']}", json={"is_active": False, "name": "PPN 13% (draft)"})
        assert r.status_code == 200 and r.json()["is_active"] is False
        r = await c.get("/api/v1/tax-codes/effective", params={"code": "PPN", "on": "2027-02-01"})
        assert r.status_code == 404
        # Rate and base never change on a version.
        assert (await c.patch(f"/api/v1/tax-codes/{new['id']}", json={"rate": "12"})).status_code == 422


@pytest.mark.parametrize("body,message", [
    ({"rate": "101"}, "less than or equal to 100"),
    ({"rate": "12.345"}, "no more than 2 decimal places"),
    ({"kind": "exempt", "rate": "1"}, "a 'exempt' tax code has rate 0"),
    ({"effective_to": "2025-12-31"}, "effective_to is before effective_from"),
    ({"sales_account": "9999"}, "sales_account: no active account '9999'"),
    ({"purchase_account": "1150"}, "PPN Keluaran (ppn_output) is charged on sales only"),
    ({"kind": "ppn_input", "sales_account": "2130"}, "PPN Masukan (ppn_input) is paid on purchases only"),
    ({"code": "bad code"}, "should match pattern"),
    ({"base_rule": "half"}, "Input should be 'full' or 'dpp_11_12'"),
])
async def test_tax_code_validation(make_tenant, live, body, message):
    await make_tenant("pt-abc")
    valid = {"code": "PPN-X", "name": "x", "kind": "ppn_output", "rate": "12", "effective_from": "2026-01-01"}
    async with live.tenant_client("pt-abc") as c:
        r = await c.post("/api/v1/tax-codes", json={**valid, **body})
        assert r.status_code == 422, r.text
        assert message in _detail(r), r.text


async def test_the_calculator_endpoint(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        ppn = await _by_code(c, "PPN", "2026-03-01")
        r = await c.get(f"/api/v1/tax-codes/{ppn['id']}/compute", params={"amounts": ["1000000"]})
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["base"], got["other_base"], got["tax"], got["total"], got["rounding_difference"]) == \
            ("1000000.00", "916667.00", "110000.00", "1110000.00", "0.00")
        r = await c.get(f"/api/v1/tax-codes/{ppn['id']}/compute",
                        params={"amounts": ["60000", "40000"], "inclusive": "true"})
        got = r.json()
        # 100 000 / 1.11 -> 90 090; x 11/12 -> 82 583; 12 % -> 9 910 (split 60/40 over the lines).
        assert (got["base"], got["other_base"], got["tax"]) == ("90090.00", "82583.00", "9910.00")
        assert [line["tax"] for line in got["lines"]] == ["5946.00", "3964.00"]
        for bad in (["-1"], ["1.234"], ["abc"], ["NaN"], ["1"] * 201):
            r = await c.get(f"/api/v1/tax-codes/{ppn['id']}/compute", params={"amounts": bad})
            assert r.status_code == 422, (bad, r.text)
        empty = (await c.get(f"/api/v1/tax-codes/{ppn['id']}/compute")).json()
        assert (empty["tax"], empty["lines"]) == ("0.00", [])


async def test_company_tax_identity(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        blank = (await c.get("/api/v1/tax/company")).json()
        assert blank["npwp"] is None and blank["is_pkp"] is False
        r = await c.patch("/api/v1/tax/company", json={"is_pkp": True})
        assert r.status_code == 422 and r.json()["detail"] == "a PKP (VAT-registered company) must have its NPWP"
        r = await c.patch("/api/v1/tax/company", json={"npwp": "12.345"})
        assert r.status_code == 422 and "NPWP must have 16 digits" in _detail(r)
        r = await c.patch("/api/v1/tax/company", json={"legal_name": "PT ABC Plastindo", "npwp": "01.234.567.8-901.000",
                                                      "is_pkp": True, "pkp_since": "2020-07-01",
                                                      "address": "Jl. Raya Serang Km 12, Tangerang"})
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["npwp"] == "0012345678901000" and got["nitku"] == "0012345678901000000000" and got["is_pkp"]
        r = await c.patch("/api/v1/tax/company", json={"nitku": "1111111111111111000000"})
        assert r.status_code == 422 and "not a place of business of NPWP 0012345678901000" in r.json()["detail"]
        r = await c.patch("/api/v1/tax/company", json={"nitku": "0012345678901000000001"})
        assert r.json()["nitku"] == "0012345678901000000001"
        r = await c.patch("/api/v1/tax/company", json={"npwp": None})
        assert r.status_code == 422  # a PKP keeps its NPWP
        assert (await c.get("/api/v1/tax/company")).json()["legal_name"] == "PT ABC Plastindo"


async def test_accounting_reads_and_writes_tax_others_are_refused(platform, make_tenant, live):
    await make_tenant("pt-abc")
    await entitlements.set_plan(platform, "pt-abc", "pro")
    async with live.tenant_client("pt-abc", role="finance") as finance, \
            live.tenant_client("pt-abc", role="purchasing") as buyer, \
            live.tenant_client("pt-abc", role="sales") as sales:
        ppn = await _by_code(finance, "PPN", "2026-03-01")
        assert (await finance.patch("/api/v1/tax/company", json={"legal_name": "PT ABC"})).status_code == 200
        assert (await buyer.get(f"/api/v1/tax-codes/{ppn['id']}")).status_code == 200  # purchasing reads accounting
        for path in ("/api/v1/tax-codes", "/api/v1/tax/company"):
            r = await sales.get(path)
            assert r.status_code == 403 and r.json()["detail"] == "your role (sales) does not allow accounting.read"
        r = await buyer.patch("/api/v1/tax/company", json={"legal_name": "hijack"})
        assert r.status_code == 403 and r.json()["detail"] == "your role (purchasing) does not allow accounting.write"
        r = await buyer.patch(f"/api/v1/tax-codes/{ppn['id']}", json={"name": "hijack"})
        assert r.status_code == 403
        assert (await finance.get("/api/v1/tax/company")).json()["legal_name"] == "PT ABC"


async def test_tax_codes_and_company_identity_are_isolated(make_tenant, live):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as abc, live.tenant_client("pt-xyz") as xyz:
        mine = (await abc.post("/api/v1/tax-codes", json={"code": "ABC-ONLY", "name": "ABC secret", "kind": "pph23",
                                                          "rate": "4", "effective_from": "2026-01-01"})).json()
        await abc.patch("/api/v1/tax/company", json={"legal_name": "PT ABC", "npwp": "1234567890123456"})
        assert (await xyz.get(f"/api/v1/tax-codes/{mine['id']}")).status_code == 404
        assert (await xyz.patch(f"/api/v1/tax-codes/{mine['id']}", json={"name": "hijacked"})).status_code == 404
        r = await xyz.get(f"/api/v1/tax-codes/{mine['id']}/compute", params={"amounts": ["100"]})
        assert r.status_code == 404
        r = await xyz.get("/api/v1/tax-codes/effective", params={"code": "ABC-ONLY", "on": "2026-02-01"})
        assert r.status_code == 404
        assert (await xyz.get("/api/v1/tax-codes", params={"q": "ABC"})).json()["total"] == 0
        assert (await xyz.get("/api/v1/tax/company")).json()["npwp"] is None
        # pt-xyz's own change of PPN does not reach pt-abc.
        ppn_xyz = await _by_code(xyz, "PPN", "2026-01-01")
        await xyz.patch(f"/api/v1/tax-codes/{ppn_xyz['id']}", json={"is_active": False})
        assert (await _by_code(abc, "PPN", "2026-01-01"))["is_active"] is True
        assert (await abc.get(f"/api/v1/tax-codes/{mine['id']}")).json()["name"] == "ABC secret"
        assert (await abc.get("/api/v1/tax/company")).json()["npwp"] == "1234567890123456"
