"""Moving a paid session (a single one, or one occurrence of a weekly series) to another time.

A free consultation is rescheduled by cancelling it and booking a new row
(``booking.reschedule_consultation``). A paid session cannot be: its ``Payment`` and a series'
``SeriesCharge`` point at the consultation row. So it is moved IN PLACE (``booking.move_booking``):
same id, payment, series link, format, note, video link and cancellation terms; new time, new
occupied blocks (the unique constraint decides races), SEQUENCE + 1 (same calendar UID).

The rules are the booking's own cancellation terms ("under the policy"): the client may move a
confirmed paid session while cancelling it would still be on time (not ``terms.is_late``), to a
free time of the same specialist and length that is itself outside the notice. Later domains may
refuse a move (``booking_hooks.move_refusal``: payments, a declined series charge) and follow it
(``booking_hooks.after_move``: payments, the series charge's due time).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from marketplace.audit import record_audit
from marketplace.auth.confirmation import BOOK, confirmation_refusal
from marketplace.auth.models import User
from marketplace.consultations.availability import calendar_changed
from marketplace.consultations.booking import (
    CANNOT_RESCHEDULE,
    RESCHEDULE_TOO_LATE,
    BookingError,
    inside_notice,
    move_booking,
    not_taking_moves,
    slot_refusal,
    validate_slot,
)
from marketplace.consultations.hooks import booking_hooks
from marketplace.consultations.lifecycle import cancellation_consequence
from marketplace.consultations.models import Consultation, ConsultationKind
from marketplace.consultations.notifications import notify_rescheduled
from marketplace.database import utcnow
from marketplace.timeutil import format_datetime, user_zone

log = logging.getLogger(__name__)

CANNOT_MOVE = "This session can no longer be moved."
TOO_LATE = ("This session can no longer be moved: moving was possible until {until}, {hours} hours before "
            "the start (the cancellation notice of this session). {cost}")
NEW_TIME_TOO_SOON = ("Choose a time more than {hours} hours from now: this session's {hours}-hour cancellation "
                     "notice applies to the new time too.")


@dataclass(frozen=True)
class MovePolicy:
    """Whether a person may move a booking to another time now: ``refusal`` says why not (shown as
    is; None: they may); for a paid session, ``until`` is when moving ends (its notice starts) and
    ``late`` tells that it has."""

    refusal: str | None = None
    until: datetime | None = None
    late: bool = False

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def move_deadline(consultation: Consultation) -> datetime:
    """Until when a paid session can be moved: the start of its cancellation notice (the start
    itself when the booking has no notice)."""
    return consultation.start_utc - consultation.terms.notice


def move_policy(consultation: Consultation, user: User, now: datetime | None = None) -> MovePolicy:
    """May ``user`` move ``consultation`` to another time now? A free consultation: the client,
    while it is open (``can_reschedule``) and its notice (if it has one) has not begun. A paid
    session: the client of a confirmed one (``can_move``) while cancelling is still on time by its
    own terms, unless a later domain refuses (a series charge that was declined). Reads only (the
    consultation page asks too)."""
    now = now or utcnow()
    if consultation.kind is not ConsultationKind.PAID:
        if not consultation.can_reschedule(user):
            return MovePolicy(CANNOT_RESCHEDULE)
        until = move_deadline(consultation) if consultation.terms.notice_hours else None
        if inside_notice(consultation, now):
            return MovePolicy(RESCHEDULE_TOO_LATE.format(hours=consultation.terms.notice_hours), until, late=True)
        return MovePolicy(None, until)
    if not consultation.can_move(user):
        return MovePolicy(CANNOT_MOVE)
    until = move_deadline(consultation)
    terms = consultation.terms
    if terms.is_late(now, consultation.start_utc):
        cost = cancellation_consequence(consultation, user, now).words
        return MovePolicy(TOO_LATE.format(until=format_datetime(until, user_zone(user)), hours=terms.notice_hours,
                                          cost=cost), until, late=True)
    return MovePolicy(booking_hooks.run_move_refusal(consultation, now), until)


def move_paid_session(consultation: Consultation, user: User, start_utc: datetime | None,
                      now: datetime | None = None) -> Consultation:
    """Move the client's paid session to ``start_utc`` in place and return it.

    Under the booking's cancellation terms (``move_policy``); the new time must be a free time of
    the same specialist, of the session's length, not its current time and outside the notice
    from now. Validated by the one slot check (``validate_slot``, this booking left out), then moved
    in one savepoint (``move_booking``) with the audit entry, the e-mails to both (updated .ics,
    same UID, next SEQUENCE), the ``after_move`` hooks and ``calendar_changed``. Raises
    ``BookingError`` when refused ("late", "taken", "invalid", "not_bookable", "unconfirmed"):
    then nothing changed.
    """
    now = now or utcnow()
    policy = move_policy(consultation, user, now)
    if policy.refusal is not None:
        raise BookingError(policy.refusal, "late" if policy.late else "invalid")
    profile = consultation.specialist
    if not profile.is_listed:
        raise BookingError(not_taking_moves(profile), "not_bookable")
    refusal = confirmation_refusal(user, BOOK)
    if refusal:
        raise BookingError(refusal, "unconfirmed")
    if start_utc is None:
        raise BookingError("Choose a new time for your session.", "invalid")
    if start_utc == consultation.start_utc:
        raise BookingError("Choose a different time to move this session to.", "invalid")
    if consultation.terms.is_late(now, start_utc):
        raise BookingError(NEW_TIME_TOO_SOON.format(hours=consultation.terms.notice_hours), "invalid")
    calendar, problem = validate_slot(profile, start_utc, now, duration_minutes=consultation.length_minutes,
                                      exclude_consultation_id=consultation.id)
    if problem is not None:
        raise slot_refusal(problem)
    old_start = consultation.start_utc

    def after(moved: Consultation) -> None:
        record_audit(user, "consultation.moved", moved,
                     before={"start_utc": old_start.isoformat()},
                     after={"start_utc": moved.start_utc.isoformat(), "sequence": moved.sequence})
        notify_rescheduled(moved, old_start)
        booking_hooks.run_after_move(moved, old_start)
        calendar_changed([profile.id], blocks_only=True)

    move_booking(consultation, calendar, start_utc, after=after)
    log.info("paid session %s moved (sequence %s)", consultation.id, consultation.sequence)
    return consultation


__all__ = ["CANNOT_MOVE", "CANNOT_RESCHEDULE", "MovePolicy", "move_deadline", "move_paid_session", "move_policy"]
