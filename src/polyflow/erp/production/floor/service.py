"""Bills of materials: versioned (never edited in place), one default per product, and their multi-level
explosion. Routes are in routes.py; machines, shifts, operators and piece rates in equipment.py; what other
modules need of them is re-exported here, so they import one place.

Other modules call: `explode` (pure, explosion.py) with `load_default_specs` / `spec_of`, `default_bom`,
`default_route`, `piece_rate_for`, `shift_window`."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Bom, BomLine, Product, ProductVariant
from polyflow.erp.production.floor import repository
from polyflow.erp.production.floor.equipment import (  # noqa: F401  (re-exported)
    piece_rate_for, product_ref, shift_hours, shift_window,
)
from polyflow.erp.production.floor.explosion import (  # noqa: F401  (re-exported)
    BomCycle, BomSpec, Exploded, LineSpec, Need, explode, per_output, topological,
)
from polyflow.erp.production.floor.routes import default_route  # noqa: F401  (re-exported)
from polyflow.erp.production.floor.schemas import BomIn, BomPatch
from polyflow.kit.errors import Conflict, InvalidInput, NotFound

BOM_LOCK = "floor:boms"  # one writer of BOMs at a time: versions, the default, and the cycle check agree
MASS_UNIT = "KG"


def _pct(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}%"


# -- loading specs for the explosion ---------------------------------------------------------------------------


def spec_of(bom: Bom, variant_products: dict[uuid.UUID, uuid.UUID]) -> BomSpec:
    """The pure form of a BOM (its lines' variants mapped to their products)."""
    return BomSpec(bom.id, bom.product_id, bom.output_quantity, bom.expected_scrap_pct, tuple(
        LineSpec(line.variant_id, variant_products[line.variant_id], line.quantity, line.is_regrind)
        for line in bom.lines))


async def load_default_specs(session: AsyncSession, start: set[uuid.UUID] | None = None) -> dict[uuid.UUID, BomSpec]:
    """Default BOMs by product: all of them (start None), or those reachable from the products in `start`
    (one pair of queries per level)."""
    specs: dict[uuid.UUID, BomSpec] = {}
    frontier = start
    while frontier is None or frontier:
        boms = await repository.default_boms(session, frontier)
        mapping = await repository.variant_products(session, {line.variant_id for b in boms for line in b.lines})
        for bom in boms:
            specs[bom.product_id] = spec_of(bom, mapping)
        if frontier is None:
            break
        frontier = set(mapping.values()) - set(specs) - frontier
    return specs


async def _refuse_cycle(session: AsyncSession, spec: BomSpec) -> None:
    defaults = await load_default_specs(session, {line.product_id for line in spec.lines})
    defaults.pop(spec.product_id, None)  # the BOM checked stands in for its product's default
    try:
        topological(spec, defaults, through_regrind=True)
    except BomCycle as cycle:
        skus = await repository.product_skus(session, set(cycle.chain))
        raise InvalidInput("this BOM would make a cycle through the default BOMs: "
                           + " -> ".join(skus.get(p, str(p)) for p in cycle.chain)) from None


# -- BOMs ------------------------------------------------------------------------------------------------------
BOM_FIELDS = ("id", "product_id", "version", "name", "stage", "output_quantity", "expected_scrap_pct",
              "max_regrind_pct", "is_active", "is_default", "note", "created_by", "created_at")


async def bom_views(session: AsyncSession, boms: list[Bom]) -> list[dict]:
    """BOMs as answered: with the product's and each component's SKU (two queries for a whole page)."""
    variants = await repository.variants_by_id(session, {line.variant_id for b in boms for line in b.lines})
    skus = await repository.product_skus(session, {b.product_id for b in boms})
    return [{**{k: getattr(b, k) for k in BOM_FIELDS}, "product_sku": skus[b.product_id],
             "lines": [{"line_no": line.line_no, "variant_id": line.variant_id, "sku": variants[line.variant_id].sku,
                        "unit": variants[line.variant_id].product.unit, "quantity": line.quantity,
                        "is_regrind": line.is_regrind, "note": line.note} for line in b.lines]} for b in boms]


async def get_bom(session: AsyncSession, bom_id: uuid.UUID) -> Bom:
    """One BOM version, or 404."""
    bom = await session.get(Bom, bom_id)
    if bom is None:
        raise NotFound("BOM not found")
    return bom


async def list_boms(session: AsyncSession, *, product_id: uuid.UUID | None, stage: str | None, active: bool | None,
                    is_default: bool | None, limit: int, offset: int) -> tuple[list[Bom], int]:
    """BOM versions by product, newest version first."""
    filters = repository.bom_filters(product_id, stage, active)
    if is_default is not None:
        filters.append(Bom.is_default == is_default)
    return await repository.page(session, Bom, filters, [Bom.product_id, Bom.version.desc()], limit, offset)


async def default_bom(session: AsyncSession, product_id: uuid.UUID) -> Bom | None:
    """The product's default BOM (None if it has none)."""
    return await repository.default_bom(session, product_id)


async def _components(session: AsyncSession, product: Product, data: BomIn) -> list[tuple[ProductVariant, object]]:
    ids = {line.variant_id for line in data.lines if line.variant_id}
    skus = {line.sku for line in data.lines if line.sku}
    found = await repository.variants(session, ids, skus)
    by_id, by_sku = {v.id: v for v in found}, {v.sku: v for v in found}
    out, seen = [], set()
    for n, line in enumerate(data.lines, 1):
        variant = by_id.get(line.variant_id) if line.variant_id else by_sku.get(line.sku)
        if variant is None:
            raise InvalidInput(f"line {n}: component {line.sku or line.variant_id} not found")
        if variant.product.product_type == "service":
            raise InvalidInput(f"line {n}: {variant.sku} is a service, not a stocked material")
        if not (variant.is_active and variant.product.is_active):
            raise InvalidInput(f"line {n}: {variant.sku} is inactive")
        if variant.product_id == product.id:
            raise InvalidInput(f"line {n}: {variant.sku} is the product itself: a product cannot be its own "
                               "component")
        if (variant.id, line.is_regrind) in seen:
            raise InvalidInput(f"line {n}: {variant.sku} is listed twice: put its whole quantity on one line")
        seen.add((variant.id, line.is_regrind))
        out.append((variant, line))
    return out


def _check_regrind(lines: list[tuple[ProductVariant, object]], max_pct: Decimal | None) -> None:
    regrind = [(v, line) for v, line in lines if line.is_regrind]
    if not regrind:
        return
    if max_pct is None:
        raise InvalidInput(f"{regrind[0][0].sku} is flagged regrind but this BOM sets no max_regrind_pct "
                           "(the largest share of the material mass regrind may take)")
    for variant, _ in regrind:
        if variant.product.unit != MASS_UNIT:
            raise InvalidInput(f"regrind {variant.sku} is counted in {variant.product.unit}: regrind lines must be "
                               f"in {MASS_UNIT} (their share is of the material mass)")
    mass = sum((line.quantity for v, line in lines if v.product.unit == MASS_UNIT), Decimal(0))
    reground = sum((line.quantity for _, line in regrind), Decimal(0))
    share = reground * 100 / mass
    if share > max_pct:
        raise InvalidInput(f"regrind makes {_pct(share)} of the material mass ({reground.normalize():f} of "
                           f"{mass.normalize():f} {MASS_UNIT}), above this BOM's max_regrind_pct {_pct(max_pct)}")


async def _make_default(session: AsyncSession, bom: Bom) -> None:
    previous = await repository.default_bom(session, bom.product_id)
    if previous is not None and previous.id != bom.id:
        previous.is_default = False  # kept (and active) for the orders that use it
        await session.flush()  # the partial unique index allows one default per product
    bom.is_default = True


async def create_bom(session: AsyncSession, data: BomIn, user_id: uuid.UUID | None) -> Bom:
    """Version N+1 of a product's BOM for a stage (earlier versions stay as they were)."""
    await repository.lock(session, BOM_LOCK)
    product = await product_ref(session, data.product_id, data.sku)
    if product.product_type == "service":
        raise InvalidInput(f"{product.sku} is a service: it has no bill of materials")
    lines = await _components(session, product, data)
    _check_regrind(lines, data.max_regrind_pct)
    await _refuse_cycle(session, BomSpec(None, product.id, data.output_quantity, data.expected_scrap_pct, tuple(
        LineSpec(v.id, v.product_id, line.quantity, line.is_regrind) for v, line in lines)))
    bom = Bom(product_id=product.id, version=await repository.next_bom_version(session, product.id), name=data.name,
              stage=data.stage, output_quantity=data.output_quantity, expected_scrap_pct=data.expected_scrap_pct,
              max_regrind_pct=data.max_regrind_pct, note=data.note, created_by=user_id, is_active=True,
              is_default=False, lines=[BomLine(line_no=n, variant_id=v.id, quantity=line.quantity,
                                               is_regrind=line.is_regrind, note=line.note)
                                       for n, (v, line) in enumerate(lines, 1)])
    session.add(bom)
    await session.flush()
    if data.make_default or (data.make_default is None and await default_bom(session, product.id) is None):
        await _make_default(session, bom)
        await session.flush()
    await session.refresh(bom)
    return bom


async def update_bom(session: AsyncSession, bom_id: uuid.UUID, patch: BomPatch) -> Bom:
    """Rename or annotate a version; its lines and figures never change (post a new version)."""
    bom = await get_bom(session, bom_id)
    for key, value in patch.model_dump(exclude_unset=True).items():
        setattr(bom, key, value)
    await session.flush()
    await session.refresh(bom)
    return bom


async def _locked_bom(session: AsyncSession, bom_id: uuid.UUID) -> Bom:
    await repository.lock(session, BOM_LOCK)
    bom = await repository.bom_for_update(session, bom_id)
    if bom is None:
        raise NotFound("BOM not found")
    return bom


async def activate_bom(session: AsyncSession, bom_id: uuid.UUID) -> Bom:
    """archived -> active (usable by new orders and routes again)."""
    bom = await _locked_bom(session, bom_id)
    if bom.is_active:
        raise Conflict(f"BOM version {bom.version} is already active (allowed: archive, make-default)")
    bom.is_active = True
    await session.flush()
    await session.refresh(bom)
    return bom


async def archive_bom(session: AsyncSession, bom_id: uuid.UUID) -> Bom:
    """active -> archived; archiving the default leaves the product without a default BOM."""
    bom = await _locked_bom(session, bom_id)
    if not bom.is_active:
        raise Conflict(f"BOM version {bom.version} is already archived (allowed: activate)")
    bom.is_active = False
    bom.is_default = False
    await session.flush()
    await session.refresh(bom)
    return bom


async def make_default_bom(session: AsyncSession, bom_id: uuid.UUID) -> Bom:
    """Make an active version the product's default (the cycle check runs against today's defaults)."""
    bom = await _locked_bom(session, bom_id)
    if not bom.is_active:
        raise Conflict(f"BOM version {bom.version} is archived (allowed: activate, then make-default)")
    if bom.is_default:
        raise Conflict(f"BOM version {bom.version} is already the default (allowed: archive)")
    mapping = await repository.variant_products(session, {line.variant_id for line in bom.lines})
    await _refuse_cycle(session, spec_of(bom, mapping))
    await _make_default(session, bom)
    await session.flush()
    await session.refresh(bom)
    return bom


async def explode_bom(session: AsyncSession, bom_id: uuid.UUID, quantity: Decimal | None) -> dict:
    """The raw-material requirement of `quantity` (default: the BOM's output) of the BOM's product, through the
    default BOMs below it."""
    bom = await get_bom(session, bom_id)
    quantity = bom.output_quantity if quantity is None else quantity
    mapping = await repository.variant_products(session, {line.variant_id for line in bom.lines})
    root = spec_of(bom, mapping)
    defaults = await load_default_specs(session, {line.product_id for line in root.lines})
    defaults.pop(root.product_id, None)
    try:
        result = explode(root, quantity, defaults)
    except BomCycle as cycle:  # only if defaults were changed outside this module
        skus = await repository.product_skus(session, set(cycle.chain))
        raise Conflict("the default BOMs loop: " + " -> ".join(skus.get(p, str(p)) for p in cycle.chain)) from None
    variants = await repository.variants_by_id(session, set(result.materials) | set(result.intermediates))

    def rows(needs) -> list[dict]:
        ordered = sorted(needs.values(), key=lambda n: (n.level, variants[n.variant_id].sku))
        return [{"variant_id": n.variant_id, "sku": variants[n.variant_id].sku, "name": variants[n.variant_id].name,
                 "unit": variants[n.variant_id].product.unit, "quantity": n.quantity, "level": n.level,
                 "bom_id": n.bom_id} for n in ordered]

    return {"bom_id": bom.id, "product_id": bom.product_id, "quantity": quantity,
            "materials": rows(result.materials), "intermediates": rows(result.intermediates)}
