"""Server-side sessions: every login is a row, checked on each request (with the user, one query).

* ``log_in(user)`` starts a session and logs the browser in (session and remember cookie carry
  ``<user id>:<auth version>:<token>``; the database keeps only the token's SHA-256).
* ``log_out(user)`` revokes that session: a copy of its cookies stops working at once.
* ``log_out_everywhere(user)`` bumps the account's auth version (as a password change or reset
  does) and revokes every session row: all browsers and remember cookies are logged out.

A GET may answer from the session's user kept in this process (``SESSION_USER_CACHE_SECONDS``, on
when the cache is shared): kept at the versions ``person:<id>`` and ``people``, read in one cache
round trip, and bumped after every commit that changed what the session-user statement reads — the
account's row or sessions, and what other domains load with it (``load_with_user(people=…)``);
a bulk statement on any of those tables bumps ``people`` (everyone's). A POST always asks the database.
What moves with the clock alone (a request whose time passed stops waiting) may lag by those seconds.
"""
from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, g
from flask_login import login_user, logout_user
from sqlalchemy import ColumnElement, Select, Table, TextClause, bindparam, delete, event, inspect, or_, select, update
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.util import find_tables

from marketplace.auth.models import AuthSession, User
from marketplace.cache import Recent, bump_on_change, bump_when_committed, clock, is_shared, kept_columns, versions
from marketplace.database import execute_dml, utcnow
from marketplace.extensions import READS_ONLY, db
from marketplace.jobs import jobs


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> str:
    """A new server-side session for ``user`` (not yet logged in: see ``log_in``)."""
    token = secrets.token_urlsafe(32)
    db.session.add(AuthSession(token_hash=_hash(token), user_id=user.id))
    db.session.flush()
    user.session_token = token
    return token


def log_in(user: User, *, remember: bool = False) -> None:
    start_session(user)
    login_user(user, remember=remember)


def log_out(user: User) -> None:
    """Revoke this browser's session and clear its cookies."""
    token = getattr(user, "session_token", None)
    if token:
        db.session.execute(update(AuthSession).where(AuthSession.token_hash == _hash(token),
                                                     AuthSession.revoked_at.is_(None)).values(revoked_at=utcnow())
                           .execution_options(**{CHANGES_PEOPLE: (user.id,)}))
    logout_user()


def end_all_sessions(user: User) -> None:
    """Every session and remember cookie of the account stops working (the caller logs out or in)."""
    user.auth_version += 1
    db.session.execute(update(AuthSession).where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
                       .values(revoked_at=utcnow()).execution_options(**{CHANGES_PEOPLE: (user.id,)}))
    db.session.flush()


def log_out_everywhere(user: User) -> None:
    end_all_sessions(user)
    logout_user()


@jobs.periodic(hour="3", minute="17")
def prune_ended_sessions() -> int:
    """Job, nightly: forget sessions revoked, or started longer ago than a remember cookie lives."""
    now = utcnow()
    lifetime = timedelta(seconds=int(current_app.config.get("REMEMBER_COOKIE_DURATION", 30 * 24 * 3600)))
    result = execute_dml(delete(AuthSession).where(or_(
        AuthSession.revoked_at < now - timedelta(days=1), AuthSession.created_at < now - lifetime)))
    return int(result.rowcount or 0)


# What other domains show on every page of a logged-in person (the unread badge, the requests
# waiting for a specialist), loaded in the same query as the session's user: name -> a function
# building the column (a scalar subquery on ``User``; it may use ``bindparam("now")``). Registered
# at import time by the domain that owns the value.
_WITH_USER: dict[str, Callable[[], ColumnElement[Any]]] = {}


# Whose kept session user a changed row makes stale: model -> the user ids of a row (None: not known
# here, so everyone's).
People = Callable[[Any], Iterable[int | None] | None]


def load_with_user(name: str, column: Callable[[], ColumnElement[Any]], *, people: dict[type, People]) -> None:
    """Load ``column()`` with every session's user, as ``user.loaded_with_session[name]``.
    ``people`` names, for each model whose rows the column reads, the users a changed row concerns
    (their kept session users are read again); a table it reads without one makes every change to
    it concern everyone."""
    _WITH_USER[name] = column
    for model, of_row in people.items():
        _note_people(model, of_row)
    _live_session_user.cache_clear()
    _read_tables.cache_clear()


def forget_loaded(user: User, name: str) -> None:
    """``name`` changed in this request (e.g. messages were read): load it afresh when asked."""
    user.loaded_with_session = {k: v for k, v in user.loaded_with_session.items() if k != name}


@functools.cache
def _live_session_user() -> Select[Any]:
    """Built once: every logged-in request runs it (building it costs as much as running it)."""
    return (select(User, *(column().label(name) for name, column in _WITH_USER.items()))
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(User.id == bindparam("user_id"), AuthSession.token_hash == bindparam("token_hash"),
                   AuthSession.revoked_at.is_(None)))


def load_session_user(session_id: str) -> User | None:
    """The user of a live session ``<id>:<auth version>:<token>``; None when it ended (one query,
    or none on a GET while the user kept for this session is current: ``_kept_user``)."""
    user_id, version, token = (session_id.split(":") + ["", ""])[:3]
    if not (user_id.isdigit() and version.isdigit() and token) or len(user_id) > 12 or len(token) > 64:
        return None
    user = _kept_user(int(user_id), _hash(token))
    if user is None:
        return None
    if user.auth_version != int(version) or not user.is_active:
        return None
    user.session_token = token
    return user


# --- the session's user kept in this process between GETs ---------------------------------------

PEOPLE = "people"  # everyone's kept session users: a bulk statement changed a table they are read from
SESSION_USERS_PER_PROCESS = 4096
SHARED_CACHE_SECONDS = 30  # SESSION_USER_CACHE_SECONDS when unset and the cache is shared


def person_version(user_id: int) -> str:
    return f"person:{user_id}"


@dataclass(frozen=True)
class _Kept:
    at: tuple[int, ...]  # the versions (person, people) read before the row was
    columns: dict[str, Any]
    extras: tuple[Any, ...]


SESSION_USERS = "auth.session_users"


def kept_users() -> Recent[tuple[int, str], _Kept]:
    """This app's session users kept in this process, by (user id, token hash)."""
    kept = current_app.extensions.get(SESSION_USERS)
    if kept is None:
        kept = current_app.extensions.setdefault(SESSION_USERS, Recent(SESSION_USERS_PER_PROCESS))
    return kept


def kept_seconds() -> int:
    """``SESSION_USER_CACHE_SECONDS``; unset: ``SHARED_CACHE_SECONDS`` when the cache is shared, else
    0 (off: with a cache per process, a session ended through one process would live on in another)."""
    seconds = current_app.config.get("SESSION_USER_CACHE_SECONDS")
    if seconds is None:
        return SHARED_CACHE_SECONDS if is_shared() else 0
    return int(seconds)


def _kept_user(user_id: int, token_hash: str) -> User | None:
    seconds = kept_seconds()
    if not seconds or not g.get(READS_ONLY) or _identity(user_id) in db.session.identity_map:
        return _query_user(user_id, token_hash)
    at = versions(person_version(user_id), PEOPLE)  # before the row: a change meanwhile is a miss next time
    kept = kept_users().get((user_id, token_hash))
    if kept is not None and kept.at == at:
        return _attached(kept)
    user = _query_user(user_id, token_hash)
    if user is not None:
        columns = {name: getattr(user, name) for name in kept_columns(User)}
        kept_users().put((user_id, token_hash), _Kept(at, columns, tuple(user.loaded_with_session.values())),
                         clock() + seconds)
    return user


def _query_user(user_id: int, token_hash: str) -> User | None:
    row = db.session.execute(_live_session_user(),
                             {"user_id": user_id, "token_hash": token_hash, "now": utcnow()}).first()
    if row is None:
        return None
    user, *extras = row
    user.loaded_with_session = dict(zip(_WITH_USER, extras, strict=True))
    return user


def _identity(user_id: int) -> Any:
    return inspect(User).identity_key_from_primary_key((user_id,))


def _attached(kept: _Kept) -> User:
    """A User in this request's session made from kept values, as if loaded (no query)."""
    user = User.__mapper__.class_manager.new_instance()
    for key, value in kept.columns.items():
        set_committed_value(user, key, value)
    make_transient_to_detached(user)
    db.session.add(user)
    user.loaded_with_session = dict(zip(_WITH_USER, kept.extras, strict=True))
    return user


_PEOPLE_OF: set[type] = set()  # models whose changed rows name the users they concern


def _note_people(model: type, of_row: People) -> None:
    _PEOPLE_OF.add(model)

    def names(row: Any) -> list[str]:
        ids = of_row(row)
        return [PEOPLE] if ids is None else [person_version(i) for i in ids if i is not None]
    bump_on_change(model, names)


_note_people(User, lambda user: (user.id,))
_note_people(AuthSession, lambda auth_session: (auth_session.user_id,))


@functools.cache
def _read_tables() -> frozenset[str]:
    """The tables the session-user statement reads."""
    return frozenset(table.name for table in find_tables(_live_session_user(), check_columns=True)
                     if isinstance(table, Table))


@event.listens_for(Session, "after_flush")
def _rows_of_nobody(session: Session, _context: Any) -> None:
    """A changed row of a table the session user is read from whose model names nobody: everyone's."""
    for row in (*session.new, *session.dirty, *session.deleted):
        table = getattr(row, "__table__", None)
        if table is not None and table.name in _read_tables() and not isinstance(row, tuple(_PEOPLE_OF)):
            bump_when_committed(session, PEOPLE)
            return


CHANGES_PEOPLE = "changes_people"  # execution option of a bulk statement: the user ids it concerns


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state: ORMExecuteState) -> None:
    """A bulk insert, update or delete (rows ``bump_on_change`` does not see) on a table the session
    user is read from, or a textual statement that may write: every kept session user is stale —
    unless the statement says whose (``execution_options(changes_people=ids)``)."""
    statement = state.statement
    if (named := state.execution_options.get(CHANGES_PEOPLE)) is not None:
        bump_when_committed(state.session, *(person_version(i) for i in named))
        return
    if isinstance(statement, TextClause):
        writes = not statement.text.lstrip().lower().startswith(("select", "with", "pragma", "explain", "show"))
    elif state.is_insert or state.is_update or state.is_delete:
        table = getattr(statement, "table", None)
        writes = isinstance(table, Table) and table.name in _read_tables()
    else:
        writes = False
    if writes:
        bump_when_committed(state.session, PEOPLE)


__all__ = ["CHANGES_PEOPLE", "PEOPLE", "end_all_sessions", "forget_loaded", "kept_seconds", "kept_users", "load_session_user",
           "load_with_user", "log_in", "log_out", "log_out_everywhere", "person_version", "prune_ended_sessions", "start_session"]
