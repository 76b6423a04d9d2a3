"""The per-process cache of the directory page for anonymous visitors (DIRECTORY_CACHE_SECONDS)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from marketplace.auth.models import Role
from marketplace.extensions import db
from marketplace.featured.models import Campaign, CampaignStat, FeaturedEntry
from marketplace.featured.services import today_utc
from marketplace.specialists.models import SpecialistProfile
from marketplace.specialists.page_cache import CachedPage, PageCache

pytestmark = pytest.mark.config(DIRECTORY_CACHE_SECONDS=60)


def rename(profile: SpecialistProfile, name: str) -> None:
    """Change a name behind the app's back (as another process would)."""
    db.session.execute(update(SpecialistProfile).where(SpecialistProfile.id == profile.id)
                       .values(display_name=name))
    db.session.commit()


def test_anonymous_visitors_get_the_cached_page_for_a_while(client, make_specialist):
    profile = make_specialist(display_name="Old Name")
    assert "Old Name" in client.get("/specialists").get_data(as_text=True)
    rename(profile, "New Name")
    assert "Old Name" in client.get("/specialists").get_data(as_text=True)  # cached
    # Another query string or time zone is another page.
    assert "New Name" in client.get("/specialists?page=1").get_data(as_text=True)
    client.set_cookie("tz", "Asia/Tokyo")
    assert "New Name" in client.get("/specialists").get_data(as_text=True)


def test_logged_in_users_never_get_a_cached_page(client, auth, make_specialist, make_user):
    profile = make_specialist(display_name="Old Name")
    client.get("/specialists")
    rename(profile, "New Name")
    auth.login_as(make_user(display_name="Some Client"))
    html = client.get("/specialists").get_data(as_text=True)
    assert "New Name" in html and "Log out" in html
    auth.logout()
    client.get("/specialists")  # shows the "logged out" flash: not from the cache
    assert "Old Name" in client.get("/specialists").get_data(as_text=True)


@pytest.mark.config(DIRECTORY_CACHE_SECONDS=0)
def test_no_cache_when_switched_off(client, make_specialist):
    profile = make_specialist(display_name="Old Name")
    client.get("/specialists")
    rename(profile, "New Name")
    assert "New Name" in client.get("/specialists").get_data(as_text=True)


def test_a_profile_change_in_this_process_clears_the_cache(client, auth, make_specialist, make_user):
    make_specialist(display_name="Someone Else")
    client.get("/specialists")
    mine = make_specialist(display_name="Newly Public", is_published=False)
    auth.login_as(mine.user)
    client.post("/specialists/me/publish")
    auth.logout()
    assert "Newly Public" in client.get("/specialists").get_data(as_text=True)


def test_featured_impressions_are_counted_on_every_request(client, make_specialist):
    featured = make_specialist(display_name="Featured Person")
    today = today_utc()
    campaign = Campaign(name="Spring", starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=1),
                        active=True)
    db.session.add(campaign)
    db.session.add(FeaturedEntry(campaign=campaign, profile=featured, position=0))
    db.session.commit()
    for _ in range(3):
        assert "Featured Person" in client.get("/specialists").get_data(as_text=True)
    impressions = db.session.scalar(select(func.sum(CampaignStat.impressions))
                                    .where(CampaignStat.profile_id == featured.id))
    assert impressions == 3


def test_flash_messages_are_not_served_from_or_stored_in_the_cache(client, make_specialist):
    make_specialist(display_name="Someone")
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "A message for one visitor")]
    assert "A message for one visitor" in client.get("/specialists").get_data(as_text=True)
    assert "A message for one visitor" not in client.get("/specialists").get_data(as_text=True)


def test_page_cache_expires_and_stays_bounded():
    cache = PageCache(max_entries=4)
    cache.put((b"", "UTC"), CachedPage("a", (), expires_at=10.0), now=0.0)
    assert cache.get((b"", "UTC"), now=5.0).html == "a"
    assert cache.get((b"", "UTC"), now=10.0) is None
    for i in range(10):
        cache.put((str(i).encode(), "UTC"), CachedPage(str(i), (), expires_at=100.0), now=1.0)
    assert len(cache) <= 4 and cache.get((b"9", "UTC"), now=2.0).html == "9"


def test_role_does_not_matter_for_specialists_either(client, auth, make_specialist):
    """A logged-in specialist (e.g. checking their own card) always sees the live directory."""
    profile = make_specialist(display_name="Old Name")
    client.get("/specialists")
    rename(profile, "New Name")
    auth.login_as(profile.user)
    assert profile.user.role is Role.SPECIALIST
    assert "New Name" in client.get("/specialists").get_data(as_text=True)
