"""The one money rule (marketplace.money): digits, formatting, exact conversion to and from minor
units, the approximate euro value, and what happens to a currency outside the table."""
from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace import money
from marketplace.money import (
    CURRENCIES,
    NotAnAmount,
    TooManyDecimals,
    UnknownCurrency,
    currency_choices,
    format_money,
    to_eur_minor,
    to_major,
    to_minor,
)

# ISO 4217 currencies whose minor unit has no digits, or three: the reference any table entry must follow.
ISO_ZERO_DIGITS = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
                   "XAF", "XOF", "XPF"}
ISO_THREE_DIGITS = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}


def test_every_currency_has_its_iso_digits() -> None:
    for code, entry in CURRENCIES.items():
        assert entry.code == code and len(code) == 3 and code.isupper()
        expected = 0 if code in ISO_ZERO_DIGITS else 3 if code in ISO_THREE_DIGITS else 2
        assert entry.digits == expected, code
        assert entry.eur_rate > 0, code
    assert CURRENCIES["JPY"].digits == 0 and CURRENCIES["EUR"].eur_rate == 1


@pytest.mark.parametrize(("amount", "code", "text"), [
    (9000, "EUR", "€90"),  # whole amounts leave the decimals out
    (9550, "EUR", "€95.50"),
    (5, "EUR", "€0.05"),
    (125000, "EUR", "€1,250"),
    (123456789, "USD", "$1,234,567.89"),
    (6000, "GBP", "£60"),
    (12000, "JPY", "¥12,000"),  # zero-decimal: 12,000 yen, not ¥120
    (1, "JPY", "¥1"),
    (50000, "KRW", "₩50,000"),  # zero-decimal too
    (1500000, "HUF", "15,000 Ft"),
    (12000, "CHF", "120 CHF"),  # symbol after the amount
    (15050, "PLN", "150.50 zł"),
    (-500, "GBP", "-£5"),
    (0, "EUR", "€0"),
    (None, "EUR", ""),
])
def test_format_money(amount: int | None, code: str, text: str) -> None:
    assert format_money(amount, code) == text


def test_to_minor_is_exact() -> None:
    assert to_minor(Decimal("95.5"), "EUR") == 9550
    assert to_minor(Decimal("0.01"), "EUR") == 1
    assert to_minor(90, "EUR") == 9000
    assert to_minor(Decimal("12000"), "JPY") == 12000
    assert to_minor(Decimal("12000.00"), "JPY") == 12000  # trailing zeros are not decimals


@pytest.mark.parametrize(("amount", "code"), [(Decimal("10.005"), "EUR"), (Decimal("1.5"), "JPY"),
                                              (Decimal("0.001"), "USD")])
def test_to_minor_never_rounds(amount: Decimal, code: str) -> None:
    with pytest.raises(TooManyDecimals, match=f"{code} amounts have at most {CURRENCIES[code].digits} decimal"):
        to_minor(amount, code)


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_to_minor_refuses_what_is_not_an_amount(amount: Decimal) -> None:
    with pytest.raises(NotAnAmount):
        to_minor(amount, "EUR")


def test_minor_and_major_round_trip_in_every_currency() -> None:
    for code in CURRENCIES:
        for minor in (0, 1, 99, 9550, 1234567):
            assert to_minor(to_major(minor, code), code) == minor, code
    assert to_major(9550, "EUR") == Decimal("95.50") and to_major(12000, "JPY") == Decimal("12000")


def test_to_eur_minor() -> None:
    assert to_eur_minor(9000, "EUR") == 9000
    assert to_eur_minor(10000, "JPY") == 6200  # ¥10,000 ≈ €62
    assert to_eur_minor(6000, "GBP") == 7020  # £60 ≈ €70.20
    assert to_eur_minor(None, "EUR") is None
    assert to_eur_minor(None, None) is None  # no amount: nothing to convert


def test_to_eur_minor_rounds_half_up_to_the_cent() -> None:
    # Exactly half a cent: decimal arithmetic, half up (binary floats and half-even would give 58 and 46).
    assert to_eur_minor(50, "GBP") == 59  # £0.50 × 1.17 = €0.585
    assert to_eur_minor(75, "JPY") == 47  # ¥75 × 0.0062 = €0.465


@pytest.mark.parametrize("call", [
    lambda: format_money(100, "ISK"),  # (see money.Currency: Stripe counts it in hundredths)
    lambda: to_minor(Decimal(1), "BRL"),
    lambda: to_major(1, "XYZ"),
    lambda: to_eur_minor(100, "eur"),  # codes are upper case, as stored
    lambda: to_eur_minor(100, None),  # an amount without a currency
])
def test_an_unknown_currency_is_a_clear_error(call) -> None:
    with pytest.raises(UnknownCurrency, match="Unknown currency .*: Balance handles EUR, USD"):
        call()
    assert issubclass(UnknownCurrency, ValueError)


def test_choices_are_the_table_in_order() -> None:
    assert currency_choices()[:3] == [("EUR", "Euro (€)"), ("USD", "US dollar ($)"), ("GBP", "Pound sterling (£)")]
    assert [code for code, _label in currency_choices()] == list(CURRENCIES)
    assert dict(currency_choices())["CHF"] == "Swiss franc (CHF)"


def test_money_is_infrastructure() -> None:
    """It imports nothing of the application (the domains depend on it, never the reverse)."""
    source = open(money.__file__, encoding="utf-8").read()
    assert "import marketplace" not in source and "from marketplace" not in source
