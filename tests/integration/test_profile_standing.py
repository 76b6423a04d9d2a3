"""The profile knows you (issue 13, item 6): a client with a consultation with this specialist sees
it on the profile and in the message thread, instead of slots and booking buttons; after a free
consultation that ended with "proceed", paid sessions come next. Everyone else (on the same cached
page) still gets the booking card."""
from __future__ import annotations

import pytest

from marketplace.auth.models import Role
from marketplace.consultations.booking import client_standing
from marketplace.consultations.lifecycle import cancel_consultation, record_outcome
from marketplace.extensions import db
from marketplace.timeutil import format_datetime
from tests.integration.test_consultations import book, login, move_into_past, open_all_week

BOOKING_CARD = 'data-testid="profile-booking"'
STANDING = 'data-testid="your-consultation"'
BOOK_CTA = 'data-testid="book-cta"'


@pytest.fixture
def specialist(app, make_specialist):  # type: ignore[no-untyped-def]
    profile = make_specialist(formats=["video"], display_name="Dr Knows You")
    open_all_week(profile)
    return profile


def test_standing_follows_the_consultation(specialist, make_user):
    client = make_user(Role.CLIENT)
    assert client_standing(client.id, specialist.id).can_book_free

    consultation = book(client, specialist)
    standing = client_standing(client.id, specialist.id)
    assert standing.upcoming is not None and standing.upcoming.id == consultation.id
    assert not standing.can_book_free and not standing.proceed

    cancel_consultation(consultation, client, "Something came up")
    db.session.commit()
    assert client_standing(client.id, specialist.id).can_book_free  # a cancelled one can be booked again

    again = book(client, specialist)
    move_into_past(again)
    record_outcome(again, specialist.user, "proceed", "Glad to continue")
    db.session.commit()
    standing = client_standing(client.id, specialist.id)
    assert standing.upcoming is None and standing.free_done is not None and standing.proceed
    assert not standing.can_book_free
    assert client_standing(make_user(Role.CLIENT).id, specialist.id).can_book_free  # another client


def test_the_profile_shows_your_consultation_instead_of_slots(client, specialist, make_user):
    booked = make_user(Role.CLIENT, timezone="America/New_York")
    consultation = book(booked, specialist)
    url = f"/specialists/{specialist.slug}"

    visitor_page = client.get(url).get_data(as_text=True)  # warms the shared page
    assert BOOKING_CARD in visitor_page and STANDING not in visitor_page

    login(client, booked)
    page = client.get(url).get_data(as_text=True)
    assert STANDING in page and BOOKING_CARD not in page and BOOK_CTA not in page
    assert f"/consultations/{consultation.id}" in page
    assert format_datetime(consultation.start_utc, "America/New_York") in page  # their zone, named
    assert "waiting for Dr Knows You to confirm" in page  # requested, not yet confirmed
    client.post("/auth/logout")

    login(client, make_user(Role.CLIENT))  # another client: the same cached page, with the card
    page = client.get(url).get_data(as_text=True)
    assert BOOKING_CARD in page and BOOK_CTA in page and STANDING not in page


def test_after_proceed_the_profile_offers_paid_sessions(client, specialist, make_user):
    booked = make_user(Role.CLIENT)
    consultation = book(booked, specialist)
    move_into_past(consultation)
    record_outcome(consultation, specialist.user, "proceed", None)
    db.session.commit()
    login(client, booked)
    page = client.get(f"/specialists/{specialist.slug}").get_data(as_text=True)
    assert 'data-testid="book-session-cta"' in page and f"/payments/book/{specialist.slug}" in page
    assert BOOK_CTA not in page and BOOKING_CARD not in page and "You had your free consultation" in page


def test_the_message_thread_shows_your_consultation(client, specialist, make_user):
    booked = make_user(Role.CLIENT)
    login(client, booked)
    sent = client.post(f"/messages/new?to={specialist.slug}", data={"body": "Hello, a question before we meet."})
    assert sent.status_code == 302
    thread = sent.headers["Location"].split("#")[0]
    assert f"/specialists/{specialist.slug}/book" in client.get(thread).get_data(as_text=True)

    consultation = book(booked, specialist)
    page = client.get(thread).get_data(as_text=True)
    assert 'data-testid="your-consultation-cta"' in page and f"/consultations/{consultation.id}" in page
    assert f"/specialists/{specialist.slug}/book" not in page


def test_standing_is_asked_only_of_specialists_the_client_has_consultations_with(client, specialist, make_user,
                                                                                make_specialist, count_queries):
    """The session's user comes with the ids of the specialists the client stands with: another
    specialist's profile asks nothing more; theirs asks once; a booking in this request forgets it."""
    other = make_specialist(formats=["video"], display_name="Dr Someone Else")
    open_all_week(other)
    booked = make_user(Role.CLIENT)
    book(booked, specialist)
    login(client, booked)
    for profile, standing_queries in ((other, 0), (specialist, 1)):
        url = f"/specialists/{profile.slug}"
        client.get(url)  # warm the shared page
        with count_queries() as counter:
            page = client.get(url).get_data(as_text=True)
        assert sum(q.lstrip().startswith("SELECT consultations.") for q in counter.statements) == standing_queries, \
            counter.statements
        assert (STANDING in page) is (profile is specialist)
