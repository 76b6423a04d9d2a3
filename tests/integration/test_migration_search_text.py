"""The search-text migration backfills existing profiles (folded name, place, vocabulary labels,
bio), on SQLite and PostgreSQL; the app then finds them by it."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from marketplace import create_app
from marketplace.extensions import db
from marketplace.specialists.directory import DirectoryFilters, search_directory
from tests.integration.test_migrations import MIGRATIONS, _fresh_database_url

BEFORE = "8e4b2f6a9c13"
SEARCH_TEXT = "b7e3c1d95a42"


@pytest.fixture(params=["sqlite", "postgres"])
def database_before_search_text(request, tmp_path):
    return _fresh_database_url(request.param, tmp_path)


def _sample(column: sa.Column) -> object:
    """A value for a NOT NULL column the test does not care about."""
    python_type = column.type.python_type
    if python_type is bool:
        return True
    if python_type is int:
        return 1
    if python_type is datetime:
        return datetime(2026, 11, 1, tzinfo=UTC)
    if python_type is dict:
        return {}
    return "x"


def _insert(conn, table_name: str, **values: object) -> int:
    table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
    row = {c.name: _sample(c) for c in table.columns
           if not c.nullable and c.server_default is None and not c.primary_key and c.name not in values}
    row.update(values)
    result = conn.execute(table.insert().values(**row))
    return result.inserted_primary_key[0] if result.inserted_primary_key else 0


def _vocabulary_id(conn, table: str, slug: str) -> int:
    return conn.execute(sa.text(f"SELECT id FROM {table} WHERE slug = :slug"), {"slug": slug}).scalar_one()  # noqa: S608


def test_upgrade_backfills_the_search_text(database_before_search_text):
    from flask_migrate import upgrade

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_before_search_text})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE)
        with db.engine.begin() as conn:
            user_id = _insert(conn, "users", email="sofia@example.test", role="specialist", display_name="Sofía")
            profile_id = _insert(
                conn, "specialist_profiles", user_id=user_id, slug="sofia-alvarez", display_name="Sofía Álvarez",
                title="Psicóloga", city="Kraków", country="PL", bio_markdown="Parejas y **duelo**.",
                is_published=True, verification_status="verified", currency="EUR", timezone="Europe/Warsaw")
            for table, column, vocabulary, slug in (("profile_specialties", "specialty_id", "specialties", "trauma"),
                                                    ("profile_approaches", "approach_id", "approaches", "emdr"),
                                                    ("profile_languages", "language_id", "languages", "es")):
                conn.execute(sa.text(f"INSERT INTO {table} (profile_id, {column}) VALUES (:p, :v)"),  # noqa: S608
                             {"p": profile_id, "v": _vocabulary_id(conn, vocabulary, slug)})
        upgrade(directory=MIGRATIONS, revision=SEARCH_TEXT)
        with db.engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT search_text FROM specialist_profiles")).scalar_one()
        assert stored == "sofia alvarez psicologa krakow poland trauma ptsd emdr spanish parejas y duelo"
        upgrade(directory=MIGRATIONS)  # whatever follows
        for q in ("sofia", "Kraków", "ptsd", "abuse", "spanish"):
            assert [card.slug for card in search_directory(DirectoryFilters(q=q), 1).items] == ["sofia-alvarez"], q
        db.session.remove()
        db.engine.dispose()
