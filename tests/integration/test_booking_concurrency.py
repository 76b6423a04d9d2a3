"""Double booking is impossible under concurrency — on SQLite AND PostgreSQL.

Many threads, each with its own app context (so its own session and connection), are released
at a barrier and book the same slot at once. Exactly one consultation and one set of occupied
blocks must exist afterwards; every other thread gets the friendly "just taken" result and no
thread raises. Plant a bug (drop the unique constraint on occupied_blocks, or validate only in
Python) and these tests fail.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from marketplace.auth.models import Role, User
from marketplace.consultations.availability import free_slots_for, refresh_next_available, set_weekly_hours
from marketplace.consultations.booking import SLOT_TAKEN, BookingError, book_free_consultation, format_slot
from marketplace.consultations.models import Consultation, OccupiedBlock
from marketplace.database import commit, rollback, utcnow
from marketplace.extensions import db
from marketplace.specialists.models import SpecialistProfile
from tests.factories import live_session_id

THREADS = 50
pytestmark = [
    # Every thread holds its own connection: enough for all of them at once (the default pool is 5 + 10).
    pytest.mark.config(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": THREADS + 5, "max_overflow": 5, "pool_timeout": 60,
                                                  "pool_pre_ping": True}),
    # One worker runs these one after another: ~55 PostgreSQL connections each (max_connections is 100).
    pytest.mark.xdist_group("booking_concurrency"),
]



def bookable_specialist(make_specialist: Callable[..., Any]) -> SpecialistProfile:
    profile = make_specialist()
    set_weekly_hours(profile.id, [(day, "00:00", "23:30") for day in range(7)])
    db.session.flush()
    refresh_next_available([profile.id])
    db.session.commit()
    return profile


def future_slots(profile: SpecialistProfile, count: int) -> list:
    limit = utcnow() + timedelta(hours=14)  # well past the 12 h notice
    return [s for s in free_slots_for(profile) if s >= limit][:count]


def run_at_barrier(app: Any, jobs: list[Callable[[], str]]) -> tuple[list[str], list[str]]:
    """Run each job in its own thread and app context, all released together; collect results."""
    barrier = threading.Barrier(len(jobs))
    results: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker(job: Callable[[Callable[[], None]], str]) -> None:
        with app.app_context():
            try:
                outcome = job(lambda: barrier.wait(timeout=60))
                commit()
                with lock:
                    results.append(outcome)
            except Exception as exc:  # noqa: BLE001 - every exception is a test failure
                rollback()
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads), "a booking thread hung"
    return results, errors


def service_job(client_id: int, profile_id: int, slot: Any) -> Callable[[Callable[[], None]], str]:
    def job(wait: Callable[[], None]) -> str:
        client = db.session.get(User, client_id)
        profile = db.session.get(SpecialistProfile, profile_id)
        assert client is not None and profile is not None
        _ = profile.formats  # loaded before the barrier, like a request that parsed its form
        db.session.commit()  # end the read transaction; nothing is held while waiting
        wait()
        try:
            book_free_consultation(client, profile, slot, "video", "Racing for this slot")
        except BookingError as exc:
            assert exc.message == SLOT_TAKEN or exc.code == "duplicate", exc.message
            return exc.code
        return "ok"

    return job


def test_fifty_clients_race_for_the_same_slot(app, make_specialist, make_user):
    profile = bookable_specialist(make_specialist)
    slot = future_slots(profile, 1)[0]
    client_ids = [make_user(Role.CLIENT).id for _ in range(THREADS)]
    profile_id = profile.id

    results, errors = run_at_barrier(app, [service_job(cid, profile_id, slot) for cid in client_ids])

    assert errors == []
    assert sorted(set(results)) == ["ok", "taken"] and results.count("ok") == 1, results
    assert results.count("taken") == THREADS - 1
    db.session.rollback()  # end this session's read snapshot: see what the others committed
    consultations = db.session.scalars(select(Consultation)).all()
    assert len(consultations) == 1 and consultations[0].start_utc == slot
    blocks = db.session.execute(select(OccupiedBlock.consultation_id, OccupiedBlock.block_start_utc)).all()
    assert sorted(b.block_start_utc for b in blocks) == [slot, slot + timedelta(minutes=15)]
    assert {b.consultation_id for b in blocks} == {consultations[0].id}


def test_one_client_racing_for_several_slots_gets_exactly_one(app, make_specialist, make_user):
    profile = bookable_specialist(make_specialist)
    slots = future_slots(profile, 20)
    assert len(slots) == 20
    client_id = make_user(Role.CLIENT).id
    profile_id = profile.id

    results, errors = run_at_barrier(app, [service_job(client_id, profile_id, slot) for slot in slots])

    assert errors == []
    assert results.count("ok") == 1, results
    # Losers are refused as "duplicate" (the pair's partial unique index) — or, on SQLite outside a
    # request, "taken" when their stale read snapshot could not take the write lock.
    assert len(results) == len(slots) and set(results) <= {"ok", "duplicate", "taken"}, results
    db.session.rollback()  # end this session's read snapshot: see what the others committed
    assert db.session.scalar(select(func.count(Consultation.id))) == 1
    assert db.session.scalar(select(func.count(OccupiedBlock.id))) == 2


def test_concurrent_http_posts_give_one_booking_and_friendly_409s(app, make_specialist, make_user):
    """The same race through the real view: no 500s, losers see the message with their note."""
    profile = bookable_specialist(make_specialist)
    slot = future_slots(profile, 1)[0]
    users = [make_user(Role.CLIENT) for _ in range(20)]
    session_ids = [live_session_id(u) for u in users]
    slug = profile.slug
    db.session.commit()

    def http_job(session_id: str, n: int) -> Callable[[Callable[[], None]], str]:
        def job(wait: Callable[[], None]) -> str:
            client = FlaskClient(app, app.response_class, use_cookies=True)
            with client.session_transaction() as session:
                session["_user_id"] = session_id
                session["_fresh"] = True
            wait()
            response = client.post(f"/specialists/{slug}/book", data={
                "slot": format_slot(slot), "format": "video", "note": f"note number {n}", "consent": "y"})
            if response.status_code == 302:
                return "ok"
            body = response.get_data(as_text=True)
            assert response.status_code == 409, response.status_code
            assert SLOT_TAKEN in body and f"note number {n}" in body
            return "taken"

        return job

    results, errors = run_at_barrier(app, [http_job(sid, n) for n, sid in enumerate(session_ids)])

    assert errors == []
    assert results.count("ok") == 1 and results.count("taken") == len(users) - 1, results
    db.session.rollback()  # end this session's read snapshot: see what the others committed
    assert db.session.scalar(select(func.count(Consultation.id))) == 1
    assert db.session.scalar(select(func.count(OccupiedBlock.id))) == 2


def test_daily_cap_holds_when_clients_race_for_different_slots_of_one_day(app, make_specialist, make_user):
    """max_per_day=1: ten clients book ten different slots of the same local day at once → one booking."""
    from marketplace.consultations.models import SchedulingSettings

    profile = bookable_specialist(make_specialist)
    settings = db.session.get(SchedulingSettings, profile.id)
    if settings is None:
        settings = SchedulingSettings.defaults_for(profile.id)
        db.session.add(settings)
    settings.max_per_day = 1
    db.session.commit()
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(profile.timezone)
    slots = future_slots(profile, 48)
    first_day = slots[0].astimezone(zone).date()
    same_day = [s for s in slots if s.astimezone(zone).date() == first_day][:10]
    if len(same_day) < 2:  # the first day may be nearly over: use the next one
        next_day = [s for s in slots if s.astimezone(zone).date() != first_day]
        same_day = [s for s in next_day if s.astimezone(zone).date() == next_day[0].astimezone(zone).date()][:10]
    assert len(same_day) >= 2
    client_ids = [make_user(Role.CLIENT).id for _ in same_day]
    profile_id = profile.id

    results, errors = run_at_barrier(app, [service_job(cid, profile_id, slot)
                                           for cid, slot in zip(client_ids, same_day, strict=True)])

    assert errors == []
    assert results.count("ok") == 1, results
    db.session.rollback()  # end this session's read snapshot: see what the others committed
    assert db.session.scalar(select(func.count(Consultation.id))) == 1
