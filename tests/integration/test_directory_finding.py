"""Finding the right person (issue 14): cards say where and how a specialist works, the directory
sorts (soonest, fee both ways, fees compared across currencies), the country select lists the
countries specialists are in, a specialist without the free consultation reads "paid sessions
only", and the home page says how many featured specialists there are beyond its six."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import text

from marketplace.auth.models import Role
from marketplace.cache import bump_version
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.featured.models import Campaign, FeaturedEntry
from marketplace.featured.services import campaign_report, home_featured, placement_reach, today_utc
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
        return make_specialist(display_name=name, fee_minor=fee, currency=currency,
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
    # Each fee in its own currency, written by the one money rule (yen have no decimals).
    assert "<dd>€90</dd>" in ana and "<dd>¥10,000</dd>" in _card(html, "Ben Brook")
    assert "<dd>£60</dd>" in _card(html, "Cara Cove") and "Session fee" not in _card(html, "Eve Elm")


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


# --- the country select ----------------------------------------------------------------------

def _country_options(html: str) -> list[str]:
    select = re.search(r'<select[^>]*name="country"[^>]*>(.*?)</select>', html, re.S)
    assert select, "the directory has a country select"
    return re.findall(r'<option(?: selected)? value="([^"]*)"', select.group(1))


def test_listed_countries_are_those_of_listed_specialists(app, six, make_specialist):
    make_specialist(display_name="Ida Draft", country="IT", is_published=False)
    assert directory.listed_countries() == ("AT", "DE", "FR", "GB", "JP")


def test_country_select_offers_only_countries_with_specialists(client, six, make_specialist):
    options = _country_options(client.get("/specialists").get_data(as_text=True))
    assert options[0] == "" and sorted(options[1:]) == ["AT", "DE", "FR", "GB", "JP"]  # by name, as before
    # A new listed specialist elsewhere: the cached list follows (version "directory").
    make_specialist(display_name="Sol Sand", country="ES")
    assert "ES" in _country_options(client.get("/specialists").get_data(as_text=True))


def test_the_chosen_country_stays_offered_without_specialists(client, six):
    html = client.get("/specialists?country=IT").get_data(as_text=True)
    assert sorted(_country_options(html)) == ["", "AT", "DE", "FR", "GB", "IT", "JP"]
    assert '<option selected value="IT">Italy</option>' in html
    assert names(client.get("/specialists?country=IT")) == []
    assert _country_options(client.get("/specialists?country=XX").get_data(as_text=True))[0] == ""  # unknown: ignored


# --- no free consultation --------------------------------------------------------------------

def test_a_card_without_the_free_consultation_says_paid_sessions_only(client, six):
    html = client.get("/specialists").get_data(as_text=True)
    dan = _card(html, "Dan Dale")
    assert 'data-testid="paid-only">Offers paid sessions only<' in dan
    assert "No free times" not in dan
    assert "paid-only" not in _card(html, "Ana Amber")


def test_a_profile_without_the_free_consultation_says_paid_sessions_only(client, auth, make_user, six):
    auth.login_as(make_user(display_name="Cleo Client"))
    html = client.get(f"/specialists/{six['dan'].slug}").get_data(as_text=True)
    assert 'data-testid="paid-only"' in html and "Offers paid sessions only" in html
    assert "No free times" not in html
    assert 'data-testid="book-cta"' not in html and "/book" not in html  # no free-consultation booking
    assert 'data-testid="paid-only"' not in client.get(f"/specialists/{six['ana'].slug}").get_data(as_text=True)


# --- home page and the campaign admin --------------------------------------------------------

def _feature(profiles):
    today = today_utc()
    campaign = Campaign(name="Autumn", starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=1),
                        active=True)
    db.session.add(campaign)
    for position, profile in enumerate(profiles):
        db.session.add(FeaturedEntry(campaign=campaign, profile=profile, position=position))
    db.session.commit()
    return campaign


def test_home_featured_and_the_reach_of_a_campaign(app, make_specialist):
    profiles = [make_specialist() for _ in range(7)]
    campaign = _feature(profiles)
    home = home_featured()
    assert [p.id for p in home.profiles] == [p.id for p in profiles[:6]] and home.more
    reach = placement_reach(campaign_report(campaign))
    assert (reach.home, reach.listed, reach.home_limited) == (6, 7, True)


def test_home_links_to_the_campaign_page_only_when_there_are_more(client, make_specialist):
    profiles = [make_specialist() for _ in range(7)]
    campaign = _feature(profiles[:6])
    html = client.get("/").get_data(as_text=True)
    assert html.count('data-testid="featured-card"') == 6 and 'data-testid="more-featured"' not in html
    db.session.add(FeaturedEntry(campaign=campaign, profile=profiles[6], position=6))
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert html.count('data-testid="featured-card"') == 6
    more = re.search(r'data-testid="more-featured"><a href="([^"]+)">', html)
    assert more and more.group(1) == "/campaign"
    assert client.get(more.group(1)).get_data(as_text=True).count('data-testid="featured-card"') == 7


def test_campaign_admin_says_what_the_home_page_shows(client, auth, make_user, make_specialist):
    profiles = [make_specialist() for _ in range(8)]
    profiles[7].offers_free_consultation = False  # ineligible: shown nowhere, not counted
    campaign = _feature(profiles)
    auth.login_as(make_user(role=Role.ADMIN, display_name="Ada Admin"))
    html = client.get(f"/admin/featured/{campaign.id}").get_data(as_text=True)
    assert "The home page shows the first 6; the campaign page shows all 7." in html


def test_the_folded_panel_says_how_results_are_sorted_without_counting_it_a_filter(client, six):
    html = client.get("/specialists?sort=fee_high").get_data(as_text=True)
    summary = re.sub(r"<[^>]+>", "", re.search(r'data-testid="filter-summary">(.*?)</summary>', html, re.S).group(1))
    assert "Sorted by Fee: high to low" in summary and "applied" not in summary
    assert "Clear filters" not in html and "match your filters" not in html  # an order is not a filter


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # partial-index matching: PostgreSQL's planner
@pytest.mark.parametrize(("sort", "index"), [
    ("fee_low", "ix_specialist_profiles_fee_order"), ("fee_high", "ix_specialist_profiles_fee_desc_order"),
    ("soonest", "ix_specialist_profiles_directory_order"),
])
def test_each_order_can_be_read_from_its_index_on_postgresql(app, backend, six, sort, index):
    """With 100,000 specialists a page must not sort them all: the listed-profiles condition has to
    match the partial indexes' "WHERE is_published" ("is_published IS TRUE" did not)."""
    assert backend == "postgresql"
    stmt = directory.sorted_by(directory.matching_ids(DirectoryFilters(sort=sort), utcnow()), sort).limit(20)
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    db.session.execute(text("SET LOCAL enable_sort = off"))  # what the planner picks at scale, on six rows
    # (an incremental sort over another index is a sort too; the rows of earlier tests' DELETEs leave
    # statistics that make it look cheap on six rows)
    db.session.execute(text("SET LOCAL enable_incremental_sort = off"))
    plan = "\n".join(db.session.execute(text(f"EXPLAIN {compiled}")).scalars())
    assert f"Index Scan using {index}" in plan and "Sort" not in plan.replace(index, ""), plan
