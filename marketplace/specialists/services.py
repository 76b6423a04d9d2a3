"""Specialist profile services."""
from __future__ import annotations

from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.extensions import db
from marketplace.specialists.models import SpecialistProfile
from marketplace.text import slugify


def unique_profile_slug(name: str) -> str:
    base = slugify(name, max_length=60)
    taken = set(db.session.scalars(
        select(SpecialistProfile.slug).where(SpecialistProfile.slug.like(f"{base}%"))
    ))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def create_draft_profile(user: User) -> SpecialistProfile:
    """An unpublished profile for a new specialist account, in the user's time zone."""
    profile = SpecialistProfile(
        user=user,
        display_name=user.display_name,
        slug=unique_profile_slug(user.display_name),
        timezone=user.timezone or "UTC",
    )
    db.session.add(profile)
    db.session.flush()
    return profile
