"""Views of the payments blueprint."""
from __future__ import annotations

from marketplace.payments import bp  # noqa: F401
