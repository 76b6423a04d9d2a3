"""Calendar feeds in (issue 16, item 3): a specialist's other calendars, read from a real local HTTP
server, block exactly their busy times — a weekly RRULE with an EXDATE across the end of summer
time in Europe/Berlin — in the slot engine every page and the booking check use; a feed that times
out or returns garbage changes nothing and the specialist is told; bad addresses are refused with
a clear message; only the owner can remove a feed. Service level on SQLite and PostgreSQL
(``app``), and one flow through the availability page with CSRF."""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from marketplace.account.services import delete_account, export_user_data
from marketplace.consultations.availability import (
    bookable_slots,
    compute_snapshots,
    load_booking_calendar,
    load_calendar,
    set_weekly_hours,
)
from marketplace.consultations.external_calendars import (
    CalendarUrlError,
    add_external_calendar,
    calendars_due,
    read_due_external_calendars,
    refresh_external_calendar,
)
from marketplace.consultations.ical_reading import CalendarReadError, fetch_calendar
from marketplace.consultations.models import ExternalBusyTime, ExternalCalendar, SchedulingSettings
from marketplace.encryption import encrypt_text
from marketplace.extensions import db
from tests.calendar_server import calendar_server, dripping_server, silent_server
from tests.factories import PASSWORD
from tests.integration.test_consultations import login, open_all_week

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 10, 11, 6, 0, tzinfo=timezone.utc)  # a Monday; summer time ends Sunday 31 October
WEDNESDAYS_BLOCKED = [(2027, 10, 13), (2027, 10, 20), (2027, 11, 3), (2027, 11, 10), (2027, 11, 17)]
EXCLUDED = (2027, 10, 27)

# A weekly supervision on Wednesdays 10:00–11:00 Berlin time, from 13 October to 17 November, but
# not on 27 October (EXDATE); a "free" event and a cancelled one that must not block.
FEED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Other calendar//Test//EN
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:supervision@other.example
DTSTAMP:20271001T000000Z
DTSTART;TZID=Europe/Berlin:20271013T100000
DTEND;TZID=Europe/Berlin:20271013T110000
RRULE:FREQ=WEEKLY;UNTIL=20271118T000000Z
EXDATE;TZID=Europe/Berlin:20271027T100000
SUMMARY:Supervision
END:VEVENT
BEGIN:VEVENT
UID:lunch@other.example
DTSTAMP:20271001T000000Z
DTSTART;TZID=Europe/Berlin:20271027T090000
DTEND;TZID=Europe/Berlin:20271027T100000
TRANSP:TRANSPARENT
SUMMARY:Maybe coffee
END:VEVENT
BEGIN:VEVENT
UID:cancelled@other.example
DTSTAMP:20271001T000000Z
DTSTART;TZID=Europe/Berlin:20271124T090000
DTEND;TZID=Europe/Berlin:20271124T120000
STATUS:CANCELLED
SUMMARY:Called off
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")
SECRET_PATH = "/calendar/private-8f3a1c9e77d24b1e/basic.ics"


def local(day: tuple[int, int, int], hour: int, minute: int = 0) -> datetime:
    return datetime(*day, hour, minute, tzinfo=BERLIN).astimezone(timezone.utc)


def free(profile) -> set[datetime]:
    return set(load_calendar(profile, NOW).free_slots(NOW))


@pytest.fixture
def specialist(app, make_specialist):
    """Berlin, Wednesdays 09:00–12:00, bookable 60 days ahead (from NOW)."""
    profile = make_specialist(timezone="Europe/Berlin")
    set_weekly_hours(profile.id, [(2, "09:00", "12:00")])
    db.session.add(SchedulingSettings(specialist_id=profile.id, horizon_days=60))
    db.session.commit()
    return profile


@pytest.fixture
def server():
    with calendar_server() as running:
        yield running


def add_and_read(profile, url: str) -> ExternalCalendar:
    calendar = add_external_calendar(profile, url)
    db.session.commit()
    assert refresh_external_calendar(calendar.id, now=NOW) is True
    db.session.commit()
    return db.session.get(ExternalCalendar, calendar.id)


def busy_rows() -> list[tuple[datetime, datetime]]:
    return list(db.session.execute(select(ExternalBusyTime.start_utc, ExternalBusyTime.end_utc)
                                   .order_by(ExternalBusyTime.start_utc)).all())


def test_weekly_rule_with_exdate_across_the_dst_change_blocks_exactly_those_times(specialist, server):
    before = free(specialist)
    assert local(EXCLUDED, 10) in before

    calendar = add_and_read(specialist, server.serve(SECRET_PATH, FEED))

    blocked = {local(day, hour, minute) for day in WEDNESDAYS_BLOCKED for hour, minute in ((10, 0), (10, 30))}
    after = free(specialist)
    assert before - after == blocked
    assert after <= before
    # 10:00 Berlin is 08:00 UTC in summer time and 09:00 UTC after 31 October.
    assert local((2027, 10, 20), 10) == datetime(2027, 10, 20, 8, 0, tzinfo=timezone.utc)
    assert local((2027, 11, 3), 10) == datetime(2027, 11, 3, 9, 0, tzinfo=timezone.utc)
    # The excluded date, the "free" event and the cancelled one leave their times free.
    assert {local(EXCLUDED, 10), local(EXCLUDED, 10, 30), local(EXCLUDED, 9)} <= after
    assert {local((2027, 11, 24), 9), local((2027, 11, 24), 11, 30)} <= after
    assert calendar.busy_count == 5 and calendar.error is None and calendar.last_success_at == NOW

    # The booking check, the snapshot pages read and the directory's "next free" agree.
    booking = load_booking_calendar(specialist, NOW)
    assert booking.slot_problem(local((2027, 11, 3), 10), NOW) == "taken"
    assert booking.slot_problem(local(EXCLUDED, 10), NOW) is None
    (snapshot,) = compute_snapshots([specialist.id], NOW)
    assert set(snapshot.slots) == after
    assert snapshot.next_available_at == min(after)


def test_reading_again_stores_the_same_times_once(specialist, server):
    calendar = add_and_read(specialist, server.serve(SECRET_PATH, FEED))
    rows, ids = busy_rows(), set(db.session.scalars(select(ExternalBusyTime.id)))
    assert refresh_external_calendar(calendar.id, now=NOW + timedelta(minutes=15)) is True
    db.session.commit()
    assert busy_rows() == rows and len(rows) == 5
    assert set(db.session.scalars(select(ExternalBusyTime.id))) == ids  # unchanged: not rewritten


@pytest.mark.parametrize("failure", ["garbage", "http_error", "too_big"])
def test_a_failing_feed_keeps_the_last_good_busy_times_and_records_why(app, specialist, server, failure):
    calendar = add_and_read(specialist, server.serve(SECRET_PATH, FEED))
    good, rows = free(specialist), busy_rows()

    if failure == "garbage":
        server.serve(SECRET_PATH, "<html><body>Sign in to see this calendar</body></html>",
                     **{"Content-Type": "text/html"})
        reason = "does not return a calendar in iCal format"
    elif failure == "http_error":
        server.serve(SECRET_PATH, "gone", status=404)
        reason = "HTTP status 404"
    else:
        app.config["EXTERNAL_CALENDARS_MAX_BYTES"] = 1024
        server.serve(SECRET_PATH, FEED + " " * 2048)
        reason = "larger than 1 KB"
    later = NOW + timedelta(minutes=15)
    assert refresh_external_calendar(calendar.id, now=later) is False
    db.session.commit()

    assert free(specialist) == good and busy_rows() == rows
    db.session.refresh(calendar)
    assert reason in calendar.error
    assert calendar.failing_since == later and calendar.last_success_at == NOW
    # A second failure keeps "since" at the first.
    assert refresh_external_calendar(calendar.id, now=later + timedelta(minutes=15)) is False
    db.session.commit()
    db.session.refresh(calendar)
    assert calendar.failing_since == later


@pytest.mark.config(EXTERNAL_CALENDARS_TIMEOUT=0.5)
def test_a_feed_that_never_answers_times_out_and_the_specialist_is_told(specialist, server, client):
    calendar = add_and_read(specialist, server.serve(SECRET_PATH, FEED))
    good = free(specialist)
    with silent_server() as silent:
        db.session.execute(update(ExternalCalendar).where(ExternalCalendar.id == calendar.id)
                           .values(url_encrypted=encrypt_text(f"{silent}/never.ics")))
        db.session.commit()
        started = datetime.now(timezone.utc)
        assert refresh_external_calendar(calendar.id, now=NOW + timedelta(minutes=15)) is False
        db.session.commit()
        assert datetime.now(timezone.utc) - started < timedelta(seconds=5)
    assert free(specialist) == good

    login(client, specialist.user)
    page = client.get("/specialists/me/availability").get_data(as_text=True)
    assert "We could not read this calendar since" in page
    assert "the server did not answer in time" in page
    assert "still block your free times" in page


def test_a_download_stops_at_the_deadline_even_when_bytes_keep_coming():
    """A server that answers but never finishes: the whole download is bounded, not only each read."""
    with dripping_server(interval=0.05) as dripping:
        started = datetime.now(timezone.utc)
        with pytest.raises(CalendarReadError, match="did not answer in time"):
            fetch_calendar(f"{dripping}/x.ics", timeout=0.3, max_bytes=1 << 20, allow_private=True)
        assert datetime.now(timezone.utc) - started < timedelta(seconds=3)


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://calendar.example.org/me.ics", "Use a web address starting with https://"),
    ("javascript:alert(1)", "Use a web address starting with https://"),
    ("file:///etc/passwd", "Use a web address starting with https://"),
    ("http://10.0.0.7/cal.ics", "points to a private network"),
    ("http://127.0.0.1:8080/cal.ics", "points to a private network"),
    ("http://[::1]/cal.ics", "points to a private network"),
    ("http://169.254.169.254/latest/meta-data", "points to a private network"),
    ("http://localhost/cal.ics", "points to a private network"),
    ("https://user:secret@calendar.example.org/me.ics", "without a user name or password"),
    ("", "Enter your calendar's address."),
])
@pytest.mark.config(EXTERNAL_CALENDARS_ALLOW_PRIVATE=False)
def test_unusable_addresses_are_refused_with_a_clear_message(specialist, url, message):
    with pytest.raises(CalendarUrlError, match=re.escape(message)) as refused:
        add_external_calendar(specialist, url)
    assert refused.value.field == "url"
    assert db.session.scalar(select(func.count(ExternalCalendar.id))) == 0


@pytest.mark.config(EXTERNAL_CALENDARS_ALLOW_PRIVATE=False)
def test_production_refuses_a_host_that_resolves_to_a_private_address_when_reading(server):
    with pytest.raises(CalendarReadError, match="points to a private network"):
        fetch_calendar(server.serve(SECRET_PATH, FEED).replace("127.0.0.1", "localhost"),
                       timeout=2, max_bytes=1 << 20, allow_private=False)
    assert server.requests == []


def test_the_same_address_twice_and_more_than_five_are_refused(specialist, server):
    add_external_calendar(specialist, server.serve("/a.ics", FEED))
    with pytest.raises(CalendarUrlError, match="already added"):
        add_external_calendar(specialist, server.url("/a.ics"))
    for n in range(4):
        add_external_calendar(specialist, server.url(f"/more-{n}.ics"))
    with pytest.raises(CalendarUrlError, match="up to 5 calendars"):
        add_external_calendar(specialist, server.url("/sixth.ics"))


def test_due_calendars_are_those_not_read_for_fifteen_minutes(specialist, server):
    calendar = add_and_read(specialist, server.serve(SECRET_PATH, FEED))
    fresh = add_external_calendar(specialist, server.url("/new.ics"))
    db.session.commit()
    assert calendars_due(NOW + timedelta(minutes=5)) == [fresh.id]
    assert calendars_due(NOW + timedelta(minutes=15)) == [fresh.id, calendar.id]


def test_the_periodic_job_reads_due_calendars_and_the_pages_follow(app, make_specialist, server):
    """Through the job queue as a worker runs it: the periodic job queues a read of each due
    calendar, the read replaces the busy times and refreshes the snapshot the pages show."""
    profile = make_specialist(timezone="Europe/Berlin")
    open_all_week(profile)
    blocked = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    assert {blocked, blocked + timedelta(minutes=30)} <= set(bookable_slots(profile))
    calendar = add_external_calendar(profile, server.serve("/two-days.ics", feed_with_one_event_tomorrow(days=2)))
    db.session.commit()

    assert read_due_external_calendars() == 1
    db.session.expire_all()
    assert db.session.get(ExternalCalendar, calendar.id).busy_count == 1
    shown = set(bookable_slots(profile))
    assert blocked not in shown and blocked + timedelta(minutes=30) not in shown
    assert blocked - timedelta(minutes=30) in shown and blocked + timedelta(hours=1) in shown
    assert read_due_external_calendars() == 0  # read just now: not due again for 15 minutes


def test_export_has_the_feeds_and_deleting_the_account_removes_them(specialist, server):
    add_and_read(specialist, server.serve(SECRET_PATH, FEED))
    exported = export_user_data(specialist.user)["external_calendars"]
    assert [c["url"] for c in exported] == [server.url(SECRET_PATH)]
    assert len(exported[0]["busy_times"]) == 5

    delete_account(specialist.user, PASSWORD)
    db.session.commit()
    assert db.session.scalar(select(func.count(ExternalCalendar.id))) == 0
    assert db.session.scalar(select(func.count(ExternalBusyTime.id))) == 0


# --- through the availability page -------------------------------------------------------------------

def feed_with_one_event_tomorrow(days: int = 1) -> str:
    """One event 10:00–11:00 UTC ``days`` from today (real time: for the jobs, which read now)."""
    start = (datetime.now(timezone.utc) + timedelta(days=days)).strftime("%Y%m%dT100000Z")
    end = start.replace("T100000Z", "T110000Z")
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:x@other.example\r\n"
            f"DTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_add_and_remove_through_the_page_with_csrf(specialist, server, client, caplog):
    caplog.set_level(logging.DEBUG)
    url = server.serve(SECRET_PATH, feed_with_one_event_tomorrow())
    login_page = client.get("/auth/login").get_data(as_text=True)
    client.post("/auth/login", data={"email": specialist.user.email, "password": PASSWORD,
                                     "csrf_token": CSRF.search(login_page).group(1)})
    page = client.get("/specialists/me/availability").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    assert client.post("/specialists/me/availability/calendars", data={"url": url}).status_code == 400
    assert db.session.scalar(select(func.count(ExternalCalendar.id))) == 0

    response = client.post("/specialists/me/availability/calendars", data={"url": url, "csrf_token": token},
                           follow_redirects=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "Calendar added." in text
    assert "Calendar on 127.0.0.1" in text and "1 busy time." in text  # read right after the commit
    assert "private-8f3a1c9e77d24b1e" not in text  # the address is a secret: only its host is shown
    assert server.requests == [SECRET_PATH]
    calendar_id = db.session.scalar(select(ExternalCalendar.id))

    remove = f"/specialists/me/availability/calendars/{calendar_id}/delete"
    assert client.post(remove).status_code == 400  # no CSRF token
    response = client.post(remove, data={"csrf_token": token}, follow_redirects=True)
    assert "Calendar removed." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ExternalCalendar.id))) == 0
    assert busy_rows() == []
    assert not [r for r in caplog.records if "private-8f3a1c9e77d24b1e" in r.getMessage()]


@pytest.mark.config(EXTERNAL_CALENDARS_ALLOW_PRIVATE=False)
def test_a_refused_address_is_shown_next_to_the_field(specialist, client):
    login(client, specialist.user)
    for url, message in [("ftp://calendar.example.org/me.ics", "Use a web address starting with https://"),
                         ("http://192.168.1.20/me.ics", "points to a private network")]:
        response = client.post("/specialists/me/availability/calendars", data={"url": url})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ExternalCalendar.id))) == 0


def test_another_specialist_cannot_remove_a_feed(specialist, make_specialist, server, client):
    calendar = add_and_read(specialist, server.serve(SECRET_PATH, FEED))
    other = make_specialist()
    login(client, other.user)
    assert client.post(f"/specialists/me/availability/calendars/{calendar.id}/delete").status_code == 404
    assert db.session.get(ExternalCalendar, calendar.id) is not None and len(busy_rows()) == 5
    page = client.get("/specialists/me/availability").get_data(as_text=True)
    assert "Calendar on 127.0.0.1" not in page
