"""A second payment provider, for tests only: ``FakePay`` implements ``PaymentProvider``
(marketplace/payments/providers/base.py) with no Stripe and no network, to prove the seam.

Its "hosted checkout" lives on a made-up origin; checkouts, expiries and refunds are kept in
memory (idempotent by key, like a real provider); its webhooks are JSON bodies signed with
HMAC-SHA256 of the body in an ``X-FakePay-Signature`` header, with its own event names
(``payment.succeeded``, ``checkout.expired``). The test side pays a checkout with ``pay``
and gets the signed webhook to deliver.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marketplace.payments.providers import (
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

SIGNATURE_HEADER = "X-FakePay-Signature"
_KINDS = {"payment.succeeded": EventKind.CHECKOUT_COMPLETED, "checkout.expired": EventKind.CHECKOUT_EXPIRED,
          "card.saved": EventKind.SETUP_COMPLETED}


@dataclass
class FakePay:
    name: str = "fakepay"
    secret: str = "fakepay-webhook-secret"
    origin: str = "https://pay.fakepay.test"
    checkouts: dict[str, CheckoutRequest] = field(default_factory=dict)
    expired: list[str] = field(default_factory=list)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)  # refund id -> what was refunded
    failing: bool = False  # every call raises ProviderError (an outage)
    setups: dict[str, SetupCheckoutRequest] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)  # charge id -> what was charged
    declining: set[str] = field(default_factory=set)  # cards whose off-session charges are declined
    _by_key: dict[str, str] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    # --- PaymentProvider -----------------------------------------------------------------------

    def enabled(self) -> bool:
        return True

    def checkout_hosts(self) -> list[str]:
        return [self.origin]

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        self._maybe_fail()
        checkout_id = self._by_key.get(request.idempotency_key)
        if checkout_id is None:
            checkout_id = self._by_key[request.idempotency_key] = f"fp_co_{next(self._ids)}"
            self.checkouts[checkout_id] = request
        return Checkout(id=checkout_id, url=f"{self.origin}/pay/{checkout_id}")

    def create_setup_checkout(self, request: SetupCheckoutRequest) -> Checkout:
        self._maybe_fail()
        checkout_id = self._by_key.get(request.idempotency_key)
        if checkout_id is None:
            checkout_id = self._by_key[request.idempotency_key] = f"fp_setup_{next(self._ids)}"
            self.setups[checkout_id] = request
        return Checkout(id=checkout_id, url=f"{self.origin}/save-card/{checkout_id}")

    def charge_off_session(self, customer: str, payment_method: str, amount_minor: int, currency: str,
                           idempotency_key: str) -> Charge:
        self._maybe_fail()
        if payment_method in self.declining:
            raise ChargeDeclined("fakepay: card declined")
        charge_id = self._by_key.get(idempotency_key)
        if charge_id is None:
            charge_id = self._by_key[idempotency_key] = f"fp_ch_{next(self._ids)}"
            self.charges[charge_id] = {"customer": customer, "payment_method": payment_method,
                                       "amount": amount_minor, "currency": currency}
        return Charge(reference=charge_id)

    def expire_checkout(self, checkout_id: str) -> None:
        self._maybe_fail()
        if checkout_id not in self.checkouts:
            raise ProviderError(f"fakepay: no checkout {checkout_id}")
        self.expired.append(checkout_id)

    def refund(self, payment_reference: str, *, idempotency_key: str,
               metadata: Mapping[str, str], amount_minor: int | None = None) -> RefundReceipt:
        self._maybe_fail()
        refund_id = self._by_key.get(idempotency_key)
        if refund_id is None:
            refund_id = self._by_key[idempotency_key] = f"fp_re_{next(self._ids)}"
            self.refunds[refund_id] = {"reference": payment_reference, "key": idempotency_key,
                                       "metadata": dict(metadata), "amount_minor": amount_minor}
        return RefundReceipt(id=refund_id)

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        given = headers.get(SIGNATURE_HEADER.lower()) or ""
        if not hmac.compare_digest(given, self.sign(payload)):
            raise WebhookRejected("fakepay: bad signature")
        try:
            body = json.loads(payload)
            event_id, event_type = body["id"], body["type"]
        except (ValueError, TypeError, KeyError) as exc:
            raise WebhookRejected("fakepay: not an event") from exc
        if not isinstance(event_id, str) or not isinstance(event_type, str):
            raise WebhookRejected("fakepay: not an event")
        return ProviderEvent(id=event_id, type=event_type, kind=_KINDS.get(event_type, EventKind.OTHER),
                             checkout_id=body.get("checkout"), paid=event_type == "payment.succeeded",
                             amount_minor=body.get("amount"), currency=body.get("currency"),
                             payment_reference=body.get("charge"), customer=body.get("customer"),
                             payment_method=body.get("card"))

    # --- the test side ---------------------------------------------------------------------------

    def sign(self, payload: bytes) -> str:
        return hmac.new(self.secret.encode(), payload, hashlib.sha256).hexdigest()

    def event(self, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        payload = json.dumps(body).encode()
        return payload, {SIGNATURE_HEADER: self.sign(payload), "Content-Type": "application/json"}

    def pay(self, checkout_id: str) -> tuple[bytes, dict[str, str]]:
        """The client pays on the hosted page: the signed ``payment.succeeded`` webhook to deliver."""
        request = self.checkouts[checkout_id]
        return self.event({"id": f"fp_evt_{next(self._ids)}", "type": "payment.succeeded", "checkout": checkout_id,
                           "amount": request.amount_minor, "currency": request.currency,
                           "charge": f"fp_ch_{checkout_id}"})

    def save_card(self, checkout_id: str, card: str = "fp_card_1") -> tuple[bytes, dict[str, str]]:
        """The client saves a card on the hosted setup page: the signed ``card.saved`` webhook."""
        assert checkout_id in self.setups
        return self.event({"id": f"fp_evt_{next(self._ids)}", "type": "card.saved", "checkout": checkout_id,
                           "customer": f"fp_cus_{checkout_id}", "card": card})

    def success_url(self, checkout_id: str) -> str:
        """Where the hosted page sends the client back to (the contract: ``?session_id=<id>``)."""
        return f"{self.checkouts[checkout_id].success_url}?session_id={checkout_id}"

    def _maybe_fail(self) -> None:
        if self.failing:
            raise ProviderError("fakepay: unavailable")
