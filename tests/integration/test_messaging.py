"""Messaging: participants only, the cold-message rule, read state, throttled private notifications."""
from __future__ import annotations

import logging
import types
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from marketplace.auth.models import Role
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.messaging.models import MAX_MESSAGE_LENGTH, Conversation, Message
from marketplace.messaging.services import unread_count
from marketplace.security import PROMPT_MESSAGE
from tests.factories import PASSWORD

SENT = "Your message has been sent"
SECRET = "my-very-private-worry-7731"


# --- helpers ---------------------------------------------------------------------------------

def make_conversation(client_user, profile, *messages):
    """A conversation with ``messages`` given as (sender_user, body); nothing marked read."""
    conv = Conversation(client_id=client_user.id, specialist_id=profile.user_id, specialist_profile_id=profile.id,
                        started_by_id=client_user.id)
    db.session.add(conv)
    for sender, body in messages:
        conv.messages.append(Message(sender_id=sender.id, body=body))
    db.session.commit()
    return conv


def login(client, user):
    client.post("/auth/logout")
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, "login failed in test setup"


def message_count():
    return db.session.scalar(select(func.count(Message.id)))


@pytest.fixture
def people(make_user, make_specialist):
    """A client with a conversation with a specialist, plus outsiders of every kind."""
    client_user = make_user(display_name="Casey Client")
    profile = make_specialist(display_name="Dr Sam Stone")
    conv = make_conversation(client_user, profile, (client_user, f"Hello doctor {SECRET}"))
    return types.SimpleNamespace(
        client=client_user, profile=profile, specialist=profile.user, conv=conv,
        other_client=make_user(display_name="Olive Other"),
        other_specialist=make_specialist(display_name="Dr Otto Other").user,
        admin=make_user(role=Role.ADMIN, display_name="Ada Admin"),
    )


# --- sending -------------------------------------------------------------------------------

def test_client_starts_conversation_from_profile_link(client, make_user, make_specialist):
    casey = make_user(display_name="Casey")
    profile = make_specialist()
    login(client, casey)
    page = client.get(f"/messages/new?to={profile.slug}")
    assert page.status_code == 200 and "Message " + profile.display_name in page.get_data(as_text=True)
    response = client.post(f"/messages/new?to={profile.slug}", data={"body": "Line one\r\nLine two"},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and SENT in html
    conv = db.session.scalar(select(Conversation))
    assert (conv.client_id, conv.specialist_id, conv.specialist_profile_id) == (casey.id, profile.user_id, profile.id)
    assert [m.body for m in conv.messages] == ["Line one\nLine two"]
    assert "Line one\nLine two" in html  # newlines preserved (white-space: pre-wrap)

    # The same link later continues the existing conversation instead of starting another.
    again = client.get(f"/messages/new?to={profile.slug}")
    assert again.status_code == 302 and f"/messages/{conv.id}" in again.headers["Location"]
    client.post(f"/messages/new?to={profile.slug}", data={"body": "Second"})
    assert db.session.scalar(select(func.count(Conversation.id))) == 1 and message_count() == 2


def test_unknown_or_unpublished_specialist_is_404(client, make_user, make_specialist):
    login(client, make_user())
    hidden = make_specialist(is_published=False)
    assert client.get("/messages/new?to=nobody-here").status_code == 404
    assert client.post(f"/messages/new?to={hidden.slug}", data={"body": "Hi"}).status_code == 404
    assert client.get("/messages/new").status_code == 404
    assert message_count() == 0


def test_empty_and_too_long_messages_are_refused_with_a_clear_error(client, people):
    login(client, people.client)
    before = message_count()
    too_long = client.post(f"/messages/{people.conv.id}", data={"body": "x" * (MAX_MESSAGE_LENGTH + 1)})
    assert too_long.status_code == 422
    assert "Your message is too long. The limit is 5,000 characters." in too_long.get_data(as_text=True)
    empty = client.post(f"/messages/new?to={people.profile.slug}", data={"body": "   "})
    assert empty.status_code == 422 and "Write a message before sending." in empty.get_data(as_text=True)
    assert message_count() == before
    ok = client.post(f"/messages/{people.conv.id}", data={"body": "y" * MAX_MESSAGE_LENGTH})
    assert ok.status_code == 302 and message_count() == before + 1


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_sending_without_csrf_token_is_refused(client, people):
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"email": people.client.email, "password": PASSWORD, "csrf_token": token})
    before = message_count()
    assert client.post(f"/messages/{people.conv.id}", data={"body": "no token"}).status_code == 400
    assert message_count() == before


@pytest.mark.config(RATELIMIT_ENABLED=True)
def test_sending_is_rate_limited(client, people):
    login(client, people.client)
    codes = [client.post(f"/messages/{people.conv.id}", data={"body": f"n{i}"}).status_code for i in range(21)]
    assert codes[:20] == [302] * 20 and codes[20] == 429
    assert client.get(f"/messages/{people.conv.id}").status_code == 200  # reading is not limited


# --- who can read --------------------------------------------------------------------------

@pytest.mark.parametrize("outsider", ["other_client", "other_specialist", "admin"])
def test_only_participants_can_read_or_write(client, people, outsider):
    login(client, getattr(people, outsider))
    conv_id = people.conv.id
    before = message_count()
    for response in (client.get(f"/messages/{conv_id}"),
                     client.post(f"/messages/{conv_id}", data={"body": "intrusion"})):
        assert response.status_code == 404
        assert SECRET not in response.get_data(as_text=True)
    inbox = client.get("/messages").get_data(as_text=True)
    assert SECRET not in inbox and "Casey Client" not in inbox and "Dr Sam Stone" not in inbox
    assert message_count() == before
    db.session.refresh(people.conv)
    assert people.conv.client_last_read_id == 0 and people.conv.specialist_last_read_id == 0


def test_visitor_gets_the_login_prompt_on_every_messaging_url(client, people):
    before = message_count()
    for method, url in [("get", "/messages"), ("get", f"/messages/{people.conv.id}"),
                        ("post", f"/messages/{people.conv.id}"), ("get", f"/messages/new?to={people.profile.slug}"),
                        ("post", f"/messages/new?to={people.profile.slug}")]:
        response = getattr(client, method)(url, data={"body": "visitor"} if method == "post" else None)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and PROMPT_MESSAGE in html, url
        assert SECRET not in html and "Dr Sam Stone" not in html.split("<main")[1], url
    assert message_count() == before


def test_participants_can_read_and_reply(client, people):
    for user in (people.client, people.specialist):
        login(client, user)
        assert SECRET in client.get(f"/messages/{people.conv.id}").get_data(as_text=True)
        assert client.post(f"/messages/{people.conv.id}", data={"body": f"from {user.id}"}).status_code == 302
    assert message_count() == 3


# --- the cold-message rule -----------------------------------------------------------------

def test_specialist_cannot_cold_message_a_client(client, make_user, make_specialist):
    stranger = make_user()
    profile = make_specialist()
    login(client, profile.user)
    page = client.get(f"/messages/new?client={stranger.id}")
    assert page.status_code == 403 and "booked a consultation with you" in page.get_data(as_text=True)
    assert client.post(f"/messages/new?client={stranger.id}", data={"body": "Hi!"}).status_code == 403
    assert message_count() == 0 and db.session.scalar(select(func.count(Conversation.id))) == 0


# A specialist writing to a client who booked: tests/integration/test_messaging_rule.py (a real booking).


def test_specialist_replies_in_a_conversation_the_client_started(client, people):
    login(client, people.specialist)
    # Even via the "new" link: it continues the client's conversation.
    assert client.get(f"/messages/new?client={people.client.id}").status_code == 302
    assert client.post(f"/messages/new?client={people.client.id}", data={"body": "Happy to help"}).status_code == 302
    assert message_count() == 2


def test_role_pairs_that_cannot_message(client, people, make_specialist):
    cases = [
        (people.specialist, f"/messages/new?to={people.profile.slug}", "yourself"),
        (people.specialist, f"/messages/new?to={make_specialist().slug}", "other specialists"),
        (people.client, f"/messages/new?client={people.other_client.id}", "between clients and specialists"),
        (people.client, f"/messages/new?client={people.client.id}", "yourself"),
        (people.admin, f"/messages/new?to={people.profile.slug}", "between clients and specialists"),
    ]
    before = message_count()
    for user, url, reason in cases:
        login(client, user)
        for response in (client.get(url), client.post(url, data={"body": "hello"})):
            assert response.status_code == 403, url
            assert reason in response.get_data(as_text=True), url
    assert message_count() == before


# --- read state and the badge ----------------------------------------------------------------

def test_unread_counts_badge_and_read_receipt(client, people):
    login(client, people.client)
    client.post(f"/messages/{people.conv.id}", data={"body": "one more thing"})
    thread = client.get(f"/messages/{people.conv.id}").get_data(as_text=True)
    assert 'data-testid="read-receipt"' not in thread  # the specialist hasn't read it yet

    login(client, people.specialist)
    assert unread_count(people.specialist) == 2 and unread_count(people.client) == 0
    inbox = client.get("/messages").get_data(as_text=True)
    assert 'data-testid="unread-badge">2<' in inbox and "2 unread" in inbox
    thread = client.get(f"/messages/{people.conv.id}").get_data(as_text=True)
    assert 'data-testid="unread-badge"' not in thread  # reading clears the badge on the same page
    assert unread_count(people.specialist) == 0
    assert "unread" not in client.get("/messages").get_data(as_text=True).split("<main")[1]

    client.post(f"/messages/{people.conv.id}", data={"body": "Of course"})
    assert unread_count(people.client) == 1

    login(client, people.client)
    thread = client.get(f"/messages/{people.conv.id}").get_data(as_text=True)
    assert unread_count(people.client) == 0
    assert thread.count('data-testid="read-receipt">Read<') == 1  # the specialist read it before replying
    login(client, people.specialist)
    thread = client.get(f"/messages/{people.conv.id}").get_data(as_text=True)
    assert thread.count('data-testid="read-receipt">Read<') == 1


def test_inbox_lists_newest_first(client, make_user, make_specialist):
    casey = make_user()
    older = make_conversation(casey, make_specialist(display_name="Dr Older"), (casey, "a"))
    newer = make_conversation(casey, make_specialist(display_name="Dr Newer"), (casey, "b"))
    older.last_message_at = utcnow() - timedelta(days=1)
    db.session.commit()
    login(client, casey)
    html = client.get("/messages").get_data(as_text=True)
    assert html.index("Dr Newer") < html.index("Dr Older")
    assert newer.id != older.id


def test_inbox_query_count_is_constant(client, make_user, make_specialist, count_queries):
    casey = make_user()

    def add_conversations(n):
        for _ in range(n):
            profile = make_specialist()
            make_conversation(casey, profile, (casey, "hi"), (profile.user, "hello"))

    login(client, casey)
    add_conversations(3)
    with count_queries() as small:
        assert client.get("/messages").status_code == 200
    add_conversations(27)
    with count_queries() as large:
        html = client.get("/messages").get_data(as_text=True)
    assert html.count('data-testid="conversation"') == 30
    assert large.count == small.count, large.statements


# --- notifications: throttled and without the text ---------------------------------------------

def test_notifications_are_throttled_and_never_contain_the_text(client, people, smtp_server, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="marketplace")  # the app's own loggers default to INFO
    login(client, people.client)
    specialist_email = people.specialist.email
    for body in (f"first {SECRET}", f"second {SECRET}"):
        assert client.post(f"/messages/{people.conv.id}", data={"body": body}).status_code == 302
    mails = smtp_server.to(specialist_email)
    assert len(mails) == 1
    assert mails[0]["Subject"] == "You have a new message from Casey Client on Balance"
    assert f"/messages/{people.conv.id}" in smtp_server.bodies()[0]

    # More than an hour later another message e-mails again.
    db.session.execute(update(Conversation).where(Conversation.id == people.conv.id)
                       .values(specialist_notified_at=utcnow() - timedelta(minutes=61)))
    db.session.commit()
    client.post(f"/messages/{people.conv.id}", data={"body": f"third {SECRET}"})
    assert len(smtp_server.to(specialist_email)) == 2

    # The reply notifies the client (its own throttle), and reading works as usual.
    login(client, people.specialist)
    client.get(f"/messages/{people.conv.id}")
    client.post(f"/messages/{people.conv.id}", data={"body": f"reply {SECRET}"})
    assert len(smtp_server.to(people.client.email)) == 1

    everything = "".join(str(m) for m in smtp_server.messages) + "".join(smtp_server.bodies())
    assert SECRET not in everything and "first" not in everything
    assert SECRET not in caplog.text
    assert any("message" in r.getMessage() and r.name.startswith("marketplace.messaging") for r in caplog.records)


def test_no_notification_to_a_deleted_account(client, people):
    login(client, people.specialist)
    client.post("/account/delete", data={"password": PASSWORD})
    login(client, people.client)
    outbox = client.application.extensions.setdefault("mail_outbox", [])
    outbox.clear()
    response = client.post(f"/messages/{people.conv.id}", data={"body": "are you there?"})
    assert response.status_code == 403
    assert outbox == [] and message_count() == 1


# --- XSS -------------------------------------------------------------------------------------

def test_message_markup_is_inert(client, people):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    login(client, people.client)
    client.post(f"/messages/{people.conv.id}", data={"body": payload})
    login(client, people.specialist)
    for url in ("/messages", f"/messages/{people.conv.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;alert(" in html, url


# --- account hooks ---------------------------------------------------------------------------

def test_export_contains_the_users_conversations(client, people):
    login(client, people.client)
    data = client.get("/account/export").get_json(force=True)
    [conv] = data["messages"]
    assert conv["with"] == "Dr Sam Stone"
    assert conv["messages"][0]["from_me"] is True and SECRET in conv["messages"][0]["body"]
    login(client, people.other_client)
    assert client.get("/account/export").get_json(force=True)["messages"] == []


@pytest.mark.parametrize("deleter", ["client", "specialist"])
def test_deleted_account_is_shown_as_deleted_user(client, people, deleter):
    gone, stays = (people.client, people.specialist) if deleter == "client" else (people.specialist, people.client)
    gone_name = "Casey Client" if deleter == "client" else "Dr Sam Stone"
    login(client, gone)
    assert client.post("/account/delete", data={"password": PASSWORD}).status_code == 302
    login(client, stays)
    for url in ("/messages", f"/messages/{people.conv.id}"):
        html = client.get(url).get_data(as_text=True).split("<main")[1]
        assert "Deleted user" in html and gone_name not in html, url
    assert SECRET in client.get(f"/messages/{people.conv.id}").get_data(as_text=True)  # the other party keeps it


def test_conversation_is_removed_once_both_accounts_are_deleted(client, people):
    for user in (people.client, people.specialist):
        login(client, user)
        assert client.post("/account/delete", data={"password": PASSWORD}).status_code == 302
    assert db.session.scalar(select(func.count(Conversation.id))) == 0 and message_count() == 0


# --- demo --------------------------------------------------------------------------------------

def test_demo_conversation_is_idempotent(app, make_user, make_specialist):
    from marketplace.demo.registry import DemoContext
    from marketplace.messaging.demo import seed_demo_conversation

    ctx = DemoContext(clients=[make_user()], profiles=[make_specialist()])
    seed_demo_conversation(ctx)
    seed_demo_conversation(ctx)
    db.session.commit()
    assert db.session.scalar(select(func.count(Conversation.id))) == 1
    assert 2 <= message_count() <= 3
    assert unread_count(ctx.profiles[0].user) == 1


def test_unread_badge_is_one_query(app, people, count_queries):
    db.session.refresh(people.specialist)  # as current_user is: already loaded
    db.session.refresh(people.admin)
    with count_queries() as counter:
        assert unread_count(people.specialist) == 1
    assert counter.count == 1
    with count_queries() as counter:
        assert unread_count(people.admin) == 0
    assert counter.count == 0
