"""Reference data every plastic-converting plant starts with: units and default locations."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert

from polyflow.erp.models import Location, Unit
from polyflow.erp.seeds import SeedContext, register

UNITS = (
    ("KG", "Kilogram", "mass"),
    ("G", "Gram", "mass"),
    ("TON", "Ton", "mass"),
    ("ROLL", "Roll", "package"),
    ("BAL", "Bal (bale)", "package"),
    ("ZAK", "Zak (sack)", "package"),
    ("KARTON", "Karton (carton)", "package"),
    ("PCS", "Pieces", "count"),
    ("LBR", "Lembar (sheet)", "count"),
    ("M", "Meter", "length"),
    ("METER", "Meter", "length"),  # the spelling the floor writes on roll labels; M stays for existing data
    ("M2", "Square metre", "area"),
    ("L", "Litre", "volume"),
)

LOCATIONS = (
    ("RM-WH", "Raw-material warehouse", "warehouse"),
    ("MIXING", "Mixing area", "production"),
    ("EXTRUSION", "Extrusion", "production"),
    ("FG-WH", "Finished-goods warehouse", "warehouse"),
    ("SCRAP-WH", "Scrap warehouse", "scrap"),
)


@register("units")
async def seed_units(session, ctx: SeedContext) -> None:
    await session.execute(
        insert(Unit).values([{"code": c, "name": n, "kind": k} for c, n, k in UNITS]).on_conflict_do_nothing()
    )


@register("locations")
async def seed_locations(session, ctx: SeedContext) -> None:
    import uuid

    rows = [{"id": uuid.uuid4(), "code": c, "name": n, "kind": k} for c, n, k in LOCATIONS]
    await session.execute(insert(Location).values(rows).on_conflict_do_nothing(index_elements=["code"]))
