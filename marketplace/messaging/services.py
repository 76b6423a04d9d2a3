"""Messaging services (placeholder until the messaging capability lands)."""
from __future__ import annotations

from typing import Any


def unread_count(user: Any) -> int:
    return 0
