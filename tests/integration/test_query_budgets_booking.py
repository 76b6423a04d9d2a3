"""Query budgets of booking a free consultation, on SQLite and PostgreSQL.

A booking POST validates against the calendar loaded ONCE (settings, availability windows,
bookings) and leaves everything else to jobs after its commit. Its statements are counted
with the job queue held, so the request's own work is measured; the queued jobs (availability
refresh, mail delivery) are then run and budgeted on their own, as a worker would run them.
Every count includes transaction control (SQLite's BEGIN) and must not grow with the number
of specialists.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from marketplace.auth.models import Role
from marketplace.consultations.availability import calendar_changed, refresh_availability, set_weekly_hours
from marketplace.consultations.booking import format_slot
from marketplace.consultations.models import Consultation
from marketplace.extensions import db
from marketplace.jobs import huey_of
from tests.integration.test_consultations import first_free_slot, login, open_all_week

BOOKING_POST_BUDGET = 15
BOOKING_PAGE_BUDGET = 7  # user, profile, formats, open free consultation, snapshot, unread count (+ BEGIN)
REFRESH_JOB_BUDGET = 8  # + the busy times read from the specialists' other calendars (one SELECT per chunk)


@contextmanager
def held_jobs(app: Any, count_queries: Any) -> Iterator[Callable[[], dict[str, int]]]:
    """Jobs are queued instead of run at once; the yielded function runs them one by one (like
    a worker) and returns the statements each ran, by job name."""
    huey = huey_of(app)
    huey.immediate = False

    def run_queued() -> dict[str, int]:
        ran: dict[str, int] = {}
        while (task := huey.dequeue()) is not None:
            with count_queries() as counter:
                huey.execute(task)
            ran[task.name] = ran.get(task.name, 0) + counter.count
        return ran

    try:
        yield run_queued
    finally:
        huey.immediate = True


def post_booking(client: Any, slug: str, slot: Any) -> Any:
    return client.post(f"/specialists/{slug}/book",
                       data={"slot": format_slot(slot), "format": "video", "note": "Hello", "consent": "y"})


def add_specialists_with_availability(make_specialist: Any, count: int) -> None:
    for _ in range(count):
        set_weekly_hours(make_specialist().id, [(day, "08:00", "18:00") for day in range(7)])
    db.session.commit()


def measured_booking(app: Any, client: Any, profile: Any, client_user: Any, count_queries: Any) -> tuple[int, int]:
    """(statements of the booking POST, statements of the availability refresh job it queued)."""
    login(client, client_user)
    slot = first_free_slot(profile)
    slug = profile.slug
    with held_jobs(app, count_queries) as run_queued:
        with count_queries() as request:
            response = post_booking(client, slug, slot)
        assert response.status_code == 302, response.get_data(as_text=True)
        queued = [task.name for task in huey_of(app).pending()]
        assert queued.count(refresh_availability.__name__) == 1, queued  # ONE refresh job per booking
        ran = run_queued()
    db.session.rollback()
    assert db.session.scalar(select(Consultation.start_utc).where(Consultation.client_id == client_user.id)) == slot
    return request.count, ran[refresh_availability.__name__]


def test_booking_post_budget_is_constant_in_the_number_of_specialists(app, client, make_specialist, make_user,
                                                                      count_queries):
    profile = make_specialist(formats=["video"])
    open_all_week(profile)
    add_specialists_with_availability(make_specialist, 3)
    few = measured_booking(app, client, profile, make_user(Role.CLIENT), count_queries)

    add_specialists_with_availability(make_specialist, 27)
    client.post("/auth/logout")
    many = measured_booking(app, client, profile, make_user(Role.CLIENT), count_queries)

    assert few[0] <= BOOKING_POST_BUDGET, few
    assert few[1] <= REFRESH_JOB_BUDGET, few
    assert many == few, (few, many)


def test_booking_post_statements(app, client, make_specialist, make_user, count_queries):
    """What the POST runs: the settings row and the precomputed slots read once each (no calendar
    load: the slot is among slots computed from the current hours), no refresh in the request."""
    profile = make_specialist(formats=["video"])
    open_all_week(profile)
    login(client, make_user(Role.CLIENT))
    slot = first_free_slot(profile)
    slug = profile.slug
    with held_jobs(app, count_queries):
        with count_queries() as counter:
            response = post_booking(client, slug, slot)
    assert response.status_code == 302
    text = [" ".join(q.split()).upper() for q in counter.statements]
    assert len(text) <= BOOKING_POST_BUDGET, counter.statements
    assert sum("FROM SCHEDULING_SETTINGS" in q for q in text) == 1, counter.statements
    assert not any("FROM AVAILABILITY_RULES" in q for q in text), counter.statements
    assert sum("FROM AVAILABILITY_SNAPSHOTS" in q for q in text) == 1, counter.statements
    assert not any(q.startswith(("UPDATE", "INSERT", "DELETE")) and "AVAILABILITY_SNAPSHOTS" in q for q in text), \
        "the request must not refresh availability"
    assert not any(q.startswith("UPDATE SPECIALIST_PROFILES") for q in text)


def test_booking_post_without_a_usable_snapshot_loads_the_calendar_once(app, client, make_specialist, make_user,
                                                                       count_queries):
    """Hours changed and not refreshed yet: the calendar decides, loaded once, within the budget."""
    profile = make_specialist(formats=["video"])
    open_all_week(profile)
    login(client, make_user(Role.CLIENT))
    slot = first_free_slot(profile)
    slug = profile.slug
    with held_jobs(app, count_queries):
        calendar_changed([profile.id])
        db.session.commit()  # (its refresh is not queued: the snapshot stays computed from older hours)
        with count_queries() as counter:
            response = post_booking(client, slug, slot)
    assert response.status_code == 302
    text = [" ".join(q.split()).upper() for q in counter.statements]
    # The budget and the snapshot read that found it computed from older hours (until the refresh).
    assert len(text) <= BOOKING_POST_BUDGET + 1, counter.statements
    assert sum("FROM SCHEDULING_SETTINGS" in q for q in text) == 1, counter.statements
    assert sum("FROM AVAILABILITY_RULES" in q for q in text) == 1, counter.statements
    assert sum("FROM AVAILABILITY_SNAPSHOTS" in q for q in text) == 1, counter.statements


def test_booking_page_budget(app, client, make_specialist, make_user, count_queries):
    profile = make_specialist(formats=["video"])
    open_all_week(profile)
    add_specialists_with_availability(make_specialist, 5)
    login(client, make_user(Role.CLIENT))
    url = f"/specialists/{profile.slug}/book"
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200 and 'name="slot"' in response.get_data(as_text=True)
    assert counter.count <= BOOKING_PAGE_BUDGET, counter.statements
    availability = [q for q in counter.statements if "availability" in q or "scheduling_settings" in q]
    assert len(availability) == 1 and "availability_snapshots" in availability[0], counter.statements


def test_refresh_job_budget_is_constant(app, make_specialist, count_queries):
    """The job a change queues reads each calendar table once and writes with two statements."""
    from marketplace.consultations.availability import refresh_in_batches

    profiles = [make_specialist() for _ in range(12)]
    ids = [p.id for p in profiles]
    for pid in ids:
        set_weekly_hours(pid, [(day, "09:00", "17:00") for day in range(7)])
    db.session.commit()
    with count_queries() as one:
        refresh_in_batches(ids[:1])
    with count_queries() as twelve:
        refresh_in_batches(ids)
    assert one.count == twelve.count <= REFRESH_JOB_BUDGET, twelve.statements


def test_booking_page_budget_is_the_same_for_any_week_filter_or_chosen_time(app, client, make_specialist, make_user,
                                                                          count_queries):
    """Weeks, time-of-day chips and a chosen time are worked out from the one snapshot read: the
    page runs the same statements whatever it is asked (issue 14)."""
    profile = make_specialist(formats=["video"])
    open_all_week(profile)
    login(client, make_user(Role.CLIENT))
    slot = format_slot(first_free_slot(profile, after_hours=24 * 9))
    url = f"/specialists/{profile.slug}/book"
    counts = []
    for query in ("", "?week=1", "?week=junk", "?part=evening&part=weekend", f"?slot={slot}",
                  f"?slot={slot}&week=0&part=morning&format=video&src=campaign"):
        with count_queries() as counter:
            response = client.get(url + query)
        assert response.status_code == 200 and 'name="slot"' in response.get_data(as_text=True), query
        counts.append(counter.count)
    assert counts[0] <= BOOKING_PAGE_BUDGET and set(counts) == {counts[0]}, counts
