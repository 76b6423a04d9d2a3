"""The one place that talks to Stripe (the real ``stripe`` library, v16).

Configuration (``config.py`` / environment):

* ``STRIPE_SECRET_KEY``: without it payments are disabled and nothing calls Stripe.
* ``STRIPE_WEBHOOK_SECRET``: verifies ``/payments/webhook`` signatures.
* ``STRIPE_API_BASE``: optional, e.g. a local fake of the Stripe API in tests.
* ``STRIPE_MAX_NETWORK_RETRIES`` (default 2) and ``STRIPE_TIMEOUT_SECONDS`` (default 10).

A ``StripeClient`` is built per call from the app config, so no module-level
global state is mutated (safe with several apps / threads in one process).
Every call raises ``stripe.StripeError`` subclasses on failure; callers decide.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import stripe
from flask import current_app


def payments_enabled() -> bool:
    """True when a Stripe secret key is configured."""
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def _client() -> stripe.StripeClient:
    cfg = current_app.config
    key = cfg.get("STRIPE_SECRET_KEY")
    if not key:
        raise RuntimeError("Stripe is not configured (STRIPE_SECRET_KEY is empty)")
    options: dict[str, Any] = {
        "max_network_retries": int(cfg.get("STRIPE_MAX_NETWORK_RETRIES", 2)),
        "http_client": stripe.RequestsClient(timeout=float(cfg.get("STRIPE_TIMEOUT_SECONDS", 10))),
    }
    if cfg.get("STRIPE_API_BASE"):
        options["base_addresses"] = {"api": cfg["STRIPE_API_BASE"]}
    return stripe.StripeClient(key, **options)


def create_checkout_session(*, amount_minor: int, currency: str, product_name: str,
                            metadata: dict[str, str], client_reference_id: str,
                            success_url: str, cancel_url: str, expires_at: datetime,
                            idempotency_key: str, customer_email: str | None = None) -> Any:
    """Create a one-item Checkout Session in payment mode; returns the Stripe object."""
    params: dict[str, Any] = {
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
    return _client().v1.checkout.sessions.create(params=params,  # type: ignore[arg-type]
                                                 options={"idempotency_key": idempotency_key})


def expire_checkout_session(session_id: str) -> Any:
    """Expire an open Checkout Session so it can no longer be paid."""
    return _client().v1.checkout.sessions.expire(session_id)


def create_refund(*, payment_intent: str, idempotency_key: str, metadata: dict[str, str]) -> Any:
    """Refund the whole amount of a PaymentIntent (idempotent by key)."""
    return _client().v1.refunds.create(
        params={"payment_intent": payment_intent, "metadata": metadata},  # type: ignore[arg-type]
        options={"idempotency_key": idempotency_key},
    )


def construct_webhook_event(payload: bytes, signature: str | None) -> Any:
    """Verify the ``Stripe-Signature`` header and parse the event.

    Raises ``stripe.SignatureVerificationError`` (bad/missing signature, stale
    timestamp, no secret configured) or ``ValueError`` (payload is not JSON).
    """
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret or not signature:
        raise stripe.SignatureVerificationError("missing signature or webhook secret", signature)
    return stripe.Webhook.construct_event(payload, signature, secret)
