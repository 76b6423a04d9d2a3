"""Precomputed availability: every calendar change refreshes the snapshot after its commit (jobs
run immediately in tests), pages read it and never write, the periodic refresh picks up only
what time made stale, and booking validates against the real calendar, not the snapshot.

Runs on SQLite and PostgreSQL (the ``app`` fixture is parametrised).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, event, func, select, update

from marketplace.auth.models import Role
from marketplace.consultations.availability import (
    add_date_override,
    calendar_changed,
    compute_snapshots,
    refresh_availability,
    refresh_next_available,
    refresh_stale_availability,
    remove_weekly_rule,
    set_weekly_hours,
    update_scheduling_settings,
)
from marketplace.consultations.booking import SLOT_TAKEN, block_rows, format_slot
from marketplace.consultations.models import (
    AvailabilityRule,
    AvailabilitySnapshot,
    Consultation,
    ConsultationKind,
    ConsultationState,
    SchedulingSettings,
)
from marketplace.consultations.snapshots import Snapshot, read_booking_snapshot, trim_snapshots, write_snapshots
from marketplace.database import commit, utcnow
from marketplace.extensions import db
from marketplace.jobs import huey_of
from marketplace.scheduling.packing import pack_slots, unpack_slots
from marketplace.specialists.hooks import availability_hooks
from marketplace.specialists.models import SpecialistProfile
from tests.integration.test_consultations import (
    book,
    book_via_http,
    booking_page_url,
    first_free_slot,
    login,
    open_all_week,
)
from tests.integration.test_page_caching import two_apps_sharing_redis
from tests.integration.test_query_budgets_booking import held_jobs

WRITES = ("INSERT", "UPDATE", "DELETE")


def offered_on_profile(html: str, slot: datetime) -> bool:
    """The profile page links each slot to the booking page (``?slot=…``)."""
    value = format_slot(slot)
    return f"slot={quote(value, safe='')}" in html or f"slot={value}" in html


def offered_on_booking_page(html: str, slot: datetime) -> bool:
    return f'value="{format_slot(slot)}"' in html


def snapshot_of(profile_id: int) -> AvailabilitySnapshot | None:
    db.session.commit()  # end this session's read transaction: see what requests and jobs committed
    return db.session.get(AvailabilitySnapshot, profile_id)


def writes(counter: Any) -> list[str]:
    return [q for q in counter.statements if q.lstrip().split(" ", 1)[0].upper() in WRITES]


@pytest.fixture
def specialist(app, make_specialist):
    profile = make_specialist(formats=["video"], timezone="Europe/Berlin")
    open_all_week(profile)
    return profile


# --- pages follow every change right after the request ----------------------------------------

def test_a_booking_removes_its_slot_from_the_profile_and_booking_pages(client, specialist, make_user):
    slot = first_free_slot(specialist)
    booker, other = make_user(Role.CLIENT), make_user(Role.CLIENT)
    profile_url, booking_url = f"/specialists/{specialist.slug}", booking_page_url(specialist, slot)
    login(client, other)
    assert offered_on_profile(client.get(profile_url).get_data(as_text=True), slot)
    assert offered_on_booking_page(client.get(booking_url).get_data(as_text=True), slot)
    client.post("/auth/logout")

    login(client, booker)
    assert book_via_http(client, specialist, slot).status_code == 302
    client.post("/auth/logout")

    login(client, other)
    assert not offered_on_profile(client.get(profile_url).get_data(as_text=True), slot)
    assert not offered_on_booking_page(client.get(booking_url).get_data(as_text=True), slot)
    snapshot = snapshot_of(specialist.id)
    assert snapshot is not None and slot not in unpack_slots(snapshot.slots, 30)


def test_cancelling_gives_the_slot_back(client, specialist, make_user):
    slot = first_free_slot(specialist)
    booker = make_user(Role.CLIENT)
    login(client, booker)
    assert book_via_http(client, specialist, slot).status_code == 302
    consultation_id = db.session.scalar(select(Consultation.id))
    assert client.post(f"/consultations/{consultation_id}/cancel", data={"reason": "Plans changed"}).status_code == 302
    assert offered_on_booking_page(client.get(booking_page_url(specialist, slot)).get_data(as_text=True), slot)


def test_adding_a_weekly_rule_adds_slots(client, make_specialist):
    profile = make_specialist(formats=["video"], timezone="UTC")
    refresh_next_available([profile.id])
    db.session.commit()
    assert snapshot_of(profile.id).slots == []
    assert "No free times in the coming weeks" in client.get(f"/specialists/{profile.slug}").get_data(as_text=True)

    login(client, profile.user)
    weekday = (utcnow() + timedelta(days=3)).weekday()
    response = client.post("/specialists/me/availability/rules",
                           data={"weekday": str(weekday), "start": "09:00", "end": "17:00"})
    assert response.status_code == 302
    client.post("/auth/logout")

    snapshot = snapshot_of(profile.id)
    slots = unpack_slots(snapshot.slots, 30)
    assert slots and all(s.weekday() == weekday and 9 <= s.hour < 17 for s in slots)
    assert db.session.get(SpecialistProfile, profile.id).next_available_at == slots[0]
    html = client.get(f"/specialists/{profile.slug}").get_data(as_text=True)
    assert offered_on_profile(html, slots[0]) and "No free times in the coming weeks" not in html


def test_unpublishing_empties_the_snapshot_and_next_available_at(client, specialist):
    assert snapshot_of(specialist.id).slots
    login(client, specialist.user)
    assert client.post("/specialists/me/unpublish").status_code in (302, 303)
    assert snapshot_of(specialist.id).slots == []
    assert db.session.get(SpecialistProfile, specialist.id).next_available_at is None


# --- reads never write; the fallback --------------------------------------------------------------

@pytest.mark.parametrize("with_snapshot", [True, False])
def test_profile_booking_and_directory_gets_write_nothing(app, client, specialist, make_user, count_queries,
                                                          with_snapshot):
    if not with_snapshot:
        db.session.execute(delete(AvailabilitySnapshot))
        db.session.commit()
    slot = first_free_slot(specialist)
    slug = specialist.slug
    login(client, make_user(Role.CLIENT))
    # The jobs the GETs hand counts to (profile views, impressions) are held: only the requests' own
    # statements are counted.
    with held_jobs(app, count_queries), count_queries() as counter:
        profile_html = client.get(f"/specialists/{slug}").get_data(as_text=True)
        booking_html = client.get(booking_page_url(specialist, slot)).get_data(as_text=True)
        directory = client.get("/specialists")
    assert directory.status_code == 200
    assert offered_on_profile(profile_html, slot) and offered_on_booking_page(booking_html, slot)
    assert writes(counter) == [], writes(counter)
    client.post("/auth/logout")
    with held_jobs(app, count_queries), count_queries() as anonymous:
        assert client.get(f"/specialists/{slug}").status_code == 200
        assert client.get("/specialists").status_code == 200
    assert writes(anonymous) == [], writes(anonymous)
    assert (snapshot_of(specialist.id) is not None) is with_snapshot  # the fallback stored nothing


def test_without_a_snapshot_the_slots_are_computed_on_the_fly(client, make_specialist, make_user):
    profile = make_specialist(formats=["video"])
    set_weekly_hours(profile.id, [(day, "00:00", "23:30") for day in range(7)])
    db.session.commit()  # no refresh yet: a new profile before the job ran
    assert snapshot_of(profile.id) is None
    slot = first_free_slot(profile)
    login(client, make_user(Role.CLIENT))
    assert offered_on_booking_page(client.get(booking_page_url(profile, slot)).get_data(as_text=True), slot)
    assert offered_on_profile(client.get(f"/specialists/{profile.slug}").get_data(as_text=True), slot)


# --- booking trusts the calendar, not the snapshot ---------------------------------------------

def test_a_slot_the_snapshot_still_lists_but_is_taken_gets_the_friendly_message(client, specialist, make_user):
    slot = first_free_slot(specialist)
    book(make_user(Role.CLIENT), specialist, slot)  # committed without its after-commit refresh
    assert slot in unpack_slots(snapshot_of(specialist.id).slots, 30)
    login(client, make_user(Role.CLIENT))
    assert offered_on_booking_page(client.get(booking_page_url(specialist, slot)).get_data(as_text=True), slot)
    response = book_via_http(client, specialist, slot, note="Keep my note")
    assert response.status_code == 409
    assert SLOT_TAKEN in response.get_data(as_text=True) and "Keep my note" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Consultation.id))) == 1


def test_a_slot_the_snapshot_lists_but_the_calendar_no_longer_has_is_refused(app, client, specialist, make_user,
                                                                            count_queries):
    slot = first_free_slot(specialist)
    with held_jobs(app, count_queries):  # the refresh the change queues has not run yet
        for rule in list(db.session.scalars(select(AvailabilityRule)
                                            .where(AvailabilityRule.specialist_id == specialist.id))):
            assert remove_weekly_rule(specialist, rule.id)
        commit()
        assert slot in unpack_slots(snapshot_of(specialist.id).slots, 30)
        login(client, make_user(Role.CLIENT))
        response = book_via_http(client, specialist, slot)
    assert response.status_code == 422
    assert "not available" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Consultation.id))) == 0


@pytest.mark.parametrize("change", ["day off", "settings", "profile"])
def test_after_a_change_of_hours_bookings_load_the_calendar_until_the_refresh(app, specialist, make_user,
                                                                              count_queries, change):
    """Every change the occupied-block guard cannot see marks the snapshot in its own transaction."""
    slot = first_free_slot(specialist)
    assert read_booking_snapshot(specialist.id, utcnow()) is not None
    with held_jobs(app, count_queries) as run_queued:
        if change == "day off":
            add_date_override(specialist, slot.astimezone(ZoneInfo(specialist.timezone)).date() + timedelta(days=3),
                              "off")
        elif change == "settings":
            settings = db.session.get(SchedulingSettings, specialist.id) or SchedulingSettings.defaults_for(
                specialist.id)
            update_scheduling_settings(specialist, version_id=settings.version_id, buffer_minutes=15,
                                       min_notice_minutes=settings.min_notice_minutes,
                                       horizon_days=settings.horizon_days, max_per_day=settings.max_per_day,
                                       auto_confirm=settings.auto_confirm)
        else:  # a profile edit (zone, bookability) reports through the specialists domain's hook
            availability_hooks.notify_calendar_changed([specialist.id])
        commit()  # (the app's commit: it queues the refresh)
        assert read_booking_snapshot(specialist.id, utcnow()) is None  # computed from older hours
        ran = run_queued()
    db.session.commit()
    assert ran.get(refresh_availability.__name__)
    assert read_booking_snapshot(specialist.id, utcnow()) is not None  # the refresh saw the new hours


def test_a_change_of_hours_during_a_refresh_leaves_its_result_unfit_for_booking(app, specialist):
    """The refresh reads the hours version before the hours: a change committed in between is not
    taken for seen, whatever the order of the writes."""
    now = utcnow()
    computed = compute_snapshots([specialist.id], now)  # read the version, then the hours …
    db.session.rollback()
    calendar_changed([specialist.id])  # … a change of hours commits meanwhile …
    db.session.commit()
    write_snapshots(computed, now)  # … and the older computation is written last
    db.session.commit()
    assert read_booking_snapshot(specialist.id, utcnow()) is None
    refresh_next_available([specialist.id])
    db.session.commit()
    assert read_booking_snapshot(specialist.id, utcnow()) is not None


def test_a_booking_leaves_the_snapshot_fit_for_the_next_booking(client, specialist, make_user):
    """A booking only occupies blocks: the guard sees it, so it does not mark the snapshot."""
    first, second = first_free_slot(specialist), None
    book(make_user(Role.CLIENT), specialist, first)
    second = next(s for s in read_booking_snapshot(specialist.id, utcnow()) or [] if s >= first + timedelta(hours=2))
    login(client, make_user(Role.CLIENT))
    assert book_via_http(client, specialist, second).status_code == 302
    assert db.session.scalar(select(func.count(Consultation.id))) == 2


def test_a_lapsed_payment_hold_does_not_block_a_free_booking(client, specialist, make_user):
    slot = first_free_slot(specialist)
    hold = Consultation(client_id=make_user(Role.CLIENT).id, specialist_id=specialist.id, kind=ConsultationKind.PAID,
                        state=ConsultationState.PENDING_PAYMENT, start_utc=slot, end_utc=slot + timedelta(minutes=50),
                        format="video", price_minor=9000, currency="EUR",
                        hold_expires_at=utcnow() - timedelta(minutes=1))
    db.session.add(hold)
    db.session.flush()
    db.session.add_all(block_rows(hold, 0))
    db.session.commit()
    login(client, make_user(Role.CLIENT))
    assert book_via_http(client, specialist, slot).status_code == 302
    db.session.refresh(hold)
    assert hold.state is ConsultationState.CANCELLED
    booked = db.session.scalar(select(Consultation).where(Consultation.kind == ConsultationKind.FREE))
    assert booked.start_utc == slot


# --- calendar_changed: one job per unit of work, none on rollback ----------------------------------

def test_changes_in_one_unit_of_work_queue_one_refresh_job(app, count_queries, make_specialist):
    first, second = make_specialist().id, make_specialist().id
    with held_jobs(app, count_queries) as run_queued:
        with app.test_request_context("/", method="POST"):
            calendar_changed([first])
            calendar_changed([second, first])
            commit()
        refreshes = [t for t in huey_of(app).pending() if t.name == refresh_availability.__name__]
        assert len(refreshes) == 1  # (the waitlist's offer job rides on the same change)
        assert refreshes[0].args[0] == sorted([first, second])
        run_queued()
    assert snapshot_of(first) is not None and snapshot_of(second) is not None


def test_a_refused_booking_queues_no_refresh(app, client, specialist, make_user, count_queries):
    slot = first_free_slot(specialist)
    book(make_user(Role.CLIENT), specialist, slot)
    login(client, make_user(Role.CLIENT))
    with held_jobs(app, count_queries):
        assert book_via_http(client, specialist, slot).status_code == 409
        assert [t.name for t in huey_of(app).pending()] == []


# --- the writer and the periodic refresh ------------------------------------------------------

def test_an_older_computation_never_overwrites_a_newer_one(app, specialist):
    now = utcnow()  # later than the fixture's own refresh
    hour = now.replace(minute=0, second=0, microsecond=0)
    newer = [hour + timedelta(days=1)]
    older = [hour + timedelta(days=2)]
    write_snapshots([Snapshot(specialist.id, newer, 0, None)], now)
    write_snapshots([Snapshot(specialist.id, older, 0, None)], now - timedelta(seconds=5))
    db.session.commit()
    assert unpack_slots(snapshot_of(specialist.id).slots, 30) == newer
    assert db.session.get(SpecialistProfile, specialist.id).next_available_at == newer[0]


def _age(profile_id: int, *, due: datetime | None) -> datetime:
    """Pretend the snapshot was computed an hour ago and is due at ``due``; returns computed_at."""
    computed = utcnow() - timedelta(hours=1)
    db.session.execute(update(AvailabilitySnapshot).where(AvailabilitySnapshot.profile_id == profile_id)
                       .values(computed_at=computed, refresh_due_at=due))
    db.session.commit()
    return snapshot_of(profile_id).computed_at


def test_the_periodic_refresh_takes_only_stale_bookable_snapshots(app, make_specialist):
    def with_hours(**overrides: Any) -> int:
        profile = make_specialist(**overrides)
        set_weekly_hours(profile.id, [(day, "08:00", "18:00") for day in range(7)])
        db.session.commit()
        return profile.id

    fresh, stale, missing, hidden, hidden_due = (with_hours(), with_hours(), with_hours(),
                                                 with_hours(is_published=False), with_hours())
    refresh_next_available([fresh, stale, hidden_due])
    db.session.commit()
    fresh_at = _age(fresh, due=utcnow() + timedelta(minutes=30))
    stale_at = _age(stale, due=utcnow() - timedelta(minutes=1))
    _age(hidden_due, due=utcnow() - timedelta(minutes=1))
    db.session.execute(update(SpecialistProfile).where(SpecialistProfile.id == hidden_due)
                       .values(accepting_new_clients=False))  # no longer bookable; its refresh was lost
    db.session.commit()

    assert refresh_stale_availability() == 3  # stale, missing, hidden_due

    assert snapshot_of(fresh).computed_at == fresh_at
    assert snapshot_of(stale).computed_at > stale_at and snapshot_of(stale).refresh_due_at > utcnow()
    assert snapshot_of(missing) is not None and snapshot_of(missing).slots
    assert snapshot_of(hidden) is None
    emptied = snapshot_of(hidden_due)
    assert emptied.slots == [] and emptied.refresh_due_at is None
    assert db.session.get(SpecialistProfile, hidden_due).next_available_at is None
    assert refresh_stale_availability() == 0  # nothing is stale any more


def test_time_passing_trims_a_recent_snapshot_without_loading_the_calendar(app, specialist, count_queries):
    """Due because its soonest slot came closer than the notice, computed from the current hours
    minutes ago: the periodic refresh drops the slots that closed (what a recomputation would
    give, bookings and changes having been refreshed by their own jobs) with no calendar read."""
    now = utcnow()
    before = snapshot_of(specialist.id)
    slots, computed_at = unpack_slots(before.slots, 30), before.computed_at
    later = now + timedelta(hours=3)  # three hours on: six slots have come closer than the notice
    db.session.execute(update(AvailabilitySnapshot).where(AvailabilitySnapshot.profile_id == specialist.id)
                       .values(refresh_due_at=later - timedelta(minutes=1)))
    db.session.commit()
    with count_queries() as counter:
        trimmed = trim_snapshots(later, max_age=timedelta(hours=4), limit=10)
    db.session.commit()
    assert trimmed == [specialist.id]
    assert not any("availability_rules" in q or "consultations" in q for q in counter.statements)
    snapshot = snapshot_of(specialist.id)
    notice = timedelta(minutes=snapshot.min_notice_minutes)
    kept = unpack_slots(snapshot.slots, 30)
    assert kept == [s for s in slots if s >= later + notice] and len(kept) < len(slots)
    assert snapshot.refresh_due_at == kept[0] - notice
    assert db.session.get(SpecialistProfile, specialist.id).next_available_at == kept[0]
    assert snapshot.computed_at == computed_at  # still the computation's: new days enter after max_age


@pytest.mark.parametrize("why", ["old", "hours changed"])
def test_the_periodic_refresh_recomputes_what_trimming_cannot_vouch_for(app, specialist, why):
    computed_at = snapshot_of(specialist.id).computed_at
    due = utcnow() - timedelta(minutes=1)
    values: dict[str, Any] = {"refresh_due_at": due}
    if why == "old":
        values["computed_at"] = computed_at - timedelta(hours=2)  # new days may have entered the horizon
    else:
        values["hours_version"] = AvailabilitySnapshot.hours_version + 1  # a change whose refresh was lost
    db.session.execute(update(AvailabilitySnapshot).where(AvailabilitySnapshot.profile_id == specialist.id)
                       .values(**values))
    db.session.commit()
    assert trim_snapshots(utcnow(), max_age=timedelta(minutes=60), limit=10) == []
    assert refresh_stale_availability() == 1
    snapshot = snapshot_of(specialist.id)
    assert snapshot.computed_at > computed_at - timedelta(seconds=1) and snapshot.refresh_due_at > utcnow()
    assert snapshot.hours_version_seen == snapshot.hours_version


def test_the_periodic_refresh_is_bounded_per_run(app, make_specialist):
    for _ in range(3):
        set_weekly_hours(make_specialist().id, [(day, "08:00", "18:00") for day in range(7)])
    db.session.commit()
    assert refresh_stale_availability(max_profiles=2) == 2
    assert refresh_stale_availability(max_profiles=2) == 1
    assert db.session.scalar(select(func.count()).select_from(AvailabilitySnapshot)) == 3


def test_the_periodic_sweep_keeps_directory_pages_a_calendar_change_does_not(app, make_specialist):
    """Time passing (the sweep over many profiles) bumps only each profile's own availability: the
    directory pages' timeout bounds the clock's effect, and the cache is not emptied batch after
    batch. A calendar change makes them stale at once."""
    from marketplace.cache import version
    from marketplace.consultations.availability import refresh_in_batches

    profile = make_specialist()
    set_weekly_hours(profile.id, [(day, "08:00", "18:00") for day in range(7)])
    db.session.commit()
    directory, own = version("directory"), version(f"availability:{profile.id}")
    assert refresh_stale_availability() == 1
    assert version("directory") == directory and version(f"availability:{profile.id}") > own
    refresh_in_batches([profile.id])  # what the job queued by calendar_changed does
    assert version("directory") > directory


def test_the_refresh_jobs_are_registered(app):
    tasks = app.extensions["jobs"].tasks
    names = {name.rsplit(".", 1)[-1] for name in tasks}
    assert {"refresh_availability", "refresh_stale_availability"} <= names


def test_refresh_cli_refreshes_everything_or_only_stale(app, specialist):
    db.session.execute(delete(AvailabilitySnapshot))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["refresh-availability", "--stale"])
    assert "refreshed 1 profile(s)" in result.output
    assert snapshot_of(specialist.id) is not None
    result = app.test_cli_runner().invoke(args=["refresh-availability"])
    assert "refreshed 1 profile(s)" in result.output


# --- the storage form -------------------------------------------------------------------------------

def test_slots_round_trip_through_the_compact_form():
    base = datetime(2026, 3, 29, 0, 0, tzinfo=utcnow().tzinfo)
    slots = [base + timedelta(minutes=m) for m in (0, 30, 60, 150, 165, 195, 24 * 60)]
    runs = pack_slots(slots, 30)
    assert runs == [[runs[0][0], 3], [runs[0][0] + 150, 1], [runs[0][0] + 165, 2], [runs[0][0] + 1440, 1]]
    assert unpack_slots(runs, 30) == slots
    assert unpack_slots(runs, 30, not_before=base + timedelta(minutes=151)) == slots[4:]
    with pytest.raises(ValueError):
        pack_slots([slots[1], slots[0]], 30)


# --- a backlog of refresh jobs for one specialist computes once (shared cache) ------------------------

def _change_hours(app: Any, profile_id: int, hours: list[tuple[int, str, str]]) -> None:
    """A change of hours in its own unit of work, as the availability editor makes it."""
    with app.test_request_context("/", method="POST"):
        set_weekly_hours(profile_id, hours)
        calendar_changed([profile_id])
        commit()


def _run_refresh_jobs(app: Any) -> list[int]:
    """Run the queued refresh jobs one by one, like a worker: the statements each ran."""
    counts = []
    huey = huey_of(app)
    while (task := huey.dequeue()) is not None:
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            huey.execute(task)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        if task.name == refresh_availability.__name__:
            counts.append(len(statements))
    return counts


def test_a_backlog_of_refresh_jobs_for_one_specialist_computes_once(app, database_url, make_specialist, tmp_path):
    """Three changes before the worker gets to them: the first job computes with all three in it,
    the two after it run no statement (their changes were in what it read) — and what is shown is
    the calendar after the last change. A change after that refresh is computed again."""
    profile_id = make_specialist().id
    db.session.commit()
    with two_apps_sharing_redis(database_url, tmp_path) as (app_a, _app_b, _redis, _prefix):
        huey_of(app_a).immediate = False
        with app_a.app_context():
            _change_hours(app_a, profile_id, [(day, "08:00", "18:00") for day in range(7)])
            _change_hours(app_a, profile_id, [(day, "09:00", "10:00") for day in range(7)])
            _change_hours(app_a, profile_id, [])  # no hours left: nothing is free
            first, *others = _run_refresh_jobs(app_a)
            assert first > 0 and others == [0, 0], (first, others)
            assert unpack_slots(snapshot_of(profile_id).slots, 30) == []

            _change_hours(app_a, profile_id, [(day, "09:00", "10:00") for day in range(7)])
            [again] = _run_refresh_jobs(app_a)
            assert again > 0
            assert len(unpack_slots(snapshot_of(profile_id).slots, 30)) > 0


def test_without_a_shared_cache_every_refresh_job_computes(app, make_specialist):
    """A worker cannot read what a web process counted in its own memory: each job computes."""
    profile_id = make_specialist().id
    db.session.commit()
    huey_of(app).immediate = False
    try:
        _change_hours(app, profile_id, [(day, "08:00", "18:00") for day in range(7)])
        _change_hours(app, profile_id, [])
        assert all(count > 0 for count in _run_refresh_jobs(app))
        assert unpack_slots(snapshot_of(profile_id).slots, 30) == []
    finally:
        huey_of(app).immediate = True
