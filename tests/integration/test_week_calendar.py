"""The week calendar (``/specialists/me/calendar``) and the client's agenda (``/consultations/agenda``),
issue 16 item 1: the service ``week_calendar`` on SQLite and PostgreSQL (states, free times from the
precomputed availability, days off, daylight-saving weeks, ownership, a fixed number of statements),
then the pages over HTTP."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from marketplace.auth.models import Role
from marketplace.consultations.availability import add_date_override, refresh_next_available, set_weekly_hours
from marketplace.consultations.models import (
    Consultation,
    ConsultationKind,
    ConsultationState,
    ExternalBusyTime,
    ExternalCalendar,
)
from marketplace.consultations.week_calendar import BAD_WEEK, EXTERNAL_BUSY_LABEL, week_calendar
from marketplace.encryption import encrypt_text
from marketplace.extensions import db

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"
# "Now" for the service tests: Monday 1 March 2027, 09:00 in Berlin. Berlin's clocks go forward on
# Sunday 28 March 2027 (02:00 → 03:00) and back on Sunday 31 October 2027 (03:00 → 02:00).
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
SPRING_WEEK, AUTUMN_WEEK = date(2027, 3, 22), date(2027, 10, 25)


def local(day: date, hour: int, minute: int = 0, zone: str = BERLIN) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def book(client, profile, start, *, state=ConsultationState.CONFIRMED, kind=ConsultationKind.FREE, minutes=30):
    consultation = Consultation(client_id=client.id, specialist_id=profile.id, kind=kind, state=state,
                                start_utc=start, end_utc=start + timedelta(minutes=minutes), format="video",
                                sequence=0, price_minor=9000 if kind is ConsultationKind.PAID else None,
                                currency="EUR" if kind is ConsultationKind.PAID else None)
    db.session.add(consultation)
    db.session.commit()
    return consultation


@pytest.fixture
def practice(make_specialist, make_user):
    """Dr Week (Berlin, hours Mon–Sun 09:00–12:00) with four clients' consultations in the week of
    8 March 2027, and Dr Other with one of their own that week."""
    profile = make_specialist(display_name="Dr Week")
    other = make_specialist(display_name="Dr Other")
    set_weekly_hours(profile.id, [(day, "09:00", "12:00") for day in range(7)])
    db.session.commit()
    week = date(2027, 3, 8)
    people = {name: make_user(Role.CLIENT, display_name=name) for name in ("Ann", "Ben", "Cleo", "Dan", "Eve")}
    made = {
        "requested": book(people["Ann"], profile, local(week, 9), state=ConsultationState.REQUESTED),
        "confirmed": book(people["Ben"], profile, local(week + timedelta(days=1), 10)),
        "paid": book(people["Ben"], profile, local(week + timedelta(days=1), 11), kind=ConsultationKind.PAID,
                     minutes=50),
        "cancelled": book(people["Cleo"], profile, local(week + timedelta(days=2), 9),
                          state=ConsultationState.CANCELLED),
        "expired": book(people["Dan"], profile, local(week + timedelta(days=3), 9), state=ConsultationState.EXPIRED),
        "elsewhere": book(people["Eve"], other, local(week + timedelta(days=2), 10)),
    }
    add_date_override(profile, week + timedelta(days=4), "off", today=NOW.date())  # Friday 12 March: day off
    refresh_next_available([profile.id, other.id], now=NOW)
    db.session.commit()
    return dict(profile=profile, other=other, week=week, people=people, **made)


def by_day(calendar):
    return {d.day: d for d in calendar.days}


def test_specialist_week_shows_states_free_times_and_days_off(app, practice):
    profile, week = practice["profile"], practice["week"]
    calendar = week_calendar(profile.user, BERLIN, week.isoformat(), now=NOW)
    assert calendar.start == week and calendar.zone == BERLIN and calendar.role == "specialist"
    assert calendar.notice is None and calendar.shows_free_times
    shown = {e.id: e for e in calendar.events}
    # Every state but an expired request, each labelled; another specialist's never.
    assert set(shown) == {practice[k].id for k in ("requested", "confirmed", "paid", "cancelled")}
    assert {shown[practice[k].id].status_label for k in ("requested", "confirmed", "cancelled")} == {
        "Requested", "Confirmed", "Cancelled"}
    assert shown[practice["paid"].id].kind_label == "Paid session"
    assert shown[practice["requested"].id].with_name == "Ann"

    days = by_day(calendar)
    monday = days[week]
    assert [(e.kind, e.start.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M"),
             e.end.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M")) for e in monday.entries] == [
        ("consultation", "09:00", "09:30"), ("free", "09:30", "12:00")]  # back-to-back slots in one stretch
    tuesday = days[week + timedelta(days=1)]
    assert [(e.kind, e.start.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M")) for e in tuesday.entries] == [
        ("free", "09:00"), ("consultation", "10:00"), ("free", "10:30"), ("consultation", "11:00")]
    friday = days[week + timedelta(days=4)]
    assert [(e.kind, e.label, e.all_day) for e in friday.entries] == [("blocked", "Day off", True)]
    # The cancelled consultation gave its time back: the day is free again around it.
    wednesday = days[week + timedelta(days=2)]
    assert [e.kind for e in wednesday.entries] == ["consultation", "free"]
    assert wednesday.entries[1].start == local(week + timedelta(days=2), 9)


def test_a_booking_not_yet_in_the_snapshot_is_never_shown_as_free(app, practice, make_user):
    profile, week = practice["profile"], practice["week"]
    thursday = week + timedelta(days=3)
    fresh = book(make_user(Role.CLIENT), profile, local(thursday, 10, 15), minutes=30)  # snapshot not refreshed
    calendar = week_calendar(profile.user, BERLIN, week.isoformat(), now=NOW)
    day = by_day(calendar)[thursday]
    assert [(e.kind, e.start.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M"),
             e.end.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M")) for e in day.entries] == [
        ("free", "09:00", "10:00"), ("consultation", "10:15", "10:45"), ("free", "11:00", "12:00")]
    assert day.events[0].id == fresh.id


def test_the_other_specialist_sees_only_their_own(app, practice):
    calendar = week_calendar(practice["other"].user, BERLIN, practice["week"].isoformat(), now=NOW)
    assert [e.id for e in calendar.events] == [practice["elsewhere"].id]
    assert not [e for d in calendar.days for e in d.entries if e.kind == "blocked"]


def test_a_client_sees_only_their_own_consultations_in_their_zone(app, practice):
    ben = practice["people"]["Ben"]
    calendar = week_calendar(ben, NEW_YORK, practice["week"].isoformat(), now=NOW)
    assert calendar.role == "client" and calendar.zone == NEW_YORK
    assert [e.id for e in calendar.events] == [practice["confirmed"].id, practice["paid"].id]
    assert all(e.kind == "consultation" for d in calendar.days for e in d.entries)  # no one's free times
    tuesday = by_day(calendar)[practice["week"] + timedelta(days=1)]
    # 10:00 in Berlin is 04:00 in New York (CET UTC+1, EST UTC-5).
    assert tuesday.entries[0].start.astimezone(ZoneInfo(NEW_YORK)).strftime("%H:%M") == "04:00"
    assert tuesday.events[0].with_name == "Dr Week"
    eves = week_calendar(practice["people"]["Eve"], BERLIN, practice["week"].isoformat(), now=NOW)
    assert [e.id for e in eves.events] == [practice["elsewhere"].id]


def test_spring_forward_week_has_a_23_hour_sunday(app, practice, make_user):
    profile, ann = practice["profile"], make_user(Role.CLIENT, display_name="Fay")
    sunday = SPRING_WEEK + timedelta(days=6)  # 28 March 2027
    before = book(ann, profile, local(sunday - timedelta(days=1), 10))  # Saturday 10:00 CET = 09:00 UTC
    after = book(make_user(Role.CLIENT, display_name="Gus"), profile, local(sunday, 10))  # Sunday 10:00 CEST = 08:00 UTC
    assert before.start_utc.hour == 9 and after.start_utc.hour == 8
    refresh_next_available([profile.id], now=NOW)
    db.session.commit()
    calendar = week_calendar(profile.user, BERLIN, "2027-03-24", now=NOW)  # any day of the week
    assert calendar.start == SPRING_WEEK
    days = by_day(calendar)
    assert [d.hours for d in calendar.days] == [24, 24, 24, 24, 24, 24, 23]
    assert days[sunday].clock_change == "forward" and days[sunday - timedelta(days=1)].clock_change is None
    for day, consultation in ((sunday - timedelta(days=1), before), (sunday, after)):
        event = next(e for e in days[day].entries if e.event is not None)
        assert event.event.id == consultation.id
        assert event.start.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M") == "10:00"
    # Free times on both sides of the change keep the local hours (the snapshot, computed at NOW).
    free = [e for e in days[sunday].entries if e.kind == "free"]
    assert [(e.start.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M"), e.end.astimezone(ZoneInfo(BERLIN))
             .strftime("%H:%M")) for e in free] == [("09:00", "10:00"), ("10:30", "12:00")]


def test_fall_back_week_has_a_25_hour_sunday_and_a_night_consultation_is_cut_at_midnight(app, practice, make_user):
    profile, ann = practice["profile"], make_user(Role.CLIENT, display_name="Hal")
    sunday = AUTUMN_WEEK + timedelta(days=6)  # 31 October 2027
    late = book(ann, profile, local(sunday - timedelta(days=1), 23, 40))  # Saturday 23:40 → Sunday 00:10
    calendar = week_calendar(profile.user, BERLIN, AUTUMN_WEEK.isoformat(), now=NOW)
    days = by_day(calendar)
    assert days[sunday].hours == 25 and days[sunday].clock_change == "back"
    saturday_piece = days[sunday - timedelta(days=1)].entries[-1]
    sunday_piece = days[sunday].entries[0]
    assert saturday_piece.event.id == sunday_piece.event.id == late.id
    assert saturday_piece.ends_later and not saturday_piece.starts_earlier
    assert sunday_piece.starts_earlier and sunday_piece.end == late.end_utc
    assert [e.id for e in calendar.events] == [late.id]  # once in the week's list of consultations
    assert not [e for e in days[sunday].entries if e.kind == "free"]  # beyond the 30-day horizon


def test_a_berlin_day_off_is_parts_of_two_new_york_days(app, practice):
    profile = practice["profile"]
    profile.user.timezone = NEW_YORK
    db.session.commit()
    calendar = week_calendar(profile.user, NEW_YORK, practice["week"].isoformat(), now=NOW)
    assert calendar.profile_zone == BERLIN
    blocked = [(d.day, e.start.astimezone(ZoneInfo(NEW_YORK)).strftime("%H:%M"),
                e.end.astimezone(ZoneInfo(NEW_YORK)).strftime("%H:%M"))
               for d in calendar.days for e in d.entries if e.kind == "blocked"]
    thursday, friday = practice["week"] + timedelta(days=3), practice["week"] + timedelta(days=4)
    assert blocked == [(thursday, "18:00", "00:00"), (friday, "00:00", "18:00")]


def test_busy_times_of_other_calendars_are_blocked_time(app, practice):
    """A busy time read from the specialist's other calendar (calendar feeds in) is shown as
    blocked, in the viewer's zone, and no free time is shown over it."""
    profile, week = practice["profile"], practice["week"]
    feed = ExternalCalendar(specialist_id=profile.id, url_encrypted=encrypt_text("https://calendar.example.test/secret.ics"),
                            url_sha256="0" * 64, host="calendar.example.test")
    db.session.add(feed)
    db.session.flush()
    thursday = week + timedelta(days=3)
    db.session.add(ExternalBusyTime(calendar_id=feed.id, specialist_id=profile.id,
                                    start_utc=local(thursday, 10), end_utc=local(thursday, 11)))
    db.session.add(ExternalBusyTime(calendar_id=feed.id, specialist_id=profile.id,  # another week: not shown
                                    start_utc=local(week + timedelta(days=10), 10),
                                    end_utc=local(week + timedelta(days=10), 11)))
    refresh_next_available([profile.id], now=NOW)
    db.session.commit()
    calendar = week_calendar(profile.user, BERLIN, week.isoformat(), now=NOW)
    day = by_day(calendar)[thursday]
    busy = [(e.start, e.end) for e in day.entries if e.kind == "blocked" and e.label == EXTERNAL_BUSY_LABEL]
    assert busy == [(local(thursday, 10), local(thursday, 11))]
    assert sum(e.label == EXTERNAL_BUSY_LABEL for d in calendar.days for e in d.entries) == 1
    free = [(e.start, e.end) for e in day.entries if e.kind == "free"]
    assert free and not any(a < local(thursday, 11) and local(thursday, 10) < b for a, b in free)


@pytest.mark.parametrize(("value", "expected", "notice"), [
    (None, date(2027, 3, 1), None),
    ("", date(2027, 3, 1), None),
    ("2027-03-10", date(2027, 3, 8), None),
    ("2", date(2027, 3, 15), None),
    ("next tuesday", date(2027, 3, 1), BAD_WEEK),
    ("2027-02-30", date(2027, 3, 1), BAD_WEEK),
    ("0001-01-01", date(2027, 3, 1), BAD_WEEK),
    ("9999-12-31", date(2027, 3, 1), BAD_WEEK),
    ("-1", date(2027, 3, 1), BAD_WEEK),
    ("x" * 5000, date(2027, 3, 1), BAD_WEEK),
])
def test_week_parameter(app, practice, value, expected, notice):
    calendar = week_calendar(practice["profile"].user, BERLIN, value, now=NOW)
    assert (calendar.start, calendar.notice) == (expected, notice)
    assert calendar.days[0].is_today == (expected == date(2027, 3, 1))
    assert [d.is_today for d in calendar.days].count(True) == (1 if expected == date(2027, 3, 1) else 0)


def test_fixed_number_of_statements(app, practice, make_user, count_queries):
    profile, week = practice["profile"], practice["week"]
    user = db.session.get(type(profile.user), profile.user_id)

    def measure() -> int:
        db.session.expire_all()
        with count_queries() as counter:
            calendar = week_calendar(user, BERLIN, week.isoformat(), now=NOW)
        assert calendar.events
        # (SQLite's explicit BEGIN is not counted: PostgreSQL begins implicitly)
        return len([s for s in counter.statements if s.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE")])

    few = measure()
    for i in range(12):
        book(make_user(Role.CLIENT), profile, local(week + timedelta(days=i % 7), 13 + i // 7),
             state=(ConsultationState.CANCELLED if i % 3 == 0 else ConsultationState.CONFIRMED))
    assert measure() == few
    # the user and their profile, the consultations and their successors, the snapshot, the days off,
    # the busy times of other calendars
    assert few <= 7


# --- pages ----------------------------------------------------------------------------------------

def test_calendar_page(client, auth, practice):
    auth.login_as(practice["profile"].user)
    page = client.get(f"/specialists/me/calendar?week={practice['week'].isoformat()}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Your calendar</h1>" in html and BERLIN in html
    for key in ("requested", "confirmed", "paid", "cancelled"):
        assert f'href="/consultations/{practice[key].id}"' in html
    assert f'href="/consultations/{practice["elsewhere"].id}"' not in html
    assert f'href="/consultations/{practice["expired"].id}"' not in html
    assert "Day off" in html and ">Requested<" in html and ">Cancelled<" in html and "Paid session" in html
    assert 'href="/specialists/me/calendar?week=2027-03-01"' in html  # previous week
    assert 'href="/specialists/me/calendar?week=2027-03-15"' in html  # next week
    assert 'data-testid="calendar-link"' in client.get("/consultations").get_data(as_text=True)
    assert 'href="/specialists/me/calendar"' in html  # the navigation


def test_bad_week_shows_this_week_with_a_message(client, auth, practice):
    auth.login_as(practice["profile"].user)
    for value in ("banana", "2027-13-01", "%00", "9999-12-31", "1" * 11):
        page = client.get("/specialists/me/calendar", query_string={"week": value})
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "so here is this week" in html
        assert 'data-testid="today"' in html  # this week: today is highlighted


def test_calendar_is_for_specialists_and_the_agenda_for_clients(client, auth, practice):
    ben = practice["people"]["Ben"]
    assert client.get("/specialists/me/calendar").status_code == 302  # to log in
    assert client.get("/consultations/agenda").status_code == 302
    auth.login_as(ben)
    assert client.get("/specialists/me/calendar").status_code == 403
    page = client.get(f"/consultations/agenda?week={practice['week'].isoformat()}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'href="/consultations/{practice["confirmed"].id}"' in html
    assert f'href="/consultations/{practice["requested"].id}"' not in html  # Ann's
    assert 'data-testid="calendar-free"' not in html and 'data-testid="calendar-blocked"' not in html
    assert 'data-testid="agenda-link"' in client.get("/consultations").get_data(as_text=True)
    auth.logout()
    auth.login_as(practice["profile"].user)
    moved = client.get("/consultations/agenda?week=2027-03-08")
    assert moved.status_code == 302 and moved.location.endswith("/specialists/me/calendar?week=2027-03-08")


def test_calendar_page_statements_do_not_grow_with_the_week(client, auth, practice, make_user, count_queries):
    auth.login_as(practice["profile"].user)
    url = f"/specialists/me/calendar?week={practice['week'].isoformat()}"

    def measure() -> int:
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return len([s for s in counter.statements if s.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE")])

    client.get(url)
    few = measure()
    for i in range(10):
        book(make_user(Role.CLIENT), practice["profile"], local(practice["week"] + timedelta(days=i % 7), 14 + i // 7))
    assert measure() == few
