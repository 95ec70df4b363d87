"""How pages read and write numbers, money, dates and amounts in words (Bahasa Indonesia and English)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polyflow.kit.terbilang import terbilang, words
from polyflow.web import fmt
from polyflow.web.i18n import use_lang
from polyflow.web.numbers import parse_number


@pytest.fixture(autouse=True)
def _reset():
    use_lang("id")
    fmt.use_zone("Asia/Jakarta")
    yield
    use_lang("id")
    fmt.use_zone("Asia/Jakarta")


@pytest.mark.parametrize("typed, expected", [
    ("1.750", "1750"), ("1.250,50", "1250.50"), ("12.500.000", "12500000"), ("1250,5", "1250.5"), ("0,5", "0.5"),
    ("Rp 21.780.000", "21780000"), ("-1.000", "-1000"), ("1.5", "1.5"), ("  7 ", "7"), (",5", "0.5"),
])
def test_indonesian_numbers(typed, expected):
    assert parse_number(typed, "id") == Decimal(expected)


@pytest.mark.parametrize("typed, expected", [("1,750", "1750"), ("1,250.50", "1250.50"), ("1250.5", "1250.5")])
def test_english_numbers(typed, expected):
    assert parse_number(typed, "en") == Decimal(expected)


@pytest.mark.parametrize("typed", ["", "abc", "1.2.3", "1,250.50", "1.25.0", "12,", "1e5", "--1", "1.750,5,5"])
def test_what_is_not_a_number_is_refused_with_a_message(typed):
    with pytest.raises(ValueError) as err:
        parse_number(typed, "id")
    assert str(err.value)


@given(st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False, allow_infinity=False),
       st.sampled_from(["id", "en"]))
def test_what_a_page_writes_reads_back_the_same(value, lang):
    use_lang(lang)
    assert parse_number(fmt.num(value), lang) == value
    assert parse_number(fmt.input_num(value), lang) == value


def test_money_and_quantities_in_the_readers_language():
    assert fmt.rupiah(Decimal("21780000")) == "Rp 21.780.000"
    assert fmt.rupiah(Decimal("-1234.5")) == "-Rp 1.235"
    assert fmt.rupiah(Decimal("0.4")) == "Rp 0"
    assert fmt.qty(Decimal("1250.500")) == "1.250,5"
    assert fmt.pct(Decimal("12.345")) == "12,3%"
    use_lang("en")
    assert fmt.rupiah(Decimal("21780000")) == "Rp 21,780,000"
    assert fmt.qty(Decimal("1250.500")) == "1,250.5"


def test_moments_in_the_workspace_zone_with_its_indonesian_name():
    moment = datetime(2026, 11, 29, 21, 40, tzinfo=timezone.utc)
    assert fmt.datetime(moment) == "30 Nov 2026 04.40 WIB"
    fmt.use_zone("Asia/Makassar")
    assert fmt.datetime(moment) == "30 Nov 2026 05.40 WITA"
    fmt.use_zone("Asia/Jayapura")
    assert fmt.datetime(moment).endswith("06.40 WIT")
    assert fmt.date(date(2026, 8, 17)) == "17 Agu 2026"  # Indonesian month names
    use_lang("en")
    assert fmt.date(date(2026, 8, 17)) == "17 Aug 2026"


@pytest.mark.parametrize("amount, text", [
    (0, "nol"), (11, "sebelas"), (15, "lima belas"), (100, "seratus"), (1000, "seribu"), (1100, "seribu seratus"),
    (2_775_000, "dua juta tujuh ratus tujuh puluh lima ribu"),
    (1_000_000_000, "satu miliar"), (101_011, "seratus satu ribu sebelas"),
])
def test_terbilang(amount, text):
    assert words(amount) == text
    assert terbilang(Decimal(amount)) == f"{text} rupiah"


def test_terbilang_refuses_negative_amounts():
    with pytest.raises(ValueError):
        words(-1)
