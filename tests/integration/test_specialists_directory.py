"""The directory over HTTP on both backends: every filter, text search, ordering, paging,
featured first, hidden profiles, and a constant number of SQL queries."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from marketplace.cache import bump_version
from marketplace.database import utcnow
from marketplace.demo.content import generate_specialists
from marketplace.extensions import db
from marketplace.specialists.demo import insert_bulk_specialists
from marketplace.specialists.hooks import directory_hooks
from marketplace.specialists.models import VerificationStatus
from tests.integration.test_query_budgets_booking import held_jobs


def names(response) -> list[str]:
    """Specialist names on a directory page, in order."""
    html = response.get_data(as_text=True)
    return re.findall(r'class="specialist-card-name"><a href="[^"]+">([^<]+)</a>', html)


@pytest.fixture
def trio(make_specialist):
    now = utcnow()
    alice = make_specialist(
        display_name="Alice Anchor", specialties=["anxiety"], approaches=["cbt"], languages=["en"], formats=["video"],
        country="DE", city="Berlin", fee_minor=9000, currency="EUR", offers_free_consultation=True,
        verification_status=VerificationStatus.VERIFIED, next_available_at=now + timedelta(days=2),
        bio_markdown="I specialise in insomnia and worry.")
    bruno = make_specialist(
        display_name="Bruno Birch", specialties=["depression"], approaches=["psychodynamic"], languages=["de"],
        formats=["in_person"], country="FR", city="Paris", fee_minor=15000, currency="EUR",
        offers_free_consultation=False, verification_status=VerificationStatus.VERIFIED,
        next_available_at=now + timedelta(days=10), bio_markdown="Long-term psychoanalytic work with couples.")
    chloe = make_specialist(
        display_name="Chloe Cedar", specialties=["trauma"], approaches=["emdr"], languages=["fr"], formats=["phone"],
        country="GB", city="London", fee_minor=6000, currency="GBP", offers_free_consultation=True,
        verification_status=VerificationStatus.VERIFIED, next_available_at=None,
        bio_markdown="Trauma-focused therapy at your pace.")
    return alice, bruno, chloe


@pytest.mark.parametrize(("query", "expected"), [
    ("", ["Alice Anchor", "Bruno Birch", "Chloe Cedar"]),
    ("specialty=anxiety", ["Alice Anchor"]),
    ("approach=psychodynamic", ["Bruno Birch"]),
    ("language=fr", ["Chloe Cedar"]),
    ("format=phone", ["Chloe Cedar"]),
    ("format=in_person", ["Bruno Birch"]),
    ("country=FR", ["Bruno Birch"]),
    ("city=london", ["Chloe Cedar"]),
    ("country=GB&city=Berlin", []),
    ("fee_min=100", ["Bruno Birch"]),
    ("fee_max=80", ["Chloe Cedar"]),  # £60 ≈ €70
    ("fee_min=80&fee_max=100", ["Alice Anchor"]),
    ("free=1", ["Alice Anchor", "Chloe Cedar"]),
    ("available=1", ["Alice Anchor"]),
    ("free=1&available=1&language=en", ["Alice Anchor"]),
    ("q=Chloe", ["Chloe Cedar"]),
    ("q=birch", ["Bruno Birch"]),
    ("q=insomnia", ["Alice Anchor"]),
    ("q=couples+psychoanalytic", ["Bruno Birch"]),
    ("q=insomnia+couples", []),
    ("q=Clinical+psychologist", ["Alice Anchor", "Bruno Birch", "Chloe Cedar"]),  # title
    ("q=100%25_", []),
    ("specialty=not-a-specialty", ["Alice Anchor", "Bruno Birch", "Chloe Cedar"]),  # invalid → ignored
    ("fee_min=abc&free=maybe", ["Alice Anchor", "Chloe Cedar"]),
])
def test_each_filter_narrows_results(client, trio, query, expected):
    response = client.get(f"/specialists?{query}")
    assert response.status_code == 200
    # Default order: soonest available first, no free times last.
    assert names(response) == expected


def test_filter_state_is_kept_in_the_form(client, trio):
    html = client.get("/specialists?specialty=anxiety&free=1&city=Berlin&q=worry").get_data(as_text=True)
    assert '<option selected value="anxiety">' in html
    assert re.search(r'<input checked id="free" name="free" type="checkbox" value="1">', html)
    assert 'value="Berlin"' in html and 'value="worry"' in html
    assert "Not a valid choice" not in client.get("/specialists?specialty=zzz").get_data(as_text=True)


def test_cards_show_what_product_lists(client, trio):
    html = client.get("/specialists?specialty=anxiety").get_data(as_text=True)
    assert "Alice Anchor" in html and "Clinical psychologist" in html
    assert "Verified licence" in html and "Free 30-min consultation" in html
    assert "Anxiety" in html and "English" in html and "€90" in html
    assert "CET (Europe/Berlin)" not in html  # visitor without a time zone cookie sees UTC
    assert 'data-testid="soonest-slot"' in html and "UTC" in html
    html = client.get("/specialists?language=fr").get_data(as_text=True)
    assert "No free times in the next weeks" in html and "£60" in html


def test_soonest_slot_in_viewer_timezone(client, auth, trio, make_user):
    auth.login_as(make_user(timezone="Asia/Tokyo"))
    html = client.get("/specialists?specialty=anxiety").get_data(as_text=True)
    assert "JST (Asia/Tokyo)" in html


def test_unpublished_and_incomplete_profiles_are_hidden(client, make_user, make_specialist):
    from marketplace.auth.models import Role
    from marketplace.specialists.services import create_draft_profile

    make_specialist(display_name="Visible Person")
    make_specialist(display_name="Hidden Person", is_published=False)
    create_draft_profile(make_user(Role.SPECIALIST, display_name="Draft Person"))
    db.session.commit()
    html = client.get("/specialists").get_data(as_text=True)
    assert "Visible Person" in html and "Hidden Person" not in html and "Draft Person" not in html
    assert names(client.get("/specialists?q=Hidden")) == []


def test_empty_state(client, trio):
    html = client.get("/specialists?specialty=adhd").get_data(as_text=True)
    assert "No specialists match these filters yet" in html and "Clear filters" in html


def test_pagination_keeps_filters(client, app):
    # All verified (listed), so the counts below are the generator's.
    insert_bulk_specialists((dict(s, verified=True) for s in generate_specialists(45, seed=3)), password_hash="x")
    db.session.commit()
    first = client.get("/specialists")
    assert len(names(first)) == 20
    html = first.get_data(as_text=True)
    assert "Page 1 of 3" in html and "45 results" in html
    third = client.get("/specialists?page=3")
    assert len(names(third)) == 5
    assert set(names(first)).isdisjoint(names(third))
    assert names(client.get("/specialists?page=99")) == names(third)  # clamped to the last page
    assert names(client.get("/specialists?page=abc")) == names(first)
    free_total = sum(s["offers_free_consultation"] for s in generate_specialists(45, seed=3))
    html = client.get("/specialists?free=1").get_data(as_text=True)
    assert f"{free_total} specialists" in html
    if free_total > 20:
        assert re.search(r'href="/specialists\?(?=[^"]*free=1)(?=[^"]*page=2)[^"]*"', html)


def test_order_is_featured_then_soonest_then_name(client, trio, make_specialist, monkeypatch):
    alice, bruno, chloe = trio
    make_specialist(display_name="Aaron Null", next_available_at=None)
    assert names(client.get("/specialists")) == ["Alice Anchor", "Bruno Birch", "Aaron Null", "Chloe Cedar"]

    shown: list = []
    # The featured domain's part, through the directory's hooks.
    monkeypatch.setattr(directory_hooks, "order_sources", [lambda: [chloe.id, bruno.id]])
    monkeypatch.setattr(directory_hooks, "shown_listeners", [lambda ids, placement: shown.append((list(ids), placement))])
    bump_version("featured", "directory")  # what a campaign change does
    response = client.get("/specialists")
    assert names(response) == ["Chloe Cedar", "Bruno Birch", "Alice Anchor", "Aaron Null"]
    html = response.get_data(as_text=True)
    assert html.count('class="badge badge-featured">Featured<') == 2
    assert f'href="/specialists/{chloe.slug}?src=campaign"' in html  # featured views are attributed
    assert f'href="/specialists/{alice.slug}"' in html
    assert shown == [([chloe.id, bruno.id], "directory")]
    shown.clear()
    client.get("/specialists")  # from the cache: its featured cards are counted all the same
    assert shown == [([chloe.id, bruno.id], "directory")]
    shown.clear()
    assert names(client.get("/specialists?language=fr")) == ["Chloe Cedar"]
    assert shown == [([chloe.id], "directory")]  # only featured cards actually shown count


def test_card_escapes_names(client, make_specialist):
    make_specialist(display_name="<b>Bold</b> Name")
    html = client.get("/specialists").get_data(as_text=True)
    assert "<b>Bold</b>" not in html and "&lt;b&gt;Bold&lt;/b&gt; Name" in html


@pytest.mark.parametrize("url", [
    "/specialists",
    "/specialists?specialty=anxiety&language=en&free=1",
    "/specialists?q=anxiety&free=1&fee_max=200",
])
def test_query_count_is_constant(client, app, count_queries, url):
    insert_bulk_specialists(generate_specialists(10, seed=1), password_hash="x")
    db.session.commit()
    with count_queries() as small:
        assert client.get(url).status_code == 200
    insert_bulk_specialists(generate_specialists(200, seed=2), password_hash="x")
    db.session.commit()
    bump_version("directory", "featured", "vocabulary")  # cold again, as for the first request
    with count_queries() as large:
        response = client.get(url)
    assert response.status_code == 200 and names(response)
    assert small.count == large.count, large.statements
    assert large.count <= 8, large.statements  # featured ids, vocab ids, count, page ids, cards, 2 vocab loads


def test_profile_page_query_count_is_constant(client, app, count_queries):
    insert_bulk_specialists(generate_specialists(10, seed=1), password_hash="x")
    db.session.commit()
    slug = next(iter(generate_specialists(1, seed=1)))["slug"]
    client.get(f"/specialists/{slug}")  # compare warm with warm (the booking card is cached too)
    # The job a GET hands its profile-view count to is held: only the request's statements count.
    with held_jobs(app, count_queries), count_queries() as small:
        assert client.get(f"/specialists/{slug}").status_code == 200
    insert_bulk_specialists(generate_specialists(200, seed=2), password_hash="x")
    db.session.commit()
    client.get(f"/specialists/{slug}")  # warm again: the page's key holds the minute, which may have turned
    with held_jobs(app, count_queries), count_queries() as large:
        assert client.get(f"/specialists/{slug}").status_code == 200
    # The consultations domain's booking partial adds its own (constant) queries to this page.
    assert small.count == large.count, large.statements


def test_a_soonest_time_already_past_is_not_shown(client, make_specialist):
    from datetime import timedelta

    make_specialist(display_name="Stale Slot", next_available_at=utcnow() - timedelta(hours=2))
    html = client.get("/specialists").get_data(as_text=True)
    assert "Stale Slot" in html
    assert 'data-testid="soonest-slot"' not in html and "Soonest free time" not in html
