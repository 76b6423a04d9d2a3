"""Real browser (issue 16 item 1): a specialist in Berlin finds two consultations booked around the
coming daylight-saving change in their week calendar, each at its Berlin time (10:00 on both sides of
the change, an hour apart in UTC), and opens one from the keyboard; a client reads their agenda on a
360 px phone: day by day, the consultation there, the zone named, nothing scrolls sideways."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from marketplace.consultations.availability import refresh_next_available, set_weekly_hours
from marketplace.consultations.booking import book_free_consultation
from marketplace.consultations.models import SchedulingSettings
from marketplace.extensions import db
from marketplace.scheduling.weeks import monday_of
from tests.e2e.test_booking_flow import log_in

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"
WIDTH, HEIGHT = 360, 740


def next_clock_change(zone: str, after: date) -> date:
    """The first day after ``after`` whose noon has another UTC offset than the day before's."""
    tz = ZoneInfo(zone)

    def noon_offset(day: date) -> timedelta | None:
        return datetime(day.year, day.month, day.day, 12, tzinfo=tz).utcoffset()

    day = after + timedelta(days=1)
    while noon_offset(day) == noon_offset(day - timedelta(days=1)):
        day += timedelta(days=1)
    return day


def local(day: date, hour: int, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def bookable_for_a_year(make_specialist, name: str, zone: str):
    specialist = make_specialist(display_name=name, timezone=zone, user_timezone=zone)
    set_weekly_hours(specialist.id, [(day, "08:00", "20:00") for day in range(7)])
    db.session.add(SchedulingSettings(specialist_id=specialist.id, **{**SchedulingSettings.DEFAULTS,
                                                                      "horizon_days": 365}))
    db.session.flush()
    refresh_next_available([specialist.id])
    db.session.commit()
    return specialist


def book(client, specialist, start: datetime):
    consultation = book_free_consultation(client, specialist, start, "video", "Booked ahead.")  # raises if refused
    db.session.commit()
    return consultation


def test_specialist_sees_consultations_at_berlin_time_across_the_clock_change(page, live_server, make_specialist,
                                                                              make_user):
    specialist = bookable_for_a_year(make_specialist, "Dr Clock Change", BERLIN)
    today = datetime.now(UTC).astimezone(ZoneInfo(BERLIN)).date()
    change = next_clock_change(BERLIN, today + timedelta(days=2))  # "now" is before it
    before = book(make_user(display_name="Nora Before"), specialist, local(change - timedelta(days=1), 10, BERLIN))
    after = book(make_user(display_name="Omar After"), specialist, local(change, 10, BERLIN))
    # The same 10:00 in Berlin, an hour apart in UTC: the offset changed between them.
    assert before.start_utc.astimezone(ZoneInfo(BERLIN)).utcoffset() != after.start_utc.astimezone(
        ZoneInfo(BERLIN)).utcoffset()

    log_in(page, specialist.user.email)
    page.get_by_role("link", name="Calendar", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your calendar")
    expect(page.get_by_test_id("zone-note")).to_contain_text(BERLIN)
    expect(page.locator("[data-testid=calendar-day][aria-current=date]")).to_have_count(1)  # today, highlighted
    expect(page.locator("[data-testid=calendar-day][aria-current=date]").get_by_test_id("today")).to_be_visible()

    # The week before the change's week, then "Next week": the links carry ?week=YYYY-MM-DD.
    week = monday_of(change)
    page.goto(f"/specialists/me/calendar?week={(week - timedelta(days=7)).isoformat()}")
    page.get_by_role("link", name="Next week").click()
    expect(page.get_by_test_id("week-grid")).to_have_attribute("data-week", week.isoformat())
    assert page.url.endswith(f"?week={week.isoformat()}")

    for consultation, name in ((before, "Nora Before"), (after, "Omar After")):
        day = page.locator(f"[data-testid=calendar-day][data-day='{consultation.start_utc.astimezone(ZoneInfo(BERLIN)).date()}']")
        event = day.locator(f"[data-consultation='{consultation.id}']")
        expect(event).to_contain_text(name)
        expect(event).to_contain_text("Requested")
        start = event.locator("time").first
        expect(start).to_have_text("10:00")
        assert start.get_attribute("datetime") == consultation.start_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert start.get_attribute("data-zone") == BERLIN
    change_day = page.locator(f"[data-testid=calendar-day][data-day='{change.isoformat()}']")
    expect(change_day.get_by_test_id("clock-change")).to_contain_text("Clocks go")
    expect(change_day.get_by_test_id("calendar-free").first).to_be_visible()  # free times beside the booking

    # Keyboard: the event is a link; Enter opens the consultation.
    link = change_day.locator(f"[data-consultation='{after.id}'] a")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/consultations/{after.id}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.foreign_requests == []


def test_client_reads_their_agenda_on_a_phone(browser, live_server, make_specialist, make_user):
    specialist = bookable_for_a_year(make_specialist, "Dr Agenda", BERLIN)
    client_user = make_user(display_name="Pia Phone", timezone=NEW_YORK)
    start = local(datetime.now(UTC).date() + timedelta(days=9), 15, BERLIN)  # next week or the one after
    consultation = book(client_user, specialist, start)

    context = browser.new_context(base_url=live_server.url, viewport={"width": WIDTH, "height": HEIGHT},
                                  is_mobile=True, has_touch=True, timezone_id=NEW_YORK, locale="en-US")
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url)
                  else route.abort())
    page = context.new_page()
    page.set_default_timeout(10000)
    log_in(page, client_user.email)

    page.goto("/consultations")
    page.get_by_role("link", name="Your agenda, week by week").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your agenda")
    expect(page.get_by_test_id("zone-note")).to_contain_text(NEW_YORK)
    local_start = consultation.start_utc.astimezone(ZoneInfo(NEW_YORK))
    while page.get_by_test_id("week-grid").get_attribute("data-week") != monday_of(local_start.date()).isoformat():
        page.get_by_role("link", name="Next week").click()
    event = page.locator(f"[data-consultation='{consultation.id}']")
    expect(event).to_be_visible()
    expect(event).to_contain_text("Dr Agenda")
    expect(event.locator("time").first).to_have_text(local_start.strftime("%H:%M"))
    expect(event.locator("time").first).to_have_attribute("data-zone", NEW_YORK)

    # A day-by-day agenda: the days are stacked, full width, not columns; nothing scrolls sideways.
    boxes = [page.locator("[data-testid=calendar-day]").nth(i).bounding_box() for i in range(7)]
    assert all(b["x"] == boxes[0]["x"] and b["width"] > WIDTH * 0.8 for b in boxes)
    assert all(boxes[i]["y"] < boxes[i + 1]["y"] for i in range(6))
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    event.locator("a").tap()
    page.wait_for_url(f"**/consultations/{consultation.id}")
    context.close()
