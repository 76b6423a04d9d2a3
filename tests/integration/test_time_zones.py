"""One honest time, from the first page on: every time carries its instant and names the zone it
was computed in; visitors and people choose their zone (a cookie, or their account); cached pages
show each visitor's zone at once. Service and HTTP, on both databases."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from marketplace.account.services import UnknownTimezone, choose_timezone, update_account
from marketplace.extensions import db
from marketplace.timeutil import TZ_CHOICE_COOKIE, TZ_COOKIE, ZoneSource, format_datetime, viewer_zone
from tests.integration.test_consultations import book, first_free_slot, open_all_week

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def instant(dt) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


SLOT_BUTTON = re.compile(r'book\?slot=([0-9T%AZ:-]+)[^"]*">\s*<time datetime="([^"]+)" data-style="clock" '
                         r'data-zone="([^"]+)">([^<]+)</time>')


def first_slot_button(html: str) -> tuple[datetime, str]:
    """The profile's first slot button: the instant it books and the time it shows with its zone."""
    match = SLOT_BUTTON.search(html)
    assert match, "no slot shown as a <time> carrying its instant"
    booked, shown_instant, zone, text = match.groups()
    assert booked.replace("%3A", ":") == shown_instant  # the button books the instant it shows
    return datetime.strptime(shown_instant, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC), f"{text} {zone}"


def local_clock(slot: datetime, zone: str) -> str:
    return f"{slot.astimezone(ZoneInfo(zone)):%H:%M} {zone}"


def set_cookie(client, name: str, value: str) -> None:
    client.set_cookie(name, value)


@pytest.fixture
def specialist(app, make_specialist):
    profile = make_specialist(display_name="Dr Zone", timezone="Europe/Berlin")
    open_all_week(profile)
    return profile


# --- service --------------------------------------------------------------------------------------

def test_choosing_a_zone_sets_a_persons_account_and_maps_aliases(app, make_user):
    person = make_user(timezone="Europe/Berlin")
    assert choose_timezone(person, "Asia/Tokyo") == "Asia/Tokyo"
    assert person.timezone == "Asia/Tokyo"
    assert choose_timezone(person, "Asia/Calcutta") == "Asia/Kolkata"
    assert person.timezone == "Asia/Kolkata"
    assert choose_timezone(None, "America/New_York") == "America/New_York"  # a visitor: nothing stored


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "Etc/GMT+5", "Europe/Berlin\r\nSet-Cookie: x=1"])
def test_an_unknown_zone_is_refused_and_changes_nothing(app, make_user, name):
    person = make_user(timezone="Europe/Berlin")
    with pytest.raises(UnknownTimezone, match="Choose one from the list"):
        choose_timezone(person, name)
    db.session.refresh(person)
    assert person.timezone == "Europe/Berlin"


def test_a_stored_alias_or_exotic_zone_still_works(app, make_user):
    person = make_user(timezone="America/Buenos_Aires")
    update_account(person, display_name="Ana", email=person.email, timezone="America/Argentina/Buenos_Aires")
    assert person.timezone == "America/Argentina/Buenos_Aires"
    polar = make_user(timezone="Antarctica/Troll")
    update_account(polar, display_name="Polar", email=polar.email, timezone="Antarctica/Troll")  # kept as it is
    with pytest.raises(UnknownTimezone):
        update_account(polar, display_name="Polar", email=polar.email, timezone="Antarctica/Casey")


@pytest.mark.parametrize(("cookies", "expected"), [
    ({}, ("UTC", ZoneSource.UNKNOWN)),
    ({TZ_COOKIE: "Asia/Calcutta"}, ("Asia/Kolkata", ZoneSource.BROWSER)),
    ({TZ_COOKIE: "Mars/Olympus"}, ("UTC", ZoneSource.UNKNOWN)),
    ({TZ_COOKIE: "Etc/GMT+5"}, ("UTC", ZoneSource.UNKNOWN)),
    ({TZ_COOKIE: "Asia/Tokyo", TZ_CHOICE_COOKIE: "America/New_York"}, ("America/New_York", ZoneSource.CHOSEN)),
    ({TZ_COOKIE: "Asia/Tokyo", TZ_CHOICE_COOKIE: "nonsense"}, ("Asia/Tokyo", ZoneSource.BROWSER)),
])
def test_the_viewers_zone_comes_from_cookies_checked_against_the_list(app, cookies, expected):
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    with app.test_request_context("/", headers={"Cookie": header} if header else {}):
        zone = viewer_zone()
    assert (zone.name, zone.source) == expected


# --- the chooser over HTTP ------------------------------------------------------------------------

def test_the_chooser_lists_curated_zones_by_region(client):
    html = client.get("/account/time-zone?next=/specialists").get_data(as_text=True)
    assert '<optgroup label="Europe">' in html and '<optgroup label="America">' in html
    assert re.search(r'<option value="Europe/Berlin">Europe/Berlin \(UTC\+0[12]:00\)</option>', html)
    assert 'value="Africa/Asmera"' not in html and 'value="America/Buenos_Aires"' not in html
    assert "we don't know your time zone yet" in html
    assert 'href="/specialists">Back without changing' in html


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_a_visitor_chooses_a_zone_with_csrf_and_is_sent_back(client, specialist):
    profile_url = f"/specialists/{specialist.slug}"
    assert client.post("/account/time-zone", data={"timezone": "Asia/Tokyo", "next": profile_url}).status_code == 400
    assert client.get_cookie(TZ_CHOICE_COOKIE) is None

    token = CSRF.search(client.get(f"/account/time-zone?next={profile_url}").get_data(as_text=True)).group(1)
    response = client.post("/account/time-zone", data={"timezone": "Asia/Tokyo", "next": profile_url, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == profile_url
    cookie = client.get_cookie(TZ_CHOICE_COOKIE)
    assert cookie.value == "Asia/Tokyo" and cookie.http_only

    html = client.get(profile_url).get_data(as_text=True)
    slot, shown = first_slot_button(html)
    assert shown == local_clock(slot, "Asia/Tokyo")
    assert 'data-viewer-zone="Asia/Tokyo" data-zone-source="chosen"' in html
    assert "Times are now shown in Asia/Tokyo." in html


@pytest.mark.config(WTF_CSRF_ENABLED=True)
@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_the_chooser_never_redirects_elsewhere(client, target):
    token = CSRF.search(client.get("/account/time-zone").get_data(as_text=True)).group(1)
    response = client.post("/account/time-zone", data={"timezone": "Asia/Tokyo", "next": target, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Africa/Nowhere", ""])
def test_an_unknown_zone_gets_a_clear_message_and_no_cookie(client, zone):
    response = client.post("/account/time-zone", data={"timezone": zone, "next": "/"})
    assert response.status_code == 422
    assert "Choose a time zone from the list" in response.get_data(as_text=True)
    assert client.get_cookie(TZ_CHOICE_COOKIE) is None


def test_a_logged_in_persons_choice_goes_to_their_account(client, auth, make_user, specialist):
    person = make_user(timezone="Europe/Berlin")
    auth.login_as(person)
    response = client.post("/account/time-zone", data={"timezone": "America/New_York", "next": "/consultations"})
    assert response.status_code == 302 and response.headers["Location"] == "/consultations"
    assert client.get_cookie(TZ_CHOICE_COOKIE) is None
    db.session.refresh(person)
    assert person.timezone == "America/New_York"
    html = client.get(f"/specialists/{specialist.slug}").get_data(as_text=True)
    assert 'data-viewer-zone="America/New_York" data-zone-source="account"' in html
    assert "your account's time zone" in html


def test_account_form_shows_a_stored_alias_as_its_zone(client, auth, make_user):
    auth.login_as(make_user(timezone="America/Buenos_Aires"))
    html = client.get("/account").get_data(as_text=True)
    assert re.search(r'<option selected value="America/Argentina/Buenos_Aires">|'
                     r'<option value="America/Argentina/Buenos_Aires" selected>', html)
    assert 'value="America/Buenos_Aires"' not in html and '<optgroup label="Pacific">' in html


def test_a_posted_alias_is_saved_as_its_canonical_zone(client, auth, make_user):
    person = make_user(timezone="Europe/Berlin", display_name="Ana")
    auth.login_as(person)
    response = client.post("/account", data={"display_name": "Ana", "email": person.email, "timezone": "Asia/Calcutta"})
    assert response.status_code == 302
    db.session.refresh(person)
    assert person.timezone == "Asia/Kolkata"


def test_specialist_editor_offers_curated_zones(client, auth, specialist):
    auth.login_as(specialist.user)
    html = client.get("/specialists/me/edit").get_data(as_text=True)
    assert '<optgroup label="Europe">' in html and 'value="Asia/Calcutta"' not in html
    assert re.search(r'<option selected value="Europe/Berlin">|<option value="Europe/Berlin" selected>', html)


# --- pages: every time carries its instant and names its zone -------------------------------------

def test_first_page_view_says_utc_and_never_your_time_zone(client, specialist):
    html = client.get(f"/specialists/{specialist.slug}").get_data(as_text=True)
    slot, shown = first_slot_button(html)
    assert shown == local_clock(slot, "UTC")
    assert "Next free times, in <strong data-zone-name>UTC</strong>" in html
    assert "your time zone UTC" not in html and "in your time zone" not in html
    assert 'data-viewer-zone="UTC" data-zone-source="unknown"' in html
    assert "we don't know your time zone yet" in html
    assert '/static/js/localtime.js' in html


def test_a_cached_profile_shows_each_visitors_zone(app, specialist):
    tokyo, new_york, chose_tokyo = app.test_client(), app.test_client(), app.test_client()
    set_cookie(tokyo, TZ_COOKIE, "Asia/Tokyo")
    set_cookie(new_york, TZ_COOKIE, "America/New_York")
    set_cookie(chose_tokyo, TZ_CHOICE_COOKIE, "Asia/Tokyo")
    url = f"/specialists/{specialist.slug}"
    pages = {name: c.get(url).get_data(as_text=True) for name, c in
             (("tokyo", tokyo), ("new_york", new_york), ("chose_tokyo", chose_tokyo), ("tokyo_again", tokyo))}
    slot, shown = first_slot_button(pages["tokyo"])
    assert shown == local_clock(slot, "Asia/Tokyo")
    assert first_slot_button(pages["new_york"]) == (slot, local_clock(slot, "America/New_York"))
    assert local_clock(slot, "Asia/Tokyo")[:5] != local_clock(slot, "America/New_York")[:5]
    # The same cached body for both Tokyo visitors, but each footer says where the zone came from.
    assert "your browser's time zone" in pages["tokyo"] and 'data-zone-source="browser"' in pages["tokyo"]
    assert "the time zone you chose" in pages["chose_tokyo"] and 'data-zone-source="chosen"' in pages["chose_tokyo"]
    assert pages["tokyo_again"] == pages["tokyo"]


def test_directory_cards_carry_the_instant(client, specialist):
    set_cookie(client, TZ_COOKIE, "Asia/Tokyo")
    html = client.get("/specialists").get_data(as_text=True)
    db.session.refresh(specialist)
    soonest = specialist.next_available_at
    assert (f'<time datetime="{instant(soonest)}" data-style="datetime" data-zone="Asia/Tokyo">'
            f'{format_datetime(soonest, "Asia/Tokyo")}</time>') in html


def test_consultation_page_and_list_carry_the_instant_and_name_the_zone(client, auth, make_user, specialist):
    person = make_user(timezone="America/New_York")
    consultation = book(person, specialist, first_free_slot(specialist))
    auth.login_as(person)
    expected = (f'<time datetime="{instant(consultation.start_utc)}" data-style="datetime" data-zone="America/New_York">'
                f'{format_datetime(consultation.start_utc, "America/New_York")}</time>')
    assert "(America/New_York)" in expected
    assert expected in client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert expected in client.get("/consultations").get_data(as_text=True)
