"""SQLite (the embedded default): writers wait for the write lock in turn (``database._begin_immediate``).

A transaction that means to write (a POST, a job) takes the write lock with its BEGIN. While another
connection holds it, the writer waits up to ``SQLITE_BUSY_TIMEOUT_MS`` and then gets SQLAlchemy's
``OperationalError`` ("database is locked"), as the booking code expects; a writer that has waited
long still gets the lock as soon as it is released (SQLite's own busy handler would have it sleep
up to 100 ms between tries, so under load newcomers overtook it: the booking's p99 in ``make bench``).
"""
from __future__ import annotations

import sqlite3
import statistics
import threading
import time
from pathlib import Path

import pytest
from flask import g
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from marketplace import database


@pytest.fixture
def engine(sqlite_app, tmp_path: Path):
    """A SQLite file of its own (WAL, as the app's), configured as the app configures its engine."""
    path = tmp_path / "writers.db"
    engine = create_engine(f"sqlite:///{path}")
    database.configure_engine_events(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine, path
    engine.dispose()


class Holder(threading.Thread):
    """Another process's writer, as a thread with a plain sqlite3 connection: holds the write lock
    for ``seconds`` from its start, then notes when its COMMIT (the release) returned."""

    def __init__(self, path: Path, seconds: float) -> None:
        super().__init__()
        self.path, self.seconds = path, seconds
        self.holding = threading.Event()
        self.released = 0.0

    def run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (1)")
        self.holding.set()
        time.sleep(self.seconds)
        conn.execute("COMMIT")
        self.released = time.monotonic()
        conn.close()


def hold_write_lock(path: Path, seconds: float) -> Holder:
    holder = Holder(path, seconds)
    holder.start()
    assert holder.holding.wait(5)
    return holder


def write_once(engine) -> None:
    g.write_intent = True  # as a job (or a POST request) does
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))


def test_a_writer_waits_for_the_lock_and_writes(sqlite_app, engine):
    engine, path = engine
    with sqlite_app.app_context():
        holder = hold_write_lock(path, 0.3)
        write_once(engine)
        holder.join()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t ORDER BY rowid")).scalars().all() == [1, 2]


@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=200)
def test_a_writer_gives_up_after_the_busy_timeout_with_sqlalchemys_error(sqlite_app, tmp_path):
    path = tmp_path / "writers.db"
    engine = create_engine(f"sqlite:///{path}")
    with sqlite_app.app_context():
        database.configure_engine_events(engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (n INTEGER)"))
        holder = hold_write_lock(path, 1.5)
        started = time.monotonic()
        with pytest.raises(OperationalError, match="locked"):
            write_once(engine)
        waited = time.monotonic() - started
        holder.join()
    assert 0.2 <= waited < 1.5, waited
    with engine.connect() as conn:  # nothing of it was written; the connection is usable again
        assert conn.execute(text("SELECT n FROM t")).scalars().all() == [1]
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 200
    engine.dispose()


def test_a_writer_that_waited_long_gets_the_lock_right_after_its_release(sqlite_app, engine):
    """After 0.64 s of waiting, SQLite's busy handler tries every 100 ms (at 0.628 and 0.728 s: it
    sees the release ≈ 90 ms late); here every 0.5–2 ms. The median of five releases, against 20 ms."""
    engine, path = engine
    delays = []
    with sqlite_app.app_context():
        for _ in range(5):
            holder = hold_write_lock(path, 0.64)
            write_once(engine)
            written = time.monotonic()
            holder.join()
            delays.append(written - holder.released)
    assert statistics.median(delays) < 0.02, [round(d * 1000, 1) for d in delays]
