"""Pooled PostgreSQL connections are checked only after they sat unused (``database.ping_when_idle``):
no round trip per request under load, and a connection that died while idle (a database restart, a
killed backend) is replaced before a request uses it."""
from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from marketplace.extensions import db

IDLE = 0.2
pytestmark = [
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
    # its own engine (one pooled connection, a short idle time) rather than the suite's shared one
    pytest.mark.config(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0}, DATABASE_IDLE_PING_SECONDS=IDLE),
]


def backend_pid() -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


@pytest.fixture
def pings(app: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each ping the pool sends (the dialect's own ``do_ping``, counted and run)."""
    sent: list[int] = []
    with app.app_context():
        dialect = db.engine.dialect
    real = dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        sent.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counting)
    return sent


def test_a_connection_in_steady_use_is_not_pinged(app, pings):
    with app.app_context():
        first = backend_pid()
        for _ in range(5):
            assert backend_pid() == first  # the one pooled connection, reused at once
        assert pings == []
        time.sleep(IDLE * 1.5)
        assert backend_pid() == first and pings == [1]  # idle: checked, alive, kept


def test_a_connection_that_died_while_idle_is_replaced_before_use(app, client, database_url):
    with app.app_context():
        dead = backend_pid()
    killer = create_engine(database_url)
    try:
        with killer.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead}).scalar()
    finally:
        killer.dispose()
    time.sleep(IDLE * 1.5)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["database"] == "reachable"
    with app.app_context():
        assert backend_pid() != dead
