"""Tests for the pure free-slot engine (marketplace.scheduling.slots)."""

from __future__ import annotations

import time as clock
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.scheduling.slots import (
    Busy,
    DateOverride,
    SchedulingPolicy,
    WeeklyRule,
    free_slots,
    group_by_local_day,
    is_free_slot,
    next_free_slot,
    occupied_block_starts,
    overlaps,
)

UTC = timezone.utc
BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"

# 2026-06-01 is a Monday (weekday 0); Berlin is UTC+2 in June.
MONDAY = date(2026, 6, 1)
assert MONDAY.weekday() == 0


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(day: date, at: str, tz: str, fold: int = 0) -> datetime:
    """Aware local datetime for a wall-clock label like '09:30'."""
    hour, minute = map(int, at.split(":"))
    return datetime.combine(day, time(hour, minute), ZoneInfo(tz)).replace(fold=fold)


def labels(slots: list[datetime], tz: str) -> list[str]:
    """Wall-clock labels incl. offset, e.g. '02:30+0200', to tell folds apart."""
    return [s.astimezone(ZoneInfo(tz)).strftime("%H:%M%z") for s in slots]


def on_day(slots: list[datetime], day: date, tz: str) -> list[datetime]:
    return [s for s in slots if s.astimezone(ZoneInfo(tz)).date() == day]


def policy(tz: str = BERLIN, **kw) -> SchedulingPolicy:
    kw.setdefault("min_notice_minutes", 0)
    kw.setdefault("horizon_days", 30)
    return SchedulingPolicy(timezone=tz, **kw)


def day_slots(rules, day: date, tz: str = BERLIN, overrides=(), busy=(), duration: int = 30, **kw):
    """Slots on one local day, computed with 'now' two days before it."""
    now = local(day, "00:00", tz).astimezone(UTC) - timedelta(days=2)
    return on_day(free_slots(rules, list(overrides), list(busy), policy(tz, **kw), now, duration), day, tz)


# --------------------------------------------------------------------------- overlaps


def test_overlaps_is_half_open():
    a, b, c, d = utc(2026, 1, 1, 9), utc(2026, 1, 1, 10), utc(2026, 1, 1, 11), utc(2026, 1, 1, 12)
    assert overlaps(a, c, b, d)
    assert overlaps(b, d, a, c)
    assert overlaps(a, d, b, c)  # containment
    assert not overlaps(a, b, b, c)  # touching
    assert not overlaps(b, c, a, b)
    assert not overlaps(a, b, c, d)


# --------------------------------------------------------------------------- examples


def test_simple_weekly_rule_yields_aligned_utc_slots():
    rules = [WeeklyRule(0, time(9), time(12))]
    slots = day_slots(rules, MONDAY)
    assert slots == [utc(2026, 6, 1, 7) + timedelta(minutes=30 * i) for i in range(6)]
    assert all(s.tzinfo is UTC for s in slots)
    assert labels(slots, BERLIN) == ["09:00+0200", "09:30+0200", "10:00+0200", "10:30+0200", "11:00+0200", "11:30+0200"]


def test_rule_only_applies_to_its_weekday():
    now = utc(2026, 6, 1, 0)  # Monday
    slots = free_slots([WeeklyRule(2, time(9), time(10))], [], [], policy(horizon_days=14), now)
    local_days = {s.astimezone(ZoneInfo(BERLIN)).date() for s in slots}
    assert local_days == {date(2026, 6, 3), date(2026, 6, 10)}
    assert len(slots) == 4


def test_override_off_removes_the_day():
    rules = [WeeklyRule(0, time(9), time(12))]
    assert day_slots(rules, MONDAY, overrides=[DateOverride(MONDAY, "off")]) == []
    # Only that date: the next Monday is untouched.
    assert len(day_slots(rules, MONDAY + timedelta(days=7), overrides=[DateOverride(MONDAY, "off")])) == 6


def test_override_off_ignores_its_start_end():
    rules = [WeeklyRule(0, time(9), time(12))]
    off = DateOverride(MONDAY, "off", time(9), time(10))
    assert day_slots(rules, MONDAY, overrides=[off]) == []


def test_override_extra_adds_window_on_non_rule_day():
    tuesday = MONDAY + timedelta(days=1)
    extra = DateOverride(tuesday, "extra", time(14), time(15))
    slots = day_slots([WeeklyRule(0, time(9), time(12))], tuesday, overrides=[extra])
    assert labels(slots, BERLIN) == ["14:00+0200", "14:30+0200"]


def test_off_and_extra_same_day_keeps_only_extra():
    overrides = [DateOverride(MONDAY, "off"), DateOverride(MONDAY, "extra", time(18), time(19))]
    slots = day_slots([WeeklyRule(0, time(9), time(12))], MONDAY, overrides=overrides)
    assert labels(slots, BERLIN) == ["18:00+0200", "18:30+0200"]


def test_overlapping_windows_are_deduplicated_but_not_merged():
    rules = [
        WeeklyRule(0, time(9), time(10)),
        WeeklyRule(0, time(9), time(10)),
        WeeklyRule(0, time(9, 30), time(10, 30)),
    ]
    slots = day_slots(rules, MONDAY)
    assert labels(slots, BERLIN) == ["09:00+0200", "09:30+0200", "10:00+0200"]
    # A slot must fit inside ONE window: adjacent windows are not combined, so
    # 09:30-10:30 (straddling 9-10 and 10-11) is not offered.
    adjacent = [WeeklyRule(0, time(9), time(10)), WeeklyRule(0, time(10), time(11))]
    assert labels(day_slots(adjacent, MONDAY, duration=60), BERLIN) == ["09:00+0200", "10:00+0200"]


def test_busy_entry_excludes_overlapping_slots_only():
    busy = [Busy(utc(2026, 6, 1, 8, 15), utc(2026, 6, 1, 8, 45))]  # 10:15-10:45 local
    slots = day_slots([WeeklyRule(0, time(9), time(12))], MONDAY, busy=busy)
    assert labels(slots, BERLIN) == ["09:00+0200", "09:30+0200", "11:00+0200", "11:30+0200"]


def test_touching_busy_does_not_block_without_buffer():
    busy = [Busy(utc(2026, 6, 1, 8), utc(2026, 6, 1, 8, 30))]  # 10:00-10:30 local
    slots = day_slots([WeeklyRule(0, time(9), time(12))], MONDAY, busy=busy)
    assert labels(slots, BERLIN) == ["09:00+0200", "09:30+0200", "10:30+0200", "11:00+0200", "11:30+0200"]


def test_buffer_applies_before_and_after_busy():
    busy = [Busy(utc(2026, 6, 1, 8), utc(2026, 6, 1, 8, 30))]  # 10:00-10:30 local
    slots = day_slots([WeeklyRule(0, time(9), time(12))], MONDAY, busy=busy, buffer_minutes=15, step_minutes=15)
    # Blocked: anything overlapping 09:45-10:45.
    assert labels(slots, BERLIN) == ["09:00+0200", "09:15+0200", "10:45+0200", "11:00+0200", "11:15+0200", "11:30+0200"]


def test_busy_given_in_other_aware_zone_is_handled():
    start = local(MONDAY, "10:00", BERLIN)  # aware but not UTC
    busy = [Busy(start, start + timedelta(minutes=30))]
    slots = day_slots([WeeklyRule(0, time(9), time(12))], MONDAY, busy=busy)
    assert "10:00+0200" not in labels(slots, BERLIN)
    assert len(slots) == 5


def test_min_notice_boundary_is_inclusive():
    now = local(MONDAY, "08:00", BERLIN).astimezone(UTC)
    rules = [WeeklyRule(0, time(9), time(12))]
    slots = on_day(free_slots(rules, [], [], policy(min_notice_minutes=90), now), MONDAY, BERLIN)
    assert labels(slots, BERLIN)[0] == "09:30+0200"
    slots = on_day(free_slots(rules, [], [], policy(min_notice_minutes=91), now), MONDAY, BERLIN)
    assert labels(slots, BERLIN)[0] == "10:00+0200"


def test_min_notice_with_sub_second_now():
    now = local(MONDAY, "08:00", BERLIN).astimezone(UTC) + timedelta(microseconds=1)
    slots = free_slots([WeeklyRule(0, time(9), time(12))], [], [], policy(min_notice_minutes=60), now)
    # 09:00 is one microsecond too early.
    assert labels(slots, BERLIN)[0] == "09:30+0200"


def test_default_notice_is_twelve_hours():
    now = local(MONDAY, "00:00", BERLIN).astimezone(UTC)
    rules = [WeeklyRule(0, time(9), time(14))]
    slots = free_slots(rules, [], [], SchedulingPolicy(BERLIN), now)
    assert labels(slots, BERLIN)[0] == "12:00+0200"


def test_horizon_boundary_is_inclusive():
    now = local(MONDAY, "10:00", BERLIN).astimezone(UTC)
    rules = [WeeklyRule(0, time(9), time(12))]
    slots = free_slots(rules, [], [], policy(horizon_days=7), now)
    last_monday = on_day(slots, MONDAY + timedelta(days=7), BERLIN)
    assert labels(last_monday, BERLIN) == ["09:00+0200", "09:30+0200", "10:00+0200"]
    assert max(slots) == now + timedelta(days=7)


def test_horizon_zero_and_notice_beyond_horizon():
    now = local(MONDAY, "10:00", BERLIN).astimezone(UTC)
    rules = [WeeklyRule(0, time(9), time(12))]
    assert free_slots(rules, [], [], policy(horizon_days=0), now) == [now]
    assert free_slots(rules, [], [], policy(horizon_days=1, min_notice_minutes=2 * 24 * 60), now) == []


def test_daily_cap_blocks_a_full_day():
    rules = [WeeklyRule(0, time(9), time(12)), WeeklyRule(1, time(9), time(12))]
    busy = [
        Busy(utc(2026, 6, 1, 13), utc(2026, 6, 1, 13, 30)),
        Busy(utc(2026, 6, 1, 14), utc(2026, 6, 1, 14, 30)),
    ]
    assert day_slots(rules, MONDAY, busy=busy, max_per_day=2) == []
    assert len(day_slots(rules, MONDAY, busy=busy, max_per_day=3)) == 6
    assert len(day_slots(rules, MONDAY, busy=busy)) == 6  # None = unlimited
    # The cap is per day: Tuesday is unaffected.
    assert len(day_slots(rules, MONDAY + timedelta(days=1), busy=busy, max_per_day=2)) == 6


def test_daily_cap_ignores_non_counting_busy():
    rules = [WeeklyRule(0, time(9), time(12))]
    busy = [
        Busy(utc(2026, 6, 1, 13), utc(2026, 6, 1, 13, 30)),
        Busy(utc(2026, 6, 1, 14), utc(2026, 6, 1, 14, 30), counts_toward_daily_cap=False),
    ]
    assert len(day_slots(rules, MONDAY, busy=busy, max_per_day=2)) == 6
    assert day_slots(rules, MONDAY, busy=busy, max_per_day=1) == []


def test_daily_cap_uses_specialist_local_day():
    # 2026-05-31 22:30 UTC is already Monday 00:30 in Berlin.
    busy = [Busy(utc(2026, 5, 31, 22, 30), utc(2026, 5, 31, 23))]
    rules = [WeeklyRule(0, time(9), time(12)), WeeklyRule(6, time(9), time(12))]
    assert day_slots(rules, MONDAY, busy=busy, max_per_day=1) == []
    assert len(day_slots(rules, MONDAY - timedelta(days=1), busy=busy, max_per_day=1)) == 6


def test_max_per_day_zero_means_no_slots():
    assert day_slots([WeeklyRule(0, time(9), time(12))], MONDAY, max_per_day=0) == []


def test_step_alignment_from_window_start():
    slots = day_slots([WeeklyRule(0, time(9, 10), time(11))], MONDAY, step_minutes=20)
    assert labels(slots, BERLIN) == ["09:10+0200", "09:30+0200", "09:50+0200", "10:10+0200", "10:30+0200"]


def test_step_alignment_survives_min_notice_cut():
    now = local(MONDAY, "09:17", BERLIN).astimezone(UTC)
    slots = free_slots([WeeklyRule(0, time(9, 10), time(11))], [], [], policy(step_minutes=20), now)
    assert labels(on_day(slots, MONDAY, BERLIN), BERLIN) == ["09:30+0200", "09:50+0200", "10:10+0200", "10:30+0200"]


def test_longer_duration_and_small_step():
    slots = day_slots([WeeklyRule(0, time(9), time(11))], MONDAY, duration=50, step_minutes=15)
    assert labels(slots, BERLIN) == ["09:00+0200", "09:15+0200", "09:30+0200", "09:45+0200", "10:00+0200"]


def test_window_shorter_than_duration_yields_nothing():
    assert day_slots([WeeklyRule(0, time(9), time(9, 45))], MONDAY, duration=50) == []


def test_next_free_slot():
    rules = [WeeklyRule(0, time(9), time(12))]
    now = local(MONDAY, "09:40", BERLIN).astimezone(UTC)
    busy = [Busy(local(MONDAY, "10:00", BERLIN), local(MONDAY, "10:30", BERLIN))]
    assert next_free_slot(rules, [], busy, policy(), now) == local(MONDAY, "10:30", BERLIN)
    assert next_free_slot(rules, [], busy, policy(), now) == free_slots(rules, [], busy, policy(), now)[0]
    assert next_free_slot([], [], [], policy(), now) is None


def test_inputs_are_not_mutated_and_iterables_accepted():
    rules = (r for r in [WeeklyRule(0, time(9), time(10))])
    busy = iter([Busy(utc(2026, 6, 1, 7), utc(2026, 6, 1, 7, 30))])
    now = utc(2026, 5, 30)
    assert labels(free_slots(rules, iter(()), busy, policy(), now), BERLIN)[0] == "09:30+0200"


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "make",
    [
        lambda: WeeklyRule(0, time(12), time(9)),
        lambda: WeeklyRule(0, time(9), time(9)),
        lambda: WeeklyRule(7, time(9), time(10)),
        lambda: WeeklyRule(-1, time(9), time(10)),
        lambda: WeeklyRule(0, time(9, tzinfo=UTC), time(10, tzinfo=UTC)),
        lambda: DateOverride(MONDAY, "holiday"),
        lambda: DateOverride(MONDAY, "extra"),
        lambda: DateOverride(MONDAY, "extra", time(10), time(9)),
        lambda: Busy(datetime(2026, 6, 1, 9), datetime(2026, 6, 1, 10)),
        lambda: Busy(utc(2026, 6, 1, 10), utc(2026, 6, 1, 9)),
        lambda: SchedulingPolicy("Mars/Olympus_Mons"),
        lambda: SchedulingPolicy(""),
        lambda: SchedulingPolicy("Europe"),
        lambda: SchedulingPolicy("../etc/passwd"),
        lambda: SchedulingPolicy(BERLIN, step_minutes=0),
        lambda: SchedulingPolicy(BERLIN, buffer_minutes=-5),
        lambda: SchedulingPolicy(BERLIN, min_notice_minutes=-1),
        lambda: SchedulingPolicy(BERLIN, horizon_days=-1),
        lambda: SchedulingPolicy(BERLIN, max_per_day=-1),
    ],
)
def test_invalid_values_raise_value_error(make):
    with pytest.raises(ValueError):
        make()


def test_naive_now_raises():
    with pytest.raises(ValueError):
        free_slots([WeeklyRule(0, time(9), time(10))], [], [], policy(), datetime(2026, 6, 1))
    with pytest.raises(ValueError):
        next_free_slot([], [], [], policy(), datetime(2026, 6, 1))


@pytest.mark.parametrize("duration", [0, -30])
def test_non_positive_duration_raises(duration):
    with pytest.raises(ValueError):
        free_slots([], [], [], policy(), utc(2026, 6, 1), duration)


# --------------------------------------------------------------------------- DST


BERLIN_SPRING = date(2026, 3, 29)  # 02:00 -> 03:00
BERLIN_FALL = date(2026, 10, 25)  # 03:00 -> 02:00
NY_SPRING = date(2026, 3, 8)  # 02:00 -> 03:00
NY_FALL = date(2026, 11, 1)  # 02:00 -> 01:00


def rule_on(day: date, start: str, end: str) -> WeeklyRule:
    sh, sm = map(int, start.split(":"))
    eh, em = map(int, end.split(":"))
    return WeeklyRule(day.weekday(), time(sh, sm), time(eh, em))


@pytest.mark.parametrize(
    ("tz", "day", "expected"),
    [
        (BERLIN, BERLIN_SPRING, ["09:00+0200", "09:30+0200", "10:00+0200", "10:30+0200", "11:00+0200", "11:30+0200"]),
        (BERLIN, BERLIN_FALL, ["09:00+0100", "09:30+0100", "10:00+0100", "10:30+0100", "11:00+0100", "11:30+0100"]),
        (NEW_YORK, NY_SPRING, ["09:00-0400", "09:30-0400", "10:00-0400", "10:30-0400", "11:00-0400", "11:30-0400"]),
        (NEW_YORK, NY_FALL, ["09:00-0500", "09:30-0500", "10:00-0500", "10:30-0500", "11:00-0500", "11:30-0500"]),
    ],
)
def test_morning_rule_on_dst_days_keeps_wall_clock(tz, day, expected):
    assert labels(day_slots([rule_on(day, "09:00", "12:00")], day, tz), tz) == expected


@pytest.mark.parametrize(
    ("tz", "day", "expected"),
    [
        (BERLIN, BERLIN_SPRING, ["00:00+0100", "00:30+0100", "01:00+0100", "01:30+0100", "03:00+0200", "03:30+0200"]),
        (NEW_YORK, NY_SPRING, ["00:00-0500", "00:30-0500", "01:00-0500", "01:30-0500", "03:00-0400", "03:30-0400"]),
    ],
)
def test_spring_forward_gap_produces_no_slots(tz, day, expected):
    slots = day_slots([rule_on(day, "00:00", "04:00")], day, tz)
    assert labels(slots, tz) == expected
    # 00:00-04:00 wall clock is only 3 real hours: 6 back-to-back half hours.
    assert [b - a for a, b in zip(slots, slots[1:])] == [timedelta(minutes=30)] * 5
    assert slots[-1] + timedelta(minutes=30) - slots[0] == timedelta(hours=3)


@pytest.mark.parametrize(
    ("tz", "day", "expected"),
    [
        (
            BERLIN,
            BERLIN_FALL,
            [
                "00:00+0200",
                "00:30+0200",
                "01:00+0200",
                "01:30+0200",
                "02:00+0200",
                "02:30+0200",
                "02:00+0100",
                "02:30+0100",
                "03:00+0100",
                "03:30+0100",
            ],
        ),
        (
            NEW_YORK,
            NY_FALL,
            [
                "00:00-0400",
                "00:30-0400",
                "01:00-0400",
                "01:30-0400",
                "01:00-0500",
                "01:30-0500",
                "02:00-0500",
                "02:30-0500",
                "03:00-0500",
                "03:30-0500",
            ],
        ),
    ],
)
def test_fall_back_repeated_hour_is_real_time(tz, day, expected):
    slots = day_slots([rule_on(day, "00:00", "04:00")], day, tz)
    assert labels(slots, tz) == expected
    # 5 real hours, no duplicate instants, no lost time.
    assert len(set(slots)) == 10
    assert [b - a for a, b in zip(slots, slots[1:])] == [timedelta(minutes=30)] * 9


def test_fall_back_long_slot_may_cross_the_transition():
    slots = day_slots([rule_on(BERLIN_FALL, "00:00", "04:00")], BERLIN_FALL, BERLIN, duration=60)
    assert labels(slots, BERLIN) == [
        "00:00+0200",
        "00:30+0200",
        "01:00+0200",
        "01:30+0200",
        "02:00+0200",
        "02:30+0200",
        "02:00+0100",
        "02:30+0100",
        "03:00+0100",
    ]
    crossing = slots[5]  # 02:30 CEST -> 02:30 CET: one real hour
    assert crossing == utc(2026, 10, 25, 0, 30)


def test_spring_forward_long_slot_spans_the_gap_with_real_duration():
    slots = day_slots([rule_on(BERLIN_SPRING, "00:00", "04:00")], BERLIN_SPRING, BERLIN, duration=60)
    assert labels(slots, BERLIN) == ["00:00+0100", "00:30+0100", "01:00+0100", "01:30+0100", "03:00+0200"]
    # 01:30 CET + 60 real minutes = 03:30 CEST, still inside the window.
    assert slots[3] == utc(2026, 3, 29, 0, 30)


def test_window_starting_inside_the_gap_starts_at_the_transition():
    slots = day_slots([rule_on(BERLIN_SPRING, "02:30", "05:00")], BERLIN_SPRING, BERLIN)
    assert labels(slots, BERLIN) == ["03:00+0200", "03:30+0200", "04:00+0200", "04:30+0200"]


def test_window_ending_inside_the_gap_ends_at_the_transition():
    slots = day_slots([rule_on(NY_SPRING, "00:00", "02:30")], NY_SPRING, NEW_YORK)
    assert labels(slots, NEW_YORK) == ["00:00-0500", "00:30-0500", "01:00-0500", "01:30-0500"]


def test_window_ending_inside_repeated_hour_is_two_pieces():
    tz = BERLIN
    slots = day_slots([rule_on(BERLIN_FALL, "00:00", "02:30")], BERLIN_FALL, tz)
    assert labels(slots, tz) == ["00:00+0200", "00:30+0200", "01:00+0200", "01:30+0200", "02:00+0200", "02:00+0100"]
    # A 60-minute slot from 02:00 CEST would show 02:30-03:00 CEST (outside the window).
    long = day_slots([rule_on(BERLIN_FALL, "00:00", "02:30")], BERLIN_FALL, tz, duration=60)
    assert labels(long, tz) == ["00:00+0200", "00:30+0200", "01:00+0200", "01:30+0200"]


def test_window_starting_inside_repeated_hour():
    slots = day_slots([rule_on(NY_FALL, "01:30", "03:00")], NY_FALL, NEW_YORK)
    assert labels(slots, NEW_YORK) == ["01:30-0400", "01:30-0500", "02:00-0500", "02:30-0500"]


def test_lord_howe_half_hour_dst():
    tz = "Australia/Lord_Howe"  # 2026-10-04: 02:00 +10:30 -> 02:30 +11:00
    day = date(2026, 10, 4)
    slots = day_slots([rule_on(day, "01:00", "04:00")], day, tz)
    assert labels(slots, tz) == ["01:00+1030", "01:30+1030", "02:30+1100", "03:00+1100", "03:30+1100"]


def test_busy_spanning_the_gap():
    busy = [Busy(local(BERLIN_SPRING, "01:30", BERLIN), local(BERLIN_SPRING, "03:30", BERLIN))]  # 1 real hour
    slots = day_slots([rule_on(BERLIN_SPRING, "00:00", "04:00")], BERLIN_SPRING, BERLIN, busy=busy)
    assert labels(slots, BERLIN) == ["00:00+0100", "00:30+0100", "01:00+0100", "03:30+0200"]


# --------------------------------------------------------------------------- performance


def test_thirty_day_horizon_is_fast():
    import random

    rng = random.Random(7)
    rules = [WeeklyRule(i % 7, time(7 + i % 5), time(12 + i % 8)) for i in range(20)]
    now = utc(2026, 3, 10, 6)
    busy = []
    for _ in range(200):
        start = now + timedelta(minutes=30 * rng.randrange(30 * 48))
        busy.append(Busy(start, start + timedelta(minutes=rng.choice((30, 50, 60)))))
    pol = SchedulingPolicy(BERLIN, buffer_minutes=10, max_per_day=8)
    free_slots(rules, [], busy, pol, now)  # warm zoneinfo caches
    best = float("inf")
    for _ in range(5):
        t0 = clock.perf_counter()
        result = free_slots(rules, [], busy, pol, now)
        best = min(best, clock.perf_counter() - t0)
    assert result
    # Typically ~3 ms; generous bound so slow CI machines do not flake.
    assert best < 0.05, f"free_slots took {best * 1000:.1f} ms"


# --------------------------------------------------------------------------- properties

ZONES = [
    BERLIN,
    NEW_YORK,
    "Asia/Tokyo",
    "Asia/Kolkata",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "UTC",
]


def transitions_2026(tz_name: str) -> list[datetime]:
    """UTC hours in 2026 at which the zone's offset has just changed (hourly scan)."""
    tz = ZoneInfo(tz_name)
    found, t = [], utc(2026, 1, 1)
    previous = t.astimezone(tz).utcoffset()
    while t.year == 2026:
        t += timedelta(hours=1)
        offset = t.astimezone(tz).utcoffset()
        if offset != previous:
            found.append(t)
            previous = offset
    return found


DST_ANCHORS = {zone: transitions_2026(zone) for zone in ZONES}
assert all(len(DST_ANCHORS[z]) == 2 for z in (BERLIN, NEW_YORK, "Australia/Lord_Howe", "Pacific/Chatham"))


def minute_time(m: int) -> time:
    return time(m // 60, m % 60)


@st.composite
def windows(draw) -> tuple[time, time]:
    # Half the windows start in the small hours, where DST transitions happen.
    start = draw(st.one_of(st.integers(0, 4 * 60), st.integers(0, 23 * 60 + 58)))
    length = draw(st.integers(1, min(23 * 60 + 59 - start, 8 * 60)))
    return minute_time(start), minute_time(start + length)


@st.composite
def scenarios(draw):
    tz = draw(st.sampled_from(ZONES))
    horizon_days = draw(st.sampled_from([1, 2, 3, 4, 4, 0]))
    notice = draw(st.sampled_from([0, 0, 30, 90, 720, 1500]).filter(lambda n: n <= horizon_days * 1440))
    anywhere = st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC))
    # Mostly: place one of this zone's DST transitions inside [now + notice, now + horizon].
    lead = st.integers(min(notice, horizon_days * 1440), max(notice, horizon_days * 1440))
    anchor = draw(st.sampled_from(DST_ANCHORS[tz] or [utc(2026, 3, 29)]))
    near_dst = st.builds(
        lambda minutes, micro: anchor - timedelta(minutes=minutes, microseconds=micro),
        lead,
        st.sampled_from([0, 0, 0, 1, 999_999]),
    )
    now = draw(near_dst if draw(st.sampled_from([True, True, True, False])) else anywhere)
    pol = SchedulingPolicy(
        timezone=tz,
        buffer_minutes=draw(st.sampled_from([0, 0, 5, 10, 15, 30])),
        min_notice_minutes=notice,
        horizon_days=horizon_days,
        max_per_day=draw(st.sampled_from([None, None, None, 1, 2, 3, 0])),
        step_minutes=draw(st.sampled_from([10, 15, 20, 30, 45, 60])),
    )
    duration = draw(st.sampled_from([15, 20, 30, 45, 50, 60, 90]))
    rules = draw(
        st.lists(st.builds(lambda wd, w: WeeklyRule(wd, *w), st.integers(0, 6), windows()), min_size=1, max_size=8)
    )
    # A night window on the transition's weekday so the gap/fold is actually exercised.
    night = st.builds(lambda a, b: (minute_time(a), minute_time(a + b)), st.integers(0, 4 * 60), st.integers(1, 5 * 60))
    if draw(st.booleans()):
        rules.append(WeeklyRule(anchor.astimezone(ZoneInfo(tz)).weekday(), *draw(night)))
    base_day = now.astimezone(ZoneInfo(tz)).date()
    override = st.builds(
        lambda offset, kind, w: DateOverride(
            base_day + timedelta(days=offset), kind, *(w if kind == "extra" else (None, None))
        ),
        st.integers(-1, 5),
        st.sampled_from(["off", "extra"]),
        windows(),
    )
    overrides = draw(st.lists(override, max_size=4))
    busy_item = st.builds(
        lambda offset, length, counts: Busy(
            now + timedelta(minutes=offset), now + timedelta(minutes=offset + length), counts
        ),
        st.integers(-600, (pol.horizon_days + 1) * 24 * 60),
        st.integers(15, 120),
        st.booleans(),
    )
    busy = draw(st.lists(busy_item, max_size=12))
    return rules, overrides, busy, pol, now, duration


def effective_windows(rules, overrides, day: date) -> list[tuple[time, time]]:
    """Independent restatement of the availability rule."""
    found = [(o.start, o.end) for o in overrides if o.day == day and o.kind == "extra"]
    if not any(o.day == day and o.kind == "off" for o in overrides):
        found += [(r.start, r.end) for r in rules if r.weekday == day.weekday()]
    return found


def inside_window(slot: datetime, duration: int, tz: ZoneInfo, day: date, start: time, end: time) -> bool:
    """Every real instant of [slot, slot+duration) reads day/[start, end) on the local clock.

    All inputs are whole minutes and tz transitions are on whole minutes, so
    the local clock is linear between the checked points: both ends plus
    both sides of any offset change inside the slot.
    """
    stop = slot + timedelta(minutes=duration)
    eps = timedelta(microseconds=1)
    points = [slot, stop - eps]
    if slot.astimezone(tz).utcoffset() != (stop - eps).astimezone(tz).utcoffset():
        t = slot
        while t.astimezone(tz).utcoffset() == slot.astimezone(tz).utcoffset():
            t += timedelta(minutes=1)
        points += [t - eps, t]
    for p in points:
        wall = p.astimezone(tz)
        if wall.date() != day or not start <= wall.time().replace(tzinfo=None) < end:
            return False
    return True


def daily_counts(busy, tz: ZoneInfo) -> dict[date, int]:
    counts: dict[date, int] = {}
    for b in busy:
        if b.counts_toward_daily_cap:
            d = b.start_utc.astimezone(tz).date()
            counts[d] = counts.get(d, 0) + 1
    return counts


def brute_force(rules, overrides, busy, pol: SchedulingPolicy, now: datetime, duration: int) -> set[datetime]:
    """Oracle: enumerate the wall-clock grid (both folds), keep valid instants, check every rule."""
    tz = ZoneInfo(pol.timezone)
    earliest = now + timedelta(minutes=pol.min_notice_minutes)
    latest = now + timedelta(days=pol.horizon_days)
    counts = daily_counts(busy, tz)
    result: set[datetime] = set()
    day = earliest.astimezone(tz).date() - timedelta(days=1)
    while day <= latest.astimezone(tz).date() + timedelta(days=1):
        for start, end in effective_windows(rules, overrides, day):
            wall = datetime.combine(day, start)
            while wall < datetime.combine(day, end):
                for fold in (0, 1):
                    candidate = wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
                    if candidate.astimezone(tz).replace(tzinfo=None) != wall:
                        continue  # nonexistent wall-clock time
                    stop = candidate + timedelta(minutes=duration)
                    if not earliest <= candidate <= latest:
                        continue
                    if not inside_window(candidate, duration, tz, day, start, end):
                        continue
                    if any(
                        overlaps(
                            candidate,
                            stop,
                            b.start_utc - timedelta(minutes=pol.buffer_minutes),
                            b.end_utc + timedelta(minutes=pol.buffer_minutes),
                        )
                        for b in busy
                    ):
                        continue
                    if pol.max_per_day is not None and counts.get(day, 0) >= pol.max_per_day:
                        continue
                    result.add(candidate)
                wall += timedelta(minutes=pol.step_minutes)
        day += timedelta(days=1)
    return result


PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(scenarios())
def test_property_invariants(scenario):
    rules, overrides, busy, pol, now, duration = scenario
    tz = ZoneInfo(pol.timezone)
    slots = free_slots(rules, overrides, busy, pol, now, duration)
    buffer = timedelta(minutes=pol.buffer_minutes)
    counts = daily_counts(busy, tz)

    assert slots == sorted(set(slots)), "sorted and unique"
    for s in slots:
        assert s.tzinfo is UTC
        stop = s + timedelta(minutes=duration)
        assert s >= now + timedelta(minutes=pol.min_notice_minutes)
        assert s <= now + timedelta(days=pol.horizon_days)
        assert not any(overlaps(s, stop, b.start_utc - buffer, b.end_utc + buffer) for b in busy)
        day = s.astimezone(tz).date()
        assert any(inside_window(s, duration, tz, day, a, b) for a, b in effective_windows(rules, overrides, day))
        if pol.max_per_day is not None:
            assert counts.get(day, 0) < pol.max_per_day
    assert next_free_slot(rules, overrides, busy, pol, now, duration) == (slots[0] if slots else None)
    # The one-slot check of a booking agrees with the whole list: every slot is free, and so is
    # nothing next to one (15 minutes off the grid, or a busy start).
    taken = set(slots)
    for s in slots[:40]:
        assert is_free_slot(rules, overrides, busy, pol, now, s, duration)
        for other in (s + timedelta(minutes=15), s - timedelta(minutes=pol.step_minutes), s + timedelta(days=1)):
            assert is_free_slot(rules, overrides, busy, pol, now, other, duration) == (other in taken)
    for b in busy:
        assert is_free_slot(rules, overrides, busy, pol, now, b.start_utc, duration) == (b.start_utc in taken)


@PROPERTY_SETTINGS
@given(scenarios())
def test_property_matches_brute_force_oracle(scenario):
    rules, overrides, busy, pol, now, duration = scenario
    assert free_slots(rules, overrides, busy, pol, now, duration) == sorted(
        brute_force(rules, overrides, busy, pol, now, duration)
    )


# --------------------------------------------------------------------------- occupied blocks


def test_blocks_aligned_booking_without_buffer():
    assert occupied_block_starts(utc(2026, 6, 1, 10), utc(2026, 6, 1, 10, 30), 0) == [
        utc(2026, 6, 1, 10),
        utc(2026, 6, 1, 10, 15),
    ]


def test_blocks_include_buffer_after():
    assert occupied_block_starts(utc(2026, 6, 1, 10), utc(2026, 6, 1, 10, 30), 15) == [
        utc(2026, 6, 1, 10),
        utc(2026, 6, 1, 10, 15),
        utc(2026, 6, 1, 10, 30),
    ]


def test_blocks_round_partial_edges_outward():
    blocks = occupied_block_starts(utc(2026, 6, 1, 10, 5, 30), utc(2026, 6, 1, 10, 35), 0)
    assert blocks == [utc(2026, 6, 1, 10), utc(2026, 6, 1, 10, 15), utc(2026, 6, 1, 10, 30)]
    # Buffer ending one microsecond into a block still claims it.
    blocks = occupied_block_starts(utc(2026, 6, 1, 10), utc(2026, 6, 1, 10, 29, 59, 999_999), 0, 30)
    assert blocks == [utc(2026, 6, 1, 10)]
    blocks = occupied_block_starts(utc(2026, 6, 1, 10), utc(2026, 6, 1, 10, 30, 0, 1), 0, 30)
    assert blocks == [utc(2026, 6, 1, 10), utc(2026, 6, 1, 10, 30)]


def test_blocks_cross_midnight_and_accept_other_zones():
    start = datetime(2026, 6, 1, 1, 50, tzinfo=ZoneInfo(BERLIN))  # 23:50 UTC the day before
    blocks = occupied_block_starts(start, start + timedelta(minutes=30), 0)
    assert blocks == [utc(2026, 5, 31, 23, 45), utc(2026, 6, 1, 0), utc(2026, 6, 1, 0, 15)]
    assert all(b.tzinfo is UTC and b.second == 0 and b.microsecond == 0 and b.minute % 15 == 0 for b in blocks)


def test_blocks_other_block_size():
    assert occupied_block_starts(utc(2026, 6, 1, 10, 10), utc(2026, 6, 1, 11), 10, block_minutes=30) == [
        utc(2026, 6, 1, 10),
        utc(2026, 6, 1, 10, 30),
        utc(2026, 6, 1, 11),
    ]


@pytest.mark.parametrize(
    "args",
    [
        (datetime(2026, 6, 1, 10), utc(2026, 6, 1, 11), 0),
        (utc(2026, 6, 1, 11), utc(2026, 6, 1, 10), 0),
        (utc(2026, 6, 1, 10), utc(2026, 6, 1, 10), 0),
        (utc(2026, 6, 1, 10), utc(2026, 6, 1, 11), -5),
    ],
)
def test_blocks_invalid_input(args):
    with pytest.raises(ValueError):
        occupied_block_starts(*args)


@pytest.mark.parametrize("block", [0, 7, 45])
def test_blocks_invalid_block_size(block):
    with pytest.raises(ValueError):
        occupied_block_starts(utc(2026, 6, 1, 10), utc(2026, 6, 1, 11), 0, block)


quarter_hours = st.integers(0, 4 * 24).map(lambda q: utc(2026, 6, 1) + timedelta(minutes=15 * q))
aligned_booking = st.tuples(quarter_hours, st.sampled_from([15, 30, 45, 60, 90]))


@settings(max_examples=200, deadline=None)
@given(aligned_booking, aligned_booking, st.sampled_from([0, 15, 30]))
def test_property_blocks_collide_iff_bookings_conflict(a, b, buffer):
    """For quarter-hour data the unique constraint is exactly the slot engine's buffer rule."""
    (a_start, a_len), (b_start, b_len) = a, b
    a_end, b_end = a_start + timedelta(minutes=a_len), b_start + timedelta(minutes=b_len)
    buf = timedelta(minutes=buffer)
    collide = bool(
        set(occupied_block_starts(a_start, a_end, buffer)) & set(occupied_block_starts(b_start, b_end, buffer))
    )
    assert collide == overlaps(a_start, a_end, b_start - buf, b_end + buf)


any_instant = st.integers(0, 3 * 24 * 60 * 60).map(lambda s: utc(2026, 6, 1) + timedelta(seconds=s))


@settings(max_examples=200, deadline=None)
@given(
    any_instant,
    st.integers(1, 240),
    any_instant,
    st.integers(1, 240),
    st.integers(0, 40),
    st.sampled_from([5, 15, 30, 60]),
)
def test_property_blocks_never_miss_a_conflict(a_start, a_len, b_start, b_len, buffer, block):
    a_end, b_end = a_start + timedelta(minutes=a_len), b_start + timedelta(minutes=b_len)
    buf = timedelta(minutes=buffer)
    blocks_a = occupied_block_starts(a_start, a_end, buffer, block)
    assert blocks_a == sorted(set(blocks_a))
    assert blocks_a[0] <= a_start < blocks_a[0] + timedelta(minutes=block)
    assert blocks_a[-1] < a_end + buf <= blocks_a[-1] + timedelta(minutes=block)
    if overlaps(a_start, a_end, b_start - buf, b_end + buf):
        assert set(blocks_a) & set(occupied_block_starts(b_start, b_end, buffer, block))


# --------------------------------------------------------------------------- grouping


def test_group_by_local_day_tokyo_crosses_utc_date():
    slots = [utc(2026, 6, 1, 16), utc(2026, 6, 1, 14, 30), utc(2026, 6, 1, 13), utc(2026, 6, 2, 1)]
    grouped = group_by_local_day(slots, "Asia/Tokyo")
    assert list(grouped) == [date(2026, 6, 1), date(2026, 6, 2)]
    assert [d.strftime("%H:%M") for d in grouped[date(2026, 6, 1)]] == ["22:00", "23:30"]
    # 16:00 UTC on June 1 is already June 2 in Tokyo, grouped with 01:00 UTC June 2.
    assert [d.strftime("%H:%M") for d in grouped[date(2026, 6, 2)]] == ["01:00", "10:00"]
    for values in grouped.values():
        for value in values:
            assert value.tzinfo == ZoneInfo("Asia/Tokyo")
            assert value.utcoffset() == timedelta(hours=9)
    assert sorted(v for vs in grouped.values() for v in vs) == sorted(slots)


def test_group_by_local_day_orders_repeated_hour_by_real_time():
    slots = [utc(2026, 10, 25, 1), utc(2026, 10, 25, 0, 30)]  # 02:00 CET, 02:30 CEST
    grouped = group_by_local_day(slots, BERLIN)
    assert [v.strftime("%H:%M%z") for v in grouped[BERLIN_FALL]] == ["02:30+0200", "02:00+0100"]


def test_group_by_local_day_empty_and_invalid():
    assert group_by_local_day([], BERLIN) == {}
    with pytest.raises(ValueError):
        group_by_local_day([utc(2026, 6, 1)], "Nowhere/Land")
    with pytest.raises(ValueError):
        group_by_local_day([datetime(2026, 6, 1)], BERLIN)
