"""Free times of the week as bits: what the directory's time-of-day filter reads.

Pure (no Flask, no database). The availability refresh stores, beside a specialist's snapshot,
which UTC half-hours of the week have a free slot starting in them (``free_time_bits``); the
directory turns a viewer's chosen times of day (``weeks.TimeFilter``: the booking page's chips,
the same definitions) into the matching UTC half-hours in the viewer's zone (``filter_bits``)
and keeps the profiles where both share a bit: ``(column & mask) != 0`` in the WHERE clause, no
slot read at request time.

The week is seven UTC weekdays (Monday 0) of 48 half-hours; bit ``k`` of day ``d`` stands for
``d`` ``00:00 + 30·k`` minutes to 30 minutes later, UTC; one integer per day (48 bits: a BIGINT
on SQLite and PostgreSQL). Half-hours rather than hours: the parts of the day begin on the
viewer's full hour, which in a zone with a half-hour offset (Asia/Kolkata, +05:30) is a UTC half
hour; so for every zone whose offset is a whole number of half-hours, a bucket falls in one part.
(In a quarter-hour zone, Asia/Kathmandu, a bucket across a part's border counts for both.)

Only the slots of the next ``FREE_TIMES_DAYS`` days count: the weeks a client looks at first.
Folding them into one week forgets the date, so for a zone with daylight saving time the mask
takes every UTC offset the zone has in those days: in the weeks around a change, a time an hour
beside a part's border may count too — the filter may show a specialist the booking page's
chips then narrow, but never hides one who has such times.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from marketplace.scheduling.slots import load_zone
from marketplace.scheduling.weeks import TimeFilter

FREE_TIMES_DAYS = 28
FREE_TIMES_WINDOW = timedelta(days=FREE_TIMES_DAYS)
BUCKET = timedelta(minutes=30)
BUCKETS_PER_DAY = 48
DAYS = 7
NO_FREE_TIMES: tuple[int, ...] = (0,) * DAYS
_REFERENCE_MONDAY = datetime(2024, 1, 1)  # a Monday: positions in the week as naive datetimes
_LAST_MINUTE = timedelta(minutes=29)


def bucket_of(instant: datetime) -> tuple[int, int]:
    """(UTC weekday, half-hour of the UTC day) of an instant."""
    utc = instant.astimezone(UTC)
    return utc.weekday(), utc.hour * 2 + utc.minute // 30


def free_time_bits(slots_utc: Iterable[datetime], now: datetime) -> tuple[int, ...]:
    """Seven integers: bit ``k`` of day ``d`` set when a slot starts in that UTC half-hour of the
    week, counting the slots before ``now + FREE_TIMES_WINDOW``."""
    bits = [0] * DAYS
    until = now + FREE_TIMES_WINDOW
    for start in slots_utc:
        if start >= until:
            break  # slots come in order
        day, bucket = bucket_of(start)
        bits[day] |= 1 << bucket
    return tuple(bits)


def zone_offsets(tz_name: str, now: datetime, window: timedelta = FREE_TIMES_WINDOW) -> frozenset[timedelta]:
    """The UTC offsets the zone has between ``now`` and ``now + window`` (one, or two across a
    daylight-saving change; sampled hourly)."""
    zone = load_zone(tz_name)
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = int(window / timedelta(hours=1)) + 1
    return frozenset(offset for i in range(hours)
                     if (offset := (start + timedelta(hours=i)).astimezone(zone).utcoffset()) is not None)


def filter_bits(time_filter: TimeFilter, tz_name: str, now: datetime) -> tuple[int, ...]:
    """The UTC half-hours of the week (as ``free_time_bits``) whose time in zone ``tz_name``
    ``time_filter`` shows, for any offset the zone has in the next ``FREE_TIMES_DAYS`` days. A
    half-hour counts when its first or last minute falls in a chosen time (exact for zones on
    whole half-hours). Every bit for a filter that chooses nothing."""
    offsets = zone_offsets(tz_name, now)
    bits = [0] * DAYS
    for day in range(DAYS):
        for bucket in range(BUCKETS_PER_DAY):
            position = _REFERENCE_MONDAY + timedelta(days=day) + bucket * BUCKET
            if any(time_filter.matches(position + offset) or time_filter.matches(position + offset + _LAST_MINUTE)
                   for offset in offsets):
                bits[day] |= 1 << bucket
    return tuple(bits)


__all__ = ["BUCKETS_PER_DAY", "DAYS", "FREE_TIMES_DAYS", "FREE_TIMES_WINDOW", "NO_FREE_TIMES", "bucket_of",
           "filter_bits", "free_time_bits", "zone_offsets"]
