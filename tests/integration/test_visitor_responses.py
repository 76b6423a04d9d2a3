"""Pages the same for every visitor (home, directory) are answered again before Flask runs
(marketplace/visitor_responses.py) — only for visitors, only while the page's versions hold, with
the same headers and bytes, and still counted."""
from __future__ import annotations

import gzip
from typing import Any

import pytest
from flask import make_response, request

import marketplace.cache
from marketplace import counters
from marketplace.auth.models import Role
from marketplace.cache import bump_version, clock, versions
from marketplace.extensions import db
from marketplace.visitor_responses import offer_to_visitors, request_key
from tests.integration.test_consultations import open_all_week
from tests.integration.test_featured import make_campaign


@pytest.fixture
def flask_runs(app: Any) -> list[str]:
    """The paths Flask itself handled (a before-request hook; a kept response runs none)."""
    seen: list[str] = []

    @app.before_request
    def _seen() -> None:
        seen.append(request.full_path)

    return seen


@pytest.fixture
def featured_world(app: Any, make_specialist: Any) -> Any:
    featured = make_specialist(formats=["video"], display_name="Dr Kept Featured")
    open_all_week(featured)
    make_campaign(featured)
    db.session.commit()
    return featured


def impressions(placement: str) -> int:
    return sum(n for key, n in counters.drain().items() if key.startswith(f"impressions|{placement}|"))


@pytest.mark.config(COUNTER_FLUSH_SECONDS=60)  # counts stay in the process until drained here
def test_a_visitor_page_is_served_again_without_flask_and_counted(app, client, featured_world, flask_runs):
    first = client.get("/specialists")
    assert first.status_code == 200 and "Dr Kept Featured" in first.get_data(as_text=True)
    counters.drain()
    second = client.get("/specialists")
    third = app.test_client().get("/specialists")  # another visitor: the same bytes
    assert flask_runs.count("/specialists?") == 1
    assert second.get_data() == third.get_data() == first.get_data()
    for header in ("Content-Security-Policy", "X-Frame-Options", "Content-Type", "Vary"):
        assert second.headers.get(header) == first.headers.get(header), header
    assert impressions("directory") == 2  # the two kept answers counted their featured card

    client.get("/")
    client.get("/")
    assert flask_runs.count("/?") == 1 and impressions("home") == 2


def test_a_change_anywhere_is_seen_at_once(app, client, featured_world, flask_runs):
    client.get("/specialists")
    client.get("/specialists")
    featured_world.display_name = "Dr Renamed Featured"
    db.session.commit()  # bumps the directory version (another process would see the same)
    html = client.get("/specialists").get_data(as_text=True)
    assert "Dr Renamed Featured" in html and flask_runs.count("/specialists?") == 2

    bump_version("directory")
    client.get("/specialists")
    assert flask_runs.count("/specialists?") == 3


def test_an_entry_is_not_served_past_its_expiry(app, client, featured_world, flask_runs, monkeypatch):
    client.get("/specialists")
    client.get("/specialists")
    assert flask_runs.count("/specialists?") == 1
    now = marketplace.cache.clock()
    monkeypatch.setattr(marketplace.cache, "clock", lambda: now + 3600)
    client.get("/specialists")
    assert flask_runs.count("/specialists?") == 2


def test_never_for_a_person_a_session_or_another_request(app, client, auth, make_user, featured_world, flask_runs):
    client.get("/specialists")
    client.get("/specialists")
    runs = len(flask_runs)
    auth.login_as(make_user(Role.CLIENT))
    html = client.get("/specialists").get_data(as_text=True)
    assert "Log out" in html and len(flask_runs) == runs + 2  # the login POST and this page
    auth.logout()

    other = app.test_client()
    other.set_cookie("session", "anything")  # a session: flashes, a CSRF token, a login may be in it
    other.get("/specialists")
    zoned = app.test_client()
    zoned.set_cookie("tz_choice", "Asia/Tokyo")
    tokyo = zoned.get("/specialists").get_data(as_text=True)
    assert 'data-viewer-zone="Asia/Tokyo"' in tokyo
    compressed = app.test_client().get("/specialists", headers={"Accept-Encoding": "gzip"})
    assert compressed.headers["Content-Encoding"] == "gzip" and b"Dr Kept Featured" in gzip.decompress(compressed.data)
    app.test_client().head("/specialists")
    assert len(flask_runs) == runs + 3 + 4  # login, page, logout; and each of these four went to Flask


def test_only_offered_responses_without_a_cookie_are_kept(app, flask_runs):
    """A response that sets a cookie belongs to one browser, however its view offered it; one
    that was not offered (no ``offer_to_visitors``) is always Flask's."""
    @app.route("/_offered")
    def _offered() -> Any:
        offer_to_visitors(("directory",), versions("directory"), clock() + 60)
        response = make_response("same for everyone")
        if request.args.get("cookie"):
            response.set_cookie("remember_this", "1")
        return response

    @app.route("/_not_offered")
    def _not_offered() -> str:
        return "not offered"

    for path in ("/_offered?cookie=1", "/_not_offered", "/_offered"):
        for _twice in range(2):
            assert app.test_client().get(path).status_code == 200  # each a new visitor (no cookie yet)
    assert flask_runs == ["/_offered?cookie=1"] * 2 + ["/_not_offered?"] * 2 + ["/_offered?"]


def test_the_key_holds_what_the_response_depends_on():
    base = {"REQUEST_METHOD": "GET", "wsgi.url_scheme": "https", "HTTP_HOST": "balance.example",
            "PATH_INFO": "/specialists", "QUERY_STRING": "page=2", "HTTP_ACCEPT_ENCODING": "br"}
    key = request_key(base)
    assert key is not None
    for change in ({"QUERY_STRING": "page=3"}, {"wsgi.url_scheme": "http"}, {"HTTP_HOST": "other.example"},
                   {"HTTP_ACCEPT_ENCODING": "gzip"}, {"HTTP_COOKIE": "tz=Europe/Berlin"}):
        assert request_key({**base, **change}) not in (None, key), change
    for refused in ({"REQUEST_METHOD": "HEAD"}, {"REQUEST_METHOD": "POST"}, {"HTTP_COOKIE": "session=x"},
                    {"HTTP_COOKIE": "tz=UTC; remember_token=x"}, {"HTTP_AUTHORIZATION": "Basic eA=="},
                    {"QUERY_STRING": "q=" + "x" * 5000}):
        assert request_key({**base, **refused}) is None, refused
