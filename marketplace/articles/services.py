"""Services of the articles domain (placeholder until the capability lands)."""
from __future__ import annotations

from typing import Any


def latest_articles(limit: int = 6) -> list[Any]:
    """Newest published articles."""
    return []
