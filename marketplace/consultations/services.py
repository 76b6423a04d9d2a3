"""Public services of the consultations domain (the module other domains import).

Booking rules live in ``booking.py``, the lifecycle in ``lifecycle.py``, availability in
``availability.py``; this module re-exports them and registers the account hooks
(data export, account deletion).
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import ColumnElement, bindparam, case, event, exists, func, or_, select
from sqlalchemy.orm import Session, SessionTransaction, joinedload

from marketplace.account.hooks import data_exporter, deletion_hook
from marketplace.auth.models import Role, User
from marketplace.auth.sessions import load_with_user
from marketplace.consultations.availability import (  # noqa: F401  (re-exported)
    AvailabilityError,
    BookingCard,
    CancellationChoice,
    HoursChange,
    add_date_override,
    add_weekly_hours,
    add_weekly_rule,
    bookable_clause,
    bookable_slots,
    calendar_changed,
    free_slots_for,
    get_availability,
    has_hours,
    load_calendar,
    load_calendars,
    move_weekly_hours,
    offers_booking,
    preview_slots,
    profile_booking_card,
    remove_date_override,
    remove_weekly_rule,
    set_weekly_hours,
    upcoming_free_slots,
    update_scheduling_settings,
    update_weekly_rule,
    weekly_rule_of,
    would_offer_booking,
)
from marketplace.consultations.booking import (  # noqa: F401  (re-exported)
    ALLOWED_SOURCES,
    NOT_A_SLOT,
    SLOT_TAKEN,
    BookingError,
    BookingPage,
    Standing,
    active_free_consultation,
    book_free_consultation,
    booking_page,
    client_standing,
    format_slot,
    parse_slot,
    place_booking,
    release_blocks,
    reschedule_consultation,
    safe_format_param,
    standing_of,
    validate_slot,
    week_query,
)
from marketplace.consultations.external_calendars import (  # noqa: F401  (re-exported; registers its jobs and hooks)
    add_external_calendar,
    external_calendars_of,
    remove_external_calendar,
)
from marketplace.consultations.follow_up import (  # noqa: F401  (re-exported)
    expire_requests,
    send_request_reminders,
)
from marketplace.consultations.holds import (  # noqa: F401  (re-exported)
    HOLD_RELEASED_REASON,
    confirm_hold,
    holds_of_client,
    lapsed_holds,
    reclaim_released_hold,
    release_hold,
)
from marketplace.consultations.hooks import booking_hooks  # noqa: F401  (re-exported)
from marketplace.consultations.lifecycle import (  # noqa: F401  (re-exported)
    REQUESTS_WAITING,
    ConsultationError,
    cancel_consultation,
    cancellation_consequence,
    complete_consultation,
    confirm_consultation,
    list_consultations,
    load_consultation,
    mark_no_show,
    missed_session_consequence,
    record_outcome,
    set_video_link,
    suggest_other_specialists,
    undo_record,
    upcoming_with_specialist,
)
from marketplace.consultations.models import (
    OPEN_STATES,
    AvailabilityOverride,
    AvailabilityRule,
    Consultation,
    ConsultationState,
    SchedulingSettings,
)
from marketplace.consultations.moves import (  # noqa: F401  (re-exported)
    CANNOT_MOVE,
    MovePolicy,
    move_deadline,
    move_paid_session,
    move_policy,
)
from marketplace.consultations.notifications import (  # noqa: F401  (re-exported)
    consultation_url,
    format_label,
    ics_attachment,
    meeting_details,
    recipients,
)
from marketplace.consultations.waitlist import (  # noqa: F401  (re-exported; registers the waitlist's hooks and jobs)
    MyWaitlist,
    WaitlistError,
    claim_offer,
    join_waitlist,
    leave_waitlist,
    offer_from_token,
    waitlist_of,
)
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.scheduling.cancellation import (  # noqa: F401  (re-exported)
    CancellationTerms,
    Consequence,
    LateRefund,
    describe_free_terms,
    describe_paid_terms,
)
from marketplace.specialists.hooks import availability_hooks
from marketplace.specialists.models import SpecialistProfile, profile_id_of

log = logging.getLogger(__name__)

# The profile rules that depend on the calendar (specialists never import this domain):
# publishing needs hours, a change of bookability refreshes availability, a change of the
# profile's zone moves or keeps the weekly hours as its owner chose.
availability_hooks.has_hours(has_hours)
availability_hooks.calendar_changed(calendar_changed)
availability_hooks.zone_changed(move_weekly_hours)


# --- requests waiting for the specialist (their navigation) -------------------------------------

def _requests_waiting_column() -> ColumnElement[int]:
    """Requested (not yet confirmed) consultations still to come with the user's profile, as a column
    of the session-user query: a specialist's navigation shows it on every page at no extra query."""
    waiting = (select(func.count(Consultation.id))
               .join(SpecialistProfile, SpecialistProfile.id == Consultation.specialist_id)
               .where(SpecialistProfile.user_id == User.id, Consultation.state == ConsultationState.REQUESTED,
                      Consultation.start_utc > bindparam("now"))
               .correlate(User).scalar_subquery())
    return case((User.role == Role.SPECIALIST, waiting), else_=0)


_PROFILE_OWNERS = "balance.profile_owners"  # session.info: specialist id -> their user id, this transaction


def _specialist_user(consultation: Consultation) -> tuple[int] | None:
    """Whose requests-waiting count a changed consultation moves: its specialist's (None: unknown).
    Asked for every changed consultation of a flush: each specialist's owner is read once per
    transaction (the identity map is weak: a profile nothing holds would be queried again per row)."""
    owners: dict[int, int | None] = db.session.info.setdefault(_PROFILE_OWNERS, {})
    if consultation.specialist_id not in owners:
        profile = db.session.get(SpecialistProfile, consultation.specialist_id)
        owners[consultation.specialist_id] = None if profile is None else profile.user_id
    owner = owners[consultation.specialist_id]
    return None if owner is None else (owner,)


@event.listens_for(Session, "after_transaction_end")
def _forget_profile_owners(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PROFILE_OWNERS, None)


load_with_user(REQUESTS_WAITING, _requests_waiting_column, people={
    Consultation: _specialist_user, SpecialistProfile: lambda profile: (profile.user_id,)})


def requests_waiting(user: Any) -> int:
    """How many consultation requests wait for ``user`` (a specialist) to confirm them."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_specialist", False):
        return 0
    loaded = user.loaded_with_session.get(REQUESTS_WAITING)
    if loaded is not None:
        return int(loaded)
    return int(db.session.scalar(
        select(func.count(Consultation.id)).join(SpecialistProfile, SpecialistProfile.id == Consultation.specialist_id)
        .where(SpecialistProfile.user_id == user.id, Consultation.state == ConsultationState.REQUESTED,
               Consultation.start_utc > utcnow())) or 0)


def has_consultation_between(client_id: int, specialist_profile_id: int) -> bool:
    """Whether this client has (or had) any consultation with this specialist, in any state.

    Used by messaging: a specialist may write to a client who booked with them.
    """
    return bool(db.session.scalar(select(exists().where(
        Consultation.client_id == client_id, Consultation.specialist_id == specialist_profile_id))))


@data_exporter("consultations")
def export_consultations(user: User) -> list[dict[str, Any]]:
    """Every consultation of the user (as client or specialist). The client's note is exported
    to the client only; meeting details are the specialist's own profile data."""
    profile_id = profile_id_of(user)
    conditions = [Consultation.client_id == user.id]
    if profile_id is not None:
        conditions.append(Consultation.specialist_id == profile_id)
    rows = db.session.scalars(
        select(Consultation).where(or_(*conditions)).order_by(Consultation.start_utc)
        .options(joinedload(Consultation.client), joinedload(Consultation.specialist))
    )
    data = []
    for c in rows:
        as_client = c.client_id == user.id
        data.append({
            "id": c.id,
            "role": "client" if as_client else "specialist",
            "kind": c.kind.value,
            "with": c.specialist.display_name if as_client else (c.client.display_name if c.client else None),
            "start_utc": c.start_utc.isoformat(),
            "end_utc": c.end_utc.isoformat(),
            "state": c.state.value,
            "format": c.format,
            "note": c.note if as_client else None,
            "cancel_reason": c.cancel_reason,
            "late_cancellation": c.late_cancellation,
            "cancellation_terms": {"notice_hours": c.cancel_notice_hours, "late_refund": c.late_refund.value},
            "outcome": c.outcome.value if c.outcome else None,
            "outcome_note": c.outcome_note if not as_client else None,
            "source": c.source,
            "created_at": c.created_at.isoformat(),
        })
    return data


@data_exporter("availability")
def export_availability(user: User) -> dict[str, Any] | None:
    """A specialist's weekly hours, date exceptions and booking settings."""
    profile_id = profile_id_of(user)
    if profile_id is None:
        return None
    settings = db.session.get(SchedulingSettings, profile_id)
    rules = db.session.scalars(select(AvailabilityRule).where(AvailabilityRule.specialist_id == profile_id)
                               .order_by(AvailabilityRule.weekday, AvailabilityRule.start_time))
    overrides = db.session.scalars(select(AvailabilityOverride)
                                   .where(AvailabilityOverride.specialist_id == profile_id)
                                   .order_by(AvailabilityOverride.day))
    return {
        "weekly_rules": [{"weekday": r.weekday, "start": r.start_time.strftime("%H:%M"),
                          "end": r.end_time.strftime("%H:%M")} for r in rules],
        "date_overrides": [{"day": o.day.isoformat(), "kind": o.kind.value,
                            "start": o.start_time.strftime("%H:%M") if o.start_time else None,
                            "end": o.end_time.strftime("%H:%M") if o.end_time else None} for o in overrides],
        "settings": None if settings is None else {
            "buffer_minutes": settings.buffer_minutes, "min_notice_minutes": settings.min_notice_minutes,
            "horizon_days": settings.horizon_days, "max_per_day": settings.max_per_day,
            "auto_confirm": settings.auto_confirm, "confirm_within_hours": settings.confirm_within_hours,
        },
    }


@deletion_hook
def cancel_future_consultations(user: User) -> None:
    """Account deletion: cancel the user's upcoming consultations (as client or specialist)
    and tell the other side by e-mail. A deleted specialist's profile can no longer be booked
    (it is hidden by a later hook), so its availability is refreshed after the commit."""
    profile_id = profile_id_of(user)
    conditions = [Consultation.client_id == user.id]
    if profile_id is not None:
        conditions.append(Consultation.specialist_id == profile_id)
        calendar_changed([profile_id])
    upcoming = list(db.session.scalars(
        select(Consultation).where(or_(*conditions), Consultation.state.in_(OPEN_STATES),
                                   Consultation.start_utc > utcnow())
        .options(joinedload(Consultation.client), joinedload(Consultation.specialist))
    ))
    for consultation in upcoming:
        cancel_consultation(consultation, user, "The account was deleted.", account_deleted=True)
    if upcoming:
        log.info("cancelled %s consultation(s) of deleted user %s", len(upcoming), user.id)


__all__ = [
    "ConsultationState", "cancel_future_consultations", "export_availability", "export_consultations",
    "has_consultation_between",
]
