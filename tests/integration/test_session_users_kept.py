"""A GET answers from the session's user kept in this process (auth/sessions.py) while nothing it
was read from changed: no query for the account on a cached page, yet a logout, a password change,
a deactivation, a new message or a new request shows at once — in another app process sharing
the cache (Redis) too; a POST always asks the database."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy import text as sql

import marketplace.cache
from marketplace import create_app
from marketplace.auth import sessions
from marketplace.auth.models import AuthSession, Role, User
from marketplace.auth.sessions import end_all_sessions
from marketplace.consultations.models import Consultation, ConsultationKind, ConsultationState
from marketplace.database import utcnow
from marketplace.extensions import cache, db
from marketplace.messaging.models import Conversation, Message
from tests.factories import PASSWORD
from tests.integration.test_page_caching import editor_form, two_apps_sharing_redis

LOGGED_IN = "Log out"


def account_queries(statements: list[str]) -> list[str]:
    return [s for s in statements if "auth_sessions" in s and s.lstrip().upper().startswith("SELECT")]


def page(client, url: str = "/specialists") -> str:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_a_second_get_reads_no_account_row(client, auth, make_user, count_queries):
    auth.login_as(make_user())
    with count_queries() as first:
        assert LOGGED_IN in page(client)
    with count_queries(keep_users=True) as second:
        assert LOGGED_IN in page(client)
    assert len(account_queries(first.statements)) == 1
    assert account_queries(second.statements) == [] and second.count == 0  # a cached page: no query at all


def test_kept_users_hold_no_password_hash(client, auth, make_user):
    user = make_user()
    auth.login_as(user)
    page(client)
    kept = [entry for _key, (_expires, entry) in sessions.kept_users()._items.items() if entry.columns["id"] == user.id]
    assert kept and "password_hash" not in kept[0].columns
    assert user.password_hash not in repr(kept[0])


def test_logging_out_ends_a_copied_cookie_at_once(client, app, auth, make_user):
    auth.login_as(make_user())
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert LOGGED_IN in page(copy)  # kept for this session now
    assert auth.logout().status_code == 302
    assert LOGGED_IN not in page(copy)


def test_ending_every_session_and_deactivating_show_at_once(client, app, auth, make_user):
    user = make_user()
    auth.login_as(user)
    assert LOGGED_IN in page(client)
    end_all_sessions(db.session.get(User, user.id))  # a password change or reset does this
    db.session.commit()
    assert LOGGED_IN not in page(client)

    auth.login_as(user)
    assert LOGGED_IN in page(client)
    db.session.get(User, user.id).active = False  # an admin's deactivation
    db.session.commit()
    assert LOGGED_IN not in page(client)


def test_account_changes_show_in_the_header_at_once(client, auth, make_user):
    user = make_user()
    auth.login_as(user)
    assert 'data-testid="confirm-banner"' not in page(client, "/")
    db.session.get(User, user.id).email_confirmed_at = None  # a row change (the ORM)
    db.session.commit()
    assert 'data-testid="confirm-banner"' in page(client, "/")
    db.session.execute(update(User).where(User.id == user.id).values(email="casey.new@example.org"))  # a bulk one
    db.session.commit()
    assert "casey.new@example.org" in page(client, "/")


def test_a_new_message_shows_at_once(client, auth, make_user, make_specialist):
    profile, casey = make_specialist(), make_user()
    auth.login_as(profile.user)
    assert 'data-testid="unread-badge"' not in page(client)
    conversation = Conversation(client_id=casey.id, specialist_id=profile.user_id, specialist_profile_id=profile.id,
                                started_by_id=casey.id)
    db.session.add(conversation)
    db.session.flush()
    db.session.add(Message(conversation_id=conversation.id, sender_id=casey.id, body="hello"))
    db.session.commit()
    assert 'data-testid="unread-badge">1<' in page(client)


def test_someone_elses_change_keeps_my_user(client, auth, make_user, count_queries):
    me, other = make_user(), make_user(display_name="Someone Else")
    auth.login_as(me)
    page(client)
    db.session.get(User, other.id).display_name = "Someone Renamed"
    db.session.commit()
    with count_queries(keep_users=True) as counter:
        assert LOGGED_IN in page(client)
    assert account_queries(counter.statements) == []


def test_a_post_always_asks_the_database(client, auth, make_specialist):
    profile = make_specialist()
    auth.login_as(profile.user)
    assert LOGGED_IN in page(client)
    db.session.execute(sql("UPDATE auth_sessions SET revoked_at = CURRENT_TIMESTAMP"),
                       execution_options={sessions.CHANGES_PEOPLE: ()})  # behind the kept user's back
    db.session.commit()
    assert LOGGED_IN in page(client)  # a GET may still answer from the kept user (for at most its seconds) …
    response = client.post("/specialists/me/edit", data=editor_form(profile, display_name="Dr Not Saved"))
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]  # … a POST may not
    assert db.session.get(type(profile), profile.id).display_name != "Dr Not Saved"


def test_kept_users_expire(client, auth, make_user, monkeypatch):
    auth.login_as(make_user())
    page(client)
    db.session.execute(update(AuthSession).values(revoked_at=db.func.now()),
                       execution_options={sessions.CHANGES_PEOPLE: ()})  # no version bumped
    db.session.commit()
    assert LOGGED_IN in page(client)
    later = marketplace.cache.clock() + 31
    monkeypatch.setattr(marketplace.cache, "clock", lambda: later)
    assert LOGGED_IN not in page(client)


def test_not_kept_with_per_process_caches_unless_asked(app, make_user):
    settings = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                "SESSION_USER_CACHE_SECONDS": None}
    other = create_app("testing", settings)
    with other.test_request_context("/"):
        assert not marketplace.cache.is_shared()
        assert sessions.kept_seconds() == 0
    with create_app("testing", {**settings, "CACHE_TYPE": "RedisCache"}).test_request_context("/"):
        assert sessions.kept_seconds() == sessions.SHARED_CACHE_SECONDS


def test_two_app_instances_sharing_redis_end_a_session_at_once(app, database_url, make_user, tmp_path):
    user = make_user(role=Role.CLIENT)
    with two_apps_sharing_redis(database_url, tmp_path, SESSION_USER_CACHE_SECONDS=None) as (
            app_a, app_b, redis_client, prefix):
        browser_a, browser_b = app_a.test_client(), app_b.test_client()
        assert browser_a.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
        browser_b.set_cookie("session", browser_a.get_cookie("session").value)
        for browser in (browser_a, browser_b, browser_b):
            assert LOGGED_IN in page(browser)
        assert redis_client.keys(f"{prefix}v:person:{user.id}")
        assert browser_a.post("/auth/logout").status_code == 302
        assert LOGGED_IN not in page(browser_b)  # B kept the user: the version A bumped says it ended


def test_every_table_the_session_user_is_read_from_names_whose_change_it_is(app):
    """A table read without a model naming the users its rows concern would make each of its
    changes everyone's (``PEOPLE``): correct, but every kept user would be read again."""
    named = {model.__table__.name for model in sessions._PEOPLE_OF}
    assert sessions._read_tables() >= {"users", "auth_sessions", "consultations", "messages", "conversations"}
    assert sessions._read_tables() <= named


def test_a_logged_in_cached_page_reads_every_version_in_one_round_trip(client, auth, make_user, make_specialist,
                                                                     monkeypatch):
    profile = make_specialist()
    auth.login_as(make_user())
    urls = ("/", "/specialists", f"/specialists/{profile.slug}")
    for url in urls:
        page(client, url)  # warm: the page, its slug's id, the kept user
    reads: list[tuple[str, ...]] = []
    real = cache.get_many
    monkeypatch.setattr(cache, "get_many", lambda *keys: reads.append(keys) or real(*keys))
    for url in urls:
        reads.clear()
        assert LOGGED_IN in page(client, url)
        assert len(reads) == 1, (url, reads)  # the person's versions and the page's, together
        assert f"v:person:{profile.user_id}" not in reads[0] and any(k.startswith("v:person:") for k in reads[0])


def test_a_flush_of_many_consultations_of_one_specialist_reads_their_owner_once(app, make_user, make_specialist,
                                                                                count_queries):
    """Whose kept user a changed consultation makes stale (the specialist's) is worked out per row
    after the flush: the specialist's profile is read once, not once per consultation."""
    profile = make_specialist()
    profile_id, start = profile.id, utcnow() + timedelta(days=3)
    for hour in range(5):
        db.session.add(Consultation(client_id=make_user(Role.CLIENT).id, specialist_id=profile_id,
                                    kind=ConsultationKind.FREE, state=ConsultationState.REQUESTED, format="video",
                                    start_utc=start + timedelta(hours=hour),
                                    end_utc=start + timedelta(hours=hour, minutes=30)))
    db.session.commit()
    db.session.expunge_all()  # nothing holds the profile (the identity map is weak)
    consultations = list(db.session.scalars(select(Consultation).where(Consultation.specialist_id == profile_id)))
    for consultation in consultations:
        consultation.note = "Changed"
    with count_queries() as counter:
        db.session.flush()
    profile_reads = [s for s in counter.statements if "FROM specialist_profiles" in s]
    assert len(consultations) == 5 and len(profile_reads) == 1, counter.statements
    db.session.rollback()
