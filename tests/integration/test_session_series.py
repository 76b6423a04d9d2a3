"""Weekly paid-session series (issue 17, item 4), at the service layer, on SQLite and PostgreSQL.

The provider is ``FakePay`` (tests/fakes/fake_provider.py): a real ``PaymentProvider`` with no
network, whose setup checkouts, saved cards, off-session charges and declines are in memory.
Time is injected (``now``), so the DST change of 28 March 2027 (Europe/Berlin) is crossed.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from marketplace.consultations.availability import set_weekly_hours
from marketplace.consultations.lifecycle import cancel_consultation, cancellation_consequence
from marketplace.consultations.models import (
    Consultation,
    ConsultationKind,
    ConsultationState,
    OccupiedBlock,
)
from marketplace.extensions import db
from marketplace.notifications.models import OutboxMail
from marketplace.payments import services as svc
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.payments.policy import SeriesError
from marketplace.payments.providers import ProviderEvent
from marketplace.payments.providers.base import EventKind
from marketplace.payments.series import book_series
from marketplace.payments.series_charges import (
    DECLINE_GRACE,
    charge_due_occurrences,
    new_card_checkout,
    release_unpaid_occurrences,
    retry_declined_charge,
)
from marketplace.payments.series_models import ChargeState, SeriesCharge, SeriesState, SessionSeries
from tests.fakes.fake_provider import FakePay
from tests.integration.test_consultations import login
from tests.integration.test_payments import _proceeded

BERLIN = ZoneInfo("Europe/Berlin")
# Saturday 20 March 2027, noon UTC; clocks in Berlin go forward on Sunday 28 March.
NOW = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)
FIRST = datetime(2027, 3, 23, 10, 0, tzinfo=BERLIN).astimezone(UTC)  # Tue 10:00 CET = 09:00 UTC




@pytest.fixture
def pair(make_user: Any, make_specialist: Any) -> tuple[Any, Any]:
    """A specialist in Berlin (€90, 50 minutes, 09–17 every day) and a client who may book."""
    profile = make_specialist(fee_minor=9000, currency="EUR", session_minutes=50)
    set_weekly_hours(profile.id, [(wd, "09:00", "17:00") for wd in range(7)])
    db.session.commit()
    client_user = make_user(timezone="Europe/Berlin")
    _proceeded(client_user, profile)
    return client_user, profile


def _book(app: Any, client_user: Any, profile: Any, count: int = 3, start: datetime = FIRST) -> SessionSeries:
    with app.test_request_context():
        series = book_series(client_user, profile, start, count, "video", now=NOW)
    db.session.commit()
    return series


def _counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(model)) or 0
                 for model in (Consultation, OccupiedBlock, Payment, SessionSeries, SeriesCharge))


def _save_card(series: SessionSeries, fakepay: FakePay, card: str = "fp_card_1") -> str:
    assert series.provider_checkout_id is not None
    event = ProviderEvent(id=f"evt-{series.id}", type="card.saved", kind=EventKind.SETUP_COMPLETED,
                          checkout_id=series.provider_checkout_id, customer="fp_cus_1", payment_method=card)
    outcome = svc.process_event(fakepay.name, event, now=NOW + timedelta(minutes=2))
    db.session.commit()
    return outcome


def _charges(series: SessionSeries) -> list[SeriesCharge]:
    return list(db.session.scalars(select(SeriesCharge).where(SeriesCharge.series_id == series.id)
                                   .order_by(SeriesCharge.due_at).execution_options(populate_existing=True)))


def test_weekly_series_keeps_the_local_time_across_a_dst_change(app: Any, pair: Any, fakepay: FakePay) -> None:
    client_user, profile = pair
    series = _book(app, client_user, profile, count=3)

    occurrences = [c.consultation for c in _charges(series)]
    assert [c.start_utc.astimezone(UTC).hour for c in occurrences] == [9, 8, 8]  # CET, then CEST
    assert {c.start_utc.astimezone(BERLIN).strftime("%a %H:%M") for c in occurrences} == {"Tue 10:00"}
    assert [c.start_utc.astimezone(BERLIN).day for c in occurrences] == [23, 30, 6]
    assert all(c.kind is ConsultationKind.PAID and c.state is ConsultationState.PENDING_PAYMENT
               for c in occurrences)
    assert series.sessions == 3 and series.state is SeriesState.AWAITING_CARD
    assert series.checkout_url == f"{fakepay.origin}/save-card/{series.provider_checkout_id}"
    # 50 minutes = 4 blocks of 15 minutes each, per occurrence
    blocks = db.session.scalar(select(func.count()).select_from(OccupiedBlock).where(
        OccupiedBlock.consultation_id.in_([c.id for c in occurrences])))
    assert blocks == 12
    assert [c.due_at.astimezone(UTC) for c in _charges(series)] == [
        c.start_utc.astimezone(UTC) - timedelta(hours=24) for c in occurrences]


def test_one_taken_occurrence_fails_the_whole_series_and_writes_nothing(app: Any, pair: Any, fakepay: FakePay,
                                                                         make_user: Any) -> None:
    client_user, profile = pair
    other = make_user()
    _proceeded(other, profile)
    second = FIRST + timedelta(weeks=1) - timedelta(hours=1)  # Tue 30 March 10:00 CEST
    with app.test_request_context():
        svc.book_paid_session(other, profile, second, "video", now=NOW)
    db.session.commit()
    before = _counts()

    with pytest.raises(SeriesError) as refused:
        _book(app, client_user, profile, count=4)

    assert str(refused.value) == ("The session on Tue 30 March at 10:00 (Europe/Berlin) is not free: "
                                  "choose another start or fewer sessions")
    db.session.rollback()
    assert _counts() == before
    assert fakepay.setups == {}  # no checkout was opened


def test_outside_the_specialists_hours_is_named_too(app: Any, pair: Any, fakepay: FakePay) -> None:
    client_user, profile = pair
    before = _counts()
    # Bookable 30 days ahead (the default horizon): the fifth Tuesday, 20 April, is beyond it.
    with pytest.raises(SeriesError, match=r"^The session on Tue 20 April at 10:00 \(Europe/Berlin\) is not free"):
        _book(app, client_user, profile, count=5)
    assert _counts() == before
    with pytest.raises(SeriesError, match="between 2 and 12 sessions"):
        _book(app, client_user, profile, count=13)


def test_saving_the_card_confirms_every_occurrence(app: Any, pair: Any, fakepay: FakePay) -> None:
    client_user, profile = pair
    series = _book(app, client_user, profile)

    assert _save_card(series, fakepay) == "confirmed"

    db.session.refresh(series)
    assert series.state is SeriesState.ACTIVE and series.provider_payment_method_id == "fp_card_1"
    charges = _charges(series)
    assert {c.charge_state for c in charges} == {ChargeState.SCHEDULED}
    assert {c.consultation.state for c in charges} == {ConsultationState.CONFIRMED}
    subjects = db.session.scalars(select(OutboxMail.subject)).all()
    assert subjects.count(f"Booked: 3 weekly sessions with {profile.display_name}") == 1
    assert subjects.count(f"Booked: 3 weekly sessions with {client_user.display_name}") == 1


def test_the_charge_job_charges_each_occurrence_once(app: Any, pair: Any, fakepay: FakePay) -> None:
    client_user, profile = pair
    series = _book(app, client_user, profile)
    _save_card(series, fakepay)
    first_due = _charges(series)[0].due_at

    assert charge_due_occurrences(first_due) == 1
    assert charge_due_occurrences(first_due + timedelta(minutes=5)) == 0  # run twice: nothing more
    assert len(fakepay.charges) == 1
    charges = _charges(series)
    assert [c.charge_state for c in charges] == [ChargeState.CHARGED, ChargeState.SCHEDULED,
                                                 ChargeState.SCHEDULED]
    paid = charges[0].payment
    assert paid.status is PaymentStatus.PAID and paid.provider_payment_id in fakepay.charges

    later = charges[-1].due_at + timedelta(minutes=1)
    assert charge_due_occurrences(later) == 2
    assert charge_due_occurrences(later) == 0
    assert len(fakepay.charges) == 3
    assert [c["amount"] for c in fakepay.charges.values()] == [9000, 9000, 9000]


def _declined(app: Any, pair: Any, fakepay: FakePay) -> tuple[SeriesCharge, datetime]:
    """A series whose first charge was declined (the card is still declined): (charge, when)."""
    client_user, profile = pair
    series = _book(app, client_user, profile)
    _save_card(series, fakepay, card="fp_card_declines")
    fakepay.declining.add("fp_card_declines")
    due = _charges(series)[0].due_at
    assert charge_due_occurrences(due) == 0
    db.session.commit()
    charge = _charges(series)[0]
    assert charge.charge_state is ChargeState.DECLINED
    return charge, due


def test_a_declined_charge_notifies_both_and_releases_after_the_grace_period(app: Any, pair: Any,
                                                                             fakepay: FakePay) -> None:
    client_user, profile = pair
    charge, due = _declined(app, pair, fakepay)
    series = charge.series
    assert charge.release_at == due + DECLINE_GRACE
    declined = db.session.scalars(select(OutboxMail.recipient).where(OutboxMail.subject.startswith(
        "Payment declined"))).all()
    assert sorted(declined) == sorted([client_user.email, profile.user.email])
    assert charge.consultation.state is ConsultationState.CONFIRMED  # still held during the grace period

    assert release_unpaid_occurrences(due + DECLINE_GRACE - timedelta(minutes=1)) == 0
    assert release_unpaid_occurrences(due + DECLINE_GRACE) == 1
    assert release_unpaid_occurrences(due + DECLINE_GRACE + timedelta(hours=1)) == 0  # once

    charges = _charges(series)
    released = charges[0].consultation
    assert charges[0].charge_state is ChargeState.RELEASED
    assert released.state is ConsultationState.CANCELLED and charges[0].payment.status is PaymentStatus.EXPIRED
    assert db.session.scalar(select(func.count()).select_from(OccupiedBlock).where(
        OccupiedBlock.consultation_id == released.id)) == 0
    assert {c.consultation.state for c in charges[1:]} == {ConsultationState.CONFIRMED}  # the others stay
    cancelled = db.session.scalars(select(OutboxMail.recipient).where(OutboxMail.subject.startswith(
        "Cancelled (not paid)"))).all()
    assert sorted(cancelled) == sorted([client_user.email, profile.user.email])


def test_the_client_tries_the_card_again_once_the_bank_cleared_it(app: Any, pair: Any, fakepay: FakePay) -> None:
    client_user, _ = pair
    charge, due = _declined(app, pair, fakepay)
    fakepay.declining.discard("fp_card_declines")  # the client called their bank
    told = retry_declined_charge(charge.consultation, client_user, now=due + timedelta(hours=2))
    db.session.commit()
    assert told.startswith("Thank you: the payment of €90 went through. Your session on Tue 23 Mar 2027, 10:00")
    charge = _charges(charge.series)[0]
    assert charge.charge_state is ChargeState.CHARGED and charge.payment.status is PaymentStatus.PAID
    assert [c["amount"] for c in fakepay.charges.values()] == [9000]
    assert release_unpaid_occurrences(due + DECLINE_GRACE) == 0  # paid: it stays
    assert charge.consultation.state is ConsultationState.CONFIRMED
    with pytest.raises(SeriesError, match="no declined payment"):  # a second click charges nothing more
        retry_declined_charge(charge.consultation, client_user, now=due + timedelta(hours=2))
    assert len(fakepay.charges) == 1


def test_declined_again_the_grace_period_is_not_extended(app: Any, pair: Any, fakepay: FakePay) -> None:
    client_user, _ = pair
    charge, due = _declined(app, pair, fakepay)
    release_at = charge.release_at
    told = retry_declined_charge(charge.consultation, client_user, now=due + timedelta(hours=3))
    db.session.commit()
    assert told.startswith("The card was declined again.")
    # The release time (charged 24 h before Tue 10:00 CET, released 12 h later), in the client's zone:
    assert "Mon 22 Mar 2027, 22:00 CET (Europe/Berlin)" in told
    charge = _charges(charge.series)[0]
    assert charge.charge_state is ChargeState.DECLINED and charge.release_at == release_at
    assert charge.declined_at == due + timedelta(hours=3) and fakepay.charges == {}
    assert release_unpaid_occurrences(release_at) == 1


def test_a_provider_outage_changes_nothing_and_the_client_can_try_again(app: Any, pair: Any,
                                                                       fakepay: FakePay) -> None:
    client_user, _ = pair
    charge, due = _declined(app, pair, fakepay)
    fakepay.declining.discard("fp_card_declines")
    fakepay.failing = True
    told = retry_declined_charge(charge.consultation, client_user, now=due + timedelta(hours=1))
    db.session.commit()
    assert told.startswith("We could not reach the payment provider just now, so nothing was charged.")
    assert _charges(charge.series)[0].charge_state is ChargeState.DECLINED
    fakepay.failing = False
    retry_declined_charge(charge.consultation, client_user, now=due + timedelta(hours=1, minutes=5))
    db.session.commit()
    assert _charges(charge.series)[0].charge_state is ChargeState.CHARGED


def test_only_the_client_and_only_before_the_release_may_try_again(app: Any, pair: Any, fakepay: FakePay) -> None:
    client_user, profile = pair
    charge, due = _declined(app, pair, fakepay)
    fakepay.declining.discard("fp_card_declines")
    with pytest.raises(SeriesError):
        retry_declined_charge(charge.consultation, profile.user, now=due + timedelta(hours=1))
    with pytest.raises(SeriesError):
        retry_declined_charge(charge.consultation, client_user, now=due + DECLINE_GRACE)
    assert fakepay.charges == {} and _charges(charge.series)[0].charge_state is ChargeState.DECLINED


def test_the_session_page_offers_the_client_to_try_again(app: Any, client: Any, pair: Any, fakepay: FakePay,
                                                        make_user: Any) -> None:
    client_user, profile = pair
    charge, _ = _declined(app, pair, fakepay)
    consultation_id = charge.consultation.id
    url = f"/payments/series/sessions/{consultation_id}/retry-charge"
    login(client, profile.user)
    page = client.get(f"/consultations/{consultation_id}").get_data(as_text=True)
    assert "The client can try their card again until" in page and url not in page
    assert client.post(url).status_code == 404  # the specialist does not pay for it
    client.post("/auth/logout")
    login(client, make_user())
    assert client.post(url).status_code == 404  # another client
    client.post("/auth/logout")
    login(client, client_user)
    page = client.get(f"/consultations/{consultation_id}").get_data(as_text=True)
    assert "Try my card again" in page and f'action="{url}"' in page
    fakepay.declining.discard("fp_card_declines")
    response = client.post(url, follow_redirects=True)
    assert "the payment of €90 went through" in response.get_data(as_text=True)
    db.session.expire_all()
    assert _charges(charge.series)[0].charge_state is ChargeState.CHARGED
    assert "Try my card again" not in client.get(f"/consultations/{consultation_id}").get_data(as_text=True)


def _card_saved(fakepay: FakePay, checkout_id: str, card: str, now: datetime, event_id: str = "evt-new-card") -> str:
    event = ProviderEvent(id=event_id, type="card.saved", kind=EventKind.SETUP_COMPLETED, checkout_id=checkout_id,
                          customer="fp_cus_2", payment_method=card)
    outcome = svc.process_event(fakepay.name, event, now=now)
    db.session.commit()
    return outcome


def test_another_card_pays_the_declined_session_and_the_next_ones(app: Any, pair: Any, fakepay: FakePay) -> None:
    client_user, _ = pair
    charge, due = _declined(app, pair, fakepay)
    with app.test_request_context():
        url = new_card_checkout(charge.consultation, client_user, now=due + timedelta(hours=1))
        again = new_card_checkout(charge.consultation, client_user, now=due + timedelta(hours=1, minutes=2))
    db.session.commit()
    series = charge.series
    assert url == again and url.startswith(fakepay.origin)  # one checkout per decline
    [(checkout_id, request)] = [(cid, r) for cid, r in fakepay.setups.items() if r.reference.endswith("-card")]
    assert series.card_checkout_id == checkout_id and request.success_url.endswith(
        f"/consultations/{charge.consultation_id}")

    assert _card_saved(fakepay, checkout_id, "fp_card_new", due + timedelta(hours=2)) == "card-replaced"
    charges = _charges(series)
    assert charges[0].charge_state is ChargeState.CHARGED and charges[0].payment.status is PaymentStatus.PAID
    assert [c["payment_method"] for c in fakepay.charges.values()] == ["fp_card_new"]
    assert charge_due_occurrences(charges[1].due_at) == 1  # the next session: charged to the new card
    assert [c["payment_method"] for c in fakepay.charges.values()] == ["fp_card_new", "fp_card_new"]


def test_another_card_that_is_declined_too_leaves_the_grace_as_it_was(app: Any, pair: Any, fakepay: FakePay) -> None:
    client_user, _ = pair
    charge, due = _declined(app, pair, fakepay)
    release_at = charge.release_at
    with app.test_request_context():
        new_card_checkout(charge.consultation, client_user, now=due + timedelta(hours=1))
    db.session.commit()
    fakepay.declining.add("fp_card_also_declines")
    _card_saved(fakepay, charge.series.card_checkout_id, "fp_card_also_declines", due + timedelta(hours=2))
    charge = _charges(charge.series)[0]
    assert charge.charge_state is ChargeState.DECLINED and charge.release_at == release_at
    assert fakepay.charges == {}


def test_another_card_only_for_the_client_of_a_declined_session(app: Any, pair: Any, fakepay: FakePay) -> None:
    client_user, profile = pair
    charge, due = _declined(app, pair, fakepay)
    scheduled = _charges(charge.series)[1].consultation
    with app.test_request_context():
        with pytest.raises(SeriesError):  # nothing was declined for this one
            new_card_checkout(scheduled, client_user, now=due + timedelta(hours=1))
        with pytest.raises(SeriesError):  # not the specialist
            new_card_checkout(charge.consultation, profile.user, now=due + timedelta(hours=1))
        with pytest.raises(SeriesError):  # not after the release
            new_card_checkout(charge.consultation, client_user, now=due + DECLINE_GRACE)
    assert [r for r in fakepay.setups.values() if r.reference.endswith("-card")] == []


def test_the_session_page_sends_the_client_to_save_another_card(app: Any, client: Any, pair: Any,
                                                               fakepay: FakePay) -> None:
    client_user, profile = pair
    charge, _ = _declined(app, pair, fakepay)
    url = f"/payments/series/sessions/{charge.consultation_id}/new-card"
    login(client, profile.user)
    assert client.post(url).status_code == 404
    client.post("/auth/logout")
    login(client, client_user)
    assert f'action="{url}"' in client.get(f"/consultations/{charge.consultation_id}").get_data(as_text=True)
    response = client.post(url)
    assert response.status_code == 303 and response.headers["Location"].startswith(fakepay.origin)


def test_the_series_page_shows_every_session_and_its_payment_to_both_sides(app: Any, client: Any, pair: Any,
                                                                         fakepay: FakePay, make_user: Any) -> None:
    client_user, profile = pair
    series = _book(app, client_user, profile)
    _save_card(series, fakepay)
    first, second, third = _charges(series)
    assert charge_due_occurrences(first.due_at) == 1  # the first is paid
    db.session.commit()
    url = f"/payments/series/{series.id}/sessions"
    assert client.get(url).status_code == 302  # to the login
    login(client, client_user)
    page = client.get(url).get_data(as_text=True)
    rows = [page[page.index(f'data-consultation-id="{c.consultation_id}"'):] for c in (first, second, third)]
    assert [page.index(f'data-consultation-id="{c.consultation_id}"') for c in (first, second, third)] == sorted(
        page.index(f'data-consultation-id="{c.consultation_id}"') for c in (first, second, third))
    assert "Paid " in rows[0][:rows[0].index("</tr>")]
    assert "To be charged " in rows[1][:rows[1].index("</tr>")] and "To be charged " in rows[2][:rows[2].index("</tr>")]
    assert "Tue 30 Mar 2027, 10:00 CEST (Europe/Berlin)" in page  # the second session, after the clocks changed
    assert "3 sessions, one a week" in page and "Weekly sessions with Dr" in page
    occurrence = client.get(f"/consultations/{second.consultation_id}").get_data(as_text=True)
    assert f'href="{url}"' in occurrence and "One of 3 weekly sessions" in occurrence
    client.post("/auth/logout")
    login(client, profile.user)
    assert client.get(url).status_code == 200  # the specialist too
    client.post("/auth/logout")
    login(client, make_user())
    assert client.get(url).status_code == 404  # nobody else
    assert client.get("/payments/series/2147483647/sessions").status_code == 404


def test_cancelling_one_occurrence_leaves_the_others(app: Any, pair: Any, fakepay: FakePay) -> None:
    client_user, profile = pair
    series = _book(app, client_user, profile)
    _save_card(series, fakepay)
    second = _charges(series)[1].consultation

    with app.test_request_context():
        cancel_consultation(second, client_user, None)
    db.session.commit()

    charges = _charges(series)
    assert [c.consultation.state for c in charges] == [ConsultationState.CONFIRMED, ConsultationState.CANCELLED,
                                                       ConsultationState.CONFIRMED]
    assert charge_due_occurrences(charges[-1].due_at) == 2  # the cancelled one is never charged
    assert [c.charge_state for c in _charges(series)] == [ChargeState.CHARGED, ChargeState.CANCELLED,
                                                          ChargeState.CHARGED]


def test_a_longer_cancellation_notice_charges_when_the_notice_starts(app: Any, pair: Any, fakepay: FakePay) -> None:
    client_user, profile = pair
    profile.paid_cancel_notice_hours = 48
    db.session.commit()
    series = _book(app, client_user, profile, count=2)

    charges = _charges(series)
    assert [c.consultation.cancel_notice_hours for c in charges] == [48, 48]  # the terms, kept on each
    assert [c.due_at for c in charges] == [c.consultation.start_utc - timedelta(hours=48) for c in charges]


def test_cancelling_an_occurrence_not_charged_yet_says_it_costs_nothing(app: Any, pair: Any,
                                                                        fakepay: FakePay) -> None:
    """Before its charge an occurrence costs nothing to cancel, and the cancel step says so (not a
    "refund" of money never taken); once charged, the booking's terms name the refund."""
    client_user, profile = pair
    series = _book(app, client_user, profile)
    _save_card(series, fakepay)
    first, second = (c.consultation for c in _charges(series)[:2])
    charge_due_occurrences(_charges(series)[0].due_at)  # the first is charged, the second not yet
    with app.test_request_context():
        not_yet = cancellation_consequence(second, client_user, now=NOW)
        charged = cancellation_consequence(first, client_user, now=NOW)
        by_specialist = cancellation_consequence(second, profile.user, now=NOW)
    assert not_yet.words == "Nothing has been charged for this session yet, so cancelling it costs nothing."
    assert not not_yet.refundable and not not_yet.late
    assert "pays nothing" in by_specialist.words
    assert "refund" in charged.words and charged.refundable
