"""Moving a paid session in place (issue 17: "occurrences are cancelled or moved one at a time
under the policy"), at the service layer, on SQLite and PostgreSQL.

A single paid session and one occurrence of a weekly series keep their row (payment, series
charge, UID) and get a new time, new occupied blocks and the next SEQUENCE; a series charge
still to be taken is due before the new time. Refused inside the booking's cancellation notice,
for a taken time, for anyone but the client: then nothing changes. The provider is ``FakePay``;
time is injected (``now``).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select

from marketplace.audit import AuditEntry
from marketplace.auth.models import User
from marketplace.consultations.availability import set_weekly_hours
from marketplace.consultations.booking import SLOT_TAKEN, BookingError
from marketplace.consultations.models import (
    Consultation,
    ConsultationKind,
    ConsultationState,
    OccupiedBlock,
)
from marketplace.consultations.moves import CANNOT_MOVE, move_paid_session, move_policy
from marketplace.database import commit, rollback
from marketplace.extensions import db
from marketplace.notifications.models import OutboxMail
from marketplace.payments import services as svc
from marketplace.payments.eligibility import paid_session_slots
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.payments.providers import EventKind, ProviderEvent
from marketplace.payments.series import book_series
from marketplace.payments.series_charges import charge_due_occurrences
from marketplace.payments.series_models import ChargeState, SeriesCharge, SessionSeries
from marketplace.timeutil import format_datetime
from tests.fakes.fake_provider import FakePay
from tests.integration.test_payments import _proceeded

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 5, 3, 10, 0, tzinfo=UTC)  # Monday 3 May 2027, 12:00 in Berlin (CEST)
START = datetime(2027, 5, 6, 10, 0, tzinfo=BERLIN).astimezone(UTC)  # Thursday 10:00 Berlin
TARGET = datetime(2027, 5, 7, 14, 0, tzinfo=BERLIN).astimezone(UTC)  # Friday 14:00 Berlin
BLOCKS = 4  # a 50-minute session: four 15-minute blocks




@pytest.fixture
def specialist(make_specialist: Any) -> Any:
    """Berlin, €90 for 50 minutes, 09:00–17:00 every day (default terms: 24 hours, no late refund)."""
    profile = make_specialist(fee_minor=9000, currency="EUR", session_minutes=50, display_name="Dr Ines Wolf")
    set_weekly_hours(profile.id, [(wd, "09:00", "17:00") for wd in range(7)])
    commit()
    return profile


@pytest.fixture
def patient(make_user: Any, specialist: Any) -> Any:
    client_user = make_user(timezone="Europe/Berlin", display_name="Noor")
    _proceeded(client_user, specialist)
    return client_user


def book_paid(app: Any, fakepay: FakePay, client_user: Any, profile: Any, start: datetime = START) -> Consultation:
    """A single paid session at ``start``, paid (the provider's event applied)."""
    with app.test_request_context():
        payment = svc.book_paid_session(client_user, profile, start, "video", now=NOW)
    commit()
    assert payment.provider_checkout_id is not None
    event = ProviderEvent(id=f"evt-{payment.id}", type="payment.succeeded", kind=EventKind.CHECKOUT_COMPLETED,
                          checkout_id=payment.provider_checkout_id, paid=True, amount_minor=9000, currency="EUR",
                          payment_reference=f"fp_ch_{payment.id}")
    assert svc.process_event(fakepay.name, event, now=NOW + timedelta(minutes=1)) == "confirmed"
    commit()
    consultation = db.session.get(Consultation, payment.consultation_id)
    assert consultation is not None and consultation.state is ConsultationState.CONFIRMED
    return consultation


def book_weekly(app: Any, fakepay: FakePay, client_user: Any, profile: Any, count: int = 3) -> SessionSeries:
    """A weekly series from ``START`` whose card is saved (every occurrence confirmed)."""
    with app.test_request_context():
        series = book_series(client_user, profile, START, count, "video", now=NOW)
    commit()
    assert series.provider_checkout_id is not None
    event = ProviderEvent(id=f"evt-s{series.id}", type="card.saved", kind=EventKind.SETUP_COMPLETED,
                          checkout_id=series.provider_checkout_id, customer="fp_cus_1", payment_method="fp_card_1")
    assert svc.process_event(fakepay.name, event, now=NOW + timedelta(minutes=2)) == "confirmed"
    commit()
    return series


def charges_of(series: SessionSeries) -> list[SeriesCharge]:
    return list(db.session.scalars(select(SeriesCharge).where(SeriesCharge.series_id == series.id)
                                   .order_by(SeriesCharge.id).execution_options(populate_existing=True)))


def blocks_of(consultation: Consultation) -> list[datetime]:
    return sorted(db.session.scalars(select(OccupiedBlock.block_start_utc)
                                     .where(OccupiedBlock.consultation_id == consultation.id)))


def block_starts(start: datetime) -> list[datetime]:
    return [start + timedelta(minutes=15 * i) for i in range(BLOCKS)]


def counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(model)) or 0
                 for model in (Consultation, OccupiedBlock, Payment, SeriesCharge, OutboxMail, AuditEntry))


def state_of(consultation: Consultation) -> tuple[Any, ...]:
    db.session.refresh(consultation)
    return consultation.start_utc, consultation.end_utc, consultation.sequence, consultation.state, blocks_of(consultation)


def move(consultation: Consultation, user: Any, start: datetime | None, now: datetime = NOW) -> Consultation:
    moved = move_paid_session(consultation, user, start, now=now)
    commit()
    return moved


# --- moving --------------------------------------------------------------------------------------

def test_a_paid_session_moves_in_place_keeping_its_payment_and_calendar_identity(
        app: Any, fakepay: FakePay, specialist: Any, patient: Any) -> None:
    session = book_paid(app, fakepay, patient, specialist)
    session.note, session.video_link = "Work stress", "https://meet.example.org/ours"
    session.reminder_24h_sent_at = NOW  # (as if reminded already: the new time is reminded again)
    commit()
    before = (session.id, session.uid, session.payment.id, session.format, session.note, session.video_link,
              session.terms, session.sequence)
    assert START not in paid_session_slots(specialist, NOW) and TARGET in paid_session_slots(specialist, NOW)
    app.extensions.get("mail_outbox", []).clear()

    moved = move(session, patient, TARGET)

    assert moved is session
    db.session.refresh(session)
    assert (session.start_utc, session.end_utc) == (TARGET, TARGET + timedelta(minutes=50))
    assert session.state is ConsultationState.CONFIRMED and session.rescheduled_from_id is None
    assert (session.id, session.uid, session.payment.id, session.format, session.note, session.video_link,
            session.terms, session.sequence - 1) == before
    assert session.payment.status is PaymentStatus.PAID and session.payment.amount_minor == 9000
    assert session.reminder_24h_sent_at is None
    assert db.session.scalar(select(func.count()).select_from(Consultation).where(
        Consultation.kind == ConsultationKind.PAID)) == 1  # no second row
    # The old blocks are freed and the new ones held: the old time is bookable again, the new one not.
    assert blocks_of(session) == block_starts(TARGET)
    free = paid_session_slots(specialist, NOW)
    assert START in free and TARGET not in free
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "consultation.moved")).one()
    assert audit.actor_id == patient.id and audit.target_id == str(session.id)
    assert audit.before == {"start_utc": START.isoformat()}
    assert audit.after == {"start_utc": TARGET.isoformat(), "sequence": session.sequence}


def test_both_are_mailed_the_new_time_in_their_zone_with_the_updated_invitation(
        app: Any, fakepay: FakePay, specialist: Any, patient: Any) -> None:
    specialist.user.timezone = "America/New_York"
    session = book_paid(app, fakepay, patient, specialist)
    app.extensions.get("mail_outbox", []).clear()

    move(session, patient, TARGET)

    mails = {m["To"]: m for m in app.extensions["mail_outbox"]}
    assert set(mails) == {patient.email, specialist.user.email}
    to_client, to_specialist = mails[patient.email], mails[specialist.user.email]
    assert to_client["Subject"] == "Rescheduled: session with Dr Ines Wolf"
    client_text = to_client.get_body(preferencelist=("plain",)).get_content()
    assert "Your session with Dr Ines Wolf has moved to a new time." in client_text
    assert format_datetime(TARGET, "Europe/Berlin") in client_text  # the zone is named
    assert format_datetime(START, "Europe/Berlin") in client_text
    assert "The payment and the cancellation terms stay with the session." in client_text
    specialist_text = to_specialist.get_body(preferencelist=("plain",)).get_content()
    assert "Noor moved their session with you to a new time." in specialist_text
    assert format_datetime(TARGET, "America/New_York") in specialist_text
    for message in (to_client, to_specialist):
        ics = next(icalendar.Calendar.from_ical(part.get_payload(decode=True)) for part in message.iter_attachments()
                   if part.get_content_type() == "text/calendar")
        event = ics.walk("VEVENT")[0]
        assert str(event["uid"]) == session.uid and int(event["sequence"]) == session.sequence  # replaces it
        assert event.decoded("dtstart").astimezone(UTC) == TARGET


def test_a_series_occurrence_moves_and_its_charge_is_due_before_the_new_time(
        app: Any, fakepay: FakePay, specialist: Any, patient: Any) -> None:
    series = book_weekly(app, fakepay, patient, specialist)
    first, second, third = charges_of(series)
    old_dues = [c.due_at for c in (first, second, third)]
    new_start = second.consultation.start_utc + timedelta(days=1, hours=4)  # Friday 14 May 14:00 Berlin

    move(second.consultation, patient, new_start)

    first, second, third = charges_of(series)
    assert second.consultation.start_utc == new_start and second.consultation.state is ConsultationState.CONFIRMED
    assert second.charge_state is ChargeState.SCHEDULED and second.due_at == new_start - timedelta(hours=24)
    assert [first.due_at, third.due_at] == [old_dues[0], old_dues[2]]  # the others stay as they were
    assert second.series_id == series.id and second.payment.status is PaymentStatus.PENDING
    # The job charges it by its new due time, not its old one.
    assert charge_due_occurrences(old_dues[1]) == 1  # (the first occurrence only)
    assert charges_of(series)[1].charge_state is ChargeState.SCHEDULED
    assert charge_due_occurrences(second.due_at) == 1
    assert charges_of(series)[1].charge_state is ChargeState.CHARGED


def test_a_charged_occurrence_keeps_its_payment_and_its_charge(app: Any, fakepay: FakePay, specialist: Any,
                                                               patient: Any) -> None:
    series = book_weekly(app, fakepay, patient, specialist, count=2)
    first = charges_of(series)[0]
    # Charged by the job (run here at its due time; the move below uses the injected earlier clock,
    # so the rule of the hook is seen on its own: only a charge still to be taken follows the move).
    assert charge_due_occurrences(first.due_at) == 1
    first = charges_of(series)[0]
    charged_due, reference = first.due_at, first.payment.provider_payment_id
    assert first.payment.status is PaymentStatus.PAID

    move(first.consultation, patient, TARGET)

    first = charges_of(series)[0]
    assert first.consultation.start_utc == TARGET
    assert (first.charge_state, first.due_at) == (ChargeState.CHARGED, charged_due)
    assert (first.payment.status, first.payment.provider_payment_id) == (PaymentStatus.PAID, reference)
    assert len(fakepay.charges) == 1  # nothing charged again


# --- refusals: nothing changes -------------------------------------------------------------------

def test_inside_the_notice_moving_is_refused_saying_until_when_and_what_cancelling_costs(
        app: Any, fakepay: FakePay, specialist: Any, patient: Any) -> None:
    session = book_paid(app, fakepay, patient, specialist)
    before, rows = state_of(session), counts()
    late = START - timedelta(hours=23)

    with pytest.raises(BookingError) as refused:
        move(session, patient, TARGET, now=late)

    assert refused.value.code == "late"
    until = format_datetime(START - timedelta(hours=24), "Europe/Berlin")  # the zone named
    assert refused.value.message == (
        f"This session can no longer be moved: moving was possible until {until}, 24 hours before the start "
        "(the cancellation notice of this session). If you cancel now, the €90 you paid will not be "
        "refunded, because it is less than 24 hours before the start.")
    rollback()
    assert state_of(session) == before and counts() == rows
    policy = move_policy(session, patient, late)
    assert policy.late and not policy.allowed and policy.until == START - timedelta(hours=24)
    on_time = move_policy(session, patient, START - timedelta(hours=24, minutes=1))
    assert on_time.allowed and on_time.until == START - timedelta(hours=24)


def test_a_new_time_inside_the_notice_is_refused(app: Any, fakepay: FakePay, specialist: Any,
                                                 patient: Any) -> None:
    session = book_paid(app, fakepay, patient, specialist)
    before, rows = state_of(session), counts()
    soon = datetime(2027, 5, 4, 9, 0, tzinfo=BERLIN).astimezone(UTC)  # 21 hours after NOW: a free time, but late

    with pytest.raises(BookingError) as refused:
        move(session, patient, soon)

    assert refused.value.code == "invalid" and "more than 24 hours from now" in refused.value.message
    rollback()
    assert state_of(session) == before and counts() == rows


def test_a_taken_time_is_refused_and_nothing_changes(app: Any, fakepay: FakePay, specialist: Any, patient: Any,
                                                     make_user: Any) -> None:
    other = make_user()
    _proceeded(other, specialist)
    book_paid(app, fakepay, other, specialist, start=TARGET)
    session = book_paid(app, fakepay, patient, specialist)
    before, rows = state_of(session), counts()

    with pytest.raises(BookingError) as refused:
        move(session, patient, TARGET + timedelta(minutes=30))  # overlaps the other session

    assert (refused.value.code, refused.value.message) == ("taken", SLOT_TAKEN)
    rollback()
    assert state_of(session) == before and counts() == rows


def test_a_race_lost_after_the_check_leaves_the_session_where_it_was(
        app: Any, fakepay: FakePay, specialist: Any, patient: Any, make_user: Any) -> None:
    """Another booking takes the time after validation: the block insert fails, the savepoint
    rolls back the deleted blocks and the new time (simulated with a block of another session)."""
    other = make_user()
    _proceeded(other, specialist)
    rival = book_paid(app, fakepay, other, specialist, start=TARGET + timedelta(days=1))
    session = book_paid(app, fakepay, patient, specialist)
    db.session.add(OccupiedBlock(specialist_id=specialist.id, block_start_utc=TARGET + timedelta(minutes=15),
                                 consultation_id=rival.id))
    commit()
    before, rows = state_of(session), counts()

    with pytest.raises(BookingError) as refused:
        move(session, patient, TARGET)

    assert refused.value.code == "taken"
    assert session.start_utc == START  # reloaded as it still is
    rollback()
    assert state_of(session) == before and counts() == rows


def test_only_the_client_of_a_confirmed_session_moves_it(app: Any, fakepay: FakePay, specialist: Any,
                                                         patient: Any, make_user: Any) -> None:
    session = book_paid(app, fakepay, patient, specialist)
    stranger = make_user()
    with app.test_request_context():
        hold = svc.book_paid_session(patient, specialist, TARGET + timedelta(days=1), "video", now=NOW).consultation
    commit()
    before, rows = state_of(session), counts()

    for user, booking in ((specialist.user, session), (stranger, session), (patient, hold)):
        with pytest.raises(BookingError) as refused:
            move(booking, user, TARGET)
        assert (refused.value.code, refused.value.message) == ("invalid", CANNOT_MOVE)
        rollback()
    assert state_of(session) == before and counts() == rows
    assert hold.state is ConsultationState.PENDING_PAYMENT  # awaiting payment: not movable


def test_an_occurrence_whose_charge_was_declined_is_not_moved(app: Any, fakepay: FakePay, specialist: Any,
                                                              patient: Any) -> None:
    series = book_weekly(app, fakepay, patient, specialist, count=2)
    second = charges_of(series)[1]
    # (Declined early, so the notice has not begun: the refusal is the payments hook's alone.)
    second.charge_state, second.release_at = ChargeState.DECLINED, NOW + timedelta(hours=12)
    commit()
    occurrence = second.consultation
    before, rows = state_of(occurrence), counts()

    with pytest.raises(BookingError) as refused:
        move(occurrence, patient, TARGET)

    assert refused.value.code == "invalid"
    assert refused.value.message.startswith("The payment for this session was declined, so it cannot be moved.")
    assert format_datetime(NOW + timedelta(hours=12), "Europe/Berlin") in refused.value.message
    rollback()
    assert state_of(occurrence) == before and counts() == rows


def test_the_same_time_or_none_is_refused(app: Any, fakepay: FakePay, specialist: Any, patient: Any) -> None:
    session = book_paid(app, fakepay, patient, specialist)
    before = state_of(session)
    for start, words in ((START, "Choose a different time"), (None, "Choose a new time"),
                         (START + timedelta(minutes=10), "That time is not available")):
        with pytest.raises(BookingError, match=words):
            move(session, patient, start)
        rollback()
    assert state_of(session) == before


# --- concurrency ---------------------------------------------------------------------------------

def _move_job(consultation_id: int, client_id: int, barrier: threading.Barrier) -> Callable[[], str]:
    def job() -> str:
        consultation = db.session.get(Consultation, consultation_id)
        client_user = db.session.get(User, client_id)
        assert consultation is not None and client_user is not None
        _ = consultation.specialist.formats  # loaded before the barrier, like a request
        commit()  # nothing is held while waiting
        barrier.wait(timeout=60)
        try:
            move_paid_session(consultation, client_user, TARGET, now=NOW)
        except BookingError as exc:
            return exc.code
        return "ok"

    return job


def test_two_moves_to_the_same_time_one_wins(app: Any, fakepay: FakePay, specialist: Any, patient: Any,
                                             make_user: Any) -> None:
    other = make_user()
    _proceeded(other, specialist)
    mine = book_paid(app, fakepay, patient, specialist)
    theirs = book_paid(app, fakepay, other, specialist, start=START + timedelta(days=2))
    sequences = {c.id: c.sequence for c in (mine, theirs)}
    barrier = threading.Barrier(2)
    results: list[str] = []
    errors: list[str] = []

    def worker(job: Callable[[], str]) -> None:
        with app.app_context():
            try:
                outcome = job()
                commit()
                results.append(outcome)
            except Exception as exc:  # noqa: BLE001 - every exception is a test failure
                rollback()
                errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(_move_job(c.id, c.client_id, barrier),))
               for c in (mine, theirs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert errors == [] and sorted(results) == ["ok", "taken"], (results, errors)
    rollback()  # see what the threads committed
    sessions = [db.session.get(Consultation, c.id, populate_existing=True) for c in (mine, theirs)]
    winners = [c for c in sessions if c is not None and c.start_utc == TARGET]
    assert len(winners) == 1 and winners[0].sequence == sequences[winners[0].id] + 1
    loser = next(c for c in sessions if c is not None and c is not winners[0])
    assert loser.sequence == sequences[loser.id] and blocks_of(loser) == block_starts(loser.start_utc)
    assert db.session.scalars(select(OccupiedBlock.consultation_id).where(
        OccupiedBlock.block_start_utc.in_(block_starts(TARGET)))).all() == [winners[0].id] * BLOCKS
