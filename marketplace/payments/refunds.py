"""Cancelling a paid session settles its money by the cancellation terms snapshotted on the
booking (``consultations.cancellation``): a full refund with more than the notice left (or
whenever anyone but the client cancels), otherwise the late term (full / half / none), which a
client no-show gets too; a session the specialist did not come to (the client's report) is
refunded in full. ``refund_policy`` states it BEFORE the person confirms; one pure
function computes it for the page and for the refund. Refunds go to the provider the payment
was made with, a partial one with its amount."""
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
from marketplace.payments.policy import PaymentError
from marketplace.payments.providers import ProviderError, provider_named
from marketplace.scheduling.cancellation import Consequence, no_show_consequence, paid_consequence

log = logging.getLogger(__name__)


@dataclass
class RefundPolicy:
    """What cancelling now means for the money (shown BEFORE the person confirms)."""

    refundable: bool
    message: str
    refund_minor: int = 0  # what the client gets back (minor units of the payment's currency)
    late: bool = False


def _paid_payment(consultation: Consultation) -> Payment | None:
    payment = payment_of(consultation) if consultation.kind is ConsultationKind.PAID else None
    return payment if payment is not None and payment.status is PaymentStatus.PAID else None


def refund_policy(consultation: Consultation, user: Any, now: datetime | None = None) -> RefundPolicy | None:
    """None unless ``consultation`` is a paid session with a paid payment; otherwise what ``user``
    cancelling NOW refunds, by the terms snapshotted on the booking (``paid_consequence``)."""
    payment = _paid_payment(consultation)
    if payment is None:
        return None
    consequence = paid_consequence(consultation.terms, by_client=consultation.is_client(user), now=now or utcnow(),
                                   start_utc=consultation.start_utc, amount_minor=payment.amount_minor,
                                   currency=payment.currency)
    return RefundPolicy(consequence.refundable, consequence.words, consequence.refund_minor or 0, consequence.late)


def cancel_paid_session(consultation: Consultation, actor: Any, now: datetime | None = None) -> RefundPolicy | None:
    """The consultations ``on_cancel`` hook: settle the payment of a session ``actor`` cancels.

    Runs in the cancellation's unit of work (registered by the app factory), as of the
    cancellation's instant. Refunds what ``refund_policy`` says (idempotency key ``refund-<payment
    id>``); if the provider fails the payment is marked ``refund_failed`` for an admin to retry —
    the cancellation stands. Returns the policy applied (None: no paid payment).
    """
    now = now or consultation.cancelled_at or utcnow()
    policy = refund_policy(consultation, actor, now)
    if policy is None:
        return None
    payment = payment_of(consultation)
    assert payment is not None  # a refund policy means a paid payment
    if policy.refundable:
        _refund_recorded(payment, actor, now, reason="requested_by_customer", amount_minor=policy.refund_minor)
    else:
        record_audit(actor, "payment.no_refund", payment, after={"policy": "late cancellation"})
        log.info("paid session %s cancelled late: no refund", consultation.id)
    return policy


def settle_no_show(consultation: Consultation, actor: Any, now: datetime | None = None) -> Consequence | None:
    """The consultations ``on_no_show`` hook: the client missed a paid session, so the booking's
    late term applies (full / half / no refund). None: not a paid session with a paid payment.

    Recorded in the same unit of work as the no-show. (Undoing the no-show later does not take a
    refund back: the client keeps what was refunded.)"""
    payment = _paid_payment(consultation)
    if payment is None:
        return None
    consequence = no_show_consequence(consultation.terms, amount_minor=payment.amount_minor,
                                      currency=payment.currency)
    if consequence.refundable:
        _refund_recorded(payment, actor, now or utcnow(), reason="no_show", amount_minor=consequence.refund_minor,
                         policy="no-show")
    else:
        record_audit(actor, "payment.no_refund", payment, after={"policy": "no-show"})
    return consequence


MISSED_REFUNDED = ("The fee you paid for this session ({amount}) is refunded in full. Depending on your bank it can "
                   "take 5–10 days to appear.")
MISSED_REFUND_FAILED = ("We could not refund the fee you paid for this session ({amount}) automatically just now. "
                        "Our team has been told and will refund it in full.")


def refund_missed_session(consultation: Consultation, client: Any, now: datetime) -> str | None:
    """The consultations ``on_specialist_no_show`` hook: the client reports that the specialist
    did not come to a paid session, so its fee is refunded in full (as when the specialist
    cancels), in the report's unit of work. Returns what the client is told (None: nothing was
    paid). A refund the provider refuses is flagged ``refund_failed`` for an admin to retry."""
    payment = _paid_payment(consultation)
    if payment is None:
        return None
    _refund_recorded(payment, client, now, reason="specialist_no_show", amount_minor=payment.amount_minor,
                     policy="specialist did not come")
    amount = format_money(payment.amount_minor, payment.currency)
    return (MISSED_REFUNDED if payment.status is PaymentStatus.REFUNDED else MISSED_REFUND_FAILED).format(amount=amount)


def _refund_recorded(payment: Payment, actor: Any, now: datetime, *, reason: str, amount_minor: int | None,
                     policy: str | None = None) -> None:
    """``refund_payment`` and its audit row (what became of it; the policy that refunded it)."""
    refund_payment(payment, now, reason=reason, amount_minor=amount_minor)
    record_audit(actor, "payment.refund", payment, after={"status": payment.status.value,
                                                          "refund_minor": payment.refund_minor,
                                                          **({"policy": policy} if policy else {})})


def refund_payment(payment: Payment, now: datetime, *, reason: str, amount_minor: int | None = None) -> None:
    """Refund ``amount_minor`` of the payment (None: the amount fixed before, else all of it):
    ``refunded``, or ``refund_failed`` (never raises; a retry refunds the same amount)."""
    if amount_minor is not None:
        payment.refund_minor = amount_minor
    elif payment.refund_minor is None:
        payment.refund_minor = payment.amount_minor
    partial = payment.refund_minor < payment.amount_minor
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
            metadata={"payment_id": str(payment.id), "consultation_id": str(payment.consultation_id)},
            amount_minor=payment.refund_minor if partial else None)
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
