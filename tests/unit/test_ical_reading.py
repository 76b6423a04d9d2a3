"""Reading other calendars (pure parts): which addresses are accepted, and which events block."""
from __future__ import annotations

import ipaddress
from datetime import datetime, timezone

import pytest

from marketplace.consultations.ical_reading import (
    CalendarReadError,
    CalendarUrlError,
    busy_intervals,
    check_calendar_url,
    is_public_address,
    merge_intervals,
    parse_calendar,
    url_host,
)

UTC = timezone.utc
START, END = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)


def calendar(*events: str, extra: str = "") -> bytes:
    body = "".join(f"BEGIN:VEVENT\nUID:{n}@other.example\nDTSTAMP:20270101T000000Z\n{e.strip()}\nEND:VEVENT\n"
                   for n, e in enumerate(events))
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\n{extra}{body}END:VCALENDAR\n".replace("\n", "\r\n").encode()


def spans(data: bytes, zone: str = "Europe/Berlin", **kwargs) -> list[tuple[str, str]]:
    return [(a.strftime("%m-%d %H:%M"), b.strftime("%m-%d %H:%M"))
            for a, b in busy_intervals(data, zone, START, END, **kwargs)]


@pytest.mark.parametrize("url", ["https://calendar.google.com/calendar/ical/x/private-y/basic.ics",
                                 "http://cal.example.org:8443/feed?user=1", "HTTPS://Cal.Example.org/a.ics"])
def test_web_addresses_are_accepted(url):
    assert check_calendar_url(f"  {url} ", allow_private=False) == url


def test_webcal_is_read_as_https_and_only_the_host_is_shown():
    url = check_calendar_url("webcal://p42-caldav.icloud.com/published/2/secret", allow_private=False)
    assert url == "https://p42-caldav.icloud.com/published/2/secret"
    assert url_host(url) == "p42-caldav.icloud.com"


@pytest.mark.parametrize(("url", "code"), [
    ("ftp://example.org/a.ics", "calendar_url_scheme"), ("javascript:alert(1)", "calendar_url_scheme"),
    ("data:text/calendar,BEGIN", "calendar_url_scheme"), ("calendar.example.org/a.ics", "calendar_url_scheme"),
    ("http://10.1.2.3/a.ics", "calendar_url_private"), ("http://172.16.0.1/", "calendar_url_private"),
    ("http://[fd00::1]/", "calendar_url_private"), ("http://[::ffff:127.0.0.1]/", "calendar_url_private"),
    ("http://100.64.0.1/", "calendar_url_private"), ("http://0.0.0.0/", "calendar_url_private"),
    ("http://printer.local/", "calendar_url_private"), ("http://app.localhost/", "calendar_url_private"),
    ("http://[::1", "calendar_url"), ("http:///a.ics", "calendar_url"), ("http://ex ample.org/", "calendar_url"),
    ("https://example.org/" + "a" * 2000, "calendar_url"),
])
def test_unusable_addresses_are_refused(url, code):
    with pytest.raises(CalendarUrlError) as refused:
        check_calendar_url(url, allow_private=False)
    assert refused.value.code == code and refused.value.field == "url"


def test_private_addresses_are_allowed_where_configured():
    assert check_calendar_url("http://127.0.0.1:8000/a.ics", allow_private=True) == "http://127.0.0.1:8000/a.ics"


@pytest.mark.parametrize(("ip", "public"), [("8.8.8.8", True), ("2a00:1450::1", True), ("127.0.0.1", False),
                                            ("192.168.0.1", False), ("169.254.169.254", False), ("::1", False),
                                            ("fe80::1", False), ("224.0.0.1", False), ("240.0.0.1", False),
                                            ("::ffff:10.0.0.1", False)])
def test_public_addresses(ip, public):
    assert is_public_address(ipaddress.ip_address(ip)) is public


@pytest.mark.parametrize("data", [b"", b"<html>Sign in</html>", b"BEGIN:VCALENDAR\r\nthis is not", b"\x00\xff" * 50,
                                  b"BEGIN:VEVENT\r\nEND:VEVENT\r\n"])
def test_anything_but_a_calendar_is_refused(data):
    with pytest.raises(CalendarReadError, match="does not return a calendar"):
        parse_calendar(data)


def test_all_day_and_floating_events_are_read_in_the_specialists_zone():
    data = calendar("DTSTART;VALUE=DATE:20270115", "DTSTART:20270120T090000\nDTEND:20270120T100000")
    assert spans(data) == [("01-14 23:00", "01-15 23:00"), ("01-20 08:00", "01-20 09:00")]
    assert spans(data, "America/New_York")[0] == ("01-15 05:00", "01-16 05:00")


def test_duration_rdate_and_a_moved_occurrence():
    data = calendar("DTSTART:20270104T080000Z\nDURATION:PT90M\nRRULE:FREQ=DAILY;COUNT=3\nRDATE:20270110T080000Z",
                    "RECURRENCE-ID:20270105T080000Z\nDTSTART:20270105T150000Z\nDTEND:20270105T160000Z")
    # The moved occurrence shares the series' UID in a real calendar:
    data = data.replace(b"UID:1@other.example", b"UID:0@other.example")
    assert spans(data) == [("01-04 08:00", "01-04 09:30"), ("01-05 15:00", "01-05 16:00"),
                           ("01-06 08:00", "01-06 09:30"), ("01-10 08:00", "01-10 09:30")]


def test_free_cancelled_and_our_own_events_do_not_block():
    data = calendar("DTSTART:20270104T080000Z\nDTEND:20270104T090000Z\nTRANSP:TRANSPARENT",
                    "DTSTART:20270105T080000Z\nDTEND:20270105T090000Z\nSTATUS:CANCELLED",
                    "DTSTART:20270106T080000Z\nDTEND:20270106T090000Z\nTRANSP:OPAQUE")
    assert spans(data) == [("01-06 08:00", "01-06 09:00")]
    ours = data.replace(b"UID:2@other.example", b"UID:consultation-7@balance.example")
    assert spans(ours, skip_uid_suffix="@balance.example") == []


def test_overlapping_events_are_merged_and_events_outside_the_window_left_out():
    data = calendar("DTSTART:20270104T080000Z\nDTEND:20270104T100000Z",
                    "DTSTART:20270104T093000Z\nDTEND:20270104T110000Z",
                    "DTSTART:20270104T110000Z\nDTEND:20270104T113000Z",
                    "DTSTART:20260104T080000Z\nDTEND:20260104T090000Z")
    assert spans(data) == [("01-04 08:00", "01-04 11:30")]


def test_rules_repeating_every_minute_are_refused():
    with pytest.raises(CalendarReadError, match="every minute or second"):
        parse_calendar(calendar("DTSTART:20270104T080000Z\nDTEND:20270104T080100Z\nRRULE:FREQ=MINUTELY"))


def test_merge_intervals():
    a, b, c = (datetime(2027, 1, 1, h, tzinfo=UTC) for h in (1, 2, 3))
    assert merge_intervals([(b, c), (a, b)]) == [(a, c)]
    assert merge_intervals([]) == []
