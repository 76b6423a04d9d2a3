"""Real browser: a specialist signs up, fills in the profile with a photo and publishes it; it is
listed once an admin has verified the licence, and a visitor then finds them through the directory
filters (no JavaScript needed)."""
from __future__ import annotations

import re

from PIL import Image
from playwright.sync_api import expect

from marketplace.auth.models import Role
from tests.e2e.helpers import confirm_email, sign_up
from tests.factories import PASSWORD as PASSWORD_OF_FACTORIES

PASSWORD = "a-calm-river-at-dawn"


def assert_accessible(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [(v["id"], [node["html"][:200] for node in v["nodes"]])
               for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


def test_specialist_publishes_profile_and_visitor_finds_it(page, browser, live_server, make_specialist, make_user,
                                                           tmp_path):
    make_specialist(display_name="Dr Other Anxiety", specialties=["anxiety"], languages=["de"])
    photo = tmp_path / "portrait.png"
    Image.new("RGB", (1400, 1400), (90, 140, 200)).save(photo)

    # Sign up as a specialist: lands in the profile editor.
    page.goto("/auth/signup?role=specialist")
    sign_up(page, "Dr Liv Marlow", "liv@example.test", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your specialist profile")
    expect(page.get_by_test_id("missing-fields")).to_contain_text("at least one specialty")
    assert_accessible(page)

    # Publishing waits for the e-mail address; the link brings her back to the editor.
    page.get_by_role("button", name="Publish profile").click()
    expect(page.get_by_text("Please confirm your e-mail address to publish your profile.")).to_be_visible()
    confirm_email(page, "liv@example.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your specialist profile")

    # Publishing an empty profile is refused with what is missing.
    page.get_by_role("button", name="Publish profile").click()
    expect(page.get_by_text("Your profile can't be published yet")).to_be_visible()

    # Fill in everything, with a photo.
    page.get_by_label("Professional title").fill("Counselling psychologist")
    page.get_by_label("Photo", exact=True).set_input_files(str(photo))
    page.get_by_label("About you").fill("I work with **anxiety** and panic, in English and Spanish.")
    page.get_by_label("Years of practice").fill("9")
    page.get_by_label("Anxiety", exact=True).check()
    page.get_by_label("Stress & burnout").check()
    page.get_by_label("Cognitive behavioural therapy (CBT)").check()
    page.get_by_label("English", exact=True).check()
    page.get_by_label("Spanish").check()
    page.get_by_label("Video", exact=True).check()
    page.get_by_label("Session fee").fill("80")
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_label("City").fill("Madrid")
    page.get_by_label("Country").select_option("ES")
    page.get_by_label("Time zone", exact=True).select_option("Europe/Madrid")
    page.get_by_label("Licence type").fill("General health psychologist")
    page.get_by_label("Licence number").fill("ES-M-12345")
    page.get_by_label("Issued in (jurisdiction)").fill("Community of Madrid, Spain")
    page.get_by_label("Video meeting link").fill("https://meet.example.org/liv")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile has been saved.")).to_be_visible()
    # Only the hours are missing now: the list links the availability page.
    expect(page.get_by_test_id("missing-fields").get_by_role("listitem")).to_have_count(1)
    page.get_by_test_id("missing-fields").get_by_role("link", name="your weekly hours").click()
    page.get_by_label("Monday", exact=True).check()
    page.locator("form.weekly-hours-form").get_by_label("From").fill("09:00")
    page.locator("form.weekly-hours-form").get_by_label("Until").fill("12:00")
    page.get_by_role("button", name="Add hours").click()
    expect(page.get_by_text("Weekly hours added.")).to_be_visible()
    page.goto("/specialists/me/edit")
    expect(page.get_by_test_id("missing-fields")).to_have_count(0)

    page.get_by_role("button", name="Publish profile").click()
    expect(page.get_by_text("as soon as an admin has verified your licence")).to_be_visible()
    expect(page.get_by_test_id("publish-status")).to_contain_text("Not listed yet")
    page.get_by_role("link", name="View your public profile").click()
    expect(page.get_by_test_id("preview-banner")).to_contain_text("waiting for licence verification")

    # Not listed before an admin verified the licence; the admin approves it from the queue.
    admin = make_user(Role.ADMIN, email="admin@example.test")
    context = browser.new_context(base_url=live_server.url)
    try:
        other = context.new_page()
        other.set_default_timeout(10000)
        other.goto("/specialists?q=Marlow")
        expect(other.get_by_test_id("specialist-card")).to_have_count(0)
        other.goto("/auth/login")
        other.get_by_label("E-mail").fill(admin.email)
        other.get_by_label("Password").fill(PASSWORD_OF_FACTORIES)
        other.get_by_role("button", name="Log in").click()
        other.goto("/admin/verification")
        item = other.get_by_test_id("verification-item").filter(has_text="Dr Liv Marlow")
        item.get_by_role("button", name="Approve licence").click()
        expect(other.get_by_text("Dr Liv Marlow's licence is verified")).to_be_visible()
    finally:
        context.close()

    # A visitor (separate browser context, no cookies) filters the directory and finds her.
    context = browser.new_context(base_url=live_server.url, timezone_id="America/New_York", locale="en-US")
    try:
        visitor = context.new_page()
        visitor.set_default_timeout(10000)
        visitor.goto("/specialists")
        visitor.get_by_label("Specialty", exact=True).select_option("anxiety")
        visitor.get_by_label("Language", exact=True).select_option("es")
        visitor.get_by_label("Offers a free 30-minute consultation").check()
        visitor.get_by_role("button", name="Show specialists").click()
        for part in ("specialty=anxiety", "language=es", "free=1"):  # filter state lives in the URL
            assert part in visitor.url
        cards = visitor.get_by_test_id("specialist-card")
        expect(cards).to_have_count(1)
        expect(cards.first).to_contain_text("Dr Liv Marlow")
        expect(cards.first).to_contain_text("Free 30-min consultation")
        expect(cards.first).to_contain_text("€80")
        assert_accessible(visitor)

        cards.first.get_by_role("link", name="Dr Liv Marlow").click()
        expect(visitor.get_by_role("heading", level=1)).to_have_text("Dr Liv Marlow")
        expect(visitor.get_by_text("Free 30-minute consultation").first).to_be_visible()
        expect(visitor.get_by_test_id("gated-prompt")).to_contain_text("You need to be logged in to send messages")
        photo_el = visitor.get_by_role("img", name="Photo of Dr Liv Marlow")
        expect(photo_el).to_have_attribute("src", re.compile(r"^/specialists/photos/[0-9a-f]{32}\.jpg$"))
        assert visitor.evaluate("document.querySelector('.profile-photo').naturalWidth") == 1024
        assert_accessible(visitor)
    finally:
        context.close()
    assert page.foreign_requests == []
