"""Payment holds on the calendar (the consultations side of paid sessions).

A paid session is booked like any consultation (``booking.place_booking``) but waits in
``pending_payment`` until ``hold_expires_at``. The payments domain decides *when* a hold is
confirmed or released (a webhook, the sweep); the state changes of the consultation and its
calendar blocks happen here, each decided by one conditional UPDATE so that a webhook and any
number of sweeps running at once change a hold exactly once.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update

from marketplace.consultations.availability import calendar_changed, load_booking_calendar
from marketplace.consultations.booking import BookingError, place_booking, release_blocks
from marketplace.consultations.models import Consultation, ConsultationState
from marketplace.database import execute_dml
from marketplace.extensions import db

log = logging.getLogger(__name__)

HOLD_RELEASED_REASON = "payment not completed"


def lapsed_holds(now: datetime, *, specialist_id: int | None = None) -> list[Consultation]:
    """Holds past ``hold_expires_at`` (optionally of one specialist), oldest first."""
    query = select(Consultation).where(Consultation.state == ConsultationState.PENDING_PAYMENT,
                                       Consultation.hold_expires_at <= now)
    if specialist_id is not None:
        query = query.where(Consultation.specialist_id == specialist_id)
    else:
        query = query.order_by(Consultation.hold_expires_at)
    return list(db.session.scalars(query))


def holds_of_client(client_id: int) -> list[Consultation]:
    """Every hold a client still has (their account is being deleted)."""
    return list(db.session.scalars(select(Consultation).where(
        Consultation.client_id == client_id, Consultation.state == ConsultationState.PENDING_PAYMENT)))


def release_hold(consultation: Consultation, now: datetime, *, only_if_lapsed: bool) -> bool:
    """pending_payment → cancelled ("payment not completed"), its blocks deleted.

    Returns True for the one caller that released it (a conditional UPDATE decides).
    """
    condition = [Consultation.id == consultation.id, Consultation.state == ConsultationState.PENDING_PAYMENT]
    if only_if_lapsed:
        condition.append(Consultation.hold_expires_at <= now)
    result = execute_dml(
        update(Consultation).where(*condition)
        .values(state=ConsultationState.CANCELLED, cancel_reason=HOLD_RELEASED_REASON, cancelled_at=now,
                hold_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    release_blocks(consultation)
    db.session.refresh(consultation)
    calendar_changed([consultation.specialist_id], blocks_only=True)
    log.info("hold of consultation %s released", consultation.id)
    return True


def confirm_hold(consultation: Consultation, now: datetime) -> bool:
    """pending_payment → confirmed, atomically (only one event or runner can win)."""
    result = execute_dml(
        update(Consultation)
        .where(Consultation.id == consultation.id, Consultation.state == ConsultationState.PENDING_PAYMENT)
        .values(state=ConsultationState.CONFIRMED, confirmed_at=now, hold_expires_at=None,
                sequence=Consultation.sequence + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(consultation)
    if result.rowcount != 1:
        return False
    calendar_changed([consultation.specialist_id], blocks_only=True)
    return True


def reclaim_released_hold(consultation: Consultation, now: datetime) -> bool:
    """A hold released for want of payment is paid after all: take its time back if still free.

    Through ``place_booking``, like every booking: its blocks in one savepoint (the unique
    constraint refuses a time taken meanwhile) and the specialist's daily cap re-checked.
    Returns False (nothing changed) when the time is gone, past, or this was no released hold.
    """
    if (consultation.state is not ConsultationState.CANCELLED or consultation.cancel_reason != HOLD_RELEASED_REASON
            or consultation.start_utc <= now):
        return False
    calendar = load_booking_calendar(consultation.specialist, now)

    def restore() -> None:
        consultation.state = ConsultationState.CONFIRMED
        consultation.confirmed_at = now
        consultation.cancel_reason = None
        consultation.cancelled_at = None
        consultation.cancelled_by_id = None
        consultation.sequence += 1
        db.session.flush()

    try:
        place_booking(consultation, calendar, before=restore)
    except BookingError as exc:
        log.info("released time of consultation %s was taken meanwhile (%s)", consultation.id, exc.code)
        db.session.refresh(consultation)
        return False
    calendar_changed([consultation.specialist_id], blocks_only=True)
    return True


__all__ = ["HOLD_RELEASED_REASON", "confirm_hold", "holds_of_client", "lapsed_holds", "reclaim_released_hold",
           "release_hold"]
