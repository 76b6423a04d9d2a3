"""A specialist may message a client who booked with them — against a REAL booking made over HTTP.

tests/integration/test_messaging.py checks the rule against a stand-in for the consultations
domain; here the client books through the booking page, so the messaging rule meets the real
``has_consultation_between`` (consultations/services.py). If the import in messaging/services.py
failed, the rule would silently deny everyone and the first test below fails.

Cancelled bookings: ``has_consultation_between`` counts a consultation "in any state" (the client
has or HAD one), so a specialist may still write to a client who cancelled. Runs on both databases.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.consultations.availability import refresh_next_available, set_weekly_hours
from marketplace.consultations.booking import format_slot
from marketplace.consultations.models import Consultation, ConsultationState
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.messaging.models import Conversation, Message
from tests.factories import PASSWORD

REFUSAL = "booked a consultation with you"


# --- helpers (as in test_consultations.py: booking goes through HTTP) -------------------------------

def open_all_week(profile) -> None:
    """Availability every day 00:00–23:30 (the profile's zone); committed."""
    set_weekly_hours(profile.id, [(day, "00:00", "23:30") for day in range(7)])
    db.session.flush()
    refresh_next_available([profile.id])
    db.session.commit()


def first_free_slot(profile) -> datetime:
    from marketplace.consultations.availability import free_slots_for

    limit = utcnow() + timedelta(hours=13)  # an hour of margin past the 12 h notice
    return next(s for s in free_slots_for(profile) if s >= limit)


def login(client, user) -> None:
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, "login failed in test setup"


def book_via_http(client, profile, slot: datetime):
    return client.post(f"/specialists/{profile.slug}/book",
                       data={"slot": format_slot(slot), "format": "video", "note": "Sleep, mostly.", "consent": "y"})


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count(Conversation.id))), db.session.scalar(select(func.count(Message.id))))


@pytest.fixture
def booked(client, make_user, make_specialist):
    """A client who booked a free consultation with a specialist through the booking page (then logged out)."""
    profile = make_specialist()
    open_all_week(profile)
    client_user = make_user()
    login(client, client_user)
    response = book_via_http(client, profile, first_free_slot(profile))
    assert response.status_code == 302, f"booking failed: {response.status_code}"
    client.post("/auth/logout")
    consultation = db.session.scalar(select(Consultation).where(Consultation.client_id == client_user.id,
                                                                Consultation.specialist_id == profile.id))
    assert consultation is not None and consultation.state is not ConsultationState.CANCELLED
    return profile, client_user, consultation


def write_to_client(client, specialist_user, client_user, body: str):
    login(client, specialist_user)
    return client.post(f"/messages/new?client={client_user.id}", data={"body": body})


def assert_sent(response, profile, client_user, body: str) -> None:
    assert response.status_code == 302, f"expected a redirect to the thread, got {response.status_code}"
    conversation = db.session.scalar(select(Conversation).where(Conversation.client_id == client_user.id,
                                                                Conversation.specialist_id == profile.user_id))
    assert conversation is not None, "no conversation was created"
    assert response.headers["Location"].split("#")[0].endswith(f"/messages/{conversation.id}")
    assert conversation.started_by_id == profile.user_id
    message = db.session.scalar(select(Message).where(Message.conversation_id == conversation.id))
    assert message is not None and message.body == body and message.sender_id == profile.user_id


# --- tests -----------------------------------------------------------------------------------------

def test_specialist_may_message_a_client_who_booked(client, booked):
    profile, client_user, _ = booked
    assert counts() == (0, 0), "booking alone starts no conversation"
    login(client, profile.user)
    page = client.get(f"/messages/new?client={client_user.id}")
    assert page.status_code == 200 and 'name="body"' in page.get_data(as_text=True)
    body = "Hello, before our call: is the video link working for you?"
    response = client.post(f"/messages/new?client={client_user.id}", data={"body": body})
    assert_sent(response, profile, client_user, body)
    # The client sees it in their inbox.
    client.post("/auth/logout")
    login(client, client_user)
    assert body in client.get(response.headers["Location"]).get_data(as_text=True)


def test_specialist_without_a_booking_with_that_client_is_refused(client, booked, make_specialist):
    _, client_user, _ = booked  # booked with ANOTHER specialist
    stranger = make_specialist()
    before = counts()
    login(client, stranger.user)
    page = client.get(f"/messages/new?client={client_user.id}")
    assert page.status_code in (403, 404) and REFUSAL in page.get_data(as_text=True)
    response = client.post(f"/messages/new?client={client_user.id}", data={"body": "Cold outreach."})
    assert response.status_code in (403, 404), response.status_code
    assert REFUSAL in response.get_data(as_text=True)
    assert counts() == before, "a refused message wrote a conversation or a message"


def test_a_cancelled_booking_still_lets_the_specialist_write(client, booked):
    """Per has_consultation_between ("has (or had) any consultation ... in any state")."""
    profile, client_user, consultation = booked
    login(client, client_user)
    response = client.post(f"/consultations/{consultation.id}/cancel", data={"reason": "Something came up."})
    assert response.status_code == 302
    client.post("/auth/logout")
    db.session.refresh(consultation)
    assert consultation.state is ConsultationState.CANCELLED
    body = "Sorry you had to cancel. Would another time suit you?"
    assert_sent(write_to_client(client, profile.user, client_user, body), profile, client_user, body)


def test_the_rule_uses_the_real_consultations_domain(app, booked):
    """No stand-in: the messaging rule imports the real lookup and it sees the booking."""
    from marketplace.consultations.services import has_consultation_between
    from marketplace.messaging.services import _has_consultation

    profile, client_user, _ = booked
    assert has_consultation_between(client_user.id, profile.id) is True
    assert _has_consultation(client_user.id, profile.id) is True
