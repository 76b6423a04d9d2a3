"""The curated zone list (marketplace/timezones.txt through timeutil): canonical zones only, grouped
by region with their current offsets; deprecated spellings map to the zone they stand for."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from marketplace.demo.content import CITIES
from marketplace.timeutil import (
    REGIONS,
    canonical_timezone,
    curated_timezones,
    readable_timezone,
    user_zone,
    utc_offset_label,
    zone_choices,
    zone_list,
    zone_or_utc,
)

DEPRECATED = ["Africa/Asmera", "America/Buenos_Aires", "Asia/Calcutta", "Europe/Kiev", "Asia/Saigon",
              "America/Godthab", "US/Eastern", "GB", "Etc/UTC", "Etc/GMT+5", "EST", "CET", "Universal",
              "America/Montreal", "Pacific/Truk"]
COMMON = ["Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles", "America/Sao_Paulo",
          "America/Argentina/Buenos_Aires", "Asia/Tokyo", "Asia/Kolkata", "Europe/Kyiv", "Africa/Lagos",
          "Africa/Asmara", "Australia/Sydney", "Pacific/Auckland", "Atlantic/Reykjavik", "Indian/Mauritius", "UTC"]
WINTER = datetime(2026, 1, 15, 12, tzinfo=UTC)
SUMMER = datetime(2026, 7, 15, 12, tzinfo=UTC)


def test_the_list_holds_common_zones_and_no_deprecated_alias():
    zones = curated_timezones()
    assert len(zones) == len(set(zones))
    assert not [z for z in DEPRECATED if z in zones]
    assert not [z for z in COMMON if z not in zones]
    assert not [z for z in zones if z.startswith(("Etc/", "SystemV/", "US/", "Antarctica/"))]
    assert not set(zones) & set(zone_list().aliases), "a name is both canonical and an alias"
    assert all(z == "UTC" or z.split("/")[0] in REGIONS for z in zones)
    assert len(zones) < 450  # not the 519 (or 597) names tzdata knows
    for z in zones:
        ZoneInfo(z)  # every one loads


@pytest.mark.parametrize(("alias", "canonical"), [
    ("Africa/Asmera", "Africa/Asmara"), ("America/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ("Asia/Calcutta", "Asia/Kolkata"), ("Europe/Kiev", "Europe/Kyiv"), ("US/Eastern", "America/New_York"),
    ("Etc/UTC", "UTC"), ("GMT", "UTC"), ("Europe/Berlin", "Europe/Berlin"),
])
def test_aliases_map_to_their_canonical_zone(alias, canonical):
    assert canonical_timezone(alias) == canonical
    assert readable_timezone(alias) == canonical


@pytest.mark.parametrize("name", ["", None, "Mars/Olympus", "Europe/Berlin; path=/", "x" * 65, "../etc/passwd"])
def test_anything_else_is_not_a_curated_zone(name):
    assert canonical_timezone(name) is None
    assert readable_timezone(name) is None


def test_a_stored_zone_outside_the_list_is_still_read_as_it_is():
    assert canonical_timezone("Antarctica/Troll") is None
    assert readable_timezone("Antarctica/Troll") == "Antarctica/Troll"


def test_choices_are_grouped_by_region_with_the_current_offset():
    winter = zone_choices(now=WINTER)
    assert list(winter) == [*REGIONS, "UTC"]
    assert ("Europe/Berlin", "Europe/Berlin (UTC+01:00)") in winter["Europe"]
    assert ("America/New_York", "America/New York (UTC-05:00)") in winter["America"]
    assert ("Asia/Kolkata", "Asia/Kolkata (UTC+05:30)") in winter["Asia"]
    assert winter["UTC"] == [("UTC", "UTC (UTC+00:00)")]
    summer = zone_choices(now=SUMMER)
    assert ("Europe/Berlin", "Europe/Berlin (UTC+02:00)") in summer["Europe"]
    assert utc_offset_label("America/St_Johns", WINTER) == "UTC-03:30"
    assert sum(len(options) for options in winter.values()) == len(curated_timezones())


def test_a_kept_zone_outside_the_list_is_offered_under_other():
    assert zone_choices(current="Antarctica/Troll", now=WINTER)["Other"] == [
        ("Antarctica/Troll", "Antarctica/Troll (UTC+00:00)")]
    assert "Other" not in zone_choices(current="Europe/Berlin", now=WINTER)


def test_every_demo_city_uses_a_curated_zone():
    assert not [c.timezone for c in CITIES if canonical_timezone(c.timezone) != c.timezone]


@pytest.mark.parametrize("stored,expected", [
    ("Europe/Berlin", "Europe/Berlin"), ("Asia/Calcutta", "Asia/Calcutta"),  # an alias is still a zone
    ("Mars/Olympus", "UTC"), ("", "UTC"), (None, "UTC"), ("x" * 65, "UTC"),
])
def test_zone_or_utc_is_the_one_fallback(stored, expected):
    assert zone_or_utc(stored) == expected

    class Person:
        timezone = stored

    assert user_zone(Person()) == expected
    assert user_zone(object()) == "UTC"  # no zone at all (an anonymous visitor)
