"""Migrations on SQLite rebuild tables (copy, drop, rename): the drop must not delete, by cascade,
the rows that point at the table. Each case on SQLite and PostgreSQL."""
from datetime import datetime, timezone

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from marketplace import create_app
from marketplace.extensions import db
from tests.integration.test_migration_search_text import _insert
from tests.integration.test_migrations import MIGRATIONS, _fresh_database_url


@pytest.fixture(params=["sqlite", "postgres"])
def kind(request):
    return request.param


@pytest.fixture
def fresh_database_url(kind, tmp_path):
    return _fresh_database_url(kind, tmp_path)


def test_a_migration_that_rebuilds_a_table_keeps_the_rows_that_point_at_it(kind, fresh_database_url):
    """On SQLite, changing a table's columns copies it into a new table and drops the old one;
    with foreign keys enforced, that drop deleted every row pointing at it ON DELETE CASCADE (a
    downgrade of the confirmed-e-mail migration emptied profiles and consultations). Migrations run
    with foreign keys off and check them before they are on again."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": fresh_database_url})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="c0f1e2d3a4b5")
        with db.engine.begin() as conn:
            client = _insert(conn, "users", email="kept@example.test", role="client", display_name="Kept")
            owner = _insert(conn, "users", email="owner@example.test", role="specialist", display_name="Owner")
            profile = _insert(conn, "specialist_profiles", user_id=owner, slug="owner", display_name="Owner",
                              timezone="Europe/Berlin", verification_status="verified")
            _insert(conn, "consultations", client_id=client, specialist_id=profile, kind="free", state="confirmed",
                    start_utc=datetime(2030, 1, 7, 9, tzinfo=timezone.utc),
                    end_utc=datetime(2030, 1, 7, 9, 30, tzinfo=timezone.utc), format="video")
        downgrade(directory=MIGRATIONS, revision="e5a1c9d3b7f2")  # rebuilds `users` on SQLite
        with db.engine.connect() as conn:
            counts = [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()  # noqa: S608 (fixed names)
                      for t in ("users", "specialist_profiles", "consultations")]
            enforced = conn.execute(text("PRAGMA foreign_keys")).scalar() if kind == "sqlite" else 1
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            after = conn.execute(text("SELECT count(*) FROM consultations")).scalar()
        db.engine.dispose()
    assert counts == [2, 1, 1] and after == 1
    assert enforced == 1, "foreign keys are enforced again after the migration"
