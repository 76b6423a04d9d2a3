"""Services of the featured domain (placeholder until the capability lands)."""
from __future__ import annotations

from typing import Any


def featured_for_home(limit: int = 6) -> list[Any]:
    """Featured specialists of the active campaign, in order."""
    return []


def active_featured_profile_ids() -> list[int]:
    """Ids of eligible featured profiles of the active campaign, in campaign order."""
    return []


def record_impressions(profile_ids: list[int], placement: str) -> None:
    """Count that these featured cards were shown (placement: home, directory, campaign)."""
    return None
