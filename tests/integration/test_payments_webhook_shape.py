"""Signed webhook bodies that are not events, and events signed outside ±5 minutes, are a 400."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.payments.models import WebhookEvent
from tests.fakes.stripe_fake import sign_payload
from tests.integration.test_payments import WEBHOOK_SECRET, fake_stripe, stripe_app  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("stripe_app")


def _post(client: Any, body: dict | list | str, timestamp: float | None = None) -> Any:
    payload = (body if isinstance(body, str) else json.dumps(body)).encode()
    header = sign_payload(payload, WEBHOOK_SECRET, timestamp=None if timestamp is None else int(timestamp))
    return client.post("/payments/webhook", data=payload, headers={"Stripe-Signature": header,
                                                                   "Content-Type": "application/json"})


def _recorded() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(WebhookEvent))


EVENT = {"id": "evt_shape_1", "object": "event", "type": "checkout.session.completed",
         "data": {"object": {"id": "cs_unknown", "object": "checkout.session", "metadata": {}}}}


@pytest.mark.parametrize("body", [
    {k: v for k, v in EVENT.items() if k != "id"},
    {k: v for k, v in EVENT.items() if k != "data"},
    {**EVENT, "data": {}},
    {**EVENT, "data": {"object": "not-an-object"}},
    {**EVENT, "type": None},
    [1, 2, 3],
    "null",
])
def test_a_correctly_signed_body_that_is_not_an_event_is_a_400(client, body):
    response = _post(client, body)
    assert response.status_code == 400
    assert _recorded() == 0


@pytest.mark.parametrize("offset", [-24 * 3600, -301, 301, 24 * 3600])
def test_events_signed_outside_five_minutes_are_refused(client, offset):
    assert _post(client, EVENT, time.time() + offset).status_code == 400
    assert _recorded() == 0


@pytest.mark.parametrize("offset", [-240, 0, 240])
def test_events_signed_within_five_minutes_are_accepted(client, offset):
    response = _post(client, {**EVENT, "id": f"evt_ok_{offset + 1000}"}, time.time() + offset)
    assert response.status_code == 200
    assert _recorded() == 1
