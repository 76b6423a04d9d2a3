"""Logging out ends the session on the server: cookies captured before do not open the account."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from marketplace.auth.models import AuthSession
from marketplace.extensions import db
from tests.factories import PASSWORD


def _cookies(client: Any) -> dict[str, str]:
    """The browser's cookies as an attacker would copy them."""
    return {cookie.key: cookie.value for cookie in client._cookies.values()}


def _replay(app: Any, cookies: dict[str, str]) -> Any:
    """A fresh browser that only has the copied cookies."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other.get("/account")


def _login(app: Any, user: Any, *, remember: bool = False) -> Any:
    browser = app.test_client()
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    assert browser.post("/auth/login", data=data).status_code == 302
    assert browser.get("/account").status_code == 200
    return browser


def test_cookies_captured_before_logout_do_not_open_the_account(app, make_user):
    user = make_user()
    browser = _login(app, user, remember=True)
    captured = _cookies(browser)
    assert {"session", "remember_token"} <= set(captured)
    assert _replay(app, captured).status_code == 200  # the copy works while the session lives

    assert browser.post("/auth/logout").status_code == 302
    response = _replay(app, captured)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    only_remember = {"remember_token": captured["remember_token"]}
    assert _replay(app, only_remember).status_code == 302


def test_logging_out_one_browser_keeps_the_others(app, make_user):
    user = make_user()
    laptop, phone = _login(app, user), _login(app, user)
    laptop.post("/auth/logout")
    assert phone.get("/account").status_code == 200
    assert laptop.get("/account").status_code == 302


def test_log_out_everywhere_from_another_browser_ends_every_session(app, make_user):
    user = make_user()
    laptop = _login(app, user, remember=True)
    captured = _cookies(laptop)
    phone = _login(app, user)

    response = phone.post("/account/sessions/end")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]

    assert laptop.get("/account").status_code == 302
    assert phone.get("/account").status_code == 302
    assert _replay(app, captured).status_code == 302
    assert _replay(app, {"remember_token": captured["remember_token"]}).status_code == 302
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AuthSession)
                             .where(AuthSession.revoked_at.is_(None))) == 0
    assert _login(app, user).get("/account").status_code == 200  # and one can log in again


def test_the_account_page_offers_log_out_everywhere(client, make_user, auth):
    auth.login_as(make_user())
    page = client.get("/account").get_data(as_text=True)
    assert 'action="/account/sessions/end"' in page and "Log out everywhere" in page


def test_log_out_everywhere_needs_csrf(app, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user()
    browser = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    assert browser.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    app.config["WTF_CSRF_ENABLED"] = True
    assert browser.post("/account/sessions/end").status_code == 400
    app.config["WTF_CSRF_ENABLED"] = False
    assert browser.get("/account").status_code == 200


def test_only_the_token_hash_is_stored(app, make_user):
    browser = _login(app, make_user())
    db.session.commit()
    stored = db.session.scalars(select(AuthSession.token_hash)).all()
    with browser.session_transaction() as session:
        token = session["_user_id"].split(":")[2]
    assert token and token not in stored and len(stored[0]) == 64


def test_ended_and_expired_sessions_are_pruned_by_the_nightly_job(app, make_user):
    from datetime import timedelta

    from marketplace.auth.sessions import prune_ended_sessions
    from marketplace.database import utcnow

    live, revoked_long_ago, revoked_now = (_login(app, make_user()) for _ in range(3))
    db.session.commit()
    rows = db.session.scalars(select(AuthSession).order_by(AuthSession.created_at)).all()
    rows[1].revoked_at = utcnow() - timedelta(days=3)
    rows[2].revoked_at = utcnow()
    db.session.commit()
    assert prune_ended_sessions() == 1
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AuthSession)) == 2
    assert live.get("/account").status_code == 200
