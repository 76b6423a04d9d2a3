"""Similar specialists: who else a client could talk to (after "not a fit", a no-show, or a
request that expired), and their soonest free times from the precomputed availability.

Similar = listed and offering the free consultation (``bookable_clause``), sharing at least one
specialty with the specialist, most shared specialties first, then soonest available. Specialists
the client has already had a consultation with (in any state) are left out.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from marketplace.consultations.availability import bookable_clause, bookable_slots
from marketplace.consultations.models import Consultation
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.specialists.models import SpecialistProfile, profile_specialties

SIMILAR_LIMIT = 3


def similar_specialists(specialist_id: int, *, client_id: int | None = None,
                        limit: int = SIMILAR_LIMIT) -> list[SpecialistProfile]:
    """Up to ``limit`` bookable specialists sharing a specialty with ``specialist_id`` (one query
    plus their specialties), most shared first, then soonest available; with ``client_id``, the
    ones that client already met are left out."""
    specialty_ids = select(profile_specialties.c.specialty_id).where(
        profile_specialties.c.profile_id == specialist_id)
    shared = (select(profile_specialties.c.profile_id, func.count().label("shared"))
              .where(profile_specialties.c.specialty_id.in_(specialty_ids))
              .group_by(profile_specialties.c.profile_id).subquery())
    query = (
        select(SpecialistProfile).join(shared, shared.c.profile_id == SpecialistProfile.id)
        .where(bookable_clause(), SpecialistProfile.id != specialist_id)
        .order_by(shared.c.shared.desc(), SpecialistProfile.next_available_at.is_(None),
                  SpecialistProfile.next_available_at, SpecialistProfile.display_name)
        .options(selectinload(SpecialistProfile.specialties))
        .limit(limit)
    )
    if client_id is not None:
        already_met = select(Consultation.specialist_id).where(Consultation.client_id == client_id)
        query = query.where(SpecialistProfile.id.not_in(already_met))
    return list(db.session.scalars(query))


def soonest_slots(profiles: Sequence[SpecialistProfile], per_profile: int = 3,
                  now: datetime | None = None) -> dict[int, list[datetime]]:
    """The first ``per_profile`` free slots (UTC) of each profile, from their availability snapshots
    (one query each; for a mail's handful of profiles)."""
    now = now or utcnow()
    return {p.id: bookable_slots(p, now)[:per_profile] for p in profiles}


__all__ = ["SIMILAR_LIMIT", "similar_specialists", "soonest_slots"]
