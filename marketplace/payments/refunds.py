"""Cancelling a paid session settles its money: a full refund more than ``REFUND_NOTICE``
before the start (or whenever the specialist cancels), none later — ``refund_policy`` states
which BEFORE the person confirms. Refunds go to the provider the payment was made with."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marketplace.audit import record_audit
from marketplace.auth.models import User
from marketplace.consultations.models import Consultation, ConsultationKind
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.money import format_money
from marketplace.payments.models import Payment, PaymentStatus, payment_of
from marketplace.payments.policy import REFUND_NOTICE, PaymentError
from marketplace.payments.providers import ProviderError, provider_named

log = logging.getLogger(__name__)


@dataclass
class RefundPolicy:
    """What cancelling now means for the money (shown BEFORE the person confirms)."""

    refundable: bool
    message: str


def refund_policy(consultation: Consultation, user: Any, now: datetime | None = None) -> RefundPolicy | None:
    """None unless ``consultation`` is a paid session; otherwise whether cancelling NOW refunds.

    Full refund when the specialist cancels, or the client cancels more than 24 hours before
    the start; no refund for the client's later cancellations.
    """
    payment = payment_of(consultation) if consultation.kind is ConsultationKind.PAID else None
    if payment is None or payment.status is not PaymentStatus.PAID:
        return None
    now = now or utcnow()
    amount = format_money(payment.amount_minor, payment.currency)
    if consultation.is_specialist(user):
        return RefundPolicy(True, f"If you cancel, the client gets a full refund of {amount}.")
    if consultation.start_utc - now > REFUND_NOTICE:
        return RefundPolicy(True, f"Cancelling more than 24 hours before the start: you get a full refund "
                                  f"of {amount}.")
    return RefundPolicy(False, f"Cancellation policy: sessions cancelled less than 24 hours before the start "
                               f"are not refunded. If you cancel now, the {amount} you paid will not be refunded.")


def cancel_paid_session(consultation: Consultation, actor: Any, now: datetime | None = None) -> RefundPolicy | None:
    """The consultations ``on_cancel`` hook: settle the payment of a session ``actor`` cancels.

    Runs in the cancellation's unit of work (registered by the app factory). Refunds through
    the payment's provider when ``refund_policy`` says so (idempotency key ``refund-<payment
    id>``); if the provider fails the payment is marked ``refund_failed`` for an admin to
    retry — the cancellation stands. Returns the policy applied (None: no paid payment).
    """
    now = now or utcnow()
    policy = refund_policy(consultation, actor, now)
    if policy is None:
        return None
    payment = payment_of(consultation)
    assert payment is not None  # a refund policy means a paid payment
    if policy.refundable:
        refund_payment(payment, now, reason="requested_by_customer")
        record_audit(actor, "payment.refund", payment, after={"status": payment.status.value})
    else:
        record_audit(actor, "payment.no_refund", payment, after={"policy": "late cancellation"})
        log.info("paid session %s cancelled late: no refund", consultation.id)
    return policy


def refund_payment(payment: Payment, now: datetime, *, reason: str) -> None:
    """Refund the whole payment: ``refunded``, or ``refund_failed`` (never raises)."""
    provider = provider_named(payment.provider)
    if not payment.provider_payment_id or provider is None:
        payment.status = PaymentStatus.REFUND_FAILED
        log.error("payment %s cannot be refunded: no payment reference or no provider %r", payment.id,
                  payment.provider)
        db.session.flush()
        return
    try:
        # Identical parameters on every attempt (no ``reason``): a refund that timed out may have
        # been made, and the retry with the same idempotency key must replay it, not be refused.
        receipt = provider.refund(
            payment.provider_payment_id, idempotency_key=f"refund-{payment.id}",
            metadata={"payment_id": str(payment.id), "consultation_id": str(payment.consultation_id)})
    except ProviderError as exc:
        payment.status = PaymentStatus.REFUND_FAILED
        log.warning("refund of payment %s (%s) failed (%s); flagged for an admin", payment.id, reason, exc)
        db.session.flush()
        return
    payment.status = PaymentStatus.REFUNDED
    payment.refund_id = receipt.id
    payment.refunded_at = now
    db.session.flush()
    log.info("payment %s refunded (%s)", payment.id, reason)


def retry_refund(payment: Payment, admin: User, now: datetime | None = None) -> None:
    """An admin retries a refund that the provider refused or could not be reached for."""
    if payment.status is not PaymentStatus.REFUND_FAILED:
        raise PaymentError("Only failed refunds can be retried.")
    refund_payment(payment, now or utcnow(), reason="retry")
    record_audit(admin, "payment.refund_retry", payment, after={"status": payment.status.value})
    if payment.status is not PaymentStatus.REFUNDED:
        raise PaymentError("The payment provider did not accept the refund. Please try again later.")
