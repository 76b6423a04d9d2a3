"""Real browser: a visitor becomes a client and messages a specialist, who sees the badge and replies."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.helpers import confirm_email, sign_up
from tests.factories import PASSWORD

SENT = "Your message has been sent"


def assert_accessible(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [(v["id"], v["impact"]) for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


def test_visitor_signs_up_messages_a_specialist_who_replies(page, browser, live_server, make_specialist):
    profile = make_specialist(display_name="Dr Rhea Brook")
    slug = profile.slug

    # A visitor on the profile sees the messaging prompt and signs up from it.
    page.goto(f"/specialists/{slug}")
    prompt = page.get_by_test_id("gated-prompt")
    expect(prompt).to_contain_text("You need to be logged in to send messages")
    prompt.get_by_role("link", name="Sign up").click()
    sign_up(page, "Noa", "noa@example.test")
    confirm_email(page, "noa@example.test")  # the link brings her back to the profile

    # Back on the profile, now with the message button.
    expect(page).to_have_url(f"{live_server.url}/specialists/{slug}")
    page.get_by_test_id("message-cta").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Message Dr Rhea Brook")
    assert_accessible(page)
    page.get_by_label("Your message").fill("Hello, do you have evening times?\nThank you.")
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_text(SENT)).to_be_visible()
    expect(page.get_by_test_id("message")).to_have_count(1)
    expect(page.get_by_test_id("message").first).to_contain_text("Hello, do you have evening times?")
    assert_accessible(page)

    # The specialist logs in elsewhere, sees the unread badge, opens the conversation and replies.
    context = browser.new_context(base_url=live_server.url, timezone_id="Europe/Berlin", locale="en-GB")
    try:
        other = context.new_page()
        other.set_default_timeout(10000)
        other.goto("/auth/login")
        other.get_by_label("E-mail").fill(profile.user.email)
        other.get_by_label("Password").fill(PASSWORD)
        other.get_by_role("button", name="Log in").click()
        badge = other.get_by_test_id("unread-badge")
        expect(badge).to_have_text("1 unread")
        other.get_by_role("link", name="Messages").first.click()
        expect(other.get_by_test_id("conversation-unread")).to_have_text("1 unread")
        assert_accessible(other)
        other.get_by_role("link", name="Noa").click()
        expect(other.get_by_test_id("message").first).to_contain_text("evening times")
        expect(other.get_by_test_id("unread-badge")).to_have_count(0)
        assert_accessible(other)
        other.get_by_label("Your message").fill("Yes — Tuesdays and Thursdays until 20:00.")
        other.get_by_role("button", name="Send message").click()
        expect(other.get_by_text(SENT)).to_be_visible()
        expect(other.get_by_test_id("message")).to_have_count(2)
    finally:
        context.close()

    # The client sees the reply (and that the specialist read their message).
    page.reload()
    expect(page.get_by_test_id("unread-badge")).to_have_count(0)  # opened the thread on reload
    expect(page.get_by_test_id("message").nth(1)).to_contain_text("Tuesdays and Thursdays")
    expect(page.get_by_test_id("read-receipt")).to_have_text("Read")
    assert page.foreign_requests == []
