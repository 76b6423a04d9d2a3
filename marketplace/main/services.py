"""The home page: gathered from the domains that own its parts, cached whole for everyone.

Rendered by ``render_fragment`` with markers for the person's parts (``templating``), keyed by the
versions of what it shows: "directory" (profiles, their availability), "featured" (the campaign's
order), "questions" and "articles" (bumped by every change to those rows: ``bump_on_change``),
and the viewer's time zone (cards show the next free time in it). At most a minute old: an
author's renamed display name, the only indirect change, shows within that.
"""
from __future__ import annotations

from typing import Any

from marketplace.articles.services import latest_articles
from marketplace.cache import read_ahead
from marketplace.featured.services import home_featured
from marketplace.questions.services import latest_questions
from marketplace.templating import CachedPage, cached_at_version, render_page_shell

HOME_SECONDS = 60
HOME_VERSIONS = ("directory", "featured", "questions", "articles")
read_ahead("main.home", lambda _args: HOME_VERSIONS)


def home_page_sections() -> dict[str, Any]:
    featured = home_featured()
    return {
        "featured": featured.profiles,
        "more_featured": featured.more,
        "latest_questions": latest_questions(limit=4),
        "latest_articles": latest_articles(limit=3),
    }


def home_page(tz: str) -> CachedPage:
    """The home page for viewers in time zone ``tz``; ``featured_ids`` are its featured cards (their
    impressions are counted per request by the caller)."""
    def render() -> dict[str, Any]:
        sections = home_page_sections()
        return {**render_page_shell("main/home.html", **sections),
                "featured_ids": tuple(profile.id for profile in sections["featured"])}

    entry = cached_at_version(HOME_VERSIONS, lambda *v: f"page:home:{':'.join(map(str, v))}:{tz}", render,
                              HOME_SECONDS)
    return CachedPage.from_entry(entry)
