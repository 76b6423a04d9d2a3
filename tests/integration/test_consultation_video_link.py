"""A video link for one consultation (issue 14): the specialist of that consultation sets it on its
page; it is checked by the one rule for meeting details (``check_meeting_details``), replaces the
profile's link for that consultation on its page (both participants), in its later e-mails and in
its .ics; nobody else can set it.

Service level and over HTTP; both databases (the ``app`` fixture is parametrised).
"""
from __future__ import annotations

import pytest

from marketplace.auth.models import Role
from marketplace.consultations.booking import reschedule_consultation
from marketplace.consultations.lifecycle import (
    CANNOT_SET_VIDEO_LINK,
    ConsultationError,
    confirm_consultation,
    set_video_link,
)
from marketplace.consultations.notifications import meeting_details
from marketplace.database import commit
from marketplace.extensions import db
from marketplace.specialists.services import VIDEO_LINK_MESSAGE
from tests.factories import PASSWORD
from tests.integration.test_consultations import book, first_free_slot, ics_of, login, mails, open_all_week

ROOM = "https://meet.example.org/alex-tuesday"
PROFILE_ROOM = "https://meet.example.org/room"  # the factory's profile link


@pytest.fixture
def specialist(app, make_specialist):
    profile = make_specialist(display_name="Dr Mara Weiss", formats=["video", "phone"], timezone="Europe/Berlin",
                              phone="+49 30 1234567", video_link=PROFILE_ROOM)
    open_all_week(profile)
    return profile


@pytest.fixture
def patient(app, make_user):
    return make_user(Role.CLIENT, display_name="Alex Morgan", timezone="Asia/Tokyo")


def plain(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_the_specialist_sets_a_link_for_one_consultation(specialist, patient, make_user):
    consultation = book(patient, specialist)
    other = book(make_user(Role.CLIENT), specialist, first_free_slot(specialist, after_hours=48))
    sequence = consultation.sequence
    set_video_link(consultation, specialist.user, f"  {ROOM} ")
    db.session.commit()
    assert consultation.video_link == ROOM and consultation.sequence == sequence + 1
    assert meeting_details(consultation) == ROOM
    assert meeting_details(other) == PROFILE_ROOM  # the others keep the profile's link
    set_video_link(consultation, specialist.user, "")  # cleared: the profile's link again
    db.session.commit()
    assert consultation.video_link is None and meeting_details(consultation) == PROFILE_ROOM


@pytest.mark.parametrize("link", ["Ask me for my number", "meet.example.org/room", "ftp://example.org/x",
                                  "https://meet.example.org/" + "x" * 300])
def test_the_link_is_checked_by_the_meeting_details_rule(specialist, patient, link):
    consultation = book(patient, specialist)
    with pytest.raises(ConsultationError, match="full link starting with https://") as raised:
        set_video_link(consultation, specialist.user, link)
    assert str(raised.value) == VIDEO_LINK_MESSAGE
    db.session.rollback()
    assert db.session.get(type(consultation), consultation.id).video_link is None


def test_only_the_specialist_of_a_video_consultation_still_to_come(specialist, patient, make_specialist, make_user):
    consultation = book(patient, specialist)
    stranger = make_specialist(display_name="Dr Other")
    for who in (patient, stranger.user):
        with pytest.raises(ConsultationError, match=CANNOT_SET_VIDEO_LINK):
            set_video_link(consultation, who, ROOM)
    by_phone = book(make_user(Role.CLIENT), specialist, first_free_slot(specialist, after_hours=72), fmt="phone")
    with pytest.raises(ConsultationError, match=CANNOT_SET_VIDEO_LINK):
        set_video_link(by_phone, specialist.user, ROOM)
    db.session.rollback()
    assert consultation.video_link is None and by_phone.video_link is None


def test_a_rescheduled_consultation_keeps_its_link(specialist, patient):
    consultation = book(patient, specialist)
    set_video_link(consultation, specialist.user, ROOM)
    db.session.commit()
    moved = reschedule_consultation(consultation, patient, first_free_slot(specialist, after_hours=48))
    db.session.commit()
    assert moved.video_link == ROOM


def test_over_http_both_see_it_and_later_mails_and_ics_carry_it(app, client, specialist, patient):
    consultation = book(patient, specialist)
    login(client, specialist.user)
    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert f'action="/consultations/{consultation.id}/video-link"' in page
    response = client.post(f"/consultations/{consultation.id}/video-link", data={"video_link": ROOM})
    assert response.status_code == 302
    db.session.refresh(consultation)
    assert consultation.video_link == ROOM
    sent_before = len(mails(app))
    confirm_consultation(consultation, specialist.user)  # a later e-mail: the confirmation
    commit()  # the request's commit: the mails are delivered after it
    confirmations = [m for m in mails(app)[sent_before:] if patient.email.lower() in str(m["To"]).lower()]
    assert confirmations and ROOM in plain(confirmations[-1])
    assert str(ics_of(confirmations[-1]).walk("VEVENT")[0]["LOCATION"]) == ROOM

    client.post("/auth/logout")
    login(client, patient)
    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert f'href="{ROOM}"' in page and PROFILE_ROOM not in page
    assert "/video-link" not in page  # the client has no form
    ics = client.get(f"/consultations/{consultation.id}.ics").get_data(as_text=True)
    assert ROOM in ics.replace("\r\n ", "")


def test_over_http_a_bad_link_or_another_person_changes_nothing(client, specialist, patient):
    consultation = book(patient, specialist)
    login(client, specialist.user)
    response = client.post(f"/consultations/{consultation.id}/video-link", data={"video_link": "Ask me for my number"})
    assert response.status_code == 422
    assert "Enter a full link starting with https://" in response.get_data(as_text=True)
    client.post("/auth/logout")
    login(client, patient)
    response = client.post(f"/consultations/{consultation.id}/video-link", data={"video_link": ROOM})
    assert response.status_code == 422 and CANNOT_SET_VIDEO_LINK in response.get_data(as_text=True)
    db.session.refresh(consultation)
    assert consultation.video_link is None


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_setting_the_link_needs_the_csrf_token(client, specialist, patient):
    consultation = book(patient, specialist)
    login_page = client.get("/auth/login").get_data(as_text=True)
    assert "csrf_token" in login_page
    token = login_page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    client.post("/auth/login", data={"email": specialist.user.email, "password": PASSWORD, "csrf_token": token})
    response = client.post(f"/consultations/{consultation.id}/video-link", data={"video_link": ROOM})
    assert response.status_code == 400
    db.session.refresh(consultation)
    assert consultation.video_link is None
