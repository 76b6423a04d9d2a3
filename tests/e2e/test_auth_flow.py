"""Real browser: sign up, log out, log in, and the offline banner."""
from playwright.sync_api import expect

from tests.e2e.helpers import sign_up


def test_signup_login_and_offline_banner(page):
    page.goto("/auth/signup")
    sign_up(page, "Mira", "mira@example.test")
    expect(page.get_by_text("Welcome to Balance")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have been logged out.")).to_be_visible()

    page.get_by_role("link", name="Login").first.click()
    page.get_by_label("E-mail").fill("mira@example.test")
    page.get_by_label("Password").fill("a-calm-river-at-dawn")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()

    banner = page.locator("#offline-banner")
    expect(banner).to_be_hidden()
    page.context.set_offline(True)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("No Internet Connection")
    expect(banner).to_contain_text("It seems you've lost your internet connection. Please refresh your page to try again.")
    page.context.set_offline(False)
    expect(banner).to_be_hidden()
    assert page.foreign_requests == []


def test_browser_timezone_is_stored_at_signup(page, sqlite_app):
    from sqlalchemy import select

    from marketplace.auth.models import User
    from marketplace.extensions import db

    page.goto("/auth/signup")  # the context's time zone is Europe/Berlin
    sign_up(page, "Tz", "tz@example.test")
    expect(page.get_by_text("Welcome to Balance")).to_be_visible()
    db.session.rollback()
    assert db.session.scalar(select(User.timezone).where(User.email == "tz@example.test")) == "Europe/Berlin"


def test_visitor_sees_times_in_the_browser_time_zone(page):
    page.goto("/")  # first visit: the script stores the browser's zone (context: Europe/Berlin)
    page.goto("/free-consultation")
    expect(page.locator("footer")).to_contain_text("Times are shown in Europe/Berlin")
