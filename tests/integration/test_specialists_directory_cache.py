"""The directory's cached results section (specialists/pages.py): shared by visitors and logged-in
users alike, one entry per filters × page × time zone, made stale by the "directory" version,
and its featured cards counted on every request."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from marketplace.cache import bump_version
from marketplace.database import utcnow
from marketplace.extensions import cache, db
from marketplace.featured.models import Campaign, CampaignStat, FeaturedEntry
from marketplace.featured.services import today_utc
from marketplace.specialists.models import SpecialistProfile


def rename(profile: SpecialistProfile, name: str) -> None:
    """Change a name behind the app's back (no version bump, as a missed invalidation would)."""
    db.session.execute(update(SpecialistProfile).where(SpecialistProfile.id == profile.id)
                       .values(display_name=name))
    db.session.commit()


def html(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def directory_keys() -> list[str]:
    return [key for key in cache.cache._cache if key.startswith("page:directory:")]  # type: ignore[attr-defined]


def test_visitors_and_logged_in_users_share_the_results_until_the_version_changes(client, app, auth, make_specialist,
                                                                                  make_user):
    profile = make_specialist(display_name="Old Name")
    visitor = app.test_client()
    user = make_user(timezone="UTC")  # the visitor's zone (no tz cookie): the same entry
    assert "Old Name" in html(visitor.get("/specialists"))
    rename(profile, "New Name")
    auth.login_as(user)
    logged_in = html(client.get("/specialists"))
    assert "Old Name" in logged_in and "Log out" in logged_in  # the header is the user's own
    assert "Old Name" in html(visitor.get("/specialists"))
    bump_version("directory")
    assert "New Name" in html(visitor.get("/specialists")) and "New Name" in html(client.get("/specialists"))


def test_one_entry_per_filter_and_page_parameters_and_time_zone(client, app, make_specialist):
    make_specialist(display_name="Someone", next_available_at=utcnow() + timedelta(days=1))
    for url in ("/specialists", "/specialists?utm_source=x", "/specialists?ref=y&utm_source=z"):  # not read by the page
        html(client.get(url))
    assert len(directory_keys()) == 1
    for url in ("/specialists?free=1", "/specialists?free=1&page=2", "/specialists?q=anxiety",
                "/specialists?q=anxiety&utm_source=x"):
        html(client.get(url))
    assert len(directory_keys()) == 4
    client.set_cookie("tz", "Asia/Tokyo")
    assert "(Asia/Tokyo)" in html(client.get("/specialists"))
    assert len(directory_keys()) == 5


def test_the_form_shows_the_filters_of_its_own_entry(client, make_specialist):
    make_specialist()
    assert 'value="walrus"' in html(client.get("/specialists?q=walrus"))
    page = html(client.get("/specialists?q=zebra"))
    assert 'value="zebra"' in page and "walrus" not in page


def test_soonest_free_time_is_in_each_viewers_own_zone(client, app, auth, make_specialist, make_user):
    make_specialist(display_name="Soon Free", next_available_at=utcnow() + timedelta(days=1))
    tokyo, new_york = app.test_client(), app.test_client()
    tokyo.set_cookie("tz", "Asia/Tokyo")
    new_york.set_cookie("tz", "America/New_York")
    assert "(Asia/Tokyo)" in html(tokyo.get("/specialists"))
    page = html(new_york.get("/specialists"))
    assert "(America/New_York)" in page and "Asia/Tokyo" not in page
    auth.login_as(make_user(timezone="Europe/Lisbon"))
    page = html(client.get("/specialists"))
    assert "(Europe/Lisbon)" in page and "Asia/Tokyo" not in page and "America/New_York" not in page


def test_featured_impressions_are_counted_on_every_request_also_from_the_cache(client, make_specialist):
    featured = make_specialist(display_name="Featured Person")
    today = today_utc()
    campaign = Campaign(name="Spring", starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=1),
                        active=True)
    db.session.add_all([campaign, FeaturedEntry(campaign=campaign, profile=featured, position=0)])
    db.session.commit()
    for _ in range(3):
        assert "Featured Person" in html(client.get("/specialists"))
    assert len(directory_keys()) == 1  # two of the three came from the cache
    html(client.get("/specialists?language=fr"))  # the featured card is not on this page: not counted
    impressions = db.session.scalar(select(func.sum(CampaignStat.impressions))
                                    .where(CampaignStat.profile_id == featured.id))
    assert impressions == 3


def test_a_results_page_is_rendered_once_for_many_requests(client, make_specialist, monkeypatch):
    from marketplace.specialists import pages

    make_specialist()
    renders = []
    real = pages.search_directory
    monkeypatch.setattr(pages, "search_directory", lambda *a, **k: renders.append(1) or real(*a, **k))
    for _ in range(5):
        html(client.get("/specialists"))
    assert len(renders) == 1


def test_a_hit_is_one_cache_round_trip(client, app, make_specialist, monkeypatch):
    """A hit reads the versions in one round trip (``cached_at_versions``) and the page from this
    process's copy: one round trip for the directory and for a profile (its booking card is part of
    the page, under the profile's availability version)."""
    profile = make_specialist()
    reads: list[str] = []
    for method in ("get", "get_many", "has"):  # the Flask-Caching object every caller goes through
        real = getattr(cache, method)
        monkeypatch.setattr(cache, method, lambda *a, _real=real, _name=method, **k: reads.append(_name) or _real(*a, **k))
    for url, round_trips in (("/specialists", 1), (f"/specialists/{profile.slug}", 1)):
        html(client.get(url))
        reads.clear()
        html(client.get(url))
        assert reads == ["get_many"] * round_trips, url
    bump_version("directory")
    reads.clear()
    page = html(client.get("/specialists"))  # the version changed: the shared entry, then render and store
    # (first the visitor response kept before Flask checks the versions: visitor_responses.py)
    assert reads[:3] == ["get_many", "get_many", "get"] and profile.display_name in page
