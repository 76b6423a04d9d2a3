"""Buttons only for the people who can use them (issue 14: specialists and admins saw "Ask a
question" and "Send a message", which answered 403). The pages are cached and shared; the
buttons are the person's part, filled in per request."""
from __future__ import annotations

import pytest

from marketplace.auth.models import Role

ASK = 'data-testid="ask-link"'
MESSAGE = 'data-testid="message-cta"'


@pytest.fixture
def listed(make_specialist):
    return make_specialist(display_name="Dr Noor Haddad")


@pytest.mark.parametrize("path", ["/", "/questions"])
def test_ask_a_question_is_offered_to_visitors_and_clients_only(client, auth, make_user, make_specialist, path):
    assert ASK in client.get(path).get_data(as_text=True)  # a visitor: the link leads to the log-in prompt
    auth.login_as(make_user(Role.CLIENT))
    assert ASK in client.get(path).get_data(as_text=True)
    for user in (make_specialist().user, make_user(Role.ADMIN)):
        auth.logout()
        auth.login_as(user)
        html = client.get(path).get_data(as_text=True)
        assert ASK not in html, (user.role, path)
        assert client.get("/questions/new").status_code in (302, 403)  # what the button used to lead to


def test_a_specialist_is_pointed_at_answering_on_the_home_page(client, auth, make_specialist):
    auth.login_as(make_specialist().user)
    assert 'data-testid="answer-link"' in client.get("/").get_data(as_text=True)


def test_send_a_message_is_offered_to_clients_only(client, auth, make_user, make_specialist, listed):
    url = f"/specialists/{listed.slug}"
    auth.login_as(make_user(Role.CLIENT))
    assert MESSAGE in client.get(url).get_data(as_text=True)
    for user in (make_specialist().user, make_user(Role.ADMIN), listed.user):
        auth.logout()
        auth.login_as(user)
        assert MESSAGE not in client.get(url).get_data(as_text=True), user.role
