"""Booking a paid session: a hold on the calendar and a checkout at the payment provider.

``book_paid_session`` places a ``Consultation(kind=paid, state=pending_payment)`` with its
occupied blocks through the consultations domain's ``place_booking`` (the same savepoint,
unique-block guard and daily cap as the free consultation), then opens the checkout *inside
that savepoint*: if the provider fails, the savepoint is rolled back and no hold is left
without a checkout. Only the provider's signed webhook confirms the booking (``webhooks``).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace.audit import record_audit
from marketplace.auth.models import User
from marketplace.consultations.models import Consultation, ConsultationKind, ConsultationState
from marketplace.consultations.services import (
    NOT_A_SLOT,
    SLOT_TAKEN,
    BookingError,
    calendar_changed,
    place_booking,
    validate_slot,
)
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.payments.eligibility import check_paid_booking
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.payments.policy import (
    CHECKOUT_LIFETIME,
    HOLD_EXPIRED,
    HOLD_MINUTES,
    PAYMENTS_DISABLED,
    PROVIDER_UNAVAILABLE,
    PaidBookingError,
    PaymentError,
)
from marketplace.payments.providers import (
    CheckoutRequest,
    PaymentProvider,
    ProviderError,
    active_provider,
    provider_named,
)
from marketplace.specialists.models import SpecialistProfile
from marketplace.timeutil import format_datetime, user_zone

log = logging.getLogger(__name__)


def book_paid_session(client: User, profile: SpecialistProfile, start_utc: datetime | None,
                      format_slug: str | None, *, now: datetime | None = None) -> Payment:
    """Hold ``start_utc`` for ``HOLD_MINUTES`` and open a checkout at the active provider; returns
    the pending payment (the client goes on to ``payment.checkout_url``).

    The consultation, its blocks, the Payment row and the provider call share one savepoint:
    a lost race raises ``PaidBookingError`` with code "taken", a provider failure code
    "provider", and in both cases nothing is left behind. The booking is confirmed later by
    the webhook.
    """
    now = now or utcnow()
    provider = check_paid_booking(client, profile, active_provider(), format_slug)
    if start_utc is None:
        raise PaidBookingError("Choose a time for your session.", "invalid")
    # The slot check of every booking (it also releases this specialist's lapsed holds first).
    calendar, problem = validate_slot(profile, start_utc, now, duration_minutes=profile.session_minutes)
    if problem is not None:
        raise PaidBookingError(SLOT_TAKEN if problem == "taken" else NOT_A_SLOT, problem)

    consultation = Consultation(
        client_id=client.id, specialist_id=profile.id, kind=ConsultationKind.PAID,
        state=ConsultationState.PENDING_PAYMENT, start_utc=start_utc,
        end_utc=start_utc + timedelta(minutes=profile.session_minutes), format=format_slug,
        price_minor=profile.fee_minor, currency=profile.currency,
        hold_expires_at=now + timedelta(minutes=HOLD_MINUTES), sequence=0,
    )
    created: list[Payment] = []

    def open_checkout(booked: Consultation) -> None:
        payment = Payment(consultation_id=booked.id, provider=provider.name, amount_minor=booked.price_minor,
                          currency=booked.currency, status=PaymentStatus.PENDING, created_at=now)
        db.session.add(payment)
        db.session.flush()
        _create_checkout(provider, payment, booked, client, profile)
        record_audit(client, "payment.checkout_created", payment,
                     after={"consultation_id": booked.id, "amount_minor": payment.amount_minor,
                            "currency": payment.currency, "provider": provider.name})
        calendar_changed([profile.id], blocks_only=True)
        created.append(payment)

    try:
        place_booking(consultation, calendar, after=open_checkout)
    except ProviderError as exc:
        log.warning("checkout for specialist %s not created (%s); hold rolled back", profile.id, exc)
        raise PaidBookingError(PROVIDER_UNAVAILABLE, "provider") from exc
    except BookingError as exc:
        raise PaidBookingError(SLOT_TAKEN, "taken") from exc
    payment = created[0]
    log.info("paid session %s held, payment %s pending", consultation.id, payment.id)
    return payment


def checkout_request(payment: Payment, consultation: Consultation, client: User,
                     profile: SpecialistProfile) -> CheckoutRequest:
    """Everything sent to the provider, derived only from stored data so a re-creation with the
    same idempotency key sends identical parameters (and the provider replays the checkout)."""
    minutes = int((consultation.end_utc - consultation.start_utc).total_seconds() // 60)
    assert consultation.hold_expires_at is not None
    return CheckoutRequest(
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        product_name=(f"{minutes}-minute session with {profile.display_name}, "
                      f"{format_datetime(consultation.start_utc, user_zone(client))}"),
        metadata={"consultation_id": str(consultation.id), "payment_id": str(payment.id)},
        reference=f"consultation-{consultation.id}",
        success_url=url_for("payments.success", _external=True),
        cancel_url=url_for("payments.checkout_cancelled", payment_id=payment.id, _external=True),
        expires_at=consultation.hold_expires_at - timedelta(minutes=HOLD_MINUTES) + CHECKOUT_LIFETIME,
        idempotency_key=f"checkout-consultation-{consultation.id}-{int(consultation.hold_expires_at.timestamp())}",
        customer_email=client.email,
    )


def _create_checkout(provider: PaymentProvider, payment: Payment, consultation: Consultation, client: User,
                     profile: SpecialistProfile) -> None:
    checkout = provider.create_checkout(checkout_request(payment, consultation, client, profile))
    payment.provider_checkout_id = checkout.id
    payment.checkout_url = checkout.url
    db.session.flush()


def checkout_redirect(payment: Payment, user: User, now: datetime | None = None) -> str:
    """The checkout URL to (re)open for a pending hold of ``user``.

    Raises ``PaymentError`` when there is nothing left to pay (paid, expired, released).
    """
    now = now or utcnow()
    consultation = payment.consultation
    if not consultation.is_client(user):
        raise PaymentError("Only the client who booked this session can pay for it.")
    if payment.status is PaymentStatus.PAID or consultation.state is ConsultationState.CONFIRMED:
        raise PaymentError("This session is already paid.")
    if (payment.status is not PaymentStatus.PENDING or consultation.state is not ConsultationState.PENDING_PAYMENT
            or consultation.hold_expires_at is None or consultation.hold_expires_at <= now):
        raise PaymentError(HOLD_EXPIRED)
    provider = provider_named(payment.provider)
    if provider is None or not provider.enabled():
        raise PaymentError(PAYMENTS_DISABLED)
    if not payment.checkout_url:
        try:
            _create_checkout(provider, payment, consultation, user, consultation.specialist)
        except ProviderError as exc:
            log.warning("checkout for payment %s not re-created (%s)", payment.id, exc)
            raise PaymentError(PROVIDER_UNAVAILABLE) from exc
    assert payment.checkout_url
    return payment.checkout_url


def payment_for_checkout(checkout_id: str | None, user: User) -> Payment | None:
    """The success page: the user's payment for a checkout id of the active provider (None if not theirs)."""
    provider = active_provider()
    if not checkout_id or len(checkout_id) > 255 or provider is None:
        return None
    payment = db.session.scalar(
        select(Payment).where(Payment.provider == provider.name, Payment.provider_checkout_id == checkout_id)
        .options(joinedload(Payment.consultation).joinedload(Consultation.specialist))
    )
    if payment is None or not payment.consultation.is_client(user):
        return None
    return payment


__all__ = ["PaidBookingError", "book_paid_session", "checkout_redirect", "checkout_request",
           "payment_for_checkout"]
