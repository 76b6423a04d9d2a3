"""The migration that encrypts the calendar addresses (external_calendars.url → url_encrypted), on
SQLite and PostgreSQL: an existing plaintext address is encrypted and its busy times are kept (no
table copy whose drop would delete them by cascade on SQLite); the downgrade restores the
plaintext, and refuses, changing nothing, when an address cannot be decrypted."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask_migrate import downgrade, upgrade

from marketplace import create_app
from marketplace.encryption import decrypt_text
from marketplace.extensions import db
from tests.integration.test_migration_search_text import _insert
from tests.integration.test_migrations import MIGRATIONS, _fresh_database_url

BEFORE = "d2f8a4c6e1b3"
ENCRYPTED = "e7c3a9f15b28"
URL = "https://calendar.google.com/calendar/ical/me%40example.test/private-5e2b7c1d/basic.ics"


@pytest.fixture(params=["sqlite", "postgres"])
def database_before(request, tmp_path):
    return _fresh_database_url(request.param, tmp_path)


def _columns(conn) -> set[str]:
    return {c["name"] for c in sa.inspect(conn).get_columns("external_calendars")}


def _a_calendar_with_a_plaintext_address(conn) -> None:
    user_id = _insert(conn, "users", email="ines@example.test", role="specialist", display_name="Inés")
    profile_id = _insert(conn, "specialist_profiles", user_id=user_id, slug="ines", display_name="Inés",
                         currency="EUR", timezone="Europe/Madrid", verification_status="verified")
    calendar_id = _insert(conn, "external_calendars", specialist_id=profile_id, url=URL, url_sha256="0" * 64,
                          host="calendar.google.com")
    _insert(conn, "external_busy_times", calendar_id=calendar_id, specialist_id=profile_id,
            start_utc=datetime(2030, 1, 1, 10, tzinfo=UTC), end_utc=datetime(2030, 1, 1, 11, tzinfo=UTC))


def test_upgrade_encrypts_an_existing_address_and_downgrade_restores_it(database_before):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_before})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE)
        with db.engine.begin() as conn:
            _a_calendar_with_a_plaintext_address(conn)

        upgrade(directory=MIGRATIONS, revision=ENCRYPTED)
        with db.engine.connect() as conn:
            assert "url" not in _columns(conn)
            row = conn.execute(sa.text("SELECT * FROM external_calendars")).mappings().one()
            busy = conn.execute(sa.text("SELECT count(*) FROM external_busy_times")).scalar()
        assert not [v for v in row.values() if isinstance(v, str) and "private-5e2b7c1d" in v]
        assert decrypt_text(row["url_encrypted"]) == URL and row["host"] == "calendar.google.com"
        assert busy == 1  # the calendar's busy times survive the change of its table

        downgrade(directory=MIGRATIONS, revision=BEFORE)
        with db.engine.connect() as conn:
            assert "url_encrypted" not in _columns(conn)
            url = conn.execute(sa.text("SELECT url FROM external_calendars")).scalar_one()
            busy = conn.execute(sa.text("SELECT count(*) FROM external_busy_times")).scalar()
        assert url == URL and busy == 1

        upgrade(directory=MIGRATIONS)  # and up again, to the head
        with db.engine.connect() as conn:
            assert decrypt_text(conn.execute(sa.text("SELECT url_encrypted FROM external_calendars")).scalar_one()) == URL
        db.session.remove()
        db.engine.dispose()


def test_downgrade_refuses_an_address_no_key_opens_and_changes_nothing(database_before, capfd):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_before})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE)
        with db.engine.begin() as conn:
            _a_calendar_with_a_plaintext_address(conn)
        upgrade(directory=MIGRATIONS, revision=ENCRYPTED)
        with db.engine.connect() as conn:
            token = conn.execute(sa.text("SELECT url_encrypted FROM external_calendars")).scalar_one()

        app.config["NOTES_KEYS"] = Fernet.generate_key().decode()  # the address's key is gone
        with pytest.raises(SystemExit):  # `flask db downgrade` fails with the reason
            downgrade(directory=MIGRATIONS, revision=BEFORE)
        assert "external calendars 1: their addresses cannot be decrypted with NOTES_KEYS" in capfd.readouterr().err
        with db.engine.connect() as conn:
            assert "url" not in _columns(conn)
            assert conn.execute(sa.text("SELECT url_encrypted FROM external_calendars")).scalar_one() == token
        db.session.remove()
        db.engine.dispose()
