"""The production pages over real HTTP, in Bahasa Indonesia: a run made through the form, released, material
issued, an output weighed on the tablet screen (bruto "1.250,5" - bobin "12,5" = 1 238 kg net) and 20 kg of
daun scrap; the order page, the KPI page and its export, the SPK ticket, the lists' exports, the role matrix
and another workspace's ids."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal as D

import openpyxl

from tests.web.production.conftest import browser, csrf_of, post_form

ORDERS = "/api/v1/production-orders"


async def _api_order(live, order_id) -> dict:
    async with live.tenant_client("pt-abc") as api:
        r = await api.get(f"{ORDERS}/{order_id}")
        assert r.status_code == 200, r.text
        return r.json()


async def _run_through_the_pages(live, plant) -> dict:
    """Run -> release -> issue -> output -> scrap, every step through a page as the production role."""
    async with browser(live, "pt-abc", ["production"]) as b:
        # A run of "1.500" (Indonesian: one thousand five hundred) kg of film on the default route.
        r = await post_form(b, "/production/runs/new", "/production/runs",
                            {"sku": "FILM-ROLL", "quantity": "1.500", "route_id": "", "priority": "high",
                             "due_date": "2026-12-15", "note": ""})
        assert r.status_code == 303, r.text[:2000]
        run_id = r.headers["location"].split("run=")[1].split("&")[0]
        async with live.tenant_client("pt-abc") as api:
            run = (await api.get(f"/api/v1/production-runs/{run_id}")).json()
        assert D(run["quantity"]) == 1500 and run["priority"] == "high" and run["status"] == "draft"
        [o] = run["orders"]
        oid = o["id"]
        listed = await b.get(r.headers["location"])
        assert listed.status_code == 200 and "Rencana dibuat" in listed.text
        assert f"/production/orders/{oid}" in listed.text

        # Release (the run's order releases its run), then issue 1 300 kg of resin.
        r = await post_form(b, f"/production/orders/{oid}", f"/production/orders/{oid}/release", {})
        assert r.status_code == 303 and r.headers["location"].endswith("done=released"), r.text[:2000]
        o = await _api_order(live, oid)
        assert o["status"] == "released" and o["number"].startswith("SPK/")
        resin = o["materials"][0]
        assert resin["sku"] == "PP-RESIN" and D(resin["planned_qty"]) == 1500
        # The resin on hand is supplier lot RESIN-L1: the issue form offers it and the issue names it.
        async with live.tenant_client("pt-abc") as api:
            r = await api.post("/api/v1/lots", json={"sku": "PP-RESIN", "number": "RESIN-L1", "location": "RM-WH",
                                                     "quantity": "2000"})
            assert r.status_code == 201, r.text
            lot_id = r.json()["id"]
        page = await b.get(f"/production/orders/{oid}")
        assert f'<option value="{lot_id}">RESIN-L1 · 2.000</option>' in page.text
        r = await post_form(b, f"/production/orders/{oid}", f"/production/orders/{oid}/issue",
                            {f"issue_{resin['variant_id']}": "1.300", f"lot_{resin['variant_id']}": lot_id,
                             "date": ""})
        assert r.status_code == 303, r.text[:2000]
        o = await _api_order(live, oid)
        assert o["status"] == "in_progress" and D(o["materials"][0]["issued_qty"]) == 1300
        async with live.tenant_client("pt-abc") as api:
            lot = (await api.get(f"/api/v1/lots/{lot_id}")).json()
        assert D(lot["remaining"]) == 700  # 2 000 - 1 300

        # The tablet screen: the order is a big button; output weighed with Indonesian numbers.
        floor = await b.get("/production/floor")
        assert floor.status_code == 200 and o["number"] in floor.text and 'class="button big' in floor.text
        screen = await b.get(f"/production/floor?order={oid}")
        assert screen.status_code == 200 and "big-inputs" in screen.text and 'button type="submit" class="big"' in \
            screen.text
        r = await post_form(b, f"/production/floor?order={oid}", f"/production/floor/{oid}/output",
                            {"gross_weight": "1.250,5", "core_weight": "12,5", "operator_id": str(plant["op"]),
                             "machine_id": str(plant["ext"])})
        assert r.status_code == 303, r.text[:2000]
        assert r.headers["location"].startswith(f"/production/floor?order={oid}&done=output&ex=")
        done = await b.get(r.headers["location"])
        o = await _api_order(live, oid)
        [out] = o["executions"]
        # Net = 1 250,5 - 12,5 = 1 238 kg (a KG product: the quantity is the net weight).
        assert D(out["gross_weight"]) == D("1250.5") and D(out["core_weight"]) == D("12.5")
        assert D(out["quantity"]) == 1238 and D(o["qty_output"]) == 1238
        assert "Output tercatat" in done.text and out["lot_number"] in done.text and "1.238 kg" in done.text
        assert f'action="/production/floor/{oid}/output"' in done.text  # back on the same order
        # ... with the operator still picked for the next roll.
        assert r.headers["location"].endswith(f"&op={plant['op']}")
        assert f'<option value="{plant["op"]}" selected>' in done.text

        # 20 kg of daun scrap: the kind alone picks SCRAP-DAUN (the scrap product named after it).
        r = await post_form(b, f"/production/floor?order={oid}", f"/production/floor/{oid}/scrap",
                            {"scrap_kind": "daun", "scrap_quantity": "20", "scrap_sku": ""})
        assert r.status_code == 303, r.text[:2000]
        done = await b.get(r.headers["location"])
        assert "Scrap tercatat" in done.text
        # The screen lists the order's latest records, newest first: the scrap, then the roll.
        latest = done.text.split("Catatan terakhir SPK ini", 1)[1]
        assert latest.index("Daun (sisa pinggir)") < latest.index(out["lot_number"])
        o = await _api_order(live, oid)
        scrap = o["executions"][1]
        assert scrap["kind"] == "scrap" and scrap["scrap_kind"] == "daun" and D(scrap["quantity"]) == 20
        # Valued at the daun's standard cost: 20 x 2 000 = 40 000.
        assert D(scrap["value"]) == 40000 and D(o["qty_scrap"]) == 20
    return {"order": o, "run_id": run_id}


async def test_a_run_through_release_issue_floor_output_and_scrap(plant, live):
    flow = await _run_through_the_pages(live, plant)
    o = flow["order"]
    oid = o["id"]
    async with browser(live, "pt-abc", ["production"]) as b:
        page = (await b.get(f"/production/orders/{oid}")).text
        lot = o["executions"][0]["lot_number"]
        # Materials planned vs issued, the output with its weights and lot, the scrap by kind.
        for text in ("PP-RESIN", "1.500", "1.300", "1.250,5", "12,5", "1.238", lot, "Daun", "Rp 40.000",
                     "Sedang dikerjakan", 'action="/production/orders/' + oid + '/close"'):
            assert text in page, text
        assert f'action="/production/orders/{oid}/release"' not in page  # not allowed in progress
        # The KPI page: scrap % = 20 / (1 238 + 20) = 1,5898...% -> "1,59%" in the head figures.
        today = o["executions"][0]["work_date"]
        kpi = await b.get("/production/kpi", params={"date_from": today, "date_to": today, "group_by": "machine"})
        assert kpi.status_code == 200 and "EXT-1" in kpi.text
        expected = (D(20) / (D(1238) + D(20)) * 100).quantize(D("0.01"))
        assert expected == D("1.59")
        assert "1,59%" in kpi.text
        exported = await b.get("/production/kpi", params={"date_from": today, "date_to": today,
                                                          "group_by": "machine", "export": "csv"})
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        header, ext_row, total_row = rows[0], rows[1], rows[-1]
        assert ext_row[0].startswith("EXT-1") and total_row[0] == "Total"
        col = header.index("Scrap %")
        assert D(ext_row[col]) == expected and D(total_row[col]) == expected
        assert D(ext_row[header.index("Hasil kg")]) == 1238 and D(ext_row[header.index("Scrap kg")]) == 20

        # The SPK ticket.
        pdf = await b.get(f"/production/orders/{oid}/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert pdf.headers["content-type"] == "application/pdf"


async def test_ticket_text_and_order_list_exports(plant, live, monkeypatch):
    monkeypatch.setenv("POLYFLOW_PDF_COMPRESS", "0")  # the server runs in this process: read the PDF's text
    flow = await _run_through_the_pages(live, plant)
    o = flow["order"]
    async with browser(live, "pt-abc", ["warehouse"]) as b:
        pdf = (await b.get(f"/production/orders/{o['id']}/pdf")).content
        assert pdf.startswith(b"%PDF")
        for text in (o["number"], "FILM-ROLL", "PP-RESIN", "EXT-1", "1.500", "Bruto kg", "Bobin kg"):
            assert text.encode() in pdf, text

        r = await b.get("/production/orders", params={"export": "csv", "run": flow["run_id"]})
        assert r.status_code == 200 and "text/csv" in r.headers["content-type"]
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert len(rows) == 1 and rows[0]["Nomor SPK"] == o["number"]
        assert D(rows[0]["Hasil"]) == 1238 and D(rows[0]["Jumlah scrap"]) == 20 and D(rows[0]["Jumlah"]) == 1500
        r = await b.get("/production/orders", params={"export": "xlsx", "status": "in_progress"})
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        values = list(sheet.values)
        header = list(values[0])
        assert len(values) == 2 and values[1][header.index("Nomor SPK")] == o["number"]
        assert D(str(values[1][header.index("Hasil")])) == 1238

        # Priority sort puts an urgent order first; the machine filter keeps the orders planned on EXT-1.
        async with live.tenant_client("pt-abc") as api:
            r = await api.post(ORDERS, json={"sku": "FILM-ROLL", "quantity": "10", "priority": "urgent"})
            assert r.status_code == 201, r.text
            urgent = r.json()["id"]
        page = (await b.get("/production/orders", params={"sort": "-priority"})).text
        assert page.index(f"/production/orders/{urgent}") < page.index(f"/production/orders/{o['id']}")
        page = (await b.get("/production/orders", params={"sort": "priority"})).text
        assert page.index(f"/production/orders/{urgent}") > page.index(f"/production/orders/{o['id']}")
        page = (await b.get("/production/orders", params={"machine": str(plant["ext"])})).text
        assert f"/production/orders/{o['id']}" in page and f"/production/orders/{urgent}" not in page
        # The list page itself: filters and search work, the order shows, translated.
        page = await b.get("/production/orders", params={"sort": "-priority", "stage": "extrusion",
                                                         "q": "FILM"})
        assert page.status_code == 200 and o["number"] in page.text and "Perintah Produksi (SPK)" in page.text
        assert o["number"] not in (await b.get("/production/orders", params={"status": "completed"})).text


async def test_roles_read_only_and_forbidden(plant, live):
    flow = await _run_through_the_pages(live, plant)
    oid = flow["order"]["id"]
    async with browser(live, "pt-abc", ["sales"]) as b:
        for path in ("/production/orders", f"/production/orders/{oid}", "/production/floor", "/production/runs",
                     "/production/kpi", "/production/machines", "/production/boms"):
            r = await b.get(path)
            assert r.status_code == 403, (path, r.status_code)
    async with browser(live, "pt-abc", ["warehouse"]) as b:
        # production.read: every page opens, but no action is offered and posting one is refused.
        for path in ("/production/orders", "/production/floor", "/production/runs", "/production/kpi",
                     "/production/machines", "/production/boms", f"/production/floor?order={oid}"):
            assert (await b.get(path)).status_code == 200, path
        page = await b.get(f"/production/orders/{oid}")
        assert page.status_code == 200
        for action in ("/close", "/issue", "/return", "/void", "/cancel"):
            assert f'action="/production/orders/{oid}{action}"' not in page.text, action
        assert "/void" not in page.text
        floor = await b.get(f"/production/floor?order={oid}")
        assert f"/production/floor/{oid}/output" not in floor.text
        assert (await b.get("/production/runs/new")).status_code == 403
        r = await b.post(f"/production/orders/{oid}/close", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 403
    assert (await _api_order(live, oid))["status"] == "in_progress"


async def test_a_refused_floor_post_keeps_what_was_typed(plant, live):
    flow = await _run_through_the_pages(live, plant)
    oid = flow["order"]["id"]
    async with browser(live, "pt-abc", ["production"]) as b:
        r = await post_form(b, f"/production/floor?order={oid}", f"/production/floor/{oid}/output",
                            {"gross_weight": "1.2x0", "core_weight": "12,5", "pieces": "40"})
        assert r.status_code == 422
        assert 'value="1.2x0"' in r.text and 'value="12,5"' in r.text and 'value="40"' in r.text
        assert "bukan angka" in r.text and 'id="e-gross_weight"' in r.text
        # Bobin heavier than bruto: refused next to the bobin field, nothing recorded.
        r = await post_form(b, f"/production/floor?order={oid}", f"/production/floor/{oid}/output",
                            {"gross_weight": "10", "core_weight": "12,5"})
        assert r.status_code == 422 and 'id="e-core_weight"' in r.text and 'value="12,5"' in r.text
        # Scrap without a kind.
        r = await post_form(b, f"/production/floor?order={oid}", f"/production/floor/{oid}/scrap",
                            {"scrap_kind": "", "scrap_quantity": "5,5"})
        assert r.status_code == 422 and 'id="e-scrap_kind"' in r.text and 'value="5,5"' in r.text
    assert len((await _api_order(live, oid))["executions"]) == 2


async def test_another_workspace_cannot_open_the_order_or_its_ticket(plant, live, make_tenant):
    flow = await _run_through_the_pages(live, plant)
    oid = flow["order"]["id"]
    execution = flow["order"]["executions"][0]["id"]
    await make_tenant("pt-xyz")
    async with browser(live, "pt-xyz", ["owner"]) as b:
        for path in (f"/production/orders/{oid}", f"/production/orders/{oid}/pdf", f"/production/floor?order={oid}",
                     "/production/orders/not-an-id", f"/production/orders/{uuid.uuid4()}/pdf"):
            r = await b.get(path)
            assert r.status_code == 404, (path, r.status_code)
        page = await b.get("/production/runs/new")
        token = csrf_of(page.text)
        for action in (f"/production/orders/{oid}/close", f"/production/orders/{oid}/cancel",
                       f"/production/orders/{oid}/executions/{execution}/void",
                       f"/production/floor/{oid}/output", f"/production/floor/{oid}/scrap"):
            r = await b.post(action, data={"csrf_token": token, "reason": "x", "gross_weight": "5",
                                           "scrap_kind": "daun", "scrap_quantity": "1"})
            assert r.status_code == 404, (action, r.status_code)
        orders = await b.get("/production/orders")
        assert flow["order"]["number"] not in orders.text
    o = await _api_order(live, oid)
    assert o["status"] == "in_progress" and len(o["executions"]) == 2
    assert all(e["status"] == "posted" for e in o["executions"])
