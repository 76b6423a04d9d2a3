"""Models of the consultations domain: consultations, the occupied-block guard against
double booking, and each specialist's availability (weekly rules, date overrides, settings).

Invariants live in the database:
* ``occupied_blocks`` has UNIQUE (specialist_id, block_start_utc): two bookings that would
  overlap (including the buffer) cannot both commit — on SQLite and PostgreSQL alike.
* a partial unique index allows one free consultation per client and specialist that is not
  cancelled or expired (an expired request gave its place back: the client may book again).
* CHECK constraints keep times ordered and settings in range.
"""
from __future__ import annotations

import enum
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    and_,
    false,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import UTCDateTime, enum_type, none_of, utcnow
from marketplace.encryption import token_length
from marketplace.extensions import Model
from marketplace.scheduling.cancellation import (
    DEFAULT_FREE_NOTICE_HOURS,
    DEFAULT_LATE_REFUND,
    CancellationTerms,
    LateRefund,
)
from marketplace.specialists.models import FreeTimesMixin, SpecialistProfile

FREE_CONSULTATION_MINUTES = 30
BLOCK_MINUTES = 15
SLOT_STEP_MINUTES = 30  # slots start on the half hour of each window (local wall clock)
ICS_DOMAIN = "balance.example"


class ConsultationKind(enum.StrEnum):
    FREE = "free"
    PAID = "paid"


class ConsultationState(enum.StrEnum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    PENDING_PAYMENT = "pending_payment"  # a paid session's hold, until the webhook confirms it
    EXPIRED = "expired"  # a request the specialist did not confirm by its deadline (its slot is free again)
    # The client reported that the specialist did not come (``no_shows.report_specialist_no_show``):
    # the other way round of NO_SHOW. It gives the client's free consultation back.
    SPECIALIST_NO_SHOW = "specialist_no_show"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    ConsultationState.REQUESTED: "Requested",
    ConsultationState.CONFIRMED: "Confirmed",
    ConsultationState.COMPLETED: "Completed",
    ConsultationState.NO_SHOW: "No-show",
    ConsultationState.CANCELLED: "Cancelled",
    ConsultationState.PENDING_PAYMENT: "Awaiting payment",
    ConsultationState.EXPIRED: "Expired",
    ConsultationState.SPECIALIST_NO_SHOW: "Specialist did not come",
}

# States that hold a place in the specialist's calendar (before and during the meeting).
OPEN_STATES = (ConsultationState.REQUESTED, ConsultationState.CONFIRMED)
# States that still occupy the calendar (blocks exist) — an expired payment hold is released by payments.
CALENDAR_STATES = (*OPEN_STATES, ConsultationState.PENDING_PAYMENT)
# States that gave their place back: no calendar blocks, and a free consultation in one of them
# does not use up the client's one free consultation with that specialist (they may book again):
# cancelled, expired, or the specialist did not come (reported by the client).
RELEASED_STATES = (ConsultationState.CANCELLED, ConsultationState.EXPIRED, ConsultationState.SPECIALIST_NO_SHOW)


class ConsultationOutcome(enum.StrEnum):
    PROCEED = "proceed"
    NOT_A_FIT = "not_a_fit"

    @property
    def label(self) -> str:
        return "Proceed" if self is ConsultationOutcome.PROCEED else "Not a fit"


# An outcome, a completion or a no-show may be corrected (undone) by the specialist within this
# long after recording it (``lifecycle.undo_record``); after that it stands.
CORRECTION_WINDOW = timedelta(hours=24)
RECORDED_STATES = (ConsultationState.COMPLETED, ConsultationState.NO_SHOW)

# A free consultation the client cancelled late (``late_cancellation``) still counts: it used up
# their free consultation with that specialist (``scheduling.cancellation``); one the specialist did
# not come to is given back.
ONE_FREE_PER_PAIR_WHERE = ("kind = 'free' AND (state NOT IN ('cancelled', 'expired', 'specialist_no_show') "
                           "OR late_cancellation)")

# A client may report that the specialist did not come from the start of a confirmed free
# consultation until this long after it (``Consultation.can_report_no_show``).
NO_SHOW_REPORT_WINDOW = timedelta(days=7)


# The unique index that refuses a second free consultation of one client with one specialist
# (services tell it from a taken slot by this name: ``database.violated_constraint``).
ONE_FREE_PER_PAIR_INDEX = "uq_consultations_one_free_per_pair"


class Consultation(Model):
    __tablename__ = "consultations"
    __table_args__ = (
        CheckConstraint("end_utc > start_utc", name="consultation_end_after_start"),
        CheckConstraint("price_minor IS NULL OR price_minor >= 0", name="consultation_price_non_negative"),
        CheckConstraint("sequence >= 0", name="consultation_sequence_non_negative"),
        # One free consultation per client and specialist; a cancelled or expired one, or one the
        # specialist did not come to, may be rebooked; a completed (or client no-show) or
        # late-cancelled one may not.
        Index(
            ONE_FREE_PER_PAIR_INDEX,
            "client_id", "specialist_id",
            unique=True,
            sqlite_where=text(ONE_FREE_PER_PAIR_WHERE),
            postgresql_where=text(ONE_FREE_PER_PAIR_WHERE),
        ),
        Index("ix_consultations_specialist_start", "specialist_id", "start_utc"),
        Index("ix_consultations_client_start", "client_id", "start_utc"),
        Index("ix_consultations_state_start", "state", "start_utc"),
        Index("ix_consultations_state_confirm_by", "state", "confirm_by_utc"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"))
    kind: Mapped[ConsultationKind] = mapped_column(enum_type(ConsultationKind, 10), default=ConsultationKind.FREE)
    state: Mapped[ConsultationState] = mapped_column(enum_type(ConsultationState, 20),
                                                     default=ConsultationState.REQUESTED)
    start_utc: Mapped[datetime] = mapped_column(UTCDateTime())
    end_utc: Mapped[datetime] = mapped_column(UTCDateTime())
    format: Mapped[str] = mapped_column(String(40))  # a Format slug: video / phone / in_person
    note: Mapped[str | None] = mapped_column(Text)  # the client's note: never logged, never e-mailed
    price_minor: Mapped[int | None] = mapped_column(Integer)  # paid sessions only; minor units of `currency`
    currency: Mapped[str | None] = mapped_column(String(3))
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # paid holds only
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Cancellation terms copied from the specialist's profile at booking (``scheduling.cancellation``): later
    # changes of the settings never touch them. Rows booked before the terms existed have the old rule.
    cancel_notice_hours: Mapped[int] = mapped_column(Integer, default=DEFAULT_FREE_NOTICE_HOURS,
                                                     server_default=text("0"))
    late_refund: Mapped[LateRefund] = mapped_column(enum_type(LateRefund, 8), default=DEFAULT_LATE_REFUND,
                                                    server_default=DEFAULT_LATE_REFUND.value)
    # The client cancelled with less than the notice left (a free one then still uses up the free consultation).
    late_cancellation: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[ConsultationOutcome | None] = mapped_column(enum_type(ConsultationOutcome, 12))
    outcome_note: Mapped[str | None] = mapped_column(String(1000))
    # When the specialist recorded completed / no-show / the outcome (the correction window starts here).
    outcome_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source: Mapped[str | None] = mapped_column(String(20))  # "campaign" when booked from a campaign placement
    # A video link the specialist set for this consultation only (else the profile's is used):
    # ``meeting_video_link``; validated by ``specialists.services.check_meeting_details``.
    video_link: Mapped[str | None] = mapped_column(String(300))
    # Calendar identity: a reschedule keeps the UID of the booking it replaces (calendar apps
    # then move the event instead of adding a second one); SEQUENCE grows on every change.
    ical_uid: Mapped[str | None] = mapped_column(String(120))
    rescheduled_from_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id", ondelete="SET NULL"))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    reminder_24h_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_1h_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A request (free, awaiting the specialist) expires when not confirmed by this instant, fixed at
    # booking (``SchedulingSettings.confirm_deadline``); None for anything booked confirmed.
    confirm_by_utc: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The specialist's reminder of a request unanswered for 12 hours, claimed once.
    request_reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    client = relationship("User", foreign_keys=[client_id], lazy="select")
    specialist = relationship("SpecialistProfile", foreign_keys=[specialist_id], lazy="select")
    cancelled_by = relationship("User", foreign_keys=[cancelled_by_id], lazy="select")
    # The booking that replaced this one when the client rescheduled it (None otherwise).
    rescheduled_to = relationship(
        "Consultation", primaryjoin="Consultation.id == remote(foreign(Consultation.rescheduled_from_id))",
        viewonly=True, uselist=False, lazy="select")
    # (``payment``: the backref the payments domain adds, payments/models.py ``payment_of``)

    # --- state ------------------------------------------------------------------------------
    @hybrid_property
    def is_free(self) -> bool:
        return self.kind == ConsultationKind.FREE

    @hybrid_property
    def is_cancelled(self) -> bool:
        return self.state == ConsultationState.CANCELLED

    @property
    def is_rescheduled(self) -> bool:
        """Cancelled because the client moved it to another time (``rescheduled_to`` is the new booking)."""
        return self.state is ConsultationState.CANCELLED and self.rescheduled_to is not None

    @property
    def status_label(self) -> str:
        """The status shown to people: "Rescheduled" rather than "Cancelled" for a moved booking."""
        return "Rescheduled" if self.is_rescheduled else self.state.label

    @property
    def status_class(self) -> str:
        return "rescheduled" if self.is_rescheduled else self.state.value

    @property
    def terms(self) -> CancellationTerms:
        """The cancellation terms this booking was made under."""
        return CancellationTerms(self.cancel_notice_hours, self.late_refund)

    def take_terms(self, profile: SpecialistProfile) -> None:
        """Snapshot the specialist's current terms for this booking's kind (at booking)."""
        terms = profile.free_terms if self.kind is ConsultationKind.FREE else profile.paid_terms
        self.cancel_notice_hours, self.late_refund = terms.notice_hours, terms.late_refund

    @hybrid_property
    def uses_free_consultation(self) -> bool:
        """A free consultation that counts as the client's one with this specialist: not cancelled or
        expired, or cancelled late by the client (the rule of ``ONE_FREE_PER_PAIR_INDEX``)."""
        return self.kind is ConsultationKind.FREE and (self.state not in RELEASED_STATES or self.late_cancellation)

    @uses_free_consultation.inplace.expression
    @classmethod
    def _uses_free_consultation_expression(cls) -> Any:
        return and_(cls.kind == ConsultationKind.FREE,
                    or_(none_of(cls.state, RELEASED_STATES), cls.late_cancellation.is_(True)))

    @property
    def is_released(self) -> bool:
        """Cancelled or expired: its time went back to the specialist's calendar."""
        return self.state in RELEASED_STATES

    @hybrid_property
    def is_open(self) -> bool:
        """Requested or confirmed: still going to happen."""
        return self.state in OPEN_STATES

    @is_open.inplace.expression
    @classmethod
    def _is_open_expression(cls) -> Any:
        return cls.state.in_(OPEN_STATES)

    @property
    def is_upcoming(self) -> bool:
        """Open (requested / confirmed / awaiting payment) and not yet over."""
        return self.state in CALENDAR_STATES and self.end_utc > utcnow()

    @property
    def has_started(self) -> bool:
        return self.start_utc <= utcnow()

    @property
    def length_minutes(self) -> int:
        return int((self.end_utc - self.start_utc).total_seconds() // 60)

    @property
    def uid(self) -> str:
        """Stable iCalendar UID (kept across reschedules)."""
        return self.ical_uid or f"consultation-{self.id}@{ICS_DOMAIN}"

    # --- participants and permissions (the seam the authorization tests exercise) --------
    def is_client(self, user: object) -> bool:
        uid = getattr(user, "id", None)
        return uid is not None and uid == self.client_id

    def is_specialist(self, user: object) -> bool:
        uid = getattr(user, "id", None)
        return uid is not None and self.specialist is not None and self.specialist.user_id == uid

    def is_participant(self, user: object) -> bool:
        return self.is_client(user) or self.is_specialist(user)

    def can_view(self, user: object) -> bool:
        """The two participants and admins."""
        if not getattr(user, "is_authenticated", False):
            return False
        return self.is_participant(user) or bool(getattr(user, "is_admin", False))

    def can_view_meeting_details(self, user: object) -> bool:
        """Video link / address / phone: the two participants only (not admins)."""
        return self.is_participant(user) and self.state not in (*RELEASED_STATES, ConsultationState.PENDING_PAYMENT)

    @property
    def meeting_video_link(self) -> str | None:
        """The video link of this consultation: its own (set by the specialist), else the profile's."""
        return self.video_link or (self.specialist.video_link if self.specialist is not None else None)

    def can_set_video_link(self, user: object) -> bool:
        """The specialist, for a video consultation that is still open (requested or confirmed) and
        not yet over."""
        return (self.is_specialist(user) and self.format == "video" and self.state in OPEN_STATES
                and self.end_utc > utcnow())

    def can_view_ics(self, user: object) -> bool:
        return self.is_participant(user)

    def can_cancel(self, user: object) -> bool:
        """Either participant, while requested or confirmed, before the start."""
        return self.is_participant(user) and self.state in OPEN_STATES and not self.has_started

    def can_reschedule(self, user: object) -> bool:
        """The client, for a free consultation that is still open, before the start."""
        return (self.is_client(user) and self.kind is ConsultationKind.FREE
                and self.state in OPEN_STATES and not self.has_started)

    def can_move(self, user: object) -> bool:
        """The client, for a confirmed paid session (paid, or a series occurrence whose card is
        saved), before the start. Moved in place (``moves.move_paid_session``), and only while
        cancelling would still be on time: that, and a declined charge, the service checks."""
        return (self.is_client(user) and self.kind is ConsultationKind.PAID
                and self.state is ConsultationState.CONFIRMED and not self.has_started)

    def can_confirm(self, user: object) -> bool:
        """The specialist, for a requested consultation, before the start and its deadline."""
        return (self.is_specialist(user) and self.state is ConsultationState.REQUESTED and not self.has_started
                and not self.past_confirm_deadline())

    @property
    def confirm_deadline(self) -> datetime:
        """When this request expires unless the specialist confirms it (stored at booking; a request
        made before deadlines were stored gets the default rule)."""
        if self.confirm_by_utc is not None:
            return self.confirm_by_utc
        return SchedulingSettings.defaults_for(self.specialist_id).confirm_deadline(
            self.created_at or utcnow(), self.start_utc)

    def past_confirm_deadline(self, now: datetime | None = None) -> bool:
        return self.confirm_deadline <= (now or utcnow())

    def can_complete(self, user: object) -> bool:
        """The specialist marks it held (completed) or a no-show, once it has started."""
        return self.is_specialist(user) and self.state in OPEN_STATES and self.has_started

    def can_report_no_show(self, user: object, now: datetime | None = None) -> bool:
        """The client reports that the specialist did not come: a confirmed free consultation or
        paid session, from its start until ``NO_SHOW_REPORT_WINDOW`` after it, once (it then
        leaves "confirmed")."""
        now = now or utcnow()
        return (self.is_client(user) and self.state is ConsultationState.CONFIRMED
                and self.start_utc <= now < self.start_utc + NO_SHOW_REPORT_WINDOW)

    @property
    def correctable_until(self) -> datetime | None:
        """Until when the specialist may undo the recorded completion / no-show / outcome."""
        if self.state not in RECORDED_STATES or self.outcome_recorded_at is None:
            return None
        return self.outcome_recorded_at + CORRECTION_WINDOW

    def has_record_to_undo(self, user: object) -> bool:
        """The specialist, for a consultation they recorded as completed or a no-show (any time:
        ``can_undo_record`` adds the window)."""
        return self.is_specialist(user) and self.state in RECORDED_STATES

    def can_undo_record(self, user: object, now: datetime | None = None) -> bool:
        """The specialist, within ``CORRECTION_WINDOW`` of recording it."""
        until = self.correctable_until
        return self.has_record_to_undo(user) and until is not None and (now or utcnow()) < until

    def can_record_outcome(self, user: object) -> bool:
        """The specialist records proceed / not a fit for a free consultation after its start."""
        return (self.is_specialist(user) and self.kind is ConsultationKind.FREE and self.has_started
                and self.outcome is None
                and self.state in (*OPEN_STATES, ConsultationState.COMPLETED))

    def __repr__(self) -> str:  # ids only: reprs end up in logs
        return f"<Consultation {self.id} {self.state.value}>"


class NoShowReport(Model):
    """A client's report that the specialist did not come to a consultation (one per consultation).

    The admin reviews it (``reviewed_at``) and may dismiss it when it proves wrong; reports not
    dismissed count against the specialist's eligibility for the campaign (featured domain).
    """

    __tablename__ = "no_show_reports"
    __table_args__ = (
        Index("ix_no_show_reports_specialist_created", "specialist_id", "created_at"),
        Index("ix_no_show_reports_reviewed_created", "reviewed_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), unique=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(1000))  # the client's words, for the admin only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    dismissed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    consultation = relationship("Consultation", lazy="select")
    specialist = relationship("SpecialistProfile", lazy="select")
    client = relationship("User", foreign_keys=[client_id], lazy="select")
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id], lazy="select")

    def can_review(self, user: object) -> bool:
        return bool(getattr(user, "is_admin", False))

    def __repr__(self) -> str:
        return f"<NoShowReport {self.id} consultation={self.consultation_id}>"


class OccupiedBlock(Model):
    """One row per 15-minute UTC block a booking (plus its trailing buffer) occupies.

    The unique constraint is THE guard against double booking: the second of two racing
    transactions fails on insert. Rows are deleted when the booking is cancelled.
    """

    __tablename__ = "occupied_blocks"
    __table_args__ = (
        UniqueConstraint("specialist_id", "block_start_utc", name="uq_occupied_blocks_specialist_block"),
        Index("ix_occupied_blocks_consultation", "consultation_id"),
        Index("ix_occupied_blocks_waitlist_offer", "waitlist_offer_id"),
        # A block belongs to a booking or to a waitlist offer's 15-minute hold, never both.
        CheckConstraint("(consultation_id IS NULL) <> (waitlist_offer_id IS NULL)", name="occupied_block_one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"))
    block_start_utc: Mapped[datetime] = mapped_column(UTCDateTime())
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    # The time a waitlist offer holds for its client (``consultations.waitlist``) until claimed or expired.
    waitlist_offer_id: Mapped[int | None] = mapped_column(ForeignKey("waitlist_offers.id", ondelete="CASCADE"))


class CalendarFeed(Model):
    """A person's private calendar subscription URL (``/calendar/<token>.ics``), one per person.

    Only the SHA-256 of the secret token is stored: a leaked database gives no working URL, and
    the URL is shown once, when made. Making a new one replaces the hash (the old URL answers 404).
    """

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:  # never the hash: reprs end up in logs
        return f"<CalendarFeed of user {self.user_id}>"


# --- calendars of other services (busy times that block free slots) -------------------------

EXTERNAL_CALENDARS_MAX = 5  # per specialist
EXTERNAL_CALENDAR_URL_MAX = 2000  # characters
# The stored Fernet token of the longest address: UTF-8 takes at most 4 bytes a character.
EXTERNAL_CALENDAR_URL_TOKEN_MAX = token_length(4 * EXTERNAL_CALENDAR_URL_MAX)


class ExternalCalendar(Model):
    """An iCal address of another calendar of the specialist (Google, Apple, Outlook …) whose
    events block free slots. The URL is a secret of the specialist (it reads their whole calendar):
    it is stored encrypted (``url_encrypted``, a Fernet token under ``NOTES_KEYS``) and decrypted
    only by ``external_calendars`` when the calendar is read or exported; pages show only ``host``,
    logs only the id. A failed read keeps the last good busy times and records ``error`` (since
    ``failing_since``) for the specialist to see."""

    __tablename__ = "external_calendars"
    __table_args__ = (
        UniqueConstraint("specialist_id", "url_sha256", name="uq_external_calendars_specialist_url"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"), index=True)
    url_encrypted: Mapped[str] = mapped_column(String(EXTERNAL_CALENDAR_URL_TOKEN_MAX))
    url_sha256: Mapped[str] = mapped_column(String(64))  # one copy of an address per specialist
    host: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(String(300))
    busy_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    def __repr__(self) -> str:  # never the URL: reprs end up in logs
        return f"<ExternalCalendar {self.id} of profile {self.specialist_id} on {self.host}>"


class ExternalBusyTime(Model):
    """One busy interval (UTC) read from an external calendar, expanded over the booking horizon.
    Replaced as a whole on each good read of its calendar."""

    __tablename__ = "external_busy_times"
    __table_args__ = (
        CheckConstraint("end_utc > start_utc", name="external_busy_end_after_start"),
        Index("ix_external_busy_times_specialist_end", "specialist_id", "end_utc"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("external_calendars.id", ondelete="CASCADE"), index=True)
    # The calendar's specialist, so loading a calendar reads busy times by profile with one index.
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"))
    start_utc: Mapped[datetime] = mapped_column(UTCDateTime())
    end_utc: Mapped[datetime] = mapped_column(UTCDateTime())
# --- the earlier-slot waitlist --------------------------------------------------------------

class WaitlistEntry(Model):
    """A client waiting for a time with one specialist: an earlier one than ``before_utc`` (the
    earliest free time when they joined), or any (None: nothing was free), optionally only on
    some weekdays and times of day in ``timezone`` (the client's, when they joined). One per
    client and specialist; join order is ``created_at, id``."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        UniqueConstraint("client_id", "specialist_id", name="uq_waitlist_entries_client_specialist"),
        CheckConstraint("weekdays >= 0 AND weekdays <= 127", name="waitlist_entry_weekdays_mask"),
        Index("ix_waitlist_entries_specialist_created", "specialist_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"))
    before_utc: Mapped[datetime | None] = mapped_column(UTCDateTime())
    weekdays: Mapped[int] = mapped_column(Integer, default=0)  # bit d = weekday d (Monday 0); 0 = any day
    parts: Mapped[str] = mapped_column(String(40), default="")  # "morning,evening" (scheduling.weeks); "" = any
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    client = relationship("User", foreign_keys=[client_id], lazy="select")
    specialist = relationship("SpecialistProfile", foreign_keys=[specialist_id], lazy="select")

    def can_leave(self, user: object) -> bool:
        """Its client only."""
        uid = getattr(user, "id", None)
        return uid is not None and uid == self.client_id

    def __repr__(self) -> str:
        return f"<WaitlistEntry {self.id}>"


class OfferState(enum.StrEnum):
    OFFERED = "offered"  # the time is held for the client until ``expires_at``
    CLAIMED = "claimed"  # the client booked it (``consultation_id``)
    EXPIRED = "expired"  # not claimed in time: the hold was released and the time passed on
    WITHDRAWN = "withdrawn"  # the client left the waitlist (or booked another way) while it was held


# One open offer per client and specialist (an entry holds at most one time at once).
ONE_OPEN_OFFER_WHERE = "state = 'offered'"


class WaitlistOffer(Model):
    """A freed time offered to a waiting client, held for them (``OccupiedBlock`` rows with this
    offer's id: the same unique constraint that refuses double bookings makes one claimant win)
    until ``expires_at``. Kept after it ends: the same time is never offered to the same client twice."""

    __tablename__ = "waitlist_offers"
    __table_args__ = (
        CheckConstraint("end_utc > start_utc", name="waitlist_offer_end_after_start"),
        Index("uq_waitlist_offers_one_open_per_pair", "client_id", "specialist_id", unique=True,
              sqlite_where=text(ONE_OPEN_OFFER_WHERE), postgresql_where=text(ONE_OPEN_OFFER_WHERE)),
        Index("ix_waitlist_offers_state_expires", "state", "expires_at"),
        Index("ix_waitlist_offers_specialist_start", "specialist_id", "start_utc"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("waitlist_entries.id", ondelete="SET NULL"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"))
    start_utc: Mapped[datetime] = mapped_column(UTCDateTime())
    end_utc: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[OfferState] = mapped_column(enum_type(OfferState, 10), default=OfferState.OFFERED)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client = relationship("User", foreign_keys=[client_id], lazy="select")
    specialist = relationship("SpecialistProfile", foreign_keys=[specialist_id], lazy="select")

    def can_claim(self, user: object) -> bool:
        """Its client only (anyone else gets 404)."""
        uid = getattr(user, "id", None)
        return uid is not None and uid == self.client_id

    def __repr__(self) -> str:
        return f"<WaitlistOffer {self.id} {self.state.value}>"


# --- availability -------------------------------------------------------------------------

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class AvailabilityRule(Model):
    """A weekly window in the specialist's own time zone, e.g. Monday 09:00–12:00."""

    __tablename__ = "availability_rules"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="availability_rule_weekday"),
        CheckConstraint("end_time > start_time", name="availability_rule_end_after_start"),
        UniqueConstraint("specialist_id", "weekday", "start_time", "end_time", name="uq_availability_rule"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday … 6 = Sunday
    start_time: Mapped[time] = mapped_column(Time())
    end_time: Mapped[time] = mapped_column(Time())

    @property
    def weekday_name(self) -> str:
        return WEEKDAYS[self.weekday]


class OverrideKind(enum.StrEnum):
    OFF = "off"  # the whole day is unavailable
    EXTRA = "extra"  # extra hours on that date


class AvailabilityOverride(Model):
    """A date exception: a day off, or extra hours (wall clock in the specialist's zone)."""

    __tablename__ = "availability_overrides"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'off' AND start_time IS NULL AND end_time IS NULL) OR "
            "(kind = 'extra' AND start_time IS NOT NULL AND end_time IS NOT NULL AND end_time > start_time)",
            name="availability_override_shape",
        ),
        Index("ix_availability_overrides_specialist_day", "specialist_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[OverrideKind] = mapped_column(enum_type(OverrideKind, 8))
    start_time: Mapped[time | None] = mapped_column(Time())
    end_time: Mapped[time | None] = mapped_column(Time())


CONFIRM_WITHIN_HOURS_DEFAULT = 48
CONFIRM_WITHIN_HOURS_MIN = 1
CONFIRM_WITHIN_HOURS_MAX = 168  # a week


class SchedulingSettings(Model):
    """Per-profile booking policy. Missing row = the defaults below.

    ``version_id`` gives optimistic locking: a form submitted from a stale tab is refused.
    """

    __tablename__ = "scheduling_settings"
    __table_args__ = (
        CheckConstraint("buffer_minutes >= 0 AND buffer_minutes <= 240", name="scheduling_buffer_range"),
        CheckConstraint("min_notice_minutes >= 0", name="scheduling_notice_non_negative"),
        CheckConstraint("horizon_days >= 1 AND horizon_days <= 365", name="scheduling_horizon_range"),
        CheckConstraint("max_per_day IS NULL OR max_per_day >= 1", name="scheduling_max_per_day_positive"),
        CheckConstraint(f"confirm_within_hours >= {CONFIRM_WITHIN_HOURS_MIN} "
                        f"AND confirm_within_hours <= {CONFIRM_WITHIN_HOURS_MAX}",
                        name="scheduling_confirm_within_range"),
    )

    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"),
                                               primary_key=True)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=720)
    horizon_days: Mapped[int] = mapped_column(Integer, default=30)
    max_per_day: Mapped[int | None] = mapped_column(Integer)
    auto_confirm: Mapped[bool] = mapped_column(Boolean, default=False)
    # How long a request waits for the specialist before it expires (and the client is told).
    confirm_within_hours: Mapped[int] = mapped_column(Integer, default=CONFIRM_WITHIN_HOURS_DEFAULT,
                                                      server_default=text(str(CONFIRM_WITHIN_HOURS_DEFAULT)))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version_id: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version_id}

    DEFAULTS = {"buffer_minutes": 0, "min_notice_minutes": 720, "horizon_days": 30, "max_per_day": None,
                "auto_confirm": False, "confirm_within_hours": CONFIRM_WITHIN_HOURS_DEFAULT}

    def confirm_deadline(self, requested_at: datetime, start_utc: datetime) -> datetime:
        """When a request made at ``requested_at`` for ``start_utc`` expires unless confirmed:
        ``confirm_within_hours`` after it was made, or the minimum notice before the start,
        whichever comes first (never before it was made)."""
        by_window = requested_at + timedelta(hours=self.confirm_within_hours)
        by_notice = start_utc - timedelta(minutes=self.min_notice_minutes)
        return max(requested_at, min(by_window, by_notice))

    @classmethod
    def defaults_for(cls, specialist_id: int) -> SchedulingSettings:
        """A transient row with the defaults (not added to the session)."""
        return cls(specialist_id=specialist_id, version_id=0, **cls.DEFAULTS)


class AvailabilitySnapshot(FreeTimesMixin, Model):
    """A specialist's free 30-minute slots, precomputed so pages read them in one query.

    Written only by the availability refresh (``availability.refresh_next_available``: the job
    queued after every calendar change, the periodic sweep, the CLI). Readers drop the slots that
    have meanwhile come closer than ``min_notice_minutes``. A row whose ``version`` is not the
    current ``SNAPSHOT_VERSION`` is treated as missing (readers compute the slots themselves).
    """

    __tablename__ = "availability_snapshots"
    __table_args__ = (
        Index("ix_availability_snapshots_refresh_due_at", "refresh_due_at"),
    )

    profile_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"),
                                            primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    # The "now" the slots were computed for: an older computation never overwrites a newer one.
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    min_notice_minutes: Mapped[int] = mapped_column(Integer)
    # Runs of slot starts: [[minutes since the epoch (UTC), count], …], 30 minutes apart (scheduling.packing).
    slots: Mapped[list[list[int]]] = mapped_column(JSON)
    next_available_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the periodic sweep should recompute it (soonest slot no longer bookable, or max age);
    # None when nothing can change with time alone (not bookable, or no hours at all).
    refresh_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Counted up in the transaction of every change of hours the database guard cannot see (rules,
    # days off, settings, busy times of other calendars, the profile's zone): ``calendar_changed``.
    hours_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The ``hours_version`` read before these slots were computed: while the two are equal the slots
    # were computed from the current hours, and a booking may be validated against them (the
    # occupied-block guard refuses what bookings made since have taken).
    hours_version_seen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # free_utc_* (``FreeTimesMixin``): the UTC half-hours of the week these slots start in, copied
    # to the profile with ``next_available_at`` for the directory's time-of-day filter.


__all__ = [
    "AvailabilityOverride", "AvailabilityRule", "AvailabilitySnapshot", "BLOCK_MINUTES", "CALENDAR_STATES",
    "Consultation", "ConsultationKind", "ConsultationOutcome", "ConsultationState", "EXTERNAL_CALENDARS_MAX",
    "EXTERNAL_CALENDAR_URL_MAX", "EXTERNAL_CALENDAR_URL_TOKEN_MAX", "ExternalBusyTime", "ExternalCalendar",
    "FREE_CONSULTATION_MINUTES", "NO_SHOW_REPORT_WINDOW", "NoShowReport", "OPEN_STATES", "OccupiedBlock",
    "OfferState", "OverrideKind",
    "RELEASED_STATES", "SLOT_STEP_MINUTES", "SchedulingSettings", "WEEKDAYS", "WaitlistEntry", "WaitlistOffer",
]
