"""Demo data: weekly availability and settings for every demo profile, so free slots exist
over the next 14 days; demo consultations: the demo client's request, a request waiting for the
demo specialist (their navigation counts it) and a request of the demo client that already expired
(its e-mail, with other times and similar specialists, in the outbox)."""
from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select

from marketplace.consultations.availability import load_calendar, offers_booking, refresh_next_available
from marketplace.consultations.booking import BookingError, book_free_consultation
from marketplace.consultations.follow_up import expire_request
from marketplace.consultations.models import AvailabilityRule, Consultation, SchedulingSettings
from marketplace.database import utcnow
from marketplace.demo.registry import DemoContext, demo_seeder
from marketplace.extensions import db
from marketplace.specialists.models import SpecialistProfile

log = logging.getLogger(__name__)

# Weekdays 09:00–17:00 plus a Tuesday and Thursday evening (specialist's own time zone).
DEFAULT_WEEKLY_HOURS = [(d, "09:00", "17:00") for d in range(5)] + [(1, "18:00", "20:00"), (3, "18:00", "20:00")]
DEMO_SETTINGS = {"buffer_minutes": 15, "min_notice_minutes": 720, "horizon_days": 30, "max_per_day": None,
                 "auto_confirm": False}


def _rows(profile_id: int, hours: list[tuple[int, str, str]]) -> list[dict]:
    return [{"specialist_id": profile_id, "weekday": wd, "start_time": time.fromisoformat(s),
             "end_time": time.fromisoformat(e)} for wd, s, e in sorted(set(hours))]


@demo_seeder(order=20)
def seed_availability(ctx: DemoContext) -> None:
    """Rules from ``ctx.extra["weekly_hours"][profile.id]`` (or a default pattern for every
    other profile, bulk ones included), settings rows, the demo consultation, then the availability
    snapshots and next_available_at of all."""
    weekly_hours: dict[int, list[tuple[int, str, str]]] = ctx.extra.get("weekly_hours", {})
    profile_ids = set(db.session.scalars(select(SpecialistProfile.id)))
    has_rules = set(db.session.scalars(select(AvailabilityRule.specialist_id).distinct()))
    # The demo's hours are authoritative: replace them (set-based), so re-running stays idempotent.
    given = sorted(pid for pid in weekly_hours if pid in profile_ids)
    for i in range(0, len(given), 500):
        db.session.execute(delete(AvailabilityRule).where(AvailabilityRule.specialist_id.in_(given[i:i + 500])))
    rules: list[dict] = []
    for pid in sorted(profile_ids):
        if pid in weekly_hours:
            rules.extend(_rows(pid, weekly_hours[pid]))
        elif pid not in has_rules:
            rules.extend(_rows(pid, DEFAULT_WEEKLY_HOURS))
    if rules:
        db.session.execute(AvailabilityRule.__table__.insert(), rules)
    have_settings = set(db.session.scalars(select(SchedulingSettings.specialist_id)))
    settings = [{"specialist_id": pid, **DEMO_SETTINGS, "updated_at": utcnow(), "version_id": 1}
                for pid in sorted(profile_ids - have_settings)]
    if settings:
        db.session.execute(SchedulingSettings.__table__.insert(), settings)
    db.session.flush()
    _seed_demo_consultation(ctx)
    _seed_waiting_request(ctx)
    _seed_expired_request(ctx)
    refresh_next_available()  # snapshots for every profile now: pages show slots before any job ran
    log.info("demo availability: %s rule rows, %s settings rows", len(rules), len(settings))


def _seed_demo_consultation(ctx: DemoContext) -> None:
    """The demo client gets one requested consultation with the second demo specialist, so
    the consultation pages have something to show (the first specialist stays bookable)."""
    if not ctx.clients or len(ctx.profiles) < 2:
        return
    client, profile = ctx.clients[0], ctx.profiles[1]
    exists = db.session.scalar(select(Consultation.id).where(Consultation.client_id == client.id,
                                                             Consultation.specialist_id == profile.id))
    if exists or not profile.offers_free_consultation or not profile.formats:
        return
    now = utcnow()
    slots = [s for s in load_calendar(profile, now).free_slots(now) if s > now + timedelta(days=2)]
    if slots:
        try:
            book_free_consultation(client, profile, slots[0], profile.formats[0].slug,
                                   "I'd like to talk about stress at work.", now=now)
        except BookingError:
            pass  # demo data: a consultation less


def _request(client: Any, profile: SpecialistProfile, now: datetime, note: str) -> Consultation | None:
    """A free-consultation request of ``client`` made at ``now`` (for the first free time at least
    two days from today), unless the pair already has a consultation or the specialist cannot be
    booked."""
    exists = db.session.scalar(select(Consultation.id).where(Consultation.client_id == client.id,
                                                             Consultation.specialist_id == profile.id))
    if exists or not offers_booking(profile) or not profile.formats:
        return None
    slots = [s for s in load_calendar(profile, now).free_slots(now) if s > utcnow() + timedelta(days=2)]
    if not slots:
        return None
    try:
        return book_free_consultation(client, profile, slots[0], profile.formats[0].slug, note, now=now)
    except BookingError:
        return None


def _seed_waiting_request(ctx: DemoContext) -> None:
    """A request waiting for the demo specialist (the first profile, the demo login): the count in
    their navigation shows it."""
    if len(ctx.clients) < 2 or not ctx.profiles:
        return
    _request(ctx.clients[1], ctx.profiles[0], utcnow() - timedelta(hours=3), "Trouble sleeping since a move.")


def _seed_expired_request(ctx: DemoContext) -> None:
    """A request of the demo client made 50 hours ago that the third specialist never confirmed:
    expired now, as the periodic job would, so its e-mail (next free times, similar specialists)
    is in the outbox."""
    if not ctx.clients or len(ctx.profiles) < 3:
        return
    now = utcnow()
    consultation = _request(ctx.clients[0], ctx.profiles[2], now - timedelta(hours=50),
                            "I'd like to understand my low mood.")
    if consultation is not None:
        db.session.flush()
        expire_request(consultation.id, now)
