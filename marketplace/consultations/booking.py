"""Booking and rescheduling the free consultation.

Double booking is made impossible by the database, not by Python: a booking inserts its
consultation row and one ``OccupiedBlock`` per 15-minute block of ``[start, end + buffer)``
in ONE savepoint; the unique constraint (specialist, block) makes the second of two racing
transactions fail, and the partial unique index on (client, specialist) does the same for
a client racing to book two slots. The failure is caught here and raised as a ``BookingError``
the view turns into "Sorry, this time was just taken — please choose another".

SQLite note: a POST request's transaction takes the write lock up front (BEGIN IMMEDIATE, see
``database.configure_engine_events``), so concurrent bookings queue on the busy timeout and the
loser's fresh validation (or the constraint) refuses it. Outside a request a stale read snapshot
can fail with "database is locked"; that, like a lock timeout, is treated as a lost race.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, String, and_, case, cast, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError

from marketplace.audit import record_audit
from marketplace.auth.confirmation import BOOK, confirmation_refusal
from marketplace.auth.models import Role, User
from marketplace.auth.sessions import forget_loaded, load_with_user
from marketplace.consultations.availability import (
    SpecialistCalendar,
    bookable_slots,
    calendar_changed,
    load_booking_calendar,
    load_calendar,
    offers_booking,
    snapshot_booking_calendar,
)
from marketplace.consultations.hooks import booking_hooks
from marketplace.consultations.models import (
    BLOCK_MINUTES,
    FREE_CONSULTATION_MINUTES,
    ONE_FREE_PER_PAIR_INDEX,
    OPEN_STATES,
    RELEASED_STATES,
    Consultation,
    ConsultationKind,
    ConsultationOutcome,
    ConsultationState,
    OccupiedBlock,
    SchedulingSettings,
    WaitlistEntry,
)
from marketplace.consultations.notifications import notify_booked, notify_rescheduled
from marketplace.database import one_of, utcnow, violated_constraint
from marketplace.domain import DomainError
from marketplace.extensions import db
from marketplace.scheduling.slots import occupied_block_starts
from marketplace.scheduling.weeks import SlotWeek, TimeFilter, WeekQuery, slot_week
from marketplace.specialists.models import SpecialistProfile

log = logging.getLogger(__name__)

SLOT_TAKEN = "Sorry, this time was just taken — please choose another"
NOTE_MAX_LENGTH = 1000
ALLOWED_SOURCES = {"campaign"}


class BookingError(DomainError):
    """A booking, rescheduling or paid booking was refused; nothing was changed.

    ``code`` says which rule refused: ``taken`` (the time was just taken: a lost race or a day
    filled meanwhile), ``duplicate`` (a second free consultation with the same specialist),
    ``invalid`` (no such time, format or note), ``not_bookable``, ``not_client``, ``unconfirmed``,
    ``late`` (a paid session inside its cancellation notice can no longer be moved: ``moves``);
    the payments domain adds its own (``payments.policy.PaidBookingError``)."""

    code = "invalid"

    @property
    def taken(self) -> bool:
        return self.code == "taken"


def parse_slot(value: str | None) -> datetime | None:
    """A slot as sent by the booking form ('2026-12-01T09:00:00Z'); None if malformed."""
    if not value or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(timezone.utc)


def safe_format_param(value: str | None) -> str | None:
    """A meeting format slug from a link (``?format=video``), or None if it is not one."""
    return value if value and len(value) <= 20 and value.replace("_", "").isalpha() else None


def format_slot(value: datetime) -> str:
    """The inverse of ``parse_slot``: a compact UTC ISO string for forms and links."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def active_free_consultation(client_id: int, specialist_id: int) -> Consultation | None:
    """The client's free consultation with this specialist that is not cancelled or expired (or was
    cancelled late), if any."""
    return db.session.scalar(select(Consultation).where(
        Consultation.client_id == client_id, Consultation.specialist_id == specialist_id,
        Consultation.uses_free_consultation,
    ).limit(1))


@dataclass(frozen=True)
class Standing:
    """Where a client stands with one specialist, for the profile page and the message thread:
    ``upcoming`` (their next consultation, requested or confirmed), else ``free_done`` (the free
    consultation took place, was missed or was cancelled too late to rebook; ``proceed`` when
    both agreed to continue: paid sessions come next)."""

    upcoming: Consultation | None = None
    free_done: Consultation | None = None

    @property
    def proceed(self) -> bool:
        return self.free_done is not None and self.free_done.outcome is ConsultationOutcome.PROCEED

    @property
    def can_book_free(self) -> bool:
        return self.upcoming is None and self.free_done is None

    @property
    def person_state(self) -> tuple[str, ...] | None:
        """What a page shows of it, as a key for keeping that part (``specialists.pages``): only
        "nothing with this specialist" is the same for every client; anything else is rendered."""
        return ("none",) if self.can_book_free else None


UPCOMING_STATES = (ConsultationState.REQUESTED, ConsultationState.CONFIRMED)


def _counts_for_standing() -> ColumnElement[bool]:
    """The consultations ``client_standing`` looks at."""
    return or_(Consultation.uses_free_consultation, one_of(Consultation.state, UPCOMING_STATES))


# The specialists a client has such consultations with ("3,17,17"), loaded with the session's user
# (``auth.sessions.load_with_user``): a profile of anyone else needs no query to say "you have none".
STANDING_WITH = "standing_with"


def _standing_with_column() -> ColumnElement[str | None]:
    specialists = (select(func.aggregate_strings(cast(Consultation.specialist_id, String(12)), ","))
                   .where(Consultation.client_id == User.id, _counts_for_standing())
                   .correlate(User).scalar_subquery())
    return case((User.role == Role.CLIENT, specialists), else_=None)


load_with_user(STANDING_WITH, _standing_with_column, people={Consultation: lambda c: (c.client_id,)})


def client_standing(client_id: int, specialist_id: int, now: datetime | None = None) -> Standing:
    """The client's next consultation with this specialist and their free consultation, one query.

    A free consultation that is not cancelled or expired, or that the client cancelled late, counts as
    used (one per specialist, the booking rule ``active_free_consultation`` applies); one cancelled in
    time or expired can be booked again."""
    now = now or utcnow()
    rows = db.session.scalars(select(Consultation).where(
        Consultation.client_id == client_id, Consultation.specialist_id == specialist_id, _counts_for_standing(),
    ).order_by(Consultation.start_utc)).all()
    upcoming = next((c for c in rows if c.state in UPCOMING_STATES and c.end_utc > now), None)
    free = next((c for c in rows if c.kind is ConsultationKind.FREE), None)
    return Standing(upcoming=upcoming, free_done=free if free is not None and free is not upcoming else None)


def standing_of(viewer: Any, profile_id: int) -> Standing | None:
    """Where ``viewer`` stands with the specialist if they are a client (None for anyone else):
    the profile and the message thread show "Your consultation" instead of offering it again."""
    if not getattr(viewer, "is_client", False):
        return None
    loaded = getattr(viewer, "loaded_with_session", {})
    if STANDING_WITH in loaded and str(profile_id) not in (loaded[STANDING_WITH] or "").split(","):
        return Standing()  # none with this specialist (as of this request's start: see ``book_free_consultation``)
    return client_standing(viewer.id, profile_id)


def buffer_minutes_for(profile_id: int) -> int:
    """The specialist's buffer between bookings (reads the settings row: not for the booking path,
    which has it from its calendar)."""
    settings = db.session.get(SchedulingSettings, profile_id)
    return settings.buffer_minutes if settings is not None else 0


def block_rows(consultation: Consultation, buffer_minutes: int) -> list[OccupiedBlock]:
    return [
        OccupiedBlock(specialist_id=consultation.specialist_id, block_start_utc=start,
                      consultation_id=consultation.id)
        for start in occupied_block_starts(consultation.start_utc, consultation.end_utc, buffer_minutes,
                                           BLOCK_MINUTES)
    ]


def _insert_blocks(consultation: Consultation, buffer_minutes: int) -> None:
    """The booking's occupied blocks in one statement (the unique constraint decides races)."""
    db.session.execute(insert(OccupiedBlock), [
        {"specialist_id": consultation.specialist_id, "block_start_utc": start, "consultation_id": consultation.id}
        for start in occupied_block_starts(consultation.start_utc, consultation.end_utc, buffer_minutes,
                                           BLOCK_MINUTES)
    ])


def _classify(exc: IntegrityError) -> str:
    """A lost race: "duplicate" when the client already has a free consultation with the
    specialist (the partial unique index), else "taken" (the slot's occupied blocks)."""
    return "duplicate" if violated_constraint(exc) == ONE_FREE_PER_PAIR_INDEX else "taken"


def validate_slot(profile: SpecialistProfile, start_utc: datetime, now: datetime, *,
                  duration_minutes: int = FREE_CONSULTATION_MINUTES, client_id: int | None = None,
                  exclude_consultation_id: int | None = None,
                  precomputed: bool = False) -> tuple[SpecialistCalendar, str | None]:
    """THE slot check of every booking (free consultations, paid sessions, rescheduling).

    Returns the calendar (its settings serve the rest of the booking) with None if ``start_utc``
    is free, "taken" if it is a real slot that is occupied, or "invalid". Races between two
    valid requests, and bookings made since the slots were computed, are decided by the database
    (``place_booking``: the occupied blocks and the one-free-consultation index).

    With ``precomputed`` (a new free consultation) a time among the precomputed slots is accepted
    on two queries (``snapshot_booking_calendar``: only while those slots were computed from the
    current hours); otherwise — and for any time the snapshot does not list — the specialist's
    calendar is loaded once, fresh and with the settings row locked (``load_booking_calendar``).
    Payment holds past their expiry are then released first (only when there are any, through the
    ``before_booking`` hook the payments domain registers), so their blocks never refuse this booking.
    """
    if precomputed and duration_minutes == FREE_CONSULTATION_MINUTES and exclude_consultation_id is None:
        snapshot_calendar = snapshot_booking_calendar(profile, start_utc, now)
        if snapshot_calendar is not None:
            return snapshot_calendar, None
    calendar = load_booking_calendar(profile, now, client_id=client_id,
                                     exclude_consultation_id=exclude_consultation_id)
    if calendar.lapsed_holds:
        booking_hooks.run_before_booking(profile.id, now)
    return calendar, calendar.slot_problem(start_utc, now, duration_minutes)


def place_booking(consultation: Consultation, calendar: SpecialistCalendar, *,
                  before: Callable[[], None] | None = None,
                  after: Callable[[Consultation], None] | None = None) -> None:
    """Insert ``consultation`` and its occupied blocks atomically (one SAVEPOINT).

    ``calendar`` is the one ``validate_slot`` returned (buffer, daily cap, time zone).
    ``before`` runs first inside the savepoint (e.g. cancelling the booking being rescheduled),
    ``after`` last (audit, mail, ``calendar_changed``) — all undone together if the slot is taken.
    Raises ``BookingError`` with code "taken" (``SLOT_TAKEN``) or "duplicate" when the database
    refuses it (nothing is left behind). Reusable for paid sessions.
    """
    if consultation.rescheduled_from_id is None:  # (a rescheduled booking keeps the terms it was made under)
        profile = db.session.get(SpecialistProfile, consultation.specialist_id)  # (the caller's: no query)
        assert profile is not None
        consultation.take_terms(profile)  # the specialist's cancellation terms of today, kept
    with _booking_savepoint(consultation.specialist_id):
        if before is not None:
            before()
        db.session.add(consultation)
        _occupy(consultation, calendar, after)


def _occupy(consultation: Consultation, calendar: SpecialistCalendar,
            after: Callable[[Consultation], None] | None) -> None:
    """Inside a booking savepoint: the booking's blocks (the guard), the daily cap, then ``after``."""
    db.session.flush()
    _insert_blocks(consultation, calendar.settings.buffer_minutes)
    if _over_daily_cap(consultation, calendar):
        raise _DailyCapReached
    if after is not None:
        after(consultation)
        db.session.flush()


def move_booking(consultation: Consultation, calendar: SpecialistCalendar, start_utc: datetime, *,
                 after: Callable[[Consultation], None] | None = None) -> None:
    """Move ``consultation`` IN PLACE to ``start_utc`` (same length) atomically (one SAVEPOINT).

    For bookings other rows point at (a paid session's payment, a series' charge): the row, its
    id and everything on it stay; its old occupied blocks are deleted and the new ones inserted,
    so the unique constraint decides a race exactly as for a new booking (and the daily cap is
    checked again). Its calendar SEQUENCE grows (same UID: calendars move the event) and its
    reminders are due again for the new time. ``calendar`` is the one ``validate_slot`` returned
    (excluding this booking); ``after`` runs last (audit, mail, hooks, ``calendar_changed``).
    Raises ``BookingError`` "taken" when the database refuses it; then nothing changed and the
    consultation is reloaded as it was.
    """
    length = consultation.end_utc - consultation.start_utc
    try:
        with _booking_savepoint(consultation.specialist_id):
            release_blocks(consultation)
            consultation.start_utc, consultation.end_utc = start_utc, start_utc + length
            consultation.sequence += 1
            consultation.reminder_24h_sent_at = consultation.reminder_1h_sent_at = None
            _occupy(consultation, calendar, after)
    except BookingError:
        db.session.refresh(consultation)  # the savepoint rolled back: the booking as it still is
        raise


@contextmanager
def _booking_savepoint(specialist_id: int) -> Iterator[None]:
    """The savepoint of a booking's writes, with the database's refusals turned into ``BookingError``:
    "taken" (a block's unique constraint, the daily cap, a lock that timed out) or "duplicate"."""
    try:
        with db.session.begin_nested():
            yield
    except _DailyCapReached:
        log.info("booking for specialist %s refused: daily cap reached meanwhile", specialist_id)
        raise BookingError(SLOT_TAKEN, "taken") from None
    except IntegrityError as exc:
        outcome = _classify(exc)
        log.info("booking lost a race for specialist %s (%s)", specialist_id, outcome)
        raise BookingError(SLOT_TAKEN if outcome == "taken" else DUPLICATE_ANY, outcome) from exc
    except OperationalError as exc:
        message = str(exc).lower()
        if not any(word in message for word in ("locked", "busy", "deadlock")):
            raise
        log.warning("booking for specialist %s timed out waiting for the database", specialist_id)
        raise BookingError(SLOT_TAKEN, "taken") from exc


class _DailyCapReached(Exception):
    """Another booking filled the specialist's day while this one was being placed."""


def _over_daily_cap(consultation: Consultation, calendar: SpecialistCalendar) -> bool:
    """Whether this booking exceeds the specialist's ``max_per_day`` (their local day).

    Runs inside the booking savepoint after the insert. The settings row was locked when the
    calendar was loaded (``load_booking_calendar``), so two bookings of different slots on the
    same day cannot both see room for one more.
    """
    if calendar.settings.max_per_day is None:
        return False
    zone = ZoneInfo(calendar.timezone)
    local_day = consultation.start_utc.astimezone(zone).date()
    day_start = datetime.combine(local_day, time(0), zone).astimezone(timezone.utc)
    day_end = datetime.combine(local_day + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
    booked = db.session.scalar(
        select(func.count(Consultation.id)).where(
            Consultation.specialist_id == consultation.specialist_id,
            Consultation.state.not_in(RELEASED_STATES),
            Consultation.start_utc >= day_start,
            Consultation.start_utc < day_end,
        )
    )
    return (booked or 0) > calendar.settings.max_per_day


def release_blocks(consultation: Consultation) -> None:
    """Free the calendar blocks of a cancelled (or expired) booking."""
    db.session.execute(delete(OccupiedBlock).where(OccupiedBlock.consultation_id == consultation.id))


CANNOT_RESCHEDULE = "This consultation can no longer be rescheduled."
RESCHEDULE_TOO_LATE = ("This consultation can no longer be rescheduled: its {hours}-hour cancellation notice has "
                       "begun. You can still cancel it (a late cancellation).")


def inside_notice(consultation: Consultation, now: datetime) -> bool:
    """Whether the booking's cancellation notice has begun (its terms, snapshotted at booking):
    from then on it can no longer be moved to another time — only cancelled, late. A booking
    without a notice can be moved until it starts."""
    return bool(consultation.terms.notice_hours) and consultation.terms.is_late(now, consultation.start_utc)


def not_taking_moves(profile: SpecialistProfile) -> str:
    """Why a paid session with ``profile`` cannot be moved: the profile is not listed (withdrawn)."""
    return (f"{profile.display_name} is not taking new times right now, so this session cannot be moved. "
            "You can keep it or cancel it.")


DUPLICATE = "You already have a free consultation with {name}. There is one free consultation per specialist."
DUPLICATE_ANY = DUPLICATE.format(name="this specialist")
NOT_A_SLOT = "That time is not available. Please choose one of the times shown."


def _check_request(client: User, profile: SpecialistProfile, start_utc: datetime | None, format_slug: str | None,
                   note: str | None) -> None:
    """The rules that need no database (raises ``BookingError`` when one refuses)."""
    if not getattr(client, "is_client", False):
        raise BookingError("Only client accounts can book a consultation.", "not_client")
    refusal = confirmation_refusal(client, BOOK)
    if refusal:
        raise BookingError(refusal, "unconfirmed")
    if not offers_booking(profile):
        raise BookingError(f"{profile.display_name} is not offering free consultations right now.",
                           "not_bookable")
    if format_slug not in profile.format_slugs():
        raise BookingError("Choose how you would like to meet.", "invalid")
    if note is not None and len(note) > NOTE_MAX_LENGTH:
        raise BookingError(f"Please keep your note under {NOTE_MAX_LENGTH} characters.", "invalid")
    if start_utc is None:
        raise BookingError("Choose a time for your consultation.", "invalid")


def slot_refusal(problem: str) -> BookingError:
    """The refusal for ``validate_slot``'s problem ("taken" or "invalid")."""
    return BookingError(SLOT_TAKEN, "taken") if problem == "taken" else BookingError(NOT_A_SLOT, "invalid")


def book_free_consultation(client: User, profile: SpecialistProfile, start_utc: datetime | None,
                           format_slug: str | None, note: str | None = None, *, source: str | None = None,
                           now: datetime | None = None) -> Consultation:
    """Book the free 30-minute consultation of ``client`` with ``profile`` at ``start_utc``.

    Validates the slot against the calendar loaded once (``validate_slot``), then inserts the
    consultation and its blocks in one savepoint, and returns the consultation. Raises
    ``BookingError`` when refused: code "taken" for a lost race, "duplicate" for a second free
    consultation with the same specialist, … (nothing changed). Queues the e-mails (with .ics)
    to both sides; the profile's availability is refreshed after commit.
    """
    now = now or utcnow()
    note = (note or "").strip() or None
    _check_request(client, profile, start_utc, format_slug, note)
    assert start_utc is not None

    def booking(calendar: SpecialistCalendar) -> Consultation:
        auto_confirm = calendar.settings.auto_confirm
        return Consultation(
            client_id=client.id, specialist_id=profile.id, kind=ConsultationKind.FREE,
            state=ConsultationState.CONFIRMED if auto_confirm else ConsultationState.REQUESTED,
            start_utc=start_utc, end_utc=start_utc + timedelta(minutes=FREE_CONSULTATION_MINUTES),
            format=format_slug, note=note, source=source if source in ALLOWED_SOURCES else None,
            confirmed_at=now if auto_confirm else None, sequence=0, created_at=now,
            confirm_by_utc=None if auto_confirm else calendar.settings.confirm_deadline(now, start_utc),
        )

    def after(booked: Consultation) -> None:
        record_audit(client, "consultation.booked", booked, after={"state": booked.state.value,
                                                                   "start_utc": booked.start_utc.isoformat()})
        notify_booked(booked)
        forget_loaded(client, STANDING_WITH)  # (the rest of this request asks the database)
        booking_hooks.run_after_booking(booked)
        calendar_changed([profile.id], occupies_only=True)  # (a held time it withdraws says so itself)

    def place(precomputed: bool) -> Consultation:
        calendar, problem = validate_slot(profile, start_utc, now, client_id=client.id, precomputed=precomputed)
        if calendar.client_has_free_consultation:
            raise BookingError(DUPLICATE.format(name=profile.display_name), "duplicate")
        if problem is not None:
            raise slot_refusal(problem)
        consultation = booking(calendar)
        try:
            place_booking(consultation, calendar, after=after)
        except BookingError as exc:
            if exc.code == "duplicate":
                raise BookingError(DUPLICATE.format(name=profile.display_name), "duplicate") from exc
            if exc.code == "taken" and calendar.from_snapshot:
                # Booked since the slots were computed, or held by a payment hold that has lapsed:
                # the calendar decides (and releases lapsed holds).
                return place(precomputed=False)
            raise
        return consultation

    consultation = place(precomputed=True)
    log.info("consultation %s booked (%s)", consultation.id, consultation.state.value)
    return consultation


def reschedule_consultation(consultation: Consultation, user: User, start_utc: datetime | None,
                            now: datetime | None = None) -> Consultation:
    """Move a free consultation to another slot: cancel it and book the new slot atomically.

    The new booking keeps the calendar UID (SEQUENCE + 1), format, note and video link. If the new slot
    is taken, nothing changes (both steps are in one savepoint). Returns the new consultation;
    raises ``BookingError`` when refused.
    """
    now = now or utcnow()
    if not consultation.can_reschedule(user):
        raise BookingError(CANNOT_RESCHEDULE, "invalid")
    if inside_notice(consultation, now):
        raise BookingError(RESCHEDULE_TOO_LATE.format(hours=consultation.terms.notice_hours), "late")
    profile = consultation.specialist
    if start_utc == consultation.start_utc:
        raise BookingError("Choose a different time to reschedule.", "invalid")
    _check_request(user, profile, start_utc, consultation.format, consultation.note)
    assert start_utc is not None
    calendar, problem = validate_slot(profile, start_utc, now, exclude_consultation_id=consultation.id)
    if problem is not None:
        raise slot_refusal(problem)
    auto_confirm = calendar.settings.auto_confirm
    new = Consultation(
        client_id=consultation.client_id, specialist_id=consultation.specialist_id, kind=consultation.kind,
        state=ConsultationState.CONFIRMED if auto_confirm else ConsultationState.REQUESTED,
        start_utc=start_utc, end_utc=start_utc + (consultation.end_utc - consultation.start_utc),
        format=consultation.format, note=consultation.note, source=consultation.source,
        video_link=consultation.video_link,
        cancel_notice_hours=consultation.cancel_notice_hours, late_refund=consultation.late_refund,
        ical_uid=consultation.uid, rescheduled_from_id=consultation.id, sequence=consultation.sequence + 1,
        confirmed_at=now if auto_confirm else None, created_at=now,
        confirm_by_utc=None if auto_confirm else calendar.settings.confirm_deadline(now, start_utc),
    )
    old_start = consultation.start_utc

    def before() -> None:
        consultation.state = ConsultationState.CANCELLED
        consultation.cancel_reason = "Rescheduled by the client"
        consultation.cancelled_by_id = user.id
        consultation.cancelled_at = now
        db.session.flush()
        release_blocks(consultation)

    def after(booked: Consultation) -> None:
        record_audit(user, "consultation.rescheduled", booked,
                     before={"consultation_id": consultation.id, "start_utc": old_start.isoformat()},
                     after={"start_utc": booked.start_utc.isoformat(), "state": booked.state.value})
        notify_rescheduled(booked, old_start)
        calendar_changed([profile.id], blocks_only=True)

    try:
        place_booking(new, calendar, before=before, after=after)
    except BookingError as exc:
        db.session.refresh(consultation)  # the savepoint rolled back: show the unchanged booking
        raise BookingError(SLOT_TAKEN, "taken") from exc
    log.info("consultation %s rescheduled as %s", consultation.id, new.id)
    return new


@dataclass
class BookingPage:
    """What the booking (or rescheduling) page shows to ``viewer``."""

    profile: SpecialistProfile
    tz: str
    slots: list[datetime] = field(default_factory=list)  # every free time offered (UTC)
    week: SlotWeek | None = None  # the week of them the picker shows
    blocked: str | None = None  # why this viewer cannot book (then no form is shown)
    existing: Consultation | None = None  # the viewer's open free consultation with this specialist
    waiting: WaitlistEntry | None = None  # the viewer's place on this specialist's waitlist

    def offers(self, start_utc: datetime | None) -> bool:
        """Whether ``start_utc`` is one of the free times offered (in any week)."""
        return start_utc is not None and start_utc in self.slots


def _free_consultation_and_waitlist(client_id: int, specialist_id: int
                                    ) -> tuple[Consultation | None, WaitlistEntry | None]:
    """``active_free_consultation`` and the client's waitlist entry with this specialist, in one query."""
    row = db.session.execute(
        select(Consultation, WaitlistEntry).select_from(User)
        .outerjoin(Consultation, and_(Consultation.client_id == User.id, Consultation.specialist_id == specialist_id,
                                      Consultation.kind == ConsultationKind.FREE,
                                      Consultation.state.not_in(RELEASED_STATES)))
        .outerjoin(WaitlistEntry, and_(WaitlistEntry.client_id == User.id,
                                       WaitlistEntry.specialist_id == specialist_id))
        .where(User.id == client_id).limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else (None, None)


def week_query(args: Any, selected: str | None) -> WeekQuery:
    """What the picker was asked for: ``?week=`` and ``?part=`` of the page's query string (a
    ``MultiDict``), and the time chosen so far (a slot value; anything else is no choice)."""
    return WeekQuery(week=args.get("week"), filter=TimeFilter.from_values(args.getlist("part")),
                     selected=parse_slot(selected))


def booking_page(profile: SpecialistProfile, viewer: User, tz: str, *, query: WeekQuery | None = None,
                 rescheduling: Consultation | None = None, now: datetime | None = None) -> BookingPage:
    """Free slots of one specialist for the booking page (from the snapshot) and the week of them
    to show for ``query``, or the reason there is no form. Reads only."""
    now = now or utcnow()
    page = BookingPage(profile=profile, tz=tz)
    moving_paid = rescheduling is not None and rescheduling.kind is ConsultationKind.PAID
    if moving_paid and not profile.is_listed:
        page.blocked = not_taking_moves(profile)
        return page
    if not moving_paid and not offers_booking(profile):
        page.blocked = f"{profile.display_name} is not offering free consultations right now."
        return page
    if not getattr(viewer, "is_client", False):
        page.blocked = "Consultations are booked with a client account. Log in as a client to book."
        return page
    if not profile.formats:
        page.blocked = f"{profile.display_name} has not yet said how they meet clients. Please check back soon."
        return page
    if rescheduling is not None:
        # Its own time is free for this viewer only: computed now, without the booking being moved;
        # times of its own length (a paid session's), and for a paid session only times outside its
        # cancellation notice (``moves.move_paid_session`` refuses the others).
        calendar = load_calendar(profile, now, exclude_consultation_id=rescheduling.id)
        page.slots = [s for s in calendar.free_slots(now, rescheduling.length_minutes)
                      if s != rescheduling.start_utc and not (moving_paid and rescheduling.terms.is_late(now, s))]
    else:
        page.existing, page.waiting = _free_consultation_and_waitlist(viewer.id, profile.id)
        if page.existing is not None:
            page.blocked = DUPLICATE.format(name=profile.display_name)
            return page
        page.slots = bookable_slots(profile, now)
    page.week = slot_week(page.slots, tz, query or WeekQuery(), now)
    return page


__all__ = [
    "ALLOWED_SOURCES", "BookingError", "BookingPage", "CANNOT_RESCHEDULE", "OPEN_STATES", "RESCHEDULE_TOO_LATE",
    "SLOT_TAKEN", "Standing",
    "active_free_consultation", "client_standing", "inside_notice", "standing_of",
    "booking_page",
    "book_free_consultation", "format_slot", "move_booking", "not_taking_moves", "parse_slot", "safe_format_param",
    "place_booking", "release_blocks",
    "reschedule_consultation", "slot_refusal", "validate_slot", "week_query",
]
