"""Moving a paid session through HTTP (``/consultations/<id>/reschedule``, extended for paid
sessions), on SQLite and PostgreSQL: the consultation page offers "Move this session" to its
client with until when; the page lists free times of the session's length outside its notice;
POST (CSRF) moves it in place; anyone else is refused; bad input and refusals are a clear message,
never a 500. Bookings are made through the services with the real clock (``FakePay``)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from marketplace.consultations.availability import set_weekly_hours
from marketplace.consultations.booking import SLOT_TAKEN, format_slot
from marketplace.consultations.models import Consultation, ConsultationState, OccupiedBlock
from marketplace.consultations.moves import CANNOT_MOVE
from marketplace.database import commit, utcnow
from marketplace.extensions import db
from marketplace.payments import services as svc
from marketplace.payments.providers import EventKind, ProviderEvent
from marketplace.payments.series import book_series
from marketplace.payments.series_models import SeriesCharge, SessionSeries
from marketplace.timeutil import format_datetime, utc_instant
from tests.factories import PASSWORD
from tests.fakes.fake_provider import FakePay
from tests.integration import test_paid_session_moves as moves_tests
from tests.integration.test_payments import _proceeded

# The service tests' fixtures: FakePay as the provider, a specialist (50 minutes, €90), an eligible client.
specialist = moves_tests.specialist
patient = moves_tests.patient


def _times(profile: Any) -> tuple[datetime, datetime]:
    """A session time at least three days ahead, and a free time a day or more after it."""
    later = [s for s in svc.paid_session_slots(profile) if s > utcnow() + timedelta(days=3)]
    return later[0], next(s for s in later if s >= later[0] + timedelta(days=1))


def _paid(app: Any, fakepay: FakePay, client_user: Any, profile: Any, start: datetime) -> Consultation:
    with app.test_request_context():
        payment = svc.book_paid_session(client_user, profile, start, "video")
    commit()
    event = ProviderEvent(id=f"evt-{payment.id}", type="payment.succeeded", kind=EventKind.CHECKOUT_COMPLETED,
                          checkout_id=payment.provider_checkout_id, paid=True, amount_minor=9000, currency="EUR",
                          payment_reference=f"fp_ch_{payment.id}")
    assert svc.process_event(fakepay.name, event) == "confirmed"
    commit()
    return payment.consultation


def _state(consultation: Consultation) -> tuple[Any, ...]:
    db.session.refresh(consultation)
    blocks = db.session.scalar(select(func.count()).select_from(OccupiedBlock).where(
        OccupiedBlock.consultation_id == consultation.id))
    return consultation.start_utc, consultation.sequence, consultation.state, blocks


def _url(consultation: Consultation) -> str:
    return f"/consultations/{consultation.id}/reschedule"


def test_the_client_moves_a_paid_session_from_its_page(app: Any, client: Any, auth: Any, fakepay: FakePay,
                                                       specialist: Any, patient: Any) -> None:
    start, target = _times(specialist)
    session = _paid(app, fakepay, patient, specialist, start)
    auth.login_as(patient)

    page = client.get(f"/consultations/{session.id}").get_data(as_text=True)
    assert 'data-testid="move-session"' in page and "Move this session" in page
    assert utc_instant(start - timedelta(hours=24)) in page  # until when (a <time> in the viewer's zone)

    picker = client.get(_url(session), query_string={"week": target.date().isoformat()})
    text = picker.get_data(as_text=True)
    assert picker.status_code == 200 and "Move your session with Dr Ines Wolf" in text
    assert "You can move this session until" in text and "(50 minutes)" in text
    assert f'value="{format_slot(target)}"' in text and f'value="{format_slot(start)}"' not in text

    response = client.post(_url(session), data={"slot": format_slot(target)})

    assert response.status_code == 302 and response.headers["Location"] == f"/consultations/{session.id}"
    after = client.get(f"/consultations/{session.id}").get_data(as_text=True)
    assert "Your session has moved to the new time." in after
    assert f'datetime="{utc_instant(target)}"' in after.split('data-testid="consultation-time"', 1)[1][:200]
    assert _state(session)[:3] == (target, 2, ConsultationState.CONFIRMED)  # in place: same row, SEQUENCE + 1
    assert db.session.scalar(select(func.count()).select_from(Consultation)) == 2  # + the free one before


def test_a_moved_series_occurrence_shows_its_new_time_on_the_series_page(
        app: Any, client: Any, auth: Any, fakepay: FakePay, specialist: Any, patient: Any) -> None:
    start, _ = _times(specialist)
    with app.test_request_context():
        series = book_series(patient, specialist, start, 2, "video")
    commit()
    event = ProviderEvent(id="evt-card", type="card.saved", kind=EventKind.SETUP_COMPLETED,
                          checkout_id=series.provider_checkout_id, customer="fp_cus_1", payment_method="fp_card_1")
    assert svc.process_event(fakepay.name, event) == "confirmed"
    commit()
    second = db.session.scalars(select(SeriesCharge).where(SeriesCharge.series_id == series.id)
                                .order_by(SeriesCharge.due_at)).all()[1]
    new_start = second.consultation.start_utc + timedelta(days=1)
    auth.login_as(patient)

    response = client.post(_url(second.consultation), data={"slot": format_slot(new_start)})

    assert response.status_code == 302
    db.session.refresh(second)
    assert second.consultation.start_utc == new_start and second.due_at == new_start - timedelta(hours=24)
    saved = client.get("/payments/series/saved", query_string={"session_id": series.provider_checkout_id})
    listing = saved.get_data(as_text=True).split('data-testid="series-sessions"', 1)[1]
    assert saved.status_code == 200 and f'datetime="{utc_instant(new_start)}"' in listing
    assert db.session.scalar(select(func.count()).select_from(SessionSeries)) == 1


def test_only_its_client_moves_it(app: Any, client: Any, auth: Any, fakepay: FakePay, specialist: Any,
                                  patient: Any, make_user: Any) -> None:
    start, target = _times(specialist)
    session = _paid(app, fakepay, patient, specialist, start)
    before = _state(session)

    auth.login_as(make_user())  # another client: the session does not exist for them
    assert client.get(_url(session)).status_code == 404
    assert client.post(_url(session), data={"slot": format_slot(target)}).status_code == 404
    auth.logout()
    auth.login_as(specialist.user)  # the specialist is sent back with why
    assert "Move this session" not in client.get(f"/consultations/{session.id}").get_data(as_text=True)
    refused = client.post(_url(session), data={"slot": format_slot(target)})
    assert refused.status_code == 302 and refused.headers["Location"] == f"/consultations/{session.id}"
    assert CANNOT_MOVE in client.get(f"/consultations/{session.id}").get_data(as_text=True)
    auth.logout()
    assert client.get(_url(session)).status_code == 302  # a visitor logs in first
    assert _state(session) == before


def test_bad_input_and_refusals_are_a_clear_message_not_a_500(app: Any, client: Any, auth: Any,
                                                              fakepay: FakePay, specialist: Any, patient: Any,
                                                              make_user: Any) -> None:
    set_weekly_hours(specialist.id, [(wd, "00:00", "23:30") for wd in range(7)])  # a free time within 24 h
    commit()
    start, target = _times(specialist)
    other = make_user()
    _proceeded(other, specialist)
    _paid(app, fakepay, other, specialist, target)
    session = _paid(app, fakepay, patient, specialist, start)
    soon = next(s for s in svc.paid_session_slots(specialist) if s < utcnow() + timedelta(hours=24))
    before = _state(session)
    auth.login_as(patient)

    cases = [("", 422, "Choose a new time."), ("garbage", 422, "Choose a new time for your session."),
             (format_slot(start), 422, "Choose a different time to move this session to."),
             (format_slot(target), 409, SLOT_TAKEN),
             (format_slot(soon), 422, "Choose a time more than 24 hours from now"),
             ("2031-01-01T09:00:00Z", 422, "That time is not available.")]
    for value, status, words in cases:
        response = client.post(_url(session), data={"slot": value})
        assert response.status_code == status, (value, response.status_code)
        assert words in response.get_data(as_text=True), value
    assert _state(session) == before


def test_inside_the_notice_the_client_is_told_until_when_and_what_cancelling_costs(
        app: Any, client: Any, auth: Any, fakepay: FakePay, specialist: Any, patient: Any) -> None:
    start, target = _times(specialist)
    session = _paid(app, fakepay, patient, specialist, start)
    session.cancel_notice_hours = 24 * 7  # (its terms: a week's notice, which has begun)
    commit()
    before = _state(session)
    auth.login_as(patient)

    page = client.get(f"/consultations/{session.id}").get_data(as_text=True)
    assert "Moving this session was possible until" in page and "Move this session</a>" not in page
    for send in (lambda: client.get(_url(session)), lambda: client.post(_url(session), data={"slot": format_slot(target)})):
        response = send()
        assert response.status_code == 302 and response.headers["Location"] == f"/consultations/{session.id}"
        told = client.get(f"/consultations/{session.id}").get_data(as_text=True)
        until = format_datetime(start - timedelta(days=7), "Europe/Berlin")
        assert f"This session can no longer be moved: moving was possible until {until}, 168 hours" in told
        assert "you paid will not be refunded" in told  # what cancelling now costs
    assert _state(session) == before


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_moving_needs_the_csrf_token(app: Any, client: Any, fakepay: FakePay, specialist: Any,
                                     patient: Any) -> None:
    start, target = _times(specialist)
    session = _paid(app, fakepay, patient, specialist, start)
    before = _state(session)
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    client.post("/auth/login", data={"email": patient.email, "password": PASSWORD, "csrf_token": token})

    assert client.post(_url(session), data={"slot": format_slot(target)}).status_code == 400

    assert _state(session) == before
    form = client.get(_url(session), query_string={"week": target.date().isoformat()}).get_data(as_text=True)
    token = form.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    assert client.post(_url(session), data={"slot": format_slot(target), "csrf_token": token}).status_code == 302
    assert _state(session)[0] == target
