"""A short-lived, per-process cache of the rendered directory page for anonymous visitors.

The directory is the busiest page and the same for every visitor who is not logged in, apart
from the viewer's time zone (the ``tz`` cookie) and the query string. Rendering it costs
about 15 ms of CPU; serving it from this cache well under 1 ms.

* Only anonymous GETs without pending flash messages are cached (logged-in users see their
  account links and time zone; a flash belongs to one visitor). Key: the query string as sent
  (the page echoes it in the Login/Sign-up ``next`` links) + the viewer's time zone.
* Entries live ``DIRECTORY_CACHE_SECONDS`` (default 15, 0 = off). Publishing, editing or
  unpublishing a profile, and campaign changes, reach anonymous visitors within that time
  (at once on the process that handled a profile change: it clears its cache on commit).
* Featured impressions are still counted on every request: a hit records the featured cards of
  the cached page (the upsert ignores ids that are no longer eligible).
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app, g, has_app_context, request, session
from flask_login import current_user
from sqlalchemy import text

from marketplace.timeutil import viewer_timezone

MAX_ENTRIES = 512  # distinct filter combinations kept per process (each ~30 KB of HTML)
EXTENSION = "specialists.directory_cache"


@dataclass(frozen=True)
class CachedPage:
    html: str
    featured_ids: tuple[int, ...]
    expires_at: float


class PageCache:
    """A dict with expiry and a size bound; safe to share between threads."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[tuple[bytes, str], CachedPage] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[bytes, str], now: float) -> CachedPage | None:
        entry = self._entries.get(key)
        if entry is None or entry.expires_at <= now:
            return None
        return entry

    def put(self, key: tuple[bytes, str], entry: CachedPage, now: float) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries = {k: v for k, v in self._entries.items() if v.expires_at > now}
                if len(self._entries) >= self.max_entries:  # all fresh: drop the older half
                    keep = list(self._entries.items())[self.max_entries // 2:]
                    self._entries = dict(keep)
            self._entries[key] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries = {}

    def __len__(self) -> int:
        return len(self._entries)


def _cache() -> PageCache:
    extensions = current_app.extensions
    cache = extensions.get(EXTENSION)
    if cache is None:
        cache = extensions.setdefault(EXTENSION, PageCache())
    return cache


def _ttl() -> float:
    return float(current_app.config.get("DIRECTORY_CACHE_SECONDS", 0) or 0)


def _cache_key() -> tuple[bytes, str] | None:
    """The key for this request, or None if its page must not be cached or served from cache."""
    if _ttl() <= 0 or request.method not in ("GET", "HEAD"):
        return None
    if getattr(current_user, "is_authenticated", False) or session.get("_flashes"):
        return None
    return request.query_string, viewer_timezone()


def cached_directory_page() -> str | None:
    """The cached directory HTML for this (anonymous) request, counting its featured impressions;
    None when there is none or the request is not cacheable."""
    key = g.directory_cache_key = _cache_key()  # decided before rendering pops the flashes
    if key is None:
        return None
    entry = _cache().get(key, time.monotonic())
    if entry is None:
        return None
    if entry.featured_ids:
        _count_impressions(entry.featured_ids)
    return entry.html


_impressions_lock = threading.Lock()
_pending_impressions: Counter[tuple[int, ...]] = Counter()
_last_impression_flush = [0.0]


def _count_impressions(profile_ids: tuple[int, ...]) -> None:
    """Count the cached page's featured impressions (the only write of a cache hit).

    Counts are added up per process and written at most every ``IMPRESSION_FLUSH_SECONDS``
    (default 1 s) with one upsert per set of cards, instead of one write per page view. A process
    that dies loses at most that last second of counts. On PostgreSQL the flush commits without
    waiting for the WAL flush (``synchronous_commit = off``, this transaction only).
    """
    from marketplace.extensions import db
    from marketplace.featured.services import record_impressions

    interval = float(current_app.config.get("IMPRESSION_FLUSH_SECONDS", 1.0))
    with _impressions_lock:
        _pending_impressions[profile_ids] += 1
        now = time.monotonic()
        if now - _last_impression_flush[0] < interval:
            return
        batch = dict(_pending_impressions)
        _pending_impressions.clear()
        _last_impression_flush[0] = now
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    for ids, count in batch.items():
        record_impressions(ids, "directory", amount=count)


def remember_directory_page(html: str, featured_ids: Iterable[int]) -> str:
    """Keep a freshly rendered directory page for the next anonymous visitors; returns ``html``.

    Only after ``cached_directory_page`` found the request cacheable (same request)."""
    key = g.get("directory_cache_key")
    if key is not None:
        now = time.monotonic()
        _cache().put(key, CachedPage(html, tuple(sorted(featured_ids)), now + _ttl()), now)
    return html


def clear_directory_cache() -> None:
    """Forget this process's cached pages (after a profile change is committed)."""
    if has_app_context():
        cache = current_app.extensions.get(EXTENSION)
        if cache is not None:
            cache.clear()
