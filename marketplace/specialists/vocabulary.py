"""The fixed vocabularies of profiles (seeded by migration; ensured idempotently), plus the
static choice lists the editor and the directory use (countries; currencies are
``marketplace.money``'s table).

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
