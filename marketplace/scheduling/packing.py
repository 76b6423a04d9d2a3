"""Compact storage form of a list of slot starts (pure: no Flask, no DB).

Free slots come in runs: a window 09:00–17:00 gives sixteen starts 30 minutes apart. A run is
stored as ``[first start in minutes since the Unix epoch (UTC), number of starts]`` with a fixed
step, so a month of slots is a few dozen small integers instead of hundreds of timestamps.
Any sorted list round-trips exactly (a slot that does not continue a run starts a new one).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

__all__ = ["pack_slots", "unpack_slots"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MINUTE = timedelta(minutes=1)


def _minutes(value: datetime) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"slot must be timezone-aware (got naive {value!r})")
    offset = value - _EPOCH
    if offset % _MINUTE:
        raise ValueError(f"slot must start on a whole minute (got {value!r})")
    return offset // _MINUTE


def pack_slots(slots: Iterable[datetime], step_minutes: int) -> list[list[int]]:
    """``[[start_minute, count], …]`` for sorted, distinct, aware slot starts."""
    if step_minutes < 1:
        raise ValueError("step_minutes must be >= 1")
    runs: list[list[int]] = []
    previous: int | None = None
    for slot in slots:
        minute = _minutes(slot)
        if previous is not None and minute <= previous:
            raise ValueError("slots must be sorted and distinct")
        if previous is not None and minute == previous + step_minutes:  # previous is None only before the first run
            runs[-1][1] += 1
        else:
            runs.append([minute, 1])
        previous = minute
    return runs


def unpack_slots(runs: Iterable[Iterable[int]], step_minutes: int, *,
                 not_before: datetime | None = None) -> list[datetime]:
    """The UTC slot starts of ``pack_slots`` output, optionally only those at or after ``not_before``."""
    floor = None if not_before is None else (not_before - _EPOCH) / _MINUTE
    slots: list[datetime] = []
    for first, count in runs:
        for minute in range(first, first + count * step_minutes, step_minutes):
            if floor is None or minute >= floor:
                slots.append(_EPOCH + minute * _MINUTE)
    return slots
