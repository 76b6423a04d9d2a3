"""The public specialist pages are built from cached parts shared by everyone (specialists/pages.py)
plus what is composed per request: nothing of one person ever reaches another, and every change
is visible at once — in this process and in another one sharing the cache (Redis)."""
from __future__ import annotations

import os
import pickle
import re
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace import create_app
from marketplace.auth.models import Role
from marketplace.cache import VERSION_SECONDS, bump_version, version
from marketplace.consultations.availability import set_weekly_hours
from marketplace.database import utcnow
from marketplace.extensions import cache, db
from marketplace.featured.models import Campaign
from marketplace.featured.services import today_utc
from marketplace.messaging.models import Conversation, Message
from marketplace.security import PROMPT_MESSAGE
from marketplace.specialists.models import SpecialistProfile, VerificationStatus
from marketplace.templating import PersonalDataInFragment, fragment_environment
from tests.conftest import require
from tests.factories import PASSWORD

EDIT = "/specialists/me/edit"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def cached_text() -> str:
    """Every value in this app's cache (SimpleCache in tests), as text."""
    store = cache.cache._cache  # type: ignore[attr-defined]
    return "\n".join(repr(pickle.loads(value)) for _expires, value in store.values())


def cached_page_keys() -> list[str]:
    return [key for key in cache.cache._cache if key.startswith("page:")]  # type: ignore[attr-defined]


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def editor_form(profile: SpecialistProfile, **overrides: object) -> dict:
    db.session.refresh(profile)
    data: dict = {
        "display_name": profile.display_name, "title": profile.title, "bio_markdown": profile.bio_markdown,
        "years_of_practice": "8", "licence_type": profile.licence_type, "licence_number": profile.licence_number,
        "licence_jurisdiction": profile.licence_jurisdiction, "specialties": ["anxiety"], "approaches": ["cbt"],
        "languages": ["en"], "formats": ["video"], "city": "Berlin", "country": "DE", "timezone": "Europe/Berlin",
        "fee": "90", "currency": "EUR", "session_minutes": "50", "offers_free_consultation": "y",
        "accepting_new_clients": "y", "video_link": "https://meet.example.org/room", "address": "", "phone": "",
        "version": str(profile.version_id),
    }
    data.update(overrides)
    return data


@pytest.fixture
def visitor(app):
    """A second browser (own cookies) next to ``client``."""
    return app.test_client()


# --- nothing person-specific in shared parts ------------------------------------------------------

def test_cached_parts_hold_nothing_of_the_person_who_warmed_them(client, visitor, app, auth, make_user,
                                                                 make_specialist):
    profile = make_specialist(display_name="Dr Shared Page")
    xavier = make_user(display_name="Xavier Quasimodo", email="xavier.quasimodo@example.test",
                       timezone="Asia/Tokyo")
    auth.login_as(xavier)
    warmed = [text(client.get(url)) for url in (
        "/specialists", "/specialists?free=1&page=1", f"/specialists/{profile.slug}",
        f"/specialists/{profile.slug}?src=campaign")]
    token = CSRF.search(warmed[0]).group(1)
    assert "Log out" in warmed[0] and 'data-testid="message-cta"' in warmed[2]
    assert cached_page_keys(), "nothing was cached"

    secrets = ("Xavier", "xavier.quasimodo", token, "Log out", "csrf", f"/messages/new?to={profile.slug}")
    stored = cached_text()
    assert not [s for s in secrets if s in stored]

    visitor.set_cookie("tz", "Asia/Tokyo")  # the same cache entries as Xavier's
    for url in ("/specialists", "/specialists?free=1&page=1", f"/specialists/{profile.slug}"):
        html = text(visitor.get(url))
        assert not [s for s in secrets if s in html], url
        assert "Login" in html
    assert PROMPT_MESSAGE in html and 'data-testid="message-cta"' not in html

    yvonne = make_user(display_name="Yvonne Other", timezone="Asia/Tokyo")
    other_browser = app.test_client()  # the same browser would keep its session's CSRF secret
    assert other_browser.post("/auth/login", data={"email": yvonne.email, "password": PASSWORD}).status_code == 302
    html = text(other_browser.get(f"/specialists/{profile.slug}"))
    assert 'data-testid="message-cta"' in html and "Dr Shared Page" in html
    assert token not in html and CSRF.search(html).group(1) != token


def test_login_links_bring_each_visitor_back_to_their_own_page(client, visitor, make_specialist):
    profile = make_specialist()
    first = text(client.get("/specialists?ref=first-visitor"))  # unknown parameter: same cached results
    assert "ref%3Dfirst-visitor" in first
    second = text(visitor.get("/specialists?ref=second-visitor"))
    assert "first-visitor" not in second and "ref%3Dsecond-visitor" in second
    assert len([k for k in cached_page_keys() if k.startswith("page:directory")]) == 1

    text(client.get(f"/specialists/{profile.slug}?ref=first-visitor"))
    second = text(visitor.get(f"/specialists/{profile.slug}?ref=second-visitor"))
    assert "first-visitor" not in second and "ref%3Dsecond-visitor" in second


def test_owner_admin_and_others_get_their_own_actions_around_the_shared_body(client, auth, make_user,
                                                                             make_specialist):
    profile = make_specialist(display_name="Dr Owner")
    auth.login_as(profile.user)
    own = text(client.get(f"/specialists/{profile.slug}"))
    assert 'data-testid="message-cta"' not in own and 'data-testid="gated-prompt"' not in own
    auth.logout()
    auth.login_as(make_user(role=Role.ADMIN))
    assert ">Admin<" in text(client.get(f"/specialists/{profile.slug}"))
    auth.logout()
    auth.login_as(make_user())
    other = text(client.get(f"/specialists/{profile.slug}"))
    assert 'data-testid="message-cta"' in other and ">Admin<" not in other


def test_unpublished_preview_is_never_cached_or_shown_to_others(client, visitor, auth, make_specialist):
    draft = make_specialist(display_name="Dr Draft Preview", is_published=False)
    auth.login_as(draft.user)
    html = text(client.get(f"/specialists/{draft.slug}"))
    assert 'data-testid="preview-banner"' in html and "Edit and publish your profile" in html
    assert "Dr Draft Preview" not in cached_text()
    assert visitor.get(f"/specialists/{draft.slug}").status_code == 404


def test_flash_messages_belong_to_one_request(client, make_specialist):
    make_specialist()
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "A message for one visitor")]
    assert "A message for one visitor" in text(client.get("/specialists"))
    assert "A message for one visitor" not in text(client.get("/specialists"))
    assert "A message for one visitor" not in cached_text()


def test_markers_never_reach_a_page_and_cannot_be_forged(client, visitor, auth, make_user, make_specialist):
    forged = "<!--person:_person.html:account_nav:" + "0" * 32 + "-->"
    profile = make_specialist(display_name="Dr Marker", bio_html=f"<p>About me</p>{forged}")
    auth.login_as(make_user())
    for browser in (client, visitor):
        directory, page = text(browser.get("/specialists")), text(browser.get(f"/specialists/{profile.slug}"))
        assert "<!--person:" not in directory
        assert page.count("<!--person:") == 1 and forged in page  # only the bio's own, left as an inert comment
        assert directory.count('class="account-nav"') == page.count('class="account-nav"') == 1
        assert page.count("Log out") == (1 if browser is client else 0)


def test_fragments_refuse_person_specific_globals(app):
    env = fragment_environment()
    for source in ("{{ current_user.email }}", "{{ csrf_token() }}", "{{ current_path() }}",
                   "{{ request.args }}", "{% if session %}x{% endif %}", "{{ viewer_timezone() }}"):
        with app.test_request_context("/specialists?next=/elsewhere"):
            with pytest.raises(PersonalDataInFragment):
                env.from_string(source).render()
    with app.test_request_context("/"):
        assert env.from_string("{{ url_for('specialists.directory') }}").render() == "/specialists"


# --- changes are visible at once ------------------------------------------------------------------

def test_profile_edits_show_at_once_on_warm_pages(client, visitor, auth, make_specialist):
    profile = make_specialist(display_name="Dr Before Edit")
    for url in ("/specialists", f"/specialists/{profile.slug}"):
        assert "Dr Before Edit" in text(visitor.get(url))
    auth.login_as(profile.user)
    response = client.post(EDIT, data=editor_form(profile, display_name="Dr After Edit",
                                                  bio_markdown="Now working with **grief**."))
    assert response.status_code == 302
    directory, page = text(visitor.get("/specialists")), text(visitor.get(f"/specialists/{profile.slug}"))
    assert "Dr After Edit" in directory and "Dr Before Edit" not in directory
    assert "Dr After Edit" in page and "<strong>grief</strong>" in page


def test_publishing_and_unpublishing_show_at_once(client, visitor, auth, make_specialist):
    make_specialist(display_name="Dr Always There")
    draft = make_specialist(display_name="Dr Coming Soon", is_published=False)
    set_weekly_hours(draft.id, [(0, "09:00", "12:00")])  # publishing needs hours
    assert "Dr Coming Soon" not in text(visitor.get("/specialists"))
    assert visitor.get(f"/specialists/{draft.slug}").status_code == 404
    auth.login_as(draft.user)
    assert client.post("/specialists/me/publish").status_code == 302
    assert "Dr Coming Soon" in text(visitor.get("/specialists"))
    assert "Dr Coming Soon" in text(visitor.get(f"/specialists/{draft.slug}"))
    assert client.post("/specialists/me/unpublish").status_code == 302
    assert "Dr Coming Soon" not in text(visitor.get("/specialists"))
    assert visitor.get(f"/specialists/{draft.slug}").status_code == 404


def test_a_changed_slug_moves_the_page_at_once(visitor, make_specialist):
    """A warm page is found by its slug without reading the row; a slug that changed is not."""
    profile = make_specialist(display_name="Dr Moving House")
    old = profile.slug
    assert "Dr Moving House" in text(visitor.get(f"/specialists/{old}"))
    profile.slug = f"{old}-new"
    db.session.commit()  # any committed change to the row bumps its version
    assert visitor.get(f"/specialists/{old}").status_code == 404
    assert "Dr Moving House" in text(visitor.get(f"/specialists/{old}-new"))
    profile.slug = old
    db.session.commit()
    assert visitor.get(f"/specialists/{old}-new").status_code == 404
    assert "Dr Moving House" in text(visitor.get(f"/specialists/{old}"))


def test_photo_change_shows_at_once(client, visitor, auth, make_specialist):
    from tests.integration.test_specialists_profile import png_bytes

    profile = make_specialist(display_name="Dr Photo")
    for url in ("/specialists", f"/specialists/{profile.slug}"):
        assert "/static/img/avatar.svg" in text(visitor.get(url))
    auth.login_as(profile.user)
    data = editor_form(profile, photo=(__import__("io").BytesIO(png_bytes((200, 200))), "me.png"))
    assert client.post(EDIT, data=data, content_type="multipart/form-data").status_code == 302
    db.session.refresh(profile)
    assert profile.photo_filename
    for url in ("/specialists", f"/specialists/{profile.slug}"):
        assert f"/specialists/photos/{profile.photo_filename}" in text(visitor.get(url))


def test_licence_verification_shows_at_once(client, visitor, auth, make_user, make_specialist):
    profile = make_specialist(display_name="Dr Pending", verification_status=VerificationStatus.PENDING)
    assert visitor.get(f"/specialists/{profile.slug}").status_code == 404  # not listed before verification
    assert "Dr Pending" not in text(visitor.get("/specialists"))
    auth.login_as(make_user(role=Role.ADMIN))
    assert client.post(f"/admin/verification/{profile.id}/approve").status_code == 302
    assert 'data-testid="verified-badge"' in text(visitor.get(f"/specialists/{profile.slug}"))
    assert "Dr Pending" in text(visitor.get("/specialists"))


def test_campaign_changes_show_at_once(client, visitor, auth, make_user, make_specialist):
    _first, second = make_specialist(display_name="Dr Aaa First"), make_specialist(display_name="Dr Zzz Second")
    assert "badge-featured" not in text(visitor.get("/specialists"))
    auth.login_as(make_user(role=Role.ADMIN))
    today = today_utc()
    client.post("/admin/featured/new", data={"name": "Spring", "starts_on": (today - timedelta(days=1)).isoformat(),
                                             "ends_on": (today + timedelta(days=5)).isoformat(), "active": "y"})
    campaign_id = db.session.scalar(select(Campaign.id))
    assert client.post(f"/admin/featured/{campaign_id}/entries", data={"profile_id": second.id}).status_code == 302
    html = text(visitor.get("/specialists"))
    assert html.index("Dr Zzz Second") < html.index("Dr Aaa First") and html.count("badge-featured") == 1
    entry_id = db.session.scalar(select(Campaign).where(Campaign.id == campaign_id)).entries[0].id
    assert client.post(f"/admin/featured/{campaign_id}/entries/{entry_id}/remove").status_code == 302
    html = text(visitor.get("/specialists"))
    assert "badge-featured" not in html and html.index("Dr Aaa First") < html.index("Dr Zzz Second")


def test_deleting_a_specialist_account_removes_them_at_once(client, visitor, auth, make_specialist):
    make_specialist(display_name="Dr Staying")
    leaving = make_specialist(display_name="Dr Leaving")
    slug = leaving.slug
    assert "Dr Leaving" in text(visitor.get("/specialists"))
    assert visitor.get(f"/specialists/{slug}").status_code == 200
    auth.login_as(leaving.user)
    assert client.post("/account/delete", data={"password": PASSWORD}).status_code == 302
    assert "Dr Leaving" not in text(visitor.get("/specialists"))
    assert visitor.get(f"/specialists/{slug}").status_code == 404


def test_unread_badge_follows_messages_sent_and_read(client, auth, make_user, make_specialist):
    profile, casey = make_specialist(), make_user(display_name="Casey Client")
    conversation = Conversation(client_id=casey.id, specialist_id=profile.user_id, specialist_profile_id=profile.id,
                                started_by_id=casey.id)
    conversation.messages.append(Message(sender_id=casey.id, body="hello"))
    db.session.add(conversation)
    db.session.commit()
    auth.login_as(profile.user)
    assert 'data-testid="unread-badge">1<' in text(client.get("/specialists"))
    auth.logout()
    auth.login_as(casey)
    assert client.post(f"/messages/{conversation.id}", data={"body": "one more"}).status_code == 302
    auth.logout()
    auth.login_as(profile.user)
    assert 'data-testid="unread-badge">2<' in text(client.get("/specialists"))  # was cached as 1
    text(client.get(f"/messages/{conversation.id}"))  # reading
    assert 'data-testid="unread-badge"' not in text(client.get("/specialists"))


def test_entries_expire_even_without_a_change(client, make_specialist, monkeypatch):
    import cachelib.simple

    import marketplace.cache

    profile = make_specialist(display_name="Dr Old Name")
    text(client.get("/specialists"))
    text(client.get(f"/specialists/{profile.slug}"))
    db.session.execute(SpecialistProfile.__table__.update().where(SpecialistProfile.id == profile.id)
                       .values(display_name="Dr New Name"))  # behind the app's back: no version bump
    db.session.commit()
    assert "Dr Old Name" in text(client.get("/specialists"))
    later = cachelib.simple.time() + 10 * 60 + 1  # the longest timeout (profile body) has passed
    monkeypatch.setattr(cachelib.simple, "time", lambda: later)
    monkeypatch.setattr(marketplace.cache, "clock", lambda: later)  # this process's copies too
    assert "Dr New Name" in text(client.get("/specialists"))
    assert "Dr New Name" in text(client.get(f"/specialists/{profile.slug}"))


# --- two processes sharing Redis ------------------------------------------------------------------

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_or_skip():  # type: ignore[no-untyped-def]
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        require(False, f"Redis not reachable at {REDIS_URL} ({type(exc).__name__})")
    return client


@contextmanager
def two_apps_sharing_redis(database_url: str, tmp_path, **settings: object):  # type: ignore[no-untyped-def]
    """Two app instances (two processes' worth) on one database and one Redis cache of their own
    prefix: ``(app_a, app_b, redis_client, prefix)``; the prefix's keys are deleted afterwards."""
    redis_client = _redis_or_skip()
    prefix = f"test-{uuid.uuid4().hex}:"
    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "UPLOAD_FOLDER": str(tmp_path / "uploads"),
                "CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": prefix, **settings}
    app_a, app_b = create_app("testing", settings), create_app("testing", settings)
    try:
        yield app_a, app_b, redis_client, prefix
    finally:
        for key in redis_client.scan_iter(f"{prefix}*"):
            redis_client.delete(key)
        for other in (app_a, app_b):
            with other.app_context():
                db.engine.dispose()


def test_two_app_instances_sharing_redis_see_an_edit_at_once(app, database_url, make_specialist, tmp_path):
    profile = make_specialist(display_name="Dr Shared Cache", next_available_at=utcnow() + timedelta(days=1))
    with two_apps_sharing_redis(database_url, tmp_path) as (app_a, app_b, redis_client, prefix):
        browser_a, browser_b = app_a.test_client(), app_b.test_client()
        for browser in (browser_a, browser_b):
            for url in ("/specialists", f"/specialists/{profile.slug}"):
                assert "Dr Shared Cache" in text(browser.get(url))
        assert redis_client.keys(f"{prefix}page:profile:*") and redis_client.keys(f"{prefix}page:directory:*")

        response = browser_a.post("/auth/login", data={"email": profile.user.email, "password": PASSWORD})
        assert response.status_code == 302
        response = browser_a.post(EDIT, data=editor_form(profile, display_name="Dr Edited On A",
                                                         bio_markdown="Edited through app A."))
        assert response.status_code == 302

        directory, page = text(browser_b.get("/specialists")), text(browser_b.get(f"/specialists/{profile.slug}"))
        assert "Dr Edited On A" in directory and "Dr Shared Cache" not in directory
        assert "Dr Edited On A" in page and "Edited through app A." in page


def test_the_booking_card_is_shared_and_follows_the_calendar(client, make_specialist, make_user, auth, count_queries):
    from tests.integration.test_consultations import book_via_http, first_free_slot, open_all_week

    profile = make_specialist(formats=["video"])
    open_all_week(profile)
    path = f"/specialists/{profile.slug}"
    first = client.get(path).get_data(as_text=True)
    assert 'data-testid="profile-booking"' in first
    with count_queries() as counter:
        assert client.get(path).get_data(as_text=True).count('data-testid="profile-booking"') == 1
    assert not any("availability_snapshots" in s for s in counter.statements)  # the card came from the cache

    slot = first_free_slot(profile)
    shown = slot.strftime("%Y-%m-%dT%H:%M:%SZ").replace(":", "%3A")
    assert shown in first or slot.strftime("%Y-%m-%dT%H:%M:%SZ") in first
    auth.login_as(make_user())
    assert book_via_http(client, profile, slot).status_code == 302
    auth.logout()
    after = client.get(path).get_data(as_text=True)
    assert shown not in after and slot.strftime("%Y-%m-%dT%H:%M:%SZ") not in after  # the booked time is gone at once


def test_versions_in_redis_are_forgotten_a_week_after_their_last_change(app, database_url, tmp_path):
    """A version key (one per account, profile, …) does not stay in Redis forever: it expires
    VERSION_SECONDS after it was made or last bumped, far longer than anything cached under it."""
    with two_apps_sharing_redis(database_url, tmp_path) as (app_a, _app_b, redis_client, prefix):
        with app_a.app_context():
            read = version("ttl-read")
            bump_version("ttl-bumped")
            bump_version("ttl-bumped")
        for name in ("ttl-read", "ttl-bumped"):
            assert 0 < redis_client.ttl(f"{prefix}v:{name}") <= VERSION_SECONDS
        redis_client.delete(f"{prefix}v:ttl-read")  # expired: read again, it restarts from the clock
        with app_a.app_context():
            assert version("ttl-read") > read
