"""pt-abc's woven-bag floor, seeded through the production services: its master data (machines, shifts,
operators, piece rates, versioned BOMs, routes), a production run on each campaign day (materials issued by lot,
output per machine / operator / shift, scrap by kind, some downtime, orders closed with their variance), one
granulator order turning scrap into regrind that later mixing uses, one toll (maklon) order and one stock count.

Quantities follow from what was issued: each step issues everything the previous one made (whole bales at
packing) and makes output and scrap as shares of it, so stock never runs short and every figure is
deterministic (no randomness, only the day number)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from polyflow.erp.accounting import service as accounting
from polyflow.erp.inventory import service as inventory
from polyflow.erp.production.floor import equipment, routes, service as floor
from polyflow.erp.production.floor.schemas import (
    BomIn, BomLineIn, DowntimeIn, MachineIn, OperatorIn, PieceRateIn, RouteIn, RouteStepIn, ShiftIn,
)
from polyflow.erp.production.lots import service as lots
from polyflow.erp.production.lots.schemas import OpeningLotIn
from polyflow.erp.production.orders import executions, service as orders
from polyflow.erp.production.orders.schemas import (
    CloseIn, IssueIn, IssueLineIn, LotPick, OrderIn, OutputIn, RunIn, ScrapIn,
)
from polyflow.erp.stockcount import service as stockcount
from polyflow.erp.stockcount.schemas import ApproveIn, EntryIn, StockCountIn
from polyflow.erp.toll import service as toll
from polyflow.erp.toll.schemas import ConsumeIn, MoveLineIn, MovesIn, TollInvoiceIn, TollLineIn, TollOrderIn

KG = Decimal("0.001")
ZONE = ZoneInfo("Asia/Jakarta")  # the demo plants' company time zone (the settings' default)

# (code, name, type, overhead rate, basis, rated capacity per hour)
MACHINES = [
    ("MIX-01", "High-speed mixer 500 kg", "mixer", "100", "kg", "400"),
    ("EXT-01", "Tape extrusion line 90 mm (Lohia)", "extruder", "150000", "hour", "80"),
    *((f"LOOM-0{n}", f"Circular loom 6-shuttle no. {n}", "loom", "35000", "hour", "20") for n in range(1, 5)),
    ("SEW-01", "Cutting and sewing line", "cutting_sewing", "30000", "hour", "1000"),
    ("BAL-01", "Baling press", "packer", "10000", "hour", "1500"),
    ("GRN-01", "Granulator 300 kg/h", "granulator", "400", "kg", "300"),
]
SHIFTS = [("PAGI", "Shift pagi", time(7), time(15)), ("SIANG", "Shift siang", time(15), time(23)),
          ("MALAM", "Shift malam", time(23), time(7))]
OPERATORS = [("OP-01", "Agus Setiawan"), ("OP-02", "Dewi Lestari"), ("OP-03", "Joko Susilo"),
             ("OP-04", "Siti Nurhaliza"), ("OP-05", "Bambang Riyadi"), ("OP-06", "Rina Marlina"),
             ("OP-07", "Hendra Gunawan"), ("OP-08", "Wati Suryani"), ("OP-09", "Eko Prasetyo")]
# Rupiah per output unit (kg, or bag), by stage (every product of the stage).
PIECE_RATES = [("mixing", "20"), ("extrusion", "150"), ("weaving", "250"), ("cutting_sewing", "25"),
               ("packing", "4"), ("granulating", "60")]
# (sku, stage, output quantity, expected scrap %, max regrind %, [(component, quantity, is regrind)])
BOMS_V1 = [
    ("MIX-RAF-WH", "mixing", "100", "0", None, [("PP-GRN-NAT", "93", False), ("CACO3-FILLER", "6.5", False),
                                                ("MB-BLUE-01", "0.5", False)]),
    ("RAF-1200-WH", "extrusion", "1", "3", None, [("MIX-RAF-WH", "1", False)]),
    ("FAB-55-WH", "weaving", "1", "1.5", None, [("RAF-1200-WH", "1", False)]),
    ("WB-50KG-WH-LS", "cutting_sewing", "1000", "2", None, [("FAB-55-WH", "74", False)]),
    ("WB-50KG-WH", "packing", "1", "0", None, [("WB-50KG-WH-LS", "1", False)]),
    ("REGRIND-PP", "granulating", "1", "3", None, [("SCRAP-PP", "1", False)]),
]
# Version 2 of the compound, once there is regrind: 5 % of it in place of resin (at most 8 %).
MIX_V2 = ("MIX-RAF-WH", "mixing", "100", "0", "8", [("PP-GRN-NAT", "88", False), ("CACO3-FILLER", "6.5", False),
                                                   ("MB-BLUE-01", "0.5", False), ("REGRIND-PP", "5", True)])


@dataclass(frozen=True)
class Step:
    stage: str
    sku: str
    machines: tuple[str, ...]
    std_rate: str
    rate_unit: str
    out_per_in: Decimal  # output units per unit of input (kg -> kg, fabric kg -> bags, bags -> bags)
    loss: Decimal  # share of the input that disappears unrecorded (dust, moisture, trim not swept)
    scrap: tuple[tuple[str, Decimal], ...] = ()  # (kind, share of the input)
    core: Decimal | None = None  # weighed rolls: the bobbin / core weight (bruto - bobin = net)
    operators: tuple[str, ...] = ()  # one per shift (PAGI, SIANG, MALAM)
    shifts: tuple[str, ...] = ("PAGI", "SIANG", "MALAM")  # the shifts the step runs on a campaign day


D = Decimal
STEPS = (
    # The mixer makes the day's compound in one shift; the looms and the baling press run two.
    Step("mixing", "MIX-RAF-WH", ("MIX-01",), "450", "kg_per_hour", D(1), D("0.002"),
         operators=("OP-01", "OP-02", "OP-03"), shifts=("PAGI",)),
    Step("extrusion", "RAF-1200-WH", ("EXT-01",), "110", "kg_per_hour", D(1), D("0.004"),
         (("daun", D("0.016")), ("prongkol", D("0.009"))), D("18"), ("OP-01", "OP-02", "OP-03")),
    Step("weaving", "FAB-55-WH", ("LOOM-01", "LOOM-02", "LOOM-03", "LOOM-04"), "42", "kg_per_hour", D(1),
         D("0.003"), (("other", D("0.009")),), D("3.5"), ("OP-04", "OP-05", "OP-06"), ("PAGI", "SIANG")),
    Step("cutting_sewing", "WB-50KG-WH-LS", ("SEW-01",), "1400", "pcs_per_hour", D(1000) / D(74), D("0.002"),
         (("daun", D("0.014")), ("off_spec", D("0.004"))), None, ("OP-07", "OP-08", "OP-09")),
    Step("packing", "WB-50KG-WH", ("BAL-01",), "2500", "pcs_per_hour", D(1), D(0),
         operators=("OP-07", "OP-08", "OP-09"), shifts=("PAGI", "SIANG")),
)
BALE = 500  # bags in a bale
# A campaign day's run: bags to make (the plan; what is made follows from what is issued).
RUN_BAGS = D(31000)
# (day, machine, shift, reason, start hour offset into the shift, hours)
DOWNTIME = [(4, "LOOM-03", "SIANG", "breakdown", 2, D("2.5")), (7, "EXT-01", "PAGI", "changeover", 0, D("1.5")),
            (10, "SEW-01", "MALAM", "power", 3, D(1)), (16, "LOOM-02", "PAGI", "maintenance", 1, D(3)),
            (19, "EXT-01", "SIANG", "no_material", 5, D("0.75"))]


def _kg(value: Decimal) -> Decimal:
    return value.quantize(KG, rounding=ROUND_DOWN)


def _wobble(day: int, i: int) -> Decimal:
    """A deterministic spread of about +-2 % between machines and shifts (no randomness in the demo)."""
    return D(1) + D(((day * 7 + i * 3) % 9) - 4) / D(200)


class FloorSeeding:
    """The production half of a plant's seeding, mixed into erp/demo/seed.py's _Run, which provides the
    session, the plant, the ids by key (variants, partners, invoices) and `day(n)`."""

    # -- master data ------------------------------------------------------------------------------------
    async def floor_setup(self) -> None:
        s = self.session
        self.machines = {}
        for code, name, mtype, rate, basis, capacity in MACHINES:
            m = await equipment.create_machine(s, MachineIn(code=code, name=name, machine_type=mtype,
                                                            overhead_rate=D(rate), overhead_basis=basis,
                                                            rated_capacity=D(capacity)))
            self.machines[code] = m
        self.shifts = {}
        for code, name, start, end in SHIFTS:
            self.shifts[code] = await equipment.create_shift(s, ShiftIn(code=code, name=name, starts_at=start,
                                                                        ends_at=end))
        self.operators = {}
        for code, name in OPERATORS:
            self.operators[code] = (await equipment.create_operator(s, OperatorIn(code=code, name=name))).id
        for stage, rate in PIECE_RATES:
            await equipment.create_piece_rate(s, PieceRateIn(stage=stage, rate=D(rate), valid_from=self.day(0)))
        self.boms = {}
        for spec in BOMS_V1:
            self.boms[spec[0]] = await self._bom(spec)
        self.route = await self._route("RT-WB50-WH")
        # The opening stock of raw materials is taken on as lots, so every bale traces back to one.
        for sku, qty, location, _cost in self.plant.opening:
            if sku in ("PP-GRN-NAT", "CACO3-FILLER", "MB-BLUE-01"):
                await lots.create_opening_lot(s, OpeningLotIn(
                    sku=sku, location=location, quantity=D(qty), supplier_lot_no=f"SA-{sku[:6]}",
                    produced_on=self.day(0), note="Saldo awal"))
        self.bale_lots: list[uuid.UUID] = []

    async def _bom(self, spec, make_default: bool | None = None):
        sku, stage, out_qty, scrap, regrind, lines = spec
        return await floor.create_bom(self.session, BomIn(
            sku=sku, stage=stage, output_quantity=D(out_qty), expected_scrap_pct=D(scrap),
            max_regrind_pct=D(regrind) if regrind else None, make_default=make_default,
            lines=[BomLineIn(sku=c, quantity=D(q), is_regrind=r) for c, q, r in lines]), None)

    async def _route(self, code: str, make_default: bool | None = None):
        return await routes.create_route(self.session, RouteIn(
            code=code, name="Karung 50 kg putih: mixing - extrusion - weaving - sewing - baling", sku="WB-50KG-WH",
            make_default=make_default,
            steps=[RouteStepIn(seq=n * 10, stage=st.stage, sku=st.sku, std_rate=D(st.std_rate),
                               rate_unit=st.rate_unit, machines=list(st.machines))
                   for n, st in enumerate(STEPS, 1)]))

    # -- helpers ----------------------------------------------------------------------------------------
    async def _available(self, sku: str, location: str = "RM-WH") -> Decimal:
        rows, _ = await inventory.list_levels(self.session, variant_id=self.variants[sku],
                                              location_id=await self._location_id(location), product_id=None, q=None,
                                              nonzero=False, sort="sku", limit=1, offset=0)
        return rows[0].available if rows else D(0)

    async def _location_id(self, code: str):
        if not hasattr(self, "_locations"):
            self._locations = {}
        if code not in self._locations:
            self._locations[code] = (await orders.resolve_location(self.session, code, code, "demo")).id
        return self._locations[code]

    async def _issue(self, order_id, sku: str, qty: Decimal, on: date) -> None:
        """Issue `qty` naming the oldest available lots at RM-WH (first in, first out); any part no lot
        covers is issued without one."""
        qty = _kg(qty)
        if qty <= 0:
            return
        found, _ = await lots.list_lots(self.session, location="RM-WH", limit=500, offset=0,
                                        variant_id=self.variants[sku], sku=None, kind=None, status="available",
                                        supplier_lot_no=None, produced_from=None, produced_to=None, q=None)
        found.sort(key=lambda lot: (lot["produced_on"] or date.min, lot["number"]))
        picks, left = [], qty
        for lot in found:
            if left <= 0:
                break
            take = min(left, D(lot["remaining"]))
            if take > 0:
                picks.append(LotPick(lot_id=lot["id"], quantity=take))
                left -= take
        if picks:
            await executions.issue_material(self.session, order_id, IssueIn(date=on, lines=[IssueLineIn(
                sku=sku, quantity=qty - left, lots=picks)]), None)
        if left > 0:
            await executions.issue_material(self.session, order_id, IssueIn(date=on, lines=[IssueLineIn(
                sku=sku, quantity=left)]), None)

    def _hours(self, day: int, machine: str, shift: str) -> Decimal:
        down = sum((h for d, m, s, _r, _o, h in DOWNTIME if (d, m, s) == (day, machine, shift)), D(0))
        return D(8) - down

    # -- a campaign day ---------------------------------------------------------------------------------
    async def _campaign(self, on: date, day: int, close_all: bool = True) -> None:
        """One run of RUN_BAGS bags through the five steps, each step on every shift of the day."""
        s = self.session
        for d, code, shift, reason, offset, hours in DOWNTIME:
            if d == day:
                start = datetime.combine(on, self.shifts[shift].starts_at, ZONE) + timedelta(hours=offset)
                await equipment.start_downtime(s, self.machines[code].id, DowntimeIn(
                    reason=reason, started_at=start, ended_at=start + timedelta(hours=float(hours)), shift=shift,
                    note="Demo"), None)
        run = await orders.create_run(s, RunIn(sku="WB-50KG-WH", quantity=RUN_BAGS, planned_start=on, due_date=on,
                                               note=f"Kampanye karung {on:%d/%m}"), None)
        run = await orders.release_run(s, run.id)
        steps = sorted(run.orders, key=lambda o: o.step_seq)
        for n, (order, step) in enumerate(zip(steps, STEPS)):
            if n == 0:
                issued = await self._issue_mixing(order, on)
            else:
                prev = STEPS[n - 1].sku
                issued = await self._available(prev)
                if step.stage == "packing":
                    issued = D(int(issued) // BALE * BALE)
                await self._issue(order.id, prev, issued, on)
            # The last campaign leaves sewing and baling open: the month ends with WIP on the floor.
            shifts = step.shifts[:-1] if not close_all and step.stage == "cutting_sewing" else step.shifts
            share = D(len(shifts)) / D(len(step.shifts))
            await self._execute(order, step, issued * share, on, day, shifts)
            if close_all or n < 3:
                await orders.close_order(s, order.id, CloseIn(date=on), None)

    async def _issue_mixing(self, order, on: date) -> Decimal:
        """The compound's BOM quantities; regrind as far as there is some (resin for the rest)."""
        materials = self._skus([m.variant_id for m in order.materials])
        plan = {materials[m.variant_id]: m for m in order.materials}
        regrind = [sku for sku, m in plan.items() if m.is_regrind]
        short, wanted = D(0), {}
        for sku in regrind:
            take = min(plan[sku].planned_qty, _kg(await self._available(sku)))
            short += plan[sku].planned_qty - take
            wanted[sku] = take
        # Resin first (it also stands in for regrind there is not), regrind last: its share of what was
        # issued stays within the BOM's maximum at every issue.
        order_of = ["PP-GRN-NAT"] + sorted(s for s in plan if s != "PP-GRN-NAT" and s not in regrind) + regrind
        total = D(0)
        for sku in order_of:
            qty = wanted.get(sku, plan[sku].planned_qty + (short if sku == "PP-GRN-NAT" else 0))
            await self._issue(order.id, sku, qty, on)
            total += _kg(qty)
        return total

    def _skus(self, variant_ids) -> dict:
        by_id = {v: k for k, v in self.variants.items()}
        return {vid: by_id[vid] for vid in variant_ids}

    async def _execute(self, order, step: Step, issued: Decimal, on: date, day: int, shifts) -> None:
        """Output per machine and shift, then the step's scrap per shift."""
        good = issued * (1 - step.loss - sum((p for _k, p in step.scrap), D(0))) * step.out_per_in
        slots = [(m, sh) for sh in shifts for m in step.machines]
        counted = step.stage in ("cutting_sewing", "packing")
        if step.stage == "packing":
            # Whole bales, spread over the shifts.
            bales = int(good) // BALE
            per = [bales // len(slots) + (1 if i < bales % len(slots) else 0) for i in range(len(slots))]
            amounts = [D(b * BALE) for b in per]
        else:
            weights = [_wobble(day, i) for i in range(len(slots))]
            amounts = [good * w / sum(weights) for w in weights]
            amounts = [D(int(a)) if counted else _kg(a) for a in amounts]
        for i, ((machine, shift), amount) in enumerate(zip(slots, amounts)):
            if amount <= 0:
                continue
            # Hours on the machine: what the standard rate needs and a little more, within the shift's
            # time up (continuous lines fill the shift).
            kg = amount / step.out_per_in if step.stage == "cutting_sewing" else amount
            std = (amount if step.rate_unit == "pcs_per_hour" else kg) / D(step.std_rate)
            hours = min(self._hours(day, machine, shift), (std * D("1.08") * 4).to_integral_value() / 4)
            body = dict(machine_id=self.machines[machine].id, shift_id=self.shifts[shift].id,
                        operator_id=self.operators[step.operators[SHIFTS_INDEX[shift]]], work_date=on,
                        hours=hours)
            if step.core is not None:  # a weighed roll: bruto - bobin
                body.update(gross_weight=amount + step.core, core_weight=step.core)
            elif step.stage == "packing":
                number = await accounting.next_document_number(self.session, "BL", on)
                body.update(quantity=amount / BALE, unit="BAL", pieces=int(amount),
                            lot_number=f"BL-{on.year}-{int(number.rsplit('/', 1)[1]):06d}")
            else:
                body.update(quantity=amount, pieces=int(amount) if counted else None)
            execution = await executions.record_output(self.session, order.id, OutputIn(**body), None)
            if step.stage == "packing":
                self.bale_lots.append(execution.lot_id)
        # The day's scrap of each kind, weighed once at the end of a shift (the shift and machine rotate).
        for i, (kind, pct) in enumerate(step.scrap):
            shift = shifts[(day + i) % len(shifts)]
            qty = _kg(issued * pct * _wobble(day, i + 5))
            if qty > 0:
                await executions.record_scrap(self.session, order.id, ScrapIn(
                    scrap_sku="SCRAP-PP", scrap_kind=kind, quantity=qty, machine_id=self.machines[
                        step.machines[(day + i) % len(step.machines)]].id, shift_id=self.shifts[shift].id,
                    operator_id=self.operators[step.operators[SHIFTS_INDEX[shift]]], work_date=on), None)

    # -- regrind, toll, count -----------------------------------------------------------------------------
    async def _regrind(self, on: date, day: int, qty: str) -> None:
        """The granulator turns scrap from the scrap warehouse into regrind at the raw-material store; the
        compound's BOM gets a version 2 using it, and the route a version with that BOM (the new default)."""
        s, qty = self.session, D(qty)
        order = await orders.create_order(s, OrderIn(sku="REGRIND-PP", quantity=_kg(qty * D("0.97")),
                                                     machine_id=self.machines["GRN-01"].id, source_location="SCRAP-WH",
                                                     output_location="RM-WH", planned_start=on,
                                                     note="Giling ulang scrap PP (daun, prongkol)"), None)
        await orders.release_order(s, order.id)
        await executions.issue_material(s, order.id, IssueIn(date=on, lines=[IssueLineIn(sku="SCRAP-PP",
                                                                                         quantity=qty)]), None)
        for i, shift in enumerate(("PAGI", "SIANG")):
            await executions.record_output(s, order.id, OutputIn(
                quantity=_kg(qty * D("0.48")), machine_id=self.machines["GRN-01"].id, shift_id=self.shifts[shift].id,
                operator_id=self.operators[("OP-05", "OP-06")[i]], work_date=on, hours=D("0.4")), None)
        await executions.record_scrap(s, order.id, ScrapIn(
            scrap_sku="SCRAP-PP", scrap_kind="prongkol", quantity=_kg(qty * D("0.02")), location="SCRAP-WH",
            machine_id=self.machines["GRN-01"].id, shift_id=self.shifts["SIANG"].id, work_date=on), None)
        await orders.close_order(s, order.id, CloseIn(date=on), None)
        bom = await self._bom(MIX_V2, make_default=True)
        self.boms["MIX-RAF-WH"] = bom
        self.route = await self._route("RT-WB50-WH-2", make_default=True)

    async def _toll(self, on: date, day: int, key: str, customer: str, material: str, finished: str,
                    plan: dict) -> None:
        """A toll (maklon) order over four days: the customer's resin received, consumed into bags (and
        scrap), the bags delivered, the leftover returned, the fee invoiced (PPN; PPh 23 withheld later)."""
        s, v = self.session, self.variants
        order = await toll.create_order(s, TollOrderIn(
            customer_id=self.partners[customer], order_date=on, service_description="Jasa maklon karung plastik",
            fee_basis="PCS", fee_price=D(plan["fee"]), customer_reference=f"PO-{customer[4:]}-MKL",
            lines=[TollLineIn(material_variant_id=v[material], material_qty=D(plan["received"]),
                              finished_variant_id=v[finished], finished_qty=D(plan["bags"]))]), None)
        order = await toll.confirm_order(s, order.id, None)
        await toll.receive(s, order.id, MovesIn(move_date=on, reference=f"SJ-{customer[4:]}-01", lines=[
            MoveLineIn(variant_id=v[material], quantity=D(plan["received"]))]), None)
        await toll.consume(s, order.id, ConsumeIn(
            move_date=self.day(day + 1), consumed=[MoveLineIn(variant_id=v[material], quantity=D(plan["consumed"]))],
            scrap=[MoveLineIn(variant_id=v[material], quantity=D(plan["scrap"]))],
            produced=[MoveLineIn(variant_id=v[finished], quantity=D(plan["bags"]))]), None)
        await toll.deliver(s, order.id, MovesIn(move_date=self.day(day + 2), reference=f"SJ-MKL-{day + 2:02d}",
                                                lines=[MoveLineIn(variant_id=v[finished], quantity=D(plan["bags"]))]),
                           None)
        leftover = D(plan["received"]) - D(plan["consumed"]) - D(plan["scrap"])
        await toll.return_leftover(s, order.id, MovesIn(move_date=self.day(day + 2), lines=[
            MoveLineIn(variant_id=v[material], quantity=leftover)]), None)
        await toll.complete(s, order.id)
        order = await toll.invoice(s, order.id, TollInvoiceIn(invoice_date=self.day(day + 2)), None)
        self.invoices[key] = order.sales_invoice_id
        self.toll_order_id = order.id

    async def _opname(self, on: date, day: int, location: str, losses: list) -> None:
        """A stock count of the raw materials at `location`: every line counted at its book quantity but
        the ones that lost something; approved (posted today, the count's adjustments at the average)."""
        s = self.session
        count = await stockcount.create_count(s, StockCountIn(location=location, count_date=on,
                                                              product_type="raw_material",
                                                              note="Stock opname bulanan bahan baku"), None)
        lost = {self.variants[sku]: D(q) for sku, q in losses}
        await stockcount.add_entries(s, count.id, [
            EntryIn(variant_id=line.variant_id, counted_qty=line.snapshot_qty - lost.get(line.variant_id, D(0)),
                    counted_by="Tim gudang") for line in count.lines], None)
        await stockcount.submit_count(s, count.id, None)
        await stockcount.approve_count(s, count.id, ApproveIn(), None)


SHIFTS_INDEX = {code: i for i, (code, *_rest) in enumerate(SHIFTS)}


# -- pt-xyz: blown film, one step ---------------------------------------------------------------------------
# Every other day one order makes 6 film rolls from 140 kg HDPE, 3 kg masterbatch and 6 paper cores on the
# blown-film line over two shifts (three weighed rolls each, bruto - the 1.2 kg core); 12 kg of trim (daun).
FILM = "FLM-LDPE-40"
FILM_BOM = (FILM, "extrusion", "6", "0", None, [("HDPE-GRN-BLK", "140", False), ("MB-BLACK-01", "3", False),
                                               ("CORE-PPR-3", "6", False)])
FILM_CORE = D("1.2")


class FilmSeeding:
    """pt-xyz's film floor (mixed into erp/demo/seed.py's _Run): a blown-film line and its orders."""

    async def film_setup(self) -> None:
        s = self.session
        self.machines = {"BLW-01": await equipment.create_machine(s, MachineIn(
            code="BLW-01", name="Blown film line 55 mm", machine_type="extruder", overhead_rate=D("15000"),
            overhead_basis="hour", rated_capacity=D("20")))}
        self.shifts = {code: await equipment.create_shift(s, ShiftIn(code=code, name=name, starts_at=a, ends_at=b))
                       for code, name, a, b in SHIFTS[:2]}
        self.operators = {code: (await equipment.create_operator(s, OperatorIn(code=code, name=name))).id
                          for code, name in (("OP-01", "Slamet Riyadi"), ("OP-02", "Yuli Astuti"))}
        await equipment.create_piece_rate(s, PieceRateIn(stage="extrusion", rate=D("2500"), valid_from=self.day(0)))
        await self._bom(FILM_BOM)

    async def _film(self, on: date, day: int) -> None:
        s = self.session
        order = await orders.create_order(s, OrderIn(sku=FILM, quantity=D(6), machine_id=self.machines["BLW-01"].id,
                                                     output_location="FG-WH", planned_start=on,
                                                     note=f"Film batch {on:%d%m}"), None)
        order = await orders.release_order(s, order.id)
        await executions.issue_material(s, order.id, IssueIn(date=on, lines=[
            IssueLineIn(sku=sku, quantity=D(q)) for sku, q, _r in FILM_BOM[5]]), None)
        for i, shift in enumerate(("PAGI", "SIANG")):
            net = D("68.4") + D((day + i) % 3) / 2  # three rolls of about 23 kg
            await executions.record_output(s, order.id, OutputIn(
                quantity=D(3), gross_weight=net + 3 * FILM_CORE, core_weight=3 * FILM_CORE, pieces=3,
                machine_id=self.machines["BLW-01"].id, shift_id=self.shifts[shift].id,
                operator_id=self.operators[("OP-01", "OP-02")[i]], work_date=on, hours=D("7.5")), None)
        await executions.record_scrap(s, order.id, ScrapIn(
            scrap_sku="SCRAP-PP", scrap_kind="daun", quantity=D(12), shift_id=self.shifts["SIANG"].id,
            operator_id=self.operators["OP-02"], work_date=on), None)
        await orders.close_order(s, order.id, CloseIn(date=on), None)
