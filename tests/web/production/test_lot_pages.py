"""The lot pages over real HTTP, in Bahasa Indonesia, on the three-level chain of the lots tests (resin lots A
and B -> mixing batch -> tape roll -> bale; tests/erp/production/lots/helpers.build_chain): the bale's page
traces back to the supplier's resin lots with machine, operator and shift of every step; a quarantine through
the form moves the lot to KARANTINA and the stock can no longer leave the warehouse; a second quarantine is
the service's 409 next to the form with the note kept; the list's CSV parses back; roles and another
workspace."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal as D

from tests.erp.production.lots.helpers import build_chain
from tests.web.production.conftest import browser, csrf_of, post_form


async def _chain(make_tenant, live, tenant_engine) -> dict:
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        return await build_chain(c, tenant_engine(tenant))


async def test_the_bale_page_traces_back_to_the_resin_lots(make_tenant, live, tenant_engine):
    ids = await _chain(make_tenant, live, tenant_engine)
    async with browser(live, "pt-abc", ["production"]) as b:
        r = await b.get(f"/production/lots/{ids['bale']}")
        assert r.status_code == 200, r.text[:2000]
        page = r.text
        back = page.split("Telusur mundur")[1].split("Telusur maju")[0]
        # bale <- SPK-3 <- tape roll <- SPK-2 <- batch <- SPK-1 <- supplier lots A (60 kg taken) and B (4 kg).
        for text in ("T-SPK-3", "T-RL-1", "T-SPK-2", "T-BT-1", "T-SPK-1", "T-SUPLOT-A", "T-SUPLOT-B",
                     "T Resin Supplier", ids["receipt"]["number"]):
            assert text in back, text
        assert f'href="/production/lots/{ids["lot_a"]}"' in back
        # Machine, operator and shift of the roll's step, and the step that made the bale itself.
        roll_row = back.split("T-RL-1")[1].split("</tr>")[0]
        assert "T-EXT-1" in roll_row and "Sari" in roll_row and "Siang" in roll_row
        assert "Joko" in page and "T-BAL-1" in page
        assert "Berat neto" in page and "Lot dan ketertelusuran" in page

        # Forward from resin lot A: down to the bale; 60 of its 100 kg consumed by SPK-1 (id format "60").
        r = await b.get(f"/production/lots/{ids['lot_a']}")
        assert r.status_code == 200
        forward = r.text.split("Telusur maju")[1]
        assert "T-BT-1" in forward and "T-RL-1" in forward and "T-BL-1" in forward
        consumed = r.text.split("Dipakai oleh")[1].split("</table>")[0]
        assert "T-SPK-1" in consumed and ">60<" in consumed


async def test_lot_list_search_filter_and_csv(make_tenant, live, tenant_engine):
    ids = await _chain(make_tenant, live, tenant_engine)
    async with browser(live, "pt-abc", ["production"]) as b:
        r = await b.get("/production/lots", params={"q": "T-RL"})
        assert r.status_code == 200 and f"/production/lots/{ids['tape']}" in r.text and "T-BL-1" not in r.text
        r = await b.get("/production/lots", params={"kind": "bale"})
        assert r.status_code == 200 and "T-BL-1" in r.text and "T-RL-1" not in r.text
        r = await b.get("/production/lots", params={"sku": "T-TAPE"})
        assert "T-RL-1" in r.text and "T-BL-1" not in r.text
        r = await b.get("/production/lots", params={"export": "csv"})
        assert r.status_code == 200 and "text/csv" in r.headers["content-type"]
        rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
        by_number = {row["Nomor lot"]: row for row in rows}
        assert set(by_number) >= {"T-BT-1", "T-RL-1", "T-BL-1"}
        roll = by_number["T-RL-1"]
        # The roll: 64,5 kg gross - 2,5 kg core = 62 kg net, all still there, at EXTRUSION.
        assert D(roll["Berat neto"]) == 62 and D(roll["Sisa"]) == 62 and roll["Lokasi"] == "EXTRUSION"
        assert D(by_number["T-BT-1"]["Sisa"]) == 0  # the batch went whole into SPK-2


async def test_quarantine_through_the_form_and_the_409_next_to_it(make_tenant, live, tenant_engine):
    ids = await _chain(make_tenant, live, tenant_engine)
    lot = f"/production/lots/{ids['lot_a']}"
    async with browser(live, "pt-abc", ["production"]) as b:
        r = await post_form(b, lot, f"{lot}/inspect", {"result": "quarantine", "inspector": "Wati",
                                                       "note": "karung basah", "date": ""})
        assert r.status_code == 303 and r.headers["location"] == f"{lot}?done=inspected", r.text[:2000]
        page = (await b.get(r.headers["location"])).text
        assert "Inspeksi dicatat." in page and "KARANTINA" in page and "Dipindah ke karantina" in page
        assert "karung basah" in page and "Wati" in page
        # Resin A: 100 kg received, 60 kg issued to SPK-1; the other 40 kg now sit in KARANTINA, not RM-WH.
        async with live.tenant_client("pt-abc") as api:
            got = (await api.get(f"/api/v1/lots/{ids['lot_a']}")).json()
            assert (got["status"], got["location_code"], D(got["remaining"])) == ("quarantine", "KARANTINA", 40)
            r = await api.post("/api/v1/stock-movements", json={
                "kind": "OUT", "reason": "consumption", "variant_id": ids["resin_a"]["id"], "quantity": "1",
                "from_location": "RM-WH"})
            assert r.status_code == 409 and "insufficient stock" in r.json()["detail"], r.text
        # Quarantine again: the service's 409 at the top of the form, what was typed still in it.
        r = await post_form(b, lot, f"{lot}/inspect", {"result": "quarantine", "inspector": "Wati",
                                                       "note": "cek ulang", "date": ""})
        assert r.status_code == 409, r.text[:2000]
        assert "already in quarantine" in r.text and 'role="alert"' in r.text
        assert "cek ulang" in r.text and 'value="Wati"' in r.text
        # Pass: back to RM-WH, available again.
        r = await post_form(b, lot, f"{lot}/inspect", {"result": "pass", "note": "kering"})
        assert r.status_code == 303
    async with live.tenant_client("pt-abc") as api:
        got = (await api.get(f"/api/v1/lots/{ids['lot_a']}")).json()
        assert (got["status"], got["location_code"]) == ("available", "RM-WH")


async def test_bad_input_roles_and_another_workspace(make_tenant, live, tenant_engine):
    ids = await _chain(make_tenant, live, tenant_engine)
    lot = f"/production/lots/{ids['lot_a']}"
    async with browser(live, "pt-abc", ["production"]) as b:
        r = await post_form(b, lot, f"{lot}/inspect", {"result": "maybe", "note": "tetap ada"})
        assert r.status_code == 422 and 'id="e-result"' in r.text and "tetap ada" in r.text
    async with browser(live, "pt-abc", ["sales"]) as b:
        for path in ("/production/lots", lot):
            assert (await b.get(path)).status_code == 403, path
        token = csrf_of((await b.get("/account")).text)
        r = await b.post(f"{lot}/inspect", data={"csrf_token": token, "result": "quarantine"})
        assert r.status_code == 403
    async with browser(live, "pt-abc", ["warehouse"]) as b:
        # production.read only: the lot opens, no inspection form.
        r = await b.get(lot)
        assert r.status_code == 200 and f'action="{lot}/inspect"' not in r.text
    await make_tenant("pt-xyz")
    async with browser(live, "pt-xyz", ["owner"]) as b:
        for path in (lot, f"/production/lots/{uuid.uuid4()}", "/production/lots/not-an-id"):
            assert (await b.get(path)).status_code == 404, path
        token = csrf_of((await b.get("/production/lots")).text)
        r = await b.post(f"{lot}/inspect", data={"csrf_token": token, "result": "quarantine"})
        assert r.status_code == 404
        assert "T-SUPLOT-A" not in (await b.get("/production/lots")).text
    async with live.tenant_client("pt-abc") as api:
        assert (await api.get(f"/api/v1/lots/{ids['lot_a']}")).json()["status"] == "available"


async def test_a_roll_made_through_the_order_pages_traces_back_to_its_resin_lot(plant, live):
    """The real orders service end to end (the production pages' flow): resin lot RESIN-L1 issued, 1 238 kg of
    film weighed on EXT-1 by OP-1; the order page links the roll's lot, and its page traces back to RESIN-L1."""
    from tests.web.production.test_production_pages import _run_through_the_pages

    flow = await _run_through_the_pages(live, plant)
    order = flow["order"]
    [out] = [e for e in order["executions"] if e["kind"] == "output"]
    async with browser(live, "pt-abc", ["production"]) as b:
        page = (await b.get(f"/production/orders/{order['id']}")).text
        assert f'<a href="/production/lots/{out["lot_id"]}">{out["lot_number"]}</a>' in page
        r = await b.get(f"/production/lots/{out['lot_id']}")
        assert r.status_code == 200, r.text[:2000]
        back = r.text.split("Telusur mundur")[1].split("Telusur maju")[0]
        # roll <- its order (produced) <- RESIN-L1 (1 300 kg taken, "1.300" in Indonesian).
        assert order["number"] in back and "RESIN-L1" in back and "1.300" in back
        # Made on EXT-1 by OP-1 (the facts of the roll itself).
        facts = r.text.split("Dibuat oleh")[1].split("</dl>")[0]
        assert "EXT-1" in facts and "Operator OP-1" in facts and order["number"] in facts
        # Gross 1 250,5 - core 12,5 = 1 238 kg net.
        assert "1.250,5" in r.text and "12,5" in r.text and "1.238" in r.text
