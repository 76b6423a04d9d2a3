"""Alembic: one head, and `upgrade` on an empty database gives exactly the models' schema."""
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from marketplace import create_app
from marketplace.extensions import db
from tests.conftest import PG_DEFAULT, require

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")


def test_single_head():
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


@pytest.fixture
def fresh_database_url(request, tmp_path):
    """An empty database of ``kind`` (the test's parameter)."""
    return _fresh_database_url(request.node.callspec.params["kind"], tmp_path)


def _fresh_database_url(kind: str, tmp_path) -> str:
    """SQLite: a new file. PostgreSQL: this process's migrations database, emptied — its schema is
    dropped and made again (dropping a whole database makes PostgreSQL wait for a checkpoint, ≈ 10 s
    while the suite runs). Databases of earlier runs whose process is gone are dropped once."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.db'}"
    base = make_url(os.environ.get("TEST_DATABASE_URL", PG_DEFAULT))
    prefix = f"{base.database}_migrations_"
    name = f"{prefix}{os.getpid()}"
    url = base.set(database=name)
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            existing = set(conn.scalars(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                        {"p": f"{prefix}%"}))
            for stale in sorted(existing - {name}):
                pid = stale.removeprefix(prefix)
                if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)'))
            if name not in existing:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        admin.dispose()
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        require(False, f"PostgreSQL not reachable ({type(exc).__name__})")
    return url.render_as_string(hide_password=False)


def _significant(diff: list, dialect: str) -> list:
    """Drop remove+add pairs of the same expression index: Alembic compares their SQL text,
    which PostgreSQL normalises (casts), so an identical index looks different. Drop indexes
    the models create on another database only (``Index.ddl_if(dialect=…)``, which Alembic ignores)."""
    removed = {d[1].name for d in diff if isinstance(d, tuple) and d[0] == "remove_index"}
    added = {d[1].name for d in diff if isinstance(d, tuple) and d[0] == "add_index"}
    same = removed & added
    return [d for d in diff if not (isinstance(d, tuple) and d[0] in ("remove_index", "add_index")
                                    and (d[1].name in same or _elsewhere_only(d[1], dialect)))]


def _elsewhere_only(index, dialect: str) -> bool:
    model = next((i for t in db.metadata.tables.values() for i in t.indexes if i.name == index.name), None)
    ddl_if = getattr(model, "_ddl_if", None)
    return ddl_if is not None and ddl_if.dialect is not None and ddl_if.dialect != dialect


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_upgrade_matches_models(kind, fresh_database_url):
    url = fresh_database_url
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
            vocab = conn.execute(text("SELECT count(*) FROM specialties")).scalar()
        db.engine.dispose()
    assert _significant(diff, "sqlite" if kind == "sqlite" else "postgresql") == [], f"models and migrations differ: {diff}"
    assert vocab >= 10  # vocabularies are seeded by migration


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_existing_accounts_are_backfilled_as_confirmed(kind, fresh_database_url):
    """They predate confirmed e-mail addresses: the migration counts them as confirmed (at sign-up)."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": fresh_database_url})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="8e4b2f6a9c13")  # before the confirmed-e-mail migration
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (email, password_hash, role, display_name, timezone, auth_version, active, "
                "created_at) VALUES ('early@example.test', 'x', 'client', 'Early', 'UTC', 1, true, "
                "'2025-01-02 03:04:05')"))
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            created, confirmed, pending = conn.execute(text(
                "SELECT created_at, email_confirmed_at, pending_email FROM users")).one()
        db.engine.dispose()
    assert confirmed is not None and confirmed == created and pending is None


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_money_columns_are_renamed_in_place(kind, fresh_database_url):
    """``*_cents`` → ``*_minor`` keeps the values (yen stay yen), and the CHECK constraint follows
    the renamed column (a table rebuilt from a stale copy would have refused or lost it)."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": fresh_database_url})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="f14d5a7e2c01")  # before the rename
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (id, email, password_hash, role, display_name, timezone, auth_version, active, "
                "created_at) VALUES (1, 'yen@example.test', 'x', 'specialist', 'Yen', 'Asia/Tokyo', 1, true, "
                "'2025-01-02 03:04:05')"))
            conn.execute(text(
                "INSERT INTO specialist_profiles (user_id, slug, display_name, verification_status, timezone, "
                "fee_cents, fee_eur_cents, currency, session_minutes, offers_free_consultation, "
                "accepting_new_clients, bio_markdown, bio_html, is_published, created_at, updated_at, version_id) "
                "VALUES (1, 'yen', 'Yen', 'verified', 'Asia/Tokyo', 12000, 7440, 'JPY', 50, true, true, '', '', "
                "true, '2025-01-02 03:04:05', '2025-01-02 03:04:05', 1)"))
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            fees = conn.execute(text("SELECT fee_minor, fee_eur_minor, currency FROM specialist_profiles")).one()
            refused = False
            try:
                conn.execute(text("UPDATE specialist_profiles SET fee_minor = -1"))
            except IntegrityError:
                refused = True
            conn.rollback()
        db.engine.dispose()
    assert tuple(fees) == (12000, 7440, "JPY") and refused
