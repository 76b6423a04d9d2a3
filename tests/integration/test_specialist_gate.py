"""Becoming a specialist (issue 14, "Gates and wording"): "Create specialist profile" / "Join as a
specialist" lead to the create page — the seed prompt for a visitor, with Login and Sign up links
that come back; a logged-in client reaches the page (no silent redirect to the home page); the
specialist sign-up has its own help text, the client sign-up says where the name appears.

Both databases (the ``app`` fixture is parametrised).
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from marketplace.auth.models import Role, User
from marketplace.extensions import db
from tests.factories import PASSWORD
from tests.integration.test_gating import PROMPT_SPECIALIST_PROFILE, gate_blocks

STRONG = "a-calm-river-at-dawn"
NEW = "/specialists/new"


def login(client, user) -> None:
    assert client.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


@pytest.mark.parametrize("page,label", [("/", "Create specialist profile"), ("/free-consultation",
                                                                              "Create specialist profile"),
                                        ("/", "Join as a specialist")])
def test_the_invitations_lead_to_the_create_page(client, page, label):
    html = client.get(page).get_data(as_text=True)
    assert f'href="{NEW}">{label}</a>' in html or f'href="{NEW}" class="button">{label}</a>' in html
    assert f'href="/auth/signup?role=specialist">{label}' not in html


def test_a_visitor_sees_the_seed_prompt_with_links_that_return(client):
    response = client.get(NEW)
    assert response.status_code == 200
    [block] = gate_blocks(response.get_data(as_text=True))
    assert PROMPT_SPECIALIST_PROFILE in block["text"]
    links = {text: urlsplit(href) for href, text in block["links"]}
    assert links["Login"].path == "/auth/login" and parse_qs(links["Login"].query)["next"] == [NEW]
    assert links["Sign up"].path == "/auth/signup"
    assert parse_qs(links["Sign up"].query) == {"role": ["specialist"], "next": [NEW]}


def test_a_logged_in_client_reaches_the_create_page(client, make_user):
    login(client, make_user(Role.CLIENT))
    for url in (NEW, "/auth/signup?role=specialist"):
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200 and response.request.path == NEW, url
        assert "Create your specialist profile" in response.get_data(as_text=True)


def test_the_specialist_sign_up_login_link_keeps_the_way_back(client):
    html = client.get("/auth/signup?role=specialist").get_data(as_text=True)
    assert f'<a href="/auth/login?next={NEW}">Login</a>' in html  # (the header's Login link is another)


def test_signing_up_from_the_prompt_makes_a_specialist_at_the_editor(client):
    response = client.post(f"/auth/signup?role=specialist&next={NEW}", data={
        "display_name": "Dr Anna Weber", "email": "anna@example.test", "password": STRONG, "confirm": STRONG,
        "next": NEW})
    assert response.status_code == 302 and response.headers["Location"].endswith("/specialists/me/edit")
    user = db.session.scalar(select(User).where(User.email == "anna@example.test"))
    assert user is not None and user.role is Role.SPECIALIST


def test_each_sign_up_has_its_own_help_for_the_name(client):
    specialist = client.get("/auth/signup?role=specialist").get_data(as_text=True)
    visitor = client.get("/auth/signup").get_data(as_text=True)
    assert "Shown on your public profile" in specialist and "Shown to specialists you contact" not in specialist
    assert "with questions you ask unless you ask anonymously" in visitor
    assert "Shown on your public profile" not in visitor
