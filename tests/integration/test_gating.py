"""Each gated action shows the seed prompt to visitors and returns them after login."""
import pytest

from marketplace.security import PROMPT_CONTACT, PROMPT_MESSAGE, PROMPT_QUESTION, PROMPT_SPECIALIST_PROFILE
from tests.factories import PASSWORD


@pytest.fixture
def gated_urls(make_specialist):
    profile = make_specialist()
    return {
        f"/messages/new?to={profile.slug}": PROMPT_MESSAGE,
        "/specialists/new": PROMPT_SPECIALIST_PROFILE,
        "/contact": PROMPT_CONTACT,
        "/questions/new": PROMPT_QUESTION,
    }


def test_each_gated_action_shows_its_seed_prompt_and_returns_after_login(client, make_user, gated_urls):
    user = make_user()
    for url, prompt in gated_urls.items():
        html = client.get(url).get_data(as_text=True)
        assert prompt in html, url
        assert "Login" in html and "Sign up" in html
        from urllib.parse import unquote

        assert f"next={url}" in unquote(html.replace("&amp;", "&")), url
        response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "next": url})
        assert response.status_code == 302 and response.headers["Location"].endswith(url), url
        client.post("/auth/logout")


def test_signup_from_prompt_returns_to_page(client, gated_urls):
    url = "/questions/new"
    response = client.post("/auth/signup", data={"display_name": "Kim", "email": "kim@example.test",
                                                 "password": "a-calm-river-at-dawn", "confirm": "a-calm-river-at-dawn",
                                                 "next": url})
    assert response.status_code == 302 and response.headers["Location"].endswith(url)


def test_open_redirect_next_refused_after_signup(client):
    response = client.post("/auth/signup", data={"display_name": "Kim", "email": "kim2@example.test",
                                                 "password": "a-calm-river-at-dawn", "confirm": "a-calm-river-at-dawn",
                                                 "next": "//evil.example"})
    assert response.status_code == 302 and "evil.example" not in response.headers["Location"]
