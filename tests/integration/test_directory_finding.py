"""Finding the right person (issue 14): cards say where and how a specialist works, the directory
sorts (soonest, fee both ways, fees compared across currencies), the country select lists the
countries specialists are in, a specialist without the free consultation reads "paid sessions
only", and the home page says how many featured specialists there are beyond its six."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from marketplace.cache import bump_version
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.featured.models import Campaign, FeaturedEntry
from marketplace.featured.services import today_utc
from marketplace.specialists import directory
from marketplace.specialists.directory import DirectoryFilters, load_cards, search_directory
from tests.integration.test_specialists_directory import names

# Fees in euros: Ben ¥10,000 ≈ €62 (more than Ana's 9,000 cents in raw minor units), Cara £60 ≈ €70.
FEE_LOW = ["Ben Brook", "Cara Cove", "Ana Amber", "Fay Fern", "Dan Dale", "Eve Elm"]  # Eve: no fee, last
FEE_HIGH = ["Dan Dale", "Ana Amber", "Fay Fern", "Cara Cove", "Ben Brook", "Eve Elm"]  # ties by name
SOONEST = ["Cara Cove", "Ana Amber", "Eve Elm", "Fay Fern", "Ben Brook", "Dan Dale"]  # Dan: no free time
RECOMMENDED = ["Ben Brook", *(name for name in SOONEST if name != "Ben Brook")]  # Ben is featured


@pytest.fixture
def six(make_specialist):
    now = utcnow()

    def make(name, days, fee, currency="EUR", **extra):
        return make_specialist(display_name=name, fee_cents=fee, currency=currency,
                               next_available_at=None if days is None else now + timedelta(days=days), **extra)

    people = {
        "ana": make("Ana Amber", 2, 9000, formats=["video", "in_person"], city="Berlin", country="DE"),
        "ben": make("Ben Brook", 5, 10000, "JPY", formats=["phone"], city="Tokyo", country="JP"),
        "cara": make("Cara Cove", 1, 6000, "GBP", city="London", country="GB"),
        "dan": make("Dan Dale", None, 15000, city="Paris", country="FR", offers_free_consultation=False),
        "eve": make("Eve Elm", 3, None, city=None, country="AT"),
        "fay": make("Fay Fern", 4, 9000),
    }
    today = today_utc()
    campaign = Campaign(name="Spring", starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=1),
                        active=True)
    db.session.add_all([campaign, FeaturedEntry(campaign=campaign, profile=people["ben"], position=0)])
    db.session.commit()
    bump_version("featured", "directory")
    return people


def _all_names(sort: str, per_page: int | None = None) -> list[str]:
    """Every name in the order of ``sort``, page after page."""
    found: list[str] = []
    page = search_directory(DirectoryFilters(sort=sort), 1)
    found += [card.display_name for card in page.items]
    for number in range(2, page.pages + 1):
        found += [card.display_name for card in search_directory(DirectoryFilters(sort=sort), number).items]
    return found


# --- cards -----------------------------------------------------------------------------------

def test_cards_carry_place_and_formats(app, six):
    cards = {card.display_name: card for card in load_cards([p.id for p in six.values()])}
    ana = cards["Ana Amber"]
    assert (ana.city, ana.country) == ("Berlin", "DE")
    assert [label.label for label in ana.formats] == ["Video", "In person"]
    assert [label.label for label in cards["Ben Brook"].formats] == ["Phone"]


def _card(html: str, name: str) -> str:
    start = html.index(f">{name}</a>")
    return html[html.rindex("<article", 0, start):html.index("</article>", start)]


def test_directory_cards_show_city_country_and_formats(client, six):
    html = client.get("/specialists").get_data(as_text=True)
    ana = _card(html, "Ana Amber")
    assert re.search(r'data-testid="card-location">Berlin, Germany<', ana)
    assert re.search(r'data-testid="card-formats">Video, In person<', ana)
    assert 'data-testid="card-formats">Phone<' in _card(html, "Ben Brook")
    assert 'data-testid="card-location">Austria<' in _card(html, "Eve Elm")  # no city: the country alone


def test_home_featured_cards_show_formats_too(client, six):
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="card-formats">Phone<' in _card(html, "Ben Brook")


# --- sorting ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("sort", "expected"), [
    ("", RECOMMENDED), ("soonest", SOONEST), ("fee_low", FEE_LOW), ("fee_high", FEE_HIGH),
    ("nonsense", RECOMMENDED),
])
def test_sorts_page_by_page(app, six, monkeypatch, sort, expected):
    monkeypatch.setattr(directory, "PER_PAGE", 4)  # two pages: the order holds across the page break
    assert _all_names(sort) == expected


def test_a_sort_keeps_the_filters(app, six):
    page = search_directory(DirectoryFilters(country="GB", sort="fee_high"), 1)
    assert [card.display_name for card in page.items] == ["Cara Cove"]
    assert not DirectoryFilters(sort="fee_low").active  # an order is not a filter


@pytest.mark.parametrize(("sort", "expected"), [
    ("soonest", SOONEST), ("fee_low", FEE_LOW), ("fee_high", FEE_HIGH), ("", RECOMMENDED),
    ("bogus", RECOMMENDED),
])
def test_sort_over_http(client, six, sort, expected):
    client.get("/specialists")  # the recommended page is cached first: the sort is part of the key
    response = client.get(f"/specialists?sort={sort}")
    assert response.status_code == 200
    assert names(response) == expected


def test_sort_select_shows_the_choice_and_paging_keeps_it(client, six, monkeypatch):
    monkeypatch.setattr(directory, "PER_PAGE", 4)
    html = client.get("/specialists?sort=fee_low&free=1").get_data(as_text=True)
    assert re.search(r'<label[^>]*for="sort"[^>]*>Sort by', html)
    assert '<option selected value="fee_low">Fee: low to high</option>' in html
    next_link = re.search(r'href="([^"]+)" rel="next"', html)
    assert next_link and "sort=fee_low" in next_link.group(1) and "free=1" in next_link.group(1)
    second = client.get(next_link.group(1).replace("&amp;", "&"))
    assert names(second) == ["Eve Elm"]  # free ones by fee: Ben, Cara, Ana, Fay; then Eve (no fee)
