"""Stripe calls end within a time budget well under gunicorn's 30 s worker timeout.

A Stripe that accepts connections and never answers (``fake.hang_api``), one whose TCP
connects never complete (``serve_unreachable``) and a refused port are real network
conditions on loopback; the real ``stripe`` library talks to them. Nothing is mocked.
"""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import stripe
from sqlalchemy import func, select

from config import Config
from marketplace.consultations.models import Consultation, ConsultationState, OccupiedBlock
from marketplace.extensions import db
from marketplace.payments import services as svc
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.payments.providers.stripe_client import StripeDeadline, StripeTimeouts, build_client
from tests.factories import PASSWORD
from tests.fakes.stripe_fake import FakeStripe, serve_fake_stripe, serve_unreachable
from tests.integration import test_payments as paid

# The paid-session fixtures (fake Stripe served on loopback, the app pointed at it, an eligible pair).
fake_stripe, stripe_app, pair = paid.fake_stripe, paid.stripe_app, paid.pair

GUNICORN_WORKER_TIMEOUT = 30  # gunicorn's default `--timeout`, which production uses
# Seconds of slack for the app's own work (SQL, templates) on a busy CI machine (3.6 s in all was seen on
# PostgreSQL); without the budget these take 20+ s.
MARGIN = 4.0


def _elapsed(action: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started


def _counts() -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count()).select_from(Consultation)),
            db.session.scalar(select(func.count()).select_from(OccupiedBlock)),
            db.session.scalar(select(func.count()).select_from(Payment)))


def _api_requests(fake: FakeStripe, path: str) -> list[dict]:
    return [r for r in fake.requests if r["path"] == path]


# --- the configuration ---------------------------------------------------------------------------

def test_default_budget_is_well_under_the_worker_timeout() -> None:
    timeouts = StripeTimeouts.from_config(vars(Config))
    assert (timeouts.connect, timeouts.read, timeouts.max_retries, timeouts.budget) == (2, 4, 1, 8)
    assert timeouts.budget <= GUNICORN_WORKER_TIMEOUT / 3
    # Even without the deadline, every attempt timing out plus the back-off fits in the worker timeout.
    backoff = stripe.RequestsClient.MAX_DELAY * timeouts.max_retries
    assert (timeouts.max_retries + 1) * (timeouts.connect + timeouts.read) + backoff < GUNICORN_WORKER_TIMEOUT


# --- the client on its own: retries × timeouts never outlast the budget ---------------------------

@contextmanager
def _outage(kind: str) -> Iterator[tuple[str, FakeStripe | None]]:
    if kind == "hang":
        with serve_fake_stripe() as fake:
            fake.hang_api = True
            yield fake.base_url, fake
    elif kind == "unreachable":
        with serve_unreachable() as base_url:
            yield base_url, None
    else:  # a port nobody listens on: every attempt fails at once, so only the budget stops retries
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield f"http://127.0.0.1:{port}", None


BUDGET = 1.5


@pytest.mark.parametrize(("outage", "connect", "read", "retries"), [
    ("hang", 2, 4, 1),          # the production timeouts, bigger than the budget
    ("hang", 10, 10, 5),        # the old timeouts and more retries
    ("hang", 0.1, 0.2, 8),      # short attempts: retries happen, until the budget is used up
    ("unreachable", 2, 4, 3),
    ("unreachable", 0.1, 0.1, 8),
    ("refused", 2, 4, 8),       # without the budget: 0.5 + 1 + 2 + 4 + 5 + 5 … seconds of back-off
])
def test_retries_and_timeouts_never_outlast_the_budget(outage: str, connect: float, read: float,
                                                       retries: int) -> None:
    timeouts = StripeTimeouts(connect=connect, read=read, max_retries=retries, budget=BUDGET)
    with _outage(outage) as (base_url, fake):
        client = build_client("sk_test_budget", timeouts, StripeDeadline(BUDGET), base_url)
        started = time.monotonic()
        with pytest.raises(stripe.APIConnectionError) as failure:
            client.v1.refunds.create(params={"payment_intent": "pi_123"}, options={"idempotency_key": "refund-1"})
        elapsed = time.monotonic() - started

    assert elapsed < BUDGET + 0.25, f"{outage}: gave up after {elapsed:.2f} s"
    if outage == "unreachable":
        assert "ConnectTimeout" in str(failure.value)
    if fake is not None:
        attempts = _api_requests(fake, "/v1/refunds")
        assert attempts and {a["headers"]["Idempotency-Key"] for a in attempts} == {"refund-1"}
        if read < BUDGET / 2:
            assert len(attempts) >= 2, "a retry fits in the budget and should have been made"
        else:
            assert elapsed > BUDGET - 0.2, "the attempt should have waited for (almost) the whole budget"


def test_a_used_up_deadline_fails_later_calls_at_once() -> None:
    timeouts = StripeTimeouts(connect=2, read=4, max_retries=1, budget=0.5)
    deadline = StripeDeadline(0.5)
    with serve_fake_stripe() as fake:
        fake.hang_api = True
        client = build_client("sk_test_budget", timeouts, deadline, fake.base_url)
        with pytest.raises(stripe.APIConnectionError):
            client.v1.checkout.sessions.expire("cs_test_1")
        sent = len(fake.requests)
        fake.hang_api = False
        started = time.monotonic()
        with pytest.raises(stripe.APIConnectionError):
            client.v1.checkout.sessions.expire("cs_test_2")
        assert time.monotonic() - started < 0.1
        assert len(fake.requests) == sent  # the second call was not even sent


# --- through the app, on SQLite and PostgreSQL ---------------------------------------------------

@pytest.mark.config(STRIPE_BUDGET_SECONDS=1.5)
def test_hanging_stripe_booking_shows_friendly_page_in_budget_and_writes_nothing(
        stripe_app: Any, client: Any, auth: Any, pair: Any, fake_stripe: FakeStripe) -> None:
    stripe_app.config.update(STRIPE_MAX_NETWORK_RETRIES=1)  # production's, not test_payments' 0
    client_user, profile = pair
    auth.login_as(client_user)
    start = paid._slot(profile)
    before = _counts()
    fake_stripe.hang_api = True

    response, elapsed = _elapsed(lambda: paid._book(client, profile, start))

    assert response.status_code == 503
    assert "nothing was booked" in response.get_data(as_text=True)
    assert elapsed < 1.5 + MARGIN, f"the booking took {elapsed:.2f} s"
    assert _api_requests(fake_stripe, "/v1/checkout/sessions"), "Stripe was never called"
    db.session.expire_all()
    assert _counts() == before
    assert start in svc.paid_session_slots(profile)

    fake_stripe.hang_api = False
    assert paid._book(client, profile, start).status_code == 303  # and it works once Stripe answers again


@pytest.mark.config(STRIPE_BUDGET_SECONDS=1.5)
def test_hanging_stripe_on_cancel_keeps_the_cancellation_and_flags_the_refund(
        stripe_app: Any, client: Any, auth: Any, pair: Any, fake_stripe: FakeStripe, make_user: Any) -> None:
    from marketplace.auth.models import Role

    stripe_app.config.update(STRIPE_MAX_NETWORK_RETRIES=1)
    payment = paid._book_and_pay(client, auth, fake_stripe, pair)
    fake_stripe.hang_api = True

    response, elapsed = _elapsed(lambda: client.post(f"/consultations/{payment.consultation_id}/cancel",
                                                     data={"reason": "Plans changed"}))

    assert response.status_code == 302
    assert elapsed < 1.5 + MARGIN, f"the cancellation took {elapsed:.2f} s"
    db.session.expire_all()
    assert payment.consultation.state is ConsultationState.CANCELLED
    assert payment.status is PaymentStatus.REFUND_FAILED  # listed for an admin to retry
    assert db.session.scalar(select(func.count()).select_from(OccupiedBlock)) == 0

    # Stripe may have made the refund whose answer never came: the retry reuses the idempotency
    # key, so the client is refunded exactly once either way.
    fake_stripe.hang_api = False
    auth.logout()
    auth.login_as(make_user(role=Role.ADMIN))
    assert client.post(f"/admin/payments/{payment.id}/retry-refund").status_code == 302
    db.session.expire_all()
    assert payment.status is PaymentStatus.REFUNDED
    assert {r["headers"]["Idempotency-Key"] for r in _api_requests(fake_stripe, "/v1/refunds")} == {
        f"refund-{payment.id}"}
    assert list(fake_stripe.refunds) == [payment.refund_id]


@pytest.mark.config(STRIPE_BUDGET_SECONDS=1.5)
def test_all_stripe_calls_of_one_request_share_the_budget(stripe_app: Any, client: Any, auth: Any,
                                                          pair: Any, fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    first = paid._book_and_pay(client, auth, fake_stripe, pair)
    assert paid._book(client, profile, paid._slot(profile, 3)).status_code == 303
    second = db.session.scalar(select(Payment).where(Payment.id != first.id))
    assert paid._deliver(client, fake_stripe, fake_stripe.complete_session(second.provider_checkout_id)
                    ).status_code == 200
    fake_stripe.hang_api = True

    # Deleting the account cancels both paid sessions: two refunds, one budget.
    response, elapsed = _elapsed(lambda: client.post("/account/delete", data={"password": PASSWORD}))

    assert response.status_code == 302
    assert len(_api_requests(fake_stripe, "/v1/refunds")) == 1  # the budget was spent: the second was not sent
    # One budget plus the deletion's own work (password hashing, anonymising: up to ~1.5 s when busy).
    assert elapsed < 1.5 + MARGIN, f"deleting the account took {elapsed:.2f} s"
    db.session.expire_all()
    assert {first.status, second.status} == {PaymentStatus.REFUND_FAILED}
