"""Real browser: the right time from the very first page. A visitor in New York lands on a profile
(their first request ever) and sees New York times, named; books; the consultation page, the
e-mail and its .ics agree on the instant and name the zone. A visitor switches zone in the footer
without an account."""
from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.consultations.availability import refresh_next_available, set_weekly_hours
from marketplace.consultations.models import Consultation
from marketplace.extensions import db
from marketplace.timeutil import format_datetime
from tests.factories import PASSWORD

NEW_YORK = "America/New_York"
FIRST_SLOT = "[data-testid=profile-booking] a[href*='book?slot='] time[data-style=clock]"


def bookable_specialist(make_specialist, name: str):
    specialist = make_specialist(display_name=name, formats=["video", "phone"], timezone="Europe/Berlin")
    set_weekly_hours(specialist.id, [(day, "08:00", "20:00") for day in range(7)])
    db.session.flush()
    refresh_next_available([specialist.id])
    db.session.commit()
    return specialist


def instant_of(locator) -> datetime:
    return datetime.strptime(locator.get_attribute("datetime"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def clock(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def mail_to(app, address: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in app.extensions.get("mail_outbox", []) if address in str(m["To"])]
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no e-mail to {address}")


def test_new_york_visitor_sees_new_york_times_from_the_first_page_and_books(browser, live_server, make_specialist,
                                                                           make_user):
    specialist = bookable_specialist(make_specialist, "Dr Ada Zone")
    client_user = make_user(timezone=NEW_YORK, email="noor.ny@example.test")
    context = browser.new_context(base_url=live_server.url, timezone_id=NEW_YORK, locale="en-US")
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url)
                  else route.abort())
    documents: list[str] = []
    context.on("request", lambda r: documents.append(r.url) if r.resource_type == "document" else None)
    page = context.new_page()
    page.set_default_timeout(10000)

    # The very first request of this browser: the profile (no cookie, the server knows no zone).
    page.goto(f"/specialists/{specialist.slug}")
    assert documents == [f"{live_server.url}/specialists/{specialist.slug}"]
    first = page.locator(FIRST_SLOT).first
    slot = instant_of(first)
    expect(first).to_have_text(clock(slot, NEW_YORK))
    expect(page.get_by_test_id("booking-zone")).to_contain_text(f"Next free times, in {NEW_YORK}")
    expect(page.get_by_test_id("footer-zone")).to_contain_text(f"Times are shown in {NEW_YORK}, your browser's time zone")
    assert {"name": "tz", "value": NEW_YORK} in [{"name": c["name"], "value": c["value"]} for c in context.cookies()]

    in_browser = page.get_by_test_id("profile-booking").locator("time").all_inner_texts()
    assert in_browser[0] == f"{slot.astimezone(ZoneInfo(NEW_YORK)):%A} {slot.astimezone(ZoneInfo(NEW_YORK)).day}" \
        f" {slot.astimezone(ZoneInfo(NEW_YORK)):%B %Y}"  # the first day heading, New York's date

    # The next page comes from the server in New York time already, in the very same words.
    page.reload()
    expect(page.get_by_test_id("footer-zone")).to_have_attribute("data-zone-source", "browser")
    assert page.locator(FIRST_SLOT).first.get_attribute("data-zone") == NEW_YORK
    assert page.get_by_test_id("profile-booking").locator("time").all_inner_texts() == in_browser

    # Book that slot: log in on the way, the slot is kept.
    page.locator("[data-testid=profile-booking] a[href*='book?slot=']").first.click()
    page.get_by_role("link", name="Login").first.click()
    page.get_by_label("E-mail").fill(client_user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Book a free consultation with Dr Ada Zone")
    expect(page.get_by_test_id("zone-note")).to_contain_text(NEW_YORK)
    chosen = page.locator(f"input[type=radio][name=slot][value='{slot:%Y-%m-%dT%H:%M:%SZ}']")
    expect(chosen).to_be_checked()
    expect(page.locator(f"label[for='{chosen.get_attribute('id')}']")).to_have_text(clock(slot, NEW_YORK))
    page.get_by_label("Phone call").check()
    page.get_by_label("What would you like to talk about?").fill("Sleeping badly since the move.")
    page.get_by_label("I understand this is not an emergency service").check()
    page.get_by_role("button", name="Book free consultation").click()
    expect(page.get_by_text("Your free consultation is requested")).to_be_visible()

    # The consultation page, the e-mail and the .ics: the same instant, New York named.
    db.session.rollback()
    consultation = db.session.scalar(select(Consultation))
    assert consultation.start_utc == slot
    when = format_datetime(slot, NEW_YORK)
    assert f"{clock(slot, NEW_YORK)} " in when and f"({NEW_YORK})" in when
    shown = page.get_by_test_id("consultation-time").locator("time")
    expect(shown).to_have_text(when)
    assert instant_of(shown) == slot

    mail = mail_to(live_server.app, client_user.email)
    assert when in mail.get_body(preferencelist=("plain",)).get_content()
    ics = next(p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar")
    event = next(c for c in icalendar.Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT"))
    assert event["DTSTART"].params["TZID"] == NEW_YORK
    assert event.decoded("DTSTART").astimezone(UTC) == slot
    context.close()


def test_visitor_switches_zone_in_the_footer_without_an_account(page, make_specialist):
    specialist = bookable_specialist(make_specialist, "Dr Bo Zone")
    page.goto("/specialists")  # a Berlin browser: the script shows the card's soonest time in Berlin's zone…
    soonest = page.get_by_test_id("soonest-slot").locator("time").first
    in_browser = soonest.inner_text()
    assert in_browser == format_datetime(instant_of(soonest), "Europe/Berlin")  # e.g. "…, 08:00 CET (Europe/Berlin)"
    page.reload()  # …and the server, now that it knows the zone, in the same words
    expect(page.get_by_test_id("soonest-slot").locator("time").first).to_have_text(in_browser)

    page.goto(f"/specialists/{specialist.slug}")
    first = page.locator(FIRST_SLOT).first
    expect(first).to_have_text(clock(instant_of(first), "Europe/Berlin"))

    page.get_by_test_id("change-zone").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Time zone")
    page.get_by_label("Show times in").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Show times in this zone").click()

    expect(page.get_by_text("Times are now shown in Asia/Tokyo.")).to_be_visible()
    assert page.url.endswith(f"/specialists/{specialist.slug}")
    first = page.locator(FIRST_SLOT).first
    expect(first).to_have_text(clock(instant_of(first), "Asia/Tokyo"))  # the browser's zone does not override it
    expect(page.get_by_test_id("booking-zone")).to_contain_text("Next free times, in Asia/Tokyo")
    expect(page.get_by_test_id("footer-zone")).to_contain_text("Times are shown in Asia/Tokyo, the time zone you chose")

    page.goto("/specialists")  # every page now: the soonest free time on the card, named
    soonest = page.get_by_test_id("soonest-slot").locator("time").first
    expect(soonest).to_contain_text("(Asia/Tokyo)")
    assert page.foreign_requests == []
