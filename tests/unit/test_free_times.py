"""The directory's time-of-day filter as bits (scheduling.free_times): the free times a snapshot
stores, and the viewer's chosen times of day as UTC half-hours in their zone — a zone with
daylight saving time, a half-hour offset, a quarter-hour offset."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marketplace.scheduling.free_times import (
    FREE_TIMES_WINDOW,
    bucket_of,
    filter_bits,
    free_time_bits,
    zone_offsets,
)
from marketplace.scheduling.weeks import TimeFilter

MON, SAT, SUN = 0, 5, 6
WINTER = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)  # no DST change in Europe in the next four weeks
SUMMER = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
BEFORE_SPRING = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # Europe moves its clocks on 29 March


def halfhours(bits: int) -> list[str]:
    """The half-hours of one day's bits as "HH:MM" (UTC)."""
    return [f"{k // 2:02d}:{30 * (k % 2):02d}" for k in range(48) if bits >> k & 1]


def span(first: str, last: str) -> list[str]:
    """Every half-hour from ``first`` to ``last`` (inclusive), as ``halfhours`` writes them."""
    start = int(first[:2]) * 2 + int(first[3:]) // 30
    end = int(last[:2]) * 2 + int(last[3:]) // 30
    return [f"{k // 2:02d}:{30 * (k % 2):02d}" for k in range(start, end + 1)]


def evening(*extra: str) -> TimeFilter:
    return TimeFilter.from_values(["evening", *extra])


def test_free_time_bits_mark_the_utc_half_hour_each_slot_starts_in():
    now = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)  # a Monday
    slots = [now + timedelta(hours=9), now + timedelta(hours=9, minutes=30),  # Monday 09:00, 09:30 UTC
             now + timedelta(days=5, hours=18, minutes=15)]  # Saturday 18:15 UTC (a quarter-hour zone's slot)
    bits = free_time_bits(slots, now)
    assert halfhours(bits[MON]) == ["09:00", "09:30"]
    assert halfhours(bits[SAT]) == ["18:00"]
    assert [day for day, value in enumerate(bits) if value] == [MON, SAT]
    assert bucket_of(slots[2]) == (SAT, 36)


def test_free_time_bits_count_only_the_next_four_weeks():
    now = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
    late = now + FREE_TIMES_WINDOW + timedelta(hours=10)  # a Monday, beyond the window
    assert free_time_bits([late], now) == (0,) * 7
    assert free_time_bits([], now) == (0,) * 7


def test_utc_viewer_evening_is_17_to_midnight_utc_every_day():
    bits = filter_bits(evening(), "UTC", WINTER)
    assert all(halfhours(day) == span("17:00", "23:30") for day in bits)


def test_no_chip_means_every_time():
    assert filter_bits(TimeFilter(), "Europe/Berlin", WINTER) == ((1 << 48) - 1,) * 7


def test_weekend_narrows_to_the_viewers_saturday_and_sunday():
    bits = filter_bits(TimeFilter.from_values(["weekend"]), "UTC", WINTER)
    assert [day for day, value in enumerate(bits) if value] == [SAT, SUN]
    assert halfhours(bits[SAT]) == span("00:00", "23:30")


def test_a_dst_zone_follows_the_season():
    """Europe/Berlin: evening from 17:00 is 16:00 UTC in winter (+01:00), 15:00 UTC in summer (+02:00)."""
    winter = filter_bits(evening(), "Europe/Berlin", WINTER)
    summer = filter_bits(evening(), "Europe/Berlin", SUMMER)
    # Monday evening (17:00–24:00 local) is Monday 16:00–23:00 UTC (23:00 UTC is Tuesday morning there).
    assert halfhours(winter[MON]) == span("16:00", "22:30")
    assert halfhours(summer[MON]) == span("15:00", "21:30")


def test_across_a_dst_change_both_offsets_count():
    """Within four weeks of the spring change both offsets occur: a time may count, never be missed."""
    assert zone_offsets("Europe/Berlin", BEFORE_SPRING) == {timedelta(hours=1), timedelta(hours=2)}
    assert halfhours(filter_bits(evening(), "Europe/Berlin", BEFORE_SPRING)[MON]) == span("15:00", "22:30")
    assert zone_offsets("Europe/Berlin", WINTER) == {timedelta(hours=1)}


def test_a_half_hour_zone_is_exact_on_half_hours():
    """Asia/Kolkata (+05:30): evening from 17:00 local is 11:30 UTC; until midnight, 18:30 UTC. The
    UTC half-hour 11:00–11:30 (16:30–17:00 local) is afternoon, not evening."""
    bits = filter_bits(evening(), "Asia/Kolkata", WINTER)
    assert halfhours(bits[MON]) == span("11:30", "18:00")
    afternoon = filter_bits(TimeFilter.from_values(["afternoon"]), "Asia/Kolkata", WINTER)
    assert halfhours(afternoon[MON]) == span("06:30", "11:00")
    morning = filter_bits(TimeFilter.from_values(["morning"]), "Asia/Kolkata", WINTER)
    # Morning (00:00–12:00 local) is 18:30 UTC the day before to 06:30 UTC.
    assert halfhours(morning[MON]) == [*span("00:00", "06:00"), *span("18:30", "23:30")]


def test_weekend_in_a_zone_ahead_of_utc_starts_on_friday_utc():
    """Saturday 00:00 in Kolkata is Friday 18:30 UTC: weekend evenings are Saturday and Sunday
    11:30–18:30 UTC; weekend mornings begin on Friday (UTC)."""
    evenings = filter_bits(evening("weekend"), "Asia/Kolkata", WINTER)
    assert [day for day, value in enumerate(evenings) if value] == [SAT, SUN]
    assert halfhours(evenings[SAT]) == span("11:30", "18:00")
    mornings = filter_bits(TimeFilter.from_values(["morning", "weekend"]), "Asia/Kolkata", WINTER)
    assert [day for day, value in enumerate(mornings) if value] == [4, SAT, SUN]
    assert halfhours(mornings[4]) == span("18:30", "23:30")


def test_a_quarter_hour_zone_counts_a_border_half_hour_for_both_parts():
    """Asia/Kathmandu (+05:45): the UTC half-hour 11:00–11:30 is 16:45–17:15 local, both parts."""
    evening_bits = filter_bits(evening(), "Asia/Kathmandu", WINTER)[MON]
    afternoon_bits = filter_bits(TimeFilter.from_values(["afternoon"]), "Asia/Kathmandu", WINTER)[MON]
    assert "11:00" in halfhours(evening_bits) and "11:00" in halfhours(afternoon_bits)
    assert halfhours(evening_bits)[0] == "11:00" and halfhours(afternoon_bits)[-1] == "11:00"


def test_a_snapshot_matches_the_viewer_filter_by_a_shared_bit():
    """What SQL tests (``column & mask != 0``), here in Python: a Berlin specialist's 18:00 slot is
    evening for a Berlin viewer, morning (02:00) for a Tokyo viewer."""
    now = WINTER
    slot = datetime(2026, 1, 14, 17, 0, tzinfo=UTC)  # Wednesday 18:00 in Berlin, Thursday 02:00 in Tokyo
    stored = free_time_bits([slot], now)

    def matches(values: list[str], tz: str) -> bool:
        return any(a & b for a, b in zip(stored, filter_bits(TimeFilter.from_values(values), tz, now), strict=True))

    assert matches(["evening"], "Europe/Berlin") and not matches(["morning"], "Europe/Berlin")
    assert matches(["morning"], "Asia/Tokyo") and not matches(["evening"], "Asia/Tokyo")
    assert not matches(["evening", "weekend"], "Europe/Berlin")


def test_the_summary_reads_like_the_chips():
    assert TimeFilter.from_values(["evening"]).summary == "evenings"
    assert TimeFilter.from_values(["evening", "morning"]).summary == "mornings or evenings"
    assert TimeFilter.from_values(["weekend"]).summary == "weekends"
    assert TimeFilter.from_values(["weekend", "evening"]).summary == "weekend evenings"
    assert TimeFilter().summary == ""
