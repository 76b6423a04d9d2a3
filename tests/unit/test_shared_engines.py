"""The test harness's shared engines (tests/shared_engines.py): one per test database and settings,
its SQLite events registered once, every other database on an engine of its own."""
from __future__ import annotations

from sqlalchemy import event, text

from marketplace import create_app
from marketplace.extensions import db


def _engine(url: str, **config: object) -> object:
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, **config})
    with app.app_context():
        return db.engine


def test_apps_on_a_test_database_share_its_engine_and_others_do_not(sqlite_url, tmp_path):
    shared = _engine(sqlite_url)
    assert _engine(sqlite_url) is shared
    assert _engine(sqlite_url, SQLITE_BUSY_TIMEOUT_MS=1) is not shared
    assert _engine(sqlite_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 7}) is not shared
    assert _engine("sqlite://") is not _engine("sqlite://")  # in memory: each app its own database
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert _engine(other) is not _engine(other)


def test_the_shared_engine_begins_each_transaction_once(sqlite_url):
    for _ in range(3):
        engine = _engine(sqlite_url)
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.begin() as conn:  # a second listener would BEGIN inside the transaction and fail
            conn.execute(text("SELECT 1"))
    finally:
        event.remove(engine, "before_cursor_execute", record)
        engine.dispose()
    assert [s for s in statements if s.startswith("BEGIN")] == ["BEGIN"]
