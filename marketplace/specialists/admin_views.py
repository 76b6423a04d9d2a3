"""Admin pages of the specialists domain (registered on the admin blueprint, /admin/…)."""
from __future__ import annotations

from marketplace.admin import bp  # noqa: F401
