"""Services of the questions domain (placeholder until the capability lands)."""
from __future__ import annotations

from typing import Any


def latest_questions(limit: int = 6) -> list[Any]:
    """Newest visible questions."""
    return []
