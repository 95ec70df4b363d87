"""Floor KPIs: output, scrap by kind, yield, kg/hour against the standard and OEE per machine, shift, day,
operator or product, and piece-rate earnings per operator. Read-only, set-based: a few GROUP BY statements
over the range's posted executions (voided ones never count), whatever the number of executions.

Definitions (the README repeats them for the floor):
- groups: the execution's machine (else its order's planned machine), shift, work date, operator, or the
  product its order makes (scrap counts against the product being made).
- kg of an execution: its quantity for a KG product, else bruto - bobin when weighed, else quantity / the
  product's KG conversion; executions with none of these are counted as `unweighed_executions`.
- scrap ratio = scrap kg / (good kg + scrap kg), per kind and in total; quality = 1 - scrap ratio.
- yield = good kg / material issued kg, where the material is what production_issues gave the orders in the
  range (issued_on in it, returns netted); an order's issued kg is shared among its executions in the range in
  proportion to their kg (evenly when none is weighed), so that groups add up to the total.
- standard rate of an execution: its route step's std_rate, else its machine's rated_capacity (per hour, in
  the step's rate unit: kg for kg_per_hour, else the output's unit). Standard hours = output / standard rate;
  standard kg/hour of a group = its kg / its standard hours; rate ratio = actual kg/hour / standard kg/hour.
- OEE (machine, shift and day groups; totals always): planned time = the full lengths of the shifts (a shift
  past midnight counts whole) of every (machine, work day, shift) with an execution or a downtime touching it
  (day = the day the shift starts, in the company's time zone); downtime = the overlap of machine_downtimes
  with those shifts (an open downtime runs to now), at most the shift; availability = (planned - downtime) /
  planned; performance = standard hours / run hours, at most 1, where run hours = hours recorded on the shift's
  executions, else planned - downtime; quality as above; OEE = availability x performance x quality.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Machine, Operator, Product, Shift
from polyflow.erp.models.production import SCRAP_KINDS
from polyflow.erp.models.settings import TenantSettings
from polyflow.erp.production.report_schemas import (
    GroupBy, Oee, OperatorEarnings, PieceRateEarnings, ProductionGroup, ProductionReport, ScrapKind, UnitQuantity,
)
from polyflow.kit.errors import InvalidInput

MAX_RANGE_DAYS = 366
DEFAULT_ZONE = "Asia/Jakarta"
ZERO = Decimal(0)

# The group key of an execution (grouped as it is, written as text afterwards).
_EXECUTION_KEYS = {
    "machine": "ex.machine_id", "shift": "ex.shift_id", "day": "ex.work_date", "operator": "ex.operator_id",
    "product": "ex.order_product_id",
}
# The key of a (machine, day, shift) for OEE; operator and product have no planned time of their own.
_SHIFT_KEYS = {"machine": "machine_id", "shift": "shift_id", "day": "day"}

# Posted executions of the range with their kg and standard hours. The machine is the one recorded, else the
# order's planned machine.
_EXECUTIONS = """
ex AS (
    SELECT e.order_id, e.kind, e.scrap_kind, e.quantity, e.hours, p.unit, e.shift_id, e.operator_id, e.work_date,
           coalesce(e.machine_id, o.machine_id) AS machine_id, ov.product_id AS order_product_id,
           k.kg, CASE WHEN e.kind = 'output' THEN
                     (CASE WHEN rs.id IS NOT NULL AND rs.rate_unit = 'kg_per_hour' THEN k.kg ELSE e.quantity END)
                     / coalesce(rs.std_rate, nullif(m.rated_capacity, 0)) END AS std_hours
    FROM production_executions e
    JOIN production_orders o ON o.id = e.order_id
    JOIN product_variants ov ON ov.id = o.variant_id
    JOIN product_variants v ON v.id = e.variant_id
    JOIN products p ON p.id = v.product_id
    LEFT JOIN product_unit_conversions c ON c.product_id = p.id AND c.unit = 'KG'
    LEFT JOIN route_steps rs ON rs.id = o.route_step_id
    LEFT JOIN machines m ON m.id = coalesce(e.machine_id, o.machine_id)
    CROSS JOIN LATERAL (SELECT CASE WHEN p.unit = 'KG' THEN e.quantity
                                    WHEN e.gross_weight IS NOT NULL THEN e.gross_weight - coalesce(e.core_weight, 0)
                                    ELSE e.quantity / c.factor END AS kg) k
    WHERE e.status = 'posted' AND e.work_date BETWEEN CAST(:df AS date) AND CAST(:dt AS date)
)"""

# Material issued in the range per order, in kg (returns are negative issues and net out).
_ISSUES = """
iss AS (
    SELECT i.order_id, sum(CASE WHEN p.unit = 'KG' THEN i.quantity ELSE i.quantity / c.factor END) AS kg
    FROM production_issues i
    JOIN product_variants v ON v.id = i.variant_id
    JOIN products p ON p.id = v.product_id
    LEFT JOIN product_unit_conversions c ON c.product_id = p.id AND c.unit = 'KG'
    WHERE i.issued_on BETWEEN CAST(:df AS date) AND CAST(:dt AS date)
    GROUP BY i.order_id
)"""

# One row per (group, kind, scrap kind, unit): everything the per-group figures are folded from. The executions
# are summed once per (group, order, kind, unit); each order's issued kg is then shared among its parts by kg
# (evenly by count when none is weighed), so a group gets the material its share of the order used.
_FIGURES = """
WITH {executions}, {issues},
part AS (
    SELECT {key} AS k, ex.order_id, ex.kind, ex.scrap_kind, ex.unit, count(*) AS n, sum(ex.quantity) AS quantity,
           sum(ex.kg) AS kg, count(*) FILTER (WHERE ex.kg IS NULL) AS unweighed, sum(ex.hours) AS hours,
           sum(ex.std_hours) AS std_hours, sum(ex.kg) FILTER (WHERE ex.std_hours IS NOT NULL) AS std_kg
    FROM ex
    GROUP BY 1, ex.order_id, ex.kind, ex.scrap_kind, ex.unit
),
shared AS (
    SELECT p.order_id, min(iss.kg) AS issued, coalesce(sum(p.kg), 0) AS kg, sum(p.n) AS n
    FROM part p JOIN iss ON iss.order_id = p.order_id
    GROUP BY p.order_id
)
SELECT p.k::text AS k, p.kind, p.scrap_kind, p.unit, sum(p.n)::int AS n, sum(p.quantity) AS quantity,
       coalesce(sum(p.kg), 0) AS kg, sum(p.unweighed)::int AS unweighed, coalesce(sum(p.hours), 0) AS hours,
       sum(p.std_hours) AS std_hours, sum(p.std_kg) AS std_kg,
       coalesce(sum(sh.issued * CASE WHEN sh.kg > 0 THEN coalesce(p.kg, 0) / sh.kg ELSE p.n::numeric / sh.n END), 0)
           AS issued_kg
FROM part p LEFT JOIN shared sh ON sh.order_id = p.order_id
GROUP BY p.k, p.kind, p.scrap_kind, p.unit
"""

_ISSUED_WITHOUT_OUTPUT = """
WITH {issues}
SELECT coalesce(sum(iss.kg), 0) FROM iss
WHERE NOT EXISTS (SELECT 1 FROM production_executions e
                  WHERE e.order_id = iss.order_id AND e.status = 'posted'
                    AND e.work_date BETWEEN CAST(:df AS date) AND CAST(:dt AS date))
"""

# Planned, down, run and standard hours per group of (machine, day, shift), and in total (GROUPING SETS).
# Each downtime is cut into the shift windows it touches (a handful per stop, generated from its own dates),
# so the work grows with the number of stops, not stops x shifts of the range.
_SHIFTS = """
WITH {executions},
sh AS (
    SELECT id, starts_at, is_active,
           (ends_at - starts_at) + CASE WHEN ends_at <= starts_at THEN interval '24 hours' ELSE interval '0' END AS len
    FROM shifts
),
ec AS (
    SELECT machine_id, shift_id, work_date AS day, sum(hours) AS hours, sum(std_hours) AS std_hours
    FROM ex WHERE machine_id IS NOT NULL AND shift_id IS NOT NULL
    GROUP BY machine_id, shift_id, work_date
),
dt AS (
    SELECT machine_id, shift_id, started_at, coalesce(ended_at, now()) AS ended_at
    FROM machine_downtimes
    WHERE started_at < ((CAST(:dt AS date) + 2)::timestamp AT TIME ZONE :tz)
      AND coalesce(ended_at, now()) > ((CAST(:df AS date) - 1)::timestamp AT TIME ZONE :tz)
),
dw AS (
    -- A stop recorded for a shift, or touching an active shift, makes that shift planned (`marks`); its overlap
    -- counts against any planned shift it touches.
    SELECT dt.machine_id, s.id AS shift_id, d.day, s.is_active OR s.id = dt.shift_id AS marks,
           extract(epoch FROM least(w.w_end, dt.ended_at) - greatest(w.w_start, dt.started_at)) / 3600 AS hours
    FROM dt
    CROSS JOIN sh s
    CROSS JOIN LATERAL (
        SELECT g::date AS day
        FROM generate_series(greatest(CAST(:df AS date), (dt.started_at AT TIME ZONE :tz)::date - 1)::timestamp,
                             least(CAST(:dt AS date), (dt.ended_at AT TIME ZONE :tz)::date)::timestamp,
                             interval '1 day') g
    ) d
    CROSS JOIN LATERAL (
        SELECT (d.day + s.starts_at) AT TIME ZONE :tz AS w_start,
               (d.day + s.starts_at + s.len) AT TIME ZONE :tz AS w_end
    ) w
    WHERE w.w_start < dt.ended_at AND w.w_end > dt.started_at
),
ds AS (
    SELECT machine_id, shift_id, day, sum(hours) AS down, bool_or(marks) AS marks
    FROM dw GROUP BY machine_id, shift_id, day
),
combos AS (
    SELECT machine_id, shift_id, day FROM ec
    UNION
    SELECT machine_id, shift_id, day FROM ds WHERE marks
),
cd AS (
    SELECT c.machine_id, c.shift_id, c.day, ec.hours, ec.std_hours, extract(epoch FROM s.len) / 3600 AS planned,
           least(extract(epoch FROM s.len) / 3600, coalesce(ds.down, 0)) AS down
    FROM combos c
    JOIN sh s ON s.id = c.shift_id
    LEFT JOIN ec ON ec.machine_id = c.machine_id AND ec.shift_id = c.shift_id AND ec.day = c.day
    LEFT JOIN ds ON ds.machine_id = c.machine_id AND ds.shift_id = c.shift_id AND ds.day = c.day
)
SELECT x.k::text AS k, grouping(x.k) = 1 AS total, count(*) AS n, sum(x.planned) AS planned, sum(x.down) AS down,
       sum(coalesce(x.hours, x.planned - x.down)) AS run, sum(x.std_hours) AS std_hours
FROM (SELECT {key} AS k, cd.* FROM cd) x
GROUP BY GROUPING SETS ((x.k), ())
"""

_EARNINGS = """
SELECT e.operator_id, p.unit, count(*) AS n, sum(e.quantity) FILTER (WHERE e.kind = 'output') AS quantity,
       count(*) FILTER (WHERE e.kind = 'output') AS outputs, sum(e.labour_amount) AS earnings
FROM production_executions e
JOIN product_variants v ON v.id = e.variant_id
JOIN products p ON p.id = v.product_id
WHERE e.status = 'posted' AND e.work_date BETWEEN CAST(:df AS date) AND CAST(:dt AS date)
GROUP BY e.operator_id, p.unit
"""


def check_range(date_from: date, date_to: date) -> None:
    """422 unless date_from <= date_to and the range spans at most MAX_RANGE_DAYS days."""
    if date_from > date_to:
        raise InvalidInput(f"date_from ({date_from}) is after date_to ({date_to})")
    days = (date_to - date_from).days + 1
    if days > MAX_RANGE_DAYS:
        raise InvalidInput(f"the range spans {days} days; ask for at most {MAX_RANGE_DAYS} at a time")


async def _plan_per_range(session: AsyncSession) -> None:
    # The statements are prepared (asyncpg) and their selectivity hangs on the dates: after five runs PostgreSQL
    # may switch to a generic plan made without them (measured: the issued-without-output sum went from 7 ms to
    # 11-18 s, nested loops over a year of executions). Planning them afresh costs a few ms.
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


async def _time_zone(session: AsyncSession) -> str:
    name = (await session.execute(select(TenantSettings.time_zone).where(TenantSettings.id == 1))).scalar()
    try:
        ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_ZONE  # a name PostgreSQL might not know either: the default, as accounting does
    return name or DEFAULT_ZONE


def _ratio(numerator, denominator) -> Decimal | None:
    # Kept unrounded (the schema writes four decimals), so OEE is the product of the exact parts.
    if numerator is None or not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


class _Acc:
    """Sums of one group while the rows are folded."""

    def __init__(self):
        self.n = 0
        self.output: dict[str, Decimal] = defaultdict(Decimal)
        self.good_kg = ZERO
        self.scrap_kg: dict[str, Decimal] = {kind: ZERO for kind in SCRAP_KINDS}
        self.unweighed = 0
        self.issued_kg = ZERO
        self.hours = ZERO
        self.std_hours = ZERO
        self.std_kg = ZERO
        self.shifts: tuple | None = None  # (n, planned, down, run, std_hours) from the OEE statement

    def add(self, row) -> None:
        self.n += row.n
        self.unweighed += row.unweighed
        self.issued_kg += row.issued_kg
        self.hours += row.hours
        if row.kind == "output":
            self.output[row.unit] += row.quantity
            self.good_kg += row.kg
            self.std_hours += row.std_hours or ZERO
            self.std_kg += row.std_kg or ZERO
        else:
            self.scrap_kg[row.scrap_kind] += row.kg

    def merge(self, other: "_Acc") -> None:
        self.n += other.n
        self.unweighed += other.unweighed
        self.issued_kg += other.issued_kg
        self.hours += other.hours
        self.good_kg += other.good_kg
        self.std_hours += other.std_hours
        self.std_kg += other.std_kg
        for unit, quantity in other.output.items():
            self.output[unit] += quantity
        for kind, kg in other.scrap_kg.items():
            self.scrap_kg[kind] += kg

    def figures(self, key: str | None, label: tuple[str | None, str | None], with_oee: bool) -> ProductionGroup:
        scrap_kg = sum(self.scrap_kg.values(), ZERO)
        produced = self.good_kg + scrap_kg
        kg_per_hour = self.good_kg / self.hours if self.hours else None
        std_kg_per_hour = self.std_kg / self.std_hours if self.std_hours else None
        quality = _ratio(self.good_kg, produced)
        return ProductionGroup(
            key=key, code=label[0], name=label[1], executions=self.n,
            output=[UnitQuantity(unit=u, quantity=q) for u, q in sorted(self.output.items())],
            output_kg=self.good_kg,
            scrap=[ScrapKind(kind=kind, kg=kg, ratio=_ratio(kg, produced)) for kind, kg in self.scrap_kg.items()],
            scrap_kg=scrap_kg, scrap_ratio=_ratio(scrap_kg, produced), unweighed_executions=self.unweighed,
            issued_kg=self.issued_kg, yield_ratio=_ratio(self.good_kg, self.issued_kg) if self.issued_kg > 0 else None,
            hours=self.hours, kg_per_hour=kg_per_hour, standard_kg_per_hour=std_kg_per_hour,
            rate_ratio=_ratio(kg_per_hour, std_kg_per_hour) if kg_per_hour is not None else None,
            oee=self._oee(quality) if with_oee else None,
        )

    def _oee(self, quality: Decimal | None) -> Oee | None:
        if self.shifts is None:
            return None
        n, planned, down, run, std_hours = self.shifts
        availability = _ratio(planned - down, planned)
        performance = min(_ratio(std_hours, run), Decimal(1)) if std_hours is not None and run else None
        parts = (availability, performance, quality)
        oee = availability * performance * quality if None not in parts else None
        return Oee(shifts_planned=n, planned_hours=planned, downtime_hours=down, run_hours=run,
                   standard_hours=std_hours, availability=availability, performance=performance, quality=quality,
                   oee=oee)


async def _labels(session: AsyncSession, group_by: GroupBy, keys) -> dict[str, tuple[str | None, str | None]]:
    if group_by == "day":
        return {k: (k, None) for k in keys if k is not None}
    ids = [uuid.UUID(k) for k in keys if k is not None]
    model = {"machine": Machine, "shift": Shift, "operator": Operator, "product": Product}[group_by]
    code = Product.sku if model is Product else model.code
    rows = await session.execute(select(model.id, code, model.name).where(model.id.in_(ids)))
    return {str(i): (c, n) for i, c, n in rows}


async def production_report(session: AsyncSession, date_from: date, date_to: date,
                            group_by: GroupBy) -> ProductionReport:
    """Output, scrap by kind, yield, kg/hour vs standard and OEE per group over the range (posted executions)."""
    check_range(date_from, date_to)
    await _plan_per_range(session)
    params = {"df": date_from, "dt": date_to}
    sql = _FIGURES.format(executions=_EXECUTIONS, issues=_ISSUES, key=_EXECUTION_KEYS[group_by])
    groups: dict[str | None, _Acc] = defaultdict(_Acc)
    for row in await session.execute(text(sql), params):
        groups[row.k].add(row)

    tz = await _time_zone(session)
    sql = _SHIFTS.format(executions=_EXECUTIONS, key=_SHIFT_KEYS.get(group_by, "NULL::text"))
    totals = _Acc()
    for row in await session.execute(text(sql), {**params, "tz": tz}):
        figures = (row.n, row.planned, row.down, row.run, row.std_hours)
        if not row.n:
            continue  # the grand total of nothing planned (GROUPING SETS answers it with empty sums)
        if row.total:
            totals.shifts = figures
        elif group_by in _SHIFT_KEYS:
            groups[row.k].shifts = figures  # a shift with downtime only is a group of its own

    sql = _ISSUED_WITHOUT_OUTPUT.format(issues=_ISSUES)
    issued_elsewhere = (await session.execute(text(sql), params)).scalar_one()

    labels = await _labels(session, group_by, groups)
    out = []
    for key in sorted(groups, key=lambda k: (k is None, labels.get(k, (k, None))[0] or "", k or "")):
        acc = groups[key]
        totals.merge(acc)
        out.append(acc.figures(key, labels.get(key, (None, None)), group_by in _SHIFT_KEYS))
    return ProductionReport(date_from=date_from, date_to=date_to, group_by=group_by, groups=out,
                            totals=totals.figures(None, (None, None), True),
                            issued_kg_without_output=issued_elsewhere)


async def piece_rate_earnings(session: AsyncSession, date_from: date, date_to: date) -> PieceRateEarnings:
    """Per operator: output per unit and piece-rate earnings (labour of posted executions) over the range."""
    check_range(date_from, date_to)
    await _plan_per_range(session)
    by_operator: dict[uuid.UUID | None, dict] = {}
    for row in await session.execute(text(_EARNINGS), {"df": date_from, "dt": date_to}):
        acc = by_operator.setdefault(row.operator_id, {"n": 0, "output": defaultdict(Decimal), "earnings": ZERO})
        acc["n"] += row.n
        acc["earnings"] += row.earnings
        if row.outputs:
            acc["output"][row.unit] += row.quantity
    ids = [i for i in by_operator if i is not None]
    names = {i: (c, n) for i, c, n in await session.execute(
        select(Operator.id, Operator.code, Operator.name).where(Operator.id.in_(ids)))} if ids else {}
    operators = [
        OperatorEarnings(operator_id=str(i) if i else None, code=names.get(i, (None, None))[0],
                         name=names.get(i, (None, None))[1], executions=acc["n"],
                         output=[UnitQuantity(unit=u, quantity=q) for u, q in sorted(acc["output"].items())],
                         earnings=acc["earnings"])
        for i, acc in sorted(by_operator.items(), key=lambda kv: (kv[0] is None, names.get(kv[0], ("",))[0]))
    ]
    return PieceRateEarnings(date_from=date_from, date_to=date_to, operators=operators,
                             total_earnings=sum((o.earnings for o in operators), ZERO))
