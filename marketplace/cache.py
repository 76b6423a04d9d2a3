"""Shared caches: Flask-Caching, in-process by default, Redis when ``CACHE_REDIS_URL`` (or
``REDIS_URL``) is set, so several app processes and hosts see one cache.

Invalidation is by version, not by time alone: a cached value's key carries the versions of
what it depends on (``versioned_key("profile", profile_id, tz)`` with ``version("profile:7")``),
and a change bumps the version after commit (``bump_after_commit``), so the next read misses and
every process sees the change at once. Timeouts only bound memory and time-dependent content.

A version that is missing (evicted, or a new cache) starts from the clock, never from 0, so a
reset can never make an older entry current again.

A Redis outage costs cache misses, never a failed page: ``SafeRedisCache`` (the backend used when
Redis is configured) answers a failed call as a miss and logs it.
"""
from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import redis
from flask import current_app, has_request_context, request
from flask_caching.backends.rediscache import RedisCache
from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapper, Session

from marketplace.database import after_commit
from marketplace.extensions import cache

log = logging.getLogger(__name__)
K = TypeVar("K")
V = TypeVar("V")


def _miss_on_redis_error(method: Callable[..., Any], fallback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except redis.RedisError as exc:
            log.warning("cache unavailable (%s): %s treated as a miss", type(exc).__name__, method.__name__)
            return fallback(*args)
    return call


class SafeRedisCache(RedisCache):
    """Flask-Caching's Redis backend, but an unreachable Redis is a miss (or a no-op), not a 500."""

    get = _miss_on_redis_error(RedisCache.get, lambda *a: None)
    get_many = _miss_on_redis_error(RedisCache.get_many, lambda *keys: [None] * len(keys))
    get_dict = _miss_on_redis_error(RedisCache.get_dict, lambda *keys: dict.fromkeys(keys))
    has = _miss_on_redis_error(RedisCache.has, lambda *a: False)
    set = _miss_on_redis_error(RedisCache.set, lambda *a: False)
    add = _miss_on_redis_error(RedisCache.add, lambda *a: False)
    set_many = _miss_on_redis_error(RedisCache.set_many, lambda *a: [])
    delete = _miss_on_redis_error(RedisCache.delete, lambda *a: False)
    delete_many = _miss_on_redis_error(RedisCache.delete_many, lambda *a: [])
    inc = _miss_on_redis_error(RedisCache.inc, lambda *a: None)


def is_shared() -> bool:
    """Whether every process sees this cache (Redis), or each has its own (the default SimpleCache),
    where a version bumped by one process does not reach the others."""
    return current_app.config.get("CACHE_TYPE") not in ("SimpleCache", "simple", "flask_caching.backends.SimpleCache")


_KEPT_COLUMNS: dict[type, tuple[str, ...]] = {}


def kept_columns(model: type) -> tuple[str, ...]:
    """The column attributes of ``model`` a cache may keep or key on: all but those whose column
    says ``info={"secret": True}`` (a password hash)."""
    names = _KEPT_COLUMNS.get(model)
    if names is None:
        mapper: Mapper[Any] = inspect(model)
        names = _KEPT_COLUMNS.setdefault(model, tuple(
            attr.key for attr in mapper.column_attrs if not any(c.info.get("secret") for c in attr.columns)))
    return names


# A version not bumped for this long is forgotten (one key per account, profile, … would otherwise
# stay forever); read again, it restarts from the clock, so it never repeats a value an entry still
# in the cache was stored under: every entry kept under versions lives far shorter (an hour at most).
VERSION_SECONDS = 7 * 24 * 3600


def version_key(name: str) -> str:
    return f"v:{name}"


def version(name: str) -> int:
    """The current version of ``name`` (e.g. "directory", "profile:42")."""
    key = version_key(name)
    value = cache.get(key)
    if value is None:
        value = time.time_ns()
        cache.add(key, value, timeout=VERSION_SECONDS)  # add: a racing process that set it first wins
        value = cache.get(key) or value
    return int(value)


def versions(*names: str) -> tuple[int, ...]:
    """Several versions in one round trip. In a GET, each is read once per request, and the first
    call also reads those its endpoint said it will (``read_ahead``): a logged-in page's person and
    page versions take one round trip."""
    read = _read_in_request()
    if read is None:
        return _fetch(names)
    if any(name not in read for name in names):
        wanted = (*names, *(name for name in _ahead() if name not in names)) if not read else names
        read.update(zip(wanted, _fetch(wanted), strict=True))
    return tuple(read[name] for name in names)


def _fetch(names: tuple[str, ...]) -> tuple[int, ...]:
    keys = [version_key(name) for name in names]
    values = cache.get_many(*keys)
    if all(v is not None for v in values):
        return tuple(int(v) for v in values)
    return tuple(version(name) for name in names)


_READ = "balance.versions_read"
_AHEAD: dict[str, Callable[[dict[str, Any]], tuple[str, ...]]] = {}


def read_ahead(endpoint: str, names: Callable[[dict[str, Any]], tuple[str, ...]]) -> None:
    """A GET of ``endpoint`` will read the versions ``names(view_args)``: read them with the
    request's first versions (those of the session's user, for a person)."""
    _AHEAD[endpoint] = names


def _read_in_request() -> dict[str, int] | None:
    """The versions this GET has read (kept in its WSGI environ: they live as long as the request)."""
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return None
    return request.environ.setdefault(_READ, {})


def _ahead() -> tuple[str, ...]:
    names = _AHEAD.get(request.endpoint or "")
    return names(request.view_args or {}) if names is not None else ()


def bump_version(*names: str) -> dict[str, int]:
    """Make everything cached under these versions stale, for every process sharing the cache.
    Returns the new values where the shared cache said them (none with a per-process cache or
    while Redis is down)."""
    if isinstance(cache.cache, RedisCache):
        return dict(zip(names, _bump_in_redis(cache.cache, [version_key(name) for name in names]), strict=False))
    for name in names:
        key = version_key(name)
        cache.add(key, time.time_ns(), timeout=VERSION_SECONDS)  # missing (evicted): restart from the clock, not 0
        if cache.cache.inc(key) is None:  # a backend that cannot increment
            cache.set(key, time.time_ns(), timeout=VERSION_SECONDS)
    return {}


def _bump_in_redis(backend: RedisCache, keys: list[str]) -> list[int]:
    """``bump_version`` in one round trip: each key set from the clock if missing, then counted up,
    and kept for ``VERSION_SECONDS`` from now. Returns the new values (none if Redis failed)."""
    prefix = backend._get_prefix()
    pipeline = backend._write_client.pipeline(transaction=False)
    for key in keys:
        pipeline.setnx(prefix + key, backend.serializer.dumps(time.time_ns()))
        pipeline.incr(prefix + key)
        pipeline.expire(prefix + key, VERSION_SECONDS)
    try:
        replies = pipeline.execute()
    except redis.RedisError as exc:
        log.warning("cache unavailable (%s): versions %s not bumped", type(exc).__name__, keys)
        return []
    return [int(value) for value in replies[1::3]]  # (SETNX, INCR, EXPIRE for each key)


def bump_after_commit(*names: str) -> None:
    """``bump_version`` once the current unit of work has committed."""
    after_commit(lambda: bump_version(*names))


# --- versions bumped by the rows that change ----------------------------------------------------

Names = Callable[[Any], Iterable[str]]
_TRACKED: dict[type, list[Names]] = {}
_PENDING = "cache.versions_to_bump"


def bump_on_change(model: type, *names: str | Names) -> None:
    """Bump ``names`` after every commit that inserted, changed or deleted a ``model`` row through
    the ORM; a name may be a function of the row (``lambda p: [f"profile:{p.id}"]``). Bulk
    ``update()``/``delete()`` statements are not seen: they bump by hand (``bump_after_commit``)."""
    for name in names:
        _TRACKED.setdefault(model, []).append(name if callable(name) else _constant(name))


def _constant(name: str) -> Names:
    return lambda _row: (name,)


def bump_when_committed(session: Session, *names: str) -> None:
    """Bump ``names`` after ``session``'s transaction commits (with the rows' own, in one go);
    forgotten when it rolls back. For statements ``bump_on_change`` cannot see."""
    session.info.setdefault(_PENDING, set()).update(names)


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _context: Any) -> None:
    if not _TRACKED:
        return
    noted: set[str] = session.info.setdefault(_PENDING, set())
    for row in (*session.new, *session.dirty, *session.deleted):
        for model, names in _TRACKED.items():
            if isinstance(row, model):
                for name in names:
                    noted.update(name(row))


@event.listens_for(Session, "after_commit")
def _bump_noted(session: Session) -> None:
    if names := session.info.pop(_PENDING, None):
        bump_version(*sorted(names))


@event.listens_for(Session, "after_rollback")
def _forget_noted(session: Session) -> None:
    session.info.pop(_PENDING, None)


def cached(key: str, produce: Any, timeout: int | None = None) -> Any:
    """``cache[key]``, computed by ``produce()`` and stored on a miss."""
    value = cache.get(key)
    if value is None:
        value = produce()
        cache.set(key, value, timeout=timeout)
    return value


# --- entries kept under versions, with a copy in this process's memory ---------------------------

def clock() -> float:
    """Wall-clock seconds for local copies' expiry (one place, so tests can move time)."""
    return time.time()


LOCAL_ENTRIES = "cache.local_entries"
MAX_LOCAL_ENTRIES = 512  # pages of 20-60 kB: a few tens of MB per process at most


@dataclass
class Entry:
    """A value read at the current versions, and ``memo``: what this process derived from it (for
    example the page composed for visitors), kept as long as the value is."""

    value: Any
    memo: dict[str, Any] = field(default_factory=dict)
    names: tuple[str, ...] = ()  # the versions it was read at (``cached_at_versions``) …
    at: tuple[int, ...] = ()
    expires: float = 0.0  # … and when it expires (``clock``)


class Recent(Generic[K, V]):
    """At most ``size`` values kept in this process, least recently used dropped first, each until
    its own expiry (``clock``); safe to share between threads. Used for the local copies of shared
    entries (``LocalEntries``), the person's header parts and the responses kept for visitors."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= clock():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: K, value: V, expires: float) -> None:
        with self._lock:
            self._items[key] = (expires, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class LocalEntries(Recent[str, Entry]):
    """This process's copies of shared entries. An entry's key carries the versions it was made at,
    so a bumped version is a miss here too: a copy is never stale by more than its own timeout,
    which counts from when it was made."""

    def __init__(self, size: int = MAX_LOCAL_ENTRIES) -> None:
        super().__init__(size)


def local_entries() -> LocalEntries:
    entries = current_app.extensions.get(LOCAL_ENTRIES)
    if entries is None:
        entries = current_app.extensions.setdefault(LOCAL_ENTRIES, LocalEntries())
    return entries


def cached_at_versions(names: tuple[str, ...], key_for: Callable[..., str], produce: Callable[[], Any],
                       timeout: int) -> Entry:
    """The entry ``key_for(*versions(*names))``: one cache round trip for the versions, then this
    process's copy; else the shared cache; else ``produce()``, stored for ``timeout`` seconds.

    Every process reads the versions on every call, so a change (``bump_after_commit``) shows
    everywhere at once; only the value itself, unchanged while its versions are, is kept locally.
    """
    at = versions(*names)
    key = key_for(*at)
    local = local_entries()
    entry = local.get(key)
    if entry is not None:
        return entry
    stored = cache.get(key)
    if not (isinstance(stored, tuple) and len(stored) == 2):
        stored = (clock(), produce())
        cache.set(key, stored, timeout=timeout)
    made, value = stored
    entry = Entry(value, names=names, at=at, expires=made + timeout)
    local.put(key, entry, made + timeout)
    return entry


__all__ = ["Entry", "Recent", "bump_after_commit", "bump_on_change", "bump_version", "bump_when_committed", "cached",
           "cached_at_versions", "is_shared", "kept_columns", "local_entries", "read_ahead", "version", "version_key", "versions"]
