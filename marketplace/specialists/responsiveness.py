"""How quickly a specialist answers, in words: "Usually replies within 3 hours".

The figures (median minutes over the last 90 days, None below 5 data points) are measured by the
messaging domain's periodic job and stored on the profile (``reply_median_minutes``,
``confirm_median_minutes``); this module only words them. Pure: no Flask, no database.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# A profile listed for less than this long, without figures yet, reads "New on Balance" (the
# figures need this long of history to be fair).
NEW_PROFILE_AGE = timedelta(days=90)
HOURS_SHOWN_UP_TO = 48  # above: in days


def within(minutes: int) -> str:
    """``minutes`` as an upper bound in plain words: "within an hour", "within 3 hours",
    "within 4 days" (rounded up: never promises quicker than measured)."""
    if minutes <= 60:
        return "within an hour"
    hours = math.ceil(minutes / 60)
    if hours <= HOURS_SHOWN_UP_TO:
        return f"within {hours} hours"
    return f"within {math.ceil(hours / 24)} days"


@dataclass(frozen=True)
class Responsiveness:
    """What a card or a profile says about how quickly the specialist answers."""

    replies: str | None = None  # "Usually replies within 3 hours"
    confirms: str | None = None  # "Usually confirms requests within an hour"
    new: bool = False  # "New on Balance": no figures yet and listed recently

    @property
    def shown(self) -> bool:
        return bool(self.replies or self.confirms or self.new)


def describe(reply_minutes: int | None, confirm_minutes: int | None, listed_since: datetime | None,
             now: datetime) -> Responsiveness:
    """The words for these figures; "New on Balance" only when there are none and the profile is
    younger than ``NEW_PROFILE_AGE`` (an older profile without figures shows nothing)."""
    replies = f"Usually replies {within(reply_minutes)}" if reply_minutes is not None else None
    confirms = f"Usually confirms requests {within(confirm_minutes)}" if confirm_minutes is not None else None
    new = (replies is None and confirms is None and listed_since is not None
           and now - listed_since < NEW_PROFILE_AGE)
    return Responsiveness(replies, confirms, new)


def describe_profile(profile: Any, now: datetime) -> Responsiveness:
    """``describe`` for a profile or a directory card (same attribute names)."""
    return describe(getattr(profile, "reply_median_minutes", None), getattr(profile, "confirm_median_minutes", None),
                    getattr(profile, "listed_since", None), now)


__all__ = ["NEW_PROFILE_AGE", "Responsiveness", "describe", "describe_profile", "within"]
