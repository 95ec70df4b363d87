"""What the production pages share: the words for stages, priorities, scrap kinds and machine states in the
reader's language, the notices after a successful action, and small readers of ids and dates typed in URLs."""

from __future__ import annotations

import uuid
from datetime import date

from polyflow.erp.models.floor import DOWNTIME_REASONS, MACHINE_STATES, MACHINE_TYPES, STAGES
from polyflow.erp.models.production import ORDER_STATES, PRIORITIES, SCRAP_KINDS
from polyflow.kit.errors import InvalidInput, NotFound
from polyflow.web.i18n import _

# English msgids per value (translated when shown; the .po of the area carries the Indonesian).
STAGE_LABELS = {
    "mixing": "Mixing", "extrusion": "Extrusion", "weaving": "Weaving", "lamination": "Lamination",
    "printing": "Printing", "cutting_sewing": "Cutting and sewing", "packing": "Packing", "rework": "Rework",
    "granulating": "Granulating",
}
PRIORITY_LABELS = {"low": "Low", "normal": "Normal", "high": "High", "urgent": "Urgent"}
SCRAP_LABELS = {"daun": "Daun (edge trim)", "prongkol": "Prongkol (lumps)", "off_spec": "Off-spec",
                "other": "Other scrap"}
MACHINE_TYPE_LABELS = {
    "mixer": "Mixer", "extruder": "Extruder", "loom": "Loom", "laminator": "Laminator", "printer": "Printer",
    "cutting_sewing": "Cutting and sewing", "packer": "Packer", "granulator": "Granulator",
}
MACHINE_STATE_LABELS = {"active": "Active", "maintenance": "Maintenance", "breakdown": "Breakdown",
                        "retired": "Retired"}
DOWNTIME_LABELS = {
    "breakdown": "Breakdown", "changeover": "Changeover", "maintenance": "Maintenance",
    "no_material": "No material", "no_operator": "No operator", "power": "Power cut", "quality": "Quality stop",
    "other": "Other",
}
ORDER_STEPS = (("draft", "Draft"), ("released", "Released"), ("in_progress", "In progress"),
               ("completed", "Completed"))
assert set(STAGE_LABELS) == set(STAGES) and set(PRIORITY_LABELS) == set(PRIORITIES)
assert set(SCRAP_LABELS) == set(SCRAP_KINDS) and set(MACHINE_TYPE_LABELS) == set(MACHINE_TYPES)
assert set(MACHINE_STATE_LABELS) == set(MACHINE_STATES) and set(DOWNTIME_LABELS) == set(DOWNTIME_REASONS)
assert {k for k, _label in ORDER_STEPS} | {"cancelled"} == set(ORDER_STATES)

# ?done=<code> after a successful POST -> the notice shown (never the user's own text).
NOTICES = {
    "released": "The order is released.",
    "run_released": "The run is released: its orders are numbered.",
    "run_created": "The run is created with one draft order per route step.",
    "run_cancelled": "The run is cancelled.",
    "issued": "Material issued to the order.",
    "returned": "Material returned from the order.",
    "output": "Output recorded.",
    "scrap": "Scrap recorded.",
    "voided": "The execution is voided.",
    "closed": "The order is closed.",
    "cancelled": "The order is cancelled.",
    "downtime": "Downtime recorded.",
    "downtime_ended": "Downtime ended.",
}


def label(table: dict[str, str], value: str | None) -> str:
    """A value's word in the reader's language ('' for None, the raw value when unknown)."""
    if value is None:
        return ""
    english = table.get(value)
    return _(english) if english else value.replace("_", " ")


def options(table: dict[str, str]) -> list[tuple[str, str]]:
    """(value, translated label) pairs for a select."""
    return [(key, _(english)) for key, english in table.items()]


def notice(code: str | None) -> str | None:
    english = NOTICES.get(code or "")
    return _(english) if english else None


def id_from_path(value: str, missing: str) -> uuid.UUID:
    """An id from the URL; anything that is not one is the same 404 as an unknown id."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(missing) from None


def maybe_uuid(value: str | None) -> uuid.UUID | None:
    """A filter's id, or None when empty or not an id (a stale link just shows everything)."""
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def query_date(value: str | None, name: str) -> date | None:
    """A date from the query string (YYYY-MM-DD); anything else is a 422 naming the field."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(_("%(field)s is not a date (YYYY-MM-DD)", field=name)) from None
