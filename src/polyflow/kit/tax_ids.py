"""Indonesian tax identity numbers: NPWP (16 digits), NIK (16 digits), NITKU (22 digits).

Pure validation in kit, so partners, tax and documents use it without importing one another.

Input may carry the usual separators ("01.234.567.8-901.000"); they are stripped and the bare digits
stored. A legacy 15-digit NPWP becomes the 16-digit one by a leading zero (the DJP's own conversion,
PMK 112/2022). NITKU = the 16-digit NPWP (or the NIK of an individual) + a 6-digit place-of-business
code, "000000" for the head office.
"""

from __future__ import annotations

import re

SEPARATORS = re.compile(r"[\s.\-/]")
HEAD_OFFICE = "000000"


def _digits(value: str, label: str) -> str:
    digits = SEPARATORS.sub("", value)
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"{label} may hold only digits (dots, dashes, slashes and spaces are ignored)")
    return digits


def npwp(value: str) -> str:
    """The 16-digit NPWP, or ValueError with the reason."""
    digits = _digits(value, "NPWP")
    if len(digits) == 15:
        digits = "0" + digits
    if len(digits) != 16:
        raise ValueError(f"NPWP must have 16 digits (or a legacy 15); this one has {len(digits)}")
    if set(digits) == {"0"}:
        raise ValueError("NPWP cannot be all zeros")
    return digits


def nik(value: str) -> str:
    """The 16-digit NIK, or ValueError with the reason."""
    digits = _digits(value, "NIK")
    if len(digits) != 16:
        raise ValueError(f"NIK must have 16 digits; this one has {len(digits)}")
    if set(digits) == {"0"}:
        raise ValueError("NIK cannot be all zeros")
    return digits


def nitku(value: str) -> str:
    """The 22-digit NITKU, or ValueError with the reason."""
    digits = _digits(value, "NITKU")
    if len(digits) != 22:
        raise ValueError(f"NITKU must have 22 digits (NPWP + 6-digit place of business); this one has {len(digits)}")
    return digits


def default_nitku(tin: str) -> str:
    """The head office's NITKU of a 16-digit NPWP or NIK."""
    return tin + HEAD_OFFICE
