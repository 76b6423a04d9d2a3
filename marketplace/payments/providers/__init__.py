"""Payment providers: the protocol (``base``), the registry of an app's providers, and
the one implementation, Stripe (``stripe_provider``; the only modules importing ``stripe``).

The app factory registers the providers (``register_provider``); ``PAYMENT_PROVIDER``
(default "stripe") names the one new checkouts use. A payment keeps the name of the provider
it was made with, so its webhooks, expiry and refund go to that provider.

A new provider: a module here implementing ``PaymentProvider`` (see ``base``), registered in
``marketplace.create_app``; its webhooks arrive at ``/payments/webhooks/<name>``.
"""
from __future__ import annotations

from flask import Flask, current_app

from marketplace.payments.providers.base import (
    Charge,
    ChargeDeclined,
    Checkout,
    CheckoutRequest,
    EventKind,
    PaymentProvider,
    ProviderError,
    ProviderEvent,
    RefundReceipt,
    SetupCheckoutRequest,
    WebhookRejected,
)

_EXTENSION = "payment_providers"
DEFAULT_PROVIDER = "stripe"


def register_provider(app: Flask, provider: PaymentProvider) -> None:
    """Make ``provider`` known to ``app`` (by its name; a later one of the same name replaces it)."""
    if not isinstance(provider, PaymentProvider):
        raise TypeError(f"{provider!r} does not implement PaymentProvider")
    app.extensions.setdefault(_EXTENSION, {})[provider.name] = provider


def provider_named(name: str | None) -> PaymentProvider | None:
    """The current app's provider called ``name`` (None if there is none)."""
    return current_app.extensions.get(_EXTENSION, {}).get(name) if name else None


def active_provider() -> PaymentProvider | None:
    """The provider new checkouts use (``PAYMENT_PROVIDER``), None if it is not registered."""
    return provider_named(current_app.config.get("PAYMENT_PROVIDER") or DEFAULT_PROVIDER)


def payments_enabled() -> bool:
    """Whether paid sessions can be booked: the active provider exists and is configured."""
    provider = active_provider()
    return provider is not None and provider.enabled()


def checkout_hosts() -> list[str]:
    """Origins of the active provider's checkout page (the CSP's ``form-action``)."""
    provider = active_provider()
    return provider.checkout_hosts() if provider is not None else []


__all__ = [
    "DEFAULT_PROVIDER", "Charge", "ChargeDeclined", "Checkout", "CheckoutRequest", "EventKind", "PaymentProvider",
    "ProviderError",
    "ProviderEvent", "RefundReceipt", "SetupCheckoutRequest", "WebhookRejected", "active_provider", "checkout_hosts",
    "payments_enabled", "provider_named", "register_provider",
]
