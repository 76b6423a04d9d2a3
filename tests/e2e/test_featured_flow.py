"""Real browser: an admin features two specialists and reorders them; visitors see that order on
the home page and first in the directory; one turns off free consultations and vanishes from both."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from marketplace.auth.models import Role
from marketplace.featured.services import today_utc
from tests.factories import PASSWORD, create_specialist, create_user


def log_in(page, email):
    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()


def log_out(page):
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have been logged out.")).to_be_visible()


def home_featured_names(page):
    page.goto("/")
    return page.get_by_test_id("featured-home").locator(".specialist-card-name").all_inner_texts()


def directory_names(page, count):
    page.goto("/specialists")
    return page.get_by_test_id("specialist-card").locator(".specialist-card-name").all_inner_texts()[:count]


def test_admin_features_and_reorders_visitors_see_it_and_ineligible_vanish(page, sqlite_app):
    admin = create_user(Role.ADMIN, display_name="Ada Admin")
    create_specialist(display_name="Dr Aaron Early")  # sorts first by name when nobody is featured
    create_specialist(display_name="Dr Anna Weber")
    boris = create_specialist(display_name="Dr Boris Lind")
    today = today_utc()

    # The admin creates a campaign and features Anna, then Boris.
    log_in(page, admin.email)
    page.goto("/admin")
    page.get_by_role("link", name="Featured specialists").first.click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Campaign name").fill("Free first conversation — spring")
    page.get_by_label("First day").fill((today - timedelta(days=1)).isoformat())
    page.get_by_label("Last day").fill((today + timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_text("Campaign “Free first conversation — spring” created.")).to_be_visible()
    page.get_by_role("button", name="Feature Dr Anna Weber").click()
    expect(page.get_by_text("Dr Anna Weber is now featured.")).to_be_visible()
    page.get_by_role("button", name="Feature Dr Boris Lind").click()
    expect(page.get_by_text("Dr Boris Lind is now featured.")).to_be_visible()
    rows = page.get_by_test_id("featured-entry")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Dr Anna Weber")

    # …and moves Boris up (a plain POST button: no JavaScript needed).
    rows.nth(1).get_by_role("button", name="Move up").click()
    expect(page.get_by_text("Order saved.")).to_be_visible()
    expect(rows.nth(0)).to_contain_text("Dr Boris Lind")
    expect(rows.nth(1)).to_contain_text("Dr Anna Weber")
    expect(rows.nth(0)).to_contain_text("Eligible")
    log_out(page)

    # A visitor sees them in that order on the home page and first in the directory, labelled.
    assert home_featured_names(page) == ["Dr Boris Lind", "Dr Anna Weber"]
    assert directory_names(page, 3) == ["Dr Boris Lind", "Dr Anna Weber", "Dr Aaron Early"]
    expect(page.get_by_test_id("specialist-card").nth(0).get_by_text("Featured", exact=True)).to_be_visible()
    expect(page.get_by_test_id("specialist-card").nth(2).get_by_text("Featured", exact=True)).to_have_count(0)

    # Boris turns off free consultations in his profile editor…
    log_in(page, boris.user.email)
    page.goto("/specialists/me/edit")
    page.get_by_label("I offer a free 30-minute initial consultation").uncheck()
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile has been saved.")).to_be_visible()
    log_out(page)

    # …and vanishes from both places at once; Anna stays featured.
    assert home_featured_names(page) == ["Dr Anna Weber"]
    names = directory_names(page, 3)
    assert names[0] == "Dr Anna Weber" and "Dr Boris Lind" not in names[:1]
    expect(page.get_by_test_id("specialist-card").filter(has_text="Dr Boris Lind")
           .get_by_text("Featured", exact=True)).to_have_count(0)

    # The admin sees him marked ineligible, with the reason.
    log_in(page, admin.email)
    page.goto("/admin/featured")
    page.get_by_role("link", name="Free first conversation — spring").click()
    boris_row = page.get_by_test_id("featured-entry").filter(has_text="Dr Boris Lind")
    expect(boris_row).to_contain_text("Ineligible")
    expect(boris_row).to_contain_text("does not offer the free 30-minute consultation")
    assert page.foreign_requests == []


def assert_accessible(page) -> None:
    """No serious or critical axe-core violations on the page."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [(v["id"], v["impact"], page.url, [n["target"] for n in v["nodes"]][:5]) for v in violations
               if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


def test_featured_and_admin_pages_pass_axe(page, sqlite_app):
    from marketplace.audit import record_audit
    from marketplace.extensions import db
    from marketplace.featured.models import Campaign, FeaturedEntry

    admin = create_user(Role.ADMIN, display_name="Ada Admin")
    featured = create_specialist(display_name="Dr Anna Weber")
    ineligible = create_specialist(display_name="Dr Boris Lind", accepting_new_clients=False)
    create_specialist(display_name="Dr Cara Candidate")
    today = today_utc()
    campaign = Campaign(name="Spring", starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=9))
    db.session.add(campaign)
    db.session.add_all([FeaturedEntry(campaign=campaign, profile=featured, position=0),
                        FeaturedEntry(campaign=campaign, profile=ineligible, position=1)])
    record_audit(admin, "campaign.create", campaign, after={"name": "Spring"})
    db.session.commit()

    for url in ("/", "/campaign"):
        page.goto(url)
        assert_accessible(page)
    log_in(page, admin.email)
    for url in ("/admin", "/admin/audit", "/admin/stats", "/admin/featured", "/admin/featured/new",
                f"/admin/featured/{campaign.id}"):
        page.goto(url)
        assert_accessible(page)

    # The drag-and-drop enhancement (static/js/featured.js) posts the same reorder.
    rows = page.get_by_test_id("featured-entry")
    save = page.get_by_role("button", name="Save order")
    expect(save).to_be_hidden()
    rows.nth(1).drag_to(rows.nth(0), target_position={"x": 20, "y": 2})
    expect(rows.nth(0)).to_contain_text("Dr Boris Lind")
    save.click()
    expect(page.get_by_text("Order saved.")).to_be_visible()
    expect(rows.nth(0)).to_contain_text("Dr Boris Lind")
    assert page.foreign_requests == []
