"""The directory's time-of-day filter (issue 14): the booking page's morning / afternoon / evening /
weekend chips in the directory, read in the VIEWER's zone, answered from the free times the
availability refresh stored (``free_utc_*``), summarised in the folded panel, kept by page links.

Runs on SQLite and PostgreSQL (the ``app`` fixture is parametrised).
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from marketplace.consultations.availability import refresh_next_available, set_weekly_hours
from marketplace.extensions import db
from marketplace.specialists.directory import PER_PAGE, DirectoryFilters, search_directory
from marketplace.specialists.models import FREE_TIME_COLUMNS, SpecialistProfile
from marketplace.timeutil import TZ_CHOICE_COOKIE
from tests.integration.test_directory_frictions import _summary
from tests.integration.test_specialists_directory import names

WEEKDAYS, WEEKEND_DAYS = range(5), (5, 6)


@pytest.fixture
def hours(make_specialist):
    """Three Berlin specialists whose hours are far from the parts' borders (so a daylight-saving
    change within four weeks moves nothing across one): weekday mornings, weekday evenings,
    weekend evenings. Their free times are stored by the refresh, as after any calendar change."""
    people = {
        "Molly Morning": [(day, "08:00", "11:00") for day in WEEKDAYS],
        "Eve Evening": [(day, "18:00", "21:00") for day in WEEKDAYS],
        "Wendy Weekend": [(day, "18:00", "20:00") for day in WEEKEND_DAYS],
    }
    profiles = []
    for name, rules in people.items():
        profile = make_specialist(display_name=name, timezone="Europe/Berlin")
        set_weekly_hours(profile.id, rules)
        profiles.append(profile)
    db.session.flush()
    refresh_next_available([p.id for p in profiles])
    db.session.commit()
    return profiles


def viewing_from(client, tz: str) -> None:
    client.set_cookie(TZ_CHOICE_COOKIE, tz)


CASES = [
    ("Europe/Berlin", "part=morning", {"Molly Morning"}),
    ("Europe/Berlin", "part=evening", {"Eve Evening", "Wendy Weekend"}),
    ("Europe/Berlin", "part=evening&part=weekend", {"Wendy Weekend"}),
    ("Europe/Berlin", "part=weekend", {"Wendy Weekend"}),
    ("Europe/Berlin", "part=afternoon", set()),
    ("Europe/Berlin", "part=morning&part=evening", {"Molly Morning", "Eve Evening", "Wendy Weekend"}),
    # The same specialists seen from Tokyo (8 hours ahead): Berlin evenings are Tokyo's early mornings
    # (Wendy's Sunday evening is Monday morning there), Berlin mornings Tokyo's late afternoons/evenings.
    ("Asia/Tokyo", "part=morning", {"Eve Evening", "Wendy Weekend"}),
    ("Asia/Tokyo", "part=evening", {"Molly Morning"}),
    ("Asia/Tokyo", "part=morning&part=weekend", {"Eve Evening", "Wendy Weekend"}),
    # From New York (6 hours behind): Berlin mornings are the night before and early mornings.
    ("America/New_York", "part=afternoon", {"Eve Evening", "Wendy Weekend"}),
    ("America/New_York", "part=evening", set()),
    # An unknown value is ignored (no filter), never an error.
    ("Europe/Berlin", "part=teatime", {"Molly Morning", "Eve Evening", "Wendy Weekend"}),
]


def test_times_of_day_are_read_in_the_viewers_zone(client, hours):
    """One set-up for every case (each case is a request; the page cache is keyed by zone and query)."""
    for tz, query, expected in CASES:
        viewing_from(client, tz)
        response = client.get(f"/specialists?{query}")
        assert response.status_code == 200
        assert set(names(response)) == expected, (tz, query)


def test_the_service_reads_the_zone_it_is_given(app, hours):
    evening = DirectoryFilters(part=("evening",))
    assert {c.display_name for c in search_directory(evening, 1, tz="Europe/Berlin").items} == {
        "Eve Evening", "Wendy Weekend"}
    assert {c.display_name for c in search_directory(evening, 1, tz="Asia/Tokyo").items} == {"Molly Morning"}


def test_unknown_free_times_are_not_matched(app, hours):
    """A profile whose free times were never computed (NULL, e.g. before the first refresh after
    the migration) is not offered under a time of day, but still listed without one."""
    molly = hours[0]
    db.session.execute(update(SpecialistProfile).where(SpecialistProfile.id == molly.id)
                       .values(dict.fromkeys(FREE_TIME_COLUMNS)))
    db.session.commit()
    assert search_directory(DirectoryFilters(part=("morning",)), 1, tz="Europe/Berlin").total == 0
    assert search_directory(DirectoryFilters(), 1, tz="Europe/Berlin").total == 3


def test_the_chips_are_checked_summarised_and_name_the_zone(client, hours):
    viewing_from(client, "Asia/Kolkata")
    html = client.get("/specialists?part=evening&part=weekend").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*value="evening"|<input[^>]*value="evening"[^>]*checked', html)
    assert re.search(r'<input[^>]*checked[^>]*value="weekend"|<input[^>]*value="weekend"[^>]*checked', html)
    assert not re.search(r'<input[^>]*value="morning"[^>]*checked', html)
    summary = _summary(html)
    assert "1 applied" in summary and "Free times: weekend evenings" in summary
    assert "In your time zone, Asia/Kolkata" in html
    assert "Evening (from 17:00)" in html


def test_the_cached_page_is_per_zone_and_per_choice(client, hours):
    """The directory page is cached: the same URL from another zone, or other chips, is another page."""
    viewing_from(client, "Europe/Berlin")
    assert set(names(client.get("/specialists?part=evening"))) == {"Eve Evening", "Wendy Weekend"}
    assert set(names(client.get("/specialists?part=morning"))) == {"Molly Morning"}
    viewing_from(client, "Asia/Tokyo")
    assert set(names(client.get("/specialists?part=evening"))) == {"Molly Morning"}


def test_page_links_keep_the_chosen_times(client, make_specialist):
    """More than a page of evening specialists: the next page's link keeps ?part=evening."""
    profiles = [make_specialist(display_name=f"Evening {i:02d}", timezone="UTC") for i in range(PER_PAGE + 1)]
    for profile in profiles:
        set_weekly_hours(profile.id, [(day, "18:00", "19:00") for day in range(7)])
    db.session.flush()
    refresh_next_available([p.id for p in profiles])
    db.session.commit()
    viewing_from(client, "UTC")
    html = client.get("/specialists?part=evening").get_data(as_text=True)
    assert f"{PER_PAGE + 1} specialists" in html
    assert re.search(r'href="/specialists\?[^"]*part=evening[^"]*page=2|href="/specialists\?[^"]*page=2[^"]*part=evening',
                     html.replace("&amp;", "&"))
    assert "0 specialists" in client.get("/specialists?part=morning").get_data(as_text=True)
