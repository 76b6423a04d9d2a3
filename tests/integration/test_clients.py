"""The specialist's client list and private notes encrypted at rest (issue 16, item 4).

HTTP flows and service rules, on SQLite and PostgreSQL (the ``app`` fixture)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from config import TESTING_NOTES_KEY
from marketplace.audit import AuditEntry
from marketplace.auth.models import Role
from marketplace.clients.models import NOTE_MAX_LENGTH, ClientNote
from marketplace.clients.services import client_record, list_clients, rotate_note_keys
from marketplace.consultations.models import (
    Consultation,
    ConsultationKind,
    ConsultationOutcome,
    ConsultationState,
)
from marketplace.encryption import UnreadableText, decrypt_text, encrypt_text
from marketplace.extensions import db
from marketplace.messaging.models import Conversation
from tests.factories import PASSWORD, live_session_id

SECRET = "Struggles with sleep since the move; mentioned her sister twice. Ünïcödé ✓"
# 7 December 2026, 09:30 in Berlin (CET, UTC+1).
KNOWN_START = datetime(2026, 12, 7, 8, 30, tzinfo=timezone.utc)


def book(client, profile, *, start=None, kind=ConsultationKind.FREE, state=ConsultationState.COMPLETED,
         outcome=None):
    start = start or datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=10)
    consultation = Consultation(client_id=client.id, specialist_id=profile.id, kind=kind, state=state,
                                start_utc=start, end_utc=start + timedelta(minutes=30 if kind is ConsultationKind.FREE else 50),
                                format="video", outcome=outcome, sequence=0,
                                price_minor=9000 if kind is ConsultationKind.PAID else None,
                                currency="EUR" if kind is ConsultationKind.PAID else None)
    db.session.add(consultation)
    db.session.commit()
    return consultation


@pytest.fixture
def practice(make_specialist, make_user):
    """A specialist with: Alice (free consultation → proceed, two paid sessions held or booked, one
    paid hold cancelled, a conversation), Carol (an upcoming request), Bob (only a request that
    expired unconfirmed), and Dora, a client of another specialist only."""
    profile = make_specialist(display_name="Dr Practice")
    other = make_specialist(display_name="Dr Elsewhere")
    alice = make_user(Role.CLIENT, display_name="Alice Client")
    carol = make_user(Role.CLIENT, display_name="Carol Client")
    bob = make_user(Role.CLIENT, display_name="Bob Expired")
    dora = make_user(Role.CLIENT, display_name="Dora Elsewhere")
    book(alice, profile, start=KNOWN_START - timedelta(days=30), outcome=ConsultationOutcome.PROCEED)
    book(alice, profile, start=KNOWN_START, kind=ConsultationKind.PAID)
    book(alice, profile, start=KNOWN_START + timedelta(days=7), kind=ConsultationKind.PAID,
         state=ConsultationState.CONFIRMED)
    book(alice, profile, start=KNOWN_START + timedelta(days=14), kind=ConsultationKind.PAID,
         state=ConsultationState.CANCELLED)
    book(carol, profile, start=datetime.now(timezone.utc) + timedelta(days=3), state=ConsultationState.REQUESTED)
    book(bob, profile, state=ConsultationState.EXPIRED)
    book(dora, other)
    conversation = Conversation(client_id=alice.id, specialist_id=profile.user_id, specialist_profile_id=profile.id,
                                started_by_id=alice.id)
    db.session.add(conversation)
    db.session.commit()
    return dict(profile=profile, other=other, alice=alice, carol=carol, bob=bob, dora=dora,
                conversation=conversation)


def login(client, user):
    """Log in by session cookie (no password hashing: these tests are about the pages, not logging in)."""
    session_id = live_session_id(user)
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True


def note_url(client):
    return f"/specialists/me/clients/{client.id}"


def stored_ciphertexts():
    return list(db.session.execute(text("SELECT body_encrypted FROM client_notes")).scalars())


# --- the list ------------------------------------------------------------------------------------

def test_list_shows_each_client_with_consultations_outcome_paid_sessions_and_conversation(client, practice):
    login(client, practice["profile"].user)
    response = client.get("/specialists/me/clients")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Alice Client" in page and "Carol Client" in page
    assert "Bob Expired" not in page, "a request that expired unconfirmed does not make a client"
    assert "Dora Elsewhere" not in page, "another specialist's client was listed"
    # Carol (upcoming) first, then Alice.
    assert page.index("Carol Client") < page.index("Alice Client")
    alice_row = page[page.index(f'data-client-id="{practice["alice"].id}"'):]
    alice_row = alice_row[:alice_row.index("</tr>")]
    assert 'data-testid="paid-sessions">2<' in alice_row  # held + confirmed; the cancelled one is not counted
    assert "Proceed" in alice_row
    assert f'/messages/{practice["conversation"].id}"' in alice_row
    assert alice_row.count('data-testid="client-consultation"') == 4
    assert "Mon 7 Dec 2026, 09:30 CET (Europe/Berlin)" in alice_row, "time not in the specialist's zone, named"
    assert f'href="/specialists/me/clients/{practice["alice"].id}"' in alice_row


def test_clients_link_in_the_specialists_menu_only(client, practice):
    login(client, practice["profile"].user)
    assert 'href="/specialists/me/clients"' in client.get("/account").get_data(as_text=True)
    login(client, practice["alice"])
    assert 'href="/specialists/me/clients"' not in client.get("/account").get_data(as_text=True)


def test_list_is_for_specialists_only(client, practice, make_user):
    assert client.get("/specialists/me/clients").status_code == 302  # visitor: to login
    login(client, practice["alice"])
    assert client.get("/specialists/me/clients").status_code == 403
    login(client, make_user(Role.ADMIN))
    assert client.get("/specialists/me/clients").status_code == 403


def test_list_runs_a_constant_number_of_statements(client, practice, make_user, count_queries):
    login(client, practice["profile"].user)

    def statements():
        with count_queries() as counter:
            assert client.get("/specialists/me/clients").status_code == 200
        return [s for s in counter.statements if s.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE")]

    statements()
    few = statements()
    for n in range(6):
        someone = make_user(Role.CLIENT)
        book(someone, practice["profile"], outcome=ConsultationOutcome.NOT_A_FIT)
        book(someone, practice["profile"], start=KNOWN_START + timedelta(days=40 + n), kind=ConsultationKind.PAID)
        db.session.add(Conversation(client_id=someone.id, specialist_id=practice["profile"].user_id,
                                    started_by_id=someone.id))
        db.session.add(ClientNote(specialist_id=practice["profile"].id, client_id=someone.id,
                                  body_encrypted=encrypt_text("note")))
    db.session.commit()
    many = statements()
    assert len(many) == len(few), many
    # the user (with the menu's counts), the profile id, the number of clients, the page's client ids,
    # their consultations with the clients, the bookings reschedules made, conversations, which have a note
    assert len(many) <= 8, many


def test_list_service_leaves_out_expired_only_and_other_specialists_clients(app, practice):
    records = list_clients(practice["profile"].user)
    assert [r.client.display_name for r in records] == ["Carol Client", "Alice Client"]
    assert records.total == 2
    assert list_clients(practice["alice"]).items == []  # not a specialist: nothing


@pytest.fixture
def large_practice(make_specialist, make_user):
    """A specialist with 30 clients: 3 with an upcoming consultation (in 9, 2 and 5 days), 27 whose
    consultations are over (the n-th ended n + 1 days ago; client 4 also had an earlier one)."""
    profile = make_specialist(display_name="Dr Busy")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    upcoming = {}
    for days in (9, 2, 5):
        person = make_user(Role.CLIENT, display_name=f"Soon {days}")
        book(person, profile, start=now - timedelta(days=60))  # an older one: the upcoming one decides
        book(person, profile, start=now + timedelta(days=days), kind=ConsultationKind.PAID,
             state=ConsultationState.CONFIRMED)
        upcoming[days] = person
    past = []
    for n in range(27):
        person = make_user(Role.CLIENT, display_name=f"Past {n:02d}")
        book(person, profile, start=now - timedelta(days=n + 1))
        if n == 4:
            book(person, profile, start=now - timedelta(days=200), kind=ConsultationKind.PAID)
        past.append(person)
    # Cancelled in time, still upcoming: listed (a client), but not "upcoming".
    cancelled = make_user(Role.CLIENT, display_name="Cancelled")
    book(cancelled, profile, start=now + timedelta(days=1), state=ConsultationState.CANCELLED)
    order = [upcoming[2], upcoming[5], upcoming[9], cancelled, *past]
    return dict(profile=profile, order=[person.id for person in order])


def test_the_list_is_paged_in_its_order_upcoming_first_then_latest(app, large_practice):
    specialist = large_practice["profile"].user
    first, second = list_clients(specialist), list_clients(specialist, page=2)
    assert (first.total, first.pages, len(first), len(second)) == (31, 2, 25, 6)
    assert [r.client.id for r in [*first, *second]] == large_practice["order"]
    assert all(r.consultations for r in second), "a page's clients come with their consultations"
    assert [r.client.id for r in list_clients(specialist, page="999")] == large_practice["order"][25:]
    assert [r.client.id for r in list_clients(specialist, page="two")] == large_practice["order"][:25]


def test_the_list_page_links_the_next_page_and_survives_bad_page_numbers(client, large_practice):
    login(client, large_practice["profile"].user)
    page = client.get("/specialists/me/clients").get_data(as_text=True)
    assert page.count('data-testid="client-row"') == 25
    assert 'href="/specialists/me/clients?page=2"' in page and "Page 1 of 2" in page
    second = client.get("/specialists/me/clients?page=2")
    assert second.status_code == 200
    rows = second.get_data(as_text=True)
    assert rows.count('data-testid="client-row"') == 6
    assert f'data-client-id="{large_practice["order"][25]}"' in rows
    for bad in ("0", "-3", "abc", "99999999999999999999", "2.5"):
        assert client.get(f"/specialists/me/clients?page={bad}").status_code == 200, bad


# --- the client page and the note ------------------------------------------------------------

def test_note_is_saved_encrypted_and_shown_only_to_its_specialist(client, practice):
    alice = practice["alice"]
    login(client, practice["profile"].user)
    response = client.post(note_url(alice), data={"note": SECRET})
    assert response.status_code == 302
    [stored] = stored_ciphertexts()
    assert stored != SECRET and SECRET not in stored and "sleep" not in stored
    assert decrypt_text(stored) == SECRET
    page = client.get(note_url(alice)).get_data(as_text=True)
    assert "Struggles with sleep" in page
    assert "deleted when you delete your account, or when this client deletes theirs" in page
    assert 'data-testid="has-note"' in client.get("/specialists/me/clients").get_data(as_text=True)

    client.post(note_url(alice), data={"note": "Second thoughts."})
    [again] = stored_ciphertexts()
    assert decrypt_text(again) == "Second thoughts."


def test_saving_and_removing_a_note_is_audited_without_its_text(client, practice):
    alice, specialist = practice["alice"], practice["profile"].user
    login(client, specialist)
    client.post(note_url(alice), data={"note": SECRET})
    client.post(note_url(alice), data={"note": "Second thoughts."})
    client.post(note_url(alice), data={"note": ""})
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("client_note.%"))
                                 .order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor_id) for e in entries] == [
        ("client_note.saved", specialist.id), ("client_note.saved", specialist.id),
        ("client_note.removed", specialist.id)]
    assert entries[0].target_type == "ClientNote" and entries[0].target_id == entries[2].target_id
    assert [e.after or e.before for e in entries] == [{"client_id": alice.id}] * 3
    logged = json.dumps([[e.before, e.after] for e in entries])
    assert "sleep" not in logged and "thoughts" not in logged, "a note's text reached the audit log"


@pytest.mark.parametrize("who", ["other_specialist", "admin", "the_client", "other_client"])
def test_others_get_404_for_the_client_page_and_cannot_post_a_note(client, practice, make_user, who):
    profile, alice = practice["profile"], practice["alice"]
    db.session.add(ClientNote(specialist_id=profile.id, client_id=alice.id, body_encrypted=encrypt_text(SECRET)))
    db.session.commit()
    before = stored_ciphertexts()
    user = {"other_specialist": lambda: practice["other"].user, "admin": lambda: make_user(Role.ADMIN),
            "the_client": lambda: alice, "other_client": lambda: practice["dora"]}[who]()
    login(client, user)
    get = client.get(note_url(alice))
    assert get.status_code == 404
    assert "Struggles" not in get.get_data(as_text=True)
    assert client.post(note_url(alice), data={"note": "overwritten"}).status_code == 404
    assert stored_ciphertexts() == before


def test_the_other_specialists_client_and_an_expired_request_are_404_for_the_specialist(client, practice):
    login(client, practice["profile"].user)
    assert client.get(note_url(practice["dora"])).status_code == 404
    assert client.get(note_url(practice["bob"])).status_code == 404
    assert client.post(note_url(practice["dora"]), data={"note": "x"}).status_code == 404
    assert client.get("/specialists/me/clients/2147483647").status_code == 404
    assert stored_ciphertexts() == []


def test_client_page_shows_consultations_paid_sessions_and_conversation(client, practice):
    login(client, practice["profile"].user)
    page = client.get(note_url(practice["alice"])).get_data(as_text=True)
    assert page.count('data-testid="client-consultation"') == 4
    assert 'data-testid="paid-sessions">2<' in page
    assert f'/messages/{practice["conversation"].id}"' in page
    carol_page = client.get(note_url(practice["carol"])).get_data(as_text=True)
    assert f"/messages/new?client={practice['carol'].id}" in carol_page  # no conversation yet: start one


def test_a_note_over_the_limit_is_refused_with_a_message_and_nothing_stored(client, practice):
    login(client, practice["profile"].user)
    response = client.post(note_url(practice["alice"]), data={"note": "x" * (NOTE_MAX_LENGTH + 1)})
    assert response.status_code == 422
    assert f"at most {NOTE_MAX_LENGTH:,} characters" in response.get_data(as_text=True)
    assert stored_ciphertexts() == []


def test_saving_an_empty_note_removes_it(client, practice):
    login(client, practice["profile"].user)
    client.post(note_url(practice["alice"]), data={"note": SECRET})
    response = client.post(note_url(practice["alice"]), data={"note": "   "}, follow_redirects=True)
    assert "Note removed." in response.get_data(as_text=True)
    assert stored_ciphertexts() == []


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_posting_a_note_needs_the_csrf_token(client, practice):
    login(client, practice["profile"].user)
    assert client.post(note_url(practice["alice"]), data={"note": SECRET}).status_code == 400
    assert stored_ciphertexts() == []


# --- keys ------------------------------------------------------------------------------------------

def test_rotation_reencrypts_every_note_with_the_new_key_and_the_old_key_can_go(app, practice):
    profile, alice, carol = practice["profile"], practice["alice"], practice["carol"]
    for who in (alice, carol):
        db.session.add(ClientNote(specialist_id=profile.id, client_id=who.id,
                                  body_encrypted=encrypt_text(f"{SECRET} {who.id}")))
    db.session.commit()
    before = stored_ciphertexts()
    new_key = Fernet.generate_key().decode()
    app.config["NOTES_KEYS"] = f"{new_key},{TESTING_NOTES_KEY}"

    result = app.test_cli_runner().invoke(args=["rotate-note-keys"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 2 note(s)" in result.output
    db.session.expire_all()
    after = stored_ciphertexts()
    assert set(after).isdisjoint(before)
    for token in after:  # readable with the new key alone
        assert Fernet(new_key.encode()).decrypt(token.encode()).decode().startswith(SECRET)

    app.config["NOTES_KEYS"] = new_key  # old key removed
    assert client_record(profile.user, alice.id).note == f"{SECRET} {alice.id}"
    with pytest.raises(Exception):  # noqa: B017 - the old key alone no longer opens them
        Fernet(TESTING_NOTES_KEY.encode()).decrypt(after[0].encode())


def test_rotation_reports_notes_no_key_opens_and_leaves_them(app, practice):
    profile = practice["profile"]
    db.session.add(ClientNote(specialist_id=profile.id, client_id=practice["alice"].id,
                              body_encrypted=encrypt_text(SECRET)))
    db.session.commit()
    before = stored_ciphertexts()
    app.config["NOTES_KEYS"] = Fernet.generate_key().decode()  # the note's key was removed too early
    assert rotate_note_keys().unreadable and stored_ciphertexts() == before
    result = app.test_cli_runner().invoke(args=["rotate-note-keys"])
    assert result.exit_code != 0 and "could not be decrypted" in result.output
    with pytest.raises(UnreadableText):
        decrypt_text(before[0])
    record = client_record(profile.user, practice["alice"].id)
    assert record.note is None and record.note_unreadable


# --- export and deletion -------------------------------------------------------------------------

def test_the_specialists_export_contains_the_note(client, practice):
    login(client, practice["profile"].user)
    client.post(note_url(practice["alice"]), data={"note": SECRET})
    data = json.loads(client.get("/account/export").get_data(as_text=True))
    assert data["client_notes"] == [{**data["client_notes"][0], "client_id": practice["alice"].id,
                                     "client": "Alice Client", "note": SECRET}]
    login(client, practice["alice"])
    assert json.loads(client.get("/account/export").get_data(as_text=True))["client_notes"] == []


def test_deleting_the_specialists_account_destroys_their_notes(client, practice):
    profile = practice["profile"]
    db.session.add(ClientNote(specialist_id=profile.id, client_id=practice["alice"].id,
                              body_encrypted=encrypt_text(SECRET)))
    db.session.add(ClientNote(specialist_id=practice["other"].id, client_id=practice["dora"].id,
                              body_encrypted=encrypt_text("kept")))
    db.session.commit()
    login(client, profile.user)
    assert client.post("/account/delete", data={"password": PASSWORD}).status_code == 302
    remaining = list(db.session.scalars(select(ClientNote)))
    assert [(n.specialist_id, n.client_id) for n in remaining] == [(practice["other"].id, practice["dora"].id)]


def test_a_client_deleting_their_account_deletes_notes_about_them(client, practice):
    profile, alice = practice["profile"], practice["alice"]
    db.session.add(ClientNote(specialist_id=profile.id, client_id=alice.id, body_encrypted=encrypt_text(SECRET)))
    db.session.add(ClientNote(specialist_id=profile.id, client_id=practice["carol"].id,
                              body_encrypted=encrypt_text("kept")))
    db.session.commit()
    login(client, alice)
    assert client.post("/account/delete", data={"password": PASSWORD}).status_code == 302
    assert [n.client_id for n in db.session.scalars(select(ClientNote))] == [practice["carol"].id]

    login(client, profile.user)
    page = client.get(note_url(alice))
    assert page.status_code == 200  # the consultations stay on record
    assert 'data-testid="client-deleted"' in page.get_data(as_text=True)
    assert 'name="note"' not in page.get_data(as_text=True)
    refused = client.post(note_url(alice), data={"note": "about a deleted person"})
    assert refused.status_code == 422
    assert "notes about them can no longer be kept" in refused.get_data(as_text=True)
    assert len(stored_ciphertexts()) == 1
