"""The fixed vocabularies of profiles (seeded by migration; ensured idempotently), plus the
static choice lists the editor and the directory use (currencies, countries).

The (slug, label) lists are the single source: ``marketplace.demo.content`` imports them, and
``specialists.services.ensure_vocabularies`` inserts them. No database access here.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

SPECIALTIES: list[tuple[str, str]] = [
    ("anxiety", "Anxiety"), ("depression", "Depression"), ("relationships", "Relationships"),
    ("trauma", "Trauma & PTSD"), ("stress", "Stress & burnout"), ("grief", "Grief & loss"),
    ("self-esteem", "Self-esteem"), ("addiction", "Addiction"), ("eating", "Eating disorders"),
    ("ocd", "OCD"), ("family", "Family & parenting"), ("lgbtq", "LGBTQ+ issues"),
    ("sleep", "Sleep problems"), ("adhd", "ADHD"),
]
APPROACHES: list[tuple[str, str]] = [
    ("cbt", "Cognitive behavioural therapy (CBT)"), ("psychodynamic", "Psychodynamic"),
    ("humanistic", "Humanistic / person-centred"), ("act", "Acceptance and commitment therapy (ACT)"),
    ("emdr", "EMDR"), ("dbt", "Dialectical behaviour therapy (DBT)"),
    ("systemic", "Systemic / family therapy"), ("gestalt", "Gestalt"), ("schema", "Schema therapy"),
    ("integrative", "Integrative"),
]
LANGUAGES: list[tuple[str, str]] = [
    ("en", "English"), ("de", "German"), ("fr", "French"), ("es", "Spanish"), ("it", "Italian"),
    ("pl", "Polish"), ("uk", "Ukrainian"), ("ru", "Russian"), ("pt", "Portuguese"), ("nl", "Dutch"),
    ("tr", "Turkish"), ("ar", "Arabic"),
]
FORMATS: list[tuple[str, str]] = [("video", "Video"), ("phone", "Phone"), ("in_person", "In person")]

# Session fee currencies: code -> (label, minor-unit digits, approximate EUR value of one unit).
# The EUR rate only drives the directory's fee-range filter across currencies ("approx. €").
CURRENCIES: dict[str, tuple[str, int, float]] = {
    "EUR": ("Euro (€)", 2, 1.0),
    "USD": ("US dollar ($)", 2, 0.92),
    "GBP": ("Pound sterling (£)", 2, 1.17),
    "CHF": ("Swiss franc (CHF)", 2, 1.05),
    "PLN": ("Polish złoty (zł)", 2, 0.23),
    "CAD": ("Canadian dollar (CA$)", 2, 0.68),
    "AUD": ("Australian dollar (A$)", 2, 0.61),
    "JPY": ("Japanese yen (¥)", 0, 0.0062),
    "SEK": ("Swedish krona (SEK)", 2, 0.088),
    "NOK": ("Norwegian krone (NOK)", 2, 0.086),
    "DKK": ("Danish krone (DKK)", 2, 0.134),
    "CZK": ("Czech koruna (CZK)", 2, 0.040),
    "UAH": ("Ukrainian hryvnia (UAH)", 2, 0.022),
}


def currency_digits(code: str) -> int:
    return CURRENCIES.get(code, ("", 2, 1.0))[1]


def fee_in_eur_cents(fee_minor: int | None, currency: str | None) -> int | None:
    """Approximate value of a fee in euro cents (for filtering fees across currencies)."""
    if fee_minor is None or not currency:
        return None
    _label, digits, rate = CURRENCIES.get(currency, ("", 2, 1.0))
    return round(fee_minor / (10 ** digits) * rate * 100)


@lru_cache(maxsize=1)
def countries() -> tuple[tuple[str, str], ...]:
    """ISO 3166-1 alpha-2 codes with English names, sorted by name (from the tzdata package)."""
    text = resources.files("tzdata").joinpath("zoneinfo/iso3166.tab").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _, name = line.partition("\t")
            rows.append((code.strip(), name.strip()))
    return tuple(sorted(rows, key=lambda row: row[1]))


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    return dict(countries())
