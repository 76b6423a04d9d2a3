"""The HTTP side of the Stripe provider (the real ``stripe`` library, v16): internals of
``stripe_provider.StripeProvider``, the only other module that imports ``stripe``.

Configuration (``config.py`` / environment):

* ``STRIPE_SECRET_KEY``: without it payments are disabled and nothing calls Stripe.
* ``STRIPE_WEBHOOK_SECRET``: verifies ``/payments/webhooks/stripe`` signatures (and the
  old ``/payments/webhook`` alias).
* ``STRIPE_API_BASE``: optional, e.g. a local fake of the Stripe API in tests.
* ``STRIPE_CONNECT_TIMEOUT_SECONDS`` (2), ``STRIPE_READ_TIMEOUT_SECONDS`` (4) per attempt,
  ``STRIPE_MAX_NETWORK_RETRIES`` (1) and ``STRIPE_BUDGET_SECONDS`` (8), the time budget:

A hanging Stripe must not hold a web request past gunicorn's worker timeout (30 s) and
turn a friendly "nothing was booked" into a bare 500. All Stripe calls of one web request
share one deadline, ``STRIPE_BUDGET_SECONDS`` after its first Stripe call (outside a
request — CLI, jobs — each call gets its own). Every attempt's connect and read timeouts
are cut to what is left of it, a retry starts only if its back-off and a useful attempt
still fit, and once it is used up calls fail at once. Running out raises
``stripe.APIConnectionError``, a ``stripe.StripeError`` like every other failure.

A ``StripeClient`` is built per call from the app config, so no module-level
global state is mutated (safe with several apps / threads in one process).
Every call raises ``stripe.StripeError`` subclasses on failure; callers decide.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests
import stripe
from flask import current_app, has_request_context, request
from urllib3.util import Timeout

if TYPE_CHECKING:
    from stripe.params.checkout import SessionCreateParams

# A retry is not worth starting with less than this left after its back-off.
MIN_ATTEMPT_SECONDS = 0.5
# With less than this left nothing is sent (a socket timeout may end a hair before the deadline).
MIN_SEND_SECONDS = 0.1
_REQUEST_DEADLINE_KEY = "balance.stripe_deadline"


@dataclass(frozen=True)
class StripeTimeouts:
    """Per-attempt timeouts, retries and the overall budget (``from_config``)."""

    connect: float = 2.0
    read: float = 4.0
    max_retries: int = 1
    budget: float = 8.0

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> StripeTimeouts:
        return cls(connect=float(cfg.get("STRIPE_CONNECT_TIMEOUT_SECONDS", cls.connect)),
                   read=float(cfg.get("STRIPE_READ_TIMEOUT_SECONDS", cls.read)),
                   max_retries=int(cfg.get("STRIPE_MAX_NETWORK_RETRIES", cls.max_retries)),
                   budget=float(cfg.get("STRIPE_BUDGET_SECONDS", cls.budget)))


class StripeDeadline:
    """A point in (monotonic) time after which no Stripe call may still be waiting."""

    def __init__(self, seconds: float) -> None:
        self.expires_at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())


class _DeadlineSession(requests.Session):
    """Caps each HTTP attempt at what is left of the deadline (connect and read together)."""

    def __init__(self, deadline: StripeDeadline, connect: float, read: float) -> None:
        super().__init__()
        self.deadline, self.connect, self.read = deadline, connect, read

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        remaining = self.deadline.remaining()
        if remaining < MIN_SEND_SECONDS:
            raise requests.exceptions.Timeout("the time budget for Stripe calls is used up")
        # total= bounds connect + waiting for the answer; a fresh Timeout per attempt.
        kwargs["timeout"] = Timeout(connect=min(self.connect, remaining), read=min(self.read, remaining),
                                    total=remaining)
        return super().request(method, url, *args, **kwargs)


class BudgetedRequestsClient(stripe.RequestsClient):
    """``stripe.RequestsClient`` whose attempts, back-offs and retries all end by ``deadline``."""

    def __init__(self, timeouts: StripeTimeouts, deadline: StripeDeadline) -> None:
        super().__init__(timeout=(timeouts.connect, timeouts.read),
                         session=_DeadlineSession(deadline, timeouts.connect, timeouts.read))
        self._deadline = deadline

    def _should_retry(self, response: Any, api_connection_error: Any, num_retries: int,
                      max_network_retries: int | None) -> bool:
        # The library's shortest back-off plus a useful attempt must still fit.
        if self._deadline.remaining() < self.INITIAL_DELAY + MIN_ATTEMPT_SECONDS:
            return False
        return bool(super()._should_retry(response, api_connection_error, num_retries, max_network_retries))

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return min(super()._sleep_time_seconds(num_retries),
                   max(0.0, self._deadline.remaining() - MIN_ATTEMPT_SECONDS))


def build_client(api_key: str, timeouts: StripeTimeouts, deadline: StripeDeadline,
                 api_base: str | None = None) -> stripe.StripeClient:
    """A ``StripeClient`` whose calls stop (``stripe.APIConnectionError``) by ``deadline``."""
    options: dict[str, Any] = {
        "max_network_retries": timeouts.max_retries,
        "http_client": BudgetedRequestsClient(timeouts, deadline),
    }
    if api_base:
        options["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(api_key, **options)


def _deadline(timeouts: StripeTimeouts) -> StripeDeadline:
    """The current web request's deadline (started by its first Stripe call), else a new one."""
    if not has_request_context():
        return StripeDeadline(timeouts.budget)
    deadline = request.environ.get(_REQUEST_DEADLINE_KEY)
    if deadline is None:
        deadline = request.environ[_REQUEST_DEADLINE_KEY] = StripeDeadline(timeouts.budget)
    return deadline


def _client() -> stripe.StripeClient:
    cfg = current_app.config
    key = cfg.get("STRIPE_SECRET_KEY")
    if not key:
        raise RuntimeError("Stripe is not configured (STRIPE_SECRET_KEY is empty)")
    timeouts = StripeTimeouts.from_config(cfg)
    return build_client(key, timeouts, _deadline(timeouts), cfg.get("STRIPE_API_BASE"))


def create_checkout_session(*, amount_minor: int, currency: str, product_name: str,
                            metadata: dict[str, str], client_reference_id: str,
                            success_url: str, cancel_url: str, expires_at: datetime,
                            idempotency_key: str, customer_email: str | None = None) -> Any:
    """Create a one-item Checkout Session in payment mode; returns the Stripe object."""
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": [{
            "price_data": {
                "currency": currency.lower(),
                "unit_amount": amount_minor,
                "product_data": {"name": product_name},
            },
            "quantity": 1,
        }],
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "client_reference_id": client_reference_id,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires_at.timestamp()),
    }
    if customer_email:
        params["customer_email"] = customer_email
    return _client().v1.checkout.sessions.create(params=params, options={"idempotency_key": idempotency_key})


def create_setup_session(*, currency: str, description: str, metadata: dict[str, str], client_reference_id: str,
                         success_url: str, cancel_url: str, expires_at: datetime, idempotency_key: str,
                         customer_email: str | None = None) -> Any:
    """A Customer, then a Checkout Session in setup mode saving a card for it (off-session use)."""
    customer_params: dict[str, Any] = {"metadata": metadata, "description": description}
    if customer_email:
        customer_params["email"] = customer_email
    client = _client()
    customer = client.v1.customers.create(params=customer_params,  # type: ignore[arg-type]
                                          options={"idempotency_key": f"{idempotency_key}-customer"})
    params: dict[str, Any] = {
        "mode": "setup", "currency": currency.lower(), "customer": customer.id,
        "setup_intent_data": {"metadata": metadata, "description": description},
        "metadata": metadata, "client_reference_id": client_reference_id,
        "success_url": success_url, "cancel_url": cancel_url, "expires_at": int(expires_at.timestamp()),
    }
    return client.v1.checkout.sessions.create(params=params,  # type: ignore[arg-type]
                                              options={"idempotency_key": idempotency_key})


def retrieve_setup_intent(setup_intent_id: str) -> Any:
    """The SetupIntent of a completed setup checkout (its ``payment_method`` is the saved card)."""
    return _client().v1.setup_intents.retrieve(setup_intent_id)


def charge_off_session(*, customer: str, payment_method: str, amount_minor: int, currency: str,
                       idempotency_key: str) -> Any:
    """Confirm a PaymentIntent on a saved card without the client (``stripe.CardError`` if declined)."""
    return _client().v1.payment_intents.create(
        params={"amount": amount_minor, "currency": currency.lower(), "customer": customer,
                "payment_method": payment_method, "off_session": True, "confirm": True},
        options={"idempotency_key": idempotency_key},
    )


def expire_checkout_session(session_id: str) -> Any:
    """Expire an open Checkout Session so it can no longer be paid."""
    return _client().v1.checkout.sessions.expire(session_id)


def create_refund(*, payment_intent: str, idempotency_key: str, metadata: dict[str, str],
                  amount: int | None = None) -> Any:
    """Refund a PaymentIntent: the whole amount, or ``amount`` (minor units) of it (idempotent by key)."""
    params: Any = {"payment_intent": payment_intent, "metadata": metadata}  # (stripe's RefundCreateParams)
    if amount is not None:
        params["amount"] = amount
    return _client().v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})


WEBHOOK_TOLERANCE_SECONDS = 300  # a signed event older or newer than ±5 minutes is refused


def construct_webhook_event(payload: bytes, signature: str | None, *, now: float | None = None) -> Any:
    """Verify the ``Stripe-Signature`` header and parse the event.

    Raises ``stripe.SignatureVerificationError`` (bad/missing signature, a timestamp more than
    five minutes in the past *or the future*, no secret configured) or ``ValueError`` (the
    payload is not JSON, or not an event: an ``id``, a ``type`` and a ``data.object``).
    """
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret or not signature:
        raise stripe.SignatureVerificationError("missing signature or webhook secret", signature)
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS)
    except (AttributeError, TypeError) as exc:  # JSON, but not an object (a list, null …)
        raise ValueError("not a Stripe event") from exc
    # The library refuses old timestamps only; a future one is as suspect (replay of a
    # pre-signed event, or a badly wrong clock).
    timestamps = [int(p[2:]) for p in signature.split(",") if p.startswith("t=") and p[2:].isdigit()]
    if not timestamps or timestamps[0] > (now or time.time()) + WEBHOOK_TOLERANCE_SECONDS:
        raise stripe.SignatureVerificationError("timestamp outside the tolerance zone", signature)
    _require_event_shape(event)
    return event


def _require_event_shape(event: Any) -> None:
    """A correctly signed body is still refused (400, not a 500 Stripe would retry) unless it is an event."""
    try:
        ok = (isinstance(event["id"], str) and bool(event["id"]) and isinstance(event["type"], str)
              and isinstance(event["data"]["object"], stripe.StripeObject))
    except (KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise ValueError("not a Stripe event (needs id, type and data.object)")
