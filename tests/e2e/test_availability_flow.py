"""Real browser on a phone (360 px): a specialist reaches the availability page from the profile
editor, adds Monday–Friday 09:00–12:00 in one submission, edits Wednesday to 10:00–13:00 in place,
and the page never scrolls sideways."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.factories import PASSWORD

WIDTH = 360


def scrolls_sideways(page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))


def test_specialist_keeps_weekly_hours_on_a_phone(browser, live_server, make_specialist):
    specialist = make_specialist(display_name="Dr Wen Hours", timezone="Europe/Berlin", is_published=False)
    context = browser.new_context(base_url=live_server.url, timezone_id="Europe/Berlin", locale="en-GB",
                                  viewport={"width": WIDTH, "height": 740})
    page = context.new_page()
    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(specialist.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()

    # The editor asks for hours before publishing and links the availability page.
    page.goto("/specialists/me/edit")
    expect(page.get_by_test_id("missing-fields")).to_contain_text("your weekly hours")
    assert not scrolls_sideways(page)
    page.get_by_test_id("missing-fields").get_by_role("link", name="your weekly hours").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Availability and booking settings")
    expect(page.get_by_test_id("page-zone")).to_contain_text("Europe/Berlin")
    assert not scrolls_sideways(page)

    # Monday to Friday, 09:00–12:00, in one submission.
    form = page.locator("form.weekly-hours-form")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        form.get_by_label(day, exact=True).check()
    form.get_by_label("From").fill("09:00")
    form.get_by_label("Until").fill("12:00")
    form.get_by_role("button", name="Add hours").click()
    expect(page.get_by_text("Weekly hours added.")).to_be_visible()
    rules = page.get_by_test_id("weekly-rule")
    expect(rules).to_have_count(5)
    assert not scrolls_sideways(page)

    # Wednesday becomes 10:00–13:00, edited in place.
    wednesday = page.locator('[data-testid="weekly-rule"][data-weekday="2"]')
    wednesday.get_by_label("From").fill("10:00")
    wednesday.get_by_label("Until").fill("13:00")
    wednesday.get_by_role("button", name="Save Wednesday").click()
    expect(page.get_by_text("Weekly hours changed.")).to_be_visible()
    expect(page.locator('[data-testid="weekly-rule"][data-weekday="2"] legend')).to_contain_text("10:00–13:00")
    expect(page.locator('[data-testid="weekly-rule"][data-weekday="1"] legend')).to_contain_text("09:00–12:00")
    expect(rules).to_have_count(5)
    assert not scrolls_sideways(page)

    # Back in the editor, nothing is missing any more: publishing goes through.
    page.get_by_role("link", name="Your profile").first.click()
    expect(page.get_by_test_id("missing-fields")).to_have_count(0)
    page.get_by_role("button", name="Publish profile").click()
    expect(page.get_by_test_id("publish-status")).to_contain_text("Published")
    assert not scrolls_sideways(page)
    context.close()
