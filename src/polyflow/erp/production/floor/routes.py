"""Routes: how a product is made, as ordered steps, each a stage making its output with a BOM on machines able
to do it; each step's BOM takes the previous step's output. A route's steps never change (make a new route)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Bom, Machine, ProductVariant, Route, RouteStep, RouteStepMachine
from polyflow.erp.production.floor import repository
from polyflow.erp.production.floor.equipment import flush_or_taken, product_ref
from polyflow.erp.production.floor.schemas import RouteIn, RoutePatch
from polyflow.kit.errors import Conflict, InvalidInput, NotFound

# Which machines can do a stage; rework is done wherever the goods are repaired.
STAGE_MACHINES: dict[str, tuple[str, ...]] = {
    "mixing": ("mixer",), "extrusion": ("extruder",), "weaving": ("loom",), "lamination": ("laminator",),
    "printing": ("printer",), "cutting_sewing": ("cutting_sewing",), "packing": ("packer",),
    "granulating": ("granulator",),
    "rework": ("mixer", "extruder", "loom", "laminator", "printer", "cutting_sewing", "packer", "granulator"),
}


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


ROUTE_FIELDS = ("id", "code", "name", "product_id", "is_active", "is_default", "note", "created_at")
STEP_FIELDS = ("id", "seq", "stage", "name", "output_variant_id", "bom_id", "std_rate", "rate_unit")


async def route_views(session: AsyncSession, routes: list[Route]) -> list[dict]:
    """Routes as answered: with the product's and each step's output SKU and its machines' ids and codes."""
    steps = [s for r in routes for s in r.steps]
    variants = await repository.variants_by_id(session, {s.output_variant_id for s in steps})
    machines = {m.id: m for m in await repository.machines_by_ref(
        session, {m.machine_id for s in steps for m in s.machines}, set())}
    skus = await repository.product_skus(session, {r.product_id for r in routes})

    def step(s: RouteStep) -> dict:
        on = sorted((machines[m.machine_id] for m in s.machines), key=lambda m: m.code)
        return {**{k: getattr(s, k) for k in STEP_FIELDS}, "output_sku": variants[s.output_variant_id].sku,
                "machine_ids": [m.id for m in on], "machine_codes": [m.code for m in on]}

    return [{**{k: getattr(r, k) for k in ROUTE_FIELDS}, "product_sku": skus[r.product_id],
             "steps": [step(s) for s in r.steps]} for r in routes]


async def route_view(session: AsyncSession, route: Route) -> dict:
    """One route as answered."""
    return (await route_views(session, [route]))[0]


async def get_route(session: AsyncSession, route_id: uuid.UUID) -> Route:
    """One route with its steps, or 404."""
    route = await session.get(Route, route_id)
    if route is None:
        raise NotFound("route not found")
    return route


async def list_routes(session: AsyncSession, *, product_id: uuid.UUID | None, active: bool | None, limit: int,
                      offset: int) -> tuple[list[Route], int]:
    """Routes by code."""
    filters = []
    if product_id is not None:
        filters.append(Route.product_id == product_id)
    if active is not None:
        filters.append(Route.is_active == active)
    return await repository.page(session, Route, filters, [Route.code], limit, offset)


async def default_route(session: AsyncSession, product_id: uuid.UUID) -> Route | None:
    """The product's default route (None if it has none)."""
    return await repository.default_route(session, product_id)


async def _step_machines(session: AsyncSession, data: RouteIn) -> dict[int, list[Machine]]:
    ids, codes = set(), set()
    for step in data.steps:
        for ref in step.machines:
            try:
                ids.add(uuid.UUID(ref))
            except ValueError:
                codes.add(ref.strip().upper())
    found = await repository.machines_by_ref(session, ids, codes)
    by_ref = {str(m.id): m for m in found} | {m.code: m for m in found}
    out = {}
    for step in data.steps:
        machines = {}
        for ref in step.machines:
            machine = by_ref.get(ref.strip()) or by_ref.get(ref.strip().upper())
            label = f"step {step.seq} ({step.stage})"
            if machine is None:
                raise InvalidInput(f"{label}: machine {ref} not found")
            if machine.status == "retired":
                raise InvalidInput(f"{label}: machine {machine.code} is retired")
            if machine.machine_type not in STAGE_MACHINES[step.stage]:
                raise InvalidInput(f"{label}: machine {machine.code} is {_a(machine.machine_type)}; {step.stage} "
                                   f"needs {' or '.join(_a(t) for t in STAGE_MACHINES[step.stage])}")
            machines[machine.id] = machine
        out[step.seq] = list(machines.values())
    return out


async def _step_outputs(session: AsyncSession, data: RouteIn) -> dict[int, ProductVariant]:
    found = await repository.variants(session, {s.output_variant_id for s in data.steps if s.output_variant_id},
                                      {s.sku for s in data.steps if s.sku})
    by_id, by_sku = {v.id: v for v in found}, {v.sku: v for v in found}
    out = {}
    for step in data.steps:
        variant = by_id.get(step.output_variant_id) if step.output_variant_id else by_sku.get(step.sku)
        if variant is None:
            raise InvalidInput(f"step {step.seq} ({step.stage}): output {step.sku or step.output_variant_id} not found")
        out[step.seq] = variant
    return out


async def _step_boms(session: AsyncSession, data: RouteIn, outputs: dict[int, ProductVariant]) -> dict[int, Bom]:
    given = await repository.boms_by_id(session, {s.bom_id for s in data.steps if s.bom_id})
    out, previous = {}, None
    for step in sorted(data.steps, key=lambda s: s.seq):
        label, output = f"step {step.seq} ({step.stage})", outputs[step.seq]
        if step.bom_id is not None:
            bom = given.get(step.bom_id)
            if bom is None:
                raise InvalidInput(f"{label}: BOM {step.bom_id} not found")
        else:
            bom = await repository.default_bom(session, output.product_id)
            if bom is None:
                raise InvalidInput(f"{label}: {output.sku} has no default BOM: give the step's bom_id")
        if bom.product_id != output.product_id:
            makes = (await repository.product_skus(session, {bom.product_id}))[bom.product_id]
            raise InvalidInput(f"{label}: BOM version {bom.version} makes {makes}, not the step's output {output.sku}")
        if not bom.is_active:
            raise InvalidInput(f"{label}: BOM version {bom.version} of {output.sku} is archived")
        if bom.stage != step.stage:
            raise InvalidInput(f"{label}: BOM version {bom.version} of {output.sku} is {_a(bom.stage)} BOM")
        if previous is not None and previous.id not in {line.variant_id for line in bom.lines}:
            raise InvalidInput(f"{label}: its BOM (version {bom.version} of {output.sku}) does not use the previous "
                               f"step's output {previous.sku}")
        out[step.seq], previous = bom, output
    return out


async def create_route(session: AsyncSession, data: RouteIn) -> Route:
    """A route: ordered steps, each a stage making its output with a BOM on machines able to do it."""
    code = data.code.upper()
    if await repository.route_code_taken(session, code):
        raise Conflict(f"route code '{code}' is already used")
    product = await product_ref(session, data.product_id, data.sku)
    if product.product_type == "service":
        raise InvalidInput(f"{product.sku} is a service: it has no route")
    steps = sorted(data.steps, key=lambda s: s.seq)
    outputs = await _step_outputs(session, data)
    last = outputs[steps[-1].seq]
    if last.product_id != product.id:
        raise InvalidInput(f"the last step (step {steps[-1].seq}) makes {last.sku}, not the route's product "
                           f"{product.sku}")
    boms = await _step_boms(session, data, outputs)
    machines = await _step_machines(session, data)
    await repository.lock(session, f"floor:routes:{product.id}")
    route = Route(code=code, name=data.name, product_id=product.id, note=data.note, is_active=True, is_default=False,
                  steps=[RouteStep(seq=s.seq, stage=s.stage, name=s.name, output_variant_id=outputs[s.seq].id,
                                   bom_id=boms[s.seq].id, std_rate=s.std_rate, rate_unit=s.rate_unit,
                                   machines=[RouteStepMachine(machine_id=m.id) for m in machines[s.seq]])
                         for s in steps])
    session.add(route)
    await flush_or_taken(session, f"route code '{code}'")
    if data.make_default or (data.make_default is None and await default_route(session, product.id) is None):
        await _make_default_route(session, route)
    await session.refresh(route)
    return route


async def _make_default_route(session: AsyncSession, route: Route) -> None:
    previous = await repository.default_route(session, route.product_id)
    if previous is not None and previous.id != route.id:
        previous.is_default = False
        await session.flush()
    route.is_default = True
    await session.flush()


async def make_default_route(session: AsyncSession, route_id: uuid.UUID) -> Route:
    """Make an active route its product's default (production runs take it when none is named)."""
    found = await session.get(Route, route_id)
    if found is None:
        raise NotFound("route not found")
    # The product's lock before the row's, in the order create_route takes them (the other way round, a
    # create that moves the default off this very route would deadlock with us).
    await repository.lock(session, f"floor:routes:{found.product_id}")
    route = await repository.route_for_update(session, route_id)
    if not route.is_active:
        raise Conflict(f"route {route.code} is inactive (allowed: PATCH is_active true, then make-default)")
    if route.is_default:
        raise Conflict(f"route {route.code} is already the default")
    await _make_default_route(session, route)
    await session.refresh(route)
    return route


async def update_route(session: AsyncSession, route_id: uuid.UUID, patch: RoutePatch) -> Route:
    """Rename, annotate, (de)activate a route (an inactive route is no one's default); steps never change."""
    route = await repository.route_for_update(session, route_id)
    if route is None:
        raise NotFound("route not found")
    changes = {k: v for k, v in patch.model_dump(exclude_unset=True).items()
               if not (v is None and k in ("name", "is_active"))}
    for key, value in changes.items():
        setattr(route, key, value)
    if not route.is_active:
        route.is_default = False
    await session.flush()
    await session.refresh(route)
    return route
