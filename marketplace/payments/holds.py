"""Payment holds: a paid session's time is held ``HOLD_MINUTES`` for its payment.

A lapsed hold is released by the ``release-expired-holds`` sweep (cron / the periodic job),
by a ``checkout expired`` webhook, and before any booking of the same specialist (the
consultations domain's ``before_booking`` hook, registered by the app factory). The
consultation's side (state, calendar blocks) is the consultations domain's
``release_hold``; here the payment is marked expired and its checkout closed at the provider.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update

from marketplace.account.hooks import deletion_hook
from marketplace.auth.models import User
from marketplace.consultations.models import Consultation
from marketplace.consultations.services import holds_of_client, lapsed_holds, release_hold
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.payments.providers import ProviderError, provider_named

log = logging.getLogger(__name__)


def release_payment_hold(consultation: Consultation, now: datetime, *, only_if_lapsed: bool) -> bool:
    """Release the hold and expire its pending payment; True for the one caller that did it."""
    if not release_hold(consultation, now, only_if_lapsed=only_if_lapsed):
        return False
    db.session.execute(
        update(Payment).where(Payment.consultation_id == consultation.id, Payment.status == PaymentStatus.PENDING)
        .values(status=PaymentStatus.EXPIRED).execution_options(synchronize_session=False)
    )
    log.info("payment hold of consultation %s released", consultation.id)
    return True


def release_expired_holds(now: datetime | None = None, *, specialist_id: int | None = None) -> list[Payment]:
    """Release every hold past ``hold_expires_at`` (optionally of one specialist).

    Idempotent and safe to run concurrently (cron on any host, and before each booking).
    Returns the payments whose hold THIS call released, so the caller can expire their
    checkouts at the provider after committing (``expire_checkouts``).
    """
    now = now or utcnow()
    released = [c for c in lapsed_holds(now, specialist_id=specialist_id)
                if release_payment_hold(c, now, only_if_lapsed=True)]
    if not released:
        return []
    return list(db.session.scalars(
        select(Payment).where(Payment.consultation_id.in_([c.id for c in released]))))


def release_holds_before_booking(specialist_id: int, now: datetime) -> None:
    """The consultations ``before_booking`` hook: lapsed holds never refuse a new booking."""
    release_expired_holds(now, specialist_id=specialist_id)


def expire_checkouts(payments: list[Payment]) -> int:
    """Best effort: close the checkouts of released holds at their provider so they can't be paid.

    Errors are logged, never raised (a late payment is refunded by the webhook anyway).
    """
    expired = 0
    for payment in payments:
        provider = provider_named(payment.provider)
        if not payment.provider_checkout_id or provider is None or not provider.enabled():
            continue
        try:
            provider.expire_checkout(payment.provider_checkout_id)
            expired += 1
        except ProviderError as exc:
            log.info("checkout of payment %s not expired at %s (%s)", payment.id, payment.provider, exc)
    return expired


@deletion_hook
def release_holds_of_deleted_user(user: User) -> None:
    """Account deletion: give back the times a client was still holding for payment.
    (Paid, confirmed sessions are cancelled by the consultations hook, which settles the
    money through ``cancel_paid_session``.)"""
    now = utcnow()
    for consultation in holds_of_client(user.id):
        release_payment_hold(consultation, now, only_if_lapsed=False)
