"""Cancellation terms, enforced (issue 17 item 3), on SQLite and PostgreSQL.

Paid sessions are booked and paid through the local fake of the Stripe API (as in
test_payments.py); refunds are read back from the fake. Each specialist's terms are set through
the settings service; every booking keeps the terms it was made under.
"""
# ruff: noqa: F811  (the fixtures of test_payments.py are imported, then named as test parameters)
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from marketplace.account.services import export_user_data
from marketplace.auth.models import Role
from marketplace.consultations.availability import CancellationChoice, update_scheduling_settings
from marketplace.consultations.booking import (
    DUPLICATE,
    BookingError,
    book_free_consultation,
    format_slot,
    reschedule_consultation,
)
from marketplace.consultations.lifecycle import cancel_consultation, cancellation_consequence
from marketplace.consultations.models import Consultation, ConsultationState, NoShowReport, SchedulingSettings
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.notifications.mail import deliver_pending
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.scheduling.cancellation import LateRefund
from tests.fakes.stripe_fake import FakeStripe
from tests.integration.test_consultations import book_via_http, first_free_slot, login, mails, open_all_week
from tests.integration.test_payments import (  # noqa: F401 (fixtures)
    _book,
    _deliver,
    _slot,
    fake_stripe,
    pair,
    stripe_app,
)

FEE = 9000  # the pair's specialist: €90


def _set_terms(profile: Any, free: int = 0, paid: int = 24, late: LateRefund = LateRefund.NONE) -> None:
    settings = db.session.get(SchedulingSettings, profile.id)
    update_scheduling_settings(profile, version_id=None, buffer_minutes=0, min_notice_minutes=720, horizon_days=30,
                               max_per_day=None, auto_confirm=bool(settings and settings.auto_confirm),
                               terms=CancellationChoice(free, paid, late))
    db.session.commit()


def _book_paid(client: Any, fake: FakeStripe, profile: Any, index: int = 0) -> Payment:
    """The logged-in client books the index-th paid slot and pays (webhook delivered)."""
    assert _book(client, profile, _slot(profile, index)).status_code == 303
    payment = db.session.scalars(select(Payment).order_by(Payment.id.desc())).first()
    assert payment is not None
    assert _deliver(client, fake, fake.complete_session(payment.provider_checkout_id)).status_code == 200
    db.session.refresh(payment)
    assert payment.status is PaymentStatus.PAID
    return payment


def _refunds_of(fake: FakeStripe, payment: Payment) -> list[dict]:
    return [r for r in fake.refunds.values() if r["payment_intent"] == payment.provider_payment_id]


def _move_start(consultation: Consultation, start: Any) -> None:
    db.session.execute(update(Consultation).where(Consultation.id == consultation.id)
                       .values(start_utc=start, end_utc=start + (consultation.end_utc - consultation.start_utc)))
    db.session.commit()
    db.session.refresh(consultation)


# --- every preset, at several times before the start ------------------------------------------

LATE_REFUND = {LateRefund.FULL: FEE, LateRefund.HALF: FEE // 2, LateRefund.NONE: 0}


@pytest.mark.parametrize("notice", [24, 48, 72])
@pytest.mark.parametrize("late", list(LateRefund))
def test_each_preset_refunds_what_it_states_through_stripe(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                                           fake_stripe: FakeStripe, notice: int,
                                                           late: LateRefund) -> None:
    client_user, profile = pair
    _set_terms(profile, paid=notice, late=late)
    auth.login_as(client_user)
    # (time before the start when the client cancels, refunded, late)
    cases = [(timedelta(hours=notice, minutes=1), FEE, False),
             (timedelta(hours=notice), LATE_REFUND[late], True),  # exactly at the notice: late
             (timedelta(hours=1), LATE_REFUND[late], True)]
    for index, (before, refunded, is_late) in enumerate(cases):
        payment = _book_paid(client, fake_stripe, profile, index)
        consultation = payment.consultation
        assert (consultation.cancel_notice_hours, consultation.late_refund) == (notice, late)
        now = consultation.start_utc - before
        shown = cancellation_consequence(consultation, client_user, now)
        assert (shown.late, shown.refund_minor) == (is_late, refunded)
        cancel_consultation(consultation, client_user, None, expected=shown.key, now=now)
        db.session.commit()
        db.session.refresh(payment)
        assert consultation.late_cancellation is is_late
        refunds = _refunds_of(fake_stripe, payment)
        if refunded:
            assert payment.status is PaymentStatus.REFUNDED and payment.refund_minor == refunded
            assert [r["amount"] for r in refunds] == [refunded]
            assert payment.refund_id == refunds[0]["id"]
        else:
            assert payment.status is PaymentStatus.PAID and payment.refund_minor is None and refunds == []
    # A half refund asks Stripe for that amount; a full one for the whole (no amount sent).
    amounts = [r["params"].get("amount") for r in fake_stripe.requests if r["path"] == "/v1/refunds"]
    assert amounts == [None] + ([str(FEE // 2)] * 2 if late is LateRefund.HALF else
                                [None] * 2 if late is LateRefund.FULL else [])


def test_the_specialist_cancelling_late_refunds_in_full(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                                        fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    _set_terms(profile, paid=72, late=LateRefund.NONE)
    auth.login_as(client_user)
    payment = _book_paid(client, fake_stripe, profile)
    cancel_consultation(payment.consultation, profile.user, "I am ill", now=payment.consultation.start_utc
                        - timedelta(hours=2))
    db.session.commit()
    db.session.refresh(payment)
    assert payment.status is PaymentStatus.REFUNDED and payment.refund_minor == FEE
    assert [r["amount"] for r in _refunds_of(fake_stripe, payment)] == [FEE]
    assert not payment.consultation.late_cancellation


# --- later changes never touch existing bookings ---------------------------------------------

def test_a_policy_change_after_booking_leaves_the_booking_terms(stripe_app: Any, client: Any, auth: Any,
                                                                pair: Any, fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    _set_terms(profile, paid=48, late=LateRefund.HALF)
    auth.login_as(client_user)
    payment = _book_paid(client, fake_stripe, profile)
    _set_terms(profile, paid=24, late=LateRefund.NONE)  # changed after booking
    consultation = db.session.get(Consultation, payment.consultation_id)
    db.session.refresh(consultation)
    assert (consultation.cancel_notice_hours, consultation.late_refund) == (48, LateRefund.HALF)
    # 30 hours before: on time under the new terms, late under the booking's: half refund.
    cancel_consultation(consultation, client_user, None, now=consultation.start_utc - timedelta(hours=30))
    db.session.commit()
    db.session.refresh(payment)
    assert payment.refund_minor == FEE // 2 and [r["amount"] for r in _refunds_of(fake_stripe, payment)] == [4500]
    # A new booking gets the new terms.
    second = _book_paid(client, fake_stripe, profile, 1)
    assert (second.consultation.cancel_notice_hours, second.consultation.late_refund) == (24, LateRefund.NONE)


# --- both sides see the consequence on the cancel step ----------------------------------------

def test_the_cancel_step_shows_the_consequence_and_confirms_it(stripe_app: Any, client: Any, auth: Any,
                                                               pair: Any, fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    _set_terms(profile, paid=48, late=LateRefund.HALF)
    auth.login_as(client_user)
    payment = _book_paid(client, fake_stripe, profile)
    consultation = payment.consultation
    _move_start(consultation, (utcnow() + timedelta(hours=30)).replace(second=0, microsecond=0))
    url = f"/consultations/{consultation.id}"

    page = client.get(url).get_data(as_text=True)
    assert ("Cancelling now refunds €45 of €90 (half refund), because it is less than 48 hours before the start."
            in page)
    assert 'name="terms" type="hidden" value="late:4500"' in page or 'value="late:4500"' in page
    auth.logout()
    auth.login_as(profile.user)
    assert "If you cancel, the client gets a full refund of €90." in client.get(url).get_data(as_text=True)
    auth.logout()

    # A page shown while more than the notice was left ("full refund") is not confirmed as a half one.
    auth.login_as(client_user)
    stale = client.post(f"{url}/cancel", data={"terms": f"on-time:{FEE}", "reason": ""})
    assert stale.status_code == 422
    assert "has changed since you opened this page" in stale.get_data(as_text=True)
    db.session.refresh(consultation)
    assert consultation.state is ConsultationState.CONFIRMED and _refunds_of(fake_stripe, payment) == []

    confirmed = client.post(f"{url}/cancel", data={"terms": "late:4500", "reason": ""})
    assert confirmed.status_code == 302
    db.session.expire_all()
    assert consultation.state is ConsultationState.CANCELLED and consultation.late_cancellation
    assert [r["amount"] for r in _refunds_of(fake_stripe, payment)] == [4500]
    page = client.get(url).get_data(as_text=True)
    assert "€45 of €90" in page and "Late cancellation" in page


def test_the_terms_are_shown_before_booking(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                            fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    _set_terms(profile, free=12, paid=72, late=LateRefund.HALF)
    auth.login_as(client_user)
    paid_page = client.get(f"/payments/book/{profile.slug}").get_data(as_text=True)
    assert ("Cancel more than 72 hours before the start for a full refund. If you cancel later or miss the "
            "session, you get half of the fee back (€45).") in paid_page


# --- a client no-show of a paid session --------------------------------------------------------

@pytest.mark.parametrize("late, refunded", [(LateRefund.HALF, 4500), (LateRefund.NONE, 0), (LateRefund.FULL, FEE)])
def test_a_no_show_applies_the_no_show_term(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                            fake_stripe: FakeStripe, late: LateRefund, refunded: int) -> None:
    client_user, profile = pair
    _set_terms(profile, paid=48, late=late)
    auth.login_as(client_user)
    payment = _book_paid(client, fake_stripe, profile)
    consultation = payment.consultation
    _move_start(consultation, (utcnow() - timedelta(minutes=10)).replace(microsecond=0))
    auth.logout()
    auth.login_as(profile.user)
    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert ("back (" + late.label + ")" if refunded else "is not refunded") in page  # shown before confirming
    assert client.post(f"/consultations/{consultation.id}/no-show",
                       data={"note": "", "confirm": "y"}).status_code == 302
    db.session.expire_all()
    assert consultation.state is ConsultationState.NO_SHOW
    refunds = [r["amount"] for r in _refunds_of(fake_stripe, payment)]
    assert refunds == ([refunded] if refunded else [])
    assert payment.status is (PaymentStatus.REFUNDED if refunded else PaymentStatus.PAID)


# --- the specialist did not come to a paid session (the client's report) ---------------------------

def _started_paid_session(client: Any, auth: Any, fake: FakeStripe, pair: Any) -> Payment:
    client_user, profile = pair
    _set_terms(profile, paid=48, late=LateRefund.NONE)  # a client no-show would cost the whole fee
    auth.login_as(client_user)
    payment = _book_paid(client, fake, profile)
    _move_start(payment.consultation, (utcnow() - timedelta(minutes=20)).replace(microsecond=0))
    return payment


def test_a_paid_session_the_specialist_missed_is_reported_and_refunded_in_full(
        stripe_app: Any, client: Any, auth: Any, pair: Any, fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    payment = _started_paid_session(client, auth, fake_stripe, pair)
    consultation = payment.consultation
    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert "The fee you paid for this session is refunded in full." in page  # said before the report
    report_box = page[page.index("<h3>The specialist did not come</h3>"):page.index("Report that the specialist did not come")]
    assert "free consultation" not in report_box  # (a paid session gives none back)
    response = client.post(f"/consultations/{consultation.id}/report-no-show",
                           data={"confirm": "y", "note": "Nobody joined the call."}, follow_redirects=True)
    assert response.status_code == 200
    told = response.get_data(as_text=True)
    assert "The fee you paid for this session (€90) is refunded in full." in told
    assert "free consultation with them is available again" not in told  # (a paid session gives none back)
    db.session.expire_all()
    assert consultation.state is ConsultationState.SPECIALIST_NO_SHOW
    assert payment.status is PaymentStatus.REFUNDED and payment.refund_minor == FEE
    [refund] = _refunds_of(fake_stripe, payment)
    assert refund["amount"] == FEE and refund["id"] == payment.refund_id
    [report] = db.session.scalars(select(NoShowReport)).all()
    assert (report.consultation_id, report.client_id) == (consultation.id, client_user.id)
    deliver_pending()
    [to_specialist] = [m for m in mails(stripe_app) if profile.user.email in str(m["To"])
                       and "reported that you missed" in str(m["Subject"])]
    body = to_specialist.get_body(preferencelist=("plain",)).get_content()
    assert "did not come to your session on" in body and "paid for this session was refunded in full" in body
    # Once: a second report changes nothing and refunds nothing more.
    assert client.post(f"/consultations/{consultation.id}/report-no-show",
                       data={"confirm": "y", "note": ""}).status_code == 422
    assert len(_refunds_of(fake_stripe, payment)) == 1


def test_a_refund_the_provider_refuses_is_flagged_and_the_report_stands(
        stripe_app: Any, client: Any, auth: Any, pair: Any, fake_stripe: FakeStripe) -> None:
    payment = _started_paid_session(client, auth, fake_stripe, pair)
    fake_stripe.expected_api_key = "sk_rotated"  # Stripe refuses our key for now
    response = client.post(f"/consultations/{payment.consultation.id}/report-no-show",
                           data={"confirm": "y", "note": ""}, follow_redirects=True)
    assert "We could not refund the fee you paid for this session (€90) automatically" in response.get_data(
        as_text=True)
    db.session.expire_all()
    assert payment.consultation.state is ConsultationState.SPECIALIST_NO_SHOW
    assert payment.status is PaymentStatus.REFUND_FAILED  # listed for an admin to retry
    assert db.session.scalar(select(func.count(NoShowReport.id))) == 1


def test_a_paid_session_cannot_be_reported_before_it_starts(stripe_app: Any, client: Any, auth: Any, pair: Any,
                                                            fake_stripe: FakeStripe) -> None:
    client_user, profile = pair
    auth.login_as(client_user)
    payment = _book_paid(client, fake_stripe, profile)
    assert client.post(f"/consultations/{payment.consultation.id}/report-no-show",
                       data={"confirm": "y", "note": ""}).status_code == 422
    db.session.expire_all()
    assert payment.status is PaymentStatus.PAID and _refunds_of(fake_stripe, payment) == []


# --- free consultations -----------------------------------------------------------------------

@pytest.fixture
def free_pair(app: Any, make_specialist: Any, make_user: Any) -> tuple[Any, Any]:
    profile = make_specialist(formats=["video"], timezone="Europe/Berlin")
    open_all_week(profile)
    return make_user(Role.CLIENT), profile


def test_a_late_free_cancellation_uses_up_the_free_consultation(client: Any, free_pair: Any) -> None:
    client_user, profile = free_pair
    _set_terms(profile, free=12)
    consultation = book_free_consultation(client_user, profile, first_free_slot(profile), "video", None)
    assert consultation.cancel_notice_hours == 12
    db.session.commit()
    _set_terms(profile, free=0)  # a later change does not touch it
    _move_start(consultation, (utcnow() + timedelta(hours=5)).replace(second=0, microsecond=0))

    login(client, client_user)
    url = f"/consultations/{consultation.id}"
    page = client.get(url).get_data(as_text=True)
    assert "less than 12 hours before the start, so it counts as a late cancellation" in page
    assert client.post(f"{url}/cancel", data={"terms": "late:-", "reason": ""}).status_code == 302
    db.session.expire_all()
    assert consultation.state is ConsultationState.CANCELLED and consultation.late_cancellation

    # No new free consultation with this specialist: the service, the page and the database say so.
    with pytest.raises(BookingError) as again:
        book_free_consultation(client_user, profile, first_free_slot(profile, after_hours=24), "video", None)
    assert again.value.message == DUPLICATE.format(name=profile.display_name)
    db.session.rollback()
    refused = book_via_http(client, profile, first_free_slot(profile, after_hours=24))
    assert refused.status_code in (200, 409)
    assert db.session.scalar(select(Consultation).where(Consultation.client_id == client_user.id,
                                                        Consultation.id != consultation.id)) is None
    client.post("/auth/logout")
    login(client, profile.user)
    assert "Late cancellation" in client.get(url).get_data(as_text=True)
    assert "Late cancellation" in client.get("/consultations").get_data(as_text=True)


def test_a_free_cancellation_in_time_keeps_the_free_consultation(client: Any, free_pair: Any) -> None:
    client_user, profile = free_pair
    _set_terms(profile, free=24)
    booked = book_free_consultation(client_user, profile, first_free_slot(profile, after_hours=30), "video", None)
    db.session.commit()
    login(client, client_user)
    page = client.get(f"/consultations/{booked.id}").get_data(as_text=True)
    assert "You can cancel free of charge." in page
    assert client.post(f"/consultations/{booked.id}/cancel",
                       data={"terms": "on-time:-", "reason": ""}).status_code == 302
    db.session.expire_all()
    assert not booked.late_cancellation
    # (raises BookingError if the free consultation were used up)
    book_free_consultation(client_user, profile, first_free_slot(profile, after_hours=30), "video", None)


def test_the_free_terms_are_shown_on_the_booking_page_and_profile(client: Any, free_pair: Any) -> None:
    client_user, profile = free_pair
    _set_terms(profile, free=24)
    login(client, client_user)
    expected = (f"Please cancel at least 24 hours before the start. A later cancellation uses up your free "
                f"consultation with {profile.display_name}.")
    assert expected in client.get(f"/specialists/{profile.slug}/book").get_data(as_text=True)
    client.post("/auth/logout")
    assert expected in client.get(f"/specialists/{profile.slug}").get_data(as_text=True)


def test_the_cancellation_mail_says_it_was_late(app: Any, free_pair: Any) -> None:
    client_user, profile = free_pair
    _set_terms(profile, free=24)
    consultation = book_free_consultation(client_user, profile, first_free_slot(profile), "video", None)
    db.session.commit()
    _move_start(consultation, (utcnow() + timedelta(hours=20)).replace(second=0, microsecond=0))
    cancel_consultation(consultation, client_user, None)
    db.session.commit()
    deliver_pending()  # (the mails are written on delivery)
    bodies = {m["To"]: m.get_body(preferencelist=("plain",)).get_content() for m in app.extensions.get("mail_outbox", [])
              if m["Subject"].startswith("Cancelled")}
    assert set(bodies) == {client_user.email, profile.user.email}
    assert "It uses up your free consultation with" in bodies[client_user.email]
    assert "It uses up the client's free consultation with you." in bodies[profile.user.email]


def test_a_free_consultation_is_rescheduled_only_before_its_notice(client: Any, free_pair: Any) -> None:
    """Rescheduling is not a way round the notice: once it has begun the consultation can only be
    cancelled (late); before, the page says until when it can be moved."""
    client_user, profile = free_pair
    _set_terms(profile, free=12)
    consultation = book_free_consultation(client_user, profile, first_free_slot(profile, after_hours=24), "video",
                                          None)
    db.session.commit()
    login(client, client_user)
    url = f"/consultations/{consultation.id}"
    page = client.get(url).get_data(as_text=True)
    assert "You can reschedule until" in page and f"{url}/reschedule" in page

    _move_start(consultation, (utcnow() + timedelta(hours=5)).replace(second=0, microsecond=0))
    later = first_free_slot(profile, after_hours=30)
    with pytest.raises(BookingError) as refused:
        reschedule_consultation(consultation, client_user, later)
    assert refused.value.code == "late" and "12-hour cancellation notice has begun" in refused.value.message
    db.session.rollback()
    page = client.get(url).get_data(as_text=True)
    assert 'data-testid="reschedule-closed"' in page and f'href="{url}/reschedule"' not in page
    response = client.post(f"{url}/reschedule", data={"slot": format_slot(later)})
    assert response.status_code == 302  # back to the consultation, with why
    db.session.expire_all()
    assert consultation.state is ConsultationState.CONFIRMED or consultation.state is ConsultationState.REQUESTED
    assert db.session.scalar(select(func.count(Consultation.id)).where(Consultation.client_id == client_user.id)) == 1


def test_without_a_notice_a_free_consultation_is_rescheduled_until_it_starts(client: Any, free_pair: Any) -> None:
    client_user, profile = free_pair
    _set_terms(profile, free=0)
    consultation = book_free_consultation(client_user, profile, first_free_slot(profile, after_hours=24), "video",
                                          None)
    db.session.commit()
    _move_start(consultation, (utcnow() + timedelta(hours=1)).replace(second=0, microsecond=0))
    moved = reschedule_consultation(consultation, client_user, first_free_slot(profile, after_hours=30))
    db.session.commit()
    assert moved.rescheduled_from_id == consultation.id


def test_the_specialists_chosen_terms_are_in_their_data_export(free_pair: Any) -> None:
    _client_user, profile = free_pair
    _set_terms(profile, free=24, paid=48, late=LateRefund.HALF)
    exported = export_user_data(profile.user)["specialist_profile"]
    assert exported["cancellation_terms"] == {"free_notice_hours": 24, "paid_notice_hours": 48,
                                              "paid_late_refund": "half"}
