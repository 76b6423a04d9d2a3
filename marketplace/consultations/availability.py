"""Availability: a specialist's calendar loaded from the database into the pure slot engine
(``marketplace.scheduling.slots``), precomputed availability for pages, and the availability
editor's services.

* Loading is batched: any number of profiles costs the same five SELECTs (settings, weekly
  rules and date overrides together, bookings, busy times of other calendars, profiles),
  chunked only for parameter limits.
* Every change that can move a specialist's free slots calls ``calendar_changed(ids)`` (rules,
  overrides, settings, bookings, cancellations, reschedules, payment holds, bookability of the
  profile, account deletion). It only records the ids; after the commit ONE job
  ``refresh_availability`` recomputes their snapshots and ``next_available_at``, and the cached
  pages depending on them are made stale ("availability:<id>", "directory").
* Pages read the snapshot with one query (``bookable_slots``) and never write; a periodic job
  refreshes the snapshots that time has made stale, in bounded batches.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import g
from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    String,
    and_,
    cast,
    delete,
    exists,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm.exc import StaleDataError

from marketplace.cache import VERSION_SECONDS, bump_after_commit, bump_version, is_shared, version_key
from marketplace.consultations.models import (
    CONFIRM_WITHIN_HOURS_DEFAULT,
    CONFIRM_WITHIN_HOURS_MAX,
    CONFIRM_WITHIN_HOURS_MIN,
    FREE_CONSULTATION_MINUTES,
    RELEASED_STATES,
    SLOT_STEP_MINUTES,
    WEEKDAYS,
    AvailabilityOverride,
    AvailabilityRule,
    AvailabilitySnapshot,
    Consultation,
    ConsultationKind,
    ConsultationState,
    ExternalBusyTime,
    OfferState,
    OverrideKind,
    SchedulingSettings,
    WaitlistOffer,
)
from marketplace.consultations.snapshots import (
    Snapshot,
    mark_hours_changed,
    read_booking_snapshot,
    read_snapshot,
    trim_snapshots,
    write_snapshots,
)
from marketplace.database import after_commit, commit, execute_dml, utcnow
from marketplace.domain import DomainError
from marketplace.extensions import cache, db
from marketplace.jobs import enqueue, jobs
from marketplace.scheduling.cancellation import FREE_NOTICE_CHOICES, PAID_NOTICE_CHOICES, LateRefund
from marketplace.scheduling.slots import (
    Busy,
    DateOverride,
    SchedulingPolicy,
    WeeklyRule,
    free_slots,
    group_by_local_day,
    is_free_slot,
)
from marketplace.specialists.hooks import KEEP_MOMENTS
from marketplace.specialists.models import SpecialistProfile
from marketplace.timeutil import is_valid_timezone, viewer_timezone, zone_or_utc

log = logging.getLogger(__name__)

CHUNK = 500  # ids per IN (...) list, and profiles per refresh transaction
# Bookings that ended this long ago still count towards the daily cap of "today" in any time zone.
BUSY_LOOKBACK = timedelta(days=2)
# A snapshot is recomputed at the latest this long after it was computed (new days enter the
# horizon), and earlier when its soonest slot is no longer bookable (the directory's "next free").
SNAPSHOT_MAX_AGE = timedelta(minutes=60)
# The periodic refresh handles at most this many profiles per run (the rest waits for the next run).
PERIODIC_MAX_PROFILES = 20_000


class AvailabilityError(DomainError, ValueError):
    """A rule the specialist tried to save is invalid; the message is shown to them."""


# --- bookable specialists -------------------------------------------------------------------------

def offers_booking(profile: SpecialistProfile) -> bool:
    """Whether clients can book this specialist's free consultation at all."""
    return bool(profile.is_listed and profile.offers_free_consultation and profile.accepting_new_clients)


def bookable_clause() -> Any:
    """``offers_booking`` in SQL (the same definition, for queries over many profiles)."""
    return and_(SpecialistProfile.is_listed, SpecialistProfile.offers_free_consultation.is_(True),
                SpecialistProfile.accepting_new_clients.is_(True))


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
    # Payment holds past their expiry: not busy, but their occupied blocks exist until released.
    lapsed_holds: list[int] = field(default_factory=list)
    # Loaded for a booking client only: they already have a free consultation (not cancelled/expired) here.
    client_has_free_consultation: bool = False
    # Settings and zone only, the slot checked against the precomputed slots (``snapshot_booking_calendar``).
    from_snapshot: bool = False

    def policy(self) -> SchedulingPolicy:
        s = self.settings
        return SchedulingPolicy(timezone=self.timezone, buffer_minutes=s.buffer_minutes,
                                min_notice_minutes=s.min_notice_minutes, horizon_days=s.horizon_days,
                                max_per_day=s.max_per_day, step_minutes=SLOT_STEP_MINUTES)

    @property
    def has_hours(self) -> bool:
        return bool(self.rules or self.overrides)

    def free_slots(self, now: datetime, duration_minutes: int = FREE_CONSULTATION_MINUTES) -> list[datetime]:
        if not self.has_hours:
            return []
        return free_slots(self.rules, self.overrides, self.busy, self.policy(), now, duration_minutes)

    def slot_problem(self, start_utc: datetime, now: datetime,
                     duration_minutes: int = FREE_CONSULTATION_MINUTES) -> str | None:
        """None if ``start_utc`` is a free slot now; "taken" if it is one of the specialist's
        slots that a booking occupies (or that filled the day); "invalid" if it never was one."""
        if not self.has_hours:
            return "invalid"
        policy = self.policy()
        if is_free_slot(self.rules, self.overrides, self.busy, policy, now, start_utc, duration_minutes):
            return None
        if start_utc > now and is_free_slot(self.rules, self.overrides, [], policy, now, start_utc,
                                            duration_minutes):
            return "taken"
        return "invalid"


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield list(ids[i:i + CHUNK])


def _is_lapsed_hold(state: ConsultationState, hold_expires_at: datetime | None, now: datetime) -> bool:
    return state is ConsultationState.PENDING_PAYMENT and hold_expires_at is not None and hold_expires_at <= now


def _windows_query(chunk: list[int], earliest_day: date) -> Any:
    """Date overrides and weekly rules of these profiles in one round trip (rules have a weekday,
    overrides a day and kind)."""
    overrides = select(
        AvailabilityOverride.specialist_id, AvailabilityOverride.day, AvailabilityOverride.kind,
        AvailabilityOverride.start_time, AvailabilityOverride.end_time, cast(null(), Integer).label("weekday"),
    ).where(AvailabilityOverride.specialist_id.in_(chunk), AvailabilityOverride.day >= earliest_day)
    rules = select(
        AvailabilityRule.specialist_id, cast(null(), Date), cast(null(), String(8)), AvailabilityRule.start_time,
        AvailabilityRule.end_time, AvailabilityRule.weekday,
    ).where(AvailabilityRule.specialist_id.in_(chunk))
    return union_all(overrides, rules)


# What each row of the calendar's busy-times query is (one round trip reads all three).
BOOKING, HELD_OFFER, EXTERNAL_BUSY = 0, 1, 2


def _held_offers_query(chunk: list[int], busy_since: datetime) -> Any:
    """The times waitlist offers hold (until claimed or released), shaped like the bookings query."""
    return select(WaitlistOffer.id, WaitlistOffer.specialist_id, WaitlistOffer.client_id,
                  literal(ConsultationKind.FREE, Consultation.kind.type),
                  literal(ConsultationState.CONFIRMED, Consultation.state.type), WaitlistOffer.start_utc,
                  WaitlistOffer.end_utc, cast(null(), Consultation.hold_expires_at.type),
                  literal(HELD_OFFER, Integer)).where(
        WaitlistOffer.specialist_id.in_(chunk), WaitlistOffer.state == OfferState.OFFERED,
        WaitlistOffer.end_utc > busy_since)


def _external_busy_query(chunk: list[int], busy_since: datetime) -> Any:
    """Busy times read from the specialists' other calendars (external_calendars.py), shaped like
    the bookings query."""
    return select(ExternalBusyTime.id, ExternalBusyTime.specialist_id, cast(null(), Consultation.client_id.type),
                  cast(null(), Consultation.kind.type), cast(null(), Consultation.state.type),
                  ExternalBusyTime.start_utc, ExternalBusyTime.end_utc,
                  cast(null(), Consultation.hold_expires_at.type), literal(EXTERNAL_BUSY, Integer)).where(
        ExternalBusyTime.specialist_id.in_(chunk), ExternalBusyTime.end_utc > busy_since)


def _load(profiles: Sequence[tuple[int, str]], now: datetime, *, exclude_consultation_id: int | None = None,
          client_id: int | None = None, lock_settings: bool = False) -> dict[int, SpecialistCalendar]:
    calendars = {
        pid: SpecialistCalendar(pid, zone_or_utc(tz), SchedulingSettings.defaults_for(pid))
        for pid, tz in profiles
    }
    busy_since = now - BUSY_LOOKBACK
    for chunk in _chunks(sorted(calendars)):
        settings_query = select(SchedulingSettings).where(SchedulingSettings.specialist_id.in_(chunk))
        if lock_settings:
            settings_query = settings_query.with_for_update()
        for settings in db.session.scalars(settings_query):
            calendars[settings.specialist_id].settings = settings
        for pid, day, kind, start, end, weekday in db.session.execute(_windows_query(chunk, busy_since.date())):
            if weekday is not None:
                calendars[pid].rules.append(WeeklyRule(weekday, start, end))
            else:
                calendars[pid].overrides.append(DateOverride(day, OverrideKind(kind).value, start, end))
        relevant: ColumnElement[bool] = Consultation.state.not_in(RELEASED_STATES) & (Consultation.end_utc > busy_since)
        if client_id is not None:  # … and the client's free consultations, for the one-per-pair rule
            relevant = or_(relevant, and_(Consultation.client_id == client_id, Consultation.uses_free_consultation))
        query = select(Consultation.id, Consultation.specialist_id, Consultation.client_id, Consultation.kind,
                       Consultation.state, Consultation.start_utc, Consultation.end_utc,
                       Consultation.hold_expires_at, literal(BOOKING, Integer).label("source")).where(
            Consultation.specialist_id.in_(chunk), relevant)
        if exclude_consultation_id is not None:
            query = query.where(Consultation.id != exclude_consultation_id)
        busy_times = union_all(query, _held_offers_query(chunk, busy_since), _external_busy_query(chunk, busy_since))
        for row in db.session.execute(busy_times):
            calendar = calendars[row.specialist_id]
            if row.source == HELD_OFFER:  # a time held for a waiting client: busy for everyone else
                calendar.busy.append(Busy(row.start_utc, row.end_utc, counts_toward_daily_cap=True))
                continue
            if row.source == EXTERNAL_BUSY:  # busy in another calendar of the specialist
                calendar.busy.append(Busy(row.start_utc, row.end_utc, counts_toward_daily_cap=False))
                continue
            if client_id is not None and row.client_id == client_id and row.kind is ConsultationKind.FREE:
                calendar.client_has_free_consultation = True
            if row.end_utc <= busy_since or row.state in RELEASED_STATES:  # (a late-cancelled free one)
                continue
            if _is_lapsed_hold(row.state, row.hold_expires_at, now):
                calendar.lapsed_holds.append(row.id)
                continue
            # Paid sessions occupy the calendar but the daily cap counts free consultations.
            calendar.busy.append(Busy(row.start_utc, row.end_utc,
                                      counts_toward_daily_cap=row.kind is ConsultationKind.FREE))
    return calendars


def load_calendars(profiles: Sequence[tuple[int, str]], now: datetime | None = None, *,
                   exclude_consultation_id: int | None = None) -> dict[int, SpecialistCalendar]:
    """Calendars for ``(profile_id, timezone)`` pairs in a constant number of queries.

    ``exclude_consultation_id`` leaves one booking out of the busy times (rescheduling it).
    """
    return _load(profiles, now or utcnow(), exclude_consultation_id=exclude_consultation_id)


def load_calendar(profile: SpecialistProfile, now: datetime | None = None, *,
                  exclude_consultation_id: int | None = None) -> SpecialistCalendar:
    """The calendar of one specialist (three small queries)."""
    return load_calendars([(profile.id, profile.timezone)], now,
                          exclude_consultation_id=exclude_consultation_id)[profile.id]


def load_booking_calendar(profile: SpecialistProfile, now: datetime, *, client_id: int | None = None,
                          exclude_consultation_id: int | None = None) -> SpecialistCalendar:
    """The calendar a booking is validated against, fresh from the database (three queries).

    The specialist's settings row is locked (``FOR UPDATE`` on PostgreSQL; SQLite serialises
    writers anyway) until the booking commits, so two bookings of one specialist see each
    other: the daily cap holds under concurrency. With ``client_id`` it also tells whether that
    client already has a free consultation with the specialist.
    """
    return _load([(profile.id, profile.timezone)], now, exclude_consultation_id=exclude_consultation_id,
                 client_id=client_id, lock_settings=True)[profile.id]


def snapshot_booking_calendar(profile: SpecialistProfile, start_utc: datetime,
                              now: datetime) -> SpecialistCalendar | None:
    """The calendar of a booking of the free 30-minute consultation at ``start_utc`` validated
    against the precomputed slots (two queries: the snapshot, then the settings row, locked as in
    ``load_booking_calendar``) — or None when the snapshot cannot say (none, or
    computed from older hours, or ``start_utc`` not among its slots): then the caller loads the
    calendar. The calendar returned has the settings and zone only (``from_snapshot``); whether the
    time is still free, and the client's one free consultation, are decided by the database guard
    when the booking is inserted."""
    slots = read_booking_snapshot(profile.id, now)
    if not slots or start_utc not in slots:
        return None
    settings = db.session.scalar(select(SchedulingSettings).where(SchedulingSettings.specialist_id == profile.id)
                                 .with_for_update())
    return SpecialistCalendar(profile.id, zone_or_utc(profile.timezone),
                              settings or SchedulingSettings.defaults_for(profile.id), from_snapshot=True)


def free_slots_for(profile: SpecialistProfile, now: datetime | None = None, *,
                   exclude_consultation_id: int | None = None) -> list[datetime]:
    """Free 30-minute slots (UTC) of one specialist, computed now from the database."""
    if not offers_booking(profile):
        return []
    now = now or utcnow()
    return load_calendar(profile, now, exclude_consultation_id=exclude_consultation_id).free_slots(now)


# --- precomputed availability (pages) ---------------------------------------------------------

def bookable_slots(profile: SpecialistProfile, now: datetime | None = None, *,
                   changed_at: datetime | None = None) -> list[datetime]:
    """Free 30-minute slots (UTC) to show: the profile's snapshot (one query), or computed now
    while it has none yet (a new profile before the refresh job ran) — or, with ``changed_at``,
    none computed since that calendar change (a mail about it written before the refresh job
    ran). Never writes."""
    if not offers_booking(profile):
        return []
    now = now or utcnow()
    slots = read_snapshot(profile.id, now, computed_since=changed_at)
    if slots is None:
        slots = load_calendar(profile, now).free_slots(now)
    return slots


def days_off(profile_id: int, first: date, last: date) -> list[date]:
    """The profile's days off from ``first`` to ``last`` (dates in its zone; one query): the
    time its calendar blocks besides bookings (the week calendar shows them)."""
    return list(db.session.scalars(
        select(AvailabilityOverride.day).where(
            AvailabilityOverride.specialist_id == profile_id, AvailabilityOverride.kind == OverrideKind.OFF,
            AvailabilityOverride.day >= first, AvailabilityOverride.day <= last)
        .order_by(AvailabilityOverride.day)))


def would_offer_booking(profile: SpecialistProfile) -> bool:
    """What ``offers_booking`` will say once the profile is listed (its owner's preview)."""
    return bool(profile.offers_free_consultation and profile.accepting_new_clients)


def preview_slots(profile: SpecialistProfile, now: datetime | None = None) -> list[datetime]:
    """The slots clients will see once this profile is listed, computed from its calendar (an
    unlisted profile has no snapshot): the owner's (and admins') preview. Never writes."""
    if not would_offer_booking(profile):
        return []
    now = now or utcnow()
    return load_calendar(profile, now).free_slots(now)


def upcoming_free_slots(profile: SpecialistProfile, limit: int = 6,
                        tz_name: str | None = None, *, preview: bool = False) -> dict[date, list[datetime]]:
    """The next ``limit`` free slots grouped by the viewer's local day (profile page)."""
    slots = preview_slots(profile) if preview else bookable_slots(profile)
    return group_by_local_day(slots[:limit], tz_name or viewer_timezone())


@dataclass(frozen=True)
class BookingCard:
    """The profile page's booking card: the next free times by local day, or — for a specialist
    without the free consultation — that they offer paid sessions only. ``preview``: the owner's
    (or an admin's) view of an unlisted profile: its real times, not bookable yet."""

    days: dict[date, list[datetime]] = field(default_factory=dict)
    preview: bool = False
    paid_only: bool = False


def profile_booking_card(profile: SpecialistProfile, tz_name: str, *, preview: bool = False,
                         limit: int = 6) -> BookingCard | None:
    """What the profile's booking card shows in zone ``tz_name`` (None: no card, e.g. a
    specialist not taking new clients)."""
    if would_offer_booking(profile) if preview else offers_booking(profile):
        return BookingCard(days=upcoming_free_slots(profile, limit, tz_name, preview=preview), preview=preview)
    if not profile.offers_free_consultation:
        return BookingCard(preview=preview, paid_only=True)
    return None


# --- keeping snapshots and next_available_at current ------------------------------------------

class _ChangedCalendars:
    """The profile ids changed in one unit of work; called after its commit."""

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.may_free: set[int] = set()  # those whose change may have made time free (listeners')

    def __call__(self) -> None:
        ids = sorted(self.ids)
        # Each profile's change counter, counted up before the job is queued: the job is told the
        # values this change gave them (see ``refresh_in_batches``'s ``coalesce``).
        bumped = bump_version(*(_changes_name(pid) for pid in ids), *(f"availability:{pid}" for pid in ids),
                              "directory")
        enqueue(refresh_availability, ids, [bumped.get(_changes_name(pid)) for pid in ids])
        if self.may_free:
            for listener in _CHANGE_LISTENERS:
                listener(sorted(self.may_free))


# Called after the commit of every calendar change that may have made time free, with the profile
# ids (the waitlist queues its matching job here: ``waitlist.py`` registers with
# ``on_calendar_changed`` at import); a new booking only takes time (``occupies_only``).
_CHANGE_LISTENERS: list[Callable[[list[int]], None]] = []


def on_calendar_changed(listener: Callable[[list[int]], None]) -> Callable[[list[int]], None]:
    """Register ``listener(profile_ids)`` to run after the commit of a calendar change (once)."""
    if listener not in _CHANGE_LISTENERS:
        _CHANGE_LISTENERS.append(listener)
    return listener


def calendar_changed(profile_ids: Iterable[int], *, blocks_only: bool = False, occupies_only: bool = False) -> None:
    """Record that these profiles' free slots (or whether they can be booked) may have changed.

    Call it for every such change, inside the transaction. After the commit, ONE
    ``refresh_availability`` job recomputes all of them and the cached pages that show them are
    made stale. A rolled-back unit of work queues nothing.

    ``blocks_only``: the change only occupied or freed calendar blocks (a booking, a hold, a
    waitlist offer, a cancellation), which the occupied-block guard sees, so the precomputed slots
    still validate bookings and nothing is written here. ``occupies_only`` (implies ``blocks_only``):
    the change only took free time (a new booking), so no time became free for the listeners to
    offer (the waitlist). Any other change (hours, days off,
    settings, busy times of other calendars, zone, bookability) marks the snapshots as computed
    from older hours, in this transaction (one UPDATE): bookings then load the calendar until the
    refresh.
    """
    ids = {int(pid) for pid in profile_ids}
    if not ids:
        return
    if not (blocks_only or occupies_only):
        mark_hours_changed(sorted(ids))
    pending = g.get("_calendar_changed")
    if pending is None or pending not in g.get("_after_commit", ()):  # none yet in this unit of work
        pending = g._calendar_changed = _ChangedCalendars()
        after_commit(pending)
    pending.ids |= ids
    if not occupies_only:
        pending.may_free |= ids


def compute_snapshots(profile_ids: Sequence[int], now: datetime) -> list[Snapshot]:
    """Free slots of these profiles (at most ``CHUNK``) as of ``now``; empty for profiles that
    cannot be booked. Reads only: the profiles, then one calendar load for the bookable ones."""
    # The hours version first: a change of hours committed after this read leaves these snapshots
    # marked as computed from older hours, whatever this computation reads next.
    rows = db.session.execute(
        select(SpecialistProfile.id, SpecialistProfile.timezone, bookable_clause().label("bookable"),
               AvailabilitySnapshot.hours_version)
        .outerjoin(AvailabilitySnapshot, AvailabilitySnapshot.profile_id == SpecialistProfile.id)
        .where(SpecialistProfile.id.in_(list(profile_ids)))
    ).all()
    seen = {pid: version or 0 for pid, _tz, _bookable, version in rows}
    calendars = load_calendars([(pid, tz) for pid, tz, bookable, _version in rows if bookable], now)
    snapshots = []
    for pid, _tz, _bookable, _version in rows:
        calendar = calendars.get(pid)
        if calendar is None:
            snapshots.append(Snapshot(pid, [], 0, None, seen.get(pid, 0)))
            continue
        slots = calendar.free_slots(now)
        notice = timedelta(minutes=calendar.settings.min_notice_minutes)
        due = None
        if calendar.has_hours:
            due = min(now + SNAPSHOT_MAX_AGE, slots[0] - notice) if slots else now + SNAPSHOT_MAX_AGE
        snapshots.append(Snapshot(pid, slots, calendar.settings.min_notice_minutes, due, seen.get(pid, 0)))
    return snapshots


def refresh_next_available(profile_ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Recompute the snapshots and ``next_available_at`` of these profiles (all if None), in the
    current transaction. Constant number of queries per 500 profiles; returns how many.

    The job, the periodic sweep and the CLI use it through ``refresh_in_batches``; demo data
    and test set-up call it directly. Everything else calls ``calendar_changed``.
    """
    now = now or utcnow()
    ids = _profile_ids(profile_ids)
    for chunk in _chunks(ids):
        write_snapshots(compute_snapshots(chunk, now), now)
    return len(ids)


def _profile_ids(profile_ids: Iterable[int] | None) -> list[int]:
    if profile_ids is None:
        return list(db.session.scalars(select(SpecialistProfile.id).order_by(SpecialistProfile.id)))
    return sorted({int(pid) for pid in profile_ids})


def _changes_name(profile_id: int) -> str:
    """The version counted up after every committed calendar change of the profile."""
    return f"calendar-changes:{profile_id}"


def _refreshed_key(profile_id: int) -> str:
    """The profile's change counter as its last refresh read it before computing."""
    return f"calendar-refreshed:{profile_id}"


def _still_to_refresh(ids: list[int], changes: dict[int, int]) -> tuple[list[int], dict[int, int]]:
    """Which of these profiles still need computing — not those a refresh has computed since the
    change that counted their counter up to ``changes[pid]``: one that read the counter at that
    value or later before computing (the counter is counted up after the change's commit, so it
    read the calendar with the change in it) — and, for those, the counters as read now (only
    values the shared cache holds: a counter it cannot say marks nothing). Without a shared cache
    nothing is known: every profile is computed."""
    if not is_shared() or not ids:
        return ids, {}
    found = cache.get_many(*(version_key(_changes_name(pid)) for pid in ids), *(_refreshed_key(pid) for pid in ids))
    current, marks = found[:len(ids)], found[len(ids):]
    todo = [pid for pid, mark in zip(ids, marks, strict=True)
            if mark is None or changes.get(pid) is None or int(mark) < changes[pid]]
    read = {pid: int(value) for pid, value in zip(ids, current, strict=True) if value is not None}
    return todo, {pid: read[pid] for pid in todo if pid in read}


def _note_refreshed(seen: dict[int, int]) -> None:
    cache.set_many({_refreshed_key(pid): counter for pid, counter in seen.items()}, timeout=VERSION_SECONDS)


def refresh_in_batches(profile_ids: Iterable[int] | None = None, *, calendars_changed: bool = True,
                       coalesce: dict[int, int] | None = None) -> int:
    """``refresh_next_available`` as a series of short units of work of ``CHUNK`` profiles each.

    After a calendar change the directory pages are stale at once (version "directory"); when
    only time has passed (``calendars_changed=False``: the periodic sweep) they are not bumped:
    their timeout (two minutes) already bounds how far the clock can have moved them, and a
    sweep over many profiles must not empty the directory cache batch after batch. Each refreshed
    profile's own page (version "availability:<id>") follows at once either way.

    Each batch reads in one transaction and writes in another that starts with the write (so
    on SQLite it queues for the lock instead of failing with a stale read snapshot); the
    snapshot write keeps the later of two concurrent computations. Commits, so only for jobs
    and commands. Returns the number of profiles refreshed.

    ``coalesce`` (the job queued by ``calendar_changed``: each profile's change counter as the
    change left it): a profile that a refresh computed since that change is not computed again,
    so a backlog of jobs for one specialist (bookings in quick succession) costs one computation.
    """
    ids = _profile_ids(profile_ids)
    refreshed = 0
    for chunk in _chunks(ids):
        seen: dict[int, int] = {}
        if coalesce is not None:
            chunk, seen = _still_to_refresh(chunk, coalesce)
            if not chunk:
                continue
        now = utcnow()
        snapshots = compute_snapshots(chunk, now)
        db.session.rollback()  # end the read-only transaction
        write_snapshots(snapshots, now)
        bump_after_commit(*(f"availability:{s.profile_id}" for s in snapshots),
                          *(("directory",) if calendars_changed else ()))
        if seen:
            after_commit(functools.partial(_note_refreshed, seen))
        commit()
        refreshed += len(chunk)
    return refreshed


@jobs.task
def refresh_availability(profile_ids: list[int], changes: list[int | None] | None = None) -> None:
    """Job (queued by ``calendar_changed``): recompute these profiles' availability — not those a
    job has already recomputed since this change (``changes``: their change counters after it)."""
    counters = {pid: c for pid, c in zip(profile_ids, changes or [], strict=False) if c is not None}
    refresh_in_batches(profile_ids, coalesce=counters)


def profiles_due_for_refresh(now: datetime, limit: int = CHUNK) -> list[int]:
    """Up to ``limit`` profile ids whose snapshot time has made stale: bookable profiles without
    a snapshot, then snapshots past ``refresh_due_at`` (most overdue first; a profile no longer
    bookable is emptied once and leaves the queue). Index-backed; cheap at any size."""
    missing = list(db.session.scalars(
        select(SpecialistProfile.id)
        .where(bookable_clause(), ~exists().where(AvailabilitySnapshot.profile_id == SpecialistProfile.id))
        .order_by(SpecialistProfile.id).limit(limit)
    ))
    if len(missing) >= limit:
        return missing
    due = db.session.scalars(
        select(AvailabilitySnapshot.profile_id).where(AvailabilitySnapshot.refresh_due_at <= now)
        .order_by(AvailabilitySnapshot.refresh_due_at).limit(limit - len(missing))
    )
    return missing + list(due)


@jobs.periodic(minute="*/5")
def refresh_stale_availability(max_profiles: int = PERIODIC_MAX_PROFILES) -> int:
    """Periodic job: slots move forward in time, so refresh the stale snapshots (see
    ``profiles_due_for_refresh``), at most ``max_profiles`` per run. Returns how many."""
    refreshed = 0
    while refreshed < max_profiles:  # time passed, hours unchanged: drop what came too close
        trimmed = trim_snapshots(utcnow(), max_age=SNAPSHOT_MAX_AGE, limit=min(CHUNK, max_profiles - refreshed))
        if not trimmed:
            break
        bump_after_commit(*(f"availability:{pid}" for pid in trimmed))
        commit()
        refreshed += len(trimmed)
    while refreshed < max_profiles:
        ids = profiles_due_for_refresh(utcnow(), min(CHUNK, max_profiles - refreshed))
        if not ids:
            break
        refreshed += refresh_in_batches(ids, calendars_changed=False)
    if refreshed:
        log.info("refreshed the availability of %s profile(s)", refreshed)
    return refreshed


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


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _lock_hours(profile_id: int) -> None:
    """Serialise edits of one profile's hours until the commit: two submissions at once (two tabs,
    a double tap) would each merge against the rules the other has not written yet and leave
    overlapping rules. PostgreSQL locks the profile row; SQLite's POST requests already hold the
    write lock from their first statement (``database.configure_engine_events``)."""
    db.session.execute(select(SpecialistProfile.id).where(SpecialistProfile.id == profile_id).with_for_update())


def _merge_into_day(profile_id: int, weekday: int, start: time, end: time,
                    rule: AvailabilityRule | None = None) -> tuple[AvailabilityRule, str | None]:
    """Put the window ``start``–``end`` on ``weekday``, merged with the profile's rules on that day
    that overlap or touch it (Mon 09–12 and Mon 10–11, or Mon 09–12 and Mon 12–13), so a day never
    lists the same hours twice. ``rule`` is the rule being edited (it becomes the merged one).
    Returns the rule and, when others were merged in, the message saying so."""
    others = list(db.session.scalars(select(AvailabilityRule).where(
        AvailabilityRule.specialist_id == profile_id, AvailabilityRule.weekday == weekday,
        *([AvailabilityRule.id != rule.id] if rule is not None else []))))
    joined = [r for r in others if r.start_time <= end and start <= r.end_time]
    new_start = min([start, *(r.start_time for r in joined)])
    new_end = max([end, *(r.end_time for r in joined)])
    if rule is None and joined:
        rule, joined = joined[0], joined[1:]
        merged = True
    else:
        merged = bool(joined)
    for other in joined:
        db.session.delete(other)
    db.session.flush()  # the merged rows go before the kept one may take their exact hours
    if rule is None:
        rule = AvailabilityRule(specialist_id=profile_id, weekday=weekday, start_time=new_start, end_time=new_end)
        db.session.add(rule)
    else:
        rule.weekday, rule.start_time, rule.end_time = weekday, new_start, new_end
    db.session.flush()
    message = (f"Merged with your existing {WEEKDAYS[weekday]} hours: {_hhmm(new_start)}–{_hhmm(new_end)}"
               if merged else None)
    return rule, message


@dataclass
class HoursChange:
    """What an edit of the weekly hours did: the rules now holding the hours, and what was merged."""

    rules: list[AvailabilityRule]
    merged: list[str]


def add_weekly_hours(profile: SpecialistProfile, weekdays: Iterable[int], start: time | None,
                     end: time | None) -> HoursChange:
    """The same hours on several weekdays at once (e.g. Mon–Fri 09:00–12:00, in the profile's time
    zone); hours overlapping or touching existing ones on a day are merged into one rule."""
    days = sorted(set(weekdays))
    if not days or any(day not in range(7) for day in days):
        raise AvailabilityError("Choose at least one day of the week.")
    start, end = _check_window(start, end)
    _lock_hours(profile.id)
    change = HoursChange([], [])
    for day in days:
        rule, message = _merge_into_day(profile.id, day, start, end)
        change.rules.append(rule)
        if message:
            change.merged.append(message)
    calendar_changed([profile.id])
    log.info("profile %s added weekly hours on %s day(s)", profile.id, len(days))
    return change


def add_weekly_rule(profile: SpecialistProfile, weekday: int, start: time | None, end: time | None) -> AvailabilityRule:
    """Add a weekly window on one day (``add_weekly_hours`` for one weekday); returns its rule."""
    if weekday not in range(7):
        raise AvailabilityError("Choose a day of the week.")
    return add_weekly_hours(profile, [weekday], start, end).rules[0]


def weekly_rule_of(profile: SpecialistProfile, rule_id: int) -> AvailabilityRule | None:
    """One of the profile's weekly rules (None for anyone else's id)."""
    return db.session.scalar(select(AvailabilityRule).where(
        AvailabilityRule.id == rule_id, AvailabilityRule.specialist_id == profile.id))


def update_weekly_rule(profile: SpecialistProfile, rule_id: int, start: time | None,
                       end: time | None) -> HoursChange | None:
    """Change the times of one of the profile's weekly rules (merged with the day's other rules it
    now overlaps or touches); None when it is not a rule of this profile."""
    _lock_hours(profile.id)
    rule = weekly_rule_of(profile, rule_id)
    if rule is None:
        return None
    start, end = _check_window(start, end)
    rule, message = _merge_into_day(profile.id, rule.weekday, start, end, rule)
    calendar_changed([profile.id])
    log.info("profile %s changed availability rule %s", profile.id, rule.id)
    return HoursChange([rule], [message] if message else [])


def has_hours(profile: SpecialistProfile) -> bool:
    """Whether the profile has weekly hours or extra hours still to come (publishing needs them)."""
    today = utcnow().date() - timedelta(days=1)
    return bool(db.session.scalar(select(or_(
        exists().where(AvailabilityRule.specialist_id == profile.id),
        exists().where(AvailabilityOverride.specialist_id == profile.id,
                       AvailabilityOverride.kind == OverrideKind.EXTRA, AvailabilityOverride.day >= today)))))


def _moved_windows(weekday: int, start: time, end: time, old: ZoneInfo, new: ZoneInfo,
                   today: date) -> list[tuple[int, time, time]]:
    """A weekly window of zone ``old`` as the same moments in zone ``new`` (at this week's offsets);
    split at midnight when it now crosses it (the part before midnight ends at 23:45, the last
    quarter hour a rule can end on)."""
    day = today + timedelta(days=(weekday - today.weekday()) % 7)
    begin = datetime.combine(day, start, old).astimezone(new)
    finish = datetime.combine(day, end, old).astimezone(new)
    pieces: list[tuple[datetime, datetime]] = []
    if begin.date() == finish.date():
        pieces.append((begin, finish))
    else:
        pieces.append((begin, begin.replace(hour=23, minute=45)))
        pieces.append((finish.replace(hour=0, minute=0), finish))
    windows = []
    for a, b in pieces:
        if b - a >= timedelta(minutes=FREE_CONSULTATION_MINUTES):
            windows.append((a.weekday(), a.time().replace(tzinfo=None), b.time().replace(tzinfo=None)))
    return windows


def move_weekly_hours(profile: SpecialistProfile, old_zone: str, new_zone: str, keep: str) -> None:
    """The profile's zone changed from ``old_zone`` to ``new_zone``. Weekly rules are stored as the
    profile's local clock times: ``KEEP_CLOCK`` leaves them as they are (09:00 stays 09:00 in the
    new zone); ``KEEP_MOMENTS`` rewrites them to the same moments (at this week's offsets), merged
    where they now meet. The availability is refreshed after the commit either way."""
    if keep == KEEP_MOMENTS and is_valid_timezone(old_zone) and is_valid_timezone(new_zone):
        old, new = ZoneInfo(old_zone), ZoneInfo(new_zone)
        today = utcnow().astimezone(old).date()
        rules = list(db.session.scalars(select(AvailabilityRule).where(AvailabilityRule.specialist_id == profile.id)))
        windows = [w for r in rules for w in _moved_windows(r.weekday, r.start_time, r.end_time, old, new, today)]
        for rule in rules:
            db.session.delete(rule)
        db.session.flush()
        for weekday, start, end in sorted(set(windows)):
            _merge_into_day(profile.id, weekday, start, end)
        log.info("profile %s moved its weekly hours from %s to %s", profile.id, old_zone, new_zone)
    calendar_changed([profile.id])


def remove_weekly_rule(profile: SpecialistProfile, rule_id: int) -> bool:
    """Remove one of the profile's weekly windows (existing bookings are kept).

    False when there is no such rule of this profile (someone else's id, or already removed).
    """
    result = execute_dml(delete(AvailabilityRule).where(
        AvailabilityRule.id == rule_id, AvailabilityRule.specialist_id == profile.id))
    if result.rowcount != 1:
        return False
    calendar_changed([profile.id])
    return True


def add_date_override(profile: SpecialistProfile, day: date | None, kind: str, start: time | None = None,
                      end: time | None = None, today: date | None = None) -> AvailabilityOverride:
    """A day off, or extra hours on one date (in the profile's time zone)."""
    if day is None:
        raise AvailabilityError("Choose a date.")
    zone = zone_or_utc(profile.timezone)
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
    calendar_changed([profile.id])
    return override


def remove_date_override(profile: SpecialistProfile, override_id: int) -> bool:
    """Remove a date exception of the profile; False if it is not one of theirs."""
    result = execute_dml(delete(AvailabilityOverride).where(
        AvailabilityOverride.id == override_id, AvailabilityOverride.specialist_id == profile.id))
    if result.rowcount != 1:
        return False
    calendar_changed([profile.id])
    return True


CONFIRM_WITHIN_MESSAGE = (f"The time to confirm a request must be between {CONFIRM_WITHIN_HOURS_MIN} and "
                          f"{CONFIRM_WITHIN_HOURS_MAX} hours (7 days).")
STALE_SETTINGS = "These settings were changed in another window. Please review them and save again."


@dataclass(frozen=True)
class CancellationChoice:
    """A specialist's choice of cancellation terms (``cancellation``), one of the presets each."""

    free_notice_hours: int
    paid_notice_hours: int
    late_refund: LateRefund

    @classmethod
    def of(cls, profile: SpecialistProfile) -> CancellationChoice:
        return cls(profile.free_cancel_notice_hours, profile.paid_cancel_notice_hours, profile.paid_late_refund)

    def check(self) -> None:
        if self.free_notice_hours not in FREE_NOTICE_CHOICES:
            raise AvailabilityError("Choose a notice for free consultations from the list.")
        if self.paid_notice_hours not in PAID_NOTICE_CHOICES:
            raise AvailabilityError("Choose a notice for paid sessions from the list.")
        if not isinstance(self.late_refund, LateRefund):
            raise AvailabilityError("Choose what a late cancellation or a missed session costs from the list.")


def update_scheduling_settings(profile: SpecialistProfile, *, version_id: int | None, buffer_minutes: int,
                               min_notice_minutes: int, horizon_days: int, max_per_day: int | None,
                               auto_confirm: bool, confirm_within_hours: int | None = None,
                               terms: CancellationChoice | None = None) -> SchedulingSettings:
    """Save booking settings; refuses a form from a stale tab. ``confirm_within_hours`` and ``terms``
    (the cancellation terms, one of the presets) None keep the current values (the defaults for a
    new row); new terms apply to bookings made from now on, never to existing ones. Meeting details
    (video link, address, phone) are the profile's, edited and validated in one place: the profile
    editor (``specialists.services.check_meeting_details``)."""
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
    if confirm_within_hours is not None and confirm_within_hours not in range(
            CONFIRM_WITHIN_HOURS_MIN, CONFIRM_WITHIN_HOURS_MAX + 1):
        raise AvailabilityError(CONFIRM_WITHIN_MESSAGE)
    if terms is not None:
        terms.check()
    if settings is None:
        settings = SchedulingSettings(specialist_id=profile.id, confirm_within_hours=CONFIRM_WITHIN_HOURS_DEFAULT)
        db.session.add(settings)
    if confirm_within_hours is not None:
        settings.confirm_within_hours = confirm_within_hours
    settings.buffer_minutes = buffer_minutes
    settings.min_notice_minutes = min_notice_minutes
    settings.horizon_days = horizon_days
    settings.max_per_day = max_per_day
    settings.auto_confirm = auto_confirm
    if terms is not None and terms != CancellationChoice.of(profile):
        # (kept on the profile, which every booking and booking page has loaded already)
        profile.free_cancel_notice_hours = terms.free_notice_hours
        profile.paid_cancel_notice_hours = terms.paid_notice_hours
        profile.paid_late_refund = terms.late_refund
    try:
        db.session.flush()
    except StaleDataError:
        raise AvailabilityError(STALE_SETTINGS) from None
    calendar_changed([profile.id])
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
    "AvailabilityError", "AvailabilityView", "BookingCard", "HoursChange", "SpecialistCalendar",
    "add_date_override", "add_weekly_hours", "add_weekly_rule", "bookable_clause", "bookable_slots",
    "calendar_changed", "compute_snapshots", "days_off", "free_slots_for", "get_availability", "has_hours",
    "load_booking_calendar", "load_calendar", "load_calendars", "move_weekly_hours", "offers_booking",
    "on_calendar_changed", "preview_slots", "profile_booking_card", "profiles_due_for_refresh",
    "refresh_availability", "refresh_in_batches", "refresh_next_available", "refresh_stale_availability",
    "remove_date_override", "remove_weekly_rule", "set_weekly_hours", "snapshot_booking_calendar", "upcoming_free_slots",
    "update_scheduling_settings", "update_weekly_rule", "weekly_rule_of", "would_offer_booking",
]
