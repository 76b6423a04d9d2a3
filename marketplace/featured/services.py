"""Services of the featured domain (placeholder until the capability lands)."""
from __future__ import annotations

from typing import Any


def featured_for_home(limit: int = 6) -> list[Any]:
    """Featured specialists of the active campaign, in order."""
    return []
