"""Numbers typed by people: Indonesian "1.750" is one thousand seven hundred and fifty, "1.250,50" is 1250.5;
English "1,250.50". What was understood is shown back (by static/app.js as one types, and by the form after a
post), so a price never silently lands a thousand times too small.

Rules (Bahasa Indonesia; English swaps the two marks):
- both marks present: the last one is the decimal mark, the other must group by threes;
- only "." : thousands when it groups by threes ("1.750", "12.500.000"), else a decimal point ("1.5");
- only "," : the decimal mark ("1,5", "1250,50");
- spaces, "Rp" and a leading "+" are ignored; "-" in front makes it negative.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from polyflow.web.i18n import _, current_lang

# What the schemas (max_digits=18) and the NUMERIC(18, x) columns can hold: a longer number is refused here, next to
# its field, instead of failing later in a schema or the database (a 20-digit quantity was a 500 on a page).
MAX_DIGITS = 18
MAX_WHOLE_DIGITS = 15  # NUMERIC(18, 3) quantities keep 15 digits before the point (Rp 999 trillion is plenty)
_GROUPED = re.compile(r"^\d{1,3}(?:G\d{3})+$")


def _grouped(text: str, mark: str) -> bool:
    return bool(_GROUPED.match(text.replace(mark, "G")))


def parse_number(text: str, lang: str | None = None) -> Decimal:
    """The number in `text` (see the module's rules), or ValueError with a message for the person."""
    lang = lang or current_lang()
    raw = (text or "").strip()
    cleaned = re.sub(r"(?i)^rp\.?", "", raw.replace("\u00a0", " ").strip()).replace(" ", "")
    negative = cleaned.startswith("-")
    if cleaned[:1] in ("+", "-"):
        cleaned = cleaned[1:]  # one sign; "--1" stays wrong
    if not cleaned:
        raise ValueError(_("Enter a number"))
    if not re.fullmatch(r"[0-9.,]+", cleaned) or not re.search(r"\d", cleaned):
        raise ValueError(_("“%(text)s” is not a number", text=raw[:40]))
    group, point = (".", ",") if lang == "id" else (",", ".")
    if group in cleaned and point in cleaned:
        whole, _sep, frac = cleaned.rpartition(point)
        if cleaned.rfind(group) > cleaned.rfind(point) or not _grouped(whole, group) or not frac.isdigit():
            raise ValueError(_("“%(text)s” mixes thousands and decimal marks", text=raw[:40]))
        digits = whole.replace(group, "") + "." + frac
    elif group in cleaned:
        if _grouped(cleaned, group):
            digits = cleaned.replace(group, "")
        elif cleaned.count(group) == 1 and not cleaned.startswith(group) and not cleaned.endswith(group):
            digits = cleaned.replace(group, ".")  # "1.5": a decimal point typed the other way
        else:
            raise ValueError(_("“%(text)s” is not a number", text=raw[:40]))
    elif point in cleaned:
        if cleaned.count(point) != 1 or cleaned.endswith(point):
            raise ValueError(_("“%(text)s” is not a number", text=raw[:40]))
        digits = cleaned.replace(point, ".")
    else:
        digits = cleaned
    if digits.startswith("."):
        digits = "0" + digits
    if len(digits.replace(".", "")) > MAX_DIGITS or len(digits.split(".")[0].lstrip("0")) > MAX_WHOLE_DIGITS:
        raise ValueError(_("“%(text)s” is too long", text=raw[:40]))
    try:
        value = Decimal(digits)
    except InvalidOperation:
        raise ValueError(_("“%(text)s” is not a number", text=raw[:40])) from None
    return -value if negative else value
