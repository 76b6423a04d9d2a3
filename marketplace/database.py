"""Database plumbing: UTC datetimes, the per-request unit of work, lookup helpers.

Services *flush*; the request (or a CLI command) *commits once*. Mail queued in the
outbox during the request is delivered only after that commit succeeded, so a
rolled-back action never sends an e-mail.
"""
from __future__ import annotations

import enum
import logging
import random
import re
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar, cast

from flask import Flask, Response, abort, current_app, g, has_app_context, has_request_context, request
from sqlalchemy import ColumnElement, DateTime, Enum, UniqueConstraint, and_, event, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.sql.base import Executable
from sqlalchemy.types import TypeDecorator

from marketplace.extensions import READS_ONLY, db

log = logging.getLogger(__name__)
T = TypeVar("T")


def utcnow() -> datetime:
    """Aware UTC now. Used as a *callable* column default, never evaluated at import."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text in one fixed
    format, so equal instants compare (and are unique) as equal strings.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def configure_engine_events(engine: Engine) -> None:
    """SQLite: enforce foreign keys, WAL, and queue writers instead of failing at once. Other
    databases: pooled connections pinged when they were idle (``ping_when_idle``)."""
    if engine.dialect.name != "sqlite":
        ping_when_idle(engine, float(current_app.config.get("DATABASE_IDLE_PING_SECONDS", 2)))
        return
    busy_ms = int(current_app.config.get("SQLITE_BUSY_TIMEOUT_MS", 15000))

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN: otherwise SAVEPOINTs (begin_nested)
        # are not nested in a transaction and RELEASE commits (SQLAlchemy's pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        # Requests that intend to write take the write lock up front, so concurrent writers
        # queue instead of failing on a stale read snapshot.
        if _write_intent():
            _begin_immediate(conn, busy_ms)
        else:
            conn.exec_driver_sql("BEGIN")


# How often a writer waiting for SQLite's write lock tries again (seconds, at random in between).
SQLITE_WRITER_RETRY = (0.0005, 0.002)


def _begin_immediate(conn: Any, busy_ms: int) -> None:
    """``BEGIN IMMEDIATE``, waiting for the write lock up to ``busy_ms`` by trying again every
    millisecond or two. SQLite's own busy handler backs off to a try every 100 ms: a writer that has
    waited a while then loses the lock to every newcomer, and under load a few writers wait for
    seconds while the rest pass (the booking POST's p99 in ``make bench`` on SQLite). Tried at a
    constant, short, random interval, every waiter has the same chance at each release. The last
    try, after ``busy_ms``, is SQLAlchemy's own, so a timeout raises its ``OperationalError``
    ("database is locked") as before."""
    raw = conn.connection.dbapi_connection
    deadline = time.monotonic() + busy_ms / 1000
    raw.execute("PRAGMA busy_timeout=0")
    try:
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    break  # SQLAlchemy's try below raises it, wrapped
            time.sleep(random.uniform(*SQLITE_WRITER_RETRY))  # noqa: S311 (jitter, not a secret)
    finally:
        raw.execute(f"PRAGMA busy_timeout={busy_ms}")
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY: another connection holds the write lock."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_BUSY if code is not None else "locked" in str(exc)


def ping_when_idle(engine: Engine, seconds: float) -> None:
    """A pooled connection is checked (one round trip) only when it sat unused for ``seconds`` or
    more; a dead one is replaced before anyone uses it (``DisconnectionError``: the pool retries
    with a fresh connection). ``pool_pre_ping`` pings on every checkout — a round trip per request
    under load, where connections are reused within milliseconds and a database restart is seen
    and the pool renewed on first use."""
    if engine.dialect.name == "sqlite" or seconds < 0:
        return

    @event.listens_for(engine, "checkin")
    def _note_idle(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("the pooled connection is gone") from exc


def _write_intent() -> bool:
    """POST-like requests and background jobs (``g.write_intent``) mean to write."""
    if has_app_context() and g.get("write_intent"):
        return True
    return has_request_context() and request.method in {"POST", "PUT", "PATCH", "DELETE"}


def after_commit(callback: Any) -> None:
    """Run ``callback()`` after this request's (or command's) commit succeeded."""
    g.setdefault("_after_commit", []).append(callback)


def commit() -> None:
    """Commit the unit of work, then run the after-commit callbacks (mail delivery). A request
    that used no database (a page served from the cache), or a GET that only read, has nothing to
    commit (its connection is given back at the end of the request)."""
    session = db.session()
    if session.new or session.dirty or session.deleted or (session.in_transaction() and not g.get(READS_ONLY)):
        session.commit()
    run_after_commit_callbacks()


def run_after_commit_callbacks() -> None:
    """The after-commit callbacks noted so far (``commit`` runs them; so does a response served
    without a request, ``visitor_responses``, for what it counted)."""
    callbacks = g.pop("_after_commit", []) if g else []
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a side effect must never undo or hide a committed action
            db.session.rollback()  # leave the session usable for the next callback / request
            log.exception("after-commit callback failed")


def rollback() -> None:
    db.session.rollback()
    if g:
        g.pop("_after_commit", None)


READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
V = TypeVar("V", bound=Callable[..., Any])


def writes_on_get(view: V) -> V:
    """A view whose GET writes (reading a conversation marks its messages read): its GETs run in a
    transaction like a POST's. Every other GET only reads (``extensions.RequestSession``)."""
    view.writes_on_get = True  # type: ignore[attr-defined]
    return view


def register_unit_of_work(app: Flask) -> None:
    def _reads_only() -> None:  # first of all hooks: the session's user is loaded by later ones
        view = app.view_functions.get(request.endpoint or "")
        setattr(g, READS_ONLY, request.method in READING_METHODS and not getattr(view, "writes_on_get", False))

    app.before_request_funcs.setdefault(None, []).insert(0, _reads_only)

    @app.after_request
    def _commit_on_success(response: Response) -> Response:
        if response.status_code < 400:
            commit()
        else:
            rollback()
        return response

    @app.teardown_request
    def _rollback_on_error(exc: BaseException | None) -> None:
        if exc is not None:
            rollback()
        g.pop(READS_ONLY, None)


def one_of(column: Any, values: tuple[Any, ...]) -> ColumnElement[bool]:
    """``column IN values`` for a fixed set of values in a statement run on every request: an IN
    list is an expanding parameter, re-rendered into the SQL on every execution; equalities are
    compiled once."""
    return or_(*(column == value for value in values))


def none_of(column: Any, values: tuple[Any, ...]) -> ColumnElement[bool]:
    """``column NOT IN values`` (a non-null column), compiled once: see ``one_of``."""
    return and_(*(column != value for value in values))


def execute_dml(statement: Executable) -> CursorResult[Any]:
    """Run an UPDATE or DELETE (without RETURNING) in the session; its result has ``rowcount``.

    It is a ``CursorResult``; SQLAlchemy types ``Session.execute`` as returning a plain ``Result``
    (it cannot promise a cursor for every statement).
    """
    return cast("CursorResult[Any]", db.session.execute(statement))


def unique_slug(column: Any, base: str) -> str:
    """``base`` or the first free ``base-2``, ``base-3``… among the values of ``column``.

    (A unique constraint on the column still decides a race; this only picks a likely-free value.)
    """
    taken = set(db.session.scalars(select(column).where(column.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


MAX_DATABASE_ID = 2**31 - 1  # the range of an INTEGER primary key on both databases


def database_id(value: str) -> int:
    """A row id from a query parameter (``request.args.get("client", type=database_id)``):
    anything that is not a whole number in 1..2³¹−1 is refused (ValueError → None), so an
    out-of-range value is "not found" instead of an overflow in the driver."""
    if not value.isdigit() or len(value) > 10 or not 0 < int(value) <= MAX_DATABASE_ID:
        raise ValueError(f"not a database id: {value[:20]!r}")
    return int(value)


def get_or_404(model: type[T], ident: Any) -> T:
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def get_owned_or_404(model: type[T], ident: Any, user: Any, *, permission: str = "view") -> T:
    """Load ``model`` by id and 404 unless ``obj.can_<permission>(user)``.

    404 rather than 403 so that the existence of other people's records is not revealed.
    """
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    check = getattr(obj, f"can_{permission}")
    if not check(user):
        abort(404)
    return obj


def insert_on_conflict(table: Any) -> Any:
    """``INSERT … ON CONFLICT`` for the session's database (PostgreSQL and SQLite share the syntax)."""
    name = db.session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"INSERT … ON CONFLICT is not supported on {name!r}")  # pragma: no cover


def enum_type(enum_cls: type[enum.Enum], length: int) -> Enum:
    """The column type of a domain enum: its values (not names) in a VARCHAR(length), no database
    enum type (so adding a member needs no ALTER TYPE)."""
    return Enum(enum_cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


# SQLite names the columns of a violated UNIQUE constraint (or the index, for a partial one) and
# the name of a CHECK constraint; PostgreSQL names the constraint itself (``diag.constraint_name``).
_SQLITE_UNIQUE_INDEX = re.compile(r"UNIQUE constraint failed: index '(?P<name>\w+)'")
_SQLITE_UNIQUE_COLUMNS = re.compile(r"UNIQUE constraint failed: (?P<columns>\w+\.\w+(?:, \w+\.\w+)*)")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (?P<name>\w+)")


def violated_constraint(exc: IntegrityError) -> str | None:
    """The name of the constraint (or unique index) ``exc`` violated, as the models name it, on
    both databases — so a service tells "this slot was just taken" from "you already have one" by
    name, never by matching a driver's message text. None when the database did not say."""
    name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    if name:
        return str(name)
    message = str(exc.orig)
    if found := _SQLITE_UNIQUE_INDEX.search(message) or _SQLITE_CHECK.search(message):
        return found.group("name")
    if found := _SQLITE_UNIQUE_COLUMNS.search(message):
        pairs = [item.split(".") for item in found.group("columns").split(", ")]
        return _unique_named(pairs[0][0], frozenset(column for _, column in pairs))
    return None


def _unique_named(table_name: str, columns: frozenset[str]) -> str | None:
    table = db.metadata.tables.get(table_name)
    if table is None:
        return None
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and {c.name for c in constraint.columns} == columns:
            return str(constraint.name)
    for index in table.indexes:
        if index.unique and {c.name for c in index.columns} == columns:
            return str(index.name)
    return None
