"""Each gated action shows its LITERAL seed prompt to visitors inside the gate block, with Login and
Sign up links that bring them back (``next``), and returns them there after login.

The header always has "Login" and "Sign up" links, so the checks look only inside the gate block
(the ``gated_prompt`` macro of templates/macros/ui.html: ``<div data-testid="gated-prompt">``).
"""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from marketplace import security
from tests.factories import PASSWORD

# The seed wording (PRODUCT.md, "Login gating"), written out: a changed constant must fail here.
PROMPT_MESSAGE = "You need to be logged in to send messages"
PROMPT_SPECIALIST_PROFILE = "To create your specialist profile, please log in to your account."
PROMPT_CONTACT = "You need to be logged in to contact us"
PROMPT_QUESTION = "To create a new Question, please log in or create an account"
PROMPT_BOOKING = "You need to be logged in to book a consultation"


class GateBlocks(HTMLParser):
    """The gate blocks of a page: their text and their links (href, text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[dict[str, list]] = []
        self._depth = 0  # open elements inside the current block (0: outside)
        self._link: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if self._depth:
            if tag not in ("br", "img", "input", "hr", "meta", "link"):
                self._depth += 1
            if tag == "a":
                self._link = (attributes.get("href") or "", [])
        elif attributes.get("data-testid") == "gated-prompt":
            self.blocks.append({"text": [], "links": []})
            self._depth = 1

    def handle_endtag(self, tag: str) -> None:
        if not self._depth:
            return
        if tag == "a" and self._link is not None:
            href, text = self._link
            self.blocks[-1]["links"].append((href, " ".join("".join(text).split())))
            self._link = None
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.blocks[-1]["text"].append(data)
            if self._link is not None:
                self._link[1].append(data)


def gate_blocks(html: str) -> list[dict[str, object]]:
    parser = GateBlocks()
    parser.feed(html)
    parser.close()
    return [{"text": " ".join("".join(b["text"]).split()), "links": b["links"]} for b in parser.blocks]


def assert_gate(html: str, prompt: str, back: str, where: str) -> None:
    """Exactly one gate block; it holds the prompt and Login / Sign up links whose ``next`` is ``back``."""
    blocks = gate_blocks(html)
    assert len(blocks) == 1, f"{where}: expected one gate block, found {len(blocks)}"
    block = blocks[0]
    assert prompt in block["text"], f"{where}: the gate block says {block['text']!r}, not the seed prompt {prompt!r}"
    links = {text: href for href, text in block["links"]}
    for text, path in (("Login", "/auth/login"), ("Sign up", "/auth/signup")):
        assert text in links, f"{where}: no {text!r} link inside the gate block (links: {block['links']})"
        parts = urlsplit(links[text])
        assert parts.path == path, f"{where}: {text!r} goes to {links[text]}"
        assert parse_qs(parts.query).get("next") == [back], f"{where}: {text!r} link {links[text]} does not lead back to {back}"


@pytest.fixture
def specialist(make_specialist):
    return make_specialist()


def gated_pages(profile) -> dict[str, tuple[str, str]]:
    """name -> (url, seed prompt): every action a visitor must log in for."""
    return {
        "message-new": (f"/messages/new?to={profile.slug}", PROMPT_MESSAGE),
        "message-inbox": ("/messages", PROMPT_MESSAGE),
        "message-thread": ("/messages/1", PROMPT_MESSAGE),
        "specialist-profile-creation": ("/specialists/new", PROMPT_SPECIALIST_PROFILE),
        "contact": ("/contact", PROMPT_CONTACT),
        "question": ("/questions/new", PROMPT_QUESTION),
        "booking": (f"/specialists/{profile.slug}/book", PROMPT_BOOKING),
        "paid-booking": (f"/payments/book/{profile.slug}", PROMPT_BOOKING),
    }


GATED = ["message-new", "message-inbox", "message-thread", "specialist-profile-creation", "contact", "question",
         "booking", "paid-booking"]


def test_the_prompts_are_the_seed_wording():
    assert (security.PROMPT_MESSAGE, security.PROMPT_SPECIALIST_PROFILE, security.PROMPT_CONTACT,
            security.PROMPT_QUESTION, security.PROMPT_BOOKING) == (
        PROMPT_MESSAGE, PROMPT_SPECIALIST_PROFILE, PROMPT_CONTACT, PROMPT_QUESTION, PROMPT_BOOKING)


@pytest.mark.parametrize("name", GATED)
def test_each_gated_page_shows_its_seed_prompt_inside_the_gate_block(client, specialist, name):
    url, prompt = gated_pages(specialist)[name]
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    assert_gate(response.get_data(as_text=True), prompt, url, url)


def test_a_gated_post_shows_the_prompt_and_leads_back_to_the_page(client):
    response = client.post("/contact", data={"subject": "Hello", "body": "Hi there."})
    assert response.status_code == 200
    assert_gate(response.get_data(as_text=True), PROMPT_CONTACT, "/contact", "POST /contact")


def test_the_profile_page_gates_messaging_inline(client, specialist):
    url = f"/specialists/{specialist.slug}"
    response = client.get(url)
    assert response.status_code == 200
    assert_gate(response.get_data(as_text=True), PROMPT_MESSAGE, url, url)


@pytest.mark.parametrize("name", ["message-new", "specialist-profile-creation", "contact", "question", "booking"])
def test_after_login_from_the_prompt_the_visitor_is_back_and_the_gate_is_gone(client, make_user, specialist, name):
    url, _ = gated_pages(specialist)[name]
    user = make_user()
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "next": url})
    assert response.status_code == 302 and response.headers["Location"].endswith(url), url
    page = client.get(url)
    assert page.status_code < 500
    assert gate_blocks(page.get_data(as_text=True)) == [], f"{url}: a logged-in user still sees the gate"


def test_the_gate_parser_looks_only_inside_the_block():
    """Header links and a prompt outside the block do not count (the test can fail)."""
    outside = ('<header><a href="/auth/login?next=/contact">Login</a><a href="/auth/signup?next=/contact">Sign up</a>'
               '</header><p>You need to be logged in to contact us</p>'
               '<div class="gated-prompt" data-testid="gated-prompt"><p>Please log in.</p></div>')
    with pytest.raises(AssertionError, match="not the seed prompt"):
        assert_gate(outside, PROMPT_CONTACT, "/contact", "outside")
    no_links = ('<div data-testid="gated-prompt"><p>You need to be logged in to contact us</p></div>'
                '<a href="/auth/login?next=/contact">Login</a>')
    with pytest.raises(AssertionError, match="no 'Login' link inside"):
        assert_gate(no_links, PROMPT_CONTACT, "/contact", "no links")
    inside = ('<div data-testid="gated-prompt"><p>You need to be logged in to contact us</p><p class="actions">'
              '<a href="/auth/login?next=%2Fcontact">Login</a> <a href="/auth/signup?next=%2Fcontact">Sign up</a></p></div>'
              '<p>after</p>')
    assert_gate(inside, PROMPT_CONTACT, "/contact", "inside")
    assert gate_blocks(inside)[0]["text"].endswith("Sign up")


def test_signup_from_prompt_returns_to_page(client):
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
