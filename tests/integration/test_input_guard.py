"""One input guard at the edge: control characters and out-of-range ids never reach a query (no 500)."""
from __future__ import annotations

import pytest
from flask import abort
from sqlalchemy import text

from marketplace.auth.models import Role
from marketplace.extensions import db

VISITOR_PATHS = ["/specialists/a%00b", "/articles/a%00b", "/questions?q=a%00b", "/questions?topic=a%00b",
                 "/specialists?q=a%00b", "/specialists?city=%01x", "/specialists/a%7fb"]
CLIENT_PATHS = ["/messages/new?to=a%00b", "/payments/success?session_id=cs_%00"]
ADMIN_PATHS = ["/admin/audit?action=a%00b", "/admin/featured/1?q=a%00b"]


@pytest.mark.parametrize("path", VISITOR_PATHS)
def test_control_characters_in_visitor_paths_and_queries_are_a_400(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert "not allowed" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", CLIENT_PATHS)
def test_control_characters_for_logged_in_users_are_a_400(client, auth, make_user, path):
    auth.login_as(make_user(Role.CLIENT))
    assert client.get(path).status_code == 400


@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_control_characters_for_admins_are_a_400(client, auth, make_user, path):
    auth.login_as(make_user(Role.ADMIN))
    assert client.get(path).status_code == 400


def test_nul_in_a_form_field_is_refused_and_changes_nothing(client, auth, make_user):
    user = make_user(Role.CLIENT, display_name="Kept Name")
    auth.login_as(user)
    response = client.post("/account", data={"display_name": "Evil\x00Name", "email": user.email, "timezone": "UTC"})
    assert response.status_code == 400
    db.session.refresh(user)
    assert user.display_name == "Kept Name"


def test_line_breaks_and_tabs_in_text_fields_are_fine(client):
    response = client.post("/contact", data={"name": "A\tB", "email": "x@example.test", "subject": "Hi",
                                            "message": "line one\r\nline two"})
    assert response.status_code != 400


@pytest.mark.parametrize("value", ["99999999999999999999", str(2**63), str(-(2**63)), "-1", "0", "1e5", "x"])
def test_out_of_range_ids_in_queries_are_not_a_500(client, auth, make_user, value):
    auth.login_as(make_user(Role.SPECIALIST))
    assert client.get(f"/messages/new?client={value}").status_code < 500


@pytest.mark.config(PROPAGATE_EXCEPTIONS=False)
def test_the_error_page_renders_after_a_database_error_for_a_logged_in_user(app, client, auth, make_user, backend):
    @app.get("/_boom")
    def _boom():  # type: ignore[no-untyped-def]
        db.session.execute(text("SELECT no_such_column FROM users"))  # aborts the transaction (PostgreSQL)
        abort(200)

    auth.login_as(make_user(Role.CLIENT, display_name="Logged In Person"))
    response = client.get("/_boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert "Account" in page  # the layout rendered with the user's own navigation
