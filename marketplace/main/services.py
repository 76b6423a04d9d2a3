"""Data for the home page, gathered from the domains that own it."""
from __future__ import annotations

from typing import Any


def home_page_sections() -> dict[str, Any]:
    from marketplace.articles.services import latest_articles
    from marketplace.featured.services import featured_for_home
    from marketplace.questions.services import latest_questions

    return {
        "featured": featured_for_home(),
        "latest_questions": latest_questions(limit=4),
        "latest_articles": latest_articles(limit=3),
    }
