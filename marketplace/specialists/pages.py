"""The public specialist pages, cached whole and shared by everyone; what belongs to the person
or the request is filled in on every request.

A page is rendered by ``render_fragment`` (person-specific globals refused), with a marker
wherever a template shows a person's part (``person_part``: the header's account links and
unread badge, flash messages, the time zone note, the profile's message button or log-in prompt,
its booking card and preview banner). ``compose_page`` renders those parts for the request and
puts them in. Cached in ``marketplace.extensions.cache`` (Redis, shared by every process; or
in-process), keyed by what the page shows:

* directory — version "directory", the filter and page parameters as sent, the viewer's time
  zone (cards show the soonest free time in it, and the time-of-day filter ``part`` is read in
  it); the featured ids on it are kept beside it, so
  their impressions are counted on every request;
* profile — versions "profile:<id>" and "availability:<id>" (its booking card, the next free
  times, is part of the page), the slug, the viewer's time zone, the host (absolute share links),
  the campaign source and the minute. What the person parts need of the profile is kept beside
  it (``ProfileHead``), so a hit reads no row. Unpublished previews are never cached.

Every committed change to a profile row bumps its versions (``bump_on_change`` in
``specialists.services``), campaign changes bump "featured" and "directory", a calendar change
"availability:<id>" and "directory": every process sharing the cache shows it at once. The
timeouts bound memory and the free times that move with the clock (and, with a per-process
cache, how long other processes show the old page: ``cache_seconds``). A hit costs one cache
round trip (``cached_at_versions``).
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

from flask import current_app, render_template, request
from markupsafe import Markup
from sqlalchemy import Select, bindparam, select
from werkzeug.datastructures import MultiDict

from marketplace.cache import read_ahead
from marketplace.extensions import db
from marketplace.parts import page_parts
from marketplace.specialists.directory import (
    DirectoryFilters,
    listed_countries,
    search_directory,
    vocabulary_labels,
    vocabulary_slugs,
)
from marketplace.specialists.forms import DirectoryFilterForm
from marketplace.specialists.hooks import PROFILE_CARD
from marketplace.specialists.models import SpecialistProfile, owns_profile
from marketplace.templating import (
    PAGE_PERSON_STATE,
    CachedPage,
    cached_at_version,
    render_fragment,
    render_page_shell,
)

DIRECTORY_SECONDS = 120
PROFILE_SECONDS = 60  # it shows the next free times: at most a minute old
BOOKING_CARD = "specialists/_booking_card.html"
PROFILE_PERSON_TEMPLATE = "specialists/_profile_person.html"
# What _profile_person.html reads of the page's context: all of it fixed by the cached entry, but
# ``parts`` (the later domains' parts for this person, ``PROFILE_PERSON``).
PROFILE_PERSON_CONTEXT = ("page", "profile", "labels", "tz", "parts", "booking_card")
PROFILE_KINDS = ("specialties", "approaches", "languages", "formats")
DIRECTORY_PARAMETERS = frozenset({*DirectoryFilterForm().data, "page"})


def directory_page(args: MultiDict[str, str], tz: str) -> CachedPage:
    """The directory page for these query parameters, shown in time zone ``tz``.

    Keyed by the query parameters the page reads, as sent (so a hit needs no form parsing;
    other parameters, e.g. utm_*, are ignored), plus ``tz`` and version "directory".
    """
    known = sorted((name, value) for name, value in args.items(multi=True) if name in DIRECTORY_PARAMETERS)
    digest = hashlib.sha256(urlencode(known).encode()).hexdigest()[:32]

    def render() -> dict[str, Any]:
        form = DirectoryFilterForm(args)
        filters = DirectoryFilters.from_values(form.valid_data())
        form.offer_countries(listed_countries())
        form.show_zone(tz)
        results = search_directory(filters, args.get("page"), tz=tz)
        featured = tuple(card.id for card in results.items if card.id in results.extra["featured_ids"])
        return {**render_page_shell("specialists/directory.html", form=form, filters=filters, results=results),
                "featured_ids": featured}

    entry = cached_at_version(("directory",), lambda v: f"page:directory:{v}:{tz}:{digest}", render, DIRECTORY_SECONDS)
    return CachedPage.from_entry(entry)


@dataclass(frozen=True)
class ProfileHead:
    """What a cached profile page's person parts need of the profile (``_profile_person.html``),
    kept beside the page: a hit needs no database row."""

    id: int
    slug: str
    display_name: str
    user_id: int | None
    offers_free_consultation: bool
    accepting_new_clients: bool
    is_listed: bool = True

    @classmethod
    def of(cls, profile: SpecialistProfile) -> ProfileHead:
        return cls(profile.id, profile.slug, profile.display_name, profile.user_id, profile.offers_free_consultation,
                   profile.accepting_new_clients, profile.is_listed)

    def can_edit(self, user: object) -> bool:
        return owns_profile(user, self.user_id)


@dataclass(frozen=True)
class ProfilePage:
    profile: SpecialistProfile | ProfileHead
    labels: dict[str, tuple[str, ...]]
    tz: str
    cached: CachedPage | None = None  # None for a preview (a profile not listed): never cached
    card: str = ""  # the booking card rendered with the cached page

    @property
    def preview(self) -> bool:
        return not self.profile.is_listed

    def response(self, parts: dict[str, Any]) -> Markup | str:
        """The page for this request; ``parts``: the person's parts of later domains (``PROFILE_PERSON``,
        gathered by the view for this viewer)."""
        context = {"page": self, "profile": self.profile, "labels": self.labels, "tz": self.tz, "parts": parts}
        if self.cached is None:
            card = render_template(BOOKING_CARD, parts=booking_card_parts(self.profile, self.tz, preview=True))
            return render_template("specialists/profile.html", booking_card=Markup(card), **context)  # noqa: S704
        return self.cached.response(booking_card=Markup(self.card), **context, **{PAGE_PERSON_STATE: parts_state(parts)})  # noqa: S704


def parts_state(parts: dict[str, Any]) -> tuple[Any, ...] | None:
    """What the later domains' parts for this person (``PROFILE_PERSON``) make the profile's person
    parts show, as a key, or None when they must be rendered: each part is None or says its
    ``person_state`` (the entry and the person are keyed besides: ``templating.person_module``;
    tests/integration/test_person_parts.py holds the template to ``PROFILE_PERSON_CONTEXT``)."""
    states = []
    for name, part in parts.items():
        state = None if part is None else getattr(part, "person_state", None)
        if part is not None and state is None:
            return None
        states.append((name, state))
    return tuple(states)


def booking_card_parts(profile: SpecialistProfile | ProfileHead, tz: str, *, preview: bool = False) -> dict[str, Any]:
    """The booking card's parts (``PROFILE_CARD``: later domains' free times) in zone ``tz``, for
    this request's campaign source (``preview``: the owner's view of an unlisted profile)."""
    src = "campaign" if request.args.get("src") == "campaign" else None
    return page_parts.gather(PROFILE_CARD, profile=profile, tz=tz, src=src, preview=preview)


@cache
def _profile_by_slug() -> Select:
    """Built once (building and keying the statement costs as much as running it)."""
    return (select(SpecialistProfile, *(vocabulary_slugs(kind) for kind in PROFILE_KINDS))
            .where(SpecialistProfile.slug == bindparam("slug")))


def load_profile(slug: str) -> tuple[SpecialistProfile, dict[str, tuple[str, ...]]] | None:
    """The profile at ``slug`` and its vocabulary labels, in one query."""
    row = db.session.execute(_profile_by_slug(), {"slug": slug}).first()
    if row is None:
        return None
    profile, *slugs = row
    return profile, {kind: vocabulary_labels(kind, value) for kind, value in zip(PROFILE_KINDS, slugs, strict=True)}


PROFILE_IDS = "specialists.profile_ids"
MAX_PROFILE_IDS = 50_000


def _known_ids() -> dict[str, int]:
    """This process's slug -> id of published profiles: only a hint (checked against the cached
    page's own slug), so a slug that changed or went away falls back to the database."""
    return current_app.extensions.setdefault(PROFILE_IDS, {})


def _profile_versions(view_args: dict[str, Any]) -> tuple[str, ...]:
    profile_id = _known_ids().get(view_args.get("slug", ""))
    return () if profile_id is None else (f"profile:{profile_id}", f"availability:{profile_id}")


read_ahead("specialists.directory", lambda _args: ("directory",))
read_ahead("specialists.profile", _profile_versions)


def profile_page(slug: str, viewer: Any, tz: str) -> ProfilePage | None:
    """The profile page if ``viewer`` may see it: listed (cached), or the owner's/an admin's preview.

    A hit reads the versions (one cache round trip) and no database row: the slug's id is known to
    this process, and the page carries what its person parts need (``ProfileHead``)."""
    known = _known_ids().get(slug)
    if known is not None:
        page = _published_page(known, slug, tz)
        if page is not None:
            return page
    found = load_profile(slug)
    if found is None:
        return None
    profile, labels = found
    if not profile.is_listed:
        return ProfilePage(profile, labels, tz) if profile.can_preview(viewer) else None
    ids = _known_ids()
    if len(ids) >= MAX_PROFILE_IDS:
        ids.clear()
    ids[slug] = profile.id
    return _published_page(profile.id, slug, tz)


def _published_page(profile_id: int, slug: str, tz: str) -> ProfilePage | None:
    """The cached page of listed profile ``profile_id`` if it is still at ``slug`` (else None)."""
    def render() -> dict[str, Any]:
        # Read after the versions of the key were: a page is never older than its key says.
        found = load_profile(slug)
        if found is None or found[0].id != profile_id or not found[0].is_listed:
            return {"head": None}
        profile, labels = found
        return {**render_page_shell("specialists/profile.html", profile=profile, labels=labels, tz=tz),
                "card": str(render_fragment(BOOKING_CARD, parts=booking_card_parts(profile, tz))),
                "head": ProfileHead.of(profile), "labels": labels}

    # Keyed by the profile's version (every committed change to its row bumps it) and its
    # availability's (the booking card is part of the page), the slug, the host (the share links
    # are absolute), the campaign source (booking links keep it) and the minute (free times close
    # as the clock moves).
    src = "campaign" if request.args.get("src") == "campaign" else ""
    minute = int(time.time() // PROFILE_SECONDS)
    entry = cached_at_version(
        (f"profile:{profile_id}", f"availability:{profile_id}"),
        lambda v, a: f"page:profile:{profile_id}:{v}:{a}:{slug}:{tz}:{src}:{request.host}:{minute}",
        render, PROFILE_SECONDS)
    head = entry.value["head"]
    if head is None:
        return None
    return ProfilePage(head, entry.value["labels"], tz, CachedPage.from_entry(entry), entry.value["card"])
