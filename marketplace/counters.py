"""Counters that a GET may add to without writing to the database (impressions, profile views).

* With Redis (``COUNTERS_URL`` or ``REDIS_URL``): summed in the process too, and at most every
  ``COUNTER_FLUSH_SECONDS`` (and at exit) added with ``HINCRBY`` to one hash shared by every
  process, in one round trip; a periodic job drains the hash atomically (``RENAME`` then read)
  and writes the sums. A page view costs no round trip of its own.
* Without (the embedded default): counts are summed in the process and, at most every
  ``COUNTER_FLUSH_SECONDS``, handed to the job queue as one batch (``flush_job``), after the
  response's unit of work. A process that dies loses at most that last interval.

Keys are strings chosen by the domain (e.g. ``"impressions|directory|2026-11-29|42"``).
"""
from __future__ import annotations

import atexit
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import redis
from flask import Flask, current_app

from marketplace.database import after_commit

EXTENSION = "counters"
HASH = "balance:counters"


class LocalCounters:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    def add(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[key] += amount

    def due_batch(self) -> dict[str, int] | None:
        """The counts to flush now (and forget), or None if the interval has not passed."""
        with self._lock:
            now = time.monotonic()
            if not self._counts or now - self._last_flush < self.interval:
                return None
            batch, self._counts = dict(self._counts), Counter()
            self._last_flush = now
            return batch

    def drain(self) -> dict[str, int]:
        with self._lock:
            batch, self._counts = dict(self._counts), Counter()
            return batch


class RedisCounters:
    def __init__(self, url: str, hash_key: str = HASH, interval: float = 0) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.hash_key = hash_key
        self.buffer = LocalCounters(interval)
        atexit.register(self.push_all)

    def add(self, key: str, amount: int = 1) -> None:
        self.add_many([key], amount)

    def add_many(self, keys: list[str], amount: int = 1) -> None:
        """Counted here; the sums go to Redis once the interval has passed (one round trip)."""
        for key in keys:
            self.buffer.add(key, amount)
        if batch := self.buffer.due_batch():
            self._push(batch)

    def push_all(self) -> None:
        """Everything counted here, to Redis now (at exit, and before draining in this process)."""
        if batch := self.buffer.drain():
            self._push(batch)

    def _push(self, batch: dict[str, int]) -> None:
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for key, amount in batch.items():
                    pipe.hincrby(self.hash_key, key, amount)
                pipe.execute()
        except redis.RedisError:  # a lost count is better than a failed page
            pass

    def due_batch(self) -> dict[str, int] | None:
        return None  # the periodic job drains Redis

    def drain(self) -> dict[str, int]:
        self.push_all()
        staging = f"{self.hash_key}:draining:{uuid.uuid4().hex}"
        try:
            self.client.rename(self.hash_key, staging)
        except redis.ResponseError:  # no such key: nothing counted
            return {}
        # Replies are bytes (the client does not decode); redis-py types them ``bytes | str``.
        values = cast(dict[bytes, bytes], self.client.hgetall(staging))
        self.client.delete(staging)
        return {k.decode(): int(v) for k, v in values.items()}


def init_app(app: Flask) -> None:
    url = app.config.get("COUNTERS_URL") or ""
    store: LocalCounters | RedisCounters
    if url.startswith(("redis://", "rediss://", "unix://")):
        store = RedisCounters(url, app.config.get("COUNTERS_KEY", HASH),
                              float(app.config.get("COUNTER_FLUSH_SECONDS", 5)))
    else:
        store = LocalCounters(float(app.config.get("COUNTER_FLUSH_SECONDS", 5)))
    app.extensions[EXTENSION] = store


def _store() -> LocalCounters | RedisCounters:
    return current_app.extensions[EXTENSION]


def add(keys: Iterable[str], *, flush: Callable[[dict[str, int]], None]) -> None:
    """Count each key once; ``flush(batch)`` runs after the unit of work when a batch is due."""
    store = _store()
    if isinstance(store, RedisCounters):
        store.add_many(list(keys))
        return
    for key in keys:
        store.add(key)
    if batch := store.due_batch():
        after_commit(lambda: flush(batch))


def drain() -> Mapping[str, int]:
    """Everything counted and not yet written (periodic job, shutdown, tests)."""
    return _store().drain()


def parse(key: str) -> list[str]:
    return key.split("|")


def key(*parts: Any) -> str:
    return "|".join(str(p) for p in parts)


__all__ = ["add", "drain", "init_app", "key", "parse"]
