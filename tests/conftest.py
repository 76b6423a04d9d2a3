"""Test harness: apps on SQLite and PostgreSQL, factories, SMTP server, live server, browser.

* Integration tests that take ``app``/``client`` run once per backend (``sqlite``, ``postgres``).
* In CI (``CI`` set) a missing PostgreSQL or Chromium is a failure, never a silent skip.
"""
from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from marketplace import create_app
from marketplace.auth.sessions import kept_users
from marketplace.extensions import db
from marketplace.payments.providers import register_provider
from tests.fakes.fake_provider import FakePay

# CI=1 / CI=true (as CI services set it); CI=false or CI=0 is not CI.
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

pytest_plugins = ["tests.factories"]

# Tests use addresses @example.test (RFC 2606); email-validator refuses special-use
# domains unless told it runs in a test environment.
import email_validator  # noqa: E402

email_validator.TEST_ENVIRONMENT = True

from tests.url_rules import install as _reuse_url_rule_builders  # noqa: E402

_reuse_url_rule_builders()  # each test's create_app stops recompiling the same ~95 URL rules

from tests.password_hashing import install as _cheap_password_hashing  # noqa: E402

_cheap_password_hashing()  # argon2id at its smallest cost: logins in tests stop taking 0.2 s each

from tests.template_code import install as _reuse_template_code  # noqa: E402

_reuse_template_code()  # each test's app stops compiling the same templates again

from tests.shared_engines import install as _share_engines  # noqa: E402
from tests.shared_engines import share as _share_engine_of  # noqa: E402

_share_engines()  # apps on a test database share its engine (and the SQL it compiled)

from tests.get_writes import install as _refuse_writes_on_reading_gets  # noqa: E402

_refuse_writes_on_reading_gets()  # a GET of a view not marked writes_on_get never writes


def require(condition: bool, reason: str) -> None:
    """Skip locally with a printed reason; fail in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


# --- databases ----------------------------------------------------------------------------

def _metadata():
    import marketplace.models  # noqa: F401  (registers every table)

    return db.metadata


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    _create_schema(url)
    _share_engine_of(url)
    return url


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    base = make_url(os.environ.get("TEST_DATABASE_URL", PG_DEFAULT))
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            # worker id + pid: several pytest runs (and xdist workers) never share a database.
            name = f"{base.database}_balance_{worker_id}_{os.getpid()}"
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # A throwaway database: a commit need not wait for the disk (the tests commit thousands
            # of times; durability of test data buys nothing, and isolation and locking are unchanged).
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "not available"
        require(False, f"PostgreSQL not reachable at {base.render_as_string(hide_password=True)} ({type(exc).__name__})")
        raise
    url = base.set(database=name).render_as_string(hide_password=False)
    _create_schema(url)
    _share_engine_of(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _create_schema(url: str) -> None:
    engine = create_engine(url)
    metadata = _metadata()
    metadata.drop_all(engine)
    metadata.create_all(engine)
    engine.dispose()


# Every table emptied and every sequence back at 1, in one round trip. DELETE, not TRUNCATE: a test
# leaves a few rows, and TRUNCATE of ~60 tables swaps ~120 files each time (≈ 0.4 s a test, most of
# the suite's PostgreSQL time); foreign-key triggers are off for the transaction (the superuser's
# session_replication_role), so the order does not matter; setval is a cheap in-place update.
_PG_EMPTY = """
DO $$
DECLARE r record;
BEGIN
  SET LOCAL session_replication_role = replica;
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'
  LOOP EXECUTE format('DELETE FROM %I', r.tablename); END LOOP;
  FOR r IN SELECT c.oid::regclass AS seq FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'S' AND n.nspname = current_schema()
  LOOP PERFORM setval(r.seq, 1, false); END LOOP;
END $$;
"""


def _clean_tables(engine: Any) -> None:
    tables = list(reversed(_metadata().sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(_PG_EMPTY))
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for table in tables:
                conn.execute(table.delete())
            conn.execute(text("PRAGMA foreign_keys=ON"))


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


def _config_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("config"))):
        overrides.update(marker.kwargs)
    return overrides


def _make_app(url: str, request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    overrides = {"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": str(tmp_path / "uploads")}
    if "smtp_server" in request.fixturenames:
        smtp = request.getfixturevalue("smtp_server")
        overrides.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    overrides.update(_config_overrides(request))
    app = create_app("testing", overrides)
    with app.app_context():
        from marketplace.specialists.services import ensure_vocabularies

        ensure_vocabularies()
        db.session.commit()
    return app


@contextmanager
def _app_lifecycle(url: str, request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    app = _make_app(url, request, tmp_path)
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            _clean_tables(db.engine)
            db.engine.dispose()


@pytest.fixture
def app(database_url: str, request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    """An app on each backend; tables are emptied after the test."""
    with _app_lifecycle(database_url, request, tmp_path) as application:
        with application.app_context():
            yield application


@pytest.fixture
def sqlite_app(sqlite_url: str, request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    """An app on SQLite only (for tests whose subject is not the database)."""
    with _app_lifecycle(sqlite_url, request, tmp_path) as application:
        with application.app_context():
            yield application


@pytest.fixture
def postgres_app(postgres_url: str, request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    """An app on PostgreSQL only (for row-lock behaviour SQLite has no counterpart of)."""
    with _app_lifecycle(postgres_url, request, tmp_path) as application:
        with application.app_context():
            yield application


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def backend(app: Any) -> str:
    return db.engine.dialect.name


@pytest.fixture
def count_queries(app: Any):  # type: ignore[no-untyped-def]
    """``with count_queries() as counter: …; counter.count`` — SQL statements executed. Budgets are
    the worst case: the block starts with no session user kept (``auth.sessions``), so its first
    request reads the person's row (``keep_users=True`` measures with what earlier requests kept)."""

    @contextmanager
    def counter(keep_users: bool = False) -> Iterator[Any]:
        if not keep_users:
            kept_users().clear()

        class Counter:
            count = 0
            statements: list[str] = []

        c = Counter()
        c.statements = []

        def _on_execute(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            c.count += 1
            c.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", _on_execute)
        try:
            yield c
        finally:
            event.remove(db.engine, "before_cursor_execute", _on_execute)

    return counter


# --- mail -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SMTPServer:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        self.port = free_port()
        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):  # type: ignore[no-untyped-def]
                msg = message_from_bytes(envelope.content, policy=policy.default)
                server.messages.append(msg)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def to(self, address: str) -> list[Any]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def bodies(self) -> list[str]:
        return [m.get_body(preferencelist=("plain",)).get_content() for m in self.messages]


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """A real local SMTP server (aiosmtpd); apps in the same test deliver to it."""
    server = SMTPServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


# --- live server and browser ----------------------------------------------------------------

class LiveServer:
    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # shutdown() waits for the loop to look up (every poll_interval; 0.5 s by default, per test)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(sqlite_app: Any) -> Iterator[LiveServer]:
    """The app served over real HTTP on loopback (SQLite backend)."""
    sqlite_app.config["SERVER_BASE_URL"] = "http://127.0.0.1"
    with LiveServer(sqlite_app) as server:
        sqlite_app.config["SERVER_BASE_URL"] = server.url
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require(os.path.exists(CHROMIUM), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser context (cookies, time zone) aimed at the live server.

    Requests to any other host are blocked and recorded in ``page.foreign_requests``.
    """
    context = browser.new_context(base_url=live_server.url, timezone_id="Europe/Berlin", locale="en-GB")
    foreign: list[str] = []

    def _route(route):  # type: ignore[no-untyped-def]
        if route.request.url.startswith(live_server.url) or route.request.url.startswith("data:"):
            return route.continue_()
        foreign.append(route.request.url)
        return route.abort()

    context.route("**/*", _route)
    pg = context.new_page()
    pg.set_default_timeout(10000)
    pg.foreign_requests = foreign  # type: ignore[attr-defined]
    yield pg
    context.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "config(**kwargs): app config overrides for this test")
    config.addinivalue_line("markers", "slow: long-running test")


@pytest.fixture
def fakepay(app: Any) -> FakePay:
    """FakePay (tests/fakes/fake_provider.py) registered next to Stripe and made the provider of new
    checkouts (Stripe has no keys): the payments tests that need no HTTP fake."""
    provider = FakePay()
    register_provider(app, provider)
    app.config["PAYMENT_PROVIDER"] = provider.name
    return provider
