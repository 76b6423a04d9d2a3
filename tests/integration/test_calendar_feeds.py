"""Calendar feeds out (issue 16, item 2): a private subscription URL per person serving an RFC 5545
calendar of their consultations. Parsed by two independent parsers (icalendar and vobject); a
reschedule keeps the UID with a higher SEQUENCE, a cancellation is STATUS:CANCELLED, a new token
revokes the old URL, the ETag answers 304, nobody sees another person's consultations or the other
party's address. Service level and over HTTP, on SQLite and PostgreSQL (``app``/``client``)."""
from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

import icalendar
import pytest
import vobject
from sqlalchemy import select

from marketplace.account.services import delete_account
from marketplace.auth.models import Role
from marketplace.consultations.booking import reschedule_consultation
from marketplace.consultations.feeds import calendar_feed, make_calendar_feed
from marketplace.consultations.lifecycle import cancel_consultation
from marketplace.consultations.models import CalendarFeed
from marketplace.extensions import db
from marketplace.logging_setup import loggable_path
from tests.factories import PASSWORD
from tests.integration.test_consultations import book, first_free_slot, login, open_all_week


@pytest.fixture
def specialist(app, make_specialist):
    profile = make_specialist(display_name="Dr Mara Weiss", timezone="Europe/Berlin",
                              user_email="mara.private@example.test")
    open_all_week(profile)
    return profile


@pytest.fixture
def patient(app, make_user):
    return make_user(Role.CLIENT, display_name="Alex Morgan", timezone="Asia/Tokyo",
                     email="alex.private@example.test")


def feed_of(user) -> bytes:
    """The user's feed through the service (a new token)."""
    token = make_calendar_feed(user)
    db.session.commit()
    feed = calendar_feed(token)
    assert feed is not None
    return feed.body


def events(body: bytes) -> list:
    return icalendar.Calendar.from_ical(body).walk("VEVENT")


def test_the_feed_parses_with_two_parsers_in_the_persons_zone(specialist, patient):
    consultation = book(patient, specialist)
    body = feed_of(patient)

    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Balance consultations"
    assert "X-PUBLISHED-TTL" in calendar and "REFRESH-INTERVAL" in calendar
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Tokyo"]
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == consultation.uid
    assert event["DTSTART"].dt == consultation.start_utc
    assert event["DTSTART"].params["TZID"] == "Asia/Tokyo"
    assert str(event["STATUS"]) == "TENTATIVE"  # requested, not confirmed yet
    assert "Dr Mara Weiss" in str(event["SUMMARY"])

    parsed = vobject.readOne(body.decode("utf-8"))  # the second, independent parser
    assert parsed.method.value == "PUBLISH"
    (vevent,) = parsed.vevent_list
    assert vevent.uid.value == consultation.uid
    assert vevent.dtstart.value == consultation.start_utc
    assert str(vevent.dtstart.value.tzinfo) != "UTC"  # carried in the zone, not converted away
    assert int(vevent.sequence.value) == consultation.sequence

    # The other party by name only: no address of theirs, nobody invited, no RSVP, no note.
    text = body.decode("utf-8")
    assert specialist.user.email not in text and patient.email not in text
    assert "ATTENDEE" not in text and "RSVP" not in text
    assert consultation.note not in text


def test_the_specialist_sees_the_client_by_name_in_their_zone(specialist, patient):
    book(patient, specialist)
    (event,) = events(feed_of(specialist.user))
    assert "Alex Morgan" in str(event["SUMMARY"])
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert patient.email not in feed_of(specialist.user).decode("utf-8")


def test_a_reschedule_keeps_the_uid_with_a_higher_sequence(specialist, patient):
    consultation = book(patient, specialist)
    (before,) = events(feed_of(patient))
    moved = reschedule_consultation(consultation, patient, first_free_slot(specialist, after_hours=48))
    db.session.commit()

    body = feed_of(patient)
    (after,) = events(body)  # one event for the UID: the cancelled old booking is not a second one
    assert str(after["UID"]) == str(before["UID"]) == consultation.uid
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert after["DTSTART"].dt == moved.start_utc != consultation.start_utc
    (vevent,) = vobject.readOne(body.decode("utf-8")).vevent_list
    assert vevent.uid.value == consultation.uid and int(vevent.sequence.value) == int(after["SEQUENCE"])


def test_a_cancellation_is_cancelled_in_both_feeds(specialist, patient):
    consultation = book(patient, specialist)
    cancel_consultation(consultation, patient, "Plans changed")
    db.session.commit()
    for person in (patient, specialist.user):
        body = feed_of(person)
        (event,) = events(body)
        assert str(event["UID"]) == consultation.uid and str(event["STATUS"]) == "CANCELLED"
        assert "LOCATION" not in event  # no meeting details for a cancelled one
        (vevent,) = vobject.readOne(body.decode("utf-8")).vevent_list
        assert vevent.status.value == "CANCELLED"


def test_another_persons_token_never_shows_your_consultations(specialist, patient, make_user, make_specialist):
    mine = book(patient, specialist)
    other = make_user(Role.CLIENT)
    other_specialist = make_specialist()
    open_all_week(other_specialist)
    theirs = book(other, other_specialist)
    uids = [str(e["UID"]) for e in events(feed_of(other))]
    assert uids == [theirs.uid] and mine.uid not in uids
    assert "Dr Mara Weiss" not in feed_of(other).decode("utf-8")


def test_only_the_hash_is_stored_and_a_new_token_revokes_the_old(specialist, patient):
    book(patient, specialist)
    old = make_calendar_feed(patient)
    db.session.commit()
    stored = db.session.scalar(select(CalendarFeed.token_hash).where(CalendarFeed.user_id == patient.id))
    assert stored == hashlib.sha256(old.encode()).hexdigest() and old not in stored
    new = make_calendar_feed(patient)
    db.session.commit()
    assert new != old
    assert calendar_feed(old) is None and calendar_feed(new) is not None
    assert calendar_feed("") is None and calendar_feed("x" * 5000) is None


def test_a_deleted_account_has_no_feed(specialist, patient):
    book(patient, specialist)
    token = make_calendar_feed(patient)
    db.session.commit()
    delete_account(patient, PASSWORD)
    db.session.commit()
    assert calendar_feed(token) is None
    assert db.session.get(CalendarFeed, patient.id) is None  # the hash is gone too


def test_the_feed_reads_a_fixed_number_of_statements(specialist, patient, make_user, count_queries):
    book(patient, specialist)
    token = make_calendar_feed(patient)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as one:
        calendar_feed(token)
    for days in (2, 3, 4):  # one free consultation per pair: more bookings come from other clients
        book(make_user(Role.CLIENT), specialist, first_free_slot(specialist, after_hours=24 * days))
    token = make_calendar_feed(specialist.user)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        feed = calendar_feed(token)
    assert feed is not None and len(events(feed.body)) >= 3
    assert many.count == one.count <= 3


# --- over HTTP ---------------------------------------------------------------------------------------

def feed_url_from(response) -> str:
    match = re.search(r'value="(https?://[^"]+/calendar/[^"]+\.ics)"', response.get_data(as_text=True))
    assert match, "the page shows the new link"
    return urlsplit(match.group(1)).path


def test_over_http_make_subscribe_revalidate_and_regenerate(client, specialist, patient):
    consultation = book(patient, specialist)
    login(client, patient)
    page = client.get("/consultations").get_data(as_text=True)
    assert "Create a calendar link" in page and "/calendar/subscription" in page

    made = client.post("/calendar/subscription")
    assert made.status_code == 200
    url = feed_url_from(made)
    # The page's links back to it (the zone chooser's ``next``) lead to the list, not to a 405.
    assert client.get("/calendar/subscription").headers["Location"].endswith("/consultations")
    client.post("/auth/logout")  # the calendar app holds no session: the token is the credential

    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert "no-store" in response.headers["Cache-Control"] and "private" in response.headers["Cache-Control"]
    assert consultation.uid in response.get_data(as_text=True)
    etag = response.headers["ETag"]
    assert etag

    unchanged = client.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""

    cancel_consultation(consultation, patient, "")
    db.session.commit()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "STATUS:CANCELLED" in changed.get_data(as_text=True)

    login(client, patient)
    page = client.get("/consultations").get_data(as_text=True)
    assert "Regenerate (the old link stops working)" in page and url not in page  # shown once only
    new_url = feed_url_from(client.post("/calendar/subscription"))
    assert new_url != url
    assert client.get(url).status_code == 404
    assert client.get(new_url).status_code == 200
    assert client.get("/calendar/not-a-token.ics").status_code == 404


def test_making_a_link_needs_login_and_csrf(app, client, patient):
    assert client.post("/calendar/subscription").status_code == 302  # to the login page
    login(client, patient)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post("/calendar/subscription").status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.get(CalendarFeed, patient.id) is None


@pytest.mark.config(RATELIMIT_ENABLED=True)
def test_each_feed_is_rate_limited_on_its_own(client, patient, make_user):
    token = make_calendar_feed(patient)
    other = make_calendar_feed(make_user(Role.CLIENT))
    db.session.commit()
    statuses = [client.get(f"/calendar/{token}.ics").status_code for _ in range(31)]
    assert 429 not in statuses[:30] and statuses[30] == 429
    assert client.get(f"/calendar/{other}.ics").status_code == 200  # another feed from the same address


def test_logs_show_the_rule_not_the_token(sqlite_app):
    app = sqlite_app
    with app.test_request_context("/calendar/SeCrEt-token.ics"):
        assert loggable_path() == "/calendar/<feed_token>.ics"
    with app.test_request_context("/auth/reset/SeCrEt-token"):
        assert "SeCrEt" not in loggable_path()
    with app.test_request_context("/consultations/12"):
        assert loggable_path() == "/consultations/12"
