"""The charges of weekly paid-session series: each occurrence charged to the saved card, off-session.

Each occurrence is charged 24 hours before it (or when its cancellation notice starts, if longer:
``charge_due``) by ``charge_due_occurrences`` (periodic job); a charge is claimed with
``UPDATE … WHERE charge_state='scheduled'`` so it is taken once whatever runs overlap. A declined
charge notifies both; until ``DECLINE_GRACE`` has passed the client can try the card again
(``retry_declined_charge``) or save another card (``new_card_checkout``; its webhook,
``card_replaced``, makes it the series' card and charges the declined sessions at once); still
unpaid then, the occurrence is released (``release_unpaid_occurrences``). An occurrence moved to
another time is charged before its new time; a declined one is not moved (the consultations' move
hooks, at the end).

Booking a series and saving its first card is ``payments.series``, which builds on this module.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload

from marketplace.audit import record_audit
from marketplace.auth.models import User
from marketplace.consultations.models import Consultation, ConsultationState
from marketplace.consultations.services import calendar_changed, release_blocks
from marketplace.database import commit, execute_dml, utcnow
from marketplace.extensions import db
from marketplace.money import format_money
from marketplace.payments.models import PaymentStatus
from marketplace.payments.policy import CHECKOUT_LIFETIME, SeriesError
from marketplace.payments.providers import (
    ChargeDeclined,
    ProviderError,
    ProviderEvent,
    SetupCheckoutRequest,
    provider_named,
)
from marketplace.payments.series_mail import notify_series
from marketplace.payments.series_models import ChargeState, SeriesCharge, SessionSeries
from marketplace.timeutil import format_datetime, user_zone

log = logging.getLogger(__name__)

CHARGE_BEFORE = timedelta(hours=24)  # each occurrence is charged this long before it starts
DECLINE_GRACE = timedelta(hours=12)  # a declined occurrence is released this long after the decline
STALE_CLAIM = timedelta(minutes=10)  # a claim older than this (a crashed run) is scheduled again
UNPAID_REASON = "Not paid: the card was declined"


def charge_due(consultation: Consultation) -> datetime:
    """When an occurrence is charged: 24 hours before it, or earlier when the cancellation notice
    snapshotted on it (``take_terms`` at ``place_booking``) is longer, so a late cancellation always
    concerns a paid session and the terms' refund applies (an uncharged one is never charged)."""
    notice = timedelta(hours=consultation.cancel_notice_hours or 0)
    return consultation.start_utc - max(CHARGE_BEFORE, notice)


# --- off-session charges (periodic job) ---------------------------------------------------------

def _claim(charge_id: int, now: datetime, state: ChargeState = ChargeState.SCHEDULED) -> bool:
    """Take the charge from ``state`` to ``charging``, once whatever runs or clicks overlap."""
    result = execute_dml(
        update(SeriesCharge).where(SeriesCharge.id == charge_id, SeriesCharge.charge_state == state)
        .values(charge_state=ChargeState.CHARGING, attempted_at=now).execution_options(synchronize_session=False))
    return result.rowcount == 1


def charge_due_occurrences(now: datetime | None = None) -> int:
    """Charge every scheduled occurrence due (24 hours before it) once; returns how many were charged.

    Each charge is claimed (``scheduled`` → ``charging``) and the claim committed before the
    provider is called, so two runs never charge the same occurrence; the idempotency key
    ``series-charge-<id>`` makes a retry after a provider failure replay, not repeat, the charge.
    Commits per occurrence (a job, not a request).
    """
    now = now or utcnow()
    execute_dml(update(SeriesCharge).where(SeriesCharge.charge_state == ChargeState.CHARGING,
                                           SeriesCharge.attempted_at < now - STALE_CLAIM)
                .values(charge_state=ChargeState.SCHEDULED).execution_options(synchronize_session=False))
    commit()
    due = db.session.scalars(select(SeriesCharge.id).where(
        SeriesCharge.charge_state == ChargeState.SCHEDULED, SeriesCharge.due_at <= now)
        .order_by(SeriesCharge.due_at)).all()
    charged = 0
    for charge_id in due:
        if not _claim(charge_id, now):
            continue
        commit()
        charge = db.session.get(SeriesCharge, charge_id, populate_existing=True)
        assert charge is not None
        if _charge_one(charge, now):
            charged += 1
        commit()
    return charged


def _charge_one(charge: SeriesCharge, now: datetime) -> bool:
    consultation, payment, series = charge.consultation, charge.payment, charge.series
    if consultation.state is not ConsultationState.CONFIRMED or payment.status is not PaymentStatus.PENDING:
        charge.charge_state = ChargeState.CANCELLED  # cancelled meanwhile: nothing to charge
        return False
    outcome = _charge_card(charge, now, f"series-charge-{charge.id}")
    if outcome == "declined":
        charge.release_at = now + DECLINE_GRACE
        notify_series(series, [consultation], "declined", release_at=charge.release_at)
    elif outcome == "failed":
        charge.charge_state = ChargeState.SCHEDULED  # retried by the next run, with the same key
    return outcome == "charged"


def _charge_card(charge: SeriesCharge, now: datetime, idempotency_key: str) -> str:
    """Charge the occurrence's payment to the series' saved card, off-session: "charged" (the
    payment is paid), "declined" (the charge is ``declined`` as of ``now``) or "failed" (the
    provider could not be asked or did not answer: nothing is changed; a retry with the same key
    replays, never repeats, a charge that was made)."""
    consultation, payment, series = charge.consultation, charge.payment, charge.series
    provider = provider_named(series.provider)
    if provider is None or not series.provider_customer_id or not series.provider_payment_method_id:
        log.error("series %s: no provider or card to charge occurrence %s", series.id, charge.id)
        return "failed"
    try:
        receipt = provider.charge_off_session(series.provider_customer_id, series.provider_payment_method_id,
                                              payment.amount_minor, payment.currency,
                                              idempotency_key=idempotency_key)
    except ChargeDeclined as exc:
        charge.charge_state = ChargeState.DECLINED
        charge.declined_at = now
        charge.decline_reason = str(exc)[:255]
        record_audit(None, "payment.series_charge_declined", payment, after={"consultation_id": consultation.id})
        log.info("series %s: charge of occurrence %s declined", series.id, charge.id)
        return "declined"
    except ProviderError as exc:
        log.warning("series %s: charge of occurrence %s failed (%s)", series.id, charge.id, exc)
        return "failed"
    payment.status = PaymentStatus.PAID
    payment.provider_payment_id = receipt.reference
    payment.paid_at = now
    charge.charge_state = ChargeState.CHARGED
    record_audit(None, "payment.paid", payment, after={"consultation_id": consultation.id, "series_id": series.id})
    return "charged"


# --- a declined charge tried again by the client (in its grace period) ---------------------------

NOTHING_TO_RETRY = "This session has no declined payment to try again."
RETRY_PAID = "Thank you: the payment of {amount} went through. Your session on {when} stays booked."
RETRY_DECLINED = ("The card was declined again. If the session is still unpaid by {release_at}, it is cancelled "
                  "and its time freed. Your bank can tell you why it declined the payment.")
RETRY_UNREACHABLE = ("We could not reach the payment provider just now, so nothing was charged. "
                     "Please try again in a few minutes.")


def series_charge_of(consultation: Consultation) -> SeriesCharge | None:
    """The charge of a series occurrence, with its series (None: not part of a series)."""
    return db.session.scalar(select(SeriesCharge).where(SeriesCharge.consultation_id == consultation.id)
                             .options(joinedload(SeriesCharge.series)))


def can_try_again(charge: SeriesCharge | None, now: datetime | None = None) -> bool:
    """Whether ``charge`` was declined and its session can still be paid: still booked, before
    its ``release_at``."""
    return (charge is not None and charge.charge_state is ChargeState.DECLINED and charge.release_at is not None
            and charge.release_at > (now or utcnow()) and charge.consultation.state is ConsultationState.CONFIRMED)


def _charge_declined(charge: SeriesCharge, now: datetime, idempotency_key: str) -> str | None:
    """Claim a declined charge (``declined`` → ``charging``) and charge the series' card again:
    the outcome of ``_charge_card``, or None when another attempt had claimed it. A provider that
    could not be asked leaves the charge declined, for the client to try again."""
    if not _claim(charge.id, now, ChargeState.DECLINED):
        return None
    db.session.refresh(charge)
    outcome = _charge_card(charge, now, idempotency_key)
    if outcome == "failed":
        charge.charge_state = ChargeState.DECLINED  # as it was
    db.session.flush()
    return outcome


def declined_charge_of(consultation: Consultation, now: datetime | None = None) -> SeriesCharge | None:
    """The occurrence's declined charge while it can still be paid (before its ``release_at``)."""
    charge = series_charge_of(consultation)
    return charge if can_try_again(charge, now) else None


def retry_declined_charge(consultation: Consultation, client: User, now: datetime | None = None) -> str:
    """The client tries the saved card again for an occurrence whose charge was declined, before
    it is released (after talking to their bank, say). One attempt at a time: the charge is
    claimed (``declined`` → ``charging``) in this unit of work, so a second click waits for the
    first and finds nothing to retry. The idempotency key is that of this decline: a timed-out
    attempt tried again replays the provider's answer. The grace period is not extended. Returns
    what the client is told; ``SeriesError`` when there is nothing to retry."""
    now = now or utcnow()
    charge = declined_charge_of(consultation, now) if consultation.is_client(client) else None
    if charge is None:
        raise SeriesError(NOTHING_TO_RETRY)
    assert charge.declined_at is not None and charge.release_at is not None
    release_at = charge.release_at
    outcome = _charge_declined(charge, now, f"series-charge-{charge.id}-after-{charge.declined_at:%Y%m%dT%H%M%S}")
    if outcome is None:
        raise SeriesError(NOTHING_TO_RETRY)
    record_audit(client, "payment.series_charge_retried", charge.payment, after={"outcome": outcome})
    tz = user_zone(client)
    if outcome == "charged":
        return RETRY_PAID.format(amount=format_money(charge.payment.amount_minor, charge.payment.currency),
                                 when=format_datetime(consultation.start_utc, tz))
    if outcome == "failed":
        return RETRY_UNREACHABLE
    return RETRY_DECLINED.format(release_at=format_datetime(release_at, tz))


def release_unpaid_occurrences(now: datetime | None = None) -> int:
    """Cancel occurrences whose declined charge is still unpaid after the grace period: their
    time is freed and both are told. Claimed (``declined`` → ``released``) once; returns the count."""
    now = now or utcnow()
    due = db.session.scalars(select(SeriesCharge.id).where(
        SeriesCharge.charge_state == ChargeState.DECLINED, SeriesCharge.release_at <= now)).all()
    released = 0
    for charge_id in due:
        claimed = execute_dml(
            update(SeriesCharge).where(SeriesCharge.id == charge_id, SeriesCharge.charge_state == ChargeState.DECLINED)
            .values(charge_state=ChargeState.RELEASED).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        charge = db.session.get(SeriesCharge, charge_id, populate_existing=True)
        assert charge is not None
        _release(charge, now)
        released += 1
        commit()
    return released


def _release(charge: SeriesCharge, now: datetime) -> None:
    consultation = charge.consultation
    cancelled = execute_dml(
        update(Consultation).where(Consultation.id == consultation.id,
                                   Consultation.state == ConsultationState.CONFIRMED)
        .values(state=ConsultationState.CANCELLED, cancel_reason=UNPAID_REASON, cancelled_at=now,
                sequence=Consultation.sequence + 1).execution_options(synchronize_session=False))
    db.session.refresh(consultation)
    if cancelled.rowcount != 1:
        return
    release_blocks(consultation)
    charge.payment.status = PaymentStatus.EXPIRED
    db.session.flush()
    calendar_changed([consultation.specialist_id], blocks_only=True)
    record_audit(None, "payment.series_occurrence_released", consultation, after={"series_id": charge.series_id})
    notify_series(charge.series, [consultation], "released")
    log.info("series %s: unpaid occurrence %s released", charge.series_id, consultation.id)


# --- another card for a declined charge (a setup checkout; its webhook replaces the card) --------

NO_CARD_PAGE = ("We could not open the payment page just now, so nothing changed. "
                "Please try again in a few minutes.")


def new_card_checkout(consultation: Consultation, client: User, now: datetime | None = None) -> str:
    """For an occurrence whose charge was declined, before it is released: a setup checkout in
    which its client saves another card (the same for repeated clicks during one decline: its
    idempotency key). Returns the URL to send the client to; ``SeriesError`` when there is
    nothing to pay or the provider cannot be reached (nothing changed)."""
    now = now or utcnow()
    charge = declined_charge_of(consultation, now) if consultation.is_client(client) else None
    if charge is None:
        raise SeriesError(NOTHING_TO_RETRY)
    assert charge.declined_at is not None
    series, profile = charge.series, consultation.specialist
    provider = provider_named(series.provider)
    if provider is None:
        raise SeriesError(NO_CARD_PAGE, "provider")
    back = url_for("consultations.detail", consultation_id=consultation.id, _external=True)
    request = SetupCheckoutRequest(
        currency=charge.payment.currency, description=f"Another card for your weekly sessions with {profile.display_name}",
        reference=f"series-{series.id}-card", success_url=back, cancel_url=back,
        expires_at=now + CHECKOUT_LIFETIME,
        idempotency_key=f"setup-series-{series.id}-card-{charge.declined_at:%Y%m%dT%H%M%S}",
        metadata={"series_id": str(series.id)}, customer_email=client.email)
    try:
        checkout = provider.create_setup_checkout(request)
    except ProviderError as exc:
        log.warning("series %s: setup checkout for another card not created (%s)", series.id, exc)
        raise SeriesError(NO_CARD_PAGE, "provider") from exc
    series.card_checkout_id = checkout.id
    record_audit(client, "payment.series_card_checkout", series, after={"consultation_id": consultation.id})
    db.session.flush()
    return checkout.url


def series_by_checkout(provider: str, checkout_id: str | None, *, another_card: bool = False) -> SessionSeries | None:
    """The series whose setup checkout this is (its first card's, or with ``another_card`` the
    checkout of "Use another card"), with its charges, their sessions and payments, and its specialist."""
    if not checkout_id:
        return None
    column = SessionSeries.card_checkout_id if another_card else SessionSeries.provider_checkout_id
    return db.session.scalar(select(SessionSeries).where(SessionSeries.provider == provider, column == checkout_id)
                             .options(selectinload(SessionSeries.charges).joinedload(SeriesCharge.consultation),
                                      selectinload(SessionSeries.charges).joinedload(SeriesCharge.payment),
                                      joinedload(SessionSeries.specialist)))


def card_replaced(series: SessionSeries, event: ProviderEvent, now: datetime) -> str:
    """The client saved another card: it is the series' card from now on (every charge still to
    come), and each declined occurrence still in its grace period is charged to it at once (with a
    key of this checkout: a replayed webhook replays the charge)."""
    if not event.customer or not event.payment_method:
        log.error("series %s: another card saved without a customer or card", series.id)
        return "no-card"
    series.provider_customer_id = event.customer
    series.provider_payment_method_id = event.payment_method
    record_audit(None, "payment.series_card_replaced", series)
    outcomes = [_charge_declined(charge, now, f"series-charge-{charge.id}-card-{event.checkout_id}")
                for charge in series.charges if can_try_again(charge, now)]
    db.session.flush()
    log.info("series %s: card replaced; declined occurrences charged again: %s", series.id, outcomes)
    return "card-replaced"


# --- an occurrence moved to another time (consultations' move hooks) ---------------------------

DECLINED_NO_MOVE = ("The payment for this session was declined, so it cannot be moved. If it is still unpaid "
                    "by {release_at}, the session is cancelled and its time freed.")


def series_move_refusal(consultation: Consultation, now: datetime) -> str | None:
    """The consultations ``move_refusal`` hook: an occurrence whose off-session charge was declined
    (in its grace period) is not moved; anything else of payments does not stand in the way."""
    charge = db.session.scalar(select(SeriesCharge).where(SeriesCharge.consultation_id == consultation.id))
    if charge is None or charge.charge_state is not ChargeState.DECLINED:
        return None
    return DECLINED_NO_MOVE.format(release_at=format_datetime(charge.release_at, user_zone(consultation.client)))


def series_occurrence_not_charged(consultation: Consultation) -> bool:
    """The consultations ``not_charged_yet`` hook: an occurrence whose charge has not been taken
    (waiting for the card, scheduled, or declined in its grace period) costs nothing to cancel."""
    return db.session.scalar(select(SeriesCharge.id).where(
        SeriesCharge.consultation_id == consultation.id,
        SeriesCharge.charge_state.in_((ChargeState.AWAITING_CARD, ChargeState.SCHEDULED, ChargeState.DECLINED)),
    )) is not None


def move_series_charge(consultation: Consultation, old_start: datetime) -> None:
    """The consultations ``after_move`` hook (in the move's savepoint): an occurrence's charge still
    to be taken is now due before its new time (``charge_due``). Conditional, so a charge a run of
    the job has just claimed is left alone; one already charged keeps its payment. A due time
    already past is taken by the job's next run."""
    moved = execute_dml(
        update(SeriesCharge).where(SeriesCharge.consultation_id == consultation.id,
                                   SeriesCharge.charge_state == ChargeState.SCHEDULED)
        .values(due_at=charge_due(consultation)).execution_options(synchronize_session="fetch"))
    if moved.rowcount:
        log.info("series occurrence %s moved: its charge is due at the new time", consultation.id)


__all__ = ["CHARGE_BEFORE", "DECLINED_NO_MOVE", "DECLINE_GRACE", "NOTHING_TO_RETRY", "NO_CARD_PAGE", "can_try_again",
           "card_replaced", "charge_due", "charge_due_occurrences", "declined_charge_of", "move_series_charge",
           "new_card_checkout", "release_unpaid_occurrences", "retry_declined_charge", "series_charge_of",
           "series_by_checkout", "series_move_refusal", "series_occurrence_not_charged"]
