"""Requests never go unanswered (issue 13, item 5): the specialist's 12-hour reminder, the expiry
of a request not confirmed by its deadline (slot released, the client e-mailed once with times to
book, the free consultation kept), the per-specialist setting, and the outcome / no-show e-mails.

Service level with a controllable ``now`` (as tests/integration/test_reminders.py), and over HTTP;
both databases (the ``app`` fixture is parametrised).
"""
from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from marketplace.auth.models import Role
from marketplace.consultations.availability import AvailabilityError, bookable_slots, update_scheduling_settings
from marketplace.consultations.booking import book_free_consultation, client_standing
from marketplace.consultations.demo import seed_availability
from marketplace.consultations.follow_up import expire_requests, send_request_reminders
from marketplace.consultations.lifecycle import confirm_consultation
from marketplace.consultations.models import (
    Consultation,
    ConsultationState,
    OccupiedBlock,
    SchedulingSettings,
)
from marketplace.consultations.services import requests_waiting
from marketplace.database import commit
from marketplace.demo.registry import DemoContext
from marketplace.extensions import db
from marketplace.notifications.models import OutboxMail
from marketplace.timeutil import format_datetime, utc_instant
from tests.integration.test_consultations import (
    book as book_committed,
)
from tests.integration.test_consultations import (
    book_via_http,
    first_free_slot,
    ics_of,
    login,
    mails,
    move_into_past,
    open_all_week,
)

TOKYO = "Asia/Tokyo"


@pytest.fixture
def specialist(app, make_specialist):
    profile = make_specialist(display_name="Dr Mara Weiss", formats=["video"], timezone="Europe/Berlin")
    open_all_week(profile)  # no settings row: requests wait for the specialist; 12 h notice, 48 h to confirm
    return profile


@pytest.fixture
def patient(app, make_user):
    return make_user(Role.CLIENT, display_name="Alex Morgan", timezone=TOKYO)


@pytest.fixture
def similar(app, make_specialist):
    """Four specialists sharing a specialty with ``specialist`` and one who does not."""
    profiles = [make_specialist(display_name=f"Dr Similar {i}", specialties=["anxiety"]) for i in range(4)]
    profiles.append(make_specialist(display_name="Dr Elsewhere", specialties=["grief"]))
    for p in profiles:
        open_all_week(p)
    return profiles


def to(app, user) -> list:
    return [m for m in mails(app) if user.email.lower() in str(m["To"]).lower()]


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def fresh(consultation: Consultation) -> Consultation:
    db.session.expire_all()  # see what the sweeps (and the jobs they queued) committed
    found = db.session.get(Consultation, consultation.id)
    assert found is not None
    return found


def book(client_user, profile, slot=None) -> Consultation:
    """Book through the service and run what follows its commit, as a request would (mail,
    availability refresh)."""
    consultation = book_committed(client_user, profile, slot)
    commit()
    return consultation


def far_request(patient, specialist) -> Consultation:
    """A request three days ahead: its deadline is 48 h after it was made (before the notice)."""
    return book(patient, specialist, first_free_slot(specialist, after_hours=72))


# --- the deadline ---------------------------------------------------------------------------------

def test_the_deadline_is_48_hours_or_the_minimum_notice_before_the_start_whichever_is_first(
        app, specialist, patient, make_user):
    far = far_request(patient, specialist)
    assert far.confirm_by_utc == far.created_at + timedelta(hours=48)

    soon_slot = first_free_slot(specialist, after_hours=6)  # ~19 h ahead: 12 h notice → ~7 h to confirm
    soon = book(make_user(Role.CLIENT), specialist, soon_slot)
    deadline = soon_slot - timedelta(hours=12)
    assert soon.confirm_by_utc == deadline < soon.created_at + timedelta(hours=48)
    assert expire_requests(now=deadline - timedelta(minutes=1)) == 0
    assert fresh(soon).state is ConsultationState.REQUESTED
    assert expire_requests(now=deadline) == 1
    assert fresh(soon).state is ConsultationState.EXPIRED
    assert fresh(far).state is ConsultationState.REQUESTED  # its 48 h are not over


def test_the_time_to_confirm_is_a_setting_of_the_specialist(app, specialist, patient):
    update_scheduling_settings(specialist, version_id=None, buffer_minutes=0, min_notice_minutes=720,
                               horizon_days=30, max_per_day=None, auto_confirm=False, confirm_within_hours=6)
    db.session.commit()
    request = far_request(patient, specialist)
    assert request.confirm_by_utc == request.created_at + timedelta(hours=6)
    assert expire_requests(now=request.created_at + timedelta(hours=6)) == 1


@pytest.mark.parametrize("hours", [0, -1, 169, 10_000])
def test_the_setting_refuses_values_out_of_range(app, specialist, hours):
    with pytest.raises(AvailabilityError, match="between 1 and 168 hours"):
        update_scheduling_settings(specialist, version_id=None, buffer_minutes=0, min_notice_minutes=720,
                                   horizon_days=30, max_per_day=None, auto_confirm=False, confirm_within_hours=hours)
    db.session.rollback()
    assert db.session.get(SchedulingSettings, specialist.id) is None


def test_the_settings_form_shows_validates_and_saves_the_time_to_confirm(client, specialist):
    login(client, specialist.user)
    page = client.get("/specialists/me/availability").get_data(as_text=True)
    assert '<label for="confirm_within_hours">Time to confirm a request (hours)</label>' in page
    assert 'value="48"' in page
    data = {"buffer_minutes": "0", "min_notice_hours": "12", "horizon_days": "30", "version_id": "0"}
    for bad in ("0", "169", "soon", ""):
        response = client.post("/specialists/me/availability/settings", data={**data, "confirm_within_hours": bad})
        assert response.status_code == 422, bad
        text = response.get_data(as_text=True)
        assert "Enter between 1 and 168 hours (7 days)." in text or "Enter how many hours" in text, bad
        assert db.session.get(SchedulingSettings, specialist.id) is None  # nothing saved
    response = client.post("/specialists/me/availability/settings", data={**data, "confirm_within_hours": "24"})
    assert response.status_code == 302
    assert db.session.get(SchedulingSettings, specialist.id).confirm_within_hours == 24


# --- the 12-hour reminder -------------------------------------------------------------------------

def test_the_specialist_is_reminded_once_after_12_hours_and_not_before(app, specialist, patient):
    request = far_request(patient, specialist)
    made = request.created_at
    assert send_request_reminders(now=made + timedelta(hours=11, minutes=59)) == 0
    assert to(app, specialist.user) and len(to(app, specialist.user)) == 1  # only the "new request" mail
    assert send_request_reminders(now=made + timedelta(hours=12)) == 1
    assert send_request_reminders(now=made + timedelta(hours=12, minutes=1)) == 0
    assert send_request_reminders(now=made + timedelta(hours=30)) == 0

    reminders = [m for m in to(app, specialist.user) if str(m["Subject"]).startswith("Reminder")]
    assert len(reminders) == 1
    assert str(reminders[0]["Subject"]) == "Reminder: Alex is waiting for you to confirm"
    text = body(reminders[0])
    assert "Alex asked for a free 30-minute consultation" in text and "Morgan" not in text  # first name
    assert format_datetime(request.start_utc, "Europe/Berlin") in text  # the specialist's zone, named
    assert f"by {format_datetime(request.confirm_by_utc, 'Europe/Berlin')}" in text  # the deadline
    assert f"/consultations/{request.id}" in text
    assert [m for m in to(app, patient) if "Reminder" in str(m["Subject"])] == []
    assert fresh(request).request_reminder_sent_at == made + timedelta(hours=12)


def test_the_reminder_cli_command_covers_waiting_requests(app, specialist, patient):
    request = far_request(patient, specialist)
    db.session.execute(update(Consultation).where(Consultation.id == request.id)
                       .values(created_at=request.created_at - timedelta(hours=13)))
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert "1 × request waiting 12 h" in result.output
    assert "0 × request waiting 12 h" in runner.invoke(args=["send-reminders"]).output
    assert len([m for m in to(app, specialist.user) if str(m["Subject"]).startswith("Reminder")]) == 1


def test_a_confirmed_request_neither_reminds_nor_expires(app, specialist, patient, make_specialist, make_user):
    request = far_request(patient, specialist)
    confirm_consultation(request, specialist.user)
    commit()
    auto = make_specialist(formats=["video"])
    open_all_week(auto, auto_confirm=True)
    booked = book(make_user(Role.CLIENT), auto, first_free_slot(auto, after_hours=72))
    assert booked.state is ConsultationState.CONFIRMED and booked.confirm_by_utc is None
    later = request.created_at + timedelta(hours=60)
    assert send_request_reminders(now=later - timedelta(hours=40)) == 0
    assert expire_requests(now=later) == 0
    assert fresh(request).state is ConsultationState.CONFIRMED and fresh(booked).state is ConsultationState.CONFIRMED
    assert not [m for m in mails(app) if "Reminder" in str(m["Subject"]) or "Expired" in str(m["Subject"])]


# --- expiry ---------------------------------------------------------------------------------------

def test_an_expired_request_frees_its_time_and_tells_the_client_once(app, specialist, patient, similar):
    slot = first_free_slot(specialist, after_hours=72)
    request = book(patient, specialist, slot)
    assert slot not in bookable_slots(specialist)
    assert requests_waiting(specialist.user) == 1
    deadline = request.confirm_by_utc

    assert expire_requests(now=deadline) == 1
    assert expire_requests(now=deadline + timedelta(minutes=1)) == 0  # the sweep again: nothing more
    expired = fresh(request)
    assert expired.state is ConsultationState.EXPIRED
    assert db.session.scalar(select(func.count()).where(OccupiedBlock.consultation_id == request.id)) == 0
    assert slot in bookable_slots(specialist)  # the snapshot was refreshed: bookable again
    assert requests_waiting(specialist.user) == 0

    client_mails = [m for m in to(app, patient) if "did not confirm" in str(m["Subject"])]
    assert len(client_mails) == 1
    assert str(client_mails[0]["Subject"]) == ("Dr Mara Weiss did not confirm in time — your free consultation "
                                                 "is still available")
    text = body(client_mails[0])
    assert format_datetime(slot, TOKYO) in text and "JST (Asia/Tokyo)" in text  # the client's zone, named
    assert "still available" in text and f"/specialists/{specialist.slug}/book" in text
    next_free = bookable_slots(specialist)[0]
    assert format_datetime(next_free, TOKYO) in text  # the specialist's next free times, in the client's zone
    named = [p for p in similar if p.display_name in text]
    assert len(named) == 3 and all(f"/specialists/{p.slug}" in text for p in named)
    assert "Dr Elsewhere" not in text  # no shared specialty
    assert format_datetime(bookable_slots(named[0])[0], TOKYO) in text  # their soonest slots
    calendar = ics_of(client_mails[0])
    assert str(calendar["METHOD"]) == "CANCEL"

    specialist_mails = [m for m in to(app, specialist.user) if str(m["Subject"]).startswith("Expired")]
    assert len(specialist_mails) == 1
    assert "Alex" in body(specialist_mails[0]) and "free again" in body(specialist_mails[0])
    keys = db.session.scalars(select(OutboxMail.dedupe_key).where(OutboxMail.dedupe_key.like("expired:%"))).all()
    assert sorted(keys) == [f"expired:{request.id}:client", f"expired:{request.id}:specialist"]

    # The client's free consultation with this specialist stays available: the same time, again.
    assert client_standing(patient.id, specialist.id).can_book_free
    book_free_consultation(patient, specialist, slot, "video")
    db.session.commit()


def test_an_expired_request_cannot_be_confirmed_and_a_late_confirmation_is_refused(app, client, specialist, patient):
    request = far_request(patient, specialist)
    db.session.execute(update(Consultation).where(Consultation.id == request.id)
                       .values(confirm_by_utc=request.created_at - timedelta(minutes=1)))
    db.session.commit()
    login(client, specialist.user)
    assert client.post(f"/consultations/{request.id}/confirm").status_code == 422  # past its deadline
    assert fresh(request).state is ConsultationState.REQUESTED
    result = app.test_cli_runner().invoke(args=["expire-requests"])  # the operators' command: the same sweep
    assert result.exit_code == 0 and "requests expired: 1" in result.output, result.output
    assert client.post(f"/consultations/{request.id}/confirm").status_code == 422
    assert fresh(request).state is ConsultationState.EXPIRED


def race(app, sweep, runs: int = 4) -> list[int]:
    """``sweep()`` in ``runs`` threads at once (workers on several hosts); what each returned."""
    barrier = threading.Barrier(runs)
    errors: list[str] = []
    counts: list[int] = []

    def worker() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                counts.append(sweep())
                commit()
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    db.session.rollback()  # end this session's read snapshot: see what the others committed
    return counts


def test_concurrent_expiry_runs_expire_and_mail_once(app, specialist, make_user):
    requests = [far_request(make_user(Role.CLIENT), specialist) for _ in range(3)]
    now = max(r.confirm_by_utc for r in requests)
    counts = race(app, lambda: expire_requests(now=now))
    # Never more than one claim per request; one a run skipped on a lock timeout goes with the next run.
    assert sum(counts) + expire_requests(now=now) == 3
    keys = db.session.scalars(select(OutboxMail.dedupe_key).where(OutboxMail.dedupe_key.like("expired:%"))).all()
    assert len(keys) == len(set(keys)) == 6  # 3 requests × (client + specialist), queued once each
    assert all(fresh(r).state is ConsultationState.EXPIRED for r in requests)


def test_concurrent_reminder_runs_remind_once(app, specialist, make_user):
    requests = [far_request(make_user(Role.CLIENT), specialist) for _ in range(3)]
    now = max(r.created_at for r in requests) + timedelta(hours=12)
    counts = race(app, lambda: send_request_reminders(now=now))
    assert sum(counts) + send_request_reminders(now=now) == 3
    keys = db.session.scalars(select(OutboxMail.dedupe_key)
                              .where(OutboxMail.dedupe_key.like("request-reminder:%"))).all()
    assert len(keys) == len(set(keys)) == 3


def test_a_request_from_before_deadlines_were_stored_expires_by_the_default_rule(app, specialist, patient):
    """Rows booked before this change have no stored deadline: 48 h after the request, or 12 h before
    the start. One whose start has even passed (the sweep was down) is expired without claiming
    its time is free again."""
    request = far_request(patient, specialist)
    db.session.execute(update(Consultation).where(Consultation.id == request.id).values(confirm_by_utc=None))
    db.session.commit()
    made = fresh(request).created_at
    assert fresh(request).confirm_deadline == made + timedelta(hours=48)
    assert expire_requests(now=made + timedelta(hours=47)) == 0
    move_into_past(fresh(request))
    assert expire_requests(now=made + timedelta(hours=1)) == 1
    [mail] = [m for m in to(app, patient) if "did not confirm" in str(m["Subject"])]
    assert "has expired. We are sorry" in body(mail) and "the time is free again" not in body(mail)


# --- over HTTP ------------------------------------------------------------------------------------

def test_the_client_sees_the_deadline_and_can_book_again_after_expiry(client, specialist, patient):
    slot = first_free_slot(specialist, after_hours=72)
    login(client, patient)
    assert book_via_http(client, specialist, slot).status_code == 302
    request = db.session.scalar(select(Consultation).where(Consultation.client_id == patient.id))
    page = client.get(f"/consultations/{request.id}").get_data(as_text=True)
    deadline = format_datetime(request.confirm_by_utc, TOKYO)
    instant = utc_instant(request.confirm_by_utc)
    assert re.search(f'Dr Mara Weiss has until <time datetime="{instant}"[^>]*>{re.escape(deadline)}</time> to confirm', page)
    assert "JST (Asia/Tokyo)" in deadline
    assert "already have a free consultation" in client.get(f"/specialists/{specialist.slug}/book").get_data(as_text=True)
    profile_page = client.get(f"/specialists/{specialist.slug}").get_data(as_text=True)
    waiting = f'waiting for Dr Mara Weiss to confirm \\(by <span data-testid="confirm-deadline"><time datetime="{instant}"'
    assert re.search(waiting, profile_page)
    assert deadline in profile_page

    assert expire_requests(now=request.confirm_by_utc) == 1
    page = client.get(f"/consultations/{request.id}").get_data(as_text=True)
    assert 'data-testid="consultation-state">Expired<' in page and "book another time" in page
    assert "waiting for Dr Mara Weiss" not in client.get(f"/specialists/{specialist.slug}").get_data(as_text=True)
    booking = client.get(f"/specialists/{specialist.slug}/book").get_data(as_text=True)
    assert "already have a free consultation" not in booking
    assert book_via_http(client, specialist, slot).status_code == 302  # the same time, booked again
    assert db.session.scalar(select(func.count()).where(
        Consultation.client_id == patient.id, Consultation.state == ConsultationState.REQUESTED)) == 1


def test_the_specialist_sees_the_deadline_and_the_badge_drops_on_expiry(client, specialist, patient):
    request = far_request(patient, specialist)
    login(client, specialist.user)
    page = client.get(f"/consultations/{request.id}").get_data(as_text=True)
    assert format_datetime(request.confirm_by_utc, "Europe/Berlin") in page
    assert 'data-testid="requests-badge">1<' in page
    listing = client.get("/consultations").get_data(as_text=True)
    assert 'data-testid="row-confirm-deadline">Confirm by <time' in listing
    assert format_datetime(request.confirm_by_utc, "Europe/Berlin") in listing
    expire_requests(now=request.confirm_by_utc)
    assert 'data-testid="requests-badge"' not in client.get("/specialists").get_data(as_text=True)
    stats = client.get("/specialists/me/stats").get_data(as_text=True)
    assert '<dd data-stat="expired">1</dd>' in stats and '<dd data-stat="upcoming">0</dd>' in stats


# --- outcome and no-show --------------------------------------------------------------------------

def test_not_a_fit_is_emailed_once_with_the_note_and_suggestions(client, app, specialist, patient, similar):
    request = book(patient, specialist)
    move_into_past(request)
    login(client, specialist.user)
    response = client.post(f"/consultations/{request.id}/outcome",
                           data={"outcome": "not_a_fit", "outcome_note": "A trauma specialist would suit you.",
                                 "confirm": "y"})
    assert response.status_code == 302
    assert client.post(f"/consultations/{request.id}/outcome",
                       data={"outcome": "proceed", "confirm": "y"}).status_code == 422  # once
    outcome = [m for m in to(app, patient) if "outcome" in str(m["Subject"])]
    assert len(outcome) == 1
    assert str(outcome[0]["Subject"]) == "Dr Mara Weiss shared the outcome of your free consultation"
    text = body(outcome[0])
    assert "A trauma specialist would suit you." in text and "another specialist may suit you better" in text
    named = [p for p in similar if p.display_name in text]
    assert len(named) == 3 and all(f"/specialists/{p.slug}" in text for p in named)
    assert format_datetime(request.start_utc, TOKYO) in text


def test_proceed_is_emailed_with_the_note_and_the_profile(client, app, specialist, patient, similar):
    request = book(patient, specialist)
    move_into_past(request)
    login(client, specialist.user)
    client.post(f"/consultations/{request.id}/outcome", data={"outcome": "proceed", "outcome_note": "See you soon.",
                                                                  "confirm": "y"})
    [outcome] = [m for m in to(app, patient) if "outcome" in str(m["Subject"])]
    text = body(outcome)
    assert "See you soon." in text and "glad to continue" in text and f"/specialists/{specialist.slug}" in text
    assert not any(p.display_name in text for p in similar)


def test_a_no_show_is_emailed_once_with_the_note_and_suggestions(client, app, specialist, patient, similar):
    request = book(patient, specialist)
    move_into_past(request)
    login(client, specialist.user)
    page = client.get(f"/consultations/{request.id}").get_data(as_text=True)
    assert "Note for the client (optional)" in page
    too_long = client.post(f"/consultations/{request.id}/no-show", data={"note": "x" * 1001, "confirm": "y"})
    assert too_long.status_code == 422 and fresh(request).state is not ConsultationState.NO_SHOW
    response = client.post(f"/consultations/{request.id}/no-show",
                           data={"note": "I waited 20 minutes. Write to me to find another time.", "confirm": "y"})
    assert response.status_code == 302
    assert client.post(f"/consultations/{request.id}/no-show", data={"confirm": "y"}).status_code == 422  # once
    assert fresh(request).state is ConsultationState.NO_SHOW
    missed = [m for m in to(app, patient) if "missed" in str(m["Subject"])]
    assert len(missed) == 1
    text = body(missed[0])
    assert "did not attend" in text and "I waited 20 minutes." in text
    named = [p for p in similar if p.display_name in text]
    assert len(named) == 3 and all(f"/specialists/{p.slug}" in text for p in named)
    assert format_datetime(request.start_utc, TOKYO) in text


# --- demo -----------------------------------------------------------------------------------------

def test_the_demo_has_a_waiting_request_and_an_expired_one_with_its_mail(app, make_specialist, make_user):
    profiles = [make_specialist(formats=["video"]) for _ in range(4)]
    clients = [make_user(Role.CLIENT, timezone=TOKYO) for _ in range(3)]
    ctx = DemoContext(clients=clients, profiles=profiles, specialist_users=[p.user for p in profiles])
    seed_availability(ctx)
    commit()
    seed_availability(ctx)  # idempotent
    commit()

    assert requests_waiting(profiles[0].user) == 1  # the demo specialist's navigation shows it
    expired = db.session.scalars(select(Consultation).where(Consultation.state == ConsultationState.EXPIRED)).all()
    assert [(c.client_id, c.specialist_id) for c in expired] == [(clients[0].id, profiles[2].id)]
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.dedupe_key == f"expired:{expired[0].id}:client"))
    assert mail is not None and mail.recipient == clients[0].email
    [sent] = [m for m in to(app, clients[0]) if "did not confirm" in str(m["Subject"])]
    assert "still available" in body(sent) and "(Asia/Tokyo)" in body(sent)


def test_the_periodic_jobs_remind_and_expire(app, specialist, patient, make_user):
    """The queue's scheduler runs both sweeps every minute (here: the registered jobs, run at once)."""
    tasks = app.extensions["jobs"].tasks
    reminder_job = tasks["marketplace.consultations.follow_up.send_due_request_reminders"]
    expiry_job = tasks["marketplace.consultations.follow_up.expire_due_requests"]
    waiting = far_request(patient, specialist)
    overdue = far_request(make_user(Role.CLIENT), specialist)
    db.session.execute(update(Consultation).where(Consultation.id == waiting.id)
                       .values(created_at=waiting.created_at - timedelta(hours=13)))
    db.session.execute(update(Consultation).where(Consultation.id == overdue.id)
                       .values(confirm_by_utc=overdue.created_at - timedelta(minutes=1)))
    db.session.commit()
    reminder_job()
    expiry_job()
    assert fresh(waiting).request_reminder_sent_at is not None and fresh(waiting).state is ConsultationState.REQUESTED
    assert fresh(overdue).state is ConsultationState.EXPIRED
    assert len([m for m in to(app, specialist.user) if str(m["Subject"]).startswith("Reminder")]) == 1
