"""Calendar addresses encrypted at rest: the row holds a Fernet token (never the address), reading
still works end to end against a real local server, key rotation re-encrypts the tokens (then the
old key can go), and a token no key opens is a clear failing state for the specialist — never a
500, never the address in a log. Service level on SQLite and PostgreSQL (``app``)."""
from __future__ import annotations

import json
import logging

from cryptography.fernet import Fernet
from sqlalchemy import func, inspect, select, text

from config import TESTING_NOTES_KEY
from marketplace.consultations.external_calendars import (
    REASON_UNREADABLE_ADDRESS,
    add_external_calendar,
    export_external_calendars,
    refresh_external_calendar,
    rotate_calendar_url_keys,
)
from marketplace.consultations.models import (
    EXTERNAL_CALENDAR_URL_MAX,
    EXTERNAL_CALENDAR_URL_TOKEN_MAX,
    ExternalBusyTime,
    ExternalCalendar,
)
from marketplace.encryption import decrypt_text, token_length
from marketplace.extensions import db
from tests.integration.test_consultations import login
from tests.integration.test_external_calendars import (  # noqa: F401  (fixtures: server, specialist)
    FEED,
    NOW,
    SECRET_PATH,
    add_and_read,
    busy_rows,
    free,
    server,
    specialist,
)

SECRET = "private-8f3a1c9e77d24b1e"  # the part of SECRET_PATH that gives the calendar away


def raw_rows() -> list[dict]:
    """Every column of every calendar row, as the database holds it (no ORM in between)."""
    return [dict(row._mapping) for row in db.session.execute(text("SELECT * FROM external_calendars"))]


def raw_tokens() -> list[str]:
    return list(db.session.scalars(text("SELECT url_encrypted FROM external_calendars ORDER BY id")))


def test_the_row_holds_a_token_and_reading_still_works_end_to_end(specialist, server):  # noqa: F811
    url = server.serve(SECRET_PATH, FEED)
    before = free(specialist)
    calendar = add_and_read(specialist, url)

    assert SECRET_PATH in server.requests  # the address was decrypted and read
    assert calendar.busy_count == 5 and calendar.error is None and calendar.last_success_at == NOW
    assert len(free(specialist)) == len(before) - 10  # five one-hour busy times, two slots each
    (row,) = raw_rows()
    assert "url" not in row  # the plaintext column is gone
    assert not [name for name, value in row.items() if isinstance(value, str) and SECRET in value]
    token = row["url_encrypted"]
    assert token.startswith("gAAAAA") and url not in token  # a Fernet token
    assert Fernet(TESTING_NOTES_KEY.encode()).decrypt(token.encode()).decode() == url
    assert row["host"] == "127.0.0.1"  # what pages show stays readable


def test_the_longest_allowed_address_fits_its_column(specialist, server):  # noqa: F811
    """2000 characters of 4 UTF-8 bytes each (PostgreSQL refuses a value longer than its column)."""
    prefix = server.url("/")
    url = prefix + "\U0001d11e" * (EXTERNAL_CALENDAR_URL_MAX - len(prefix))
    calendar = add_external_calendar(specialist, url)
    db.session.commit()
    (token,) = raw_tokens()
    assert len(token) == token_length(len(url.encode("utf-8"))) <= EXTERNAL_CALENDAR_URL_TOKEN_MAX
    assert decrypt_text(token) == url and db.session.get(ExternalCalendar, calendar.id) is not None


def test_rotation_reencrypts_the_addresses_and_the_old_key_can_go(app, specialist, server):  # noqa: F811
    add_and_read(specialist, server.serve(SECRET_PATH, FEED))
    add_external_calendar(specialist, server.serve("/second.ics", FEED))
    db.session.commit()
    before = raw_tokens()
    new_key = Fernet.generate_key().decode()
    app.config["NOTES_KEYS"] = f"{new_key},{TESTING_NOTES_KEY}"

    result = app.test_cli_runner().invoke(args=["rotate-note-keys"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 0 note(s) and 2 calendar address(es) with the current key" in result.output
    db.session.expire_all()
    after = raw_tokens()
    assert set(after).isdisjoint(before)
    assert [Fernet(new_key.encode()).decrypt(t.encode()).decode() for t in after] == [
        server.url(SECRET_PATH), server.url("/second.ics")]

    app.config["NOTES_KEYS"] = new_key  # old key removed: reading still works
    server.requests.clear()
    calendar_id = db.session.scalar(select(ExternalCalendar.id).order_by(ExternalCalendar.id))
    assert refresh_external_calendar(calendar_id, now=NOW) is True
    db.session.commit()
    assert server.requests == [SECRET_PATH]


def test_a_token_no_key_opens_is_a_clear_failing_state(app, specialist, server, client, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    calendar = add_and_read(specialist, server.serve(SECRET_PATH, FEED))
    good, rows = free(specialist), busy_rows()
    app.config["NOTES_KEYS"] = Fernet.generate_key().decode()  # the address's key was removed too early
    server.requests.clear()

    assert refresh_external_calendar(calendar.id, now=NOW) is False
    db.session.commit()
    db.session.refresh(calendar)
    assert calendar.error == REASON_UNREADABLE_ADDRESS and calendar.failing_since == NOW
    assert calendar.last_success_at == NOW and busy_rows() == rows and free(specialist) == good
    assert server.requests == []  # nothing was downloaded

    login(client, specialist.user)
    response = client.get("/specialists/me/availability")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Balance can no longer read this address; please add it again." in page
    assert "Calendar on 127.0.0.1" in page and SECRET not in page
    export = json.loads(client.get("/account/export").get_data(as_text=True))["external_calendars"]
    assert export[0]["url"] is None and export[0]["host"] == "127.0.0.1"

    before = raw_tokens()
    assert rotate_calendar_url_keys().unreadable == [calendar.id] and raw_tokens() == before
    result = app.test_cli_runner().invoke(args=["rotate-note-keys"])
    assert result.exit_code != 0 and "1 calendar address(es)" in result.output
    assert "could not be decrypted" in result.output
    assert not [r for r in caplog.records if SECRET in r.getMessage()]


def test_adding_the_address_again_stores_it_under_the_current_key(app, specialist, server):  # noqa: F811
    url = server.serve(SECRET_PATH, FEED)
    calendar = add_and_read(specialist, url)
    app.config["NOTES_KEYS"] = Fernet.generate_key().decode()
    refresh_external_calendar(calendar.id, now=NOW)
    db.session.commit()

    again = add_external_calendar(specialist, url)
    db.session.commit()
    assert again.id == calendar.id and db.session.scalar(select(func.count(ExternalCalendar.id))) == 1
    assert decrypt_text(raw_tokens()[0]) == url
    assert refresh_external_calendar(calendar.id, now=NOW) is True
    db.session.commit()
    db.session.refresh(calendar)
    assert calendar.error is None and calendar.failing_since is None
    assert export_external_calendars(specialist.user)[0]["url"] == url
    assert db.session.scalar(select(func.count(ExternalBusyTime.id))) == 5


def test_the_table_has_no_plaintext_address_column(app):
    columns = {c["name"] for c in inspect(db.engine).get_columns("external_calendars")}
    assert "url_encrypted" in columns and "url" not in columns
