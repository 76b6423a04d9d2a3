"""The public specialist pages: what is cached and shared by everyone, and how it is keyed.

Cached (``marketplace.extensions.cache``: Redis shared by every process, or in-process), each
part rendered by ``render_fragment`` (no person-specific globals) and keyed by what it shows:

* the directory's filter form and results (count, cards, pagination) with the featured ids on
  them — version "directory", the filter and page parameters, the viewer's time zone (cards show
  the soonest free time in it);
* the profile body (summary, practice details) — version "profile:<id>", the row's
  ``version_id`` and the viewer's time zone. Unpublished previews are never cached.

A change bumps the version after commit (``specialists.services``, ``featured.services``,
``consultations``), so every process sharing the cache shows it at once; the timeouts bound
memory and the soonest-free times that move with the clock (and, with a per-process cache,
how long other processes show the old page: ``cache_seconds``). A hit costs one cache round
trip (``cached_at_version``). Everything else — header and badge, flash messages, message
button or gated prompt, preview banner, booking card, CSRF tokens — is composed per request by
the page templates.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from marketplace.cache import cached, version
from marketplace.extensions import cache, db
from marketplace.specialists.directory import (
    DirectoryFilters,
    cache_seconds,
    search_directory,
    vocabulary_labels,
    vocabulary_slugs,
)
from marketplace.specialists.forms import DirectoryFilterForm
from marketplace.specialists.models import SpecialistProfile
from marketplace.templating import render_fragment

DIRECTORY_SECONDS = 120
PROFILE_SECONDS = 600
PROFILE_KINDS = ("specialties", "approaches", "languages", "formats")
DIRECTORY_PARAMETERS = frozenset({*DirectoryFilterForm().data, "page"})
SEEN_VERSIONS = "specialists.seen_versions"
MAX_SEEN_VERSIONS = 10_000


def cached_at_version(name: str, key_for: Callable[[int], str], produce: Callable[[], Any], timeout: int) -> Any:
    """``cached(key_for(version(name)), produce, timeout)``, usually in ONE cache round trip: the
    version and the entry stored under the version this process saw last are read together, and
    only when the version has changed since is the entry read again."""
    seen: dict[str, int] = current_app.extensions.setdefault(SEEN_VERSIONS, {})
    guess = seen.get(name)
    if guess is not None:
        current, value = cache.get_many(f"v:{name}", key_for(guess))  # marketplace.cache's version key
        if current is not None and int(current) == guess and value is not None:
            return value
    current = version(name)
    if len(seen) >= MAX_SEEN_VERSIONS:
        seen.clear()
    seen[name] = current
    return cached(key_for(current), produce, cache_seconds(timeout))


@dataclass(frozen=True)
class DirectoryContent:
    html: Markup
    featured_ids: tuple[int, ...]  # in page order


def directory_content(args: MultiDict[str, str], tz: str) -> DirectoryContent:
    """The directory's filter form and results for these query parameters, shown in time zone ``tz``.

    Keyed by the query parameters the page reads, as sent (so a hit needs no form parsing;
    other parameters, e.g. utm_*, are ignored), plus the page number, ``tz`` and version "directory".
    """
    known = sorted((name, value) for name, value in args.items(multi=True) if name in DIRECTORY_PARAMETERS)
    digest = hashlib.sha256(urlencode(known).encode()).hexdigest()[:32]

    def render() -> dict[str, Any]:
        form = DirectoryFilterForm(args)
        filters = DirectoryFilters.from_values(form.valid_data())
        results = search_directory(filters, args.get("page"))
        html = render_fragment("specialists/_directory_content.html", form=form, filters=filters, results=results)
        featured = tuple(card.id for card in results.items if card.id in results.extra["featured_ids"])
        return {"html": str(html), "featured_ids": featured}

    value = cached_at_version("directory", lambda v: f"page:directory:{v}:{tz}:{digest}", render, DIRECTORY_SECONDS)
    return DirectoryContent(Markup(value["html"]), tuple(value["featured_ids"]))  # noqa: S704


@dataclass(frozen=True)
class ProfilePage:
    profile: SpecialistProfile
    summary: Markup
    details: Markup

    @property
    def preview(self) -> bool:
        return not self.profile.is_published


def load_profile(slug: str) -> tuple[SpecialistProfile, dict[str, tuple[str, ...]]] | None:
    """The profile at ``slug`` and its vocabulary labels, in one query."""
    row = db.session.execute(
        select(SpecialistProfile, *(vocabulary_slugs(kind) for kind in PROFILE_KINDS))
        .where(SpecialistProfile.slug == slug)
    ).first()
    if row is None:
        return None
    profile, *slugs = row
    return profile, {kind: vocabulary_labels(kind, value) for kind, value in zip(PROFILE_KINDS, slugs, strict=True)}


def profile_page(slug: str, viewer: Any, tz: str) -> ProfilePage | None:
    """The profile page's shared parts if ``viewer`` may see it: published, or the owner's/an admin's preview."""
    found = load_profile(slug)
    if found is None:
        return None
    profile, labels = found
    if not (profile.is_published or profile.can_preview(viewer)):
        return None

    def render() -> dict[str, str]:
        return {part: str(render_fragment(f"specialists/_profile_{part}.html", profile=profile, labels=labels, tz=tz))
                for part in ("summary", "details")}

    if profile.is_published:
        # The row's version_id too: a request that read the row just before an edit committed
        # stores the old text under the old version_id, which no later request asks for.
        parts = cached_at_version(f"profile:{profile.id}",
                                  lambda v: f"page:profile:{profile.id}:{v}:{profile.version_id}:{tz}", render,
                                  PROFILE_SECONDS)
    else:
        parts = render()
    return ProfilePage(profile, Markup(parts["summary"]), Markup(parts["details"]))  # noqa: S704
