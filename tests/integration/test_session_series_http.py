"""Weekly series through HTTP with the real ``stripe`` library against the local fake Stripe API
(setup-mode Checkout, Customer, saved card, off-session PaymentIntents, a declining card), on
SQLite and PostgreSQL."""
from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select

from marketplace.consultations.booking import format_slot
from marketplace.consultations.models import ConsultationState
from marketplace.extensions import db
from marketplace.payments import services as svc
from marketplace.payments.series import weekly_starts
from marketplace.payments.series_charges import charge_due_occurrences
from marketplace.payments.series_models import ChargeState, SeriesCharge, SeriesState, SessionSeries
from tests.fakes.stripe_fake import FakeStripe
from tests.integration import test_payments as payments_tests
from tests.integration.test_payments import _proceeded, _slot

# The paid-session fixtures: the fake Stripe API, the app pointed at it, an eligible client.
fake_stripe = payments_tests.fake_stripe
stripe_app = payments_tests.stripe_app
pair = payments_tests.pair


def _post_series(client: Any, profile: Any, start: Any, sessions: int = 3) -> Any:
    return client.post(f"/payments/series/{profile.slug}",
                       data={"slot": format_slot(start), "format": "video", "sessions": str(sessions)})


def _save_card(client: Any, fake: FakeStripe, series: SessionSeries) -> Any:
    assert series.provider_checkout_id is not None
    payload, headers = fake.signed(fake.complete_setup(series.provider_checkout_id))
    return client.post("/payments/webhooks/stripe", data=payload, headers=headers)


def _only_series() -> SessionSeries:
    series = db.session.scalars(select(SessionSeries).execution_options(populate_existing=True)).one()
    return series


def test_a_client_books_a_series_saves_a_card_and_each_session_is_charged(
        client: Any, auth: Any, stripe_app: Any, fake_stripe: FakeStripe, pair: Any) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    page = client.get(f"/payments/series/{profile.slug}")
    assert page.status_code == 200 and "Book weekly sessions with" in page.text

    response = _post_series(client, profile, _slot(profile))

    assert response.status_code == 303
    series = _only_series()
    assert response.headers["Location"] == f"{fake_stripe.base_url}/checkout/{series.provider_checkout_id}"
    session = fake_stripe.sessions[series.provider_checkout_id]
    assert session["mode"] == "setup" and session["customer"] in fake_stripe.customers

    assert _save_card(client, fake_stripe, series).status_code == 200
    series = _only_series()
    assert series.state is SeriesState.ACTIVE
    assert series.provider_payment_method_id == fake_stripe.saved_payment_method(series.provider_checkout_id)
    saved = client.get(f"/payments/series/saved?session_id={series.provider_checkout_id}")
    assert saved.status_code == 200 and "Your weekly sessions are booked" in saved.text

    last_due = max(c.due_at for c in series.charges)
    assert charge_due_occurrences(last_due) == 3
    assert charge_due_occurrences(last_due) == 0
    intents = [pi for pi in fake_stripe.payment_intents.values() if pi.get("customer") == series.provider_customer_id]
    assert len(intents) == 3 and {pi["amount"] for pi in intents} == {9000}


def test_a_declining_card_is_recorded_as_declined(client: Any, auth: Any, stripe_app: Any, fake_stripe: FakeStripe,
                                                  pair: Any) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    _post_series(client, profile, _slot(profile), sessions=2)
    series = _only_series()
    _save_card(client, fake_stripe, series)
    series = _only_series()
    fake_stripe.decline(series.provider_payment_method_id)

    charge_due_occurrences(min(c.due_at for c in series.charges))

    first = db.session.scalars(select(SeriesCharge).order_by(SeriesCharge.due_at)
                               .execution_options(populate_existing=True)).first()
    assert first is not None and first.charge_state is ChargeState.DECLINED
    assert first.consultation.state is ConsultationState.CONFIRMED  # until the grace period ends


def test_a_taken_week_refuses_the_series_with_its_date(client: Any, auth: Any, stripe_app: Any,
                                                       fake_stripe: FakeStripe, pair: Any, make_user: Any,
                                                       app: Any) -> None:
    client_user, profile = pair
    other = make_user()
    _proceeded(other, profile)
    start = _slot(profile)
    second = weekly_starts(start, 2, profile.timezone)[1]
    with app.test_request_context():
        svc.book_paid_session(other, profile, second, "video")
    db.session.commit()
    auth.login_as(client_user)

    response = _post_series(client, profile, start, sessions=4)

    assert response.status_code == 409
    assert "is not free: choose another start or fewer sessions" in response.text
    assert db.session.scalars(select(SessionSeries)).all() == []


def test_the_saved_page_is_the_clients_own(client: Any, auth: Any, stripe_app: Any, fake_stripe: FakeStripe,
                                           pair: Any, make_user: Any) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    _post_series(client, profile, _slot(profile), sessions=2)
    series = _only_series()
    auth.logout()
    auth.login_as(make_user())
    assert client.get(f"/payments/series/saved?session_id={series.provider_checkout_id}").status_code == 404
    assert client.get(f"/payments/series/{profile.slug}").status_code == 403  # not eligible


def test_sessions_out_of_range_are_refused(client: Any, auth: Any, stripe_app: Any, pair: Any) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    response = _post_series(client, profile, _slot(profile), sessions=13)
    assert response.status_code == 422
    assert db.session.scalars(select(SessionSeries)).all() == []


def test_a_saved_card_event_stripe_cannot_be_asked_about_gets_a_503_and_changes_nothing(
        client: Any, auth: Any, stripe_app: Any, fake_stripe: FakeStripe, pair: Any) -> None:
    """Reading the SetupIntent fails (here: unknown to Stripe): not a bare 500 — a 503 that makes
    Stripe send the event again later; the series still waits for its card."""
    client_user, profile = pair
    auth.login_as(client_user)
    assert _post_series(client, profile, _slot(profile), sessions=2).status_code == 303
    series = _only_series()
    event = fake_stripe.complete_setup(series.provider_checkout_id)
    unreadable = copy.deepcopy(event)
    unreadable["data"]["object"]["setup_intent"] = "seti_unknown_to_stripe"
    payload, headers = fake_stripe.signed(unreadable)
    response = client.post("/payments/webhooks/stripe", data=payload, headers=headers)
    assert response.status_code == 503 and "send it again" in response.get_json()["error"]
    assert _only_series().state is SeriesState.AWAITING_CARD
    payload, headers = fake_stripe.signed(event)  # Stripe sends it again; now it can be read
    assert client.post("/payments/webhooks/stripe", data=payload, headers=headers).status_code == 200
    assert _only_series().state is SeriesState.ACTIVE
