"""Provider webhooks, provider-neutral: each verified ``ProviderEvent`` is applied once.

The event is recorded first (``payment_events``, unique per provider and event id), so a
replayed event does nothing. A completed, paid checkout confirms the hold; one that is paid
after its hold was released takes the time back if it is still free, otherwise the money is
refunded at once. An expired checkout releases its hold.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from marketplace.audit import record_audit
from marketplace.consultations.models import Consultation
from marketplace.consultations.services import confirm_hold, reclaim_released_hold
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.payments.holds import release_payment_hold
from marketplace.payments.mail import notify_payment
from marketplace.payments.models import Payment, PaymentStatus, WebhookEvent
from marketplace.payments.providers import EventKind, ProviderEvent
from marketplace.payments.refunds import refund_payment
from marketplace.payments.series import on_card_saved
from marketplace.specialists.models import SpecialistProfile

log = logging.getLogger(__name__)


def record_event(provider: str, event_id: str, event_type: str) -> bool:
    """Record the event; False if it was already processed (a replay). A savepoint, so a
    duplicate leaves the rest of the unit of work alone."""
    try:
        with db.session.begin_nested():
            db.session.add(WebhookEvent(provider=provider, event_id=event_id[:255], type=event_type[:100]))
            db.session.flush()
    except IntegrityError:
        return False
    return True


def process_event(provider: str, event: ProviderEvent, now: datetime | None = None) -> str:
    """Apply one verified event of ``provider`` exactly once; returns what happened (logs, tests)."""
    now = now or utcnow()
    if not record_event(provider, event.id, event.type):
        log.info("%s event %s already processed", provider, event.id)
        return "duplicate"
    handler = _HANDLERS.get(event.kind)
    if handler is None:
        return "ignored"
    outcome = handler(provider, event, now)
    log.info("%s event %s (%s): %s", provider, event.id, event.type, outcome)
    return outcome


def _payment_for(provider: str, event: ProviderEvent) -> Payment | None:
    payment = None
    if event.checkout_id:
        payment = db.session.scalar(
            select(Payment).where(Payment.provider == provider, Payment.provider_checkout_id == event.checkout_id)
            .options(joinedload(Payment.consultation).joinedload(Consultation.specialist)
                     .joinedload(SpecialistProfile.user),
                     joinedload(Payment.consultation).joinedload(Consultation.client))
        )
    if payment is None:
        log.warning("%s checkout not linked to any payment", provider)
    return payment


def _on_checkout_completed(provider: str, event: ProviderEvent, now: datetime) -> str:
    payment = _payment_for(provider, event)
    if payment is None:
        return "unknown"
    if not event.paid:
        return "unpaid"  # delayed payment methods are not offered; nothing to confirm yet
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.EXPIRED):
        return "already-settled"
    if event.amount_minor != payment.amount_minor or (event.currency or "").upper() != payment.currency.upper():
        log.error("payment %s: paid amount differs from the booking; left for an admin", payment.id)
        return "amount-mismatch"
    payment.provider_payment_id = event.payment_reference
    payment.paid_at = now
    payment.status = PaymentStatus.PAID
    consultation = payment.consultation
    if confirm_hold(consultation, now) or reclaim_released_hold(consultation, now):
        db.session.flush()
        record_audit(None, "payment.paid", payment, after={"consultation_id": consultation.id})
        notify_payment(consultation, "confirmed")
        return "confirmed"
    # The hold was released and the time is gone (or past): give the money back.
    refund_payment(payment, now, reason="slot_unavailable")
    record_audit(None, "payment.refunded_unavailable", payment, after={"status": payment.status.value})
    notify_payment(consultation, "unavailable")
    return "refunded" if payment.status is PaymentStatus.REFUNDED else "refund-failed"


def _on_checkout_expired(provider: str, event: ProviderEvent, now: datetime) -> str:
    payment = _payment_for(provider, event)
    if payment is None:
        return "unknown"
    if payment.status is not PaymentStatus.PENDING:
        return "already-settled"
    released = release_payment_hold(payment.consultation, now, only_if_lapsed=False)
    return "released" if released else "already-settled"


_HANDLERS: dict[EventKind, Callable[[str, ProviderEvent, datetime], str]] = {
    EventKind.CHECKOUT_COMPLETED: _on_checkout_completed,
    EventKind.CHECKOUT_EXPIRED: _on_checkout_expired,
    EventKind.SETUP_COMPLETED: on_card_saved,  # a weekly series' card saved
}
