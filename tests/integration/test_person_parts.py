"""The person's parts of every page (``_person.html``: account links, unread badge, the e-mail
confirmation banner, flashes, the time zone note) are rendered once per person, page and state in
each process (``templating.person_module``) — and never shown stale or to anyone else."""
from __future__ import annotations

import re

import pytest
from flask import g, session
from flask_wtf.csrf import generate_csrf
from jinja2 import DictLoader, Environment, meta, nodes
from jinja2.environment import Template

from marketplace.auth.models import Role
from marketplace.extensions import db
from marketplace.messaging.models import Conversation, Message
from marketplace.specialists.pages import PROFILE_PERSON_CONTEXT, PROFILE_PERSON_TEMPLATE
from marketplace.templating import PERSON_CONTEXT, PERSON_TEMPLATE, person_module, person_modules
from tests.factories import PASSWORD
from tests.integration.test_consultations import book, open_all_week

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def module_renders(monkeypatch):
    """The templates rendered as modules, by name, in order (Jinja's own ``make_module``, counted,
    not replaced): ``module_renders.count(PERSON_TEMPLATE)``."""
    rendered: list[str] = []
    make_module = Template.make_module

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        rendered.append(self.name)
        return make_module(self, *args, **kwargs)

    monkeypatch.setattr(Template, "make_module", counting)
    return rendered


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def reads_beyond(app, template: str, context: tuple[str, ...]) -> set[str]:
    """The names ``template`` reads that are neither an app global, nor a context processor's value
    (the person, the request: all in ``person_key``), nor one of ``context``."""
    source = app.jinja_loader.get_source(app.jinja_env, template)[0]
    tree = app.jinja_env.parse(source)
    assigned = {name.name for name in tree.find_all(nodes.Name) if name.ctx == "store"}  # {% set %} in a block
    with app.test_request_context("/"):
        processed: dict = {}
        app.update_template_context(processed)
    return meta.find_undeclared_variables(tree) - assigned - set(app.jinja_env.globals) - set(processed) - set(context)


def test_the_person_template_reads_only_what_its_key_holds(app):
    """A new input of ``_person.html`` must be added to the key before the template may use it."""
    beyond = reads_beyond(app, PERSON_TEMPLATE, PERSON_CONTEXT)
    assert not beyond, f"_person.html reads {sorted(beyond)}: add them to person_key / PERSON_CONTEXT"


def test_rendered_once_per_person_page_and_state(client, auth, make_user, make_specialist, module_renders):
    make_specialist()
    auth.login_as(make_user(display_name="Robin Repeat"))
    assert "You are logged in." in text(client.get("/specialists"))  # the login's flash: rendered, not kept
    first = text(client.get("/specialists"))
    assert module_renders.count(PERSON_TEMPLATE) == 2
    again = text(client.get("/specialists"))
    assert module_renders.count(PERSON_TEMPLATE) == 2  # the same person, page and state: kept
    assert CSRF.search(again).group(1) == CSRF.search(first).group(1)
    assert "Log out" in again and 'data-testid="footer-zone"' in again
    text(client.get("/specialists?page=2"))  # another page: its own Login/zone links
    assert module_renders.count(PERSON_TEMPLATE) == 3


def test_a_change_in_the_same_session_shows_at_once(client, auth, make_user, make_specialist):
    profile, casey = make_specialist(), make_user(display_name="Casey Client")
    auth.login_as(profile.user)
    assert 'data-testid="unread-badge"' not in text(client.get("/specialists"))
    conversation = Conversation(client_id=casey.id, specialist_id=profile.user_id, specialist_profile_id=profile.id,
                                started_by_id=casey.id)
    conversation.messages.append(Message(sender_id=casey.id, body="hello"))
    db.session.add(conversation)
    db.session.commit()
    assert 'data-testid="unread-badge">1<' in text(client.get("/specialists"))  # same session, same path

    profile.user.timezone = "Asia/Tokyo"
    profile.user.email_confirmed_at = None
    db.session.commit()
    html = text(client.get("/specialists"))
    assert 'data-viewer-zone="Asia/Tokyo"' in html and 'data-testid="confirm-banner"' in html

    auth.logout()
    html = text(client.get("/specialists"))
    assert "Log out" not in html and 'data-testid="unread-badge"' not in html


def test_flash_messages_of_a_person_show_once(client, auth, make_user, make_specialist):
    make_specialist()
    auth.login_as(make_user())
    text(client.get("/specialists"))
    with client.session_transaction() as browser_session:
        browser_session["_flashes"] = [("info", "Only this once")]
    assert "Only this once" in text(client.get("/specialists"))
    assert "Only this once" not in text(client.get("/specialists"))


def test_two_people_never_share_their_parts(app, auth, make_user, make_specialist):
    make_specialist()
    pages = []
    for name in ("Alex First", "Blake Second"):  # the same page, state and zone: only the person differs
        browser = app.test_client()
        response = browser.post("/auth/login", data={"email": make_user(display_name=name).email, "password": PASSWORD})
        assert response.status_code == 302
        pages.append(text(browser.get("/specialists")))
    tokens = [CSRF.search(page).group(1) for page in pages]
    assert tokens[0] != tokens[1]
    assert "Alex First" not in pages[1]


def test_a_csrf_token_made_while_rendering_is_never_kept(app):
    """A template that makes the session's first CSRF token (a visitor) is rendered afresh for the
    next visitor: a kept copy would hand one browser's token to another."""
    env = Environment(loader=DictLoader({PERSON_TEMPLATE: "{% set token %}{{ csrf_token() }}{% endset %}"}),
                      autoescape=True)
    env.globals["csrf_token"] = generate_csrf
    tokens = []
    for _visitor in range(2):
        with app.test_request_context("/specialists"):
            app.preprocess_request()
            g.pop("csrf_token", None)  # flask_wtf keeps the token in `g`, which the test's app context shares
            assert "csrf_token" not in session
            tokens.append(person_module(env, PERSON_TEMPLATE, {})["token"])
            assert "csrf_token" in session
    assert tokens[0] != tokens[1]
    with app.test_request_context("/specialists"):
        assert len(person_modules()) == 0


# --- a cached page's own person parts (the profile's buttons and booking card) -------------------

def test_the_profile_person_template_reads_only_what_its_key_holds(app):
    """``_profile_person.html`` also reads the page's ``PROFILE_PERSON_CONTEXT``: fixed by the
    cached entry, but ``parts``, whose ``parts_state`` is keyed."""
    beyond = reads_beyond(app, PROFILE_PERSON_TEMPLATE, PROFILE_PERSON_CONTEXT)
    assert not beyond, f"{PROFILE_PERSON_TEMPLATE} reads {sorted(beyond)}: key it (parts_state / person_key)"


def test_profile_parts_kept_for_a_client_with_nothing_there_until_they_book(
        client, auth, make_user, make_specialist, module_renders):
    profile, casey = make_specialist(display_name="Dr Kept Buttons"), make_user(display_name="Casey Keeper")
    open_all_week(profile)
    db.session.commit()
    auth.login_as(casey)
    url = f"/specialists/{profile.slug}"
    text(client.get(url))  # the login's flash
    first = text(client.get(url))
    assert 'data-testid="book-cta"' in first and 'data-testid="message-cta"' in first
    def renders() -> int:
        return module_renders.count(PROFILE_PERSON_TEMPLATE)

    before = renders()
    assert text(client.get(url)) == first and renders() == before  # kept: the same client, page and state

    book(casey, profile)
    after = text(client.get(url))  # same session: the standing changed, so rendered afresh
    assert 'data-testid="your-consultation"' in after and 'data-testid="book-cta"' not in after
    assert renders() == before + 1
    text(client.get(url))
    assert renders() == before + 2  # "your consultation" is this client's: rendered every time


def test_an_admins_profile_tools_are_rendered_every_time(client, auth, make_user, make_specialist):
    profile = make_specialist()
    auth.login_as(make_user(role=Role.ADMIN))
    url = f"/specialists/{profile.slug}"
    pages = [text(client.get(url)) for _ in range(3)]
    assert all('data-testid="admin-tools"' in page for page in pages[1:])
