"""Machines, downtime, shifts, operators and piece rates over HTTP: filters and pagination, downtime that
may not overlap (also when two stops are recorded at once), night shifts, operators linked to users or not,
piece rates that are never edited, and pt-xyz unable to read or change pt-abc's machines and BOMs."""

import asyncio
import uuid
from datetime import date, datetime, timezone

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.production.floor import equipment, service
from polyflow.erp.production.floor.schemas import DowntimeIn
from polyflow.kit.errors import Conflict
from tests.erp.production.floor.helpers import post, product, woven_bag
from tests.fixtures.auth import make_user


def _detail(r) -> str:
    body = r.json()["detail"]
    return body if isinstance(body, str) else " | ".join(e["msg"] for e in body)


async def test_machines_filters_changes_and_no_delete(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        loc = await post(c, "/api/v1/locations", {"code": "PABRIK", "name": "lantai produksi"})
        for code, mtype in (("ext-1", "extruder"), ("ext-2", "extruder"), ("loom-1", "loom"),
                            ("sew-1", "cutting_sewing")):
            await post(c, "/api/v1/machines", {"code": code, "name": code, "machine_type": mtype,
                                               "location": "pabrik", "overhead_rate": "25000.5",
                                               "overhead_basis": "kg" if mtype == "extruder" else "hour"})
        r = await c.post("/api/v1/machines", json={"code": "EXT-1", "name": "again", "machine_type": "extruder"})
        assert r.status_code == 409 and "machine code 'EXT-1' is already used" in _detail(r)
        for bad, message in (({"machine_type": "oven"}, "Input should be"), ({"overhead_rate": "-1"}, "greater than"),
                             ({"location": "NOWHERE"}, "location 'NOWHERE' not found"),
                             ({"colour": "red"}, "Extra inputs")):
            r = await c.post("/api/v1/machines", json={"code": "X-1", "name": "x", "machine_type": "loom", **bad})
            assert r.status_code == 422 and message in _detail(r), (bad, r.text)

        page = (await c.get("/api/v1/machines", params={"machine_type": "extruder"})).json()
        assert [m["code"] for m in page["items"]] == ["EXT-1", "EXT-2"] and page["total"] == 2
        ext = page["items"][0]
        assert ext["overhead_rate"] == "25000.50" and ext["overhead_basis"] == "kg" and ext["location_id"] == loc["id"]
        page = (await c.get("/api/v1/machines", params={"limit": 2, "offset": 2})).json()
        assert [m["code"] for m in page["items"]] == ["LOOM-1", "SEW-1"] and page["total"] == 4

        r = await c.patch(f"/api/v1/machines/{ext['id']}", json={"status": "retired", "location": None,
                                                                 "name": None})
        assert r.status_code == 200 and r.json()["status"] == "retired" and r.json()["location_id"] is None
        assert r.json()["name"] == "ext-1"  # null leaves a required field as it is
        assert (await c.get("/api/v1/machines", params={"status": "retired"})).json()["total"] == 1
        assert (await c.patch(f"/api/v1/machines/{ext['id']}", json={"code": "NEW"})).status_code == 422
        assert (await c.delete(f"/api/v1/machines/{ext['id']}")).status_code == 405  # retire, never delete


async def test_a_machine_on_a_route_keeps_its_type(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        ids = await woven_bag(c, "WB")
        free = await post(c, "/api/v1/machines", {"code": "SPARE", "name": "spare", "machine_type": "loom"})
        r = await c.patch(f"/api/v1/machines/{free['id']}", json={"machine_type": "printer"})
        assert r.status_code == 200 and r.json()["machine_type"] == "printer"
        await post(c, "/api/v1/routes", {"code": "TAPE-RT", "name": "tape", "sku": "WB-TAPE", "steps": [
            {"seq": 1, "stage": "extrusion", "sku": "WB-TAPE", "std_rate": "150", "machines": ["WB-EXT"]}]})
        r = await c.patch(f"/api/v1/machines/{ids['m_ext']}", json={"machine_type": "loom"})
        assert r.status_code == 409
        assert _detail(r) == "machine WB-EXT is on a route as type extruder: its type cannot change (add a new " \
                             "machine instead)"


async def test_downtimes_never_overlap_on_one_machine(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        m = await post(c, "/api/v1/machines", {"code": "EXT-1", "name": "extruder 1", "machine_type": "extruder"})
        other = await post(c, "/api/v1/machines", {"code": "EXT-2", "name": "extruder 2", "machine_type": "extruder"})
        shift = await post(c, "/api/v1/shifts", {"code": "P", "name": "Pagi", "starts_at": "07:00", "ends_at": "15:00"})
        base = f"/api/v1/machines/{m['id']}/downtimes"
        first = await post(c, base, {"reason": "breakdown", "started_at": "2026-03-02T08:00:00+07:00",
                                     "ended_at": "2026-03-02T10:00:00+07:00", "shift_id": shift["id"],
                                     "note": "screw jammed"})
        assert first["shift_id"] == shift["id"] and first["created_by"] is not None
        r = await c.post(base, json={"reason": "power", "started_at": "2026-03-02T09:00:00+07:00",
                                     "ended_at": "2026-03-02T11:00:00+07:00"})
        assert r.status_code == 409
        assert _detail(r) == "machine EXT-1 already has a downtime (breakdown) from 2026-03-02T01:00+00:00 to " \
                             "2026-03-02T03:00+00:00 that overlaps this one"
        # Back to back is not an overlap (the periods are half open), and another machine is independent.
        second = await post(c, base, {"reason": "changeover", "started_at": "2026-03-02T10:00:00+07:00",
                                      "ended_at": "2026-03-02T10:30:00+07:00", "shift": "p"})
        assert second["shift_id"] == shift["id"]  # by its code
        await post(c, f"/api/v1/machines/{other['id']}/downtimes", {"reason": "power",
                                                                      "started_at": "2026-03-02T09:00:00+07:00"})
        # An open downtime overlaps everything after its start until it ends.
        open_ = await post(c, base, {"reason": "no_material", "started_at": "2026-03-02T12:00:00+07:00"})
        r = await c.post(base, json={"reason": "power", "started_at": "2026-03-02T15:00:00+07:00",
                                     "ended_at": "2026-03-02T16:00:00+07:00"})
        assert r.status_code == 409 and "to still open" in _detail(r)
        r = await c.post(base, json={"reason": "power", "started_at": "2026-03-02T11:00:00+07:00"})
        assert r.status_code == 409  # an open one starting earlier would run into it
        end = f"{base}/{open_['id']}/end"
        r = await c.post(end, json={"ended_at": "2026-03-02T11:59:00+07:00"})
        assert r.status_code == 422 and "after the downtime's start" in _detail(r)
        r = await c.post(end, json={"ended_at": "2026-03-02T13:30:00+07:00"})
        assert r.status_code == 200 and r.json()["ended_at"] == "2026-03-02T06:30:00Z"
        assert (await c.post(end, json={})).status_code == 409
        await post(c, base, {"reason": "power", "started_at": "2026-03-02T15:00:00+07:00",
                             "ended_at": "2026-03-02T16:00:00+07:00"})

        for bad, message in (({"started_at": "2026-03-02T08:00:00"}, "timezone"),
                             ({"ended_at": "2026-03-01T08:00:00+07:00"}, "ended_at must be after started_at"),
                             ({"reason": "lunch"}, "Input should be"),
                             ({"shift_id": m["id"]}, "not found"), ({"shift": "NIGHT"}, "shift NIGHT not found"),
                             ({"shift": "P", "shift_id": shift["id"]}, "not both")):
            body = {"reason": "power", "started_at": "2026-03-05T08:00:00+07:00", **bad}
            r = await c.post(base, json=body)
            assert r.status_code == 422 and message in _detail(r), (bad, r.text)
        listed = (await c.get(base)).json()
        assert listed["total"] == 4 and listed["items"][0]["started_at"] == "2026-03-02T08:00:00Z"
        assert (await c.get(base, params={"open": True})).json()["total"] == 0
        assert (await c.post(f"/api/v1/machines/{m['id']}/downtimes/{first['id']}/end", json={})).status_code == 409

        # Two stops recorded at the same moment for one machine: exactly one is taken.
        body = {"reason": "breakdown", "started_at": "2026-03-03T08:00:00+07:00"}
        async with live.tenant_client("pt-abc") as c2:
            results = await asyncio.gather(c.post(base, json=body), c2.post(base, json=body))
        assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]

        retired = await post(c, "/api/v1/machines", {"code": "OLD", "name": "old", "machine_type": "mixer",
                                                     "status": "retired"})
        r = await c.post(f"/api/v1/machines/{retired['id']}/downtimes", json=body)
        assert r.status_code == 409 and "retired" in _detail(r)


async def test_shifts_operators_and_piece_rates(make_tenant, live):
    await make_tenant("pt-abc")
    user = make_user(live.settings, "pt-abc", ["production"])
    async with live.tenant_client("pt-abc") as c:
        night = await post(c, "/api/v1/shifts", {"code": "m", "name": "Malam", "starts_at": "23:00",
                                                 "ends_at": "07:00"})
        assert night["code"] == "M" and night["crosses_midnight"] and night["hours"] == "8.00"
        day = await post(c, "/api/v1/shifts", {"code": "S", "name": "Siang", "starts_at": "15:00",
                                               "ends_at": "22:30"})
        assert not day["crosses_midnight"] and day["hours"] == "7.50"
        r = await c.post("/api/v1/shifts", json={"code": "X", "name": "x", "starts_at": "07:00", "ends_at": "07:00"})
        assert r.status_code == 422 and "must end at another time" in _detail(r)
        r = await c.patch(f"/api/v1/shifts/{day['id']}", json={"ends_at": "15:00"})
        assert r.status_code == 422
        r = await c.patch(f"/api/v1/shifts/{day['id']}", json={"ends_at": "00:30", "is_active": False})
        assert r.json()["crosses_midnight"] and r.json()["hours"] == "9.50" and not r.json()["is_active"]
        assert [s["code"] for s in (await c.get("/api/v1/shifts", params={"active": True})).json()["items"]] == ["M"]

        op = await post(c, "/api/v1/operators", {"code": "op-01", "name": "Siti"})
        assert op["user_id"] is None and op["code"] == "OP-01"
        r = await c.patch(f"/api/v1/operators/{op['id']}", json={"user_id": str(user["id"])})
        assert r.status_code == 200 and r.json()["user_id"] == str(user["id"])
        r = await c.patch(f"/api/v1/operators/{op['id']}", json={"user_id": night["id"]})
        assert r.status_code == 422 and "user not found" in _detail(r)
        assert (await c.patch(f"/api/v1/operators/{op['id']}", json={"user_id": None})).json()["user_id"] is None
        assert (await c.post("/api/v1/operators", json={"code": "OP-01", "name": "again"})).status_code == 409

        await product(c, "KARUNG", "finished_good", "PCS")
        await product(c, "JASA", "service", "PCS")
        stage_wide = await post(c, "/api/v1/piece-rates", {"stage": "cutting_sewing", "rate": "35",
                                                           "valid_from": "2026-01-01"})
        own = await post(c, "/api/v1/piece-rates", {"stage": "cutting_sewing", "sku": "KARUNG", "rate": "40",
                                                    "valid_from": "2026-01-01"})
        assert stage_wide["product_id"] is None and own["product_id"] is not None and own["rate"] == "40.00"
        # Never edited: the same stage/product/date again is a 409 (also for the stage-wide rate, whose empty
        # product a unique index would not compare), and there is no PATCH.
        for body in ({"stage": "cutting_sewing", "rate": "36", "valid_from": "2026-01-01"},
                     {"stage": "cutting_sewing", "sku": "KARUNG", "rate": "41", "valid_from": "2026-01-01"}):
            r = await c.post("/api/v1/piece-rates", json=body)
            assert r.status_code == 409 and "add one with a later valid_from" in _detail(r), r.text
        assert (await c.patch(f"/api/v1/piece-rates/{own['id']}", json={"rate": "1"})).status_code in (404, 405)
        await post(c, "/api/v1/piece-rates", {"stage": "cutting_sewing", "sku": "KARUNG", "rate": "42",
                                              "valid_from": "2026-06-01"})
        r = await c.post("/api/v1/piece-rates", json={"stage": "weaving", "sku": "JASA", "rate": "1",
                                                      "valid_from": "2026-01-01"})
        assert r.status_code == 422 and "JASA is a service" in _detail(r)
        r = await c.post("/api/v1/piece-rates", json={"stage": "weaving", "rate": "-1", "valid_from": "2026-01-01"})
        assert r.status_code == 422
        listed = (await c.get("/api/v1/piece-rates", params={"product_id": own["product_id"]})).json()
        assert [x["rate"] for x in listed["items"]] == ["42.00", "40.00"]
        assert (await c.get("/api/v1/piece-rates", params={"stage": "cutting_sewing"})).json()["total"] == 3
        assert (await c.get("/api/v1/piece-rates", params={"stage": "weaving"})).json()["total"] == 0


async def test_piece_rate_in_effect_prefers_the_products_own(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        bag = (await post(c, "/api/v1/products", {"sku": "KARUNG", "name": "karung", "unit": "PCS"}))["id"]
        other = (await post(c, "/api/v1/products", {"sku": "KARUNG-B", "name": "karung b", "unit": "PCS"}))["id"]
        for body in ({"stage": "cutting_sewing", "rate": "35", "valid_from": "2026-01-01"},
                     {"stage": "cutting_sewing", "rate": "37", "valid_from": "2026-05-01"},
                     {"stage": "cutting_sewing", "sku": "KARUNG", "rate": "40", "valid_from": "2026-03-01"}):
            await post(c, "/api/v1/piece-rates", body)
    async with AsyncSession(tenant_engine(tenant)) as session:
        async def rate(product_id, on):
            found = await service.piece_rate_for(session, "cutting_sewing", uuid.UUID(product_id), on)
            return str(found.rate) if found else None

        assert await rate(bag, date(2026, 2, 1)) == "35.00"  # before its own rate: the stage's
        assert await rate(bag, date(2026, 3, 1)) == "40.00"
        assert await rate(bag, date(2026, 6, 1)) == "40.00"  # its own, though the stage's is newer
        assert await rate(other, date(2026, 6, 1)) == "37.00"
        assert await rate(other, date(2025, 12, 31)) is None


async def test_pt_xyz_cannot_read_or_change_pt_abcs_machines_and_boms(make_tenant, live):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    async with live.tenant_client("pt-abc") as abc, live.tenant_client("pt-xyz") as xyz:
        ids = await woven_bag(abc, "ABC")
        await woven_bag(xyz, "XYZ")
        before = [(await abc.get(p)).json() for p in (f"/api/v1/machines/{ids['m_ext']}",
                                                      f"/api/v1/boms/{ids['bom_tape']}")]
        for method, path, body in (
                ("GET", f"/api/v1/machines/{ids['m_ext']}", None),
                ("PATCH", f"/api/v1/machines/{ids['m_ext']}", {"status": "retired"}),
                ("GET", f"/api/v1/machines/{ids['m_ext']}/downtimes", None),
                ("POST", f"/api/v1/machines/{ids['m_ext']}/downtimes", {"reason": "power",
                                                                        "started_at": "2026-03-02T08:00:00Z"}),
                ("GET", f"/api/v1/boms/{ids['bom_tape']}", None),
                ("GET", f"/api/v1/boms/{ids['bom_tape']}/explode", None),
                ("PATCH", f"/api/v1/boms/{ids['bom_tape']}", {"name": "hijacked"}),
                ("POST", f"/api/v1/boms/{ids['bom_tape']}/archive", None),
                ("POST", f"/api/v1/boms/{ids['bom_tape']}/make-default", None)):
            r = await xyz.request(method, path, json=body)
            assert r.status_code == 404, (method, path, r.text)
            assert "ABC-" not in r.text
        # pt-abc's ids mean nothing in pt-xyz's documents either, and its lists show only its own.
        r = await xyz.post("/api/v1/boms", json={"sku": "XYZ-FABRIC", "stage": "weaving",
                                                 "lines": [{"variant_id": ids["v_tape"], "quantity": "1"}]})
        assert r.status_code == 422 and "not found" in _detail(r)
        r = await xyz.post("/api/v1/routes", json={"code": "R", "name": "r", "sku": "XYZ-TAPE", "steps": [
            {"seq": 1, "stage": "extrusion", "sku": "XYZ-TAPE", "std_rate": "1", "machines": [ids["m_ext"]]}]})
        assert r.status_code == 422 and "not found" in _detail(r)
        assert {m["code"] for m in (await xyz.get("/api/v1/machines")).json()["items"]} == {"XYZ-EXT", "XYZ-LOOM",
                                                                                          "XYZ-SEW"}
        assert [(await abc.get(p)).json() for p in (f"/api/v1/machines/{ids['m_ext']}",
                                                    f"/api/v1/boms/{ids['bom_tape']}")] == before


async def test_a_second_stop_recorded_meanwhile_waits_for_the_first_and_is_refused(make_tenant, live, tenant_engine):
    tenant = await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        machine_id = uuid.UUID((await post(c, "/api/v1/machines", {"code": "EXT-1", "name": "extruder 1",
                                                                   "machine_type": "extruder"}))["id"])
    data = DowntimeIn(reason="breakdown", started_at=datetime(2026, 3, 3, 1, tzinfo=timezone.utc))
    engine = tenant_engine(tenant)
    async with AsyncSession(engine) as first, AsyncSession(engine) as second:
        await equipment.start_downtime(first, machine_id, data, None)
        # The second transaction cannot see the first's uncommitted stop: it must wait on the machine's lock,
        # not pass its overlap check and insert a second stop.
        racing = asyncio.create_task(equipment.start_downtime(second, machine_id, data, None))
        await asyncio.sleep(0.5)
        assert not racing.done()
        await first.commit()
        with pytest.raises(Conflict, match="already has a downtime"):
            await racing
