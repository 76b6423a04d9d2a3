"""Free consultation: booking over HTTP, pages in the viewer's time zone, lifecycle rules,
e-mails with .ics, authorization (404 for non-participants), availability editor, stats.

Runs on SQLite and PostgreSQL (the ``app`` fixture is parametrised).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import delete, func, select

from marketplace.auth.models import Role
from marketplace.consultations.availability import refresh_next_available, set_weekly_hours
from marketplace.consultations.booking import (
    SLOT_TAKEN,
    BookingError,
    book_free_consultation,
    format_slot,
    reschedule_consultation,
)
from marketplace.consultations.lifecycle import cancel_consultation
from marketplace.consultations.models import (
    AvailabilityOverride,
    AvailabilityRule,
    Consultation,
    ConsultationOutcome,
    ConsultationState,
    OccupiedBlock,
    SchedulingSettings,
)
from marketplace.consultations.stats import specialist_stats
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.notifications.models import MailStatus, OutboxMail
from tests.factories import PASSWORD

# --- helpers --------------------------------------------------------------------------------------

def open_all_week(profile, **settings) -> None:
    """Availability every day 00:00–23:30 (profile's zone), optional settings; committed."""
    set_weekly_hours(profile.id, [(day, "00:00", "23:30") for day in range(7)])
    if settings:
        db.session.add(SchedulingSettings(specialist_id=profile.id, **settings))
    db.session.flush()
    refresh_next_available([profile.id])
    db.session.commit()


def first_free_slot(profile, after_hours: int = 0) -> datetime:
    from marketplace.consultations.availability import free_slots_for

    slots = free_slots_for(profile)
    # An hour of margin past the 12 h notice, so the slot is still bookable when the request runs.
    limit = utcnow() + timedelta(hours=13 + after_hours)
    return next(s for s in slots if s >= limit)


def booking_page_url(profile, slot: datetime, tz: str = "Europe/Berlin") -> str:
    """The booking page at the week of ``slot`` in the viewer's zone ``tz`` (the page shows one week
    at a time, the soonest free time's by default)."""
    return f"/specialists/{profile.slug}/book?week={slot.astimezone(ZoneInfo(tz)).date().isoformat()}"


def login(client, user) -> None:
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, "login failed in test setup"


def book_via_http(client, profile, slot: datetime, note: str = "I feel anxious at work.", fmt: str = "video",
                  **extra):
    data = {"slot": format_slot(slot), "format": fmt, "note": note, "consent": "y", **extra}
    return client.post(f"/specialists/{profile.slug}/book", data=data)


def book(client_user, profile, slot: datetime | None = None, note: str | None = "A note", fmt: str = "video"):
    """Book through the service (committed); returns the consultation."""
    slot = slot or first_free_slot(profile)
    consultation = book_free_consultation(client_user, profile, slot, fmt, note)
    db.session.commit()
    return consultation


def move_into_past(consultation, hours: float = 1) -> None:
    """'Time passes': the consultation started ``hours`` ago."""
    start = utcnow().replace(second=0, microsecond=0) - timedelta(hours=hours)
    consultation.start_utc = start
    consultation.end_utc = start + timedelta(minutes=30)
    # Its calendar blocks belong to the old time; past blocks matter to nobody.
    db.session.execute(delete(OccupiedBlock).where(OccupiedBlock.consultation_id == consultation.id))
    db.session.commit()


def mails(app) -> list:
    return app.extensions.get("mail_outbox", [])


def ics_of(message) -> icalendar.Calendar:
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            return icalendar.Calendar.from_ical(part.get_payload(decode=True))
    raise AssertionError("no text/calendar attachment")


@pytest.fixture
def specialist(app, make_specialist):
    profile = make_specialist(formats=["video", "in_person"], timezone="Europe/Berlin", phone="+49 30 1234567")
    open_all_week(profile)
    return profile


@pytest.fixture
def client_user(app, make_user):
    return make_user(Role.CLIENT, timezone="Asia/Tokyo")


# --- booking page ---------------------------------------------------------------------------------

def test_visitor_sees_the_booking_prompt(client, specialist):
    response = client.get(f"/specialists/{specialist.slug}/book")
    assert response.status_code == 200
    assert "You need to be logged in to book a consultation" in response.get_data(as_text=True)


def test_booking_page_shows_slots_in_the_clients_time_zone(client, specialist, client_user):
    """A client in Asia/Tokyo sees the slot at the right local time and the zone named."""
    login(client, client_user)
    slot = first_free_slot(specialist)
    html = client.get(booking_page_url(specialist, slot, "Asia/Tokyo")).get_data(as_text=True)
    tokyo = slot.astimezone(ZoneInfo("Asia/Tokyo"))
    assert "Asia/Tokyo" in html
    value = re.escape(format_slot(slot))
    radio = re.search(r'value="' + value + r'"[^>]*>\s*<span><time datetime="' + value
                      + r'" data-style="clock" data-zone="Asia/Tokyo">([0-9:]+)</time></span>', html)
    assert radio, "first free slot not offered"
    assert radio.group(1) == tokyo.strftime("%H:%M")
    # The day heading is the Tokyo date, not the Berlin or UTC one.
    assert f"{tokyo.strftime('%A')} {tokyo.day} {tokyo.strftime('%B %Y')}" in html


def test_booking_creates_consultation_blocks_and_emails(app, client, specialist, client_user):
    login(client, client_user)
    slot = first_free_slot(specialist)
    response = book_via_http(client, specialist, slot, note="Private: my boss")
    assert response.status_code == 302
    consultation = db.session.scalar(select(Consultation))
    assert response.headers["Location"].endswith(f"/consultations/{consultation.id}")
    assert consultation.state is ConsultationState.REQUESTED  # no auto-confirm by default
    assert consultation.start_utc == slot and consultation.end_utc == slot + timedelta(minutes=30)
    assert consultation.note == "Private: my boss" and consultation.format == "video"
    blocks = db.session.scalars(select(OccupiedBlock.block_start_utc).order_by(OccupiedBlock.block_start_utc)).all()
    assert blocks == [slot, slot + timedelta(minutes=15)]  # no buffer: exactly the 30 minutes
    sent = mails(app)
    assert sorted(m["To"] for m in sent) == sorted([client_user.email, specialist.user.email])
    for message in sent:
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert "Private: my boss" not in body  # the note never leaves Balance by e-mail
    to_specialist = next(m for m in sent if m["To"] == specialist.user.email)
    assert "see the note in Balance" in to_specialist.get_body(preferencelist=("plain",)).get_content()
    # The specialist's profile no longer offers that slot as its soonest one.
    db.session.refresh(specialist)
    assert specialist.next_available_at is not None and specialist.next_available_at != slot


def test_emails_show_the_time_in_each_recipients_zone_and_ics_agrees(app, client, specialist, client_user):
    login(client, client_user)
    slot = first_free_slot(specialist)
    book_via_http(client, specialist, slot)
    for message, zone in ((m, client_user.timezone if m["To"] == client_user.email else "Europe/Berlin")
                          for m in mails(app)):
        local = slot.astimezone(ZoneInfo(zone))
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert f"{local.strftime('%H:%M')} {local.tzname()} ({zone})" in body
        attachment = next(message.iter_attachments())
        assert attachment.get_content_type() == "text/calendar"
        assert attachment.get_param("method") == "REQUEST"
        event = ics_of(message).walk("VEVENT")[0]
        assert event.decoded("dtstart").astimezone(timezone.utc) == slot
        assert str(event["uid"]) == f"consultation-{db.session.scalar(select(Consultation.id))}@balance.example"


def test_auto_confirm_books_confirmed(app, client, make_specialist, client_user):
    profile = make_specialist()
    open_all_week(profile, auto_confirm=True)
    login(client, client_user)
    book_via_http(client, profile, first_free_slot(profile))
    assert db.session.scalar(select(Consultation.state)) is ConsultationState.CONFIRMED
    assert any("is confirmed" in m["Subject"] for m in mails(app))


def test_campaign_source_is_carried_through(client, specialist, client_user):
    login(client, client_user)
    html = client.get(f"/specialists/{specialist.slug}/book?src=campaign").get_data(as_text=True)
    assert re.search(r'name="src"[^>]*value="campaign"|value="campaign"[^>]*name="src"', html)
    book_via_http(client, specialist, first_free_slot(specialist), src="campaign")
    assert db.session.scalar(select(Consultation.source)) == "campaign"


def test_taken_slot_shows_friendly_message_and_keeps_the_note(client, specialist, client_user, make_user):
    slot = first_free_slot(specialist)
    book(make_user(Role.CLIENT), specialist, slot)
    login(client, client_user)
    response = book_via_http(client, specialist, slot, note="Keep this note please")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert SLOT_TAKEN in html
    assert "Keep this note please" in html
    assert db.session.scalar(select(func.count(Consultation.id))) == 1


def test_consent_is_required(client, specialist, client_user):
    login(client, client_user)
    slot = first_free_slot(specialist)
    response = client.post(f"/specialists/{specialist.slug}/book",
                           data={"slot": format_slot(slot), "format": "video", "note": "hi"})
    assert response.status_code == 422
    assert "not an emergency service" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Consultation.id))) == 0


@pytest.mark.parametrize("slot_value", ["", "not-a-date", "2026-12-01T09:00:00", "2020-01-01T09:00:00Z",
                                        "2026-12-01T09:07:00Z"])
def test_bad_slot_is_refused_without_change(client, specialist, client_user, slot_value):
    login(client, client_user)
    response = client.post(f"/specialists/{specialist.slug}/book",
                           data={"slot": slot_value, "format": "video", "consent": "y"})
    assert response.status_code in (409, 422)
    assert db.session.scalar(select(func.count(Consultation.id))) == 0


def test_unknown_format_is_refused(client, specialist, client_user):
    login(client, client_user)
    response = book_via_http(client, specialist, first_free_slot(specialist), fmt="phone")
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(Consultation.id))) == 0


def test_only_clients_can_book(client, specialist, make_specialist):
    other = make_specialist()
    login(client, other.user)
    html = client.get(f"/specialists/{specialist.slug}/book").get_data(as_text=True)
    assert "client account" in html
    response = book_via_http(client, specialist, first_free_slot(specialist))
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(Consultation.id))) == 0


def test_specialist_without_free_consultation_cannot_be_booked(client, make_specialist, client_user):
    profile = make_specialist(offers_free_consultation=False)
    open_all_week(profile)
    login(client, client_user)
    html = client.get(f"/specialists/{profile.slug}/book").get_data(as_text=True)
    assert "not offering free consultations" in html
    assert 'name="slot"' not in html
    slot = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    assert book_via_http(client, profile, slot).status_code == 422
    assert db.session.scalar(select(func.count(Consultation.id))) == 0


def test_unpublished_profile_booking_page_is_404(client, make_specialist, client_user):
    profile = make_specialist(is_published=False)
    login(client, client_user)
    assert client.get(f"/specialists/{profile.slug}/book").status_code == 404


def test_one_free_consultation_per_pair_until_cancelled(client, specialist, client_user):
    first = book(client_user, specialist)
    login(client, client_user)
    html = client.get(f"/specialists/{specialist.slug}/book").get_data(as_text=True)
    assert "already have a free consultation" in html
    second_slot = first_free_slot(specialist, after_hours=30)
    response = book_via_http(client, specialist, second_slot)
    assert response.status_code == 409
    assert db.session.scalar(select(func.count(Consultation.id))) == 1
    # Cancelled ones don't count:
    client.post(f"/consultations/{first.id}/cancel", data={"reason": "Something came up"})
    assert book_via_http(client, specialist, second_slot).status_code == 302
    assert db.session.scalar(select(func.count(Consultation.id))) == 2


def test_completed_consultation_blocks_rebooking(client, specialist, client_user):
    consultation = book(client_user, specialist)
    move_into_past(consultation)
    consultation.state = ConsultationState.COMPLETED
    db.session.commit()
    with pytest.raises(BookingError) as refused:
        book_free_consultation(client_user, specialist, first_free_slot(specialist), "video")
    assert refused.value.code == "duplicate"


def test_database_refuses_a_second_open_free_consultation_for_the_pair(app, specialist, client_user):
    """The partial unique index, not only the Python check, enforces one per pair."""
    from sqlalchemy.exc import IntegrityError

    consultation = book(client_user, specialist)
    twin = Consultation(client_id=client_user.id, specialist_id=specialist.id, start_utc=consultation.start_utc
                        + timedelta(days=3), end_utc=consultation.end_utc + timedelta(days=3), format="video")
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    twin = Consultation(client_id=client_user.id, specialist_id=specialist.id, start_utc=consultation.start_utc
                        + timedelta(days=3), end_utc=consultation.end_utc + timedelta(days=3), format="video",
                        state=ConsultationState.CANCELLED)
    db.session.add(twin)
    db.session.commit()  # a cancelled one is allowed


def test_database_refuses_overlapping_blocks(app, specialist, client_user):
    from sqlalchemy.exc import IntegrityError

    consultation = book(client_user, specialist)
    db.session.add(OccupiedBlock(specialist_id=specialist.id, block_start_utc=consultation.start_utc
                                 + timedelta(minutes=15), consultation_id=consultation.id))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_buffer_blocks_the_neighbouring_slot(app, make_specialist, make_user):
    profile = make_specialist()
    open_all_week(profile, buffer_minutes=15)
    from marketplace.consultations.availability import free_slots_for

    before = set(free_slots_for(profile))
    # A slot with free slots on both sides (not at the edge of the day's hours, whatever the time of the run).
    slot = next(s for s in sorted(before) if s >= first_free_slot(profile, after_hours=24)
                and {s + timedelta(minutes=m) for m in (-30, 30, 60)} <= before)
    consultation = book(make_user(Role.CLIENT), profile, slot)
    blocks = db.session.scalars(select(OccupiedBlock.block_start_utc)
                                .where(OccupiedBlock.consultation_id == consultation.id)).all()
    assert len(blocks) == 3  # 30 minutes + 15 minutes of buffer
    slots = set(free_slots_for(profile))
    assert slot + timedelta(minutes=30) not in slots and slot - timedelta(minutes=30) not in slots
    assert slot + timedelta(minutes=60) in slots
    with pytest.raises(BookingError) as refused:
        book_free_consultation(make_user(Role.CLIENT), profile, slot + timedelta(minutes=30), "video")
    assert refused.value.code == "taken" and refused.value.message == SLOT_TAKEN


# --- my consultations and the consultation page ---------------------------------------------------

def test_my_consultations_lists_in_viewer_zone(client, specialist, client_user):
    consultation = book(client_user, specialist)
    login(client, client_user)
    html = client.get("/consultations").get_data(as_text=True)
    local = consultation.start_utc.astimezone(ZoneInfo("Asia/Tokyo"))
    assert specialist.display_name in html
    assert f"{local.strftime('%H:%M')} JST (Asia/Tokyo)" in html
    assert "Upcoming" in html


def test_specialist_sees_the_booking_in_their_zone(client, specialist, client_user):
    consultation = book(client_user, specialist)
    login(client, specialist.user)
    html = client.get("/consultations").get_data(as_text=True)
    local = consultation.start_utc.astimezone(ZoneInfo("Europe/Berlin"))
    assert client_user.display_name in html
    assert f"{local.strftime('%H:%M')} {local.tzname()} (Europe/Berlin)" in html


def test_participants_see_meeting_details_admin_does_not(client, specialist, client_user, make_user):
    consultation = book(client_user, specialist)
    for user in (client_user, specialist.user):
        login(client, user)
        html = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
        assert "https://meet.example.org/room" in html
        assert "A note" in html
        client.post("/auth/logout")
    admin = make_user(Role.ADMIN)
    login(client, admin)
    response = client.get(f"/consultations/{consultation.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert specialist.display_name in html
    assert "https://meet.example.org/room" not in html
    assert "A note" not in html
    assert client.get(f"/consultations/{consultation.id}.ics").status_code == 404


@pytest.mark.parametrize("who", ["visitor", "other_client", "other_specialist"])
def test_non_participants_get_404(client, specialist, client_user, make_user, make_specialist, who):
    consultation = book(client_user, specialist)
    if who == "other_client":
        login(client, make_user(Role.CLIENT))
    elif who == "other_specialist":
        login(client, make_specialist().user)
    for path in (f"/consultations/{consultation.id}", f"/consultations/{consultation.id}.ics"):
        assert client.get(path).status_code == 404, path
    for action in ("confirm", "cancel", "outcome", "complete", "no-show", "reschedule"):
        response = client.post(f"/consultations/{consultation.id}/{action}", data={"reason": "x"})
        assert response.status_code in ((302,) if who == "visitor" else (404,)), action
    db.session.refresh(consultation)
    assert consultation.state is ConsultationState.REQUESTED


def test_ics_download_parses_and_starts_at_utc_start(client, specialist, client_user):
    consultation = book(client_user, specialist)
    login(client, client_user)
    response = client.get(f"/consultations/{consultation.id}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    event = calendar.walk("VEVENT")[0]
    assert event.decoded("dtstart").astimezone(timezone.utc) == consultation.start_utc
    assert event.decoded("dtend").astimezone(timezone.utc) == consultation.end_utc
    assert str(event["uid"]) == f"consultation-{consultation.id}@balance.example"
    assert str(calendar["method"]) == "REQUEST"


# --- lifecycle --------------------------------------------------------------------------------------

def test_specialist_confirms_and_both_get_mail(app, client, specialist, client_user):
    consultation = book(client_user, specialist)
    mails(app).clear()
    login(client, client_user)
    assert client.post(f"/consultations/{consultation.id}/confirm").status_code == 422  # not the client's call
    client.post("/auth/logout")
    login(client, specialist.user)
    assert client.post(f"/consultations/{consultation.id}/confirm").status_code == 302
    db.session.refresh(consultation)
    assert consultation.state is ConsultationState.CONFIRMED and consultation.sequence == 1
    assert len(mails(app)) == 2
    event = ics_of(mails(app)[0]).walk("VEVENT")[0]
    assert int(event["sequence"]) == 1 and str(event["status"]) == "CONFIRMED"


def test_cancel_by_client_frees_the_slot_and_sends_cancel_ics(app, client, specialist, client_user):
    consultation = book(client_user, specialist)
    mails(app).clear()
    login(client, client_user)
    response = client.post(f"/consultations/{consultation.id}/cancel", data={"reason": "I found a therapist"})
    assert response.status_code == 302
    db.session.refresh(consultation)
    assert consultation.state is ConsultationState.CANCELLED
    assert consultation.cancel_reason == "I found a therapist" and consultation.cancelled_by_id == client_user.id
    assert db.session.scalar(select(func.count(OccupiedBlock.id))) == 0
    assert len(mails(app)) == 2
    for message in mails(app):
        assert next(message.iter_attachments()).get_param("method") == "CANCEL"
        calendar = ics_of(message)
        assert str(calendar["method"]) == "CANCEL"
        assert str(calendar.walk("VEVENT")[0]["status"]) == "CANCELLED"
    # The slot is free again for someone else.
    from marketplace.consultations.availability import free_slots_for

    assert consultation.start_utc in free_slots_for(specialist)


def test_cancel_by_the_specialist_requires_a_reason(client, specialist, client_user):
    consultation = book(client_user, specialist)
    login(client, specialist.user)
    response = client.post(f"/consultations/{consultation.id}/cancel", data={"reason": "  "})
    assert response.status_code == 422
    assert "reason" in response.get_data(as_text=True)
    db.session.refresh(consultation)
    assert consultation.state is ConsultationState.REQUESTED


def test_cannot_cancel_after_start(client, specialist, client_user):
    consultation = book(client_user, specialist)
    move_into_past(consultation, hours=0.1)
    login(client, client_user)
    response = client.post(f"/consultations/{consultation.id}/cancel", data={"reason": "late"})
    assert response.status_code == 422
    db.session.refresh(consultation)
    assert consultation.state is ConsultationState.REQUESTED


def test_cannot_record_outcome_before_start(client, specialist, client_user):
    consultation = book(client_user, specialist)
    login(client, specialist.user)
    response = client.post(f"/consultations/{consultation.id}/outcome", data={"outcome": "proceed", "confirm": "y"})
    assert response.status_code == 422
    db.session.refresh(consultation)
    assert consultation.outcome is None


def test_outcome_after_start_proceed(client, specialist, client_user):
    consultation = book(client_user, specialist)
    move_into_past(consultation)
    login(client, client_user)
    assert client.post(f"/consultations/{consultation.id}/outcome",
                       data={"outcome": "proceed", "confirm": "y"}).status_code == 422
    client.post("/auth/logout")
    login(client, specialist.user)
    response = client.post(f"/consultations/{consultation.id}/outcome", data={"outcome": "proceed", "confirm": "y"})
    assert response.status_code == 302
    db.session.refresh(consultation)
    assert consultation.outcome is ConsultationOutcome.PROCEED
    assert consultation.state is ConsultationState.COMPLETED
    # Once recorded, it is not recorded again.
    assert client.post(f"/consultations/{consultation.id}/outcome",
                       data={"outcome": "not_a_fit", "confirm": "y"}).status_code == 422


def test_not_a_fit_suggests_specialists_sharing_specialties(client, specialist, client_user, make_specialist):
    similar = make_specialist(display_name="Dr Similar", specialties=["anxiety"])
    make_specialist(display_name="Dr Unrelated", specialties=["adhd"])
    make_specialist(display_name="Dr No Free", specialties=["anxiety"], offers_free_consultation=False)
    consultation = book(client_user, specialist)
    move_into_past(consultation)
    login(client, specialist.user)
    client.post(f"/consultations/{consultation.id}/outcome",
                data={"outcome": "not_a_fit", "outcome_note": "Trauma focus would help", "confirm": "y"})
    client.post("/auth/logout")
    login(client, client_user)
    html = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert "Not a fit" in html and "Trauma focus would help" in html
    assert "Dr Similar" in html and f"/specialists/{similar.slug}/book" in html
    assert "Dr Unrelated" not in html and "Dr No Free" not in html


def test_complete_and_no_show_only_after_start(client, specialist, client_user, make_user):
    consultation = book(client_user, specialist)
    login(client, specialist.user)
    assert client.post(f"/consultations/{consultation.id}/no-show", data={"confirm": "y"}).status_code == 422
    move_into_past(consultation)
    assert client.post(f"/consultations/{consultation.id}/no-show", data={"confirm": "y"}).status_code == 302
    db.session.refresh(consultation)
    assert consultation.state is ConsultationState.NO_SHOW
    other = book(make_user(Role.CLIENT), specialist)
    move_into_past(other, hours=3)
    assert client.post(f"/consultations/{other.id}/complete", data={"confirm": "y"}).status_code == 302
    db.session.refresh(other)
    assert other.state is ConsultationState.COMPLETED


def test_reschedule_moves_atomically_and_keeps_the_uid(app, client, specialist, client_user):
    consultation = book(client_user, specialist, note="Keep me")
    new_slot = first_free_slot(specialist, after_hours=48)
    mails(app).clear()
    login(client, client_user)
    assert client.get(f"/consultations/{consultation.id}/reschedule").status_code == 200
    response = client.post(f"/consultations/{consultation.id}/reschedule", data={"slot": format_slot(new_slot)})
    assert response.status_code == 302
    db.session.refresh(consultation)
    assert consultation.state is ConsultationState.CANCELLED
    new = db.session.scalar(select(Consultation).where(Consultation.id != consultation.id))
    assert new.start_utc == new_slot and new.note == "Keep me" and new.rescheduled_from_id == consultation.id
    assert new.uid == consultation.uid and new.sequence == consultation.sequence + 1
    blocks = db.session.scalars(select(OccupiedBlock.consultation_id)).all()
    assert set(blocks) == {new.id}
    assert len(mails(app)) == 2 and all("Rescheduled" in m["Subject"] for m in mails(app))
    event = ics_of(mails(app)[0]).walk("VEVENT")[0]
    assert str(event["uid"]) == consultation.uid and int(event["sequence"]) == new.sequence


def test_reschedule_to_a_taken_slot_changes_nothing(client, specialist, client_user, make_user):
    consultation = book(client_user, specialist)
    taken = first_free_slot(specialist, after_hours=48)
    book(make_user(Role.CLIENT), specialist, taken)
    login(client, client_user)
    response = client.post(f"/consultations/{consultation.id}/reschedule", data={"slot": format_slot(taken)})
    assert response.status_code == 409
    assert SLOT_TAKEN in response.get_data(as_text=True)
    db.session.refresh(consultation)
    assert consultation.state is ConsultationState.REQUESTED
    assert db.session.scalar(select(func.count(Consultation.id))) == 2
    assert db.session.scalar(select(func.count(OccupiedBlock.id)).where(
        OccupiedBlock.consultation_id == consultation.id)) == 2


def test_reschedule_race_loser_keeps_the_old_booking(specialist, client_user, make_user):
    """Service level: the savepoint rolls back the cancellation when the insert fails."""
    from marketplace.consultations.booking import place_booking, reschedule_consultation

    consultation = book(client_user, specialist)
    target = first_free_slot(specialist, after_hours=48)
    # Another booking grabs the target *after* validation: simulate by inserting its blocks only.
    rival = book(make_user(Role.CLIENT), specialist, first_free_slot(specialist, after_hours=96))
    db.session.add(OccupiedBlock(specialist_id=specialist.id, block_start_utc=target, consultation_id=rival.id))
    db.session.commit()
    with pytest.raises(BookingError) as refused:
        reschedule_consultation(consultation, client_user, target)
    assert refused.value.code in ("taken", "invalid")
    db.session.commit()
    db.session.refresh(consultation)
    assert consultation.state is ConsultationState.REQUESTED
    assert place_booking is not None


def test_booking_succeeds_when_smtp_is_down(app, client, specialist, client_user):
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_TIMEOUT=1)
    login(client, client_user)
    response = book_via_http(client, specialist, first_free_slot(specialist))
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(Consultation.id))) == 1
    pending = db.session.scalars(select(OutboxMail).where(OutboxMail.status == MailStatus.PENDING)).all()
    assert len(pending) == 2
    # The server comes back: `deliver-mail` sends them.
    app.config.update(MAIL_BACKEND="memory")
    result = app.test_cli_runner().invoke(args=["deliver-mail"])
    assert "delivered 2" in result.output
    assert len(mails(app)) == 2


# --- profile partial, availability editor, stats --------------------------------------------------

def profile_card(profile) -> str:
    """The profile page's booking card as the page gathers it (its PROFILE_CARD parts) in the viewer's zone."""
    from flask import render_template

    from marketplace.specialists.pages import booking_card_parts
    from marketplace.timeutil import viewer_timezone

    return render_template("specialists/_booking_card.html", parts=booking_card_parts(profile, viewer_timezone()))


def test_profile_partial_lists_next_slots_in_viewer_zone(app, specialist, client_user):
    from flask_login import login_user

    slot = first_free_slot(specialist)
    with app.test_request_context("/"):
        login_user(client_user)
        html = profile_card(specialist)
    tokyo = slot.astimezone(ZoneInfo("Asia/Tokyo"))
    assert "Asia/Tokyo" in html and "Book a free consultation" in html
    assert re.search("slot=" + format_slot(slot).replace(":", "(:|%3A)"), html)
    assert (f'<time datetime="{format_slot(slot)}" data-style="clock" data-zone="Asia/Tokyo">'
            f"{tokyo.strftime('%H:%M')}</time>") in html


def test_profile_partial_keeps_the_campaign_source(app, specialist):
    with app.test_request_context("/?src=campaign"):
        html = profile_card(specialist)
    assert f"/specialists/{specialist.slug}/book?src=campaign" in html
    assert html.count("src=campaign") == html.count("/book?")


def test_profile_partial_says_paid_sessions_only_without_free_consultation(app, make_specialist):
    """Not empty (issue 14): without a word, the profile read as fully booked. No times, no booking."""
    profile = make_specialist(offers_free_consultation=False)
    with app.test_request_context("/"):
        html = profile_card(profile)
    assert 'data-testid="paid-only"' in html and "Offers paid sessions only" in html
    assert "/book" not in html and "No free times" not in html


def statements(counter) -> list[str]:
    return [q for q in counter.statements if q.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE")]


def test_profile_partial_query_count(app, specialist, count_queries):
    assert specialist.slug  # loaded before counting (the fixture's commit expired it)
    with app.test_request_context("/"):
        with count_queries() as counter:
            profile_card(specialist)
    # the precomputed availability snapshot
    assert len(statements(counter)) == 1, counter.statements


def test_booking_page_query_count(client, specialist, client_user, make_user, count_queries):
    for _ in range(5):
        book(make_user(Role.CLIENT), specialist, first_free_slot(specialist, after_hours=24))
    login(client, client_user)
    url = f"/specialists/{specialist.slug}/book"
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    # user, profile, its formats, the client's open consultation, settings, rules, overrides, bookings
    # (+ the navigation's unread-message count)
    assert len(statements(counter)) <= 9, counter.statements


def test_availability_editor(client, make_specialist):
    profile = make_specialist()
    login(client, profile.user)
    assert client.get("/specialists/me/availability").status_code == 200
    response = client.post("/specialists/me/availability/rules", data={"weekday": "0", "start": "09:00",
                                                                        "end": "12:00"})
    assert response.status_code == 302
    rule = db.session.scalar(select(AvailabilityRule))
    assert (rule.weekday, rule.start_time.strftime("%H:%M"), rule.end_time.strftime("%H:%M")) == (0, "09:00", "12:00")
    db.session.refresh(profile)
    assert profile.next_available_at is not None
    # Validation: end before start, off-grid minutes, no day (duplicates are merged: test_calendar_keeping.py).
    for data, message in (({"weekday": "1", "start": "12:00", "end": "09:00"}, "end time must be after"),
                          ({"weekday": "1", "start": "09:10", "end": "12:00"}, "quarter hour"),
                          ({"start": "09:00", "end": "12:00"}, "Choose at least one day"),
                          ({"weekday": "9", "start": "09:00", "end": "12:00"}, "not a valid choice")):
        response = client.post("/specialists/me/availability/rules", data=data)
        assert response.status_code == 422 and message in response.get_data(as_text=True), data
    assert db.session.scalar(select(func.count(AvailabilityRule.id))) == 1
    # Overrides
    day = (utcnow() + timedelta(days=3)).date()
    assert client.post("/specialists/me/availability/overrides",
                       data={"day": day.isoformat(), "kind": "off"}).status_code == 302
    response = client.post("/specialists/me/availability/overrides",
                           data={"day": day.isoformat(), "kind": "extra", "start": "18:00"})
    assert response.status_code == 422 and "start and an end" in response.get_data(as_text=True)
    assert client.post("/specialists/me/availability/overrides",
                       data={"day": day.isoformat(), "kind": "extra", "start": "18:00", "end": "20:00"}
                       ).status_code == 302
    assert db.session.scalar(select(func.count(AvailabilityOverride.id))) == 2
    past = (utcnow() - timedelta(days=3)).date()
    assert client.post("/specialists/me/availability/overrides",
                       data={"day": past.isoformat(), "kind": "off"}).status_code == 422
    # Remove
    assert client.post(f"/specialists/me/availability/rules/{rule.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count(AvailabilityRule.id))) == 0


def test_other_specialists_rules_cannot_be_removed(client, specialist, make_specialist):
    rule_id = db.session.scalar(select(AvailabilityRule.id).where(AvailabilityRule.specialist_id == specialist.id))
    login(client, make_specialist().user)
    assert client.post(f"/specialists/me/availability/rules/{rule_id}/delete").status_code == 404
    assert client.post("/specialists/me/availability/overrides/999999/delete").status_code == 404
    assert db.session.get(AvailabilityRule, rule_id) is not None


def test_settings_form_saves_and_refuses_stale_version(client, make_specialist):
    profile = make_specialist()
    login(client, profile.user)
    data = {"buffer_minutes": "15", "min_notice_hours": "24", "horizon_days": "14", "max_per_day": "3",
            "auto_confirm": "y", "version_id": "0", "confirm_within_hours": "36"}
    assert client.post("/specialists/me/availability/settings", data=data).status_code == 302
    settings = db.session.get(SchedulingSettings, profile.id)
    assert (settings.buffer_minutes, settings.min_notice_minutes, settings.horizon_days, settings.max_per_day,
            settings.auto_confirm, settings.confirm_within_hours) == (15, 24 * 60, 14, 3, True, 36)
    # The same (now stale) form from another tab:
    response = client.post("/specialists/me/availability/settings", data={**data, "buffer_minutes": "30"})
    assert response.status_code == 422 and "changed in another window" in response.get_data(as_text=True)
    db.session.refresh(settings)
    assert settings.buffer_minutes == 15
    bad = {**data, "version_id": str(settings.version_id), "horizon_days": "0"}
    response = client.post("/specialists/me/availability/settings", data=bad)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "between 1 and 365" in text


def test_availability_pages_are_for_specialists_only(client, client_user):
    assert client.get("/specialists/me/availability").status_code == 302  # visitor: to login
    login(client, client_user)
    assert client.get("/specialists/me/availability").status_code == 403
    assert client.get("/specialists/me/stats").status_code == 403


def test_stats_page_counts(client, specialist, make_user):
    booked = [book(make_user(Role.CLIENT), specialist, first_free_slot(specialist, after_hours=24 * i))
              for i in range(4)]
    move_into_past(booked[0], hours=5)
    move_into_past(booked[1], hours=3)
    move_into_past(booked[2], hours=1)
    booked[0].state, booked[0].outcome = ConsultationState.COMPLETED, ConsultationOutcome.PROCEED
    booked[1].state, booked[1].outcome = ConsultationState.COMPLETED, ConsultationOutcome.NOT_A_FIT
    booked[2].state = ConsultationState.NO_SHOW
    db.session.commit()
    login(client, specialist.user)
    html = client.get("/specialists/me/stats").get_data(as_text=True)

    def stat(name: str) -> str:
        return re.search(rf'data-stat="{name}">([^<]*)<', html).group(1)

    assert (stat("booked"), stat("completed"), stat("no_shows"), stat("proceed"), stat("not_a_fit"),
            stat("upcoming"), stat("paid_sessions")) == ("4", "2", "1", "1", "1", "1", "0")


def test_stats_count_a_rescheduled_consultation_as_rescheduled_not_cancelled(client, specialist, make_user):
    """A booking the client moved to another time is not "Cancelled", and the move is one booking."""
    mover, canceller = make_user(Role.CLIENT), make_user(Role.CLIENT)
    moved = book(mover, specialist, first_free_slot(specialist))
    reschedule_consultation(moved, mover, first_free_slot(specialist, after_hours=48))
    db.session.commit()
    cancelled = book(canceller, specialist, first_free_slot(specialist, after_hours=96))
    cancel_consultation(cancelled, canceller, "Plans changed")
    db.session.commit()

    stats = specialist_stats(specialist.id)
    assert (stats.booked, stats.upcoming, stats.cancelled, stats.rescheduled) == (2, 1, 1, 1)
    login(client, specialist.user)
    html = client.get("/specialists/me/stats").get_data(as_text=True)
    counts = dict(re.findall(r'data-stat="(\w+)">([^<]*)<', html))
    assert (counts["booked"], counts["cancelled"], counts["rescheduled"]) == ("2", "1", "1")


# --- account hooks and messaging contract ---------------------------------------------------------

def test_has_consultation_between(specialist, client_user, make_user):
    from marketplace.consultations.services import has_consultation_between

    book(client_user, specialist)
    assert has_consultation_between(client_user.id, specialist.id)
    assert not has_consultation_between(make_user(Role.CLIENT).id, specialist.id)


def test_export_and_deletion_hooks(app, specialist, client_user):
    from marketplace.account.services import delete_account, export_user_data

    consultation = book(client_user, specialist, note="my note")
    exported = export_user_data(client_user)["consultations"]
    assert exported[0]["id"] == consultation.id and exported[0]["note"] == "my note"
    assert export_user_data(specialist.user)["consultations"][0]["note"] is None
    mails(app).clear()
    with app.test_request_context("/"):
        delete_account(client_user, PASSWORD)
    db.session.commit()
    db.session.refresh(consultation)
    assert consultation.state is ConsultationState.CANCELLED
    assert db.session.scalar(select(func.count(OccupiedBlock.id))) == 0
    notices = db.session.scalars(select(OutboxMail.recipient).where(OutboxMail.subject.like("Cancelled%"))).all()
    assert notices == [specialist.user.email]  # notice to the other side only


def test_refresh_availability_cli(app, specialist):
    specialist.next_available_at = None
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["refresh-availability"])
    assert "refreshed" in result.output
    db.session.refresh(specialist)
    assert specialist.next_available_at is not None


def test_refresh_next_available_batches_queries(app, make_specialist, count_queries):
    profiles = [make_specialist() for _ in range(6)]
    for profile in profiles:
        set_weekly_hours(profile.id, [(d, "09:00", "17:00") for d in range(7)])
    db.session.commit()
    ids = [p.id for p in profiles]
    with count_queries() as counter:
        refresh_next_available(ids)
    assert counter.count <= 7, counter.statements
    db.session.commit()
    assert all(db.session.get(type(p), p.id).next_available_at is not None for p in profiles)


def test_email_carries_no_note_even_in_attachments(app, specialist, client_user):
    import base64

    book(client_user, specialist, note="SECRET-NOTE-123")
    stored = db.session.scalars(select(OutboxMail)).all()
    assert len(stored) == 2
    for mail in stored:
        assert "SECRET-NOTE-123" not in mail.body_text + mail.subject
        for attachment in mail.attachments:
            assert b"SECRET-NOTE-123" not in base64.b64decode(attachment["data"])
