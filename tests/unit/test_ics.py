"""Tests for iCalendar invitations (marketplace.notifications.ics)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from marketplace.notifications.ics import build_ics

UTC = timezone.utc
START = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # Berlin DST day: 09:00 CEST
END = START + timedelta(minutes=30)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make(**overrides) -> bytes:
    kwargs = dict(
        uid="consultation-42@balance.example",
        sequence=0,
        method="REQUEST",
        start_utc=START,
        end_utc=END,
        summary="Free consultation with Dr. Anna Weber",
        description="Your free 30-minute consultation.\nJoin link: https://example.test/c/42",
        location="Video call",
        organizer_email="bookings@balance.example",
        organizer_name="Balance",
        attendees=[("client@example.test", "Chris Client"), ("anna@example.test", "Dr. Anna Weber")],
        display_tz="Europe/Berlin",
        now_utc=NOW,
    )
    kwargs.update(overrides)
    return build_ics(**kwargs)


def parse(data: bytes) -> tuple[Calendar, object]:
    calendar = Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def test_returns_bytes_with_crlf_lines():
    data = make()
    assert isinstance(data, bytes)
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert data.rstrip().endswith(b"END:VCALENDAR")
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))  # folded per RFC 5545


def test_request_core_properties():
    calendar, event = parse(make(sequence=3))
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(calendar["VERSION"]) == "2.0"
    assert "PRODID" in calendar
    assert str(event["UID"]) == "consultation-42@balance.example"
    assert int(event["SEQUENCE"]) == 3
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == "Free consultation with Dr. Anna Weber"
    assert str(event["DESCRIPTION"]) == "Your free 30-minute consultation.\nJoin link: https://example.test/c/42"
    assert str(event["LOCATION"]) == "Video call"
    assert event.decoded("DTSTAMP") == NOW


def test_start_end_use_display_tz_and_are_exact_instants():
    data = make()
    _, event = parse(data)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event["DTEND"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("DTSTART").astimezone(UTC) == START
    assert event.decoded("DTEND").astimezone(UTC) == END
    # Wall clock in the display zone (CEST, the day DST starts).
    assert b"DTSTART;TZID=Europe/Berlin:20260329T090000" in data
    assert b"DTEND;TZID=Europe/Berlin:20260329T093000" in data


def test_vtimezone_is_embedded_for_display_tz():
    calendar, _ = parse(make(display_tz="America/New_York"))
    zones = calendar.walk("VTIMEZONE")
    assert [str(z["TZID"]) for z in zones] == ["America/New_York"]
    offsets = {c["TZOFFSETTO"].to_ical() for c in zones[0].walk() if "TZOFFSETTO" in c}
    assert offsets == {"-0400", "-0500"}
    # The embedded rules carry the 2026 transitions (clients that ignore tzdb rely on them).
    assert b"20261101T020000" in zones[0].to_ical()


def test_first_pass_of_fall_back_hour_uses_tzid():
    # 05:30 UTC = 01:30 EDT, the first 01:30 on 2026-11-01: RFC 5545 reads TZID time as this one.
    start = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    data = make(display_tz="America/New_York", start_utc=start, end_utc=start + timedelta(minutes=30))
    _, event = parse(data)
    assert b"DTSTART;TZID=America/New_York:20261101T013000" in data
    assert event.decoded("DTSTART").astimezone(UTC) == start


def test_second_pass_of_fall_back_hour_is_written_in_utc():
    # 06:30 UTC = 01:30 EST, the repeated 01:30: as TZID local time it would mean 05:30 UTC.
    start = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    data = make(display_tz="America/New_York", start_utc=start, end_utc=start + timedelta(minutes=30))
    _, event = parse(data)
    assert b"DTSTART:20261101T063000Z" in data
    assert b"DTEND;TZID=America/New_York:20261101T020000" in data  # 02:00 EST is unambiguous
    assert event.decoded("DTSTART").astimezone(UTC) == start
    assert event.decoded("DTEND").astimezone(UTC) == start + timedelta(minutes=30)


def test_vtimezone_precedes_event():
    data = make()
    assert data.index(b"BEGIN:VTIMEZONE") < data.index(b"BEGIN:VEVENT")


@pytest.mark.parametrize("tz", ["Asia/Tokyo", "Asia/Kolkata", "Australia/Lord_Howe", "America/St_Johns"])
def test_other_zones_round_trip(tz):
    _, event = parse(make(display_tz=tz))
    assert event["DTSTART"].params["TZID"] == tz
    assert event.decoded("DTSTART").astimezone(UTC) == START
    assert event.decoded("DTEND").astimezone(UTC) == END


def test_utc_display_zone_uses_z_form():
    data = make(display_tz="UTC")
    _, event = parse(data)
    assert b"DTSTART:20260329T070000Z" in data
    assert event.decoded("DTSTART") == START


def test_non_utc_aware_input_is_the_same_instant():
    berlin_start = START.astimezone(ZoneInfo("Europe/Berlin"))
    _, event = parse(
        make(start_utc=berlin_start, end_utc=berlin_start + timedelta(minutes=30), display_tz="Asia/Tokyo")
    )
    assert event.decoded("DTSTART").astimezone(UTC) == START


def test_attendees_and_organizer():
    _, event = parse(make())
    attendees = event["ATTENDEE"]
    assert [str(a) for a in attendees] == ["mailto:client@example.test", "mailto:anna@example.test"]
    assert [a.params["CN"] for a in attendees] == ["Chris Client", "Dr. Anna Weber"]
    assert all(a.params["RSVP"] == "FALSE" and a.params["PARTSTAT"] == "ACCEPTED" for a in attendees)
    assert str(event["ORGANIZER"]) == "mailto:bookings@balance.example"
    assert event["ORGANIZER"].params["CN"] == "Balance"


def test_single_attendee_and_no_location():
    _, event = parse(make(attendees=[("client@example.test", "Chris")], location=None))
    assert str(event["ATTENDEE"]) == "mailto:client@example.test"
    assert "LOCATION" not in event


def test_cancel_sets_cancelled_status():
    calendar, event = parse(make(method="CANCEL", sequence=1))
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1
    assert str(event["UID"]) == "consultation-42@balance.example"
    assert all(a.params["RSVP"] == "FALSE" for a in event["ATTENDEE"])


def test_cancel_overrides_explicit_status():
    _, event = parse(make(method="CANCEL", status="CONFIRMED"))
    assert str(event["STATUS"]) == "CANCELLED"


def test_tentative_status_for_request():
    _, event = parse(make(status="TENTATIVE"))
    assert str(event["STATUS"]) == "TENTATIVE"


def test_text_is_escaped_and_round_trips():
    nasty = "Line one\nBEGIN:VEVENT; a, b \\ c"
    data = make(summary=nasty, description=nasty, location=nasty)
    calendar, event = parse(data)  # still exactly one VEVENT
    assert str(event["SUMMARY"]) == nasty
    assert str(event["DESCRIPTION"]) == nasty
    assert str(event["LOCATION"]) == nasty
    assert data.count(b"\r\nBEGIN:VEVENT\r\n") == 1  # the text stays inside its property line


def test_display_names_are_made_client_safe():
    _, event = parse(make(attendees=[("client@example.test", 'Chris "CJ"\r\nX-INJECT:1 ^')]))
    assert event["ATTENDEE"].params["CN"] == "Chris 'CJ' X-INJECT:1"
    assert "X-INJECT" not in event


def test_dtstamp_defaults_to_now():
    before = datetime.now(UTC).replace(microsecond=0)
    _, event = parse(make(now_utc=None))
    assert before - timedelta(seconds=1) <= event.decoded("DTSTAMP") <= datetime.now(UTC) + timedelta(seconds=1)


def test_uid_is_stable_across_calls():
    first = make(sequence=0)
    second = make(sequence=1, start_utc=START + timedelta(days=1), end_utc=END + timedelta(days=1))
    assert parse(first)[1]["UID"] == parse(second)[1]["UID"]
    assert make() == make()  # deterministic with injected now


@pytest.mark.parametrize(
    "overrides",
    [
        {"method": "PUBLISH"},
        {"status": "MAYBE"},
        {"display_tz": "Mars/Base"},
        {"display_tz": ""},
        {"start_utc": datetime(2026, 3, 29, 7)},
        {"end_utc": datetime(2026, 3, 29, 7, 30)},
        {"now_utc": datetime(2026, 3, 1)},
        {"end_utc": START},
        {"end_utc": START - timedelta(minutes=1)},
        {"sequence": -1},
        {"uid": ""},
        {"organizer_email": "bookings@balance.example\r\nX-EVIL:1"},
        {"attendees": [("not-an-email", "X")]},
        {"attendees": [("a@b.test;RSVP=FALSE", "X")]},
    ],
)
def test_invalid_input_raises(overrides):
    with pytest.raises(ValueError):
        make(**overrides)
