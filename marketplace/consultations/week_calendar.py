"""The week calendar: a specialist's week (consultations, free times, days off) and a client's
agenda (their consultations), day by day in the viewer's zone.

``week_calendar(user, tz_name, week)`` is the one entry point. It reads a constant number of
statements whatever the number of consultations: the week's consultations (one query, plus one
for the bookings that replaced rescheduled ones), and for a specialist the precomputed
availability (``availability.bookable_slots``: the snapshot, one query; the owner's preview of an
unlisted profile computes it) and the week's days off (one query).

Days are local days of the viewer's zone, so around a daylight-saving change a day is 23 or 25
hours long; everything shown (a consultation, a free stretch, a day off) is cut at local
midnight, and a piece that goes on past midnight says so.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.consultations.availability import (
    bookable_slots,
    days_off,
    offers_booking,
    preview_slots,
    would_offer_booking,
)
from marketplace.consultations.models import (
    FREE_CONSULTATION_MINUTES,
    RELEASED_STATES,
    Consultation,
    ConsultationKind,
    ConsultationState,
    ExternalBusyTime,
)
from marketplace.consultations.notifications import format_label
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.scheduling.slots import overlaps
from marketplace.scheduling.weeks import monday_of, parse_week, week_label
from marketplace.specialists.models import SpecialistProfile, profile_of
from marketplace.timeutil import zone_or_utc

DAYS_IN_WEEK = 7
# ``?week=`` further than this from today falls back to this week (and dates stay far from the
# ends of the calendar, where "next week" would not exist).
MAX_YEARS_AWAY = 10
# No one's free times reach further (the booking horizon is at most 365 days).
MAX_HORIZON = timedelta(days=366)
BAD_WEEK = "We couldn't show that week, so here is this week."
# Requests that expired unconfirmed never took place and gave their time back: left out.
HIDDEN_STATES = (ConsultationState.EXPIRED,)

CONSULTATION, FREE, BLOCKED = "consultation", "free", "blocked"
_ORDER = {BLOCKED: 0, CONSULTATION: 1, FREE: 2}


@dataclass(frozen=True)
class CalendarEvent:
    """One consultation as the calendar shows it (no ORM object: the template loads nothing)."""

    id: int
    start_utc: datetime
    end_utc: datetime
    is_free: bool
    state: str  # ConsultationState value, or "rescheduled"
    status_label: str  # "Requested", "Confirmed", "Completed", "Cancelled", "Rescheduled", …
    with_name: str  # the other person: the client (specialist's calendar) or the specialist
    format_label: str

    @property
    def kind_label(self) -> str:
        return "Free consultation" if self.is_free else "Paid session"

    @property
    def is_cancelled(self) -> bool:
        return self.state in (ConsultationState.CANCELLED.value, "rescheduled")

    @property
    def holds_time(self) -> bool:
        """Still occupies the specialist's time (not cancelled, rescheduled or expired)."""
        return self.state not in (*(s.value for s in RELEASED_STATES), "rescheduled")


@dataclass(frozen=True)
class CalendarEntry:
    """What one day shows of a consultation, a free stretch or a blocked time: the piece of it
    within that day (``start``/``end`` UTC; ``starts_earlier``/``ends_later`` when cut at midnight)."""

    kind: str  # CONSULTATION, FREE or BLOCKED
    start: datetime
    end: datetime
    starts_earlier: bool = False
    ends_later: bool = False
    event: CalendarEvent | None = None
    label: str = ""  # free and blocked: what it is ("Free", "Day off")
    all_day: bool = False  # the piece is the whole day


@dataclass
class CalendarDay:
    day: date
    start_utc: datetime  # local midnight
    end_utc: datetime  # the next local midnight: 23, 24 or 25 hours later
    is_today: bool
    entries: list[CalendarEntry] = field(default_factory=list)

    @property
    def hours(self) -> float:
        return (self.end_utc - self.start_utc) / timedelta(hours=1)

    @property
    def clock_change(self) -> str | None:
        """"forward" (a 23-hour day) or "back" (a 25-hour day); None on a usual day."""
        if self.hours < 24:
            return "forward"
        return "back" if self.hours > 24 else None

    @property
    def events(self) -> list[CalendarEvent]:
        return [e.event for e in self.entries if e.event is not None]


@dataclass
class WeekCalendar:
    """One week (Monday ``start``) of someone's calendar, in ``zone``."""

    start: date
    zone: str
    role: str  # "specialist" or "client"
    today: date
    days: list[CalendarDay]
    notice: str | None = None  # the week asked for could not be shown
    shows_free_times: bool = False  # a specialist whose free times clients can (or will) book
    profile_zone: str | None = None  # the zone the specialist's hours are set in

    @property
    def label(self) -> str:
        return week_label(self.start)

    @property
    def previous(self) -> date:
        return self.start - timedelta(days=DAYS_IN_WEEK)

    @property
    def next(self) -> date:
        return self.start + timedelta(days=DAYS_IN_WEEK)

    @property
    def is_this_week(self) -> bool:
        return self.start == monday_of(self.today)

    @property
    def events(self) -> list[CalendarEvent]:
        """Each consultation of the week once (a piece per day it touches is shown)."""
        seen: dict[int, CalendarEvent] = {}
        for day in self.days:
            for event in day.events:
                seen.setdefault(event.id, event)
        return list(seen.values())


def choose_week(value: str | None, today: date) -> tuple[date, str | None]:
    """The Monday of ``?week=`` (a date in that week, or a number of weeks ahead), and the
    message when it cannot be used (unreadable or too far away): then this week."""
    this_week = monday_of(today)
    if value is None or value == "":
        return this_week, None
    asked = parse_week(value, today)
    if asked is None or abs(asked.year - today.year) > MAX_YEARS_AWAY:
        return this_week, BAD_WEEK
    return asked, None


def week_calendar(user: Any, tz_name: str | None, week: str | None = None,
                  now: datetime | None = None) -> WeekCalendar:
    """The week ``week`` (``?week=``; this week when absent or unusable, with a message) of
    ``user``'s calendar in the zone ``tz_name``: for a specialist their consultations, free times
    and days off; for anyone else the consultations they booked. Only ever the user's own."""
    now = now or utcnow()
    zone_name = zone_or_utc(tz_name)
    zone = ZoneInfo(zone_name)
    today = now.astimezone(zone).date()
    start, notice = choose_week(week, today)
    days = [_day(start + timedelta(days=i), zone, today) for i in range(DAYS_IN_WEEK)]
    begin, end = days[0].start_utc, days[-1].end_utc
    profile = profile_of(user)
    calendar = WeekCalendar(start, zone_name, "specialist" if profile is not None else "client", today, days, notice)
    entries: list[CalendarEntry] = []
    if profile is not None:
        events = _events(Consultation.specialist_id == profile.id, begin, end, as_specialist=True)
        calendar.shows_free_times = would_offer_booking(profile)
        calendar.profile_zone = zone_or_utc(profile.timezone)
        taken = [(e.start_utc, e.end_utc) for e in events if e.holds_time]
        entries += _free_entries(_free_slots(profile, begin, end, now, taken))
        entries += _day_off_entries(profile, start, calendar.profile_zone)
        entries += _external_busy_entries(profile, begin, end)
    else:
        user_id = getattr(user, "id", None)
        events = _events(Consultation.client_id == user_id, begin, end, as_specialist=False) if user_id else []
    entries += [CalendarEntry(CONSULTATION, e.start_utc, e.end_utc, event=e) for e in events]
    _place(entries, days)
    return calendar


# --- building blocks --------------------------------------------------------------------------

def _day(day: date, zone: ZoneInfo, today: date) -> CalendarDay:
    return CalendarDay(day, _midnight(day, zone), _midnight(day + timedelta(days=1), zone), day == today)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant the local day begins (a zone whose clocks skip midnight begins it at the change)."""
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _events(owner: Any, begin: datetime, end: datetime, *, as_specialist: bool) -> list[CalendarEvent]:
    """The consultations of ``owner`` (a condition) overlapping [begin, end), soonest first."""
    other = Consultation.client if as_specialist else Consultation.specialist
    rows = db.session.scalars(
        select(Consultation)
        .where(owner, Consultation.start_utc < end, Consultation.end_utc > begin,
               Consultation.state.not_in(HIDDEN_STATES))
        .options(joinedload(other), selectinload(Consultation.rescheduled_to))
        .order_by(Consultation.start_utc, Consultation.id))
    events = []
    for c in rows:
        person = c.client if as_specialist else c.specialist
        events.append(CalendarEvent(
            id=c.id, start_utc=c.start_utc, end_utc=c.end_utc, is_free=c.kind is ConsultationKind.FREE,
            state=c.status_class, status_label=c.status_label,
            with_name=person.display_name if person is not None else "", format_label=format_label(c.format)))
    return events


def _free_slots(profile: SpecialistProfile, begin: datetime, end: datetime, now: datetime,
                taken: Sequence[tuple[datetime, datetime]]) -> list[datetime]:
    """The profile's free slots starting in [begin, end): the precomputed availability (one query;
    the owner's preview of a profile not listed yet computes it). None to read for a week that is
    over or beyond any booking horizon. A slot overlapping a consultation shown (``taken``) is
    left out: the snapshot is refreshed just after each booking's commit, and until then the page
    must not show a booked time as free."""
    if end <= now or not would_offer_booking(profile):
        return []
    if begin > now + MAX_HORIZON:
        return []
    slots = bookable_slots(profile, now) if offers_booking(profile) else preview_slots(profile, now)
    length = timedelta(minutes=FREE_CONSULTATION_MINUTES)
    return [s for s in slots if begin <= s < end and not any(overlaps(s, s + length, a, b) for a, b in taken)]


def _free_entries(slots: Sequence[datetime]) -> list[CalendarEntry]:
    """Back-to-back free slots as one free stretch ("Free 09:00–12:00")."""
    length = timedelta(minutes=FREE_CONSULTATION_MINUTES)
    stretches: list[list[datetime]] = []
    for slot in sorted(set(slots)):
        if stretches and slot <= stretches[-1][1]:
            stretches[-1][1] = max(stretches[-1][1], slot + length)
        else:
            stretches.append([slot, slot + length])
    return [CalendarEntry(FREE, a, b, label="Free") for a, b in stretches]


def _day_off_entries(profile: SpecialistProfile, start: date, profile_zone: str) -> list[CalendarEntry]:
    """The profile's days off touching the week (whole days of the profile's zone, which may
    differ from the viewer's: a day off in Berlin is parts of two days in New York)."""
    zone = ZoneInfo(profile_zone)
    found = days_off(profile.id, start - timedelta(days=1), start + timedelta(days=DAYS_IN_WEEK))
    return [CalendarEntry(BLOCKED, _midnight(day, zone), _midnight(day + timedelta(days=1), zone), label="Day off")
            for day in found]


EXTERNAL_BUSY_LABEL = "Busy in your other calendar"


def _external_busy_entries(profile: SpecialistProfile, begin: datetime, end: datetime) -> list[CalendarEntry]:
    """Busy times read from the specialist's other calendars (``external_calendars``) in the
    week: they block free slots, so the calendar shows them as blocked time (no titles: only
    the times are kept)."""
    spans = db.session.execute(
        select(ExternalBusyTime.start_utc, ExternalBusyTime.end_utc)
        .where(ExternalBusyTime.specialist_id == profile.id, ExternalBusyTime.end_utc > begin,
               ExternalBusyTime.start_utc < end)
        .order_by(ExternalBusyTime.start_utc)).all()
    return [CalendarEntry(BLOCKED, start, stop, label=EXTERNAL_BUSY_LABEL) for start, stop in spans]


def _place(entries: Iterable[CalendarEntry], days: list[CalendarDay]) -> None:
    """Each entry into every day it touches, cut at the day's bounds; each day sorted by time."""
    for entry in entries:
        for day in days:
            start, end = max(entry.start, day.start_utc), min(entry.end, day.end_utc)
            if start < end:
                day.entries.append(CalendarEntry(
                    entry.kind, start, end, entry.start < day.start_utc, entry.end > day.end_utc, entry.event,
                    entry.label, all_day=(start, end) == (day.start_utc, day.end_utc)))
    for day in days:
        day.entries.sort(key=lambda e: (e.start, _ORDER[e.kind], e.event.id if e.event else 0))


__all__ = ["BAD_WEEK", "CalendarDay", "CalendarEntry", "CalendarEvent", "WeekCalendar", "choose_week",
           "week_calendar"]
