"""Careful actions on the consultation page (issue 14): completed / no-show / outcome need a
confirmation that works without script; a record can be undone within 24 hours (the client, if
e-mailed, gets a short correction written on delivery); destructive buttons use danger styling;
cancelling needs a reason from the specialist only; a rescheduled booking reads "Rescheduled" with
a link to the new one.

Service level and over HTTP; both databases (the ``app`` fixture is parametrised).
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.auth.models import Role
from marketplace.consultations.booking import reschedule_consultation
from marketplace.consultations.lifecycle import (
    CORRECTION_TOO_LATE,
    NOTHING_TO_UNDO,
    SPECIALIST_REASON_REQUIRED,
    ConsultationError,
    cancel_consultation,
    complete_consultation,
    mark_no_show,
    record_outcome,
    undo_record,
)
from marketplace.consultations.models import Consultation, ConsultationOutcome, ConsultationState
from marketplace.database import commit, utcnow
from marketplace.extensions import db
from marketplace.notifications.models import MailStatus, OutboxMail
from tests.integration.test_consultations import (
    book,
    first_free_slot,
    login,
    mails,
    move_into_past,
    open_all_week,
)

CONFIRM = {"confirm": "y"}


@pytest.fixture
def specialist(app, make_specialist):
    profile = make_specialist(display_name="Dr Mara Weiss", formats=["video"], timezone="Europe/Berlin")
    open_all_week(profile)
    return profile


@pytest.fixture
def patient(app, make_user):
    return make_user(Role.CLIENT, display_name="Alex Morgan", timezone="Asia/Tokyo")


def to(app, user) -> list:
    return [m for m in mails(app) if user.email.lower() in str(m["To"]).lower()]


def text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def subjects(app, user) -> list[str]:
    return [str(m["Subject"]) for m in to(app, user)]


def held(patient, specialist) -> Consultation:
    consultation = book(patient, specialist)
    move_into_past(consultation)
    return consultation


def fresh(consultation: Consultation) -> Consultation:
    db.session.expire_all()
    found = db.session.get(Consultation, consultation.id)
    assert found is not None
    return found


# --- undo / correction: the service rule ----------------------------------------------------------

def test_a_no_show_undone_within_24_hours_is_open_again_and_the_client_gets_a_correction(app, specialist, patient):
    consultation = held(patient, specialist)
    mark_no_show(consultation, specialist.user, "I waited 20 minutes.")
    commit()
    assert any("missed" in s for s in subjects(app, patient))
    undo_record(fresh(consultation), specialist.user, now=utcnow() + timedelta(hours=23))
    commit()
    undone = fresh(consultation)
    assert undone.state is ConsultationState.CONFIRMED
    assert undone.outcome_note is None and undone.outcome_recorded_at is None
    [correction] = [m for m in to(app, patient) if "Correction" in str(m["Subject"])]
    body = text(correction)
    assert "Dr Mara Weiss corrected the record" in body and "disregard" in body and "missed it" in body
    # Recorded again (now as held with an outcome): a new outcome mail goes (a new record, a new mail).
    record_outcome(undone, specialist.user, "proceed")
    commit()
    assert fresh(consultation).outcome is ConsultationOutcome.PROCEED
    assert sum("shared the outcome" in s for s in subjects(app, patient)) == 1


def test_after_24_hours_a_record_stands_with_a_clear_message(app, specialist, patient):
    consultation = held(patient, specialist)
    mark_no_show(consultation, specialist.user)
    commit()
    with pytest.raises(ConsultationError, match="24 hours") as raised:
        undo_record(fresh(consultation), specialist.user, now=utcnow() + timedelta(hours=24, minutes=1))
    assert str(raised.value) == CORRECTION_TOO_LATE
    assert fresh(consultation).state is ConsultationState.NO_SHOW
    assert not any("Correction" in s for s in subjects(app, patient))


def test_an_outcome_is_corrected_within_the_window(app, specialist, patient):
    consultation = held(patient, specialist)
    record_outcome(consultation, specialist.user, "not_a_fit", "A trauma specialist would suit you.")
    commit()
    undo_record(fresh(consultation), specialist.user)
    record_outcome(fresh(consultation), specialist.user, "proceed", "See you next week.")
    commit()
    assert fresh(consultation).outcome is ConsultationOutcome.PROCEED
    outcome_mails = [m for m in to(app, patient) if "shared the outcome" in str(m["Subject"])]
    assert len(outcome_mails) == 2 and "See you next week." in text(outcome_mails[-1])
    [correction] = [m for m in to(app, patient) if "Correction" in str(m["Subject"])]
    body = text(correction)
    assert "what the outcome was" in body and "recorded it again" in body  # written on delivery


def test_undone_before_the_mail_went_nothing_reaches_the_client(app, specialist, patient):
    """Recorded and undone in one go (the worker had not sent the first mail): both mails drop."""
    consultation = held(patient, specialist)
    mark_no_show(consultation, specialist.user)
    undo_record(consultation, specialist.user)
    commit()
    assert not any("missed" in s or "Correction" in s for s in subjects(app, patient))
    statuses = db.session.scalars(select(OutboxMail.status).where(
        OutboxMail.dedupe_key.like("%no-show:%"))).all()
    assert sorted(statuses) == [MailStatus.DROPPED, MailStatus.DROPPED]


def test_a_plain_completion_is_undone_without_mail(app, specialist, patient):
    consultation = held(patient, specialist)
    commit()  # (the booking mails go)
    mails(app).clear()
    complete_consultation(consultation, specialist.user)
    commit()
    undo_record(fresh(consultation), specialist.user)
    commit()
    assert fresh(consultation).state is ConsultationState.CONFIRMED
    assert to(app, patient) == []


def test_only_the_specialist_undoes_and_only_a_record(app, specialist, patient, make_user):
    consultation = held(patient, specialist)
    with pytest.raises(ConsultationError, match=NOTHING_TO_UNDO):
        undo_record(consultation, specialist.user)  # nothing recorded yet
    mark_no_show(consultation, specialist.user)
    commit()
    for someone in (patient, make_user(Role.ADMIN), make_user(Role.CLIENT)):
        with pytest.raises(ConsultationError, match=NOTHING_TO_UNDO):
            undo_record(fresh(consultation), someone)
    assert fresh(consultation).state is ConsultationState.NO_SHOW


# --- over HTTP: confirmation step, undo, styling ---------------------------------------------------

@pytest.mark.parametrize("action,data", [("no-show", {"note": "Waited."}), ("complete", {}),
                                         ("outcome", {"outcome": "proceed"})])
def test_recording_needs_the_confirmation_tick_box(client, specialist, patient, action, data):
    consultation = held(patient, specialist)
    login(client, specialist.user)
    refused = client.post(f"/consultations/{consultation.id}/{action}", data=data)
    assert refused.status_code == 422 and "Please tick the box to confirm." in refused.get_data(as_text=True)
    assert fresh(consultation).state is ConsultationState.REQUESTED and fresh(consultation).outcome is None
    assert client.post(f"/consultations/{consultation.id}/{action}", data={**data, **CONFIRM}).status_code == 302
    assert fresh(consultation).state in (ConsultationState.COMPLETED, ConsultationState.NO_SHOW)


def test_the_page_offers_undo_for_24_hours_then_says_the_record_stands(client, specialist, patient):
    consultation = held(patient, specialist)
    login(client, specialist.user)
    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    no_show_button = re.search(r'<button type="submit" class="([^"]+)">Client did not come \(no-show\)</button>', page)
    assert no_show_button and "button-danger" in no_show_button.group(1)
    assert 'type="checkbox"' in page and "Yes, the client did not come" in page
    response = client.post(f"/consultations/{consultation.id}/no-show", data=CONFIRM, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "You can undo it within 24 hours." in page and "Undo and correct" in page
    assert client.post(f"/consultations/{consultation.id}/undo").status_code == 302
    assert fresh(consultation).state is ConsultationState.CONFIRMED
    # Recorded again, and a day passes: no undo button, a clear message, and a forged POST changes nothing.
    client.post(f"/consultations/{consultation.id}/no-show", data=CONFIRM)
    recorded = fresh(consultation)
    recorded.outcome_recorded_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert "Undo and correct" not in page and "The 24 hours to correct this record have passed" in page
    late = client.post(f"/consultations/{consultation.id}/undo")
    assert late.status_code == 422 and "The 24 hours to correct this record have passed" in late.get_data(as_text=True)
    assert fresh(consultation).state is ConsultationState.NO_SHOW


def test_the_client_cannot_undo_over_http(client, specialist, patient):
    consultation = held(patient, specialist)
    mark_no_show(consultation, specialist.user)
    commit()
    login(client, patient)
    assert "Undo and correct" not in client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert client.post(f"/consultations/{consultation.id}/undo").status_code == 422
    assert fresh(consultation).state is ConsultationState.NO_SHOW


def test_destructive_buttons_use_danger_styling(client, specialist, patient):
    consultation = book(patient, specialist)
    login(client, patient)
    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert re.search(r'class="button button-danger">Cancel consultation<', page)
    account = client.get("/account").get_data(as_text=True)
    assert re.search(r'class="button button-danger">Delete my account<', account)


# --- cancelling: optional reason for clients, required for specialists ----------------------------

def test_a_client_may_cancel_without_a_reason(app, client, specialist, patient):
    consultation = book(patient, specialist)
    login(client, patient)
    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert "Reason for cancelling (optional)" in page
    mails(app).clear()
    assert client.post(f"/consultations/{consultation.id}/cancel", data={"reason": ""}).status_code == 302
    cancelled = fresh(consultation)
    assert cancelled.state is ConsultationState.CANCELLED and cancelled.cancel_reason is None
    [to_specialist] = to(app, specialist.user)
    assert "Reason given" not in text(to_specialist)


def test_a_specialist_must_tell_the_client_why(app, client, specialist, patient):
    consultation = book(patient, specialist)
    with pytest.raises(ConsultationError, match=SPECIALIST_REASON_REQUIRED):
        cancel_consultation(consultation, specialist.user, "  ")
    db.session.rollback()
    login(client, specialist.user)
    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert "Required. The client will see it in their e-mail." in page
    refused = client.post(f"/consultations/{consultation.id}/cancel", data={"reason": ""})
    assert refused.status_code == 422 and SPECIALIST_REASON_REQUIRED in refused.get_data(as_text=True)
    assert fresh(consultation).state is ConsultationState.REQUESTED
    assert client.post(f"/consultations/{consultation.id}/cancel",
                       data={"reason": "I am ill this week."}).status_code == 302
    assert fresh(consultation).cancel_reason == "I am ill this week."


# --- rescheduled bookings -------------------------------------------------------------------------

def test_a_rescheduled_booking_reads_rescheduled_and_links_to_the_new_one(client, specialist, patient, make_user):
    moved = book(patient, specialist)
    new = reschedule_consultation(moved, patient, first_free_slot(specialist, after_hours=48))
    db.session.commit()
    other = make_user(Role.CLIENT)
    plain = book(other, specialist)
    cancel_consultation(plain, other, "Plans changed")
    db.session.commit()

    login(client, patient)
    listing = client.get("/consultations").get_data(as_text=True)
    assert re.search(r'data-testid="row-state">Rescheduled<', listing)
    assert f'href="/consultations/{new.id}" data-testid="row-rescheduled-to"' in listing
    page = client.get(f"/consultations/{moved.id}").get_data(as_text=True)
    assert re.search(r'data-testid="consultation-state">Rescheduled<', page)
    assert f'<a href="/consultations/{new.id}">' in page
    client.post("/auth/logout")
    login(client, other)  # a plain cancellation still says "Cancelled"
    assert re.search(r'data-testid="row-state">Cancelled<', client.get("/consultations").get_data(as_text=True))
