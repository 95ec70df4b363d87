"""The floor's master-data pages over real HTTP: machines with a downtime recorded and ended through the form
(typed in the workspace's time, WIB), a refused downtime keeping what was typed, the BOM list and one BOM with
its lines and expected scrap, the runs list and its export, the run form refusing bad input next to the
fields, and the pages in English for a user who chose it."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

from tests.fixtures.auth import tenant_sql
from tests.web.production.conftest import browser, csrf_of, post_form


async def test_machine_downtime_recorded_listed_and_ended(plant, live):
    ext = str(plant["ext"])
    async with browser(live, "pt-abc", ["production"]) as b:
        page = await b.get("/production/machines")
        assert page.status_code == 200 and "EXT-1" in page.text and "Ekstruder" in page.text
        assert "Rp 300" in page.text  # the overhead rate
        # 07:00 typed on the form is 07:00 WIB = 00:00 UTC.
        r = await post_form(b, "/production/machines", "/production/machines/downtime",
                            {"machine_id": ext, "reason": "power", "started_at": "2026-11-02T07:00",
                             "ended_at": "", "shift_id": "", "note": "PLN padam"})
        assert r.status_code == 303 and r.headers["location"] == "/production/machines?done=downtime"
        [(started, ended, reason)] = tenant_sql(live.settings, "SELECT started_at, ended_at, reason FROM "
                                                "machine_downtimes WHERE machine_id = %s", ext)
        assert started == datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc) and ended is None and reason == "power"
        page = await b.get("/production/machines?done=downtime")
        assert "Downtime tercatat." in page.text and "Listrik padam" in page.text
        assert "2 Nov 2026 07.00 WIB" in page.text
        # Overlapping the open one: refused with the reason at the top, what was typed kept.
        r = await post_form(b, "/production/machines", "/production/machines/downtime",
                            {"machine_id": ext, "reason": "breakdown", "started_at": "2026-11-02T08:30"})
        assert r.status_code == 409 and "overlaps" in r.text and 'value="2026-11-02T08:30"' in r.text
        # An end before the start: next to the field.
        r = await post_form(b, "/production/machines", "/production/machines/downtime",
                            {"machine_id": ext, "reason": "changeover", "started_at": "2026-11-03T08:00",
                             "ended_at": "2026-11-03T07:00"})
        assert r.status_code == 422 and 'id="e-ended_at"' in r.text and 'value="2026-11-03T07:00"' in r.text
        [(downtime_id,)] = tenant_sql(live.settings, "SELECT id FROM machine_downtimes WHERE machine_id = %s", ext)
        r = await post_form(b, "/production/machines", f"/production/machines/{ext}/downtimes/{downtime_id}/end", {})
        assert r.status_code == 303
        [(ended,)] = tenant_sql(live.settings, "SELECT ended_at FROM machine_downtimes WHERE id = %s", downtime_id)
        assert ended is not None and abs(ended - datetime.now(timezone.utc)) < timedelta(minutes=5)
        exported = await b.get("/production/machines", params={"export": "csv"})
        rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert rows[0]["Kode"] == "EXT-1" and D(rows[0]["Tarif overhead"]) == 300
    async with browser(live, "pt-abc", ["warehouse"]) as b:
        page = await b.get("/production/machines")
        assert page.status_code == 200 and 'action="/production/machines/downtime"' not in page.text
        r = await b.post("/production/machines/downtime", data={"csrf_token": csrf_of(page.text), "machine_id": ext,
                                                                "reason": "power", "started_at": "2026-11-05T07:00"})
        assert r.status_code == 403
    assert tenant_sql(live.settings, "SELECT count(*) FROM machine_downtimes")[0][0] == 1


async def test_boms_runs_list_and_the_run_form(plant, live):
    async with browser(live, "pt-abc", ["production"]) as b:
        page = await b.get("/production/boms")
        assert page.status_code == 200 and "FILM-ROLL" in page.text
        [(bom_id,)] = tenant_sql(live.settings, "SELECT id FROM boms")
        detail = await b.get(f"/production/boms/{bom_id}")
        assert detail.status_code == 200 and "PP-RESIN" in detail.text and "Ekstrusi" in detail.text
        assert (await b.get("/production/boms/not-an-id")).status_code == 404

        # The run form: a bad quantity and a due date before the start, each next to its field, typed kept.
        r = await post_form(b, "/production/runs/new", "/production/runs",
                            {"sku": "FILM-ROLL", "quantity": "1.2.3,4,5", "priority": "normal",
                             "planned_start": "2026-12-10", "due_date": "2026-12-01"})
        assert r.status_code == 422
        assert 'id="e-quantity"' in r.text and 'value="1.2.3,4,5"' in r.text
        assert 'id="e-due_date"' in r.text and 'value="2026-12-01"' in r.text
        # A product with no route: the service's reason at the top of the form.
        r = await post_form(b, "/production/runs/new", "/production/runs",
                            {"sku": "PP-RESIN", "quantity": "10", "priority": "normal"})
        assert r.status_code == 422 and "has no default route" in r.text
        assert tenant_sql(live.settings, "SELECT count(*) FROM production_runs")[0][0] == 0

        r = await post_form(b, "/production/runs/new", "/production/runs",
                            {"sku": "FILM-ROLL", "quantity": "2.500,5", "priority": "urgent"})
        assert r.status_code == 303
        runs = await b.get("/production/runs")
        assert runs.status_code == 200 and "FILM-ROLL" in runs.text and "Mendesak" in runs.text
        exported = await b.get("/production/runs", params={"export": "xlsx"})
        import openpyxl

        values = list(openpyxl.load_workbook(io.BytesIO(exported.content)).active.values)
        header = list(values[0])
        assert len(values) == 2 and D(str(values[1][header.index("Jumlah")])) == D("2500.5")


async def test_the_pages_in_english(plant, live):
    async with browser(live, "pt-abc", ["production"]) as b:
        tenant_sql(live.settings, "UPDATE users SET language = 'en' WHERE email LIKE 'production-%%'")
        page = await b.get("/production/runs/new")
        assert "New production run" in page.text and "Rencana produksi baru" not in page.text
        r = await b.post("/production/runs", data={"csrf_token": csrf_of(page.text), "sku": "FILM-ROLL",
                                                   "quantity": "1,250.5", "priority": "normal"})
        assert r.status_code == 303
        [(quantity,)] = tenant_sql(live.settings, "SELECT quantity FROM production_runs")
        assert quantity == D("1250.5")  # English marks: "1,250.5"
        orders = await b.get(r.headers["location"])
        assert "The run is created with one draft order per route step." in orders.text
        assert "Production orders" in orders.text and "Extrusion" in orders.text
        floor = await b.get("/production/floor")
        assert "Open orders" in floor.text and "All machines" in floor.text
