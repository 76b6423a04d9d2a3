"""The public specialist pages: what is cached and shared by everyone, and how it is keyed.

Cached (``marketplace.extensions.cache``: in-process, or Redis shared by every process), each
part rendered by ``render_fragment`` (no person-specific globals) and keyed by what it shows:

* directory results (count, cards, pagination) with the featured ids on them — version
  "directory", filters, page, the viewer's time zone (cards show the soonest free time in it);
* the profile body (summary, practice details) — version "profile:<id>", the row's
  ``version_id`` and the viewer's time zone. Unpublished previews are never cached.

A change bumps the version after commit (``specialists.services``, ``featured.services``,
``consultations``), so every process shows it at once; the timeouts bound memory and the
soonest-free times that move with the clock. Everything else — header and badge, flash
messages, the filter form, message button or gated prompt, preview banner, booking card, CSRF
tokens — is composed per request by the page templates.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from sqlalchemy import select

from marketplace.cache import cached, version
from marketplace.extensions import db
from marketplace.pagination import parse_page
from marketplace.specialists.directory import DirectoryFilters, search_directory, vocabulary_labels, vocabulary_slugs
from marketplace.specialists.models import SpecialistProfile
from marketplace.templating import render_fragment

DIRECTORY_SECONDS = 120
PROFILE_SECONDS = 600
PROFILE_KINDS = ("specialties", "approaches", "languages", "formats")


@dataclass(frozen=True)
class DirectoryResults:
    html: Markup
    total: int
    featured_ids: tuple[int, ...]


def directory_results(filters: DirectoryFilters, page: Any, tz: str) -> DirectoryResults:
    """The directory's results section for these filters and page, shown in time zone ``tz``."""
    params = urlencode(sorted(filters.query_params().items()))
    digest = hashlib.sha256(params.encode()).hexdigest()[:32]
    key = f"page:directory:{version('directory')}:{tz}:{parse_page(page)}:{digest}"

    def render() -> dict[str, Any]:
        results = search_directory(filters, page)
        html = render_fragment("specialists/_directory_results.html", filters=filters, results=results)
        featured = tuple(card.id for card in results.items if card.id in results.extra["featured_ids"])  # page order
        return {"html": str(html), "total": results.total, "featured_ids": featured}

    value = cached(key, render, DIRECTORY_SECONDS)
    return DirectoryResults(Markup(value["html"]), value["total"], tuple(value["featured_ids"]))  # noqa: S704


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
        key = f"page:profile:{profile.id}:{version(f'profile:{profile.id}')}:{profile.version_id}:{tz}"
        parts = cached(key, render, PROFILE_SECONDS)
    else:
        parts = render()
    return ProfilePage(profile, Markup(parts["summary"]), Markup(parts["details"]))  # noqa: S704
