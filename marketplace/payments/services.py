"""Public services of the payments domain (the module views, tasks, the CLI and the app
factory import). Paid follow-up sessions, by concern:

* ``eligibility`` — who may book a paid session, and when;
* ``checkout`` — the hold and the provider's checkout (``book_paid_session``);
* ``webhooks`` — verified provider events applied once (``process_event``);
* ``holds`` — lapsed holds released (sweep, webhook, before each booking);
* ``refunds`` — the cancellation policy and refunds (``cancel_paid_session``);
* ``mail``, ``reports`` — e-mails, the admin list and the data export;
* ``providers`` — the ``PaymentProvider`` protocol and Stripe, its one implementation.

Payments plugs into consultations through its hooks (``consultations.hooks``), registered in
``marketplace.create_app``: ``release_holds_before_booking``, ``cancel_paid_session``, ``settle_no_show``,
``refund_missed_session``, and for a paid session moved in place ``series_move_refusal`` and ``move_series_charge``.
"""
from __future__ import annotations

from marketplace.consultations.services import HOLD_RELEASED_REASON
from marketplace.payments.checkout import (
    book_paid_session,
    checkout_redirect,
    payment_for_checkout,
)
from marketplace.payments.eligibility import (
    may_book_paid_session,
    offers_paid_follow_up,
    paid_session_slots,
    paid_session_week,
)
from marketplace.payments.holds import (
    expire_checkouts,
    release_expired_holds,
    release_holds_before_booking,
    release_holds_of_deleted_user,
)
from marketplace.payments.policy import HOLD_MINUTES, NOT_ELIGIBLE, PAYMENTS_DISABLED, PaidBookingError, PaymentError
from marketplace.payments.providers import payments_enabled
from marketplace.payments.refunds import (
    RefundPolicy,
    cancel_paid_session,
    refund_missed_session,
    refund_policy,
    retry_refund,
    settle_no_show,
)
from marketplace.payments.reports import export_payments, list_payments
from marketplace.payments.series_charges import move_series_charge, series_move_refusal, series_occurrence_not_charged
from marketplace.payments.webhooks import process_event, record_event

__all__ = [
    "HOLD_MINUTES", "HOLD_RELEASED_REASON", "NOT_ELIGIBLE", "PAYMENTS_DISABLED", "PaidBookingError",
    "PaymentError", "RefundPolicy", "book_paid_session", "cancel_paid_session", "checkout_redirect",
    "expire_checkouts", "export_payments", "list_payments", "may_book_paid_session", "offers_paid_follow_up",
    "paid_session_slots",
    "paid_session_week", "payment_for_checkout", "payments_enabled", "process_event", "record_event",
    "refund_missed_session", "refund_policy", "release_expired_holds", "release_holds_before_booking",
    "release_holds_of_deleted_user",
    "move_series_charge", "retry_refund", "series_move_refusal", "series_occurrence_not_charged", "settle_no_show",
]
