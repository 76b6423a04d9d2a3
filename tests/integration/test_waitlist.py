"""The earlier-slot waitlist (issue 17 item 1), on SQLite and PostgreSQL: joining (one entry per
pair, not with a free consultation already), a freed time offered to the first waiting client
with a 15-minute hold the database enforces, claiming it through the booking service, expiry
passing it on exactly once, leaving, and booking another way leaving the waitlist.

Jobs run at once (``JOBS_IMMEDIATE``): a cancellation's commit runs the waitlist's matching job."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from marketplace.auth.models import Role
from marketplace.consultations.availability import add_date_override, free_slots_for, refresh_next_available
from marketplace.consultations.booking import SLOT_TAKEN, BookingError, book_free_consultation
from marketplace.consultations.lifecycle import cancel_consultation
from marketplace.consultations.models import (
    Consultation,
    ConsultationState,
    OccupiedBlock,
    OfferState,
    WaitlistEntry,
    WaitlistOffer,
)
from marketplace.consultations.waitlist import (
    OFFER_CLAIMED,
    OFFER_ENDED,
    OFFER_HOLD,
    WaitlistError,
    claim_offer,
    expire_offers,
    join_waitlist,
    leave_waitlist,
    offer_from_token,
    offer_times,
    offer_token,
    waitlist_of,
)
from marketplace.database import commit, utcnow
from marketplace.extensions import db

ZONE = "Europe/Berlin"


def specialist_with_hours(make_specialist, start: str = "10:00", end: str = "10:30", days_ahead: int = 2):
    """A specialist whose only hours are one window ``days_ahead`` days from now (their zone):
    one free time per half hour of it."""
    profile = make_specialist(formats=["video"], timezone=ZONE)
    day = (utcnow().astimezone(ZoneInfo(ZONE)) + timedelta(days=days_ahead)).date()
    add_date_override(profile, day, "extra", time.fromisoformat(start), time.fromisoformat(end))
    db.session.flush()
    refresh_next_available([profile.id])
    db.session.commit()
    return profile


def book(client, profile, start: datetime | None = None) -> Consultation:
    consultation = book_free_consultation(client, profile, start or free_slots_for(profile)[0], "video")
    commit()
    return consultation


def join(client, profile, **prefs) -> WaitlistEntry:
    entry = join_waitlist(client, profile, tz=ZONE, **prefs)
    commit()
    return entry


def offers(state: OfferState | None = None) -> list[WaitlistOffer]:
    db.session.rollback()  # see what the jobs committed
    query = select(WaitlistOffer).order_by(WaitlistOffer.id)
    if state is not None:
        query = query.where(WaitlistOffer.state == state)
    return list(db.session.scalars(query))


def mails_to(app, user) -> list:
    return [m for m in app.extensions.get("mail_outbox", []) if m["To"] == user.email]


@pytest.fixture
def full_specialist(make_specialist, make_user):
    """One free time, booked by someone: nothing is free."""
    profile = specialist_with_hours(make_specialist)
    holder = make_user(Role.CLIENT)
    booking = book(holder, profile)
    assert free_slots_for(profile) == []
    return profile, holder, booking


def test_joining_when_nothing_is_free_waits_for_any_time(app, full_specialist, make_user):
    profile, _, _ = full_specialist
    client = make_user(Role.CLIENT)

    entry = join(client, profile)

    assert entry.before_utc is None
    with pytest.raises(WaitlistError, match="already on"):
        join_waitlist(client, profile, tz=ZONE)
    db.session.rollback()
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 1


def test_joining_when_times_are_free_waits_for_an_earlier_one(app, make_specialist, make_user):
    profile = specialist_with_hours(make_specialist, "10:00", "11:00")
    slots = free_slots_for(profile)
    client = make_user(Role.CLIENT)

    entry = join(client, profile, weekdays=[0, 4], parts=["morning"])

    assert entry.before_utc == slots[0]
    assert entry.weekdays == 0b10001 and entry.parts == "morning"


def test_a_client_with_a_free_consultation_cannot_join(app, full_specialist):
    profile, holder, _ = full_specialist

    with pytest.raises(WaitlistError, match="already have a free consultation"):
        join_waitlist(holder, profile, tz=ZONE)
    db.session.rollback()
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 0


def test_unknown_preferences_are_refused(app, full_specialist, make_user):
    profile, _, _ = full_specialist
    with pytest.raises(WaitlistError):
        join_waitlist(make_user(Role.CLIENT), profile, weekdays=[9], tz=ZONE)
    with pytest.raises(WaitlistError):
        join_waitlist(make_user(Role.CLIENT), profile, parts=["midnight"], tz=ZONE)


def test_a_cancellation_offers_the_time_to_the_first_waiting_client_and_holds_it(app, full_specialist, make_user):
    profile, holder, booking = full_specialist
    first, second = make_user(Role.CLIENT), make_user(Role.CLIENT)
    join(first, profile)
    join(second, profile)
    app.extensions["mail_outbox"] = []

    cancel_consultation(booking, holder, "Plans changed")
    commit()  # → the matching job runs

    [offer] = offers()
    assert (offer.client_id, offer.state, offer.start_utc) == (first.id, OfferState.OFFERED, booking.start_utc)
    assert offer.expires_at - offer.created_at == OFFER_HOLD
    blocks = db.session.scalars(select(OccupiedBlock).where(OccupiedBlock.waitlist_offer_id == offer.id)).all()
    assert len(blocks) == 2 and all(b.consultation_id is None for b in blocks)
    # Held: nobody else sees it or can book it.
    assert free_slots_for(profile) == []
    with pytest.raises(BookingError) as refused:
        book_free_consultation(second, profile, booking.start_utc, "video")
    assert refused.value.code == "taken" and refused.value.message == SLOT_TAKEN
    db.session.rollback()
    # The e-mail: the time in the client's zone, named, and the claim link.
    [mail] = mails_to(app, first)
    body = mail.get_body(preferencelist=("plain",)).get_content()
    local = booking.start_utc.astimezone(ZoneInfo(ZONE))
    assert f"{local:%H:%M}" in body and "(Europe/Berlin)" in body
    assert f"/waitlist/offers/{offer_token(offer)}" in body
    assert mails_to(app, second) == []


def test_times_of_day_and_weekdays_are_respected(app, full_specialist, make_user):
    profile, holder, booking = full_specialist  # the time is 10:00 Berlin
    weekday = booking.start_utc.astimezone(ZoneInfo(ZONE)).weekday()
    evenings, other_day, mornings = (make_user(Role.CLIENT) for _ in range(3))
    join(evenings, profile, parts=["evening"])
    join(other_day, profile, weekdays=[(weekday + 1) % 7])
    join(mornings, profile, parts=["morning"], weekdays=[weekday])

    cancel_consultation(booking, holder, None)
    commit()

    assert [o.client_id for o in offers()] == [mornings.id]


def test_only_earlier_times_are_offered_to_an_earlier_waiter(app, make_specialist, make_user):
    profile = specialist_with_hours(make_specialist, "10:00", "11:00")
    early, late = free_slots_for(profile)
    holder, waiter = make_user(Role.CLIENT), make_user(Role.CLIENT)
    later_booking = book(holder, profile, late)
    join(waiter, profile)  # waits for earlier than 10:00: nothing can be

    cancel_consultation(later_booking, holder, None)
    commit()

    assert offers() == []
    assert early < late


def test_claiming_books_through_the_booking_service_and_leaves_the_waitlist(app, full_specialist, make_user):
    profile, holder, booking = full_specialist
    waiter = make_user(Role.CLIENT)
    join(waiter, profile)
    cancel_consultation(booking, holder, None)
    commit()
    [offer] = offers()

    claimed = claim_offer(offer, waiter, "video", "Hello")
    commit()

    db.session.rollback()
    offer = db.session.get(WaitlistOffer, offer.id)
    assert offer.state is OfferState.CLAIMED and offer.consultation_id == claimed.id
    consultation = db.session.get(Consultation, claimed.id)
    assert consultation.client_id == waiter.id and consultation.start_utc == booking.start_utc
    assert consultation.state is ConsultationState.REQUESTED
    blocks = db.session.scalars(select(OccupiedBlock).where(OccupiedBlock.specialist_id == profile.id)).all()
    assert {b.consultation_id for b in blocks} == {consultation.id}
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 0
    # A second tap says so, and changes nothing.
    with pytest.raises(BookingError) as again:
        claim_offer(offer, waiter, "video")
    assert again.value.code == "claimed" and again.value.message == OFFER_CLAIMED


def test_someone_elses_offer_cannot_be_claimed(app, full_specialist, make_user):
    profile, holder, booking = full_specialist
    waiter, other = make_user(Role.CLIENT), make_user(Role.CLIENT)
    join(waiter, profile)
    cancel_consultation(booking, holder, None)
    commit()
    [offer] = offers()

    with pytest.raises(BookingError):
        claim_offer(offer, other, "video")
    assert offer_from_token(offer_token(offer)).id == offer.id
    assert offer_from_token("not-a-token") is None
    assert offers(OfferState.OFFERED)[0].id == offer.id


def test_expiry_passes_the_time_to_the_next_client_exactly_once(app, full_specialist, make_user):
    profile, holder, booking = full_specialist
    waiters = [make_user(Role.CLIENT) for _ in range(3)]
    for waiter in waiters:
        join(waiter, profile)
    cancel_consultation(booking, holder, None)
    commit()
    [first] = offers()
    later = first.expires_at + timedelta(seconds=1)

    expired = expire_offers(later)
    commit()
    again = expire_offers(later)  # a second run finds nothing left to expire
    commit()
    offer_times([profile.id], later)  # nor does the matching job make a second offer
    commit()

    assert expired == [first.id] and again == []
    everything = offers()
    assert [(o.client_id, o.state) for o in everything] == [(waiters[0].id, OfferState.EXPIRED),
                                                            (waiters[1].id, OfferState.OFFERED)]
    assert db.session.scalar(select(func.count(OccupiedBlock.id)).where(
        OccupiedBlock.waitlist_offer_id == everything[1].id)) == 2
    # The first client is still waiting, and the late claim is told what happened.
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 3
    with pytest.raises(BookingError) as late:
        claim_offer(everything[0], waiters[0], "video", now=later)
    assert late.value.code == "expired" and late.value.message == OFFER_ENDED


def test_an_offer_not_yet_swept_cannot_be_claimed_after_its_hold(app, full_specialist, make_user):
    profile, holder, booking = full_specialist
    waiter = make_user(Role.CLIENT)
    join(waiter, profile)
    cancel_consultation(booking, holder, None)
    commit()
    [offer] = offers()

    with pytest.raises(BookingError) as late:
        claim_offer(offer, waiter, "video", now=offer.expires_at + timedelta(seconds=1))

    assert late.value.code == "expired"
    assert offers(OfferState.OFFERED) != []


def test_leaving_frees_the_held_time_for_the_next_client(app, full_specialist, make_user):
    profile, holder, booking = full_specialist
    first, second = make_user(Role.CLIENT), make_user(Role.CLIENT)
    entry = join(first, profile)
    join(second, profile)
    cancel_consultation(booking, holder, None)
    commit()
    assert [o.client_id for o in offers()] == [first.id]

    with pytest.raises(WaitlistError):
        leave_waitlist(db.session.get(WaitlistEntry, entry.id), second)
    leave_waitlist(db.session.get(WaitlistEntry, entry.id), first)
    commit()

    assert [(o.client_id, o.state) for o in offers()] == [(first.id, OfferState.WITHDRAWN),
                                                         (second.id, OfferState.OFFERED)]
    assert waitlist_of(first).entries == []
    assert [e.client_id for e in waitlist_of(second).entries] == [second.id]


def test_booking_another_way_leaves_the_waitlist(app, make_specialist, make_user):
    profile = specialist_with_hours(make_specialist, "10:00", "11:00")
    early, late = free_slots_for(profile)
    holder, waiter = make_user(Role.CLIENT), make_user(Role.CLIENT)
    book(holder, profile, early)
    join(waiter, profile)

    book(waiter, profile, late)

    db.session.rollback()
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 0


# --- through HTTP ---------------------------------------------------------------------------------

def login(http, user) -> None:
    from tests.factories import PASSWORD

    assert http.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def test_join_and_leave_over_http_and_others_entries_are_404(app, client, full_specialist, make_user):
    profile, holder, _ = full_specialist
    waiter, other = make_user(Role.CLIENT), make_user(Role.CLIENT)
    login(client, waiter)

    page = client.get(f"/specialists/{profile.slug}/book").get_data(as_text=True)
    assert "Tell me when a time frees up" in page
    response = client.post(f"/specialists/{profile.slug}/waitlist", data={"weekdays": ["0", "6"], "parts": ["evening"]})
    assert response.status_code == 302
    db.session.rollback()
    entry = db.session.scalars(select(WaitlistEntry)).one()
    assert (entry.client_id, entry.weekdays, entry.parts) == (waiter.id, 0b1000001, "evening")
    page = client.get(f"/specialists/{profile.slug}/book").get_data(as_text=True)
    assert "You are on the waitlist" in page and "Mondays or Sundays, evenings" in page
    assert "Waiting for a time" in client.get("/consultations").get_data(as_text=True)
    # Bad input: a clear message, nothing changed.
    client.post(f"/specialists/{profile.slug}/waitlist", data={"weekdays": ["9"]})
    assert "Please choose days and times" in client.get(f"/specialists/{profile.slug}/book").get_data(as_text=True)

    stranger = app.test_client()
    login(stranger, other)
    assert stranger.post(f"/waitlist/{entry.id}/leave").status_code == 404
    assert client.post(f"/waitlist/{entry.id}/leave").status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 0


def test_the_claim_link_is_its_clients_only(app, client, full_specialist, make_user):
    profile, holder, booking = full_specialist
    waiter, other = make_user(Role.CLIENT), make_user(Role.CLIENT)
    join(waiter, profile)
    cancel_consultation(booking, holder, None)
    commit()
    [offer] = offers()
    url = f"/waitlist/offers/{offer_token(offer)}"

    stranger = app.test_client()
    login(stranger, other)
    assert stranger.get(url).status_code == 404
    assert stranger.post(url, data={"format": "video", "consent": "y"}).status_code == 404
    assert stranger.get("/waitlist/offers/forged").status_code == 404
    login(client, waiter)
    page = client.get(url).get_data(as_text=True)
    assert "We are holding this time for you until" in page and "(Europe/Berlin)" in page
    response = client.post(url, data={"format": "video", "consent": "y"})
    assert response.status_code == 302 and "/consultations/" in response.headers["Location"]
    assert "You have booked this time already." in client.get(url).get_data(as_text=True)
