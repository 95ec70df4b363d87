"""An amount in Indonesian words ("terbilang"), as invoices, receipts (kwitansi) and cheques write it:
1.250.000 -> "satu juta dua ratus lima puluh ribu rupiah". Whole rupiah; negative amounts are refused."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_UNITS = ("", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh", "sebelas")
_SCALES = ((10**12, "triliun"), (10**9, "miliar"), (10**6, "juta"))


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds == 1:
        words.append("seratus")
    elif hundreds:
        words += [_UNITS[hundreds], "ratus"]
    if rest < 12:
        if rest:
            words.append(_UNITS[rest])
    elif rest < 20:
        words += [_UNITS[rest - 10], "belas"]
    else:
        tens, ones = divmod(rest, 10)
        words += [_UNITS[tens], "puluh"]
        if ones:
            words.append(_UNITS[ones])
    return words


def words(n: int) -> str:
    """`n` (0 <= n < 10**15) in Indonesian words, without the currency."""
    if n < 0 or n >= 10**15:
        raise ValueError("terbilang covers 0 up to 999 triliun")
    if n == 0:
        return "nol"
    out: list[str] = []
    for scale, name in _SCALES:
        count, n = divmod(n, scale)
        if count:
            out += _below_thousand(count) + [name]
    thousands, n = divmod(n, 1000)
    if thousands == 1:
        out.append("seribu")  # 1.000 is "seribu", not "satu ribu"
    elif thousands:
        out += _below_thousand(thousands) + ["ribu"]
    out += _below_thousand(n)
    return " ".join(out)


def terbilang(amount: Decimal | int) -> str:
    """A rupiah amount in words, rounded to whole rupiah: "seribu lima ratus rupiah"."""
    whole = int(Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return f"{words(whole)} rupiah"
