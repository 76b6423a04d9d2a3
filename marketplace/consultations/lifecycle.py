"""The lifecycle of a consultation after booking:

requested → confirmed (auto or by the specialist) → completed / no-show; cancelled by either
side (with a reason) before the start; outcome (proceed / not a fit) by the specialist after
the start. Permissions are the model's ``can_<verb>(user)`` methods; each service re-checks
them, so a forged POST changes nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload

from marketplace.audit import record_audit
from marketplace.auth.models import User
from marketplace.auth.sessions import forget_loaded
from marketplace.consultations.availability import calendar_changed
from marketplace.consultations.booking import release_blocks
from marketplace.consultations.follow_up import notify_correction, notify_no_show, notify_outcome, recorded_mail_key
from marketplace.consultations.hooks import booking_hooks
from marketplace.consultations.models import (
    CALENDAR_STATES,
    OPEN_STATES,
    Consultation,
    ConsultationKind,
    ConsultationOutcome,
    ConsultationState,
)
from marketplace.consultations.notifications import notify_cancelled, notify_confirmed
from marketplace.consultations.suggestions import SIMILAR_LIMIT, similar_specialists
from marketplace.database import execute_dml, utcnow
from marketplace.domain import DomainError
from marketplace.extensions import db
from marketplace.scheduling.cancellation import (
    Consequence,
    free_consequence,
    no_show_consequence,
    paid_consequence,
    uncharged_consequence,
)
from marketplace.specialists.models import SpecialistProfile
from marketplace.specialists.services import ProfileError, check_meeting_details

log = logging.getLogger(__name__)

REASON_MAX_LENGTH = 500
OUTCOME_NOTE_MAX_LENGTH = 1000


class ConsultationError(DomainError):
    """A lifecycle rule was broken; the message is shown to the person (nothing changed)."""


def load_consultation(consultation_id: int) -> Consultation | None:
    """One consultation with the people its page and e-mails show (a single query)."""
    return db.session.scalar(
        select(Consultation).where(Consultation.id == consultation_id)
        .options(joinedload(Consultation.client),
                 joinedload(Consultation.specialist).joinedload(SpecialistProfile.user),
                 joinedload(Consultation.cancelled_by))
    )


SPECIALIST_REASON_REQUIRED = "Please tell the client why you are cancelling."
CORRECTION_TOO_LATE = ("The 24 hours to correct this record have passed, so it stands. "
                       "If it is wrong, please contact us.")
NOTHING_TO_UNDO = "There is no outcome or no-show to correct."
CANNOT_CONFIRM = "This consultation cannot be confirmed (any more)."
REQUESTS_WAITING = "requests_waiting"  # the specialist's navigation count (loaded with the session's user)


def confirm_consultation(consultation: Consultation, user: User) -> None:
    """The specialist confirms a requested consultation (before its start)."""
    if not consultation.can_confirm(user):
        raise ConsultationError(CANNOT_CONFIRM)
    # Conditional, so a request the expiry sweep took meanwhile (its slot released) stays expired.
    result = execute_dml(
        update(Consultation)
        .where(Consultation.id == consultation.id, Consultation.state == ConsultationState.REQUESTED)
        .values(state=ConsultationState.CONFIRMED, confirmed_at=utcnow(), sequence=Consultation.sequence + 1)
        .execution_options(synchronize_session=False))
    db.session.refresh(consultation)
    if result.rowcount != 1:
        raise ConsultationError(CANNOT_CONFIRM)
    record_audit(user, "consultation.confirmed", consultation)
    db.session.flush()
    forget_loaded(user, REQUESTS_WAITING)
    notify_confirmed(consultation)
    log.info("consultation %s confirmed", consultation.id)


def cancellation_consequence(consultation: Consultation, user: Any, now: datetime | None = None) -> Consequence:
    """What ``user`` cancelling now means, from the terms snapshotted on the booking: shown on the
    cancel step before they confirm, and applied by ``cancel_consultation`` (the late flag) and the
    payments domain's ``on_cancel`` hook (the refund, from the same pure function)."""
    now = now or utcnow()
    by_client = consultation.is_client(user)
    if consultation.kind is ConsultationKind.PAID:
        if booking_hooks.run_not_charged_yet(consultation):
            return uncharged_consequence(by_client=by_client)
        return paid_consequence(consultation.terms, by_client=by_client, now=now, start_utc=consultation.start_utc,
                                amount_minor=consultation.price_minor or 0, currency=consultation.currency or "EUR")
    return free_consequence(consultation.terms, by_client=by_client, now=now, start_utc=consultation.start_utc,
                            specialist_name=consultation.specialist.display_name)


def missed_session_consequence(consultation: Consultation) -> Consequence | None:
    """What recording a client no-show means for a paid session's money (None for a free one),
    shown to the specialist before they confirm; the payments ``on_no_show`` hook applies it."""
    if consultation.kind is not ConsultationKind.PAID:
        return None
    return no_show_consequence(consultation.terms, amount_minor=consultation.price_minor or 0,
                               currency=consultation.currency or "EUR")


TERMS_CHANGED = "What cancelling means has changed since you opened this page: {words} Please confirm again."


def cancel_consultation(consultation: Consultation, user: User, reason: str | None, *,
                        account_deleted: bool = False, by_balance: bool = False, expected: str | None = None,
                        now: datetime | None = None) -> None:
    """Either participant cancels before the start, giving a reason; the calendar is freed
    and both sides get an e-mail with a METHOD:CANCEL invitation. ``by_balance``: an admin
    cancels for Balance (a revoked licence); the e-mails say so.

    The booking's cancellation terms apply (``cancellation_consequence``): a client cancelling with
    less than the notice left is marked ``late_cancellation``. ``expected``: the consequence the
    person was shown (``Consequence.key``); if it no longer holds (the notice ran out meanwhile)
    nothing changes and they are shown the new one."""
    if by_balance and not (getattr(user, "is_admin", False) and consultation.state in OPEN_STATES
                           and not consultation.has_started):
        raise ConsultationError("This consultation can no longer be cancelled.")
    if not (account_deleted or by_balance) and not consultation.can_cancel(user):
        raise ConsultationError("This consultation can no longer be cancelled.")
    reason = (reason or "").strip()
    if not reason and consultation.is_specialist(user) and not (account_deleted or by_balance):
        # A client may cancel without saying why; a specialist tells the client (it is in their e-mail).
        raise ConsultationError(SPECIALIST_REASON_REQUIRED)
    if len(reason) > REASON_MAX_LENGTH:
        raise ConsultationError(f"Please keep the reason under {REASON_MAX_LENGTH} characters.")
    now = now or utcnow()
    consequence = cancellation_consequence(consultation, user, now)
    if expected and expected != consequence.key:
        raise ConsultationError(TERMS_CHANGED.format(words=consequence.words))
    before = consultation.state.value
    consultation.state = ConsultationState.CANCELLED
    consultation.cancel_reason = reason or None
    consultation.cancelled_by_id = user.id
    consultation.cancelled_at = now  # (the payments hook settles the money as of this instant)
    consultation.late_cancellation = consequence.late and not (account_deleted or by_balance)
    consultation.sequence += 1
    db.session.flush()
    release_blocks(consultation)
    booking_hooks.run_on_cancel(consultation, user)  # e.g. a paid session's refund per the shown policy
    record_audit(user, "consultation.cancelled", consultation, before={"state": before},
                 after={"state": "cancelled", "late": consultation.late_cancellation})
    notify_cancelled(consultation, user, account_deleted=account_deleted, by_balance=by_balance)
    forget_loaded(user, REQUESTS_WAITING)
    calendar_changed([consultation.specialist_id], blocks_only=True)
    log.info("consultation %s cancelled by user %s", consultation.id, user.id)


CANNOT_SET_VIDEO_LINK = "Only the specialist can set a video link, for a video consultation that is still to come."


def set_video_link(consultation: Consultation, user: User, link: str | None) -> None:
    """The specialist sets a video link for this consultation only (empty: the profile's link again).
    Checked by the one rule for meeting details (``check_meeting_details``); shown to both on the
    consultation page and in its later e-mails and .ics (``Consultation.meeting_video_link``), whose
    SEQUENCE grows so calendars take the new location."""
    if not consultation.can_set_video_link(user):
        raise ConsultationError(CANNOT_SET_VIDEO_LINK)
    try:
        video = check_meeting_details(link, None, None)["video_link"]
    except ProfileError as exc:
        raise ConsultationError(str(exc)) from exc
    if video == consultation.video_link:
        return
    before = consultation.video_link
    consultation.video_link = video
    consultation.sequence += 1
    record_audit(user, "consultation.video_link", consultation, before={"video_link": before},
                 after={"video_link": video})
    db.session.flush()
    log.info("consultation %s: video link %s by user %s", consultation.id, "set" if video else "cleared", user.id)


def complete_consultation(consultation: Consultation, user: User) -> None:
    """The specialist marks the consultation as held (after its start)."""
    _record_attendance(consultation, user, ConsultationState.COMPLETED, "completed")


def mark_no_show(consultation: Consultation, user: User, note: str | None = None) -> None:
    """The specialist records that the client did not come (after the start), with an optional
    note; the client is e-mailed once (the note, and similar specialists)."""
    note = (note or "").strip() or None
    if note and len(note) > OUTCOME_NOTE_MAX_LENGTH:
        raise ConsultationError(f"Please keep the note under {OUTCOME_NOTE_MAX_LENGTH} characters.")
    _record_attendance(consultation, user, ConsultationState.NO_SHOW, "a no-show")
    consultation.outcome_note = note
    db.session.flush()
    booking_hooks.run_on_no_show(consultation, user)  # a paid session: the no-show term of its policy
    notify_no_show(consultation)


def _record_attendance(consultation: Consultation, user: User, state: ConsultationState, label: str) -> None:
    if not consultation.can_complete(user):
        raise ConsultationError(f"This consultation cannot be marked as {label} yet.")
    consultation.state = state
    consultation.outcome_recorded_at = utcnow()
    record_audit(user, f"consultation.{state.value}", consultation)
    db.session.flush()


def record_outcome(consultation: Consultation, user: User, outcome: str | None, note: str | None = None) -> None:
    """After the start, the specialist records "proceed" or "not a fit" (completing it); the client
    is e-mailed once (the note, and for "not a fit" similar specialists)."""
    if not consultation.can_record_outcome(user):
        raise ConsultationError("The outcome can be recorded once the consultation has started.")
    try:
        value = ConsultationOutcome(outcome or "")  # none chosen: a ValueError like any unknown value
    except ValueError:
        raise ConsultationError("Choose “proceed” or “not a fit”.") from None
    note = (note or "").strip() or None
    if note and len(note) > OUTCOME_NOTE_MAX_LENGTH:
        raise ConsultationError(f"Please keep the note under {OUTCOME_NOTE_MAX_LENGTH} characters.")
    consultation.state = ConsultationState.COMPLETED
    consultation.outcome = value
    consultation.outcome_note = note
    consultation.outcome_recorded_at = utcnow()
    record_audit(user, "consultation.outcome", consultation, after={"outcome": value.value})
    db.session.flush()
    notify_outcome(consultation)
    log.info("consultation %s outcome recorded", consultation.id)


def undo_record(consultation: Consultation, user: User, now: datetime | None = None) -> None:
    """The specialist undoes a completion, no-show or outcome within ``CORRECTION_WINDOW`` (24 h)
    of recording it: the consultation is back to confirmed (held, nothing recorded), so the right
    thing can be recorded. A client already e-mailed about a no-show or an outcome is sent a short
    correction (written on delivery; none if the first mail was never sent)."""
    if not consultation.has_record_to_undo(user):
        raise ConsultationError(NOTHING_TO_UNDO)
    if not consultation.can_undo_record(user, now):
        raise ConsultationError(CORRECTION_TOO_LATE)
    before = {"state": consultation.state.value,
              "outcome": consultation.outcome.value if consultation.outcome else None}
    first_mail = recorded_mail_key(consultation)
    consultation.state = ConsultationState.CONFIRMED
    consultation.outcome = None
    consultation.outcome_note = None
    consultation.outcome_recorded_at = None
    record_audit(user, "consultation.record_undone", consultation, before=before, after={"state": "confirmed"})
    db.session.flush()
    if first_mail is not None:
        notify_correction(consultation, first_mail)
    log.info("consultation %s: recorded %s undone", consultation.id, before["state"])


# --- lists and pages ----------------------------------------------------------------------------

@dataclass
class ConsultationLists:
    upcoming: list[Consultation]
    past: list[Consultation]
    role: str  # "client" | "specialist" | "none"


def list_consultations(user: User, now: datetime | None = None, past_limit: int = 100) -> ConsultationLists:
    """The user's consultations (as client or as specialist): upcoming soonest first, past newest first."""
    now = now or utcnow()
    if user.is_specialist:
        profile_id = db.session.scalar(select(SpecialistProfile.id).where(SpecialistProfile.user_id == user.id))
        if profile_id is None:
            return ConsultationLists([], [], "specialist")
        owner = Consultation.specialist_id == profile_id
        role = "specialist"
    elif user.is_client:
        owner = Consultation.client_id == user.id
        role = "client"
    else:
        return ConsultationLists([], [], "none")
    base = select(Consultation).where(owner).options(joinedload(Consultation.client),
                                                     joinedload(Consultation.specialist))
    # (past: "Rescheduled" and the link to the new booking, loaded for all rows in one query)
    upcoming_filter = Consultation.state.in_(CALENDAR_STATES) & (Consultation.end_utc > now)
    upcoming = list(db.session.scalars(base.where(upcoming_filter).order_by(Consultation.start_utc)))
    past = list(db.session.scalars(base.where(~upcoming_filter).order_by(Consultation.start_utc.desc())
                                   .limit(past_limit).options(selectinload(Consultation.rescheduled_to))))
    return ConsultationLists(upcoming, past, role)


def suggest_other_specialists(consultation: Consultation, limit: int = SIMILAR_LIMIT) -> list[SpecialistProfile]:
    """For "not a fit": other bookable specialists who share a specialty, soonest available first;
    ones the client already met are left out (``suggestions.similar_specialists``)."""
    return similar_specialists(consultation.specialist_id, client_id=consultation.client_id, limit=limit)


__all__ = [
    "ConsultationError", "ConsultationLists", "cancel_consultation", "cancellation_consequence",
    "missed_session_consequence", "complete_consultation",
    "confirm_consultation", "list_consultations", "load_consultation", "mark_no_show", "record_outcome",
    "set_video_link", "suggest_other_specialists", "undo_record",
]


def upcoming_with_specialist(profile_id: int, now: datetime | None = None) -> list[Consultation]:
    """The specialist's consultations that are still to come (requested or confirmed), soonest first."""
    return list(db.session.scalars(
        select(Consultation).where(Consultation.specialist_id == profile_id, Consultation.state.in_(OPEN_STATES),
                                   Consultation.start_utc > (now or utcnow()))
        .options(joinedload(Consultation.client)).order_by(Consultation.start_utc)))
