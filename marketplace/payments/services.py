"""Paid follow-up sessions: booking with a payment hold, Stripe Checkout, webhooks,
hold expiry, refunds.

Flow
----
1. ``book_paid_session`` places a ``Consultation(kind=paid, state=pending_payment)`` with
   its occupied blocks through the consultations domain's ``place_booking`` (the same
   savepoint and unique-block guard as the free consultation), then creates the Stripe
   Checkout Session *inside that savepoint*: if Stripe fails, the savepoint is rolled back
   and no hold is left without a checkout.
2. Only the signed ``checkout.session.completed`` webhook confirms the booking
   (``process_stripe_event``). Events are inserted into ``stripe_events`` first, so a
   replayed event hits the primary key and does nothing.
3. A hold lives ``HOLD_MINUTES``; ``checkout.session.expired`` and the
   ``release-expired-holds`` sweep release it with a conditional UPDATE (two runners can't
   both process one hold). A payment that completes after its hold was released re-claims
   the slot if it is still free, otherwise it is refunded automatically.
4. ``cancel_paid_session`` settles the money when a paid session is cancelled: a full
   refund more than ``REFUND_NOTICE`` before the start (or whenever the specialist cancels),
   no refund later — ``refund_policy`` states which BEFORE the person confirms.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import stripe
from flask import url_for
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload

from marketplace.account.hooks import data_exporter, deletion_hook
from marketplace.audit import record_audit
from marketplace.auth.models import User
from marketplace.consultations.models import (
    Consultation,
    ConsultationKind,
    ConsultationOutcome,
    ConsultationState,
)
from marketplace.database import execute_dml, utcnow
from marketplace.extensions import db
from marketplace.money import format_money
from marketplace.payments import stripe_client
from marketplace.payments.models import Payment, PaymentStatus, StripeEvent
from marketplace.scheduling.weeks import SlotWeek, WeekQuery, slot_week
from marketplace.specialists.models import SpecialistProfile
from marketplace.timeutil import format_datetime, is_valid_timezone

log = logging.getLogger(__name__)

HOLD_MINUTES = 15
# Stripe accepts expires_at 30 min to 24 h after creation; one minute of margin so network
# latency and clock skew never push it below the minimum.
CHECKOUT_LIFETIME = timedelta(minutes=31)
REFUND_NOTICE = timedelta(hours=24)
HOLD_RELEASED_REASON = "payment not completed"

PAYMENTS_DISABLED = "Payments are not enabled"
NOT_ELIGIBLE = ("Paid sessions can be booked after a free consultation in which {name} "
                "agreed to proceed.")
NO_FEE = "{name} has not set a session fee yet, so paid sessions cannot be booked."
STRIPE_UNAVAILABLE = ("We could not start the payment just now, so nothing was booked. "
                      "Please try again in a moment.")
HOLD_EXPIRED = "This reservation has expired because the payment was not completed. Please choose a time again."


# --- eligibility and slots -------------------------------------------------------------------

def may_book_paid_session(client: Any, profile: SpecialistProfile) -> bool:
    """Only a client whose free consultation with this specialist ended with "proceed"."""
    if not getattr(client, "is_authenticated", False) or not getattr(client, "is_client", False):
        return False
    return bool(db.session.scalar(select(exists().where(
        Consultation.client_id == client.id, Consultation.specialist_id == profile.id,
        Consultation.kind == ConsultationKind.FREE, Consultation.outcome == ConsultationOutcome.PROCEED,
    ))))


def paid_session_slots(profile: SpecialistProfile, now: datetime | None = None) -> list[datetime]:
    """Free UTC start times for a session of ``profile.session_minutes`` (the same engine and
    calendar — rules, overrides, buffer, notice, horizon, bookings, holds — as free consultations)."""
    from marketplace.consultations.availability import load_calendar

    now = now or utcnow()
    return load_calendar(profile, now).free_slots(now, profile.session_minutes)


def paid_session_week(profile: SpecialistProfile, tz_name: str, query: WeekQuery,
                      now: datetime | None = None) -> SlotWeek:
    """The week of ``paid_session_slots`` the booking page shows for ``query`` (the viewer's zone)."""
    now = now or utcnow()
    return slot_week(paid_session_slots(profile, now), tz_name, query, now)


# --- booking -----------------------------------------------------------------------------------

class PaymentError(Exception):
    """A payment rule was broken; the message is shown to the person (nothing changed)."""


@dataclass
class PaidBookingResult:
    """A pending payment (redirect to ``payment.checkout_url``), or an error and message."""

    payment: Payment | None = None
    error: str | None = None  # disabled / not_eligible / not_bookable / invalid / taken / stripe
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.payment is not None and self.error is None


def _refusal(error: str, message: str) -> PaidBookingResult:
    return PaidBookingResult(error=error, message=message)


def book_paid_session(client: User, profile: SpecialistProfile, start_utc: datetime | None,
                      format_slug: str | None, *, now: datetime | None = None) -> PaidBookingResult:
    """Hold ``start_utc`` for ``HOLD_MINUTES`` and open a Stripe Checkout Session for it.

    The consultation, its blocks, the Payment row and the Stripe call share one savepoint:
    a lost race returns ``error="taken"``, a Stripe failure ``error="stripe"``, and in both
    cases nothing is left behind. The booking is confirmed later by the webhook.
    """
    from marketplace.consultations.availability import calendar_changed
    from marketplace.consultations.booking import NOT_A_SLOT, SLOT_TAKEN, place_booking, validate_slot

    now = now or utcnow()
    if not stripe_client.payments_enabled():
        return _refusal("disabled", PAYMENTS_DISABLED)
    if not may_book_paid_session(client, profile):
        return _refusal("not_eligible", NOT_ELIGIBLE.format(name=profile.display_name))
    if not profile.fee_minor:
        return _refusal("not_bookable", NO_FEE.format(name=profile.display_name))
    if format_slug not in profile.format_slugs():
        return _refusal("invalid", "Choose how you would like to meet.")
    if start_utc is None:
        return _refusal("invalid", "Choose a time for your session.")
    # The slot check of every booking (it also releases this specialist's lapsed holds first).
    calendar, problem = validate_slot(profile, start_utc, now, duration_minutes=profile.session_minutes)
    if problem is not None:
        return _refusal(problem, SLOT_TAKEN if problem == "taken" else NOT_A_SLOT)

    consultation = Consultation(
        client_id=client.id, specialist_id=profile.id, kind=ConsultationKind.PAID,
        state=ConsultationState.PENDING_PAYMENT, start_utc=start_utc,
        end_utc=start_utc + timedelta(minutes=profile.session_minutes), format=format_slug,
        price_minor=profile.fee_minor, currency=profile.currency,
        hold_expires_at=now + timedelta(minutes=HOLD_MINUTES), sequence=0,
    )
    created: list[Payment] = []

    def open_checkout(booked: Consultation) -> None:
        payment = Payment(consultation_id=booked.id, amount_minor=booked.price_minor,
                          currency=booked.currency, status=PaymentStatus.PENDING, created_at=now)
        db.session.add(payment)
        db.session.flush()
        _create_checkout(payment, booked, client, profile)
        record_audit(client, "payment.checkout_created", payment,
                     after={"consultation_id": booked.id, "amount_minor": payment.amount_minor,
                            "currency": payment.currency})
        calendar_changed([profile.id])
        created.append(payment)

    try:
        error = place_booking(consultation, calendar, after=open_checkout)
    except stripe.StripeError as exc:
        log.warning("checkout for specialist %s not created (%s); hold rolled back",
                    profile.id, type(exc).__name__)
        return _refusal("stripe", STRIPE_UNAVAILABLE)
    if error is not None:
        return _refusal("taken", SLOT_TAKEN)
    payment = created[0]
    log.info("paid session %s held, payment %s pending", consultation.id, payment.id)
    return PaidBookingResult(payment=payment)


def _checkout_params(payment: Payment, consultation: Consultation, client: User,
                     profile: SpecialistProfile) -> dict[str, Any]:
    """Everything sent to Stripe, derived only from stored data so a re-creation with the
    same idempotency key sends identical parameters (and Stripe replays the session)."""
    tz = client.timezone if is_valid_timezone(client.timezone) else "UTC"
    minutes = int((consultation.end_utc - consultation.start_utc).total_seconds() // 60)
    base = url_for("payments.success", _external=True)
    assert consultation.hold_expires_at is not None
    return {
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
        "product_name": (f"{minutes}-minute session with {profile.display_name}, "
                         f"{format_datetime(consultation.start_utc, tz)}"),
        "metadata": {"consultation_id": str(consultation.id), "payment_id": str(payment.id)},
        "client_reference_id": f"consultation-{consultation.id}",
        "success_url": base + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": url_for("payments.checkout_cancelled", payment_id=payment.id, _external=True),
        "expires_at": consultation.hold_expires_at - timedelta(minutes=HOLD_MINUTES) + CHECKOUT_LIFETIME,
        "idempotency_key": f"checkout-consultation-{consultation.id}-{int(consultation.hold_expires_at.timestamp())}",
        "customer_email": client.email,
    }


def _create_checkout(payment: Payment, consultation: Consultation, client: User,
                     profile: SpecialistProfile) -> None:
    session = stripe_client.create_checkout_session(**_checkout_params(payment, consultation, client, profile))
    payment.stripe_checkout_session_id = session.id
    payment.checkout_url = session.url
    db.session.flush()


def checkout_redirect(payment: Payment, user: User, now: datetime | None = None) -> str:
    """The Stripe Checkout URL to (re)open for a pending hold of ``user``.

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
    if not stripe_client.payments_enabled():
        raise PaymentError(PAYMENTS_DISABLED)
    if not payment.checkout_url:
        try:
            _create_checkout(payment, consultation, user, consultation.specialist)
        except stripe.StripeError as exc:
            log.warning("checkout for payment %s not re-created (%s)", payment.id, type(exc).__name__)
            raise PaymentError(STRIPE_UNAVAILABLE) from exc
    assert payment.checkout_url
    return payment.checkout_url


def payment_for_checkout_session(session_id: str | None, user: User) -> Payment | None:
    """The success page: the user's payment for a Stripe Checkout Session id (None if not theirs)."""
    if not session_id or len(session_id) > 255:
        return None
    payment = db.session.scalar(
        select(Payment).where(Payment.stripe_checkout_session_id == session_id)
        .options(joinedload(Payment.consultation).joinedload(Consultation.specialist))
    )
    if payment is None or not payment.consultation.is_client(user):
        return None
    return payment


# --- webhooks ----------------------------------------------------------------------------------

def record_stripe_event(event_id: str, event_type: str) -> bool:
    """Insert the event id first; False if it was already processed (replay).

    Must be the first write of the unit of work: a duplicate rolls the session back.
    """
    db.session.add(StripeEvent(id=event_id, type=event_type[:100]))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def process_stripe_event(event: Any, now: datetime | None = None) -> str:
    """Apply one verified Stripe event exactly once; returns what happened (for logs/tests)."""
    now = now or utcnow()
    if not record_stripe_event(event["id"], event["type"]):
        log.info("stripe event %s already processed", event["id"])
        return "duplicate"
    handler = _EVENT_HANDLERS.get(event["type"])
    if handler is None:
        return "ignored"
    obj = event["data"]["object"]
    outcome = handler(obj.to_dict() if hasattr(obj, "to_dict") else dict(obj), now)
    log.info("stripe event %s (%s): %s", event["id"], event["type"], outcome)
    return outcome


def _payment_for_session(session: Any) -> Payment | None:
    payment = db.session.scalar(
        select(Payment).where(Payment.stripe_checkout_session_id == session["id"])
        .options(joinedload(Payment.consultation).joinedload(Consultation.specialist)
                 .joinedload(SpecialistProfile.user),
                 joinedload(Payment.consultation).joinedload(Consultation.client))
    )
    if payment is None:
        log.warning("stripe checkout session not linked to any payment")
    return payment


def _on_checkout_completed(session: Any, now: datetime) -> str:
    payment = _payment_for_session(session)
    if payment is None:
        return "unknown"
    if session.get("payment_status") != "paid":
        return "unpaid"  # delayed payment methods are not offered; nothing to confirm yet
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.EXPIRED):
        return "already-settled"
    if session.get("amount_total") != payment.amount_minor or \
            str(session.get("currency", "")).upper() != payment.currency.upper():
        log.error("payment %s: paid amount differs from the booking; left for an admin", payment.id)
        return "amount-mismatch"
    payment.payment_intent_id = session.get("payment_intent")
    payment.paid_at = now
    payment.status = PaymentStatus.PAID
    consultation = payment.consultation
    if _confirm_hold(consultation, now) or _reclaim_released_slot(consultation, now):
        db.session.flush()
        record_audit(None, "payment.paid", payment, after={"consultation_id": consultation.id})
        _notify(consultation, "confirmed")
        return "confirmed"
    # The hold was released and the time is gone (or past): give the money back.
    _refund(payment, now, reason="slot_unavailable")
    record_audit(None, "payment.refunded_unavailable", payment, after={"status": payment.status.value})
    _notify(consultation, "unavailable")
    return "refunded" if payment.status is PaymentStatus.REFUNDED else "refund-failed"


def _confirm_hold(consultation: Consultation, now: datetime) -> bool:
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
    from marketplace.consultations.availability import calendar_changed

    calendar_changed([consultation.specialist_id])  # a hold paid after its expiry occupies its time again
    return True


def _reclaim_released_slot(consultation: Consultation, now: datetime) -> bool:
    """A payment completed after its hold was released: take the time back if still free."""
    from marketplace.consultations.availability import calendar_changed
    from marketplace.consultations.booking import block_rows, buffer_minutes_for

    if (consultation.state is not ConsultationState.CANCELLED or consultation.cancel_reason != HOLD_RELEASED_REASON
            or consultation.start_utc <= now):
        return False
    try:
        with db.session.begin_nested():
            db.session.add_all(block_rows(consultation, buffer_minutes_for(consultation.specialist_id)))
            db.session.flush()
            consultation.state = ConsultationState.CONFIRMED
            consultation.confirmed_at = now
            consultation.cancel_reason = None
            consultation.cancelled_at = None
            consultation.cancelled_by_id = None
            consultation.sequence += 1
            db.session.flush()
    except (IntegrityError, OperationalError) as exc:
        log.info("released slot of consultation %s was taken meanwhile (%s)", consultation.id, type(exc).__name__)
        db.session.refresh(consultation)
        return False
    calendar_changed([consultation.specialist_id])
    return True


def _on_checkout_expired(session: Any, now: datetime) -> str:
    payment = _payment_for_session(session)
    if payment is None:
        return "unknown"
    if payment.status is not PaymentStatus.PENDING:
        return "already-settled"
    return "released" if _release_hold(payment.consultation, now, only_if_lapsed=False) else "already-settled"


_EVENT_HANDLERS: dict[str, Callable[[Any, datetime], str]] = {
    "checkout.session.completed": _on_checkout_completed,
    "checkout.session.expired": _on_checkout_expired,
}


# --- hold expiry ---------------------------------------------------------------------------------

def _release_hold(consultation: Consultation, now: datetime, *, only_if_lapsed: bool) -> bool:
    """pending_payment → cancelled ("payment not completed"), blocks deleted, payment expired.

    A conditional UPDATE decides the winner, so a webhook and any number of sweeps running
    at once release each hold exactly once. Returns True for the one caller that released it.
    """
    from marketplace.consultations.availability import calendar_changed
    from marketplace.consultations.booking import release_blocks

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
    db.session.execute(
        update(Payment).where(Payment.consultation_id == consultation.id, Payment.status == PaymentStatus.PENDING)
        .values(status=PaymentStatus.EXPIRED).execution_options(synchronize_session=False)
    )
    db.session.refresh(consultation)
    calendar_changed([consultation.specialist_id])
    log.info("payment hold of consultation %s released", consultation.id)
    return True


def release_expired_holds(now: datetime | None = None, *, specialist_id: int | None = None) -> list[Payment]:
    """Release every hold past ``hold_expires_at`` (optionally of one specialist).

    Idempotent and safe to run concurrently (cron on any host, and before each paid booking).
    Returns the payments whose hold THIS call released, so the caller can expire their Stripe
    Checkout Sessions after committing (``expire_checkout_sessions``).
    """
    now = now or utcnow()
    query = select(Consultation).where(Consultation.state == ConsultationState.PENDING_PAYMENT,
                                       Consultation.hold_expires_at <= now)
    if specialist_id is not None:
        query = query.where(Consultation.specialist_id == specialist_id)
    else:
        query = query.order_by(Consultation.hold_expires_at)
    released = [c for c in db.session.scalars(query).all() if _release_hold(c, now, only_if_lapsed=True)]
    if not released:
        return []
    return list(db.session.scalars(
        select(Payment).where(Payment.consultation_id.in_([c.id for c in released]))))


def expire_checkout_sessions(payments: list[Payment]) -> int:
    """Best effort: expire the Stripe Checkout Sessions of released holds so they can't be paid.

    Errors are logged, never raised (a late payment is refunded by the webhook anyway).
    """
    if not stripe_client.payments_enabled():
        return 0
    expired = 0
    for payment in payments:
        if not payment.stripe_checkout_session_id:
            continue
        try:
            stripe_client.expire_checkout_session(payment.stripe_checkout_session_id)
            expired += 1
        except stripe.StripeError as exc:
            log.info("checkout of payment %s not expired at Stripe (%s)", payment.id, type(exc).__name__)
    return expired


# --- cancellation and refunds ----------------------------------------------------------------

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
    payment = consultation.payment if consultation.kind is ConsultationKind.PAID else None
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
    """Settle the payment of a paid session that is being cancelled by ``actor``.

    Call it from the consultations cancel service, in the same unit of work, for
    ``kind == paid`` (before or after the state change). Refunds through Stripe when
    ``refund_policy`` says so (idempotency key ``refund-<payment id>``); if Stripe fails the
    payment is marked ``refund_failed`` for an admin to retry — the cancellation stands.
    Returns the policy that was applied (None when there was no paid payment).
    """
    now = now or utcnow()
    policy = refund_policy(consultation, actor, now)
    if policy is None:
        return None
    payment = consultation.payment
    assert payment is not None  # a refund policy means a paid payment
    if policy.refundable:
        _refund(payment, now, reason="requested_by_customer")
        record_audit(actor, "payment.refund", payment, after={"status": payment.status.value})
    else:
        record_audit(actor, "payment.no_refund", payment, after={"policy": "late cancellation"})
        log.info("paid session %s cancelled late: no refund", consultation.id)
    return policy


def _refund(payment: Payment, now: datetime, *, reason: str) -> None:
    if not payment.payment_intent_id:
        payment.status = PaymentStatus.REFUND_FAILED
        log.error("payment %s cannot be refunded: no payment intent", payment.id)
        return
    try:
        # Identical parameters on every attempt (no ``reason``): a refund that timed out may have
        # been made, and the retry with the same idempotency key must replay it, not be refused.
        refund = stripe_client.create_refund(
            payment_intent=payment.payment_intent_id, idempotency_key=f"refund-{payment.id}",
            metadata={"payment_id": str(payment.id), "consultation_id": str(payment.consultation_id)})
    except (stripe.StripeError, RuntimeError) as exc:
        payment.status = PaymentStatus.REFUND_FAILED
        log.warning("refund of payment %s (%s) failed (%s); flagged for an admin", payment.id, reason,
                    type(exc).__name__)
        db.session.flush()
        return
    payment.status = PaymentStatus.REFUNDED
    payment.refund_id = refund.id
    payment.refunded_at = now
    db.session.flush()
    log.info("payment %s refunded (%s)", payment.id, reason)


def retry_refund(payment: Payment, admin: User, now: datetime | None = None) -> None:
    """An admin retries a refund that Stripe refused or could not be reached for."""
    if payment.status is not PaymentStatus.REFUND_FAILED:
        raise PaymentError("Only failed refunds can be retried.")
    _refund(payment, now or utcnow(), reason="retry")
    record_audit(admin, "payment.refund_retry", payment, after={"status": payment.status.value})
    if payment.status is not PaymentStatus.REFUNDED:
        raise PaymentError("Stripe did not accept the refund. Please try again later.")


# --- e-mails -------------------------------------------------------------------------------------

def _notify(consultation: Consultation, what: str) -> None:
    """Queue the e-mails (sent after commit) to both participants in their own time zones."""
    from marketplace.consultations.notifications import (
        consultation_url,
        format_label,
        ics_attachment,
        meeting_details,
        recipients,
    )
    from marketplace.notifications.mail import render_mail, send_mail

    payment = consultation.payment
    assert payment is not None  # paid sessions only
    for r in recipients(consultation):
        tz = r.user.timezone if is_valid_timezone(r.user.timezone) else "UTC"
        if what == "confirmed":
            subject = f"Confirmed: paid session with {r.other_name}"
            attachments = [ics_attachment(consultation, r)]
        else:
            if r.role != "client":
                continue
            subject = f"Refunded: the session with {r.other_name} could not be booked"
            attachments = []
        body = render_mail(
            f"payments/email_{what}.txt", role=r.role, recipient=r.user, other_name=r.other_name,
            when=format_datetime(consultation.start_utc, tz),
            duration=int((consultation.end_utc - consultation.start_utc).total_seconds() // 60),
            format_label=format_label(consultation.format),
            details=meeting_details(consultation) if what == "confirmed" else None,
            amount=format_money(payment.amount_minor, payment.currency), url=consultation_url(consultation),
            refunded=payment.status is PaymentStatus.REFUNDED, slug=consultation.specialist.slug,
        )
        send_mail(r.user.email, subject, body, attachments=attachments,
                  dedupe_key=f"payment-{what}:{payment.id}:{r.role}")


# --- account hooks (data export, deletion) ----------------------------------------------------

@data_exporter("payments")
def export_payments(user: User) -> list[dict[str, Any]]:
    """Payments for the user's paid sessions (as client, or as the specialist paid)."""
    profile_id = db.session.scalar(select(SpecialistProfile.id).where(SpecialistProfile.user_id == user.id))
    owner = Consultation.client_id == user.id
    if profile_id is not None:
        owner = owner | (Consultation.specialist_id == profile_id)
    rows = db.session.scalars(select(Payment).join(Payment.consultation).where(owner).order_by(Payment.id))
    return [{
        "id": p.id, "consultation_id": p.consultation_id, "amount_minor_units": p.amount_minor,
        "currency": p.currency, "status": p.status.value, "created_at": p.created_at.isoformat(),
        "paid_at": p.paid_at.isoformat() if p.paid_at else None,
        "refunded_at": p.refunded_at.isoformat() if p.refunded_at else None,
    } for p in rows]


@deletion_hook
def release_holds_of_deleted_user(user: User) -> None:
    """Account deletion: give back the times a client was still holding for payment.
    (Paid, confirmed sessions are cancelled by the consultations hook, which settles the
    money through ``cancel_paid_session``.)"""
    now = utcnow()
    holds = db.session.scalars(select(Consultation).where(
        Consultation.client_id == user.id, Consultation.state == ConsultationState.PENDING_PAYMENT)).all()
    for consultation in holds:
        _release_hold(consultation, now, only_if_lapsed=False)


# --- admin ---------------------------------------------------------------------------------------

def list_payments(status: str | None = None, limit: int = 200) -> list[Payment]:
    """Newest payments first (optionally one status) with consultation, client and specialist."""
    query = (select(Payment).order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit)
             .options(joinedload(Payment.consultation).joinedload(Consultation.client),
                      joinedload(Payment.consultation).joinedload(Consultation.specialist)))
    if status:
        try:
            query = query.where(Payment.status == PaymentStatus(status))
        except ValueError:
            pass
    return list(db.session.scalars(query))


__all__ = [
    "HOLD_MINUTES", "HOLD_RELEASED_REASON", "PAYMENTS_DISABLED", "PaidBookingResult", "PaymentError",
    "RefundPolicy", "book_paid_session", "cancel_paid_session", "checkout_redirect", "expire_checkout_sessions",
    "export_payments", "list_payments", "may_book_paid_session", "paid_session_slots",
    "paid_session_week", "payment_for_checkout_session", "process_stripe_event", "record_stripe_event",
    "refund_policy", "release_expired_holds", "release_holds_of_deleted_user", "retry_refund",
]
