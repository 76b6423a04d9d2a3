"""Availability: loading a specialist's calendar from the database into the pure slot engine
(``marketplace.scheduling.slots``), the availability editor's services, and the stored
``SpecialistProfile.next_available_at`` that directory cards sort and display by.

Loading is batched: any number of profiles costs the same four SELECTs (settings, weekly
rules, date overrides, bookings), chunked only to respect database parameter limits.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, select, update
from sqlalchemy.orm.exc import StaleDataError

from marketplace.consultations.models import (
    FREE_CONSULTATION_MINUTES,
    AvailabilityOverride,
    AvailabilityRule,
    Consultation,
    ConsultationKind,
    ConsultationState,
    OverrideKind,
    SchedulingSettings,
)
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.scheduling.slots import (
    Busy,
    DateOverride,
    SchedulingPolicy,
    WeeklyRule,
    free_slots,
    group_by_local_day,
    next_free_slot,
)
from marketplace.specialists.models import SpecialistProfile
from marketplace.timeutil import is_valid_timezone

log = logging.getLogger(__name__)

SLOT_STEP_MINUTES = 30  # slots start on the half hour of each window (local wall clock)
CHUNK = 500  # ids per IN (...) list
# Window to look for a first free slot before scanning the whole horizon (directory refresh).
QUICK_SCAN_DAYS = 7


class AvailabilityError(ValueError):
    """A rule the specialist tried to save is invalid; the message is shown to them."""


# --- the calendar of one specialist -----------------------------------------------------------

@dataclass
class SpecialistCalendar:
    """Everything the slot engine needs for one specialist, loaded from the database."""

    profile_id: int
    timezone: str
    settings: SchedulingSettings
    rules: list[WeeklyRule] = field(default_factory=list)
    overrides: list[DateOverride] = field(default_factory=list)
    busy: list[Busy] = field(default_factory=list)

    def policy(self, horizon_days: int | None = None) -> SchedulingPolicy:
        s = self.settings
        return SchedulingPolicy(
            timezone=self.timezone,
            buffer_minutes=s.buffer_minutes,
            min_notice_minutes=s.min_notice_minutes,
            horizon_days=s.horizon_days if horizon_days is None else min(horizon_days, s.horizon_days),
            max_per_day=s.max_per_day,
            step_minutes=SLOT_STEP_MINUTES,
        )

    def free_slots(self, now: datetime, duration_minutes: int = FREE_CONSULTATION_MINUTES) -> list[datetime]:
        if not self.rules and not self.overrides:
            return []
        return free_slots(self.rules, self.overrides, self.busy, self.policy(), now, duration_minutes)

    def next_free_slot(self, now: datetime, duration_minutes: int = FREE_CONSULTATION_MINUTES) -> datetime | None:
        """Soonest free slot: scan one week first (cheap), the whole horizon only if it is empty."""
        if not self.rules and not self.overrides:
            return None
        quick = next_free_slot(self.rules, self.overrides, self.busy, self.policy(QUICK_SCAN_DAYS), now,
                               duration_minutes)
        if quick is not None or self.settings.horizon_days <= QUICK_SCAN_DAYS:
            return quick
        return next_free_slot(self.rules, self.overrides, self.busy, self.policy(), now, duration_minutes)


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield list(ids[i:i + CHUNK])


def calendar_busy_filter(now: datetime) -> Any:
    """Bookings that occupy a calendar: not cancelled, and no expired payment hold.

    Bookings that ended up to two days ago are kept: they still count towards the daily cap
    of today's local date in any time zone.
    """
    return and_(
        Consultation.state != ConsultationState.CANCELLED,
        Consultation.end_utc > now - timedelta(days=2),
        or_(
            Consultation.state != ConsultationState.PENDING_PAYMENT,
            Consultation.hold_expires_at.is_(None),
            Consultation.hold_expires_at > now,
        ),
    )


def load_calendars(profiles: Sequence[tuple[int, str]], now: datetime | None = None, *,
                   exclude_consultation_id: int | None = None) -> dict[int, SpecialistCalendar]:
    """Calendars for ``(profile_id, timezone)`` pairs in a constant number of queries.

    ``exclude_consultation_id`` leaves one booking out of the busy times (rescheduling it).
    """
    now = now or utcnow()
    calendars = {
        pid: SpecialistCalendar(pid, tz if is_valid_timezone(tz) else "UTC", SchedulingSettings.defaults_for(pid))
        for pid, tz in profiles
    }
    ids = sorted(calendars)
    earliest_day = (now - timedelta(days=2)).date()
    for chunk in _chunks(ids):
        for settings in db.session.scalars(
            select(SchedulingSettings).where(SchedulingSettings.specialist_id.in_(chunk))
        ):
            calendars[settings.specialist_id].settings = settings
        for pid, weekday, start, end in db.session.execute(
            select(AvailabilityRule.specialist_id, AvailabilityRule.weekday, AvailabilityRule.start_time,
                   AvailabilityRule.end_time).where(AvailabilityRule.specialist_id.in_(chunk))
        ):
            calendars[pid].rules.append(WeeklyRule(weekday, start, end))
        for pid, day, kind, start, end in db.session.execute(
            select(AvailabilityOverride.specialist_id, AvailabilityOverride.day, AvailabilityOverride.kind,
                   AvailabilityOverride.start_time, AvailabilityOverride.end_time)
            .where(AvailabilityOverride.specialist_id.in_(chunk), AvailabilityOverride.day >= earliest_day)
        ):
            calendars[pid].overrides.append(DateOverride(day, kind.value, start, end))
        busy_query = select(Consultation.specialist_id, Consultation.start_utc, Consultation.end_utc,
                            Consultation.kind).where(Consultation.specialist_id.in_(chunk), calendar_busy_filter(now))
        if exclude_consultation_id is not None:
            busy_query = busy_query.where(Consultation.id != exclude_consultation_id)
        for pid, start, end, kind in db.session.execute(busy_query):
            # Paid sessions occupy the calendar but the daily cap counts free consultations.
            calendars[pid].busy.append(Busy(start, end, counts_toward_daily_cap=kind is ConsultationKind.FREE))
    return calendars


def load_calendar(profile: SpecialistProfile, now: datetime | None = None, *,
                  exclude_consultation_id: int | None = None) -> SpecialistCalendar:
    """The calendar of one specialist (four small queries)."""
    return load_calendars([(profile.id, profile.timezone)], now,
                          exclude_consultation_id=exclude_consultation_id)[profile.id]


def offers_booking(profile: SpecialistProfile) -> bool:
    """Whether clients can book this specialist's free consultation at all."""
    return bool(profile.is_published and profile.offers_free_consultation and profile.accepting_new_clients)


def free_slots_for(profile: SpecialistProfile, now: datetime | None = None, *,
                   exclude_consultation_id: int | None = None) -> list[datetime]:
    """Free 30-minute slots (UTC) of one specialist, fresh from the database."""
    if not offers_booking(profile):
        return []
    now = now or utcnow()
    return load_calendar(profile, now, exclude_consultation_id=exclude_consultation_id).free_slots(now)


def upcoming_free_slots(profile: SpecialistProfile, limit: int = 6,
                        tz_name: str | None = None) -> dict[date, list[datetime]]:
    """The next ``limit`` free slots grouped by the viewer's local day (profile page)."""
    from marketplace.timeutil import viewer_timezone

    slots = free_slots_for(profile)[:limit]
    return group_by_local_day(slots, tz_name or viewer_timezone())


# --- next_available_at (directory) ------------------------------------------------------------

def refresh_next_available(profile_ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Recompute ``SpecialistProfile.next_available_at`` for these profiles (all if None).

    Constant number of queries per 500 profiles. Writes with a plain UPDATE that leaves
    the profile's ``version_id`` and ``updated_at`` alone (this is derived data, not an edit).
    Returns the number of profiles refreshed.
    """
    now = now or utcnow()
    query = select(SpecialistProfile.id, SpecialistProfile.timezone, SpecialistProfile.offers_free_consultation,
                   SpecialistProfile.accepting_new_clients)
    if profile_ids is not None:
        ids = sorted(set(profile_ids))
        if not ids:
            return 0
        rows = [row for chunk in _chunks(ids)
                for row in db.session.execute(query.where(SpecialistProfile.id.in_(chunk)))]
    else:
        rows = list(db.session.execute(query.order_by(SpecialistProfile.id)))
    bookable = [(pid, tz) for pid, tz, offers, accepting in rows if offers and accepting]
    values: dict[int, datetime | None] = {pid: None for pid, *_ in rows}
    for i in range(0, len(bookable), CHUNK):
        for pid, calendar in load_calendars(bookable[i:i + CHUNK], now).items():
            values[pid] = calendar.next_free_slot(now)
    if values:
        table = SpecialistProfile.__table__
        stmt = (update(table).where(table.c.id == bindparam("pid"))
                .values(next_available_at=bindparam("nat"), updated_at=table.c.updated_at))
        db.session.execute(stmt, [{"pid": pid, "nat": nat} for pid, nat in values.items()])
        _expire_next_available(set(values))
    return len(values)


def _expire_next_available(ids: set[int]) -> None:
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, SpecialistProfile) and obj.id in ids:
            db.session.expire(obj, ["next_available_at"])


# --- the availability editor ------------------------------------------------------------------

@dataclass
class AvailabilityView:
    """What the editor page shows."""

    settings: SchedulingSettings
    rules: list[AvailabilityRule]
    overrides: list[AvailabilityOverride]


def get_availability(profile: SpecialistProfile) -> AvailabilityView:
    """Settings (or defaults), weekly rules and upcoming overrides of a profile."""
    settings = db.session.get(SchedulingSettings, profile.id) or SchedulingSettings.defaults_for(profile.id)
    rules = list(db.session.scalars(
        select(AvailabilityRule).where(AvailabilityRule.specialist_id == profile.id)
        .order_by(AvailabilityRule.weekday, AvailabilityRule.start_time)
    ))
    today = utcnow().date() - timedelta(days=1)
    overrides = list(db.session.scalars(
        select(AvailabilityOverride).where(AvailabilityOverride.specialist_id == profile.id,
                                           AvailabilityOverride.day >= today)
        .order_by(AvailabilityOverride.day, AvailabilityOverride.start_time)
    ))
    return AvailabilityView(settings, rules, overrides)


def _check_window(start: time | None, end: time | None) -> tuple[time, time]:
    if start is None or end is None:
        raise AvailabilityError("Enter a start and an end time.")
    if start.second or end.second or start.minute % 15 or end.minute % 15:
        raise AvailabilityError("Use times on the quarter hour, e.g. 09:00, 09:15 or 17:45.")
    if end <= start:
        raise AvailabilityError("The end time must be after the start time.")
    if (datetime.combine(date.min, end) - datetime.combine(date.min, start)) < timedelta(
            minutes=FREE_CONSULTATION_MINUTES):
        raise AvailabilityError("A window must be at least 30 minutes long.")
    return start, end


def add_weekly_rule(profile: SpecialistProfile, weekday: int, start: time | None, end: time | None) -> AvailabilityRule:
    """Add a weekly window (e.g. Monday 09:00–12:00 in the profile's time zone)."""
    if weekday not in range(7):
        raise AvailabilityError("Choose a day of the week.")
    start, end = _check_window(start, end)
    exists = db.session.scalar(select(AvailabilityRule.id).where(
        AvailabilityRule.specialist_id == profile.id, AvailabilityRule.weekday == weekday,
        AvailabilityRule.start_time == start, AvailabilityRule.end_time == end))
    if exists:
        raise AvailabilityError("You already have these hours on that day.")
    rule = AvailabilityRule(specialist_id=profile.id, weekday=weekday, start_time=start, end_time=end)
    db.session.add(rule)
    db.session.flush()
    refresh_next_available([profile.id])
    log.info("profile %s added availability rule %s", profile.id, rule.id)
    return rule


def remove_weekly_rule(profile: SpecialistProfile, rule_id: int) -> bool:
    """Remove one of the profile's weekly windows (existing bookings are kept).

    False when there is no such rule of this profile (someone else's id, or already removed).
    """
    result = db.session.execute(delete(AvailabilityRule).where(
        AvailabilityRule.id == rule_id, AvailabilityRule.specialist_id == profile.id))
    if result.rowcount != 1:
        return False
    refresh_next_available([profile.id])
    return True


def add_date_override(profile: SpecialistProfile, day: date | None, kind: str, start: time | None = None,
                      end: time | None = None, today: date | None = None) -> AvailabilityOverride:
    """A day off, or extra hours on one date (in the profile's time zone)."""
    if day is None:
        raise AvailabilityError("Choose a date.")
    from zoneinfo import ZoneInfo

    zone = profile.timezone if is_valid_timezone(profile.timezone) else "UTC"
    local_today = today or utcnow().astimezone(ZoneInfo(zone)).date()
    if day < local_today:
        raise AvailabilityError("Choose today or a later date.")
    if day > local_today + timedelta(days=366):
        raise AvailabilityError("Choose a date within the next year.")
    try:
        override_kind = OverrideKind(kind)
    except ValueError:
        raise AvailabilityError("Choose “day off” or “extra hours”.") from None
    if override_kind is OverrideKind.EXTRA:
        start, end = _check_window(start, end)
    else:
        start = end = None
        exists = db.session.scalar(select(AvailabilityOverride.id).where(
            AvailabilityOverride.specialist_id == profile.id, AvailabilityOverride.day == day,
            AvailabilityOverride.kind == OverrideKind.OFF))
        if exists:
            raise AvailabilityError("That date is already a day off.")
    override = AvailabilityOverride(specialist_id=profile.id, day=day, kind=override_kind,
                                    start_time=start, end_time=end)
    db.session.add(override)
    db.session.flush()
    refresh_next_available([profile.id])
    return override


def remove_date_override(profile: SpecialistProfile, override_id: int) -> bool:
    """Remove a date exception of the profile; False if it is not one of theirs."""
    result = db.session.execute(delete(AvailabilityOverride).where(
        AvailabilityOverride.id == override_id, AvailabilityOverride.specialist_id == profile.id))
    if result.rowcount != 1:
        return False
    refresh_next_available([profile.id])
    return True


STALE_SETTINGS = "These settings were changed in another window. Please review them and save again."


def update_scheduling_settings(profile: SpecialistProfile, *, version_id: int | None, buffer_minutes: int,
                               min_notice_minutes: int, horizon_days: int, max_per_day: int | None,
                               auto_confirm: bool, video_link: str | None, address: str | None,
                               phone: str | None) -> SchedulingSettings:
    """Save booking settings and meeting details; refuses a form from a stale tab."""
    settings = db.session.get(SchedulingSettings, profile.id)
    current_version = settings.version_id if settings is not None else 0
    if version_id is not None and version_id != current_version:
        raise AvailabilityError(STALE_SETTINGS)
    if buffer_minutes not in range(0, 241):
        raise AvailabilityError("The buffer must be between 0 and 240 minutes.")
    if min_notice_minutes not in range(0, 14 * 24 * 60 + 1):
        raise AvailabilityError("The minimum notice must be between 0 hours and 14 days.")
    if horizon_days not in range(1, 366):
        raise AvailabilityError("The booking horizon must be between 1 and 365 days.")
    if max_per_day is not None and max_per_day not in range(1, 49):
        raise AvailabilityError("The daily maximum must be between 1 and 48, or empty for no limit.")
    if settings is None:
        settings = SchedulingSettings(specialist_id=profile.id)
        db.session.add(settings)
    settings.buffer_minutes = buffer_minutes
    settings.min_notice_minutes = min_notice_minutes
    settings.horizon_days = horizon_days
    settings.max_per_day = max_per_day
    settings.auto_confirm = auto_confirm
    profile.video_link = video_link or None
    profile.address = address or None
    profile.phone = phone or None
    try:
        db.session.flush()
    except StaleDataError:
        raise AvailabilityError(STALE_SETTINGS) from None
    refresh_next_available([profile.id])
    log.info("profile %s updated scheduling settings", profile.id)
    return settings


def set_weekly_hours(profile_id: int, hours: Iterable[tuple[int, str, str]]) -> None:
    """Replace a profile's weekly rules with ``(weekday, "HH:MM", "HH:MM")`` entries (demo, tests)."""
    db.session.execute(delete(AvailabilityRule).where(AvailabilityRule.specialist_id == profile_id))
    rows = [{"specialist_id": profile_id, "weekday": wd, "start_time": time.fromisoformat(s),
             "end_time": time.fromisoformat(e)} for wd, s, e in sorted(set(hours))]
    if rows:
        db.session.execute(AvailabilityRule.__table__.insert(), rows)


__all__ = [
    "AvailabilityError", "AvailabilityView", "SpecialistCalendar", "add_date_override", "add_weekly_rule",
    "calendar_busy_filter", "free_slots_for", "get_availability", "load_calendar", "load_calendars",
    "offers_booking", "refresh_next_available", "remove_date_override", "remove_weekly_rule", "set_weekly_hours",
    "update_scheduling_settings", "upcoming_free_slots",
]
