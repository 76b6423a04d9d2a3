"""Demo specialists: the 24 hand-written profiles, plus N generated ones in bulk (benchmarks).

Idempotent: profiles whose slug exists are reused, not duplicated. Each profile's weekly hours
go to ``ctx.extra["weekly_hours"][profile_id]`` for the consultations seeder.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, insert, select

from marketplace.auth.models import Role, User, find_user_by_email
from marketplace.auth.services import hash_password
from marketplace.database import utcnow
from marketplace.demo import content
from marketplace.demo.registry import DemoContext, demo_seeder
from marketplace.extensions import db
from marketplace.money import to_eur_minor
from marketplace.specialists.models import (
    Approach,
    Format,
    Language,
    ProfileViewWeek,
    SpecialistProfile,
    Specialty,
    VerificationStatus,
    VocabularyMixin,
    profile_approaches,
    profile_formats,
    profile_languages,
    profile_specialties,
)
from marketplace.specialists.search import profile_search_text
from marketplace.specialists.services import ensure_vocabularies
from marketplace.specialists.vocabulary import (
    APPROACHES,
    LANGUAGES,
    SPECIALTIES,
)
from marketplace.text import render_markdown
from marketplace.weeks import monday_of

log = logging.getLogger(__name__)
BULK_BATCH = 2000

# spec key -> (vocabulary model, link table, link column name)
_LINKS: dict[str, tuple[type[VocabularyMixin], Table, str]] = {
    "specialties": (Specialty, profile_specialties, "specialty_id"),
    "approaches": (Approach, profile_approaches, "approach_id"),
    "languages": (Language, profile_languages, "language_id"),
    "formats": (Format, profile_formats, "format_id"),
}
_PROFILE_KEYS = (
    "slug", "display_name", "title", "licence_type", "licence_number", "licence_jurisdiction", "years_of_practice",
    "city", "country", "timezone", "fee_minor", "currency", "offers_free_consultation", "accepting_new_clients",
    "bio_markdown", "video_link", "address",
)


_LABELS = {"specialties": dict(SPECIALTIES), "approaches": dict(APPROACHES), "languages": dict(LANGUAGES)}


def demo_email(slug: str) -> str:
    return f"{slug}@balance.example"


_BOLD = re.compile(r"\*\*([^*<>&]+)\*\*")
_MARKDOWN_SYNTAX = set("*_`[]<>&#\\!\n")


def bio_html(markdown_text: str) -> str:
    """``render_markdown`` for bios, with a fast path for the generator's one-paragraph bios
    (plain sentences with **bold**); 10,000 full renders would take most of a minute.
    A unit test checks both paths agree on generated bios."""
    plain = _BOLD.sub(r"\1", markdown_text)
    if plain[:1].isalpha() and not (set(plain) & _MARKDOWN_SYNTAX):
        return "<p>" + _BOLD.sub(r"<strong>\1</strong>", markdown_text) + "</p>"
    return str(render_markdown(markdown_text))


def _profile_values(spec: dict[str, Any], now: Any) -> dict[str, Any]:
    values = {key: spec[key] for key in _PROFILE_KEYS}
    values.update(
        bio_html=bio_html(spec["bio_markdown"]),
        fee_eur_minor=to_eur_minor(spec["fee_minor"], spec["currency"]),
        verification_status=(VerificationStatus.VERIFIED if spec["verified"] else
                             VerificationStatus.REJECTED if spec["slug"] in content.REJECTED_LICENCES else
                             VerificationStatus.PENDING),
        verification_note=content.REJECTED_LICENCES.get(spec["slug"]),
        verified_at=now if spec["verified"] else None,
        is_published=True,
        published_at=now,
        # The ORM recomputes it for the hand-written profiles; the bulk insert (Core) relies on this.
        search_text=profile_search_text(
            display_name=spec["display_name"], title=spec["title"], city=spec["city"], country=spec["country"],
            bio=spec["bio_markdown"], **{key: [labels[slug] for slug in spec[key]] for key, labels in _LABELS.items()}),
    )
    return values


def _vocabulary_ids() -> dict[str, dict[str, int]]:
    return {key: dict(db.session.execute(select(model.slug, model.id)).all())
            for key, (model, _table, _column) in _LINKS.items()}


@demo_seeder(order=10)
def seed_specialists(ctx: DemoContext) -> None:
    """The hand-written specialists (complete, published, verified per the data)."""
    ensure_vocabularies()
    password_hash = hash_password(ctx.password)
    vocab = {key: {v.slug: v for v in db.session.scalars(select(model))} for key, (model, _t, _c) in _LINKS.items()}
    existing = {p.slug: p for p in db.session.scalars(
        select(SpecialistProfile).where(SpecialistProfile.slug.in_([s["slug"] for s in content.SPECIALISTS])))}
    weekly_hours = ctx.extra.setdefault("weekly_hours", {})
    now = utcnow()
    seeded = []
    for spec in content.SPECIALISTS:
        profile = existing.get(spec["slug"])
        if profile is None:
            user = find_user_by_email(demo_email(spec["slug"])) or User(
                email=demo_email(spec["slug"]), password_hash=password_hash, role=Role.SPECIALIST,
                display_name=spec["display_name"], timezone=spec["timezone"], email_confirmed_at=now)
            profile = SpecialistProfile(user=user, **_profile_values(spec, now))
            for key in _LINKS:
                setattr(profile, key, [vocab[key][slug] for slug in spec[key]])
            db.session.add(profile)
        seeded.append((profile, spec))
    db.session.flush()
    for profile, spec in seeded:
        ctx.profiles.append(profile)
        ctx.specialist_users.append(profile.user)
        weekly_hours[profile.id] = list(spec["weekly_hours"])
    bulk = int(ctx.extra.get("bulk") or 0)
    if bulk > 0:
        insert_bulk_specialists(content.generate_specialists(bulk), password_hash=password_hash,
                                weekly_hours=weekly_hours)


def insert_bulk_specialists(specs: Iterable[dict[str, Any]], *, password_hash: str,
                            weekly_hours: dict[int, Any] | None = None) -> int:
    """Insert generated specialists with executemany batches (users, profiles, link tables).

    Skips slugs that exist. Returns how many were inserted. 10,000 take a few seconds.
    """
    started = time.monotonic()
    vocab_ids = _vocabulary_ids()
    taken = set(db.session.scalars(select(SpecialistProfile.slug)))
    inserted = 0
    batch: list[dict[str, Any]] = []
    for spec in specs:
        if spec["slug"] in taken:
            continue
        taken.add(spec["slug"])
        batch.append(spec)
        if len(batch) >= BULK_BATCH:
            inserted += _insert_batch(batch, password_hash, vocab_ids, weekly_hours)
            batch = []
    if batch:
        inserted += _insert_batch(batch, password_hash, vocab_ids, weekly_hours)
    log.info("inserted %s demo specialists in %.1fs", inserted, time.monotonic() - started)
    return inserted


def _insert_batch(batch: list[dict[str, Any]], password_hash: str, vocab_ids: dict[str, dict[str, int]],
                  weekly_hours: dict[int, Any] | None) -> int:
    now = utcnow()
    user_rows = [dict(email=demo_email(spec["slug"]), password_hash=password_hash, role=Role.SPECIALIST,
                      display_name=spec["display_name"], timezone=spec["timezone"], auth_version=1, active=True,
                      created_at=now, email_confirmed_at=now) for spec in batch]
    # Plain executemany (Core, no RETURNING): the fastest bulk path on both drivers. Ids are read
    # back by their unique keys in one query each.
    users, profiles = User.__table__, SpecialistProfile.__table__
    db.session.execute(insert(users), user_rows)
    emails = [row["email"] for row in user_rows]
    user_id_by_email = dict(db.session.execute(
        select(users.c.email, users.c.id).where(users.c.email.in_(emails))).all())
    profile_rows = [dict(_profile_values(spec, now), user_id=user_id_by_email[demo_email(spec["slug"])],
                         session_minutes=50, created_at=now, updated_at=now, version_id=1) for spec in batch]
    db.session.execute(insert(profiles), profile_rows)
    slugs = [spec["slug"] for spec in batch]
    id_by_slug = dict(db.session.execute(
        select(profiles.c.slug, profiles.c.id).where(profiles.c.slug.in_(slugs))).all())
    profile_ids = [id_by_slug[slug] for slug in slugs]
    for key, (_model, table, column) in _LINKS.items():
        rows = [{"profile_id": pid, column: vocab_ids[key][slug]}
                for spec, pid in zip(batch, profile_ids, strict=True) for slug in spec[key]]
        db.session.execute(insert(table), rows)
    if weekly_hours is not None:
        for spec, pid in zip(batch, profile_ids, strict=True):
            weekly_hours[pid] = list(spec["weekly_hours"])
    return len(batch)


DEMO_VIEW_WEEKS = 26
DEMO_VIEW_PROFILES = 50


@demo_seeder(order=15)
def seed_profile_views(ctx: DemoContext) -> None:
    """Weekly profile views for the demo specialists (the funnel chart has something to show);
    deterministic, added once."""
    ids = [p.id for p in ctx.profiles[:DEMO_VIEW_PROFILES]]
    if not ids or db.session.scalar(select(ProfileViewWeek.profile_id).where(ProfileViewWeek.profile_id.in_(ids))
                                    .limit(1)) is not None:
        return
    this_monday = monday_of(utcnow().date())
    for n, profile_id in enumerate(ids):
        for week in range(DEMO_VIEW_WEEKS):
            views = 20 + (n * 7 + week * 5) % 23 + week  # growing, with some wobble
            db.session.add(ProfileViewWeek(profile_id=profile_id,
                                           week_start=this_monday - timedelta(weeks=DEMO_VIEW_WEEKS - 1 - week),
                                           views=views))
    db.session.flush()
