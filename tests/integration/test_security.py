"""CSRF, rate limits, headers, error pages, health check, no foreign hosts."""
import re

import pytest


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_post_without_csrf_token_is_rejected(client, make_user):
    user = make_user()
    response = client.post("/auth/login", data={"email": user.email, "password": "x" * 12})
    assert response.status_code == 400
    response = client.post("/auth/logout")
    assert response.status_code == 400


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_post_with_csrf_token_is_accepted(client, make_user):
    user = make_user()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    from tests.factories import PASSWORD

    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


@pytest.mark.config(RATELIMIT_ENABLED=True)
def test_login_is_rate_limited(client):
    statuses = [client.post("/auth/login", data={"email": "x@example.test", "password": "wrong-password"}).status_code
                for _ in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[-1] == 429


def test_security_headers_present(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_session_cookie_flags(client, make_user):
    from tests.factories import PASSWORD

    user = make_user()
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "reachable"}


def test_404_page_is_friendly(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/free-consultation", "/auth/login", "/auth/signup", "/auth/reset"])
def test_pages_load_nothing_from_other_hosts(client, path):
    html = client.get(path).get_data(as_text=True)
    for attr in re.findall(r'(?:src|href)="([^"]+)"', html):
        if attr.startswith(("http://", "https://", "//")):
            # Plain share links are allowed (they are navigations, not loads); nothing is loaded from them.
            assert not re.search(r"<(script|link|img)[^>]+" + re.escape(attr), html), attr


def test_production_refuses_default_secret():
    from marketplace import create_app

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def test_rate_limits_are_shared_through_redis(app):
    """Two app instances (think: two gunicorn hosts) share one login budget via Redis."""
    import uuid

    from marketplace import create_app
    from tests.conftest import require

    require(_redis_available(), "Redis not reachable at 127.0.0.1:6379")
    prefix = f"balance-test-{uuid.uuid4().hex}"
    config = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "RATELIMIT_ENABLED": True,
              "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0", "RATELIMIT_KEY_PREFIX": prefix}
    # Its own address and account too: the counts of other tests in this process (whatever the
    # limiter's key prefix) can never meet this test's, so the order the tests run in does not matter.
    address, email = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7", f"x-{uuid.uuid4().hex}@example.test"

    def attempt(client):  # type: ignore[no-untyped-def]
        return client.post("/auth/login", data={"email": email, "password": "wrong-password"},
                           environ_base={"REMOTE_ADDR": address}).status_code

    first = create_app("testing", config).test_client()
    statuses = [attempt(first) for _ in range(10)]
    assert 429 not in statuses
    second = create_app("testing", config).test_client()
    assert attempt(second) == 429
