"""Real browser: a client finds a specialist and books the free consultation; the specialist
confirms it and, after it took place, records "proceed"."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import delete, select

from marketplace.consultations.availability import refresh_next_available, set_weekly_hours
from marketplace.consultations.models import Consultation, ConsultationOutcome, ConsultationState, OccupiedBlock
from marketplace.database import utcnow
from marketplace.extensions import db
from tests.e2e.helpers import confirm_email, sign_up
from tests.factories import PASSWORD

CLIENT_ZONE = "America/New_York"


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()


def test_client_books_specialist_confirms_and_records_proceed(browser, live_server, page, make_specialist):
    specialist = make_specialist(display_name="Dr Ada Booking", formats=["video", "phone"], timezone="Europe/Berlin")
    set_weekly_hours(specialist.id, [(day, "08:00", "20:00") for day in range(7)])
    db.session.flush()
    refresh_next_available([specialist.id])
    db.session.commit()
    specialist_email = specialist.user.email

    # The client's browser lives in New York; the account takes the browser's zone at sign-up.
    context = browser.new_context(base_url=live_server.url, timezone_id=CLIENT_ZONE, locale="en-US")
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url)
                  else route.abort())
    client = context.new_page()
    client.set_default_timeout(10000)
    client.goto("/auth/signup")
    sign_up(client, "Noor", "noor@example.test")
    expect(client.get_by_text("Welcome to Balance")).to_be_visible()
    confirm_email(client, "noor@example.test")

    # Find the specialist in the directory, open the profile, start booking.
    client.goto("/specialists")
    client.get_by_role("link", name="Dr Ada Booking").first.click()
    expect(client.get_by_role("heading", level=1)).to_contain_text("Dr Ada Booking")
    client.get_by_role("link", name="Book a free consultation").first.click()
    expect(client.get_by_role("heading", level=1)).to_contain_text("Book a free consultation with Dr Ada Booking")
    expect(client.get_by_test_id("zone-note")).to_contain_text(CLIENT_ZONE)

    first_slot = client.locator("input[type=radio][name=slot]").first
    slot_value = first_slot.get_attribute("value")
    shown_clock = client.locator("label.slot-choice").first.inner_text().strip()
    first_slot.check()
    client.get_by_label("Phone call").check()
    client.get_by_label("What would you like to talk about?").fill("Trouble sleeping since I moved.")
    client.get_by_label("I understand this is not an emergency service").check()
    client.get_by_role("button", name="Book free consultation").click()
    expect(client.get_by_text("Your free consultation is requested")).to_be_visible()
    expect(client.get_by_test_id("consultation-state")).to_have_text("Requested")

    db.session.rollback()  # end this session's read snapshot: see what the others committed
    consultation = db.session.scalar(select(Consultation))
    assert consultation is not None and consultation.format == "phone"
    assert consultation.start_utc.strftime("%Y-%m-%dT%H:%M:%SZ") == slot_value
    local = consultation.start_utc.astimezone(ZoneInfo(CLIENT_ZONE))
    assert shown_clock == local.strftime("%H:%M")  # the picker showed New York time

    # "My consultations" lists it in the client's (browser's) time zone, zone named.
    client.get_by_role("link", name="Consultations", exact=True).click()
    expect(client.get_by_role("heading", level=1)).to_have_text("My consultations")
    row = client.get_by_test_id("consultation-row").first
    expect(row).to_contain_text("Dr Ada Booking")
    expect(row).to_contain_text(f"{local.strftime('%H:%M')} {local.tzname()} ({CLIENT_ZONE})")
    context.close()

    # The specialist (Berlin browser) confirms.
    log_in(page, specialist_email)
    page.goto("/consultations")
    page.get_by_role("link", name="Details").first.click()
    expect(page.get_by_test_id("consultation-note")).to_contain_text("Trouble sleeping")
    page.get_by_role("button", name="Confirm consultation").click()
    expect(page.get_by_text("The consultation is confirmed.")).to_be_visible()
    expect(page.get_by_test_id("consultation-state")).to_have_text("Confirmed")

    # Time passes: the consultation took place an hour ago.
    db.session.rollback()  # end this session's read snapshot: see what the others committed
    consultation = db.session.get(Consultation, consultation.id)
    start = utcnow().replace(second=0, microsecond=0) - timedelta(hours=1)
    consultation.start_utc, consultation.end_utc = start, start + timedelta(minutes=30)
    db.session.execute(delete(OccupiedBlock).where(OccupiedBlock.consultation_id == consultation.id))
    db.session.commit()

    page.reload()
    page.get_by_label("Proceed — we will continue working together").check()
    page.get_by_label("Yes, e-mail this outcome to the client").check()
    page.get_by_role("button", name="Save outcome").click()
    expect(page.get_by_text("The outcome is saved.")).to_be_visible()
    expect(page.get_by_test_id("consultation-outcome")).to_have_text("Proceed")

    db.session.rollback()  # end this session's read snapshot: see what the others committed
    consultation = db.session.get(Consultation, consultation.id)
    assert consultation.state is ConsultationState.COMPLETED
    assert consultation.outcome is ConsultationOutcome.PROCEED
    assert page.foreign_requests == []
