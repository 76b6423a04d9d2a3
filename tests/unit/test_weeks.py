"""The slot picker's week (marketplace.scheduling.weeks): pure, with a fixed "now"."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from marketplace.scheduling.weeks import (
    TimeFilter,
    WeekQuery,
    day_part,
    parse_week,
    slot_kind,
    slot_week,
    week_label,
)

BERLIN, TOKYO = "Europe/Berlin", "Asia/Tokyo"
NOW = datetime(2026, 6, 3, 8, 0, tzinfo=UTC)  # Wednesday 3 June 2026
THIS_MONDAY = date(2026, 6, 1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at(day: date, hour: int, minute: int = 0, tz: str = BERLIN) -> datetime:
    """The UTC instant of a wall-clock time in ``tz``."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def week_of_slots(*days_hours: tuple[date, int]) -> list[datetime]:
    return sorted(at(day, hour) for day, hour in days_hours)


def shown(week) -> list[datetime]:  # type: ignore[no-untyped-def]
    return [c.at.astimezone(UTC) for cs in week.days.values() for c in cs if c.shown]


# --- parts of the day, filters, week numbers ---------------------------------------------------

@pytest.mark.parametrize(("hour", "minute", "part"), [
    (0, 0, "morning"), (11, 30, "morning"), (12, 0, "afternoon"), (16, 30, "afternoon"), (17, 0, "evening"),
    (23, 30, "evening")])
def test_parts_of_the_day(hour, minute, part):
    assert day_part(datetime(2026, 6, 3, hour, minute, tzinfo=ZoneInfo(BERLIN))) == part


def test_the_kind_is_the_viewers_part_of_the_day_and_weekend():
    instant = utc(2026, 6, 5, 23, 30)  # Friday evening in UTC …
    assert slot_kind(instant.astimezone(ZoneInfo("UTC"))) == "evening"
    assert slot_kind(instant.astimezone(ZoneInfo(TOKYO))) == "morning-weekend"  # … Saturday 08:30 in Tokyo


def test_filters_combine_parts_as_alternatives_and_the_weekend_as_a_narrowing():
    f = TimeFilter.from_values(["evening", "morning", "weekend"])
    assert f.values == ["morning", "evening", "weekend"] and f.active
    assert f.matches_kind("morning-weekend") and f.matches_kind("evening-weekend")
    assert not f.matches_kind("morning") and not f.matches_kind("afternoon-weekend")
    weekend_only = TimeFilter.from_values(["weekend"])
    assert weekend_only.matches_kind("afternoon-weekend") and not weekend_only.matches_kind("afternoon")
    assert TimeFilter.from_values([]).matches_kind("afternoon") and not TimeFilter().active


def test_unknown_filter_values_are_ignored():
    assert TimeFilter.from_values(["night", "MORNING", "", "evening" * 100]) == TimeFilter()
    assert TimeFilter.from_values(["x"] * 50 + ["morning"]) == TimeFilter()  # only the first few are read


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-06-03", THIS_MONDAY), ("2026-06-07", THIS_MONDAY), ("2026-06-08", date(2026, 6, 8)),
    ("0", THIS_MONDAY), ("2", date(2026, 6, 15)), ("104", THIS_MONDAY + timedelta(weeks=104)),
    ("105", None), ("-1", None), ("+1", None), ("1.5", None), ("٣", None), ("", None), (None, None),
    ("2026-02-30", None), ("2026-6-3", None), ("03-06-2026", None), ("2026-06-03T00:00", None),
    ("tomorrow", None), ("9" * 11, None)])
def test_week_values(value, expected):
    assert parse_week(value, date(2026, 6, 3)) == expected


@pytest.mark.parametrize(("start", "label"), [
    (date(2026, 6, 1), "1 – 7 June 2026"),
    (date(2026, 6, 29), "29 June – 5 July 2026"),
    (date(2026, 12, 28), "28 December 2026 – 3 January 2027")])
def test_week_labels(start, label):
    assert week_label(start) == label


# --- which week --------------------------------------------------------------------------------

SLOTS = week_of_slots(
    (date(2026, 6, 10), 9), (date(2026, 6, 10), 18),  # week of 8 June: Wednesday morning, evening
    (date(2026, 6, 13), 14),  # … Saturday afternoon
    (date(2026, 6, 24), 10),  # week of 22 June (the week of 15 June has none)
    (date(2026, 6, 27), 19))  # … Saturday evening


def test_the_first_week_shown_is_the_soonest_free_time():
    week = slot_week(SLOTS, BERLIN, WeekQuery(), NOW)
    assert week.start == date(2026, 6, 8) and week.label == "8 – 14 June 2026"
    assert week.previous is None and week.next == date(2026, 6, 15)
    assert shown(week) == SLOTS[:3] and week.count_text == "3 free times"
    assert list(week.days) == [date(2026, 6, 10), date(2026, 6, 13)] and week.open_day == date(2026, 6, 10)


def test_a_week_without_free_times_offers_the_next_one_that_has_some():
    week = slot_week(SLOTS, BERLIN, WeekQuery(week="2026-06-15"), NOW)
    assert week.start == date(2026, 6, 15) and week.days == {} and week.shown_count == 0
    assert week.previous == date(2026, 6, 8) and week.next == date(2026, 6, 22)
    assert week.next_with_times is not None and week.next_with_times.start == date(2026, 6, 22)
    last = slot_week(SLOTS, BERLIN, WeekQuery(week="2026-06-22"), NOW)
    assert last.next is None and last.previous == date(2026, 6, 15)


@pytest.mark.parametrize("value", ["2026-06-01", "2026-06-29", "2025-01-01", "0", "4", "junk", "2026-02-30"])
def test_weeks_outside_the_free_times_and_bad_values_fall_back_to_the_first(value):
    assert slot_week(SLOTS, BERLIN, WeekQuery(week=value), NOW).start == date(2026, 6, 8)


def test_a_week_number_counts_from_this_week():
    assert slot_week(SLOTS, BERLIN, WeekQuery(week="3"), NOW).start == date(2026, 6, 22)


def test_the_chosen_time_opens_its_week_and_stays_chosen_in_another():
    chosen = SLOTS[3]  # Wednesday 24 June
    week = slot_week(SLOTS, BERLIN, WeekQuery(selected=chosen), NOW)
    assert week.start == date(2026, 6, 22) and week.selected == chosen and week.pinned is None
    assert week.open_day == date(2026, 6, 24)
    elsewhere = slot_week(SLOTS, BERLIN, WeekQuery(week="2026-06-08", selected=chosen), NOW)
    assert elsewhere.start == date(2026, 6, 8) and elsewhere.selected == chosen
    assert elsewhere.pinned is not None and elsewhere.pinned.astimezone(UTC) == chosen
    assert elsewhere.pinned_week == date(2026, 6, 22)


def test_a_chosen_time_that_is_not_free_is_no_choice():
    week = slot_week(SLOTS, BERLIN, WeekQuery(selected=utc(2026, 6, 24, 3, 0)), NOW)
    assert week.selected is None and week.start == date(2026, 6, 8)


# --- filters -----------------------------------------------------------------------------------

def test_filters_mark_the_times_shown_and_pick_the_first_week_that_matches():
    evening = slot_week(SLOTS, BERLIN, WeekQuery(filter=TimeFilter.from_values(["evening"])), NOW)
    assert evening.start == date(2026, 6, 8) and shown(evening) == [SLOTS[1]]
    assert evening.count_text == "1 of 3 free times"
    assert sum(len(cs) for cs in evening.days.values()) == 3  # all there, for the script to show again
    weekend_morning = slot_week(SLOTS, BERLIN, WeekQuery(filter=TimeFilter.from_values(["morning", "weekend"])), NOW)
    assert not any(map(weekend_morning.shows_any, weekend_morning.weeks))
    assert weekend_morning.start == date(2026, 6, 8)  # none anywhere: the first week
    assert shown(weekend_morning) == [] and weekend_morning.next_with_times is None
    weekend_evening = slot_week(SLOTS, BERLIN, WeekQuery(filter=TimeFilter.from_values(["evening", "weekend"])), NOW)
    assert weekend_evening.start == date(2026, 6, 22) and shown(weekend_evening) == [SLOTS[4]]


def test_an_empty_filtered_week_offers_the_next_week_that_matches():
    week = slot_week(SLOTS, BERLIN, WeekQuery(week="2026-06-08", filter=TimeFilter.from_values(["weekend", "evening"])),
                     NOW)
    assert week.shown_count == 0 and week.next_with_times is not None
    assert week.next_with_times.start == date(2026, 6, 22) and week.open_day is None


def test_an_empty_filtered_week_after_the_last_match_offers_the_latest_earlier_one():
    week = slot_week(SLOTS, BERLIN, WeekQuery(week="2026-06-22", filter=TimeFilter.from_values(["afternoon"])), NOW)
    assert week.shown_count == 0 and week.next_with_times is None
    assert week.earlier_with_times is not None and week.earlier_with_times.start == date(2026, 6, 8)


def test_the_chosen_time_is_never_hidden_by_a_filter():
    week = slot_week(SLOTS, BERLIN, WeekQuery(filter=TimeFilter.from_values(["evening"]), selected=SLOTS[0]), NOW)
    assert shown(week) == [SLOTS[0], SLOTS[1]] and week.open_day == date(2026, 6, 10)


def test_weeks_and_parts_are_the_viewers():
    sunday_night_utc = utc(2026, 6, 14, 23, 30)  # Sunday in UTC, Monday 08:30 in Tokyo
    berlin = slot_week([sunday_night_utc], "UTC", WeekQuery(), NOW)
    tokyo = slot_week([sunday_night_utc], TOKYO, WeekQuery(filter=TimeFilter.from_values(["morning"])), NOW)
    assert berlin.start == date(2026, 6, 8) and [c.kind for cs in berlin.days.values() for c in cs] == [
        "evening-weekend"]
    assert tokyo.start == date(2026, 6, 15) and shown(tokyo) == [sunday_night_utc]


def test_the_repeated_hour_of_a_dst_change_stays_two_times():
    # Berlin leaves summer time on Sunday 25 October 2026: 02:00–03:00 happens twice.
    first, second = utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)  # both 02:30 local
    week = slot_week([first, second], BERLIN, WeekQuery(selected=second), utc(2026, 10, 20))
    choices = week.days[date(2026, 10, 25)]
    assert [c.at.astimezone(UTC) for c in choices] == [first, second]
    assert week.selected == second and [c.at.astimezone(UTC) for c in choices if c.at is week.selected_local] == [second]


def test_no_free_times_at_all():
    week = slot_week([], BERLIN, WeekQuery(week="2026-06-08", filter=TimeFilter.from_values(["evening"])), NOW)
    assert not week.has_free_times and week.days == {} and week.previous is None and week.next is None
