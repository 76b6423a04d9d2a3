"""Free-slot engine for a specialist's calendar (pure: no Flask, no DB, no globals).

Conventions
-----------
* Every instant going in or out is an *aware* datetime; results are in UTC
  (``tzinfo=datetime.timezone.utc``). Naive datetimes raise ``ValueError``.
* Availability (weekly rules, date overrides) is wall-clock time in the
  specialist's IANA zone (``SchedulingPolicy.timezone``).
* "now" is always injected (``now_utc``) so results are deterministic.

Rules
-----
1. Availability of a local date D = the weekly rules whose weekday is
   D.weekday(), unless D has an ``"off"`` override (then no weekly rules).
   ``"extra"`` overrides for D always add their window, even on an "off" day.
   Windows are never merged: a slot must fit in ONE window, and overlapping
   windows just produce the same slot twice (results are de-duplicated).
2. A window means "every real instant whose local wall-clock reading on D is
   in [start, end)". A slot [s, s + duration) must lie entirely inside that
   set. Around DST this is computed with UTC arithmetic on the zone's real
   offsets, so:
   * spring forward: wall-clock times in the gap do not exist and never yield
     a slot; a window 00:00-04:00 is only 3 real hours long. A window whose
     start falls in the gap starts at the transition.
   * fall back: the repeated hour is real time and yields slots twice (once
     per offset, distinct UTC instants); a window 00:00-04:00 is 5 real hours.
     A window that *ends* inside the repeated hour is two disjoint pieces of
     real time (the wall clock leaves the window, jumps back and re-enters);
     a slot may not straddle the excursion.
   * every returned slot is exactly ``duration_minutes`` of real time.
3. Slot starts are aligned to the local wall-clock grid
   ``window.start + k * step_minutes`` (k >= 0).
4. Busy entries block ``overlaps(s, s + d, b.start - buffer, b.end + buffer)``.
5. ``now + min_notice <= s <= now + horizon_days``.
6. Daily cap: if ``max_per_day`` is set, the slot's local date (specialist's
   zone) must have fewer than ``max_per_day`` Busy entries with
   ``counts_toward_daily_cap`` (a Busy belongs to the local date of its start).

Double-booking protection is separate: ``occupied_block_starts`` maps a
booking to fixed 15-minute UTC blocks for a DB unique constraint. Extending
each booking by the buffer on ONE side (after) there is equivalent to the
two-sided buffer check of rule 4, because
``overlaps(s, e + buf, b.s, b.e + buf)  <=>  overlaps(s, e, b.s - buf, b.e + buf)``.

Implementation note: all arithmetic is done on integer microseconds since the
Unix epoch. The zone's UTC-offset segments over the requested range are found
by sampling ``utcoffset`` every 3 hours and bisecting each change to the second
(zoneinfo has no public transition API); within a segment the offset is
constant, so wall clock <-> UTC is a plain subtraction.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from itertools import accumulate
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "Busy",
    "DateOverride",
    "SchedulingPolicy",
    "WeeklyRule",
    "free_slots",
    "group_by_local_day",
    "next_free_slot",
    "occupied_block_starts",
    "overlaps",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_US = 1_000_000  # microseconds per second
_MINUTE = 60 * _US
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
# Real UTC offsets lie within about +-15h (tzdb extremes incl. LMT); this
# margin bounds which UTC instants can show a wall-clock time on a given date.
_OFFSET_MARGIN = 16 * _HOUR
# Offsets are sampled every 3 hours; two transitions closer than this (which
# tzdb does not contain) could be missed.
_SAMPLE_STEP_S = 3 * 3600


# --------------------------------------------------------------------------- helpers


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open interval overlap: ``a_start < b_end and b_start < a_end``.

    The ONE overlap helper used everywhere: touching intervals do not overlap.
    """
    return a_start < b_end and b_start < a_end


def require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value!r})")


def load_zone(name: str) -> ZoneInfo:
    """Load an IANA zone, turning every 'bad name' failure into ValueError."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"unknown timezone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError: e.g. "Europe" is a directory inside the tz database.
        raise ValueError(f"unknown timezone {name!r}") from exc


def _check_wall_window(start: time | None, end: time | None, what: str) -> None:
    if not isinstance(start, time) or not isinstance(end, time):
        raise ValueError(f"{what}: start and end must be datetime.time values")
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError(f"{what}: start/end are wall-clock times and must be naive")
    if end <= start:
        raise ValueError(f"{what}: end {end} must be after start {start}")


def _to_us(value: datetime) -> int:
    """Aware datetime -> integer microseconds since the epoch (exact)."""
    return (value - _EPOCH) // timedelta(microseconds=1)


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _wall_us(day: date, at: time) -> int:
    """Wall-clock reading (day, at) as 'naive epoch' microseconds."""
    return (datetime.combine(day, at) - _NAIVE_EPOCH) // timedelta(microseconds=1)


def _local_date_of(us: int, tz: ZoneInfo) -> date:
    return _from_us(us).astimezone(tz).date()


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class WeeklyRule:
    """Recurring window, e.g. Monday 09:00-12:00 in the specialist's zone."""

    weekday: int  # 0=Monday .. 6=Sunday
    start: time
    end: time  # end > start (same day)

    def __post_init__(self) -> None:
        if isinstance(self.weekday, bool) or not isinstance(self.weekday, int) or not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be an int 0..6, got {self.weekday!r}")
        _check_wall_window(self.start, self.end, "WeeklyRule")


@dataclass(frozen=True)
class DateOverride:
    """Per-date exception: ``"off"`` (day unavailable) or ``"extra"`` (adds start-end)."""

    day: date
    kind: str
    start: time | None = None
    end: time | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.day, date) or isinstance(self.day, datetime):
            raise ValueError(f"day must be a datetime.date, got {self.day!r}")
        if self.kind == "extra":
            _check_wall_window(self.start, self.end, "DateOverride(extra)")
        elif self.kind != "off":
            raise ValueError(f"override kind must be 'off' or 'extra', got {self.kind!r}")


@dataclass(frozen=True)
class Busy:
    """An existing booking/hold of this specialist (consultation or paid session)."""

    start_utc: datetime
    end_utc: datetime
    counts_toward_daily_cap: bool = True

    def __post_init__(self) -> None:
        require_aware(self.start_utc, "Busy.start_utc")
        require_aware(self.end_utc, "Busy.end_utc")
        if self.end_utc <= self.start_utc:
            raise ValueError("Busy.end_utc must be after Busy.start_utc")


@dataclass(frozen=True)
class SchedulingPolicy:
    """Per-specialist booking policy; see the module docstring for semantics."""

    timezone: str  # IANA name, e.g. "Europe/Berlin"
    buffer_minutes: int = 0  # required gap after (and before) each booking
    min_notice_minutes: int = 720  # no slot starting before now + notice
    horizon_days: int = 30  # no slot starting after now + horizon
    max_per_day: int | None = None  # max bookings per LOCAL day; None = unlimited
    step_minutes: int = 30  # slot grid, local wall clock, from the window start

    def __post_init__(self) -> None:
        load_zone(self.timezone)
        for name in ("buffer_minutes", "min_notice_minutes", "horizon_days"):
            _require_int(getattr(self, name), name, minimum=0)
        _require_int(self.step_minutes, "step_minutes", minimum=1)
        if self.max_per_day is not None:
            _require_int(self.max_per_day, "max_per_day", minimum=0)


def _require_int(value: object, name: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


# --------------------------------------------------------------------------- engine


def _offset_segments(tz: ZoneInfo, lo_us: int, hi_us: int) -> list[tuple[int, int, int]]:
    """Split UTC [lo, hi) into (seg_lo, seg_hi, utc_offset_us) pieces of constant offset."""

    def offset_at(sec: int) -> int:
        offset = datetime.fromtimestamp(sec, tz).utcoffset()
        assert offset is not None  # an aware datetime always has one
        return offset // timedelta(microseconds=1)

    lo_s, hi_s = lo_us // _US, -(-hi_us // _US)
    segments: list[tuple[int, int, int]] = []
    seg_start, current = lo_s, offset_at(lo_s)
    probe = lo_s
    while probe < hi_s:
        nxt = min(probe + _SAMPLE_STEP_S, hi_s)
        off = offset_at(nxt)
        if off != current:
            # Bisect to the first second carrying the new offset.
            a, b = probe, nxt
            while b - a > 1:
                mid = (a + b) // 2
                if offset_at(mid) == current:
                    a = mid
                else:
                    b = mid
            segments.append((seg_start * _US, b * _US, current))
            seg_start, current = b, offset_at(b)
            # Resume from the transition so a second change before `nxt` is not missed.
            probe = b
        else:
            probe = nxt
    segments.append((seg_start * _US, hi_s * _US, current))
    return segments


def _windows_by_date(
    rules: Iterable[WeeklyRule], overrides: Iterable[DateOverride]
) -> tuple[dict[int, list[tuple[time, time]]], dict[date, list[tuple[time, time]]], set[date]]:
    """Index rules by weekday and overrides by date (validating element types)."""
    weekly: dict[int, list[tuple[time, time]]] = {}
    for rule in rules:
        if not isinstance(rule, WeeklyRule):
            raise ValueError(f"expected WeeklyRule, got {type(rule).__name__}")
        weekly.setdefault(rule.weekday, []).append((rule.start, rule.end))
    extras: dict[date, list[tuple[time, time]]] = {}
    off_days: set[date] = set()
    for ov in overrides:
        if not isinstance(ov, DateOverride):
            raise ValueError(f"expected DateOverride, got {type(ov).__name__}")
        if ov.kind == "off":
            off_days.add(ov.day)
        else:
            assert ov.start is not None and ov.end is not None  # checked by DateOverride.__post_init__
            extras.setdefault(ov.day, []).append((ov.start, ov.end))
    return weekly, extras, off_days


def _window_pieces(ws: int, we: int, segments: list[tuple[int, int, int]]) -> list[list[tuple[int, int, int]]]:
    """Real-time pieces of a wall-clock window, grouped into contiguous runs.

    Returns groups; each group is a list of (utc_lo, utc_hi, offset) pieces
    whose UTC ranges touch end-to-start, so a slot may span a whole group.
    """
    groups: list[list[tuple[int, int, int]]] = []
    for seg_lo, seg_hi, off in segments:
        lo = max(seg_lo, ws - off)
        hi = min(seg_hi, we - off)
        if lo >= hi:
            continue
        if groups and groups[-1][-1][1] == lo:
            groups[-1].append((lo, hi, off))
        else:
            groups.append([(lo, hi, off)])
    return groups


class _BusyIndex:
    """Busy intervals widened by the buffer, sorted once, queried with bisect."""

    def __init__(self, busy: list[Busy], buffer_us: int) -> None:
        spans = sorted((_to_us(b.start_utc) - buffer_us, _to_us(b.end_utc) + buffer_us) for b in busy)
        self._starts = [s for s, _ in spans]
        # Prefix max of ends: among all spans starting before X, the furthest end.
        self._max_end = list(accumulate((e for _, e in spans), max))

    def conflicts(self, start: int, end: int) -> bool:
        idx = bisect.bisect_left(self._starts, end)  # spans with start < end
        return idx > 0 and self._max_end[idx - 1] > start


def _iter_slots(
    rules: Iterable[WeeklyRule],
    overrides: Iterable[DateOverride],
    busy: Iterable[Busy],
    policy: SchedulingPolicy,
    now_utc: datetime,
    duration_minutes: int,
    only_day: date | None = None,
) -> Iterator[int]:
    """Yield free slot starts (epoch microseconds), unordered, maybe repeated; with ``only_day``
    just the slots of that local date (the same rules, a fraction of the work)."""
    if not isinstance(policy, SchedulingPolicy):
        raise ValueError("policy must be a SchedulingPolicy")
    require_aware(now_utc, "now_utc")
    _require_int(duration_minutes, "duration_minutes", minimum=1)
    tz = load_zone(policy.timezone)
    busy_list = list(busy)
    for b in busy_list:
        if not isinstance(b, Busy):
            raise ValueError(f"expected Busy, got {type(b).__name__}")
    weekly, extras, off_days = _windows_by_date(rules, overrides)

    now = _to_us(now_utc)
    earliest = now + policy.min_notice_minutes * _MINUTE
    latest = now + policy.horizon_days * _DAY
    if earliest > latest:
        return
    duration = duration_minutes * _MINUTE
    step = policy.step_minutes * _MINUTE

    busy_index = _BusyIndex(busy_list, policy.buffer_minutes * _MINUTE)
    per_day: dict[date, int] = {}
    if policy.max_per_day is not None:
        for b in busy_list:
            if b.counts_toward_daily_cap:
                day = b.start_utc.astimezone(tz).date()
                per_day[day] = per_day.get(day, 0) + 1

    first_day = _local_date_of(earliest, tz)
    last_day = _local_date_of(latest, tz)
    if only_day is not None:
        first_day, last_day = max(first_day, only_day), min(last_day, only_day)
        if first_day > last_day:
            return
    segments = _offset_segments(
        tz,
        _wall_us(first_day, time()) - _OFFSET_MARGIN,
        _wall_us(last_day, time()) + _DAY + _OFFSET_MARGIN,
    )

    day = first_day
    while day <= last_day:
        windows = list(extras.get(day, ()))
        if day not in off_days:
            windows.extend(weekly.get(day.weekday(), ()))
        # Every slot from this date's windows is on this local date, so the cap is per date.
        capped = policy.max_per_day is not None and per_day.get(day, 0) >= policy.max_per_day
        if windows and not capped:
            for w_start, w_end in windows:
                yield from _window_slots(
                    _wall_us(day, w_start),
                    _wall_us(day, w_end),
                    segments,
                    earliest,
                    latest,
                    duration,
                    step,
                    busy_index,
                )
        day += timedelta(days=1)


def _window_slots(
    ws: int,
    we: int,
    segments: list[tuple[int, int, int]],
    earliest: int,
    latest: int,
    duration: int,
    step: int,
    busy_index: _BusyIndex,
) -> Iterator[int]:
    """Aligned, fitting, non-conflicting slot starts for one wall-clock window [ws, we)."""
    for group in _window_pieces(ws, we, segments):
        group_end = group[-1][1]
        for lo, hi, off in group:
            # Only starts in [max(lo, earliest), min(hi, latest + 1)) are candidates.
            lo = max(lo, earliest)
            hi = min(hi, latest + 1, group_end - duration + 1)
            if lo >= hi:
                continue
            # First grid point (ws + k*step) at or after wall(lo); wall = utc + off.
            k = -(-(lo + off - ws) // step)
            wall = ws + k * step
            while wall - off < hi:
                start = wall - off
                if not busy_index.conflicts(start, start + duration):
                    yield start
                wall += step


def free_slots(
    rules: Iterable[WeeklyRule],
    overrides: Iterable[DateOverride],
    busy: Iterable[Busy],
    policy: SchedulingPolicy,
    now_utc: datetime,
    duration_minutes: int = 30,
) -> list[datetime]:
    """Sorted, de-duplicated UTC start times of free slots of ``duration_minutes``.

    See the module docstring for the exact rules (windows, DST, buffer,
    notice, horizon, daily cap, step alignment). Raises ``ValueError`` for
    naive datetimes, unknown timezones and invalid rules/policy values.
    """
    starts = set(_iter_slots(rules, overrides, busy, policy, now_utc, duration_minutes))
    return [_from_us(us) for us in sorted(starts)]


def is_free_slot(
    rules: Iterable[WeeklyRule],
    overrides: Iterable[DateOverride],
    busy: Iterable[Busy],
    policy: SchedulingPolicy,
    now_utc: datetime,
    start_utc: datetime,
    duration_minutes: int = 30,
) -> bool:
    """Whether ``start_utc`` is one of ``free_slots(...)`` — computed for its local date only
    (slots of a date's windows lie on that date), so checking one booking costs one day, not
    the whole horizon."""
    require_aware(start_utc, "start_utc")
    day = _local_date_of(_to_us(start_utc), load_zone(policy.timezone))
    target = _to_us(start_utc)
    return any(start == target for start in _iter_slots(rules, overrides, busy, policy, now_utc,
                                                          duration_minutes, only_day=day))


def next_free_slot(
    rules: Iterable[WeeklyRule],
    overrides: Iterable[DateOverride],
    busy: Iterable[Busy],
    policy: SchedulingPolicy,
    now_utc: datetime,
    duration_minutes: int = 30,
) -> datetime | None:
    """Earliest free slot (UTC) under the same rules as ``free_slots``, or None."""
    # min() over the generator instead of free_slots()[0]: no sort, no list.
    earliest = min(_iter_slots(rules, overrides, busy, policy, now_utc, duration_minutes), default=None)
    return None if earliest is None else _from_us(earliest)


# --------------------------------------------------------------------------- booking helpers


def occupied_block_starts(
    start_utc: datetime, end_utc: datetime, buffer_minutes: int, block_minutes: int = 15
) -> list[datetime]:
    """UTC starts of the fixed blocks covering ``[start_utc, end_utc + buffer)``.

    Blocks are aligned to the UTC hour (``minute % block_minutes == 0``,
    seconds 0); partial blocks at either edge are included (start rounded
    down, end rounded up). Insert one row per block under a unique constraint
    ``(specialist_id, block_start_utc)`` to make double booking impossible:
    two bookings share a block iff their buffer-extended intervals might
    overlap (exact when times and buffer are multiples of the block size,
    conservative otherwise).
    """
    require_aware(start_utc, "start_utc")
    require_aware(end_utc, "end_utc")
    if end_utc <= start_utc:
        raise ValueError("end_utc must be after start_utc")
    _require_int(buffer_minutes, "buffer_minutes", minimum=0)
    _require_int(block_minutes, "block_minutes", minimum=1)
    if 60 % block_minutes:
        # Otherwise blocks could not be aligned to every UTC hour.
        raise ValueError(f"block_minutes must divide 60, got {block_minutes}")
    block = block_minutes * _MINUTE
    # The epoch is hour-aligned, so epoch-aligned blocks are hour-aligned.
    first = _to_us(start_utc) // block * block
    stop = _to_us(end_utc) + buffer_minutes * _MINUTE
    return [_from_us(us) for us in range(first, stop, block)]


def group_by_local_day(slots_utc: list[datetime], tz_name: str) -> dict[date, list[datetime]]:
    """Group slots by the viewer's local date.

    Returns a dict ordered by date; each value is the day's slots, sorted and
    converted to ``tz_name`` (aware datetimes).
    """
    tz = load_zone(tz_name)
    for slot in slots_utc:
        require_aware(slot, "slot")
    grouped: dict[date, list[datetime]] = {}
    # Sort by real instant BEFORE converting: aware datetimes sharing one tzinfo
    # compare by wall clock and ignore `fold`, which misorders the repeated hour.
    for slot in sorted(slots_utc, key=_to_us):
        local = slot.astimezone(tz)
        grouped.setdefault(local.date(), []).append(local)
    return {day: grouped[day] for day in sorted(grouped)}
