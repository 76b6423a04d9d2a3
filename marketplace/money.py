"""Money: the one currency table, and every rule that depends on it.

Amounts are stored as whole numbers of a currency's minor unit (``*_minor`` columns): cents for
EUR, yen for JPY. How many digits a currency's minor unit has, how an amount is written, what it
is worth in euros: all of it is read from ``CURRENCIES`` here and nowhere else.

A code outside the table is a programming or data error, not a guess: every function raises
``UnknownCurrency`` (naming the code and the known ones). The profile editor offers exactly these
codes and validates against them, so stored amounts are always in a known currency.

Infrastructure: imports nothing from the domains.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


class MoneyError(ValueError):
    """An amount or currency these rules refuse; the message names what is wrong."""


class UnknownCurrency(MoneyError):
    def __init__(self, code: str | None) -> None:
        super().__init__(f"Unknown currency {code!r}: Balance handles {', '.join(CURRENCIES)}.")
        self.code = code


class NotAnAmount(MoneyError):
    def __init__(self, amount: object) -> None:
        super().__init__(f"{amount} is not an amount of money.")


class TooManyDecimals(MoneyError):
    def __init__(self, currency: Currency) -> None:
        super().__init__(f"{currency.code} amounts have at most {currency.digits} decimal places.")
        self.currency = currency


@dataclass(frozen=True)
class Currency:
    code: str  # ISO 4217
    name: str
    # Written before the amount ("€90") or, if ``symbol_after``, after it with a space ("90 CHF").
    symbol: str
    # ISO 4217 minor-unit digits, which are also the payment provider's amount units (Stripe's
    # "zero-decimal" currencies are the ISO 0-digit ones). Not ISK: ISO gives it no decimals, but
    # Stripe's API counts it in hundredths (100 = 1 króna, whole krónur only), so it would need a
    # scale between the two. HUF is two-decimal in both (Stripe pays it out in whole forints).
    digits: int
    # Approximate value of one major unit in euros. Only the directory's fee filter and sort use it
    # ("approx. €"); nobody is charged at this rate.
    eur_rate: Decimal
    symbol_after: bool = False

    @property
    def label(self) -> str:
        """What the profile editor's currency list shows: 'Euro (€)'."""
        return f"{self.name} ({self.symbol})"


def _table(*entries: Currency) -> dict[str, Currency]:
    return {entry.code: entry for entry in entries}


# The currencies a specialist may set a session fee in, in the editor's order.
CURRENCIES: dict[str, Currency] = _table(
    Currency("EUR", "Euro", "€", 2, Decimal("1.0")),
    Currency("USD", "US dollar", "$", 2, Decimal("0.92")),
    Currency("GBP", "Pound sterling", "£", 2, Decimal("1.17")),
    Currency("CHF", "Swiss franc", "CHF", 2, Decimal("1.05"), symbol_after=True),
    Currency("PLN", "Polish złoty", "zł", 2, Decimal("0.23"), symbol_after=True),
    Currency("CAD", "Canadian dollar", "CA$", 2, Decimal("0.68")),
    Currency("AUD", "Australian dollar", "A$", 2, Decimal("0.61")),
    Currency("JPY", "Japanese yen", "¥", 0, Decimal("0.0062")),
    Currency("SEK", "Swedish krona", "SEK", 2, Decimal("0.088"), symbol_after=True),
    Currency("NOK", "Norwegian krone", "NOK", 2, Decimal("0.086"), symbol_after=True),
    Currency("DKK", "Danish krone", "DKK", 2, Decimal("0.134"), symbol_after=True),
    Currency("CZK", "Czech koruna", "CZK", 2, Decimal("0.040"), symbol_after=True),
    Currency("UAH", "Ukrainian hryvnia", "UAH", 2, Decimal("0.022"), symbol_after=True),
    Currency("HUF", "Hungarian forint", "Ft", 2, Decimal("0.0025"), symbol_after=True),
    Currency("KRW", "South Korean won", "₩", 0, Decimal("0.00065")),
)
EUR = CURRENCIES["EUR"]


def currency(code: str | None) -> Currency:
    """The table's entry for ``code``; ``UnknownCurrency`` if it has none."""
    found = CURRENCIES.get(code or "")
    if found is None:
        raise UnknownCurrency(code)
    return found


def currency_choices() -> list[tuple[str, str]]:
    """(code, label) pairs for a currency select, in the table's order."""
    return [(entry.code, entry.label) for entry in CURRENCIES.values()]


def to_minor(amount: Decimal | int, code: str) -> int:
    """Major units to minor units, exactly: 95.5 EUR → 9550, 12000 JPY → 12000. More decimal places
    than the currency has (10.005 EUR, 1.5 JPY) raise ``TooManyDecimals``: never rounded silently."""
    entry = currency(code)
    if not Decimal(amount).is_finite():  # NaN, Infinity
        raise NotAnAmount(amount)
    minor = Decimal(amount).scaleb(entry.digits)
    if minor != minor.to_integral_value():
        raise TooManyDecimals(entry)
    return int(minor)


def to_major(amount_minor: int, code: str) -> Decimal:
    """Minor units to major units, exactly: 9550 EUR → Decimal('95.50'), 12000 JPY → Decimal('12000')."""
    return Decimal(amount_minor).scaleb(-currency(code).digits)


def to_eur_minor(amount_minor: int | None, code: str | None) -> int | None:
    """The approximate value of an amount in euro cents, rounded half up to the cent (for filtering
    and sorting fees across currencies); None for no amount."""
    if amount_minor is None:
        return None
    entry = currency(code)
    euros = Decimal(amount_minor).scaleb(-entry.digits) * entry.eur_rate
    return int(euros.scaleb(EUR.digits).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(amount_minor: int | None, code: str) -> str:
    """An amount as people read it: '€90', '€95.50', '¥12,000', '€1,250', '120 CHF', '-£5'.
    Whole amounts leave out the decimals; None is ''."""
    if amount_minor is None:
        return ""
    entry = currency(code)
    whole, part = divmod(abs(amount_minor), 10 ** entry.digits)
    number = f"{whole:,}" if part == 0 else f"{to_major(abs(amount_minor), code):,.{entry.digits}f}"
    sign = "-" if amount_minor < 0 else ""
    return f"{sign}{number} {entry.symbol}" if entry.symbol_after else f"{sign}{entry.symbol}{number}"
