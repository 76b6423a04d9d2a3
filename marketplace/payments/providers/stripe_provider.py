"""Stripe as a ``PaymentProvider``: Checkout Sessions, refunds of their PaymentIntent, and the
signed ``checkout.session.*`` webhooks. With ``stripe_client`` (its HTTP side and time budget)
the only code that imports ``stripe``; every Stripe failure leaves here as a ``ProviderError``.

Configuration: ``STRIPE_SECRET_KEY`` (without it the provider is not enabled),
``STRIPE_WEBHOOK_SECRET``, ``STRIPE_API_BASE``, ``STRIPE_CHECKOUT_HOSTS`` (the CSP
``form-action`` origins) and the time budget (``stripe_client``).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import stripe
from flask import current_app

from marketplace.payments.providers import stripe_client
from marketplace.payments.providers.base import (
    Charge,
    ChargeDeclined,
    Checkout,
    CheckoutRequest,
    EventKind,
    ProviderError,
    ProviderEvent,
    RefundReceipt,
    SetupCheckoutRequest,
    WebhookRejected,
)

_KINDS = {
    "checkout.session.completed": EventKind.CHECKOUT_COMPLETED,
    "checkout.session.expired": EventKind.CHECKOUT_EXPIRED,
}


@contextmanager
def _calling_stripe(action: str) -> Iterator[None]:
    """Any Stripe failure (or the time budget running out: RuntimeError) inside leaves as a
    ``ProviderError`` naming ``action``."""
    try:
        yield
    except (stripe.StripeError, RuntimeError) as exc:
        raise _failed(action, exc) from exc


def _failed(action: str, exc: Exception) -> ProviderError:
    return ProviderError(f"Stripe: {action} failed ({type(exc).__name__})")


class StripeProvider:
    name = "stripe"

    def enabled(self) -> bool:
        return bool(current_app.config.get("STRIPE_SECRET_KEY"))

    def checkout_hosts(self) -> list[str]:
        return str(current_app.config.get("STRIPE_CHECKOUT_HOSTS") or "").split()

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        with _calling_stripe("creating the Checkout Session"):
            session = stripe_client.create_checkout_session(
                amount_minor=request.amount_minor, currency=request.currency, product_name=request.product_name,
                metadata=dict(request.metadata), client_reference_id=request.reference,
                success_url=request.success_url + "?session_id={CHECKOUT_SESSION_ID}",
                cancel_url=request.cancel_url, expires_at=request.expires_at,
                idempotency_key=request.idempotency_key, customer_email=request.customer_email)
        return Checkout(id=session.id, url=session.url)

    def create_setup_checkout(self, request: SetupCheckoutRequest) -> Checkout:
        with _calling_stripe("creating the setup Checkout Session"):
            session = stripe_client.create_setup_session(
                currency=request.currency, description=request.description, metadata=dict(request.metadata),
                client_reference_id=request.reference,
                success_url=request.success_url + "?session_id={CHECKOUT_SESSION_ID}",
                cancel_url=request.cancel_url, expires_at=request.expires_at,
                idempotency_key=request.idempotency_key, customer_email=request.customer_email)
        return Checkout(id=session.id, url=session.url)

    def charge_off_session(self, customer: str, payment_method: str, amount_minor: int, currency: str,
                           idempotency_key: str) -> Charge:
        with _calling_stripe("the off-session charge"):
            try:
                intent = stripe_client.charge_off_session(customer=customer, payment_method=payment_method,
                                                          amount_minor=amount_minor, currency=currency,
                                                          idempotency_key=idempotency_key)
            except stripe.CardError as exc:  # (a ChargeDeclined is not a Stripe error: it passes the wrapper)
                raise ChargeDeclined(exc.user_message or "The card was declined.") from exc
        if intent.status != "succeeded":
            raise ChargeDeclined("The card needs the cardholder's confirmation.")
        return Charge(reference=intent.id)

    def expire_checkout(self, checkout_id: str) -> None:
        with _calling_stripe("expiring the Checkout Session"):
            stripe_client.expire_checkout_session(checkout_id)

    def refund(self, payment_reference: str, *, idempotency_key: str,
               metadata: Mapping[str, str], amount_minor: int | None = None) -> RefundReceipt:
        with _calling_stripe("the refund"):
            refund = stripe_client.create_refund(payment_intent=payment_reference, idempotency_key=idempotency_key,
                                                 metadata=dict(metadata), amount=amount_minor)
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
        if session.get("mode") == "setup":
            return self._setup_event(event, kind, session)
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

    def _setup_event(self, event: Any, kind: EventKind, session: dict[str, Any]) -> ProviderEvent:
        """A setup-mode session: completed means a card was saved; its SetupIntent names it."""
        checkout_id = session.get("id") if isinstance(session.get("id"), str) else None
        customer = session.get("customer") if isinstance(session.get("customer"), str) else None
        if kind is not EventKind.CHECKOUT_COMPLETED:
            return ProviderEvent(id=event["id"], type=event["type"], kind=kind, checkout_id=checkout_id)
        intent_id = session.get("setup_intent")
        payment_method = None
        if isinstance(intent_id, str):
            with _calling_stripe("reading the SetupIntent"):
                payment_method = stripe_client.retrieve_setup_intent(intent_id).payment_method
        return ProviderEvent(id=event["id"], type=event["type"], kind=EventKind.SETUP_COMPLETED,
                             checkout_id=checkout_id, customer=customer,
                             payment_method=payment_method if isinstance(payment_method, str) else None)
