"""Real browser at 360 px (issue 14): a specialist confirms a request from "My consultations"
(list → consultation → Confirm), then — after it took place — records a no-show through the
confirmation step (a tick box: nothing happens without it, no script needed) and undoes it within
the 24-hour window. No page on the way scrolls sideways."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import delete

from marketplace.auth.models import Role
from marketplace.consultations.availability import free_slots_for, refresh_next_available, set_weekly_hours
from marketplace.consultations.booking import book_free_consultation
from marketplace.consultations.models import Consultation, ConsultationState, OccupiedBlock
from marketplace.database import utcnow
from marketplace.extensions import db
from tests.factories import PASSWORD
from tests.quality.test_narrow_screens import OVERFLOW_SCRIPT

WIDTH = 360


def no_sideways_scroll(page) -> None:
    measured = page.evaluate(OVERFLOW_SCRIPT, WIDTH)
    assert measured["scroll"] <= measured["inner"], (
        f"{page.url} scrolls sideways at {WIDTH}px: scrollWidth {measured['scroll']}; {measured['offenders']}")


def test_specialist_confirms_from_the_list_then_records_and_undoes_a_no_show(browser, live_server, make_specialist,
                                                                             make_user):
    specialist = make_specialist(display_name="Dr Ada Careful", formats=["video"], timezone="Europe/Berlin")
    set_weekly_hours(specialist.id, [(day, "00:00", "23:30") for day in range(7)])
    db.session.flush()
    refresh_next_available([specialist.id])
    db.session.commit()
    patient = make_user(Role.CLIENT, display_name="Noor Patient")
    slot = next(s for s in free_slots_for(specialist) if s >= utcnow() + timedelta(hours=13))
    booked = book_free_consultation(patient, specialist, slot, "video", "Sleep, mostly.")
    db.session.commit()
    consultation_id = booked.id

    context = browser.new_context(base_url=live_server.url, viewport={"width": WIDTH, "height": 740},
                                  timezone_id="Europe/Berlin", locale="en-GB")
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url)
                  else route.abort())
    page = context.new_page()
    page.set_default_timeout(10000)
    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(specialist.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()

    # My consultations → the request → Confirm.
    page.goto("/consultations")
    expect(page.get_by_role("heading", level=1)).to_have_text("My consultations")
    no_sideways_scroll(page)
    row = page.get_by_test_id("consultation-row").first
    expect(row).to_contain_text("Noor Patient")
    row.get_by_role("link", name="Details").click()
    expect(page.get_by_test_id("consultation-state")).to_have_text("Requested")
    no_sideways_scroll(page)
    page.get_by_role("button", name="Confirm consultation").click()
    expect(page.get_by_text("The consultation is confirmed.")).to_be_visible()
    expect(page.get_by_test_id("consultation-state")).to_have_text("Confirmed")

    # Time passes: it started an hour ago.
    db.session.rollback()
    consultation = db.session.get(Consultation, consultation_id)
    start = utcnow().replace(second=0, microsecond=0) - timedelta(hours=1)
    consultation.start_utc, consultation.end_utc = start, start + timedelta(minutes=30)
    db.session.execute(delete(OccupiedBlock).where(OccupiedBlock.consultation_id == consultation_id))
    db.session.commit()
    page.reload()
    no_sideways_scroll(page)

    # The no-show button is styled as a danger, and one click without the tick box records nothing.
    no_show = page.get_by_role("button", name="Client did not come (no-show)")
    expect(no_show).to_have_class("button button-danger")
    page.get_by_label("Note for the client (optional)").last.fill("I waited 20 minutes.")
    no_show.click()
    expect(page.get_by_text("Please tick the box to confirm.").first).to_be_visible()
    expect(page.get_by_test_id("consultation-state")).to_have_text("Confirmed")
    no_sideways_scroll(page)
    page.get_by_label("Yes, the client did not come — tell them by e-mail").check()
    page.get_by_role("button", name="Client did not come (no-show)").click()
    expect(page.get_by_text("Marked as a no-show.")).to_be_visible()
    expect(page.get_by_test_id("consultation-state")).to_have_text("No-show")
    expect(page.get_by_test_id("undo-record")).to_contain_text("you can undo it until")
    no_sideways_scroll(page)

    # Undo: confirmed again, the actions are back.
    page.get_by_role("button", name="Undo and correct").click()
    expect(page.get_by_text("Undone.")).to_be_visible()
    expect(page.get_by_test_id("consultation-state")).to_have_text("Confirmed")
    expect(page.get_by_role("button", name="Client did not come (no-show)")).to_be_visible()
    no_sideways_scroll(page)

    db.session.rollback()
    assert db.session.get(Consultation, consultation_id).state is ConsultationState.CONFIRMED
    context.close()
