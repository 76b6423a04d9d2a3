"""The fixed vocabularies of profiles (seeded by migration; ensured idempotently)."""
from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.specialists.models import Approach, Format, Language, Specialty

SPECIALTIES = [
    ("anxiety", "Anxiety"), ("depression", "Depression"), ("relationships", "Relationships"),
    ("trauma", "Trauma & PTSD"), ("stress", "Stress & burnout"), ("grief", "Grief & loss"),
    ("self-esteem", "Self-esteem"), ("addiction", "Addiction"), ("eating", "Eating disorders"),
    ("ocd", "OCD"), ("family", "Family & parenting"), ("lgbtq", "LGBTQ+ issues"),
    ("sleep", "Sleep problems"), ("adhd", "ADHD"),
]
APPROACHES = [
    ("cbt", "Cognitive behavioural therapy (CBT)"), ("psychodynamic", "Psychodynamic"),
    ("humanistic", "Humanistic / person-centred"), ("act", "Acceptance and commitment therapy (ACT)"),
    ("emdr", "EMDR"), ("dbt", "Dialectical behaviour therapy (DBT)"),
    ("systemic", "Systemic / family therapy"), ("gestalt", "Gestalt"), ("schema", "Schema therapy"),
    ("integrative", "Integrative"),
]
LANGUAGES = [
    ("en", "English"), ("de", "German"), ("fr", "French"), ("es", "Spanish"), ("it", "Italian"),
    ("pl", "Polish"), ("uk", "Ukrainian"), ("ru", "Russian"), ("pt", "Portuguese"), ("nl", "Dutch"),
    ("tr", "Turkish"), ("ar", "Arabic"),
]
FORMATS = [("video", "Video"), ("phone", "Phone"), ("in_person", "In person")]

VOCABULARIES = ((Specialty, SPECIALTIES), (Approach, APPROACHES), (Language, LANGUAGES), (Format, FORMATS))


def ensure_vocabularies() -> None:
    """Insert any missing vocabulary rows (idempotent)."""
    for model, entries in VOCABULARIES:
        existing = set(db.session.scalars(select(model.slug)))
        for slug, label in entries:
            if slug not in existing:
                db.session.add(model(slug=slug, label=label))
    db.session.flush()
