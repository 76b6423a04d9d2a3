"""What the payments domain needs from a payment provider, and nothing provider-specific.

A provider takes a client's money through a hosted checkout page, tells us about it through
signed webhooks, and gives money back. The rest of the payments domain only sees the types
below; a provider's own library, event names and error classes stay inside its module.

Contract of an implementation (``PaymentProvider``):

* ``name``: short and stable ("stripe"); stored on every ``Payment`` (``Payment.provider``)
  and part of its webhook URL, ``/payments/webhooks/<name>``.
* ``enabled()``: configured (keys present). When the active provider is not, paid booking
  says "Payments are not enabled" and nothing calls it.
* ``checkout_hosts()``: the origins its checkout page is served from; they are added to the
  CSP ``form-action`` (the booking form posts, and is redirected, there).
* ``create_checkout(request)``: opens a checkout for one payment and returns its id and URL.
  Calls with the same ``request.idempotency_key`` and parameters must return the same
  checkout (a retry after a timeout must not open a second one). After payment the client is
  sent to ``request.success_url`` with ``?session_id=<checkout id>`` added.
* ``create_setup_checkout(request)``: opens a checkout that only saves the client's card for
  later off-session charges (Stripe: Checkout in ``mode=setup`` for a new Customer). Its
  completion arrives as a ``SETUP_COMPLETED`` event naming the customer and payment method.
* ``charge_off_session(customer, payment_method, amount_minor, currency, idempotency_key)``:
  charges a saved card without the client present; returns a ``Charge`` (its reference is what
  ``refund`` needs), raises ``ChargeDeclined`` when the card is refused (no retry helps) and
  ``ProviderError`` otherwise (worth retrying with the same key).
* ``expire_checkout(checkout_id)``: the checkout can no longer be paid.
* ``refund(payment_reference, ..., amount_minor=None)``: gives the whole amount back, or
  ``amount_minor`` of it (a partial refund), idempotent by key.
* ``parse_webhook(payload, headers)``: verifies the signature *before* anything is trusted
  and returns a ``ProviderEvent``; raises ``WebhookRejected`` otherwise. ``headers`` are the
  request's headers with lower-case names.

Every failure to reach or satisfy the provider is a ``ProviderError`` (and must end within the
request's time budget: a hanging provider must not hold a web worker).
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from marketplace.domain import DomainError


class ProviderError(DomainError):
    """The provider refused, failed or could not be reached in time."""


class ChargeDeclined(ProviderError):
    """The bank or provider refused an off-session charge (the message says why, for people)."""


class WebhookRejected(ProviderError):
    """A webhook whose signature, timestamp or shape is not acceptable (answered with a 400)."""


@dataclass(frozen=True, kw_only=True)
class HostedCheckoutRequest:
    """What every hosted checkout needs (everything derived from stored data, so a re-creation with
    the same idempotency key sends identical parameters)."""

    currency: str  # ISO 4217, upper case
    reference: str  # our reference, shown in the provider's dashboard
    success_url: str  # the provider adds ?session_id=<checkout id>
    cancel_url: str
    expires_at: datetime
    idempotency_key: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    customer_email: str | None = None


@dataclass(frozen=True, kw_only=True)
class CheckoutRequest(HostedCheckoutRequest):
    """One hosted checkout for one payment."""

    amount_minor: int  # minor units of ``currency`` (cents; yen for JPY)
    product_name: str


@dataclass(frozen=True, kw_only=True)
class SetupCheckoutRequest(HostedCheckoutRequest):
    """A hosted checkout that saves a card for later off-session charges (no money moves); the card
    will be charged in ``currency``."""

    description: str


@dataclass(frozen=True)
class Charge:
    """A successful off-session charge; ``reference`` is what ``refund`` needs."""

    reference: str


@dataclass(frozen=True)
class Checkout:
    id: str
    url: str


@dataclass(frozen=True)
class RefundReceipt:
    id: str


class EventKind(str, enum.Enum):
    CHECKOUT_COMPLETED = "checkout_completed"  # the client finished checkout (see ``paid``)
    CHECKOUT_EXPIRED = "checkout_expired"  # the checkout can no longer be paid
    SETUP_COMPLETED = "setup_completed"  # a setup checkout saved a card (``customer``, ``payment_method``)
    OTHER = "other"  # anything else: recorded and acknowledged, nothing done


@dataclass(frozen=True)
class ProviderEvent:
    """One verified webhook event, in the payments domain's words."""

    id: str  # the provider's event id: processed once per (provider, id)
    type: str  # the provider's own event name (logs, the event record)
    kind: EventKind
    checkout_id: str | None = None
    paid: bool = False  # the money was taken (not "pending" with a delayed method)
    amount_minor: int | None = None
    currency: str | None = None
    payment_reference: str | None = None  # what ``refund`` needs later (Stripe: the PaymentIntent)
    customer: str | None = None  # SETUP_COMPLETED: the provider's customer the card is saved for
    payment_method: str | None = None  # SETUP_COMPLETED: the saved card


@runtime_checkable
class PaymentProvider(Protocol):
    name: str

    def enabled(self) -> bool: ...

    def checkout_hosts(self) -> list[str]: ...

    def create_checkout(self, request: CheckoutRequest) -> Checkout: ...

    def create_setup_checkout(self, request: SetupCheckoutRequest) -> Checkout: ...

    def charge_off_session(self, customer: str, payment_method: str, amount_minor: int, currency: str,
                           idempotency_key: str) -> Charge: ...

    def expire_checkout(self, checkout_id: str) -> None: ...

    def refund(self, payment_reference: str, *, idempotency_key: str,
               metadata: Mapping[str, str], amount_minor: int | None = None) -> RefundReceipt: ...

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent: ...
