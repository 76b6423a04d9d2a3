"""Server-side sessions: every login is a row, checked on each request (with the user, one query).

* ``log_in(user)`` starts a session and logs the browser in (session and remember cookie carry
  ``<user id>:<auth version>:<token>``; the database keeps only the token's SHA-256).
* ``log_out(user)`` revokes that session: a copy of its cookies stops working at once.
* ``log_out_everywhere(user)`` bumps the account's auth version (as a password change or reset
  does) and revokes every session row: all browsers and remember cookies are logged out.
"""
from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_login import login_user, logout_user
from sqlalchemy import ColumnElement, Select, bindparam, delete, or_, select, update

from marketplace.auth.models import AuthSession, User
from marketplace.database import execute_dml, utcnow
from marketplace.extensions import db
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
                                                     AuthSession.revoked_at.is_(None)).values(revoked_at=utcnow()))
    logout_user()


def end_all_sessions(user: User) -> None:
    """Every session and remember cookie of the account stops working (the caller logs out or in)."""
    user.auth_version += 1
    db.session.execute(update(AuthSession).where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))
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


def load_with_user(name: str, column: Callable[[], ColumnElement[Any]]) -> None:
    """Load ``column()`` with every session's user, as ``user.loaded_with_session[name]``."""
    _WITH_USER[name] = column
    _live_session_user.cache_clear()


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
    """The user of a live session ``<id>:<auth version>:<token>``; None when it ended (one query)."""
    user_id, version, token = (session_id.split(":") + ["", ""])[:3]
    if not (user_id.isdigit() and version.isdigit() and token) or len(user_id) > 12 or len(token) > 64:
        return None
    row = db.session.execute(_live_session_user(),
                             {"user_id": int(user_id), "token_hash": _hash(token), "now": utcnow()}).first()
    if row is None:
        return None
    user, *extras = row
    if user.auth_version != int(version) or not user.is_active:
        return None
    user.session_token = token
    user.loaded_with_session = dict(zip(_WITH_USER, extras, strict=True))
    return user


__all__ = ["end_all_sessions", "forget_loaded", "load_session_user", "load_with_user", "log_in", "log_out",
           "log_out_everywhere", "prune_ended_sessions", "start_session"]
