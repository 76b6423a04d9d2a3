"""Real browser at 360 px (issue 14): a client finds a specialist, opens the booking page, goes to
the next week, taps the Evening chip, picks a time and books. The page never scrolls sideways and
the Book button is reachable within 1.5 screen heights of scrolling, on a typical week."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.consultations.availability import refresh_next_available, set_weekly_hours
from marketplace.consultations.demo import DEFAULT_WEEKLY_HOURS
from marketplace.consultations.models import Consultation
from marketplace.extensions import db
from tests.e2e.test_booking_flow import log_in

WIDTH, HEIGHT = 360, 740
BERLIN = "Europe/Berlin"

# Where the Book button is, and whether the page is wider than the screen.
MEASURE = """() => {
  const button = document.querySelector('.booking-form > button[type=submit]').getBoundingClientRect();
  const details = document.getElementById('details-heading').getBoundingClientRect();
  return {bookBottom: button.bottom + window.scrollY, detailsTop: details.top + window.scrollY,
          screen: window.innerHeight, scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth};
}"""


def chips(page):  # type: ignore[no-untyped-def]
    """The slot picker's time-of-day chips (the waitlist form below has checkboxes of the same names)."""
    return page.get_by_role("region", name="Choose a time")


def assert_phone_layout(page, what: str) -> None:  # type: ignore[no-untyped-def]
    m = page.evaluate(MEASURE)
    assert m["scrollWidth"] <= WIDTH and m["innerWidth"] == WIDTH, f"{what}: scrolls sideways {m}"
    # Reaching the button takes at most 1.5 screens of scrolling; the details start within 1.5 screens.
    assert m["bookBottom"] - m["screen"] <= 1.5 * m["screen"], f"{what}: Book button too far down {m}"
    assert m["detailsTop"] <= 1.5 * m["screen"], f"{what}: details section too far down {m}"


def test_find_book_next_week_evening_on_a_phone(browser, live_server, make_specialist, make_user):
    specialist = make_specialist(display_name="Dr Phone Booking", formats=["video", "phone"], timezone=BERLIN)
    set_weekly_hours(specialist.id, DEFAULT_WEEKLY_HOURS)  # the demo's typical week: 88 free times
    db.session.flush()
    refresh_next_available([specialist.id])
    client_user = make_user(timezone=BERLIN)
    db.session.commit()

    context = browser.new_context(base_url=live_server.url, viewport={"width": WIDTH, "height": HEIGHT},
                                  is_mobile=True, has_touch=True, timezone_id=BERLIN, locale="en-GB")
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url)
                  else route.abort())
    page = context.new_page()
    page.set_default_timeout(10000)
    log_in(page, client_user.email)

    page.goto("/specialists")
    page.get_by_role("link", name="Dr Phone Booking").first.click()
    page.get_by_role("link", name="Book a free consultation").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Book a free consultation with Dr Phone Booking")
    assert_phone_layout(page, "first week")
    first_week = page.locator("[data-slot-picker]").get_attribute("data-week")

    page.get_by_role("link", name="Next week").click()
    expect(page.locator("[data-slot-picker]")).not_to_have_attribute("data-week", first_week)
    week = page.locator("[data-slot-picker]").get_attribute("data-week")
    assert parse_qs(urlsplit(page.url).query)["week"] == [week]
    expect(page.get_by_test_id("slot-count")).to_have_text("88 free times")  # a whole typical week
    assert_phone_layout(page, "a typical week")

    evening = chips(page).get_by_role("checkbox", name="Evening")
    evening.check()  # filters at once, without a request
    expect(evening).to_be_checked()
    expect(page.get_by_test_id("slot-count")).to_have_text("8 of 88 free times")  # Tue and Thu 18:00–20:00
    assert page.get_by_role("button", name="Show times").is_hidden()  # the no-script button
    assert parse_qs(urlsplit(page.url).query)["part"] == ["evening"]
    shown = page.locator("[data-slot-day]:not([hidden]) .slot-choice:not([hidden]) time")
    expect(shown.first).to_be_visible()
    assert shown.count() == 8 and all(text >= "17:00" for text in shown.all_text_contents())
    assert "part=evening" in page.get_by_role("link", name="Previous week").get_attribute("href")
    assert_phone_layout(page, "evening times")

    choice = page.locator("[data-slot-day][open] .slot-choice:not([hidden]) input[name=slot]").first
    slot_value = choice.get_attribute("value")
    choice.check()
    page.get_by_label("Phone call").check()
    page.get_by_label("I understand this is not an emergency service").check()
    page.get_by_role("button", name="Book free consultation").click()
    expect(page.get_by_text("Your free consultation is requested")).to_be_visible()

    db.session.rollback()  # see what the server committed
    consultation = db.session.scalar(select(Consultation))
    assert consultation is not None and consultation.format == "phone"
    assert consultation.start_utc.strftime("%Y-%m-%dT%H:%M:%SZ") == slot_value
    local = consultation.start_utc.astimezone(ZoneInfo(BERLIN))
    assert local.hour >= 17 and local.weekday() in (1, 3)
    assert str(local.date() - timedelta(days=local.weekday())) == week
    context.close()


def test_the_chips_filter_at_once_as_the_server_does(page, make_specialist, make_user):
    """The script's filtering, counts, empty-week message and links are the server's own."""
    from tests.integration.test_booking_weeks import Calendar

    specialist = make_specialist(display_name="Dr Chips", formats=["video"], timezone="UTC")
    calendar = Calendar(specialist)  # 14 free times in the first week, none the next, 6 the one after
    client_user = make_user(timezone="Asia/Tokyo")
    db.session.commit()
    log_in(page, client_user.email)
    page.goto(f"/specialists/{specialist.slug}/book")
    count = page.get_by_test_id("slot-count")
    expect(count).to_have_text("14 free times")
    expect(count).to_have_attribute("aria-live", "polite")
    shown = page.locator("[data-slot-day]:not([hidden]) .slot-choice:not([hidden]) input[name=slot]")

    chips(page).get_by_role("checkbox", name="Morning").check()
    chips(page).get_by_role("checkbox", name="Weekend").check()
    expect(count).to_have_text("0 of 14 free times")
    empty = page.get_by_test_id("week-empty")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("No free times this week at the times of day you chose.")
    next_link = empty.get_by_role("link", name="Next week with free times")
    expect(next_link).to_contain_text(f"{calendar.b.strftime('%B')} {calendar.b.year}")
    query = parse_qs(urlsplit(next_link.get_attribute("href")).query)
    assert query["week"] == [calendar.week_b.isoformat()] and query["part"] == ["morning", "weekend"]
    scripted = (empty.inner_text(), next_link.get_attribute("href"))
    page.reload()  # the URL kept the filters: the server says the same
    expect(chips(page).get_by_role("checkbox", name="Weekend")).to_be_checked()
    assert (page.get_by_test_id("week-empty").inner_text(),
            page.get_by_role("link", name="Next week with free times").get_attribute("href")) == scripted

    chips(page).get_by_role("checkbox", name="Weekend").uncheck()
    expect(count).to_have_text("4 of 14 free times")
    expect(page.get_by_test_id("week-empty")).to_be_hidden()
    chosen = calendar.slot(calendar.a, "09:30").strftime("%Y-%m-%dT%H:%M:%SZ")
    page.locator(f"input[type=radio][name=slot][value='{chosen}']").check()
    chips(page).get_by_role("checkbox", name="Evening").check()
    expect(count).to_have_text("10 of 14 free times")
    chips(page).get_by_role("checkbox", name="Morning").uncheck()
    expect(count).to_have_text("7 of 14 free times")  # six evening times, and the chosen morning one stays
    expect(page.locator(f"input[type=radio][name=slot][value='{chosen}']")).to_be_visible()
    assert shown.count() == 7
    next_week = parse_qs(urlsplit(page.get_by_role("link", name="Next week").get_attribute("href")).query)
    assert next_week["slot"] == [chosen] and next_week["part"] == ["evening"]
    page.get_by_role("link", name="Next week").click()
    expect(page.get_by_test_id("pinned-slot")).to_contain_text("Your chosen time")
    expect(page.locator("#slot-pinned")).to_be_checked()
    assert page.foreign_requests == []
