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
import time
from collections.abc import Callable
from typing import Any

import redis
from flask_caching.backends.rediscache import RedisCache

from marketplace.database import after_commit
from marketplace.extensions import cache

log = logging.getLogger(__name__)


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


def version(name: str) -> int:
    """The current version of ``name`` (e.g. "directory", "profile:42")."""
    key = f"v:{name}"
    value = cache.get(key)
    if value is None:
        value = time.time_ns()
        cache.add(key, value, timeout=0)  # add: a racing process that set it first wins
        value = cache.get(key) or value
    return int(value)


def versions(*names: str) -> tuple[int, ...]:
    """Several versions in one round trip."""
    keys = [f"v:{name}" for name in names]
    values = cache.get_many(*keys)
    if all(v is not None for v in values):
        return tuple(int(v) for v in values)
    return tuple(version(name) for name in names)


def bump_version(*names: str) -> None:
    """Make everything cached under these versions stale, for every process sharing the cache."""
    for name in names:
        key = f"v:{name}"
        cache.add(key, time.time_ns(), timeout=0)  # missing (evicted): restart from the clock, not 0
        if cache.cache.inc(key) is None:  # a backend that cannot increment
            cache.set(key, time.time_ns(), timeout=0)


def bump_after_commit(*names: str) -> None:
    """``bump_version`` once the current unit of work has committed."""
    after_commit(lambda: bump_version(*names))


def cached(key: str, produce: Any, timeout: int | None = None) -> Any:
    """``cache[key]``, computed by ``produce()`` and stored on a miss."""
    value = cache.get(key)
    if value is None:
        value = produce()
        cache.set(key, value, timeout=timeout)
    return value


__all__ = ["bump_after_commit", "bump_version", "cached", "version", "versions"]
