"""Accounts: signup, login, logout, reset, password change — on SQLite and PostgreSQL."""
import re

import pytest
from sqlalchemy import func, select

from marketplace.auth.models import Role, User
from marketplace.extensions import db
from tests.factories import PASSWORD

STRONG = "a-calm-river-at-dawn"


def signup(client, email="ann@example.test", password=STRONG, role=None, **extra):
    url = "/auth/signup" + (f"?role={role}" if role else "")
    data = {"display_name": "Ann", "email": email, "password": password, "confirm": password,
            "timezone": "Asia/Tokyo", **extra}
    return client.post(url, data=data)


def test_signup_creates_client_logs_in_and_stores_timezone(client):
    response = signup(client, email="Ann@Example.TEST")
    assert response.status_code == 302
    user = db.session.scalar(select(User))
    assert user.email == "ann@example.test" and user.role is Role.CLIENT and user.timezone == "Asia/Tokyo"
    assert user.password_hash.startswith("$argon2")
    assert "Ann" in client.get("/account").get_data(as_text=True)


def test_email_unique_case_insensitively(client):
    signup(client)
    client.post("/auth/logout")
    response = signup(client, email="ANN@example.test")
    assert response.status_code == 200
    assert "already exists" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id))) == 1


@pytest.mark.parametrize("password,reason", [("short1", "at least 10"), ("password123", "too common"),
                                             ("qwertyuiop", "too common")])
def test_weak_passwords_refused(client, password, reason):
    response = signup(client, password=password)
    assert reason in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_specialist_signup_creates_draft_profile(client):
    from marketplace.specialists.models import SpecialistProfile

    response = signup(client, email="dr@example.test", role="specialist")
    assert response.status_code == 302
    user = db.session.scalar(select(User))
    assert user.role is Role.SPECIALIST
    profile = db.session.scalar(select(SpecialistProfile))
    assert profile.user_id == user.id and profile.is_published is False


def test_login_logout(client, make_user, auth):
    user = make_user(email="bo@example.test")
    assert auth.login("nobody@example.test").status_code == 401
    assert auth.login(user.email, "wrong-password-here").status_code == 401
    response = auth.login("BO@example.test")
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert client.get("/auth/logout").status_code == 405  # logout is POST only
    assert auth.logout().status_code == 302
    assert client.get("/account").status_code == 302


def test_remember_me_sets_cookie(client, make_user, auth):
    user = make_user()
    response = auth.login(user.email, remember="y")
    assert "remember_token" in response.headers.get("Set-Cookie", "") or any(
        "remember_token" in h for h in response.headers.getlist("Set-Cookie"))


def test_login_returns_to_safe_next_only(client, make_user, auth):
    user = make_user()
    response = auth.login(user.email, next="/questions")
    assert response.headers["Location"].endswith("/questions")
    auth.logout()
    for evil in ["//evil.example", "https://evil.example/x", "/\\evil.example"]:
        response = auth.login(user.email, next=evil)
        assert "evil.example" not in response.headers["Location"]
        auth.logout()


def test_password_reset_mail_link_works_once(client, make_user, smtp_server):
    user = make_user(email="reset@example.test")
    response = client.post("/auth/reset", data={"email": "reset@example.test"})
    assert response.status_code == 302
    messages = smtp_server.to("reset@example.test")
    assert len(messages) == 1
    body = messages[0].get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/auth/reset/\S+", body).group(0)
    path = link[link.index("/auth/reset/"):]
    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": "a-brand-new-secret", "confirm": "a-brand-new-secret"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/login")
    # Used once: the same link is now refused and the password is unchanged by a second attempt.
    response = client.post(path, data={"password": "another-new-secret", "confirm": "another-new-secret"})
    assert response.headers["Location"].endswith("/auth/reset")
    assert client.post("/auth/login", data={"email": user.email, "password": "a-brand-new-secret"}).status_code == 302


def test_reset_for_unknown_email_says_the_same_and_sends_nothing(client, smtp_server):
    response = client.post("/auth/reset", data={"email": "ghost@example.test"}, follow_redirects=True)
    assert "If an account exists" in response.get_data(as_text=True)
    assert smtp_server.messages == []


def test_tampered_reset_token_refused(client, make_user):
    make_user()
    response = client.get("/auth/reset/not-a-token")
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/reset")


def test_change_password_logs_out_other_sessions(app, make_user):
    user = make_user()
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        assert c.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    response = first.post("/account/password", data={"current_password": PASSWORD, "password": "new-and-long-secret",
                                                      "confirm": "new-and-long-secret"})
    assert response.status_code == 302
    assert first.get("/account").status_code == 200  # this session stays logged in
    assert second.get("/account").status_code == 302  # the other one is logged out


def test_change_password_requires_current_password(client, make_user, auth):
    user = make_user()
    auth.login_as(user)
    old_hash = user.password_hash
    response = client.post("/account/password", data={"current_password": "wrong-wrong-wrong",
                                                      "password": "new-and-long-secret", "confirm": "new-and-long-secret"})
    assert response.status_code == 422
    db.session.refresh(user)
    assert user.password_hash == old_hash


def test_account_timezone_must_be_valid(client, make_user, auth):
    user = make_user()
    auth.login_as(user)
    response = client.post("/account", data={"display_name": "X", "email": user.email, "timezone": "Mars/Olympus"})
    assert response.status_code == 422
    db.session.refresh(user)
    assert user.timezone == "Europe/Berlin"
    response = client.post("/account", data={"display_name": "X", "email": user.email, "timezone": "America/New_York"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.timezone == "America/New_York"


def test_data_export_is_json_of_my_account(client, make_user, auth):
    user = make_user(display_name="Exporter")
    auth.login_as(user)
    response = client.get("/account/export")
    assert response.mimetype == "application/json"
    assert response.get_json()["account"]["display_name"] == "Exporter"
    assert "password_hash" not in response.get_data(as_text=True)


def test_delete_account_requires_password_and_erases_personal_data(client, make_user, auth):
    user = make_user(email="gone@example.test")
    auth.login_as(user)
    assert client.post("/account/delete", data={"password": "wrong-password-x"}).status_code == 422
    response = client.post("/account/delete", data={"password": PASSWORD})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.deleted_at is not None and "gone@" not in user.email and user.display_name == "Deleted user"
    assert client.post("/auth/login", data={"email": "gone@example.test", "password": PASSWORD}).status_code == 401


def test_create_admin_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "boss@example.test", "--password", "a-very-strong-pass"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.email == "boss@example.test")).role is Role.ADMIN
    result = runner.invoke(args=["create-admin", "weak@example.test", "--password", "short"])
    assert result.exit_code != 0
