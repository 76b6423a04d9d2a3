"""Test-process speed-up: one SQLAlchemy engine per test database, shared by the apps of the process.

Every test builds its own app, and Flask-SQLAlchemy gave each app a new engine. SQLAlchemy keeps
the SQL it compiled from statements in a cache on the engine (keyed by the engine's dialect
object), so every test compiled every statement it ran afresh: ≈ 1 ms a statement, a quarter of
the time of the HTTP-heavy modules once passwords and templates were cheap (test_consultations.py:
6.3 s of 24 s under cProfile). Production runs one engine per process for its whole life; now the
tests do too, per test database.

Only the harness's session databases (``share(url)``: the SQLite file and the PostgreSQL database
of the worker) are shared, and only between apps whose engine options and SQLite busy timeout are
the same; an in-memory SQLite, a migration test's fresh database or a test's own pool options get
their own engine as before. ``configure_engine_events`` (SQLite pragmas, BEGIN IMMEDIATE) runs once
per shared engine instead of adding the same listeners again for each app. Each test's app still
disposes of the engine's pool at teardown (connections are not carried from one test to the next)
and empties the tables. ``tests/unit/test_shared_engines.py`` holds these rules.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import URL, Engine, make_url

from marketplace import database
from marketplace.extensions import db

_SHARED_URLS: set[str] = set()
ENGINES: dict[tuple[Any, ...], Engine] = {}
_CONFIGURED: set[int] = set()  # ids of shared engines whose events are registered (they live as long as ENGINES)


def _text(url: str | URL) -> str:
    return make_url(url).render_as_string(hide_password=False)


def share(url: str) -> None:
    """Apps on this database URL share one engine (per engine options and busy timeout)."""
    _SHARED_URLS.add(_text(url))


def _key(options: dict[str, Any], app: Any) -> tuple[Any, ...] | None:
    url = _text(options["url"])
    if url not in _SHARED_URLS:
        return None
    rest = tuple(sorted((name, repr(value)) for name, value in options.items() if name != "url"))
    return url, rest, app.config.get("SQLITE_BUSY_TIMEOUT_MS")


def install() -> None:
    if getattr(db._make_engine, "shared", False):
        return
    make_engine = db._make_engine
    configure_engine_events = database.configure_engine_events

    def shared_make_engine(bind_key: str | None, options: dict[str, Any], app: Any) -> Engine:
        key = _key(options, app) if bind_key is None else None
        if key is None:
            return make_engine(bind_key, options, app)
        if key not in ENGINES:
            ENGINES[key] = make_engine(bind_key, options, app)
        return ENGINES[key]

    def configure_once(engine: Engine) -> None:
        shared = any(engine is e for e in ENGINES.values())
        if shared and id(engine) in _CONFIGURED:
            return
        configure_engine_events(engine)
        if shared:
            _CONFIGURED.add(id(engine))

    shared_make_engine.shared = True  # type: ignore[attr-defined]
    db._make_engine = shared_make_engine  # type: ignore[method-assign]
    database.configure_engine_events = configure_once
