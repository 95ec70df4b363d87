"""How pages write numbers, money and times: in the reader's language (Bahasa Indonesia "1.250,5", English
"1,250.5"), money as whole rupiah ("Rp 1.234.567"), and every moment in the workspace's time zone with its
Indonesian name (WIB, WITA, WIT).

The time zone of a request is set by the page plumbing (`use_zone`) from the tenant's settings.
"""

from __future__ import annotations

import contextvars
from datetime import date as date_type
from datetime import datetime as datetime_type
from datetime import timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from babel.dates import format_date

from polyflow.web.i18n import _, babel_locale, current_lang, gettext

DEFAULT_ZONE = "Asia/Jakarta"
# The zones of Indonesia by their everyday names; other zones show their UTC offset.
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
ZONE_CHOICES = (("Asia/Jakarta", "WIB (Asia/Jakarta)"), ("Asia/Makassar", "WITA (Asia/Makassar)"),
                ("Asia/Jayapura", "WIT (Asia/Jayapura)"))

_zone: contextvars.ContextVar[str] = contextvars.ContextVar("polyflow_zone", default=DEFAULT_ZONE)


def use_zone(name: str | None) -> None:
    try:
        ZoneInfo(name or DEFAULT_ZONE)
        _zone.set(name or DEFAULT_ZONE)
    except (KeyError, ValueError):
        _zone.set(DEFAULT_ZONE)


def zone() -> ZoneInfo:
    return ZoneInfo(_zone.get())


def zone_name() -> str:
    name = _zone.get()
    if name in ZONE_NAMES:
        return ZONE_NAMES[name]
    offset = datetime_type.now(ZoneInfo(name)).strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}"


def _separators() -> tuple[str, str]:
    """(thousands, decimal) of this request's language."""
    return (".", ",") if current_lang() == "id" else (",", ".")


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        out = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return out if out.is_finite() else None


def num(value, places: int | None = None, *, group: bool = True) -> str:
    """A number in the reader's language; `places` fixes the decimals, None keeps them without trailing zeros."""
    d = _decimal(value)
    if d is None:
        return ""
    if places is not None:
        d = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        text = f"{abs(d):,.{places}f}" if group else f"{abs(d):.{places}f}"
    else:
        text = f"{abs(d):,f}" if group else f"{abs(d):f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    thousands, decimal = _separators()
    text = text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)
    return ("-" if d < 0 and text.strip("0.,") else "") + text


def qty(value) -> str:
    """A quantity: no trailing zeros ("1.250,5")."""
    return num(value)


def rupiah(value) -> str:
    """Money as whole rupiah: "Rp 1.234.567", "-Rp 1.234" (rounded half up)."""
    d = _decimal(value)
    if d is None:
        return ""
    text = num(abs(d), 0)
    return f"-Rp {text}" if d.quantize(Decimal(1), rounding=ROUND_HALF_UP) < 0 else f"Rp {text}"


def money(value) -> str:
    """Alias of `rupiah` for templates written before it."""
    return rupiah(value)


def pct(value, places: int = 1) -> str:
    """A percentage given as a percent figure (12.5 -> "12,5%")."""
    text = num(value, places)
    return f"{text}%" if text else ""


def ratio_pct(value, places: int = 1) -> str:
    """A ratio given as a fraction (0.125 -> "12,5%")."""
    d = _decimal(value)
    return "" if d is None else pct(d * 100, places)


def date(value) -> str:
    """A date the reader's way: "29 Nov 2026" (Bahasa: "29 Nov 2026", months in Indonesian)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime_type):
        value = local(value).date()
    if not isinstance(value, date_type):
        return str(value)
    return format_date(value, "d MMM y", locale=babel_locale())


def local(moment: datetime_type) -> datetime_type:
    """`moment` in the workspace's zone (a naive moment is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone())


def datetime(value) -> str:
    """A moment in the workspace's zone: "29 Nov 2026 21.40 WIB" (English "29 Nov 2026 21:40 WIB")."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime_type):
        return date(value)
    moment = local(value)
    clock = moment.strftime("%H.%M") if current_lang() == "id" else moment.strftime("%H:%M")
    return f"{date(moment.date())} {clock} {zone_name()}"


def input_num(value) -> str:
    """A number to put back into an input, in the reader's language, without grouping ("1250,5")."""
    return num(value, group=False)


def iso(value) -> str:
    """A date for an <input type=date> (YYYY-MM-DD)."""
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date_type) else str(value)


# Status words shared by every document (the English value -> the label in the reader's language).
STATUS_LABELS = {
    "draft": "Draft", "confirmed": "Confirmed", "approved": "Approved", "posted": "Posted", "open": "Open",
    "closed": "Closed", "cancelled": "Cancelled", "void": "Void", "voided": "Voided", "paid": "Paid",
    "partially_paid": "Partially paid", "unpaid": "Unpaid", "released": "Released", "in_progress": "In progress",
    "completed": "Completed", "done": "Done", "received": "Received", "partially_received": "Partially received",
    "delivered": "Delivered", "partially_delivered": "Partially delivered", "invoiced": "Invoiced",
    "submitted": "Submitted", "rejected": "Rejected", "proposed": "Proposed", "superseded": "Superseded",
    "active": "Active", "inactive": "Inactive", "pending": "Pending", "reversed": "Reversed", "running": "Running",
    "idle": "Idle", "maintenance": "Maintenance", "broken": "Broken", "counting": "Counting", "passed": "Passed",
    "failed": "Failed", "quarantine": "Quarantine", "sent": "Sent", "ordered": "Ordered", "counted": "Counted",
    "available": "Available", "consumed": "Consumed",
}


def status_label(value: Any) -> str:
    key = str(getattr(value, "value", value))
    english = STATUS_LABELS.get(key)
    return _(english) if english else key.replace("_", " ")


def tr(text: Any) -> str:
    """A label that may come from data (a filter option: a partner's or location's name) in the reader's language:
    a plain str, so Jinja escapes it, and never a format string (unlike the template `_()`, whose result is
    Markup and is %-formatted: a name with '<' ran as markup, one with '%' was a 500)."""
    return gettext(str(text))


GLOBALS = {"tr": tr, "status_label": status_label, "rupiah": rupiah, "money": money, "num": num, "qty": qty, "pct": pct, "ratio_pct": ratio_pct,
           "date": date, "datetime": datetime, "input_num": input_num, "iso": iso, "zone_name": zone_name}


def today() -> date_type:
    """Today's date in the workspace's time zone (the default date of a new document)."""
    return datetime_type.now(zone()).date()
