"""Paid sessions with Stripe (issue 7), on SQLite and PostgreSQL.

The real ``stripe`` library talks over HTTP to a local fake of the Stripe API
(tests/fakes/stripe_fake.py, served on loopback); webhooks are signed with a real secret
and verified by ``stripe.Webhook.construct_event`` in the app. Nothing is monkeypatched.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from marketplace.auth.models import Role
from marketplace.consultations.availability import set_weekly_hours
from marketplace.consultations.booking import SLOT_TAKEN, format_slot
from marketplace.consultations.models import (
    Consultation,
    ConsultationKind,
    ConsultationOutcome,
    ConsultationState,
    OccupiedBlock,
)
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.notifications.models import OutboxMail
from marketplace.payments import services as svc
from marketplace.payments.models import Payment, PaymentStatus, WebhookEvent
from tests.factories import PASSWORD
from tests.fakes.stripe_fake import FakeStripe, serve_fake_stripe, sign_payload

WEBHOOK_SECRET = "whsec_balance_test_secret"
API_KEY = "sk_test_balance"


# --- fixtures ----------------------------------------------------------------------------------

@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with serve_fake_stripe(None, WEBHOOK_SECRET) as fake:
        yield fake


@pytest.fixture
def stripe_app(app: Any, fake_stripe: FakeStripe) -> Any:
    """The app with payments enabled, pointed at the fake (no retries: failures are immediate)."""
    app.config.update(STRIPE_SECRET_KEY=API_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                      STRIPE_API_BASE=fake_stripe.base_url, STRIPE_MAX_NETWORK_RETRIES=0,
                      STRIPE_CHECKOUT_HOSTS=fake_stripe.base_url)
    return app


def _proceeded(client_user: Any, profile: Any,
               outcome: ConsultationOutcome | None = ConsultationOutcome.PROCEED) -> None:
    """A free consultation three days ago, completed with ``outcome``."""
    start = (utcnow() - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    db.session.add(Consultation(
        client_id=client_user.id, specialist_id=profile.id, kind=ConsultationKind.FREE,
        state=ConsultationState.COMPLETED, start_utc=start, end_utc=start + timedelta(minutes=30),
        format="video", outcome=outcome,
    ))
    db.session.commit()


@pytest.fixture
def pair(make_user: Any, make_specialist: Any) -> tuple[Any, Any]:
    """A specialist (€90, 50 minutes, open 09–17 Berlin every day) and a client who may book."""
    profile = make_specialist(fee_minor=9000, currency="EUR", session_minutes=50)
    set_weekly_hours(profile.id, [(wd, "09:00", "17:00") for wd in range(7)])
    db.session.commit()
    client_user = make_user()
    _proceeded(client_user, profile)
    return client_user, profile


def _slot(profile: Any, index: int = 0) -> Any:
    """The index-th free paid slot at least two days ahead (clear of the 24 h refund line)."""
    later = [s for s in svc.paid_session_slots(profile) if s > utcnow() + timedelta(days=2)]
    return later[index]


def _book(client: Any, profile: Any, start: Any, **extra: Any) -> Any:
    return client.post(f"/payments/book/{profile.slug}",
                       data={"slot": format_slot(start), "format": "video", **extra})


def _only_payment() -> Payment:
    payments = db.session.scalars(select(Payment)).all()
    assert len(payments) == 1
    return payments[0]


def _deliver(client: Any, fake: FakeStripe, event: dict) -> Any:
    payload, headers = fake.signed(event)
    return client.post("/payments/webhooks/stripe", data=payload, headers=headers)


def _paid_mails() -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.dedupe_key.like("payment-confirmed:%"))))


def _book_and_pay(client: Any, auth: Any, fake: FakeStripe, pair: tuple[Any, Any]) -> Payment:
    client_user, profile = pair
    auth.login_as(client_user)
    assert _book(client, profile, _slot(profile)).status_code == 303
    payment = _only_payment()
    assert _deliver(client, fake, fake.complete_session(payment.provider_checkout_id)).status_code == 200
    db.session.refresh(payment)
    assert payment.status is PaymentStatus.PAID
    return payment


# --- eligibility and configuration ------------------------------------------------------------

def test_paid_booking_refused_without_proceed_outcome(stripe_app: Any, client: Any, auth: Any, make_user: Any,
                                                      make_specialist: Any, fake_stripe: FakeStripe) -> None:
    profile = make_specialist(fee_minor=9000)
    set_weekly_hours(profile.id, [(wd, "09:00", "17:00") for wd in range(7)])
    stranger = make_user()  # never met the specialist
    not_a_fit = make_user()
    _proceeded(not_a_fit, profile, ConsultationOutcome.NOT_A_FIT)
    no_outcome_yet = make_user()
    _proceeded(no_outcome_yet, profile, None)
    start = _slot(profile)

    for user in (stranger, not_a_fit, no_outcome_yet):
        auth.login_as(user)
        page = client.get(f"/payments/book/{profile.slug}")
        assert page.status_code == 403
        assert "agreed to proceed" in page.get_data(as_text=True)
        refused = _book(client, profile, start)
        assert refused.status_code == 403
        assert "agreed to proceed" in refused.get_data(as_text=True)
        auth.logout()

    assert db.session.scalar(select(func.count()).select_from(Consultation)
                             .where(Consultation.kind == ConsultationKind.PAID)) == 0
    assert fake_stripe.requests == []


def test_specialists_and_visitors_cannot_book(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                              make_specialist: Any) -> None:
    _, profile = pair
    visitor = client.get(f"/payments/book/{profile.slug}")
    assert visitor.status_code == 200
    assert "You need to be logged in to book a consultation" in visitor.get_data(as_text=True)
    other = make_specialist()
    auth.login_as(other.user)
    assert client.get(f"/payments/book/{profile.slug}").status_code == 403
    assert client.get("/payments/book/no-such-specialist").status_code == 404


def test_eligible_client_sees_slots_fee_and_policy(stripe_app: Any, client: Any, auth: Any, pair: Any) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    slot = _slot(profile)
    page = client.get(f"/payments/book/{profile.slug}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "€90" in html and "50-minute session" in html
    # One week at a time, the soonest first: the slot's week (the client's zone, Berlin) shows it.
    first = svc.paid_session_slots(profile)[0].astimezone(ZoneInfo("Europe/Berlin")).date()
    assert f'data-week="{first - timedelta(days=first.weekday())}"' in html
    week = client.get(f"/payments/book/{profile.slug}?week={slot.astimezone(ZoneInfo('Europe/Berlin')).date()}")
    assert f'value="{format_slot(slot)}"' in week.get_data(as_text=True)
    assert "more than 24 hours before the start for a full refund" in html
    assert stripe_app.config["STRIPE_CHECKOUT_HOSTS"] in page.headers["Content-Security-Policy"]


@pytest.mark.config(STRIPE_SECRET_KEY=None, STRIPE_WEBHOOK_SECRET=None)
def test_payments_not_enabled_without_keys(app: Any, client: Any, auth: Any, pair: Any) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    page = client.get(f"/payments/book/{profile.slug}")
    assert page.status_code == 200
    assert "Payments are not enabled" in page.get_data(as_text=True)
    posted = _book(client, profile, _slot(profile))
    assert posted.status_code == 200
    assert "Payments are not enabled" in posted.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert db.session.scalar(select(func.count()).select_from(Consultation)) == 1  # only the free one
    # Everything else still works.
    assert client.get("/consultations").status_code == 200
    assert client.get(f"/specialists/{profile.slug}").status_code == 200
    assert client.post("/payments/webhook", data=b"{}", headers={"Stripe-Signature": "t=1,v1=x"}).status_code == 400


# --- checkout ------------------------------------------------------------------------------------

def test_checkout_created_with_amount_currency_metadata(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                                        fake_stripe: FakeStripe, make_user: Any) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    start = _slot(profile)
    response = _book(client, profile, start)

    assert response.status_code == 303
    payment = _only_payment()
    consultation = payment.consultation
    session = fake_stripe.sessions[payment.provider_checkout_id]
    assert response.headers["Location"] == session["url"] == payment.checkout_url
    assert (session["amount_total"], session["currency"], session["mode"]) == (9000, "eur", "payment")
    assert session["metadata"] == {"consultation_id": str(consultation.id), "payment_id": str(payment.id)}
    assert session["client_reference_id"] == f"consultation-{consultation.id}"
    assert session["success_url"].endswith("/payments/success?session_id={CHECKOUT_SESSION_ID}")
    assert abs(session["expires_at"] - (utcnow() + timedelta(minutes=31)).timestamp()) < 60
    request = next(r for r in fake_stripe.requests if r["path"] == "/v1/checkout/sessions")
    assert request["headers"]["Idempotency-Key"].startswith(f"checkout-consultation-{consultation.id}-")
    item = request["params"]["line_items"][0]
    assert item["price_data"]["unit_amount"] == "9000" and item["quantity"] == "1"
    assert [i["description"] for i in fake_stripe.line_items[session["id"]]][0].startswith("50-minute session with")

    # The hold: pending payment for 15 minutes, its blocks claimed, the slot gone for others.
    assert (consultation.kind, consultation.state) == (ConsultationKind.PAID, ConsultationState.PENDING_PAYMENT)
    assert (consultation.price_minor, consultation.currency) == (9000, "EUR")
    assert consultation.end_utc - consultation.start_utc == timedelta(minutes=50)
    assert timedelta(minutes=14) < consultation.hold_expires_at - utcnow() <= timedelta(minutes=15)
    assert db.session.scalar(select(func.count()).select_from(OccupiedBlock)
                             .where(OccupiedBlock.consultation_id == consultation.id)) == 4
    assert start not in svc.paid_session_slots(profile)
    assert (payment.status, payment.amount_minor, payment.currency) == (PaymentStatus.PENDING, 9000, "EUR")

    # /payments/checkout/<id> re-opens the same Stripe session; nobody else may use it.
    again = client.get(f"/payments/checkout/{payment.id}")
    assert again.status_code == 303 and again.headers["Location"] == session["url"]
    auth.logout()
    auth.login_as(make_user())
    assert client.get(f"/payments/checkout/{payment.id}").status_code == 404


def test_stripe_failure_leaves_no_hold(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                       fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    fake_stripe.expected_api_key = "sk_test_some_other_key"  # Stripe answers 401
    auth.login_as(client_user)
    start = _slot(profile)
    response = _book(client, profile, start)
    assert response.status_code == 503
    assert "nothing was booked" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert db.session.scalar(select(func.count()).select_from(OccupiedBlock)) == 0
    assert db.session.scalar(select(func.count()).select_from(Consultation)
                             .where(Consultation.kind == ConsultationKind.PAID)) == 0
    assert start in svc.paid_session_slots(profile)
    fake_stripe.expected_api_key = None
    assert _book(client, profile, start).status_code == 303  # and it works once Stripe is back


def test_forged_slot_is_refused(stripe_app: Any, client: Any, auth: Any, pair: Any, fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    odd = _slot(profile) + timedelta(minutes=7)
    response = _book(client, profile, odd)
    assert response.status_code == 422
    assert _book(client, profile, _slot(profile), format="carrier_pigeon").status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert fake_stripe.requests == []


# --- webhooks ------------------------------------------------------------------------------------

def test_completed_webhook_confirms_once(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                         fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    _book(client, profile, _slot(profile))
    payment = _only_payment()
    event = fake_stripe.complete_session(payment.provider_checkout_id)

    first = _deliver(client, fake_stripe, event)
    assert first.status_code == 200 and first.get_json()["result"] == "confirmed"
    db.session.refresh(payment)
    consultation = payment.consultation
    db.session.refresh(consultation)
    assert payment.status is PaymentStatus.PAID and payment.paid_at is not None
    assert payment.provider_payment_id == fake_stripe.sessions[payment.provider_checkout_id]["payment_intent"]
    assert consultation.state is ConsultationState.CONFIRMED and consultation.hold_expires_at is None
    mails = _paid_mails()
    assert sorted(m.recipient for m in mails) == sorted([client_user.email, profile.user.email])
    delivered = stripe_app.extensions.get("mail_outbox", [])
    assert any("Confirmed: paid session" in m["Subject"] for m in delivered)
    assert all(m.attachments for m in mails)  # .ics invitation

    second = _deliver(client, fake_stripe, event)  # Stripe retries / replays the same event
    assert second.status_code == 200 and second.get_json()["result"] == "duplicate"
    db.session.refresh(consultation)
    assert consultation.state is ConsultationState.CONFIRMED
    assert len(_paid_mails()) == 2
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 1

    success = client.get(f"/payments/success?session_id={payment.provider_checkout_id}")
    assert success.status_code == 200 and "Your session is confirmed" in success.get_data(as_text=True)


def test_forged_or_tampered_webhook_is_rejected(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                                fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    _book(client, profile, _slot(profile))
    payment = _only_payment()
    event = fake_stripe.complete_session(payment.provider_checkout_id)
    payload, headers = fake_stripe.signed(event)

    forged = {**headers, "Stripe-Signature": sign_payload(payload, "whsec_attacker")}
    tampered = json.dumps({**event, "id": "evt_other"}, indent=2).encode()
    stale = {**headers, "Stripe-Signature": sign_payload(payload, WEBHOOK_SECRET, timestamp=1_600_000_000)}
    unsigned = {k: v for k, v in headers.items() if k != "Stripe-Signature"}
    for body, hdrs in ((payload, forged), (tampered, headers), (payload, stale), (payload, unsigned),
                       (b"not json", headers)):
        response = client.post("/payments/webhook", data=body, headers=hdrs)
        assert response.status_code == 400

    db.session.refresh(payment)
    assert payment.status is PaymentStatus.PENDING
    assert payment.consultation.state is ConsultationState.PENDING_PAYMENT
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
    assert _paid_mails() == []


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_webhook_needs_no_csrf_token_but_booking_does(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                                      fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    event = fake_stripe.build_event("customer.created", {"id": "cus_1", "object": "customer"})
    response = _deliver(client, fake_stripe, event)
    assert response.status_code == 200 and response.get_json()["result"] == "ignored"
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"email": client_user.email, "password": PASSWORD, "csrf_token": token})
    assert _book(client, profile, _slot(profile)).status_code == 400  # no CSRF token
    assert fake_stripe.requests == []


def test_expired_webhook_releases_hold(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                       fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    start = _slot(profile)
    _book(client, profile, start)
    payment = _only_payment()
    response = _deliver(client, fake_stripe, fake_stripe.expire_session(payment.provider_checkout_id))
    assert response.status_code == 200 and response.get_json()["result"] == "released"
    db.session.refresh(payment)
    consultation = payment.consultation
    db.session.refresh(consultation)
    assert payment.status is PaymentStatus.EXPIRED
    assert consultation.state is ConsultationState.CANCELLED
    assert consultation.cancel_reason == "payment not completed"
    assert db.session.scalar(select(func.count()).select_from(OccupiedBlock)) == 0
    assert start in svc.paid_session_slots(profile)
    # The client can no longer pay for it, and can book the time again.
    gone = client.get(f"/payments/checkout/{payment.id}")
    assert gone.status_code == 302
    assert _book(client, profile, start).status_code == 303


def _lapse_hold(payment: Payment) -> None:
    db.session.execute(update(Consultation).where(Consultation.id == payment.consultation_id)
                       .values(hold_expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()


def test_release_expired_holds_command_frees_the_slot(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                                      fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    start = _slot(profile)
    _book(client, profile, _slot(profile, 0))
    _book(client, profile, _slot(profile, 5))  # a second hold that has not lapsed
    payments = db.session.scalars(select(Payment).order_by(Payment.id)).all()
    lapsed, fresh = payments
    _lapse_hold(lapsed)

    runner = stripe_app.test_cli_runner()
    result = runner.invoke(args=["release-expired-holds"])
    assert result.exit_code == 0, result.output
    assert "released 1 hold(s); expired 1 checkout session(s)" in result.output
    db.session.expire_all()
    assert lapsed.status is PaymentStatus.EXPIRED and fresh.status is PaymentStatus.PENDING
    assert lapsed.consultation.state is ConsultationState.CANCELLED
    assert fresh.consultation.state is ConsultationState.PENDING_PAYMENT
    assert fake_stripe.sessions[lapsed.provider_checkout_id]["status"] == "expired"
    assert fake_stripe.sessions[fresh.provider_checkout_id]["status"] == "open"
    assert db.session.scalar(select(func.count()).select_from(OccupiedBlock)
                             .where(OccupiedBlock.consultation_id == lapsed.consultation_id)) == 0
    assert start in svc.paid_session_slots(profile)

    again = runner.invoke(args=["release-expired-holds"])  # idempotent
    assert "released 0 hold(s)" in again.output


def test_late_payment_after_release_reclaims_a_free_slot(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                                         fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    _book(client, profile, _slot(profile))
    payment = _only_payment()
    _lapse_hold(payment)
    svc.release_expired_holds()  # released in our database; the Stripe session is still open
    db.session.commit()
    response = _deliver(client, fake_stripe, fake_stripe.complete_session(payment.provider_checkout_id))
    assert response.get_json()["result"] == "confirmed"
    db.session.expire_all()
    assert payment.status is PaymentStatus.PAID
    assert payment.consultation.state is ConsultationState.CONFIRMED
    assert db.session.scalar(select(func.count()).select_from(OccupiedBlock)) == 4
    assert fake_stripe.refunds == {}


def test_late_payment_for_a_taken_slot_is_refunded(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                                   make_user: Any, fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    start = _slot(profile)
    auth.login_as(client_user)
    _book(client, profile, start)
    late = _only_payment()
    _lapse_hold(late)
    auth.logout()
    rival = make_user()
    _proceeded(rival, profile)
    auth.login_as(rival)
    assert _book(client, profile, start).status_code == 303  # releases the lapsed hold, takes the time

    response = _deliver(client, fake_stripe, fake_stripe.complete_session(late.provider_checkout_id))
    assert response.get_json()["result"] == "refunded"
    db.session.expire_all()
    assert late.status is PaymentStatus.REFUNDED and late.refund_id in fake_stripe.refunds
    refund = fake_stripe.refunds[late.refund_id]
    assert refund["payment_intent"] == late.provider_payment_id and refund["amount"] == 9000
    assert late.consultation.state is ConsultationState.CANCELLED
    rival_hold = db.session.scalar(select(Consultation).where(Consultation.client_id == rival.id,
                                                              Consultation.kind == ConsultationKind.PAID))
    assert rival_hold.state is ConsultationState.PENDING_PAYMENT
    refund_mail = db.session.scalars(select(OutboxMail).where(OutboxMail.recipient == client_user.email,
                                                              OutboxMail.subject.like("Refunded:%"))).all()
    assert len(refund_mail) == 1


# --- cancellation and refunds -----------------------------------------------------------------

def _cancel(consultation: Consultation, user: Any) -> svc.RefundPolicy | None:
    from marketplace.consultations.lifecycle import cancel_consultation

    policy = svc.refund_policy(consultation, user)  # what the page shows before confirming
    cancel_consultation(consultation, user, "Something came up")  # settles the payment itself
    db.session.commit()
    return policy


def test_early_cancellation_refunds_the_payment_intent(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                                       fake_stripe: FakeStripe) -> None:
    client_user, _ = pair
    payment = _book_and_pay(client, auth, fake_stripe, pair)
    consultation = payment.consultation
    assert consultation.start_utc - utcnow() > timedelta(hours=24)
    assert svc.refund_policy(consultation, client_user).refundable

    policy = _cancel(consultation, client_user)
    assert policy is not None and policy.refundable
    db.session.refresh(payment)
    assert payment.status is PaymentStatus.REFUNDED and payment.refunded_at is not None
    refund_requests = [r for r in fake_stripe.requests if r["path"] == "/v1/refunds"]
    assert len(refund_requests) == 1
    assert refund_requests[0]["params"]["payment_intent"] == payment.provider_payment_id
    assert refund_requests[0]["headers"]["Idempotency-Key"] == f"refund-{payment.id}"
    assert fake_stripe.refunds[payment.refund_id]["amount"] == 9000


def test_late_cancellation_is_not_refunded_and_policy_is_shown(stripe_app: Any, client: Any, auth: Any,
                                                              pair: Any, fake_stripe: FakeStripe) -> None:
    client_user, _ = pair
    payment = _book_and_pay(client, auth, fake_stripe, pair)
    consultation = payment.consultation
    soon = utcnow() + timedelta(hours=5)
    db.session.execute(update(Consultation).where(Consultation.id == consultation.id)
                       .values(start_utc=soon, end_utc=soon + timedelta(minutes=50)))
    db.session.commit()
    db.session.refresh(consultation)

    policy = svc.refund_policy(consultation, client_user)
    assert policy is not None and not policy.refundable
    assert "not be refunded" in policy.message
    # The consequence is shown where the cancel action is (the consultation page's cancel step).
    auth.login_as(client_user)
    html = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert "less than 24 hours before the start" in html and "not be refunded" in html and "Paid" in html

    assert not _cancel(consultation, client_user).refundable
    db.session.refresh(payment)
    assert payment.status is PaymentStatus.PAID
    assert not [r for r in fake_stripe.requests if r["path"] == "/v1/refunds"]


def test_specialist_cancellation_always_refunds(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                                fake_stripe: FakeStripe) -> None:
    _, profile = pair
    payment = _book_and_pay(client, auth, fake_stripe, pair)
    consultation = payment.consultation
    soon = utcnow() + timedelta(hours=2)
    db.session.execute(update(Consultation).where(Consultation.id == consultation.id)
                       .values(start_utc=soon, end_utc=soon + timedelta(minutes=50)))
    db.session.commit()
    db.session.refresh(consultation)
    assert _cancel(consultation, profile.user).refundable
    db.session.refresh(payment)
    assert payment.status is PaymentStatus.REFUNDED


def test_failed_refund_is_flagged_and_admin_can_retry(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                                      fake_stripe: FakeStripe, make_user: Any) -> None:
    client_user, _ = pair
    payment = _book_and_pay(client, auth, fake_stripe, pair)
    fake_stripe.expected_api_key = "sk_rotated"  # Stripe refuses our key for now
    _cancel(payment.consultation, client_user)
    db.session.refresh(payment)
    assert payment.status is PaymentStatus.REFUND_FAILED

    auth.logout()
    admin = make_user(role=Role.ADMIN)
    auth.login_as(admin)
    listing = client.get("/admin/payments?status=refund_failed")
    assert listing.status_code == 200 and "Retry refund" in listing.get_data(as_text=True)
    fake_stripe.expected_api_key = None
    assert client.post(f"/admin/payments/{payment.id}/retry-refund").status_code == 302
    db.session.refresh(payment)
    assert payment.status is PaymentStatus.REFUNDED
    assert fake_stripe.refunds[payment.refund_id]["payment_intent"] == payment.provider_payment_id


def test_admin_sees_payments_and_others_do_not(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                               fake_stripe: FakeStripe, make_user: Any) -> None:
    client_user, profile = pair
    payment = _book_and_pay(client, auth, fake_stripe, pair)
    assert client.get("/admin/payments").status_code == 403
    auth.logout()
    auth.login_as(make_user(role=Role.ADMIN))
    page = client.get("/admin/payments")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert payment.provider_checkout_id in html and "€90" in html and profile.display_name in html


# --- concurrency ---------------------------------------------------------------------------------

def test_two_clients_racing_for_one_paid_slot_get_one_hold(stripe_app: Any, pair: Any, make_user: Any,
                                                           fake_stripe: FakeStripe) -> None:
    _, profile = pair
    racers = [make_user(), make_user()]
    for racer in racers:
        _proceeded(racer, profile)
    start = _slot(profile)
    slug = profile.slug
    db.session.commit()

    clients = []
    for racer in racers:
        c = FlaskClient(stripe_app, stripe_app.response_class, use_cookies=True)
        with stripe_app.app_context():  # a fresh `g`, as each real request has
            assert c.post("/auth/login", data={"email": racer.email, "password": PASSWORD}).status_code == 302
        clients.append(c)
    barrier = threading.Barrier(len(clients))
    results: list[tuple[int, str]] = []

    def race(c: FlaskClient) -> None:
        barrier.wait()
        r = c.post(f"/payments/book/{slug}", data={"slot": format_slot(start), "format": "video"})
        results.append((r.status_code, r.get_data(as_text=True)))

    threads = [threading.Thread(target=race, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    db.session.rollback()  # end this session's read snapshot (SQLite) so it sees the racers' commits
    statuses = sorted(status for status, _ in results)
    assert statuses == [303, 409], statuses
    loser = next(body for status, body in results if status == 409)
    assert SLOT_TAKEN in loser
    holds = db.session.scalars(select(Consultation).where(Consultation.kind == ConsultationKind.PAID)).all()
    assert len(holds) == 1 and holds[0].state is ConsultationState.PENDING_PAYMENT
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    assert len(fake_stripe.sessions) == 1


# --- what people see -----------------------------------------------------------------------------

def _render_partial(app: Any, consultation: Consultation, viewer: Any) -> str:
    """The consultation page's parts of later domains (payments' box), gathered as its view does."""
    from flask import render_template_string
    from flask_login import login_user

    from marketplace.consultations.hooks import CONSULTATION_PAGE
    from marketplace.parts import page_parts

    with app.test_request_context():
        login_user(viewer)
        parts = page_parts.gather(CONSULTATION_PAGE, consultation=consultation, viewer=viewer)
        return render_template_string("{% for part in parts.values() if part %}{% include part.template %}{% endfor %}",
                                      parts=parts)


def test_consultation_page_partial_shows_payment_state(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                                       fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    free = db.session.scalars(select(Consultation).where(Consultation.kind == ConsultationKind.FREE)).one()
    html = _render_partial(stripe_app, free, client_user)
    assert "Book a paid session" in html and f"/payments/book/{profile.slug}" in html
    assert "Book a paid session" not in _render_partial(stripe_app, free, profile.user)

    auth.login_as(client_user)
    _book(client, profile, _slot(profile))
    payment = _only_payment()
    hold = payment.consultation
    as_client = _render_partial(stripe_app, hold, client_user)
    assert "Awaiting payment" in as_client and f"/payments/checkout/{payment.id}" in as_client
    as_specialist = _render_partial(stripe_app, hold, profile.user)
    assert "Awaiting payment" in as_specialist and "Complete payment" not in as_specialist

    _deliver(client, fake_stripe, fake_stripe.complete_session(payment.provider_checkout_id))
    db.session.expire_all()
    for viewer in (client_user, profile.user):
        html = _render_partial(stripe_app, hold, viewer)
        assert "€90" in html and ">Paid<" in html
    assert "Cancel more than 24 hours before the start for a full refund" in _render_partial(
        stripe_app, hold, client_user)
    # What cancelling now means is on the cancel step of the consultation page, for each side.
    auth.login_as(client_user)
    assert "refunds €90 of €90 (full refund)" in client.get(f"/consultations/{hold.id}").get_data(as_text=True)
    auth.logout()
    auth.login_as(profile.user)
    assert "the client gets a full refund of €90" in client.get(f"/consultations/{hold.id}").get_data(as_text=True)
    auth.logout()
    auth.login_as(client_user)

    exported = client.get("/account/export").get_json()
    assert exported["payments"] == [{
        "id": payment.id, "consultation_id": hold.id, "amount_minor_units": 9000, "currency": "EUR",
        "status": "paid", "created_at": payment.created_at.isoformat(), "paid_at": payment.paid_at.isoformat(),
        "refunded_at": None, "refunded_minor_units": None,
    }]


def test_cancelling_on_the_consultation_page_refunds_through_stripe(stripe_app: Any, client: Any, auth: Any,
                                                                    pair: Any, fake_stripe: FakeStripe) -> None:
    payment = _book_and_pay(client, auth, fake_stripe, pair)
    page = client.get(f"/consultations/{payment.consultation_id}").get_data(as_text=True)
    assert "refund" in page.lower()  # the policy is shown before cancelling
    response = client.post(f"/consultations/{payment.consultation_id}/cancel", data={"reason": "Plans changed"})
    assert response.status_code == 302
    db.session.refresh(payment)
    assert payment.status is PaymentStatus.REFUNDED
    assert [r["params"]["payment_intent"] for r in fake_stripe.requests if r["path"] == "/v1/refunds"] == [
        payment.provider_payment_id]
