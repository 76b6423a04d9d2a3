"""Stripe as a ``PaymentProvider``: Checkout Sessions, refunds of their PaymentIntent, and the
signed ``checkout.session.*`` webhooks. With ``stripe_client`` (its HTTP side and time budget)
the only code that imports ``stripe``; every Stripe failure leaves here as a ``ProviderError``.

Configuration: ``STRIPE_SECRET_KEY`` (without it the provider is not enabled),
``STRIPE_WEBHOOK_SECRET``, ``STRIPE_API_BASE``, ``STRIPE_CHECKOUT_HOSTS`` (the CSP
``form-action`` origins) and the time budget (``stripe_client``).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe
from flask import current_app

from marketplace.payments.providers import stripe_client
from marketplace.payments.providers.base import (
    Checkout,
    CheckoutRequest,
    EventKind,
    ProviderError,
    ProviderEvent,
    RefundReceipt,
    WebhookRejected,
)

_KINDS = {
    "checkout.session.completed": EventKind.CHECKOUT_COMPLETED,
    "checkout.session.expired": EventKind.CHECKOUT_EXPIRED,
}


def _failed(action: str, exc: Exception) -> ProviderError:
    return ProviderError(f"Stripe: {action} failed ({type(exc).__name__})")


class StripeProvider:
    name = "stripe"

    def enabled(self) -> bool:
        return bool(current_app.config.get("STRIPE_SECRET_KEY"))

    def checkout_hosts(self) -> list[str]:
        return str(current_app.config.get("STRIPE_CHECKOUT_HOSTS") or "").split()

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        try:
            session = stripe_client.create_checkout_session(
                amount_minor=request.amount_minor, currency=request.currency, product_name=request.product_name,
                metadata=dict(request.metadata), client_reference_id=request.reference,
                success_url=request.success_url + "?session_id={CHECKOUT_SESSION_ID}",
                cancel_url=request.cancel_url, expires_at=request.expires_at,
                idempotency_key=request.idempotency_key, customer_email=request.customer_email)
        except (stripe.StripeError, RuntimeError) as exc:
            raise _failed("creating the Checkout Session", exc) from exc
        return Checkout(id=session.id, url=session.url)

    def expire_checkout(self, checkout_id: str) -> None:
        try:
            stripe_client.expire_checkout_session(checkout_id)
        except (stripe.StripeError, RuntimeError) as exc:
            raise _failed("expiring the Checkout Session", exc) from exc

    def refund(self, payment_reference: str, *, idempotency_key: str,
               metadata: Mapping[str, str], amount_minor: int | None = None) -> RefundReceipt:
        try:
            refund = stripe_client.create_refund(payment_intent=payment_reference, idempotency_key=idempotency_key,
                                                 metadata=dict(metadata), amount=amount_minor)
        except (stripe.StripeError, RuntimeError) as exc:
            raise _failed("the refund", exc) from exc
        return RefundReceipt(id=refund.id)

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        try:
            event = stripe_client.construct_webhook_event(payload, headers.get("stripe-signature"))
        except (ValueError, stripe.SignatureVerificationError) as exc:
            raise WebhookRejected(f"Stripe webhook refused ({type(exc).__name__})") from exc
        kind = _KINDS.get(event["type"], EventKind.OTHER)
        if kind is EventKind.OTHER:
            return ProviderEvent(id=event["id"], type=event["type"], kind=kind)
        obj = event["data"]["object"]
        session: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
        amount = session.get("amount_total")
        intent = session.get("payment_intent")
        return ProviderEvent(
            id=event["id"], type=event["type"], kind=kind,
            checkout_id=session.get("id") if isinstance(session.get("id"), str) else None,
            paid=session.get("payment_status") == "paid",
            amount_minor=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
            currency=str(session.get("currency") or "").upper() or None,
            payment_reference=intent if isinstance(intent, str) else None,
        )
