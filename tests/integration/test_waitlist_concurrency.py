"""The waitlist under concurrency — on SQLite AND PostgreSQL (threads, each its own connection).

* 20 clients wait, one time frees up and is held for the first of them; at the same moment the
  claim link is opened several times (a double tap, two devices) and every other waiting client
  tries to book that time from the booking page → exactly one booking, the first client's; the
  others are told "this time was just taken"; no thread fails.
* The expiry job run twice at once passes an unclaimed time to the next client exactly once.

Plant a bug (drop the hold's blocks, claim without the conditional UPDATE, expire without it)
and these fail.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import g
from flask.testing import FlaskClient
from sqlalchemy import func, select

from marketplace.auth.models import Role
from marketplace.consultations.booking import SLOT_TAKEN, format_slot
from marketplace.consultations.lifecycle import cancel_consultation
from marketplace.consultations.models import RELEASED_STATES, Consultation, OccupiedBlock, OfferState, WaitlistOffer
from marketplace.consultations.waitlist import expire_offers, join_waitlist, offer_token
from marketplace.database import commit
from marketplace.extensions import db
from tests.factories import live_session_id
from tests.integration.test_booking_concurrency import run_at_barrier
from tests.integration.test_waitlist import ZONE, book, specialist_with_hours

WAITING = 20
CLAIM_TAPS = 5
pytestmark = [
    pytest.mark.config(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": WAITING + CLAIM_TAPS + 5, "max_overflow": 5,
                                                  "pool_timeout": 60, "pool_pre_ping": True}),
    pytest.mark.xdist_group("booking_concurrency"),
]


def waiting_clients_and_an_offer(make_specialist, make_user, count: int) -> tuple[Any, list[Any], WaitlistOffer]:
    profile = specialist_with_hours(make_specialist)
    holder = make_user(Role.CLIENT)
    booking = book(holder, profile)
    clients = [make_user(Role.CLIENT) for _ in range(count)]
    for client in clients:
        join_waitlist(client, profile, tz=ZONE)
        commit()
    cancel_consultation(booking, holder, "Plans changed")
    commit()  # the matching job runs: the time is held for the first client
    db.session.rollback()
    [offer] = db.session.scalars(select(WaitlistOffer)).all()
    assert offer.client_id == clients[0].id and offer.start_utc == booking.start_utc
    return profile, clients, offer


def logged_in(app: Any, session_id: str) -> FlaskClient:
    client = FlaskClient(app, app.response_class, use_cookies=True)
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    return client


def test_twenty_waiting_clients_one_freed_time_one_booking(app, make_specialist, make_user):
    profile, clients, offer = waiting_clients_and_an_offer(make_specialist, make_user, WAITING)
    claim_url = f"/waitlist/offers/{offer_token(offer)}"
    slot, slug = offer.start_utc, profile.slug
    owner = live_session_id(clients[0])
    others = [live_session_id(c) for c in clients[1:]]
    db.session.commit()

    def claim(session_id: str) -> Callable[[Callable[[], None]], str]:
        def job(wait: Callable[[], None]) -> str:
            http = logged_in(app, session_id)
            wait()
            response = http.post(claim_url, data={"format": "video", "consent": "y"})
            assert response.status_code in (302, 409), response.status_code
            return "claim-302" if response.status_code == 302 else "claim-409"
        return job

    def book_directly(session_id: str) -> Callable[[Callable[[], None]], str]:
        def job(wait: Callable[[], None]) -> str:
            http = logged_in(app, session_id)
            wait()
            response = http.post(f"/specialists/{slug}/book",
                                 data={"slot": format_slot(slot), "format": "video", "consent": "y"})
            body = response.get_data(as_text=True)
            assert response.status_code == 409 and SLOT_TAKEN in body, (response.status_code, body[:300])
            return "taken"
        return job

    jobs = [claim(owner) for _ in range(CLAIM_TAPS)] + [book_directly(sid) for sid in others]
    results, errors = run_at_barrier(app, jobs)

    assert errors == []
    assert results.count("taken") == WAITING - 1, results
    db.session.rollback()  # see what the threads committed
    [booked] = db.session.scalars(select(Consultation).where(Consultation.start_utc == slot,
                                                            Consultation.state.not_in(RELEASED_STATES))).all()
    assert booked.client_id == clients[0].id
    blocks = db.session.execute(select(OccupiedBlock.consultation_id, OccupiedBlock.waitlist_offer_id)).all()
    assert sorted(blocks) == [(booked.id, None), (booked.id, None)]
    offer = db.session.get(WaitlistOffer, offer.id)
    assert offer.state is OfferState.CLAIMED and offer.consultation_id == booked.id


def test_two_expiry_runs_at_once_pass_the_time_on_exactly_once(app, make_specialist, make_user):
    profile, clients, offer = waiting_clients_and_an_offer(make_specialist, make_user, 3)
    later = offer.expires_at + timedelta(seconds=1)
    db.session.commit()

    def expire(wait: Callable[[], None]) -> str:
        g.write_intent = True  # like the job runner: take the write lock up front on SQLite
        wait()
        return f"expired {len(expire_offers(later))}"

    results, errors = run_at_barrier(app, [expire, expire])

    assert errors == []
    assert sorted(results) == ["expired 0", "expired 1"], results
    db.session.rollback()
    rows = db.session.execute(select(WaitlistOffer.client_id, WaitlistOffer.state).order_by(WaitlistOffer.id)).all()
    assert rows == [(clients[0].id, OfferState.EXPIRED), (clients[1].id, OfferState.OFFERED)]
    assert db.session.scalar(select(func.count(OccupiedBlock.id))) == 2
