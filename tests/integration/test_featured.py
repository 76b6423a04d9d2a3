"""Featured specialists: eligibility, the running campaign, public placements, tracking."""
from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from flask import render_template_string
from sqlalchemy import func, select

from marketplace.consultations.hooks import STATS_PAGE
from marketplace.database import commit, utcnow
from marketplace.extensions import db
from marketplace.featured.models import Campaign, CampaignStat, FeaturedEntry
from marketplace.featured.services import (
    REASON_NO_FREE_CONSULTATION,
    REASON_NOT_ACCEPTING,
    REASON_NOT_PUBLISHED,
    REASON_NOT_VERIFIED,
    active_campaign,
    active_featured_profile_ids,
    campaign_report,
    count_impressions,
    eligible_for_featuring,
    home_featured,
    increment_campaign_stat,
    today_utc,
)
from marketplace.parts import page_parts
from marketplace.specialists.hooks import PROFILE_EDITOR
from marketplace.specialists.models import SpecialistProfile, VerificationStatus, profile_of

INELIGIBLE = {
    "unverified": ({"verification_status": VerificationStatus.PENDING}, REASON_NOT_VERIFIED),
    "unpublished": ({"is_published": False}, REASON_NOT_PUBLISHED),
    "no free consultation": ({"offers_free_consultation": False}, REASON_NO_FREE_CONSULTATION),
    "not accepting": ({"accepting_new_clients": False}, REASON_NOT_ACCEPTING),
}


def make_campaign(*profiles, start=-5, end=5, active=True, name="Spring campaign"):
    """A campaign from today+start to today+end (days, inclusive) featuring ``profiles`` in order."""
    today = today_utc()
    campaign = Campaign(name=name, starts_on=today + timedelta(days=start), ends_on=today + timedelta(days=end),
                        active=active)
    db.session.add(campaign)
    for position, profile in enumerate(profiles):
        db.session.add(FeaturedEntry(campaign=campaign, profile=profile, position=position))
    db.session.commit()
    return campaign


def featured_names(html: str, testid: str) -> list[str]:
    """Names on the cards of one featured placement, in page order."""
    match = re.search(rf'data-testid="{testid}"(.*?)</section>', html, re.S)
    assert match, f"no {testid} section"
    return re.findall(r'data-slug="([^"]+)"', match.group(1))


def stat(profile, column):
    return db.session.scalar(select(func.coalesce(func.sum(getattr(CampaignStat, column)), 0))
                             .where(CampaignStat.profile_id == profile.id))


# --- eligibility ----------------------------------------------------------------------------

def test_verified_published_free_accepting_specialist_is_eligible(app, make_specialist):
    assert eligible_for_featuring(make_specialist()) == (True, [])


@pytest.mark.parametrize("condition", list(INELIGIBLE))
def test_each_condition_alone_makes_a_specialist_ineligible_everywhere(app, client, make_specialist, condition):
    overrides, reason = INELIGIBLE[condition]
    good = make_specialist(display_name="Dr Good")
    bad = make_specialist(display_name="Dr Bad", **overrides)
    make_campaign(bad, good)

    assert eligible_for_featuring(bad) == (False, [reason])
    # The SQL twin agrees: the ineligible one is left out of every public placement.
    assert active_featured_profile_ids() == [good.id]
    assert [p.id for p in home_featured().profiles] == [good.id]
    html = client.get("/campaign").get_data(as_text=True)
    assert featured_names(html, "featured-campaign") == [good.slug]


# --- which campaign runs --------------------------------------------------------------------

@pytest.mark.parametrize("start,end", [(-20, -1), (1, 20)], ids=["expired", "future"])
def test_expired_and_future_campaigns_feature_nobody(app, client, make_specialist, start, end):
    profile = make_specialist()
    make_campaign(profile, start=start, end=end)
    assert active_campaign() is None
    assert active_featured_profile_ids() == []
    assert 'id="featured-heading"' not in client.get("/").get_data(as_text=True)


def test_campaign_dates_are_inclusive(app, make_specialist):
    profile = make_specialist()
    make_campaign(profile, start=0, end=0)
    assert active_featured_profile_ids() == [profile.id]


def test_inactive_campaign_features_nobody(app, make_specialist):
    make_campaign(make_specialist(), active=False)
    assert active_featured_profile_ids() == []
    assert home_featured().profiles == []


def test_most_recently_started_of_overlapping_campaigns_wins(app, make_specialist):
    a, b = make_specialist(), make_specialist()
    make_campaign(a, start=-30, end=30, name="Long")
    short = make_campaign(b, start=-2, end=2, name="Short")
    assert active_campaign().id == short.id
    assert active_featured_profile_ids() == [b.id]


# --- public placements ----------------------------------------------------------------------

def test_home_shows_featured_in_campaign_order_with_link_to_campaign(app, client, make_specialist):
    first, second, third = (make_specialist(display_name=f"Dr {n}") for n in ("Zed", "Amy", "Mo"))
    make_campaign(second, third, first)
    html = client.get("/").get_data(as_text=True)
    assert "Featured specialists" in html
    assert featured_names(html, "featured-home") == [second.slug, third.slug, first.slug]
    assert 'href="/campaign"' in html
    assert f"/specialists/{second.slug}?src=campaign" in html


def test_home_renders_no_featured_section_without_campaign(app, client, make_specialist):
    make_specialist()
    html = client.get("/").get_data(as_text=True)
    assert 'id="featured-heading"' not in html


def test_home_limits_featured_cards(app, make_specialist):
    profiles = [make_specialist() for _ in range(8)]
    make_campaign(*profiles)
    home = home_featured()
    assert [p.id for p in home.profiles] == [p.id for p in profiles[:6]] and home.more


def test_campaign_page_explains_and_lists_featured_in_order(app, client, make_specialist):
    a, b = make_specialist(), make_specialist()
    make_campaign(b, a)
    response = client.get("/campaign")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Why a free first conversation?" in html
    assert featured_names(html, "featured-campaign") == [b.slug, a.slug]
    assert "Book a free consultation" in html


def test_campaign_page_without_campaign_still_invites(app, client):
    html = client.get("/campaign").get_data(as_text=True)
    assert "No specialists are featured right now" in html


def test_featured_specialist_turning_off_free_consultation_disappears_at_once(app, client, make_specialist, auth,
                                                                              make_user):
    from marketplace.auth.models import Role

    a, b = make_specialist(), make_specialist()
    campaign = make_campaign(a, b)
    assert featured_names(client.get("/").get_data(as_text=True), "featured-home") == [a.slug, b.slug]

    a.offers_free_consultation = False
    db.session.commit()
    assert featured_names(client.get("/").get_data(as_text=True), "featured-home") == [b.slug]
    assert featured_names(client.get("/campaign").get_data(as_text=True), "featured-campaign") == [b.slug]
    assert active_featured_profile_ids() == [b.id]

    # …and admin still lists them, marked ineligible with the reason.
    auth.login_as(make_user(role=Role.ADMIN))
    html = client.get(f"/admin/featured/{campaign.id}").get_data(as_text=True)
    row = re.search(rf'data-entry-id="{campaign.entries[0].id}".*?</tr>', html, re.S).group(0)
    assert "Ineligible" in row and REASON_NO_FREE_CONSULTATION in row


# --- directory (featured gives the order through the specialists domain's directory_hooks) ---------

def _directory_slugs(html: str) -> list[str]:
    return re.findall(r'href="/specialists/([a-z0-9-]+)(?:\?[^"]*)?"', html)


def test_directory_lists_featured_first_in_campaign_order_with_label(app, client, make_specialist):
    others = [make_specialist(display_name=f"Dr Aaron {i}") for i in range(3)]
    first, second = make_specialist(display_name="Dr Zora"), make_specialist(display_name="Dr Yves")
    make_campaign(first, second)
    html = client.get("/specialists").get_data(as_text=True)
    order = list(dict.fromkeys(_directory_slugs(html)))
    assert order[:2] == [first.slug, second.slug]
    assert set(order[2:5]) == {p.slug for p in others}
    first_card = html.split(f"/specialists/{first.slug}", 1)[1].split(f"/specialists/{second.slug}", 1)[0]
    assert "Featured" in first_card


def test_featured_first_combined_with_filters_still_filters(app, client, make_specialist):
    french = make_specialist(display_name="Dr Amélie", languages=["fr"])
    english_featured = make_specialist(display_name="Dr Zed", languages=["en"])
    make_campaign(english_featured, french)
    html = client.get("/specialists?language=fr").get_data(as_text=True)
    slugs = set(_directory_slugs(html))
    assert french.slug in slugs
    assert english_featured.slug not in slugs


# --- tracking -------------------------------------------------------------------------------

def test_home_counts_an_impression_per_featured_card(app, client, make_specialist):
    a, b = make_specialist(), make_specialist()
    make_campaign(a, b)
    client.get("/")
    client.get("/")
    assert stat(a, "impressions") == 2 and stat(b, "impressions") == 2
    assert db.session.scalar(select(func.count()).select_from(CampaignStat)) == 2  # one row per day and profile


def test_campaign_page_counts_impressions(app, client, make_specialist):
    a = make_specialist()
    make_campaign(a)
    client.get("/campaign")
    assert stat(a, "impressions") == 1


def test_counted_impressions_ignore_profiles_not_featured_now(app, make_specialist):
    featured, other = make_specialist(), make_specialist()
    make_campaign(featured)
    count_impressions([featured.id, other.id], "directory")
    commit()  # the counts are handed to the job that writes them after the unit of work
    assert stat(featured, "impressions") == 1 and stat(other, "impressions") == 0
    with pytest.raises(ValueError):
        count_impressions([featured.id], "sidebar")


def test_profile_view_from_campaign_link_is_counted(app, client, make_specialist):
    a = make_specialist()
    make_campaign(a)
    assert client.get(f"/specialists/{a.slug}?src=campaign").status_code == 200
    assert client.get(f"/specialists/{a.slug}").status_code == 200  # not from the campaign: not counted
    assert stat(a, "profile_views") == 1


def test_upsert_increments_an_existing_row(app, make_specialist):
    a = make_specialist()
    make_campaign(a)
    increment_campaign_stat("impressions", SpecialistProfile.id == a.id)
    increment_campaign_stat("impressions", SpecialistProfile.id == a.id)
    db.session.commit()
    row = db.session.scalars(select(CampaignStat)).one()
    assert (row.day, row.impressions, row.profile_views) == (today_utc(), 2, 0)


def test_concurrent_upserts_lose_no_increment(app, make_specialist):
    """Separate connections increment the same row at once: every increment survives."""
    a = make_specialist()
    make_campaign(a)
    profile_id = a.id  # read here: `a` belongs to this thread's session
    threads, errors, workers = [], [], 8
    barrier = threading.Barrier(workers)

    def work():  # type: ignore[no-untyped-def]
        try:
            with app.app_context():
                barrier.wait()
                increment_campaign_stat("impressions", SpecialistProfile.id == profile_id)
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    for _ in range(workers):
        threads.append(threading.Thread(target=work))
        threads[-1].start()
    for t in threads:
        t.join(30)
    assert errors == []
    db.session.rollback()  # end the read snapshot: see the threads' commits
    assert stat(a, "impressions") == workers


def test_bookings_are_counted_from_campaign_sourced_consultations(app, make_specialist, make_user):
    from marketplace.consultations.models import Consultation

    a = make_specialist()
    campaign = make_campaign(a)
    start = utcnow() + timedelta(days=2)
    for i, source in enumerate(["campaign", "campaign", None]):
        db.session.add(Consultation(client_id=make_user().id, specialist_id=a.id, start_utc=start + timedelta(hours=i),
                                    end_utc=start + timedelta(hours=i, minutes=30), format="video", source=source))
    db.session.commit()
    [report] = campaign_report(campaign)
    assert report.bookings == 2


# --- the specialist's own view --------------------------------------------------------------

def _render_for(app, user, page):
    """The parts of later domains that ``page`` shows (featured's), gathered as its view does."""
    with app.test_request_context("/"):
        parts = page_parts.gather(page, profile=profile_of(user), viewer=user)
        return render_template_string("{% for part in parts.values() if part %}{% include part.template %}{% endfor %}",
                                      parts=parts, current_user=user)


def test_dashboard_note_says_featured_or_how_to_become_eligible(app, make_specialist):
    featured, no_free = make_specialist(), make_specialist(offers_free_consultation=False)
    make_campaign(featured, name="Winter campaign")
    assert "You are featured in “Winter campaign”" in _render_for(app, featured.user, PROFILE_EDITOR)
    note = _render_for(app, no_free.user, PROFILE_EDITOR)
    assert "Offer free consultations to be eligible for the campaign" in note
    assert "You are featured" not in note


def test_specialist_stats_partial_shows_own_numbers(app, client, make_specialist):
    a, b = make_specialist(), make_specialist()
    make_campaign(a, b, name="Winter campaign")
    client.get("/")
    client.get(f"/specialists/{a.slug}?src=campaign")
    html = _render_for(app, a.user, STATS_PAGE)
    row = re.search(r"<th scope=\"row\">Winter campaign</th>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", row) == ["1", "1", "0"]


def test_profile_reached_from_campaign_keeps_the_source_on_its_booking_link(app, client, make_specialist):
    """So that a booking made after a campaign click is stored with source "campaign"."""
    a = make_specialist()
    make_campaign(a)
    html = client.get(f"/specialists/{a.slug}?src=campaign").get_data(as_text=True)
    assert f"/specialists/{a.slug}/book?src=campaign" in html.replace("&amp;", "&")


def test_featured_placements_run_a_constant_number_of_queries(app, client, make_specialist, make_user, auth,
                                                               count_queries):
    from marketplace.auth.models import Role

    profiles = [make_specialist() for _ in range(8)]
    few = make_campaign(*profiles[:2])
    auth.login_as(make_user(role=Role.ADMIN))
    counts = {}
    for label in ("few", "many"):
        for url in ("/", "/campaign", f"/admin/featured/{few.id}"):
            with count_queries() as counter:
                assert client.get(url).status_code == 200
            counts.setdefault(url, []).append(counter.count)
        if label == "few":
            for position, profile in enumerate(profiles[2:], start=2):
                db.session.add(FeaturedEntry(campaign_id=few.id, profile_id=profile.id, position=position))
            db.session.commit()
    assert all(a == b for a, b in counts.values()), counts
