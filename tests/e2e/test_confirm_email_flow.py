"""Real browser: a visitor picks a time on a profile, signs up, prepares the booking, is asked to
confirm the e-mail address, opens the link from the e-mail and lands back on the booking with
the chosen time selected, then books it."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.consultations.availability import refresh_next_available, set_weekly_hours
from marketplace.consultations.models import Consultation
from marketplace.extensions import db
from tests.e2e.helpers import confirm_email, confirmation_link, sign_up


def assert_accessible(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [(v["id"], v["impact"]) for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


def test_the_confirmation_link_returns_to_the_booking_with_the_slot_selected(page, live_server, make_specialist):
    specialist = make_specialist(display_name="Dr Ines Harbour", formats=["video", "phone"], timezone="Europe/Berlin")
    set_weekly_hours(specialist.id, [(day, "08:00", "20:00") for day in range(7)])
    db.session.flush()
    refresh_next_available([specialist.id])
    db.session.commit()

    # A visitor picks a time on the profile, is asked to log in, and signs up from there.
    page.goto(f"/specialists/{specialist.slug}")
    page.get_by_test_id("profile-booking").locator("ul.slot-links a").nth(1).click()
    slot = parse_qs(urlsplit(page.url).query)["slot"][0]
    expect(page.get_by_test_id("gated-prompt")).to_contain_text("You need to be logged in to book a consultation")
    page.get_by_test_id("gated-prompt").get_by_role("link", name="Sign up").click()
    sign_up(page, "Lea", "lea@example.test")

    # Back on the booking page with that time selected; an unconfirmed account sees the banner.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Book a free consultation with Dr Ines Harbour")
    expect(page.locator(f'input[type=radio][name=slot][value="{slot}"]')).to_be_checked()
    expect(page.get_by_test_id("confirm-banner")).to_contain_text("lea@example.test")
    assert_accessible(page)
    page.get_by_label("Phone call").check()
    page.get_by_label("I understand this is not an emergency service").check()
    page.get_by_role("button", name="Book free consultation").click()

    # Booking waits for the address: nothing is booked, the page says why and offers the link again.
    expect(page.get_by_role("heading", level=1)).to_have_text("Please confirm your e-mail address")
    expect(page.get_by_text("Please confirm your e-mail address to book a consultation.")).to_be_visible()
    expect(page.get_by_role("button", name="Send the link again")).to_be_visible()
    assert_accessible(page)
    db.session.rollback()  # end this session's read snapshot: see what the server committed
    assert db.session.scalar(select(Consultation)) is None

    # The link in the e-mail (sent at sign-up) shows a button (opening it changes nothing) …
    page.goto(confirmation_link("lea@example.test"))
    expect(page.get_by_text("Confirm that lea@example.test is your e-mail address.")).to_be_visible()
    assert_accessible(page)
    # … which brings her back to the booking, the time still chosen.
    confirm_email(page, "lea@example.test")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Book a free consultation with Dr Ines Harbour")
    expect(page.locator(f'input[type=radio][name=slot][value="{slot}"]')).to_be_checked()
    expect(page.get_by_label("Phone call")).to_be_checked()
    expect(page.get_by_test_id("confirm-banner")).to_have_count(0)
    page.get_by_label("I understand this is not an emergency service").check()
    page.get_by_role("button", name="Book free consultation").click()
    expect(page.get_by_text("Your free consultation is requested")).to_be_visible()

    db.session.rollback()
    consultation = db.session.scalar(select(Consultation))
    assert consultation is not None and consultation.format == "phone"
    assert consultation.start_utc.strftime("%Y-%m-%dT%H:%M:%SZ") == slot
    assert page.foreign_requests == []
