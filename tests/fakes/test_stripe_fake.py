"""Prove the real ``stripe`` library (v16) works against the local fake."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import stripe
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .stripe_fake import (
    FakeStripe,
    parse_stripe_form,
    serve_fake_stripe,
    sign_payload,
)

SECRET = "whsec_test_secret"


class WebhookReceiver:
    """Tiny loopback server that records raw webhook POSTs."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.status = 200

    def __call__(self, environ: dict, start_response: Any) -> Any:
        req = Request(environ)
        self.received.append((req.get_data(), dict(req.headers)))
        return Response("ok", status=self.status)(environ, start_response)


@pytest.fixture
def receiver() -> Iterator[tuple[WebhookReceiver, str]]:
    app = WebhookReceiver()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield app, f"http://127.0.0.1:{server.server_port}/stripe/webhook"
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    with serve_fake_stripe(None, SECRET) as f:
        monkeypatch.setattr(stripe, "api_key", "sk_test_fake")
        monkeypatch.setattr(stripe, "api_base", f.base_url)
        monkeypatch.setattr(stripe, "max_network_retries", 0)
        yield f


def session_params(**extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [{
            "price_data": {"currency": "gbp", "unit_amount": 6500,
                           "product_data": {"name": "50 min session with Dr. Ada"}},
            "quantity": 1,
        }, {
            "price_data": {"currency": "gbp", "unit_amount": 500,
                           "product_data": {"name": "Booking fee"}},
            "quantity": 2,
        }],
        "success_url": "http://app.test/paid?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://app.test/cancelled",
        "metadata": {"booking_id": "42", "client_id": "7"},
        "client_reference_id": "booking-42",
        "customer_email": "client@example.com",
        "expires_at": int(time.time()) + 1800,
        "payment_intent_data": {"metadata": {"booking_id": "42"}},
    }
    params.update(extra)
    return params


def test_form_parser_nested_keys() -> None:
    parsed = parse_stripe_form([
        ("line_items[0][price_data][unit_amount]", "100"),
        ("line_items[0][quantity]", "1"),
        ("line_items[1][quantity]", "3"),
        ("metadata[booking_id]", "9"),
        ("expand[]", "payment_intent"),
        ("mode", "payment"),
    ])
    assert parsed == {
        "line_items": [{"price_data": {"unit_amount": "100"}, "quantity": "1"},
                       {"quantity": "3"}],
        "metadata": {"booking_id": "9"}, "expand": ["payment_intent"], "mode": "payment",
    }


def test_create_and_retrieve_session_module_level(fake: FakeStripe) -> None:
    s = stripe.checkout.Session.create(**session_params())
    assert s.id.startswith("cs_test_")
    assert s.object == "checkout.session"
    assert s.url == f"{fake.base_url}/checkout/{s.id}"
    assert (s.amount_total, s.currency) == (7500, "gbp")
    assert (s.status, s.payment_status, s.payment_intent) == ("open", "unpaid", None)
    assert s.metadata["booking_id"] == "42"
    assert s.client_reference_id == "booking-42"

    got = stripe.checkout.Session.retrieve(s.id)
    assert got.id == s.id and got.metadata.to_dict() == {"booking_id": "42", "client_id": "7"}

    logged = next(r for r in fake.requests if r["method"] == "POST")
    assert logged["path"] == "/v1/checkout/sessions"
    assert logged["params"]["line_items"][0]["price_data"]["unit_amount"] == "6500"
    assert logged["headers"]["Authorization"] == "Bearer sk_test_fake"
    assert [i["description"] for i in fake.line_items[s.id]] == [
        "50 min session with Dr. Ada", "Booking fee"]


def test_stripe_client_works(fake: FakeStripe) -> None:
    client = stripe.StripeClient("sk_test_client", base_addresses={"api": fake.base_url},
                                 max_network_retries=0)
    s = client.v1.checkout.sessions.create(params=session_params())  # type: ignore[arg-type]
    assert client.v1.checkout.sessions.retrieve(s.id).amount_total == 7500
    assert fake.requests[-1]["headers"]["Authorization"] == "Bearer sk_test_client"


def test_idempotency_key(fake: FakeStripe) -> None:
    params = session_params()
    a = stripe.checkout.Session.create(**params, idempotency_key="book-42")
    b = stripe.checkout.Session.create(**params, idempotency_key="book-42")
    c = stripe.checkout.Session.create(**params, idempotency_key="book-43")
    assert a.id == b.id != c.id
    assert len(fake.sessions) == 2
    with pytest.raises(stripe.IdempotencyError):
        stripe.checkout.Session.create(**session_params(client_reference_id="other"),
                                       idempotency_key="book-42")


def test_auth_and_unknown_routes(fake: FakeStripe) -> None:
    r = requests.get(f"{fake.base_url}/v1/checkout/sessions/cs_test_x")
    assert r.status_code == 401 and r.json()["error"]["type"] == "invalid_request_error"
    r = requests.get(f"{fake.base_url}/v1/checkout/sessions/cs_test_x",
                     headers={"Authorization": "Bearer "})
    assert r.status_code == 401
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient("sk_x", base_addresses={"api": fake.base_url}, max_network_retries=0
                            ).v1.checkout.sessions.retrieve("cs", options={"api_key": " "})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe.Customer.retrieve("cus_123")
    assert exc.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe.checkout.Session.retrieve("cs_test_missing")
    assert exc.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe.checkout.Session.create(mode="payment", success_url="http://x")
    assert exc.value.param == "line_items"


def _verify(payload: bytes, headers: dict[str, str]) -> stripe.Event:
    return stripe.Webhook.construct_event(payload, headers["Stripe-Signature"], SECRET)


def test_browser_pay_delivers_signed_webhook(fake: FakeStripe, receiver: Any) -> None:
    app, url = receiver
    fake.webhook_url = url
    s = stripe.checkout.Session.create(**session_params())

    page = requests.get(s.url)
    assert page.status_code == 200
    assert "75.00 GBP" in page.text and f'action="/checkout/{s.id}/pay"' in page.text
    assert 'href="http://app.test/cancelled"' in page.text

    r = requests.post(f"{s.url}/pay", allow_redirects=False)
    assert r.status_code == 303
    assert r.headers["Location"] == f"http://app.test/paid?session_id={s.id}"

    assert len(app.received) == 1
    payload, headers = app.received[0]
    event = _verify(payload, headers)
    assert event.id.startswith("evt_") and event.type == "checkout.session.completed"
    obj = event.data.object
    assert obj.id == s.id and obj.payment_status == "paid" and obj.status == "complete"
    assert obj.metadata["booking_id"] == "42"
    assert fake.deliveries[0][1] == 200

    tampered = payload.replace(b'"booking_id": "42"', b'"booking_id": "43"')
    assert tampered != payload
    with pytest.raises(stripe.SignatureVerificationError):
        _verify(tampered, headers)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, headers["Stripe-Signature"], "whsec_wrong")

    paid = stripe.checkout.Session.retrieve(s.id, expand=["payment_intent"])
    assert paid.payment_intent.id.startswith("pi_")
    pi = stripe.PaymentIntent.retrieve(obj.payment_intent)
    assert (pi.status, pi.amount, pi.metadata["booking_id"]) == ("succeeded", 7500, "42")
    # Paying again does not double-charge or re-deliver.
    assert requests.post(f"{s.url}/pay", allow_redirects=False).status_code == 303
    assert len(app.received) == 1 and len(fake.payment_intents) == 1


def test_complete_session_and_refunds(fake: FakeStripe) -> None:
    s = stripe.checkout.Session.create(**session_params())
    event = fake.complete_session(s.id)
    payload, headers = fake.signed(event)
    assert _verify(payload, headers).data.object.payment_status == "paid"
    pi_id = fake.sessions[s.id]["payment_intent"]

    partial = stripe.Refund.create(payment_intent=pi_id, amount=2500,
                                   metadata={"booking_id": "42"})
    assert partial.id.startswith("re_") and partial.status == "succeeded"
    assert (partial.amount, partial.metadata["booking_id"]) == (2500, "42")
    rest = stripe.Refund.create(payment_intent=pi_id)
    assert rest.amount == 5000
    assert set(fake.refunds) == {partial.id, rest.id}
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe.Refund.create(payment_intent=pi_id, amount=1)
    assert exc.value.code == "charge_already_refunded"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Refund.create(payment_intent="pi_nope")


def test_expire(fake: FakeStripe, receiver: Any) -> None:
    s = stripe.checkout.Session.create(**session_params())
    expired = stripe.checkout.Session.expire(s.id)
    assert expired.status == "expired" and expired.url is None
    with pytest.raises(stripe.InvalidRequestError):
        stripe.checkout.Session.expire(s.id)
    assert requests.post(f"{s.url}/pay", allow_redirects=False).status_code == 410

    app, url = receiver
    fake.webhook_url = url
    s2 = stripe.checkout.Session.create(**session_params())
    event = fake.expire_session(s2.id, deliver=True)
    assert event["type"] == "checkout.session.expired"
    assert _verify(*app.received[0]).data.object.status == "expired"


def test_lazy_expiry_and_sign_payload(fake: FakeStripe) -> None:
    s = stripe.checkout.Session.create(**session_params(expires_at=int(time.time()) - 1))
    assert stripe.checkout.Session.retrieve(s.id).status == "expired"
    body = json.dumps({"id": "evt_1", "object": "event", "type": "x",
                       "data": {"object": {}}}).encode()
    header = sign_payload(body, SECRET, timestamp=int(time.time()))
    assert header.startswith("t=") and ",v1=" in header
    assert stripe.Webhook.construct_event(body, header, SECRET).id == "evt_1"
    old = sign_payload(body, SECRET, timestamp=int(time.time()) - 3600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, old, SECRET)
