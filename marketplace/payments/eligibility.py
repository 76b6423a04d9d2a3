"""Who may book a paid session, and the times it can be booked at."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, select

from marketplace.consultations.models import Consultation, ConsultationKind, ConsultationOutcome
from marketplace.consultations.services import load_calendar
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.payments.policy import NO_FEE, NOT_ELIGIBLE, PAYMENTS_DISABLED, PaidBookingError
from marketplace.payments.providers import PaymentProvider
from marketplace.scheduling.weeks import SlotWeek, WeekQuery, slot_week
from marketplace.specialists.models import SpecialistProfile


def may_book_paid_session(client: Any, profile: SpecialistProfile) -> bool:
    """Only a client whose free consultation with this specialist ended with "proceed"."""
    if not getattr(client, "is_authenticated", False) or not getattr(client, "is_client", False):
        return False
    return bool(db.session.scalar(select(exists().where(
        Consultation.client_id == client.id, Consultation.specialist_id == profile.id,
        Consultation.kind == ConsultationKind.FREE, Consultation.outcome == ConsultationOutcome.PROCEED,
    ))))


def check_paid_booking(client: Any, profile: SpecialistProfile, provider: PaymentProvider | None,
                       format_slug: str | None, error: type[PaidBookingError] = PaidBookingError) -> PaymentProvider:
    """THE refusals of a paid booking that need no slot (a single session or a weekly series):
    raises ``error`` when payments are off, the client may not book paid sessions with this
    specialist (yet), the specialist has no fee, or the format is not one they offer. Returns the
    provider to book through."""
    if provider is None or not provider.enabled():
        raise error(PAYMENTS_DISABLED, "disabled")
    if not may_book_paid_session(client, profile):
        raise error(NOT_ELIGIBLE.format(name=profile.display_name), "not_eligible")
    if not profile.fee_minor:
        raise error(NO_FEE.format(name=profile.display_name), "not_bookable")
    if format_slug not in profile.format_slugs():
        raise error("Choose how you would like to meet.", "invalid", "format")
    return provider


def offers_paid_follow_up(consultation: Consultation, user: Any) -> bool:
    """Whether the consultation's page offers ``user`` "Book a paid session": the client of a free
    consultation whose outcome was "proceed"."""
    return (consultation.kind is ConsultationKind.FREE and consultation.outcome is ConsultationOutcome.PROCEED
            and consultation.is_client(user))


def paid_session_slots(profile: SpecialistProfile, now: datetime | None = None) -> list[datetime]:
    """Free UTC start times for a session of ``profile.session_minutes`` (the same engine and
    calendar — rules, overrides, buffer, notice, horizon, bookings, holds — as free consultations)."""
    now = now or utcnow()
    return load_calendar(profile, now).free_slots(now, profile.session_minutes)


def paid_session_week(profile: SpecialistProfile, tz_name: str, query: WeekQuery,
                      now: datetime | None = None) -> SlotWeek:
    """The week of ``paid_session_slots`` the booking page shows for ``query`` (the viewer's zone)."""
    now = now or utcnow()
    return slot_week(paid_session_slots(profile, now), tz_name, query, now)
