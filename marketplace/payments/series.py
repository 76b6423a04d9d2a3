"""Weekly paid-session series: N sessions (2–12) at the same local time, booked in one step.

``book_series`` computes the occurrences at the first session's wall-clock time in the
specialist's zone (across a DST change the UTC time moves by an hour, the local time stays),
checks every one with the booking service's one slot check (``validate_slot``) and places
them all in ONE savepoint through ``place_booking``: if any is taken or outside the
specialist's hours, nothing is booked and the message names that session's date. The
occurrences are held (``pending_payment``) while the client saves a card at the provider
(a setup checkout); the ``SETUP_COMPLETED`` webhook (``on_card_saved``) confirms them.

Each occurrence is then charged off-session 24 hours before it (or when its cancellation
notice starts, if longer: ``charge_due``) by ``charge_due_occurrences``
(periodic job); a charge is claimed with ``UPDATE … WHERE charge_state='scheduled'`` so it is
taken once whatever runs overlap. A declined charge notifies both; until ``DECLINE_GRACE`` has
passed the client can try the card again from the session's page (``retry_declined_charge``);
still unpaid then, the occurrence is released (``release_unpaid_occurrences``). Occurrences are
ordinary paid consultations: cancelling one (the consultation's own cancel) leaves the others.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from flask import url_for
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload

from marketplace.audit import record_audit
from marketplace.auth.models import User
from marketplace.consultations.availability import SpecialistCalendar
from marketplace.consultations.models import Consultation, ConsultationKind, ConsultationState
from marketplace.consultations.services import (
    BookingError,
    calendar_changed,
    confirm_hold,
    place_booking,
    reclaim_released_hold,
    release_blocks,
    validate_slot,
)
from marketplace.database import commit, execute_dml, utcnow
from marketplace.extensions import db
from marketplace.money import format_money
from marketplace.payments.eligibility import check_paid_booking
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.payments.policy import (
    CHECKOUT_LIFETIME,
    HOLD_MINUTES,
    PROVIDER_UNAVAILABLE,
    PaidBookingError,
)
from marketplace.payments.providers import (
    ChargeDeclined,
    PaymentProvider,
    ProviderError,
    ProviderEvent,
    SetupCheckoutRequest,
    active_provider,
    provider_named,
)
from marketplace.payments.series_mail import notify_series
from marketplace.payments.series_models import (
    MAX_SERIES_SESSIONS,
    MIN_SERIES_SESSIONS,
    ChargeState,
    SeriesCharge,
    SeriesState,
    SessionSeries,
)
from marketplace.specialists.models import SpecialistProfile
from marketplace.timeutil import format_datetime, user_zone, zone_or_utc

log = logging.getLogger(__name__)

CHARGE_BEFORE = timedelta(hours=24)  # each occurrence is charged this long before it starts
DECLINE_GRACE = timedelta(hours=12)  # a declined occurrence is released this long after the decline
STALE_CLAIM = timedelta(minutes=10)  # a claim older than this (a crashed run) is scheduled again
NOT_FREE = "The session on {when} is not free: choose another start or fewer sessions"
UNPAID_REASON = "Not paid: the card was declined"


class SeriesError(PaidBookingError):
    """A series could not be booked; the message says why (nothing was booked). Codes: those of
    ``PaidBookingError`` (``taken`` names the occurrence that is not free)."""


def weekly_starts(first_utc: datetime, count: int, zone_name: str) -> list[datetime]:
    """``count`` weekly start times (UTC) at ``first_utc``'s wall-clock time in ``zone_name``.

    The local date advances by seven days and the local time is kept, so across a DST change
    the UTC instant moves by the change (09:00 Berlin is 08:00 UTC in winter, 07:00 in summer).
    A local time that does not exist that day (inside a spring-forward gap) is resolved by
    ``zoneinfo`` to the later offset; the slot check then refuses it unless it is a real slot.
    """
    zone = ZoneInfo(zone_name)
    local = first_utc.astimezone(zone)
    return [datetime.combine(local.date() + timedelta(weeks=k), local.timetz().replace(tzinfo=None), zone)
            .astimezone(timezone.utc) for k in range(count)]


def charge_due(consultation: Consultation) -> datetime:
    """When an occurrence is charged: 24 hours before it, or earlier when the cancellation notice
    snapshotted on it (``take_terms`` at ``place_booking``) is longer, so a late cancellation always
    concerns a paid session and the terms' refund applies (an uncharged one is never charged)."""
    notice = timedelta(hours=consultation.cancel_notice_hours or 0)
    return consultation.start_utc - max(CHARGE_BEFORE, notice)


def describe_start(start_utc: datetime, zone_name: str) -> str:
    """'Tue 14 April at 10:00 (Europe/Berlin)': the date an error or e-mail names."""
    local = start_utc.astimezone(ZoneInfo(zone_name))
    return f"{local.strftime('%a')} {local.day} {local.strftime('%B')} at {local.strftime('%H:%M')} ({zone_name})"


def _check_request(client: User, profile: SpecialistProfile, provider: PaymentProvider | None,
                   start_utc: datetime | None, count: int | None, format_slug: str | None) -> None:
    check_paid_booking(client, profile, provider, format_slug, SeriesError)
    if count is None or not MIN_SERIES_SESSIONS <= count <= MAX_SERIES_SESSIONS:
        raise SeriesError(f"Choose between {MIN_SERIES_SESSIONS} and {MAX_SERIES_SESSIONS} sessions.",
                          "invalid", "sessions")
    if start_utc is None:
        raise SeriesError("Choose a time for your first session.", "invalid", "slot")


def _validated(profile: SpecialistProfile, starts: list[datetime], now: datetime,
               zone_name: str) -> list[SpecialistCalendar]:
    """Every occurrence through THE slot check; the first that fails is named."""
    calendars = []
    for start in starts:
        calendar, problem = validate_slot(profile, start, now, duration_minutes=profile.session_minutes)
        if problem is not None:
            raise SeriesError(NOT_FREE.format(when=describe_start(start, zone_name)), "taken")
        calendars.append(calendar)
    return calendars


class _OccurrenceTaken(Exception):
    def __init__(self, start: datetime) -> None:
        super().__init__(start.isoformat())
        self.start = start


def book_series(client: User, profile: SpecialistProfile, start_utc: datetime | None, count: int | None,
                format_slug: str | None, *, now: datetime | None = None) -> SessionSeries:
    """Hold ``count`` weekly paid sessions from ``start_utc`` and open the provider's setup checkout.

    All or none: every occurrence is validated, then placed with its blocks, its Payment and
    its charge row in one savepoint with the checkout; a lost race on any occurrence, or a
    provider failure, rolls everything back. Raises ``SeriesError`` (nothing booked).
    Redirect the client to ``series.checkout_url``.
    """
    now = now or utcnow()
    provider = active_provider()
    _check_request(client, profile, provider, start_utc, count, format_slug)
    assert provider is not None and start_utc is not None and count is not None
    shown_zone = user_zone(client)
    specialist_zone = zone_or_utc(profile.timezone)
    starts = weekly_starts(start_utc, count, specialist_zone)
    calendars = _validated(profile, starts, now, shown_zone)
    duration = timedelta(minutes=profile.session_minutes)
    hold_until = now + timedelta(minutes=HOLD_MINUTES)
    try:
        with db.session.begin_nested():
            series = SessionSeries(client_id=client.id, specialist_id=profile.id, sessions=count,
                                   timezone=specialist_zone, provider=provider.name, created_at=now)
            db.session.add(series)
            db.session.flush()
            for start, calendar in zip(starts, calendars, strict=True):
                consultation = Consultation(
                    client_id=client.id, specialist_id=profile.id, kind=ConsultationKind.PAID,
                    state=ConsultationState.PENDING_PAYMENT, start_utc=start, end_utc=start + duration,
                    format=format_slug, price_minor=profile.fee_minor, currency=profile.currency,
                    hold_expires_at=hold_until, sequence=0, created_at=now)
                try:
                    place_booking(consultation, calendar)
                except BookingError as lost:
                    raise _OccurrenceTaken(start) from lost
                payment = Payment(consultation_id=consultation.id, provider=provider.name,
                                  amount_minor=profile.fee_minor, currency=profile.currency,
                                  status=PaymentStatus.PENDING, created_at=now)
                db.session.add(payment)
                db.session.flush()
                db.session.add(SeriesCharge(series_id=series.id, consultation_id=consultation.id,
                                            payment_id=payment.id, due_at=charge_due(consultation)))
            db.session.flush()
            checkout = provider.create_setup_checkout(_setup_request(series, client, profile, count, now))
            series.provider_checkout_id = checkout.id
            series.checkout_url = checkout.url
            record_audit(client, "payment.series_held", series,
                         after={"sessions": count, "first_start_utc": start_utc.isoformat(),
                                "provider": provider.name})
            db.session.flush()
    except _OccurrenceTaken as taken:
        raise SeriesError(NOT_FREE.format(when=describe_start(taken.start, shown_zone)), "taken") from None
    except ProviderError as exc:
        log.warning("setup checkout for specialist %s not created (%s); series rolled back", profile.id, exc)
        raise SeriesError(PROVIDER_UNAVAILABLE, "provider") from exc
    calendar_changed([profile.id], blocks_only=True)
    log.info("series %s of %s sessions held, card to be saved", series.id, count)
    return series


def _setup_request(series: SessionSeries, client: User, profile: SpecialistProfile, count: int,
                   now: datetime) -> SetupCheckoutRequest:
    return SetupCheckoutRequest(
        currency=profile.currency,
        description=f"{count} weekly sessions with {profile.display_name}",
        reference=f"series-{series.id}",
        success_url=url_for("payments.series_saved", _external=True),
        cancel_url=url_for("payments.series_book", slug=profile.slug, _external=True),
        expires_at=now + CHECKOUT_LIFETIME,
        idempotency_key=f"setup-series-{series.id}",
        metadata={"series_id": str(series.id)},
        customer_email=client.email,
    )


# --- the card is saved (webhook) ----------------------------------------------------------------

def _series_for_checkout(provider: str, checkout_id: str | None) -> SessionSeries | None:
    if not checkout_id:
        return None
    return db.session.scalar(select(SessionSeries).where(
        SessionSeries.provider == provider, SessionSeries.provider_checkout_id == checkout_id)
        .options(selectinload(SessionSeries.charges).joinedload(SeriesCharge.consultation),
                 selectinload(SessionSeries.charges).joinedload(SeriesCharge.payment),
                 joinedload(SessionSeries.specialist)))


def on_card_saved(provider: str, event: ProviderEvent, now: datetime) -> str:
    """``SETUP_COMPLETED``: keep the card and confirm every occurrence still held (or whose
    released time is still free); each confirmed one is scheduled for its off-session charge.
    The setup checkout of "Use another card" replaces the card instead (``_card_replaced``)."""
    series = _series_for_checkout(provider, event.checkout_id)
    if series is None:
        replacing = _series_for_card_checkout(provider, event.checkout_id)
        if replacing is not None:
            return _card_replaced(replacing, event, now)
        log.warning("%s setup checkout not linked to any series", provider)
        return "unknown"
    if series.state is not SeriesState.AWAITING_CARD:
        return "already-settled"
    if not event.customer or not event.payment_method:
        log.error("series %s: setup completed without a customer or card", series.id)
        return "no-card"
    series.provider_customer_id = event.customer
    series.provider_payment_method_id = event.payment_method
    series.card_saved_at = now
    series.state = SeriesState.ACTIVE
    confirmed = []
    for charge in series.charges:
        consultation = charge.consultation
        if confirm_hold(consultation, now) or reclaim_released_hold(consultation, now):
            charge.charge_state = ChargeState.SCHEDULED
            charge.payment.status = PaymentStatus.PENDING
            confirmed.append(consultation)
        else:
            charge.charge_state = ChargeState.CANCELLED
    db.session.flush()
    record_audit(None, "payment.series_card_saved", series, after={"confirmed": len(confirmed)})
    notify_series(series, confirmed, "booked")
    return "confirmed"


# --- off-session charges (periodic job) ---------------------------------------------------------

def _claim(charge_id: int, now: datetime) -> bool:
    result = execute_dml(
        update(SeriesCharge).where(SeriesCharge.id == charge_id, SeriesCharge.charge_state == ChargeState.SCHEDULED)
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
    """Whether ``charge`` was declined and can still be paid (before its ``release_at``)."""
    return (charge is not None and charge.charge_state is ChargeState.DECLINED and charge.release_at is not None
            and charge.release_at > (now or utcnow()))


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
    if charge is None or consultation.state is not ConsultationState.CONFIRMED:
        raise SeriesError(NOTHING_TO_RETRY)
    claimed = execute_dml(
        update(SeriesCharge).where(SeriesCharge.id == charge.id, SeriesCharge.charge_state == ChargeState.DECLINED)
        .values(charge_state=ChargeState.CHARGING, attempted_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise SeriesError(NOTHING_TO_RETRY)
    db.session.refresh(charge)
    assert charge.declined_at is not None and charge.release_at is not None
    tz = user_zone(client)
    outcome = _charge_card(charge, now, f"series-charge-{charge.id}-after-{charge.declined_at:%Y%m%dT%H%M%S}")
    record_audit(client, "payment.series_charge_retried", charge.payment, after={"outcome": outcome})
    if outcome == "charged":
        return RETRY_PAID.format(amount=format_money(charge.payment.amount_minor, charge.payment.currency),
                                 when=format_datetime(consultation.start_utc, tz))
    if outcome == "failed":
        charge.charge_state = ChargeState.DECLINED  # as it was: the client may try again
        db.session.flush()
        return RETRY_UNREACHABLE
    return RETRY_DECLINED.format(release_at=format_datetime(charge.release_at, tz))


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
    if charge is None or consultation.state is not ConsultationState.CONFIRMED:
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


def _series_for_card_checkout(provider: str, checkout_id: str | None) -> SessionSeries | None:
    if not checkout_id:
        return None
    return db.session.scalar(select(SessionSeries).where(
        SessionSeries.provider == provider, SessionSeries.card_checkout_id == checkout_id)
        .options(selectinload(SessionSeries.charges).joinedload(SeriesCharge.consultation),
                 selectinload(SessionSeries.charges).joinedload(SeriesCharge.payment)))


def _card_replaced(series: SessionSeries, event: ProviderEvent, now: datetime) -> str:
    """The client saved another card: it is the series' card from now on (every charge still to
    come), and each declined occurrence still in its grace period is charged to it at once (with a
    key of this checkout: a replayed webhook replays the charge)."""
    if not event.customer or not event.payment_method:
        log.error("series %s: another card saved without a customer or card", series.id)
        return "no-card"
    series.provider_customer_id = event.customer
    series.provider_payment_method_id = event.payment_method
    record_audit(None, "payment.series_card_replaced", series)
    outcomes = []
    for charge in series.charges:
        if not can_try_again(charge, now) or charge.consultation.state is not ConsultationState.CONFIRMED:
            continue
        claimed = execute_dml(
            update(SeriesCharge).where(SeriesCharge.id == charge.id, SeriesCharge.charge_state == ChargeState.DECLINED)
            .values(charge_state=ChargeState.CHARGING, attempted_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        db.session.refresh(charge)
        outcome = _charge_card(charge, now, f"series-charge-{charge.id}-card-{event.checkout_id}")
        if outcome == "failed":
            charge.charge_state = ChargeState.DECLINED  # as it was: the client may try again
        outcomes.append(outcome)
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


# --- pages --------------------------------------------------------------------------------------

@dataclass
class SeriesView:
    series: SessionSeries
    occurrences: list[SeriesCharge]


def series_overview(series_id: int, user: Any) -> SeriesView | None:
    """A series and its occurrences in time order, with their charges, for its client and its
    specialist (None for anyone else: the page answers 404)."""
    series = db.session.scalar(select(SessionSeries).where(SessionSeries.id == series_id).options(
        selectinload(SessionSeries.charges).joinedload(SeriesCharge.consultation),
        selectinload(SessionSeries.charges).joinedload(SeriesCharge.payment),
        joinedload(SessionSeries.specialist), joinedload(SessionSeries.client)))
    if series is None or getattr(user, "id", None) not in (series.client_id, series.specialist.user_id):
        return None
    return SeriesView(series=series, occurrences=sorted(series.charges, key=lambda c: c.consultation.start_utc))


def series_for_checkout(checkout_id: str | None, user: User) -> SeriesView | None:
    """The page after the card was saved: the user's series for a setup checkout (None if not theirs)."""
    provider = active_provider()
    if not checkout_id or len(checkout_id) > 255 or provider is None:
        return None
    series = _series_for_checkout(provider.name, checkout_id)
    if series is None or not series.can_view(user):
        return None
    # In time order: an occurrence moved after its charge keeps its due time.
    return SeriesView(series=series, occurrences=sorted(series.charges, key=lambda c: c.consultation.start_utc))


__all__ = ["CHARGE_BEFORE", "DECLINED_NO_MOVE", "DECLINE_GRACE", "NOTHING_TO_RETRY", "NOT_FREE", "NO_CARD_PAGE",
           "SeriesError", "SeriesView", "book_series", "can_try_again", "charge_due", "charge_due_occurrences",
           "declined_charge_of", "describe_start", "move_series_charge", "new_card_checkout", "on_card_saved",
           "release_unpaid_occurrences", "retry_declined_charge", "series_charge_of", "series_for_checkout",
           "series_overview", "series_move_refusal", "series_occurrence_not_charged", "weekly_starts"]
