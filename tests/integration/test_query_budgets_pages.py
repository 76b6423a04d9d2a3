"""SQL statement budgets of the public specialist pages, on both backends, anonymous and logged in:
at most ``BUDGET`` statements, the same for 3 or 25 more specialists, with the shared parts cold
(just invalidated, as after any change) and warm. SQLite's explicit BEGIN is not counted
(PostgreSQL begins implicitly), as in the other budget tests."""
from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.cache import bump_version
from marketplace.consultations.availability import refresh_next_available
from marketplace.extensions import cache, db
from marketplace.featured.models import Campaign, FeaturedEntry
from marketplace.featured.services import today_utc

# Featured impressions are written by a job off the request path; tests run jobs inside the
# request, so keep the counts in memory here: the budget is the page's own statements.
pytestmark = pytest.mark.config(COUNTER_FLUSH_SECONDS=3600)
BUDGET = 6
# The last: a text search naming a specialty (ranked: listers first), with a place.
DIRECTORY_URLS = ["/specialists", "/specialists?free=1&language=en&page=3", "/specialists?q=panic+Berlin",
                  "/specialists?part=evening&part=weekend&sort=soonest", "/specialists?free=1&sort=fast"]


@pytest.fixture
def world(make_specialist):
    """A running campaign with one featured specialist (so the featured query is part of the count),
    whose availability snapshot the booking card reads, as after the refresh job."""
    featured = make_specialist(display_name="Dr Featured")
    today = today_utc()
    campaign = Campaign(name="Spring", starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=1),
                        active=True)
    db.session.add_all([campaign, FeaturedEntry(campaign=campaign, profile=featured, position=0)])
    refresh_next_available([featured.id])
    db.session.commit()
    return featured


def login_if(logged_in, auth, make_user):  # type: ignore[no-untyped-def]
    if logged_in:
        auth.login_as(make_user(display_name="Logged In Reader"))


class Measured:
    def __init__(self, statements: list[str]) -> None:
        self.statements = [s for s in statements if s.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE")]
        self.count = len(self.statements)


def measure(client, count_queries, url):  # type: ignore[no-untyped-def]
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return Measured(counter.statements)


def cold_and_warm(client, count_queries, url, *versions):  # type: ignore[no-untyped-def]
    bump_version(*versions)  # what a change does: the shared parts are rebuilt on the next request
    return measure(client, count_queries, url), measure(client, count_queries, url)


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
@pytest.mark.parametrize("url", DIRECTORY_URLS)
def test_directory_budget(client, auth, make_user, make_specialist, count_queries, world, url, logged_in):
    login_if(logged_in, auth, make_user)
    measure(client, count_queries, url)  # the first request also reads what rarely changes (vocabulary ids)
    counts = []
    for extra in (3, 22):
        for _ in range(extra):
            make_specialist()
        # A profile change makes both stale (a calendar change only "directory": one statement less).
        cold, warm = cold_and_warm(client, count_queries, url, "directory", "featured")
        assert cold.count <= BUDGET, cold.statements
        assert warm.count <= BUDGET, warm.statements
        # Served from the shared cache: no specialist, campaign or vocabulary table is read (the
        # logged-in person's query counts requests waiting for a specialist: not the page's data).
        assert not [s for s in warm.statements
                    if ("specialist_profiles" in s or "featured_entries" in s) and "auth_sessions" not in s]
        counts.append((cold.count, warm.count))
    assert counts[0] == counts[1]
    assert counts[0][1] == (1 if logged_in else 0)  # the user, with the session and the unread badge: one query


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
def test_directory_with_an_empty_cache(client, auth, make_user, count_queries, world, logged_in):
    """Everything cold (a new cache): the vocabulary ids are read too, once per cache."""
    login_if(logged_in, auth, make_user)
    cache.clear()
    counter = measure(client, count_queries, DIRECTORY_URLS[1])
    assert counter.count <= BUDGET + (1 if logged_in else 0), counter.statements


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
@pytest.mark.parametrize("src", ["", "?src=campaign"])
def test_profile_budget(client, auth, make_user, make_specialist, count_queries, world, logged_in, src):
    login_if(logged_in, auth, make_user)
    url = f"/specialists/{world.slug}{src}"
    measure(client, count_queries, url)
    counts = []
    for extra in (3, 22):
        for _ in range(extra):
            make_specialist()
        cold, warm = cold_and_warm(client, count_queries, url, f"profile:{world.id}")
        assert cold.count <= BUDGET, cold.statements
        assert warm.count <= BUDGET, warm.statements
        counts.append((cold.count, warm.count))
    assert counts[0] == counts[1]
    # A hit reads no profile row (the page carries what the person parts need): only, for a
    # logged-in client, the person (with the session, the unread badge and the specialists they
    # have consultations with: none here, so where they stand with this one needs no query).
    assert counts[0][1] == (1 if logged_in else 0), warm.statements
    cache.clear()
    assert measure(client, count_queries, url).count <= BUDGET  # an empty cache
