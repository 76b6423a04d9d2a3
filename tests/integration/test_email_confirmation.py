"""Confirmed e-mail (issue 13, item 2): signed, single-use, expiring links sent through the outbox;
booking, messaging, asking, contacting and publishing wait for them; the link brings the person
back to what they were doing (the chosen slot kept); an address change is confirmed before it
takes effect. Service and HTTP level, on SQLite and PostgreSQL."""
from __future__ import annotations

import base64
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from marketplace.auth.confirmation import (
    ADDRESS_TAKEN,
    INVALID,
    SUPERSEDED,
    USED,
    ConfirmationError,
    check_confirmation_token,
    confirm_email,
    confirmation_refusal,
    make_confirmation_token,
    request_email_change,
    send_confirmation,
)
from marketplace.auth.models import Role, User
from marketplace.auth.services import register_user
from marketplace.consultations.booking import SLOT_TAKEN, BookingError, book_free_consultation, format_slot
from marketplace.consultations.models import Consultation
from marketplace.contact.models import ContactMessage
from marketplace.database import commit
from marketplace.extensions import db
from marketplace.messaging.models import Message
from marketplace.messaging.services import MessagingError, resolve_new_conversation, start_conversation
from marketplace.notifications.models import OutboxMail
from marketplace.questions.models import Question
from marketplace.questions.services import QuestionError, ask_question
from marketplace.specialists.models import SpecialistProfile
from marketplace.specialists.services import ProfileError, publish_profile
from tests.factories import PASSWORD
from tests.integration.test_consultations import first_free_slot, open_all_week
from tests.integration.test_questions import topic_id

STRONG = "a-calm-river-at-dawn"
WAIT_TO_BOOK = "Please confirm your e-mail address to book a consultation."


# --- helpers --------------------------------------------------------------------------------------

def outbox(app) -> list:
    return app.extensions.setdefault("mail_outbox", [])


def confirmation_links(app, address: str) -> list[str]:
    """The confirmation links mailed to ``address`` (as local paths), oldest first."""
    paths = []
    for message in outbox(app):
        if message["To"] == address and "Confirm your" in message["Subject"]:
            body = message.get_body(preferencelist=("plain",)).get_content()
            link = re.search(r"https?://\S+/auth/confirm/\S+", body).group(0)
            paths.append(link[link.index("/auth/confirm/"):])
    return paths


def login(client, user) -> None:
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, "login failed in test setup"


def signup(client, email="new@example.test", next_url=""):
    return client.post("/auth/signup", data={"display_name": "Noor", "email": email, "password": STRONG,
                                             "confirm": STRONG, "timezone": "Europe/Berlin", "next": next_url})


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


@pytest.fixture
def specialist(app, make_specialist):
    profile = make_specialist(formats=["video", "phone"], timezone="Europe/Berlin")
    open_all_week(profile)
    return profile


@pytest.fixture
def newcomer(app, make_user):
    """A client who signed up but has not opened the link yet."""
    return make_user(Role.CLIENT, confirmed=False, email="newcomer@example.test")


# --- tokens (service) -----------------------------------------------------------------------------

def test_a_link_confirms_once_then_says_it_was_used(app, newcomer):
    token = make_confirmation_token(newcomer, newcomer.email, "/specialists")
    link = confirm_email(token)
    db.session.commit()
    assert link.user.id == newcomer.id and link.next_url == "/specialists"
    assert db.session.get(User, newcomer.id).email_confirmed_at is not None
    with pytest.raises(ConfirmationError) as used:
        confirm_email(token)
    assert str(used.value) == USED and used.value.used


def test_an_expired_link_is_refused_and_changes_nothing(app, newcomer, monkeypatch):
    from itsdangerous.timed import TimestampSigner

    two_days_ago = int(time.time()) - 48 * 3600 - 60
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: two_days_ago)
    token = make_confirmation_token(newcomer, newcomer.email)
    monkeypatch.undo()
    with pytest.raises(ConfirmationError, match="expired"):
        confirm_email(token)
    assert newcomer.email_confirmed_at is None


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-3] + ("aaa" if not t.endswith("aaa") else "bbb"),  # signature changed
    lambda t: "x" + t,  # payload changed
    lambda t: "not-a-token",
])
def test_a_tampered_link_is_refused(app, newcomer, tamper):
    with pytest.raises(ConfirmationError) as refused:
        confirm_email(tamper(make_confirmation_token(newcomer, newcomer.email)))
    assert str(refused.value) == INVALID
    assert newcomer.email_confirmed_at is None


def test_a_link_signed_with_another_key_or_for_another_address_is_refused(app, newcomer):
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer("another-secret", salt="email-confirm").dumps(
        {"uid": newcomer.id, "to": newcomer.email, "fp": "x"})
    with pytest.raises(ConfirmationError, match="not valid"):
        confirm_email(forged)
    with pytest.raises(ConfirmationError) as other:
        confirm_email(make_confirmation_token(newcomer, "someone-else@example.test"))
    assert str(other.value) == SUPERSEDED


def test_a_link_superseded_by_an_address_change_is_refused(app, newcomer):
    old = make_confirmation_token(newcomer, newcomer.email)
    request_email_change(newcomer, "corrected@example.test")  # unconfirmed: the address is corrected
    db.session.commit()
    assert newcomer.email == "corrected@example.test"
    with pytest.raises(ConfirmationError) as superseded:
        confirm_email(old)
    assert str(superseded.value) == SUPERSEDED
    confirm_email(make_confirmation_token(newcomer, "corrected@example.test"))
    assert newcomer.email_confirmed_at is not None


def test_next_in_a_link_is_a_local_path_only(app, newcomer):
    for hostile in ("https://evil.example/x", "//evil.example", "/\\evil.example", "javascript:alert(1)"):
        assert check_confirmation_token(make_confirmation_token(newcomer, newcomer.email, hostile)).next_url is None


def test_the_link_carries_no_address(app, newcomer):
    """Paths are logged: the token names the address only by a digest."""
    payload = make_confirmation_token(newcomer, newcomer.email).split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert json.loads(decoded)["uid"] == newcomer.id and "example.test" not in decoded


# --- the mail (outbox, composed on delivery) ------------------------------------------------------

def test_a_new_account_is_sent_a_link_through_the_outbox(app):
    user = register_user(email="Mia@Example.test", password=STRONG, display_name="Mia")
    row = db.session.scalar(select(OutboxMail))
    # The request records who gets what; the worker writes the body (and the token) on delivery.
    assert row.composer == "email_confirmation" and row.body_text == "" and row.recipient == "mia@example.test"
    assert "token" not in str(row.compose_args)
    commit()  # the unit of work: delivered after the commit (JOBS_IMMEDIATE)
    [path] = confirmation_links(app, "mia@example.test")
    assert check_confirmation_token(path.rsplit("/", 1)[1]).user.id == user.id


def test_a_mail_for_an_address_confirmed_meanwhile_is_not_sent(app, newcomer):
    send_confirmation(newcomer)
    newcomer.email_confirmed_at = newcomer.created_at  # confirmed before the worker got to it
    commit()
    assert confirmation_links(app, newcomer.email) == []
    assert db.session.scalar(select(OutboxMail.status)).value == "dropped"


def test_demo_and_admin_accounts_are_confirmed(app):
    from marketplace.auth.services import create_or_promote_admin

    admin = create_or_promote_admin(email="boss@example.test", password=STRONG, display_name="Boss")
    demo = register_user(email="demo@example.test", password=STRONG, display_name="Demo", confirmed=True)
    db.session.commit()
    assert admin.email_confirmed_at is not None and demo.email_confirmed_at is not None
    assert outbox(app) == []


# --- the rule (service) ---------------------------------------------------------------------------

def test_the_rule_holds_in_every_service(app, newcomer, specialist, make_specialist, make_user):
    assert confirmation_refusal(newcomer, "book a consultation") == WAIT_TO_BOOK
    with pytest.raises(BookingError) as refused:
        book_free_consultation(newcomer, specialist, first_free_slot(specialist), "video")
    assert refused.value.code == "unconfirmed" and refused.value.message == WAIT_TO_BOOK
    with pytest.raises(MessagingError, match="confirm your e-mail address to send messages"):
        start_conversation(newcomer, resolve_new_conversation(newcomer, to_slug=specialist.slug), "Hello")
    with pytest.raises(QuestionError, match="confirm your e-mail address to ask a question"):
        ask_question(newcomer, title="How do I start?", body="I have never seen a therapist.",
                     topic_id=topic_id(), anonymous=False)
    draft = make_specialist(is_published=False, user_confirmed=False)
    with pytest.raises(ProfileError, match="confirm your e-mail address to publish your profile"):
        publish_profile(draft, draft.user)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Consultation.id))) == 0
    assert db.session.scalar(select(func.count(Message.id))) == 0
    assert db.session.scalar(select(func.count(Question.id))) == 0
    assert db.session.get(SpecialistProfile, draft.id).is_published is False
    # Once confirmed, the same call goes through.
    assert confirmation_refusal(make_user(), "book a consultation") is None


# --- HTTP: sign up, the link page, the gate -------------------------------------------------------

def test_signup_mails_a_link_whose_page_confirms_only_on_post(client, app):
    signup(client, next_url="/specialists")
    user = db.session.scalar(select(User))
    assert user.email_confirmed_at is None
    [path] = confirmation_links(app, "new@example.test")
    page = client.get(path)  # what a mail scanner prefetching the link does: nothing changes
    assert page.status_code == 200 and "Confirm my e-mail address" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).email_confirmed_at is None
    response = client.post(path)
    assert response.status_code == 302 and response.headers["Location"] == "/specialists"
    db.session.expire_all()
    assert db.session.get(User, user.id).email_confirmed_at is not None
    again = client.get(path)
    assert USED in again.get_data(as_text=True)
    assert client.post(path).status_code == 200  # a second use changes nothing and says so


def test_bad_links_get_a_clear_page_not_an_error(client, newcomer):
    response = client.get("/auth/confirm/garbage")
    assert response.status_code == 400 and INVALID in response.get_data(as_text=True)
    response = client.post("/auth/confirm/garbage")
    assert response.status_code == 400 and INVALID in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, newcomer.id).email_confirmed_at is None


def test_confirming_in_another_browser_asks_to_log_in_and_comes_back(client, app, newcomer):
    token = make_confirmation_token(newcomer, newcomer.email, "/questions/new")
    response = client.post(f"/auth/confirm/{token}")  # nobody logged in here (the phone's mail app)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/login" and parse_qs(location.query)["next"] == ["/questions/new"]
    db.session.expire_all()
    assert db.session.get(User, newcomer.id).email_confirmed_at is not None


def test_unconfirmed_client_can_prepare_a_booking_but_the_post_books_nothing(client, newcomer, specialist):
    login(client, newcomer)
    slot = format_slot(first_free_slot(specialist))
    page = client.get(f"/specialists/{specialist.slug}/book?slot={slot}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'value="{slot}" checked' in html  # browsing and preparing work
    response = client.post(f"/specialists/{specialist.slug}/book", data={
        "slot": slot, "format": "phone", "note": "Hello", "consent": "y"})
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert WAIT_TO_BOOK in html and "Send the link again" in html
    assert db.session.scalar(select(func.count(Consultation.id))) == 0
    # The resend button comes back to the booking page with the slot (and format) chosen.
    next_url = re.search(r'name="next" value="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert next_url == f"/specialists/{specialist.slug}/book?slot={slot}&format=phone"


def book_resume(client, app, user, specialist, slot: str):
    """Gate, resend, open the newest link: returns the response of confirming."""
    gate = client.post(f"/specialists/{specialist.slug}/book", data={
        "slot": slot, "format": "phone", "consent": "y"})
    next_url = re.search(r'name="next" value="([^"]+)"', gate.get_data(as_text=True)).group(1).replace("&amp;", "&")
    assert client.post("/auth/confirm/resend", data={"next": next_url}).status_code == 302
    path = confirmation_links(app, user.email)[-1]
    return client.post(path)


def test_the_link_brings_the_client_back_to_the_booking_with_the_slot_kept(client, app, newcomer, specialist):
    login(client, newcomer)
    slot = format_slot(first_free_slot(specialist))
    confirmed = book_resume(client, app, newcomer, specialist, slot)
    assert confirmed.status_code == 302
    location = confirmed.headers["Location"]
    assert urlsplit(location).path == f"/specialists/{specialist.slug}/book"
    assert parse_qs(urlsplit(location).query) == {"slot": [slot], "format": ["phone"]}
    page = client.get(location).get_data(as_text=True)
    assert f'value="{slot}" checked' in page and re.search(r'<input checked[^>]*value="phone"', page)
    assert "your e-mail address is confirmed" in page
    booked = client.post(f"/specialists/{specialist.slug}/book", data={
        "slot": slot, "format": "phone", "consent": "y"})
    assert booked.status_code == 302
    consultation = db.session.scalar(select(Consultation))
    assert format_slot(consultation.start_utc) == slot and consultation.client_id == newcomer.id


def test_a_slot_taken_meanwhile_gets_the_friendly_message_and_the_next_times(client, app, newcomer, specialist,
                                                                            make_user):
    login(client, newcomer)
    first = first_free_slot(specialist)
    slot = format_slot(first)
    confirmed = book_resume(client, app, newcomer, specialist, slot)
    book_free_consultation(make_user(), specialist, first, "video")  # someone else was quicker
    commit()  # after the commit the availability snapshot no longer offers it
    page = client.get(confirmed.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and SLOT_TAKEN in html
    assert f'value="{slot}"' not in html and 'name="slot"' in html  # the next free times, none chosen
    assert not re.search(r'name="slot"[^>]*checked', html)


def test_the_session_remembers_the_latest_intent_over_an_older_link(client, app, specialist):
    signup(client, email="early@example.test", next_url="/specialists")  # link 1 says /specialists
    user = db.session.scalar(select(User).where(User.email == "early@example.test"))
    slot = format_slot(first_free_slot(specialist))
    client.post(f"/specialists/{specialist.slug}/book", data={"slot": slot, "format": "video", "consent": "y"})
    [path] = confirmation_links(app, user.email)
    location = client.post(path).headers["Location"]
    assert parse_qs(urlsplit(location).query)["slot"] == [slot]


@pytest.mark.parametrize("path,data", [
    ("/messages/new?to={slug}", {"body": "Hello, are you taking new clients?"}),
    ("/questions/new", {"title": "How do I know therapy works?", "body": "I have never tried it before.",
                        "topic": "TOPIC"}),
    ("/contact", {"subject": "Billing", "body": "A question about billing."}),
])
def test_messaging_asking_and_contacting_wait(client, newcomer, specialist, path, data):
    login(client, newcomer)
    path = path.format(slug=specialist.slug)
    data = {k: (str(topic_id()) if v == "TOPIC" else v) for k, v in data.items()}
    assert client.get(path).status_code == 200  # the form can be filled in
    response = client.post(path, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 403 and "Please confirm your e-mail address to" in html
    assert "Send the link again" in html
    assert db.session.scalar(select(func.count(Message.id))) == 0
    assert db.session.scalar(select(func.count(Question.id))) == 0
    assert db.session.scalar(select(func.count(ContactMessage.id))) == 0


def test_publishing_waits_but_editing_the_draft_does_not(client, make_specialist):
    draft = make_specialist(is_published=False, user_confirmed=False)
    login(client, draft.user)
    assert client.get("/specialists/me/edit").status_code == 200
    response = client.post("/specialists/me/publish")
    html = response.get_data(as_text=True)
    assert response.status_code == 403 and "Please confirm your e-mail address to publish your profile." in html
    assert 'name="next" value="/specialists/me/edit"' in html
    db.session.expire_all()
    assert db.session.get(SpecialistProfile, draft.id).is_published is False


def test_a_confirmed_client_is_not_held_back(client, make_user, specialist):
    login(client, make_user())
    slot = format_slot(first_free_slot(specialist))
    response = client.post(f"/specialists/{specialist.slug}/book", data={"slot": slot, "format": "video",
                                                                           "consent": "y"})
    assert response.status_code == 302


# --- resend ---------------------------------------------------------------------------------------

def test_resend_goes_to_the_own_address_only(client, app, newcomer, make_user):
    other = make_user(confirmed=False, email="other@example.test")
    login(client, newcomer)
    response = client.post("/auth/confirm/resend", data={"next": "/specialists", "email": other.email})
    assert response.status_code == 302 and response.headers["Location"] == "/specialists"
    assert len(confirmation_links(app, newcomer.email)) == 1
    assert confirmation_links(app, other.email) == []


def test_resend_for_a_confirmed_address_sends_nothing(client, app, make_user):
    user = make_user()
    login(client, user)
    response = client.post("/auth/confirm/resend", data={"next": "/"}, follow_redirects=True)
    assert "already confirmed" in response.get_data(as_text=True)
    assert outbox(app) == []


def test_resend_needs_a_login(client):
    response = client.post("/auth/confirm/resend", data={"next": "/"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.config(RATELIMIT_ENABLED=True)
def test_resend_is_rate_limited(client, app, newcomer):
    login(client, newcomer)
    statuses = [client.post("/auth/confirm/resend", data={"next": "/"}).status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert len(confirmation_links(app, newcomer.email)) == 3


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_resend_and_confirm_need_the_csrf_token(client, app, newcomer):
    page = client.get("/auth/login").get_data(as_text=True)
    client.post("/auth/login", data={"email": newcomer.email, "password": PASSWORD, "csrf_token": csrf_from(page)})
    assert client.post("/auth/confirm/resend", data={"next": "/"}).status_code == 400
    assert outbox(app) == []
    token = make_confirmation_token(newcomer, newcomer.email)
    assert client.post(f"/auth/confirm/{token}").status_code == 400
    db.session.expire_all()
    assert db.session.get(User, newcomer.id).email_confirmed_at is None
    html = client.get("/").get_data(as_text=True)  # the banner's resend button carries a token
    assert client.post("/auth/confirm/resend", data={"next": "/", "csrf_token": csrf_from(html)}).status_code == 302
    assert len(confirmation_links(app, newcomer.email)) == 1


# --- open redirects through next ------------------------------------------------------------------

@pytest.mark.parametrize("hostile", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                     "javascript:alert(1)", "http:/evil.example"])
def test_open_redirects_through_the_confirmation_next_are_refused(client, app, newcomer, hostile):
    login(client, newcomer)
    response = client.post("/auth/confirm/resend", data={"next": hostile})
    assert response.headers["Location"] == "/account"
    path = confirmation_links(app, newcomer.email)[-1]
    confirmed = client.post(path)
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/"
    # Through sign-up too: the link mailed at sign-up carries no foreign next either.
    client.post("/auth/logout")
    signup(client, email="hostile@example.test", next_url=hostile)
    [signup_link] = confirmation_links(app, "hostile@example.test")
    assert check_confirmation_token(signup_link.rsplit("/", 1)[1]).next_url is None


# --- changing the address -------------------------------------------------------------------------

def account_data(user, email: str) -> dict:
    return {"display_name": user.display_name, "email": email, "timezone": user.timezone}


def test_changing_the_address_keeps_the_old_one_until_the_new_one_is_confirmed(client, app, make_user):
    user = make_user(email="old@example.test")
    login(client, user)
    response = client.post("/account", data=account_data(user, "New@Example.test"), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "We have sent a confirmation link to new@example.test" in html and "keeps using old@example.test" in html
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.email == "old@example.test" and user.pending_email == "new@example.test"
    assert user.email_confirmed_at is not None  # still allowed to book with the old, confirmed address
    [path] = confirmation_links(app, "new@example.test")
    assert confirmation_links(app, "old@example.test") == []
    page = client.get(path).get_data(as_text=True)
    assert "Use <strong>new@example.test</strong>" in page
    assert client.post(path).status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.email == "new@example.test" and user.pending_email is None
    assert USED in client.post(path).get_data(as_text=True)


def test_a_newer_change_supersedes_the_older_link(client, app, make_user):
    user = make_user(email="old@example.test")
    login(client, user)
    client.post("/account", data=account_data(user, "first@example.test"))
    client.post("/account", data=account_data(user, "second@example.test"))
    [first] = confirmation_links(app, "first@example.test")
    response = client.post(first)
    assert response.status_code == 400 and SUPERSEDED in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "old@example.test"


def test_an_address_taken_meanwhile_is_refused_at_confirmation(client, app, make_user):
    user = make_user(email="old@example.test")
    login(client, user)
    client.post("/account", data=account_data(user, "wanted@example.test"))
    make_user(email="wanted@example.test")  # another account signs up with it first
    [path] = confirmation_links(app, "wanted@example.test")
    response = client.post(path)
    assert response.status_code == 400 and escape(ADDRESS_TAKEN) in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "old@example.test"


def test_an_unconfirmed_account_corrects_its_address_directly(client, app, newcomer):
    login(client, newcomer)
    client.post("/account", data=account_data(newcomer, "fixed@example.test"))
    db.session.expire_all()
    user = db.session.get(User, newcomer.id)
    assert user.email == "fixed@example.test" and user.pending_email is None and user.email_confirmed_at is None
    [path] = confirmation_links(app, "fixed@example.test")
    assert client.post(path).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, newcomer.id).email_confirmed_at is not None


# --- the banner: the person's part, never in a cached page ----------------------------------------

def test_the_banner_shows_to_the_unconfirmed_person_only(app, newcomer, make_user, specialist):
    unconfirmed, confirmed, visitor = app.test_client(), app.test_client(), app.test_client()
    login(unconfirmed, newcomer)
    login(confirmed, make_user())
    for path in ("/", f"/specialists/{specialist.slug}", "/specialists"):
        assert 'data-testid="confirm-banner"' in unconfirmed.get(path).get_data(as_text=True)
        assert newcomer.email in unconfirmed.get(path).get_data(as_text=True)
        # The same cached pages, composed for others: no banner, no one else's address.
        for other in (confirmed, visitor):
            html = other.get(path).get_data(as_text=True)
            assert 'data-testid="confirm-banner"' not in html and newcomer.email not in html
