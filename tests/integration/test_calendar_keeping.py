"""Specialists keeping their calendar (issue 14): availability reachable and required to publish,
weekly hours for several days at once / edited in place / merged, a zone change that asks how
the hours follow, meeting details edited and validated in one place. Service and HTTP, on
SQLite and PostgreSQL (the ``app``/``client`` fixtures)."""
from __future__ import annotations

import pathlib
import re
import threading
from datetime import time, timedelta

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from marketplace.consultations.availability import (
    add_date_override,
    add_weekly_hours,
    set_weekly_hours,
    update_weekly_rule,
)
from marketplace.consultations.models import AvailabilityRule, OverrideKind
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.specialists.hooks import KEEP_CLOCK, KEEP_MOMENTS
from marketplace.specialists.models import SpecialistProfile
from marketplace.specialists.services import (
    HOURS_FIRST,
    PHONE_MESSAGE,
    ProfileError,
    ProfileInput,
    check_meeting_details,
    publish_profile,
    update_profile,
)
from tests.factories import PASSWORD

AVAILABILITY = "/specialists/me/availability"
RULES = "/specialists/me/availability/rules"
EDIT = "/specialists/me/edit"


def login(client, user) -> None:
    assert client.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def rules_of(profile_id: int) -> list[tuple[int, str, str]]:
    db.session.expire_all()
    return [(r.weekday, r.start_time.strftime("%H:%M"), r.end_time.strftime("%H:%M")) for r in db.session.scalars(
        select(AvailabilityRule).where(AvailabilityRule.specialist_id == profile_id)
        .order_by(AvailabilityRule.weekday, AvailabilityRule.start_time))]


def reload(profile: SpecialistProfile) -> SpecialistProfile:
    db.session.expire_all()
    return db.session.get(SpecialistProfile, profile.id)


def text(response) -> str:
    return response.get_data(as_text=True)


def editor_form(profile: SpecialistProfile, **overrides: object) -> dict:
    """The editor as the page would post it for this (factory-made) profile."""
    data: dict = {
        "display_name": profile.display_name, "title": profile.title, "bio_markdown": profile.bio_markdown,
        "licence_type": profile.licence_type, "licence_number": profile.licence_number,
        "licence_jurisdiction": profile.licence_jurisdiction, "specialties": ["anxiety"], "approaches": ["cbt"],
        "languages": ["en"], "formats": ["video"], "city": "Berlin", "country": "DE", "timezone": profile.timezone,
        "fee": "90", "currency": "EUR", "session_minutes": "50", "offers_free_consultation": "y",
        "accepting_new_clients": "y", "video_link": profile.video_link or "", "address": profile.address or "",
        "phone": profile.phone or "", "version": str(profile.version_id),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def profile_input(profile: SpecialistProfile, **overrides: object) -> ProfileInput:
    values: dict = dict(
        display_name=profile.display_name, title=profile.title or "", licence_type=profile.licence_type or "",
        licence_number=profile.licence_number or "", licence_jurisdiction=profile.licence_jurisdiction or "",
        specialties=["anxiety"], approaches=["cbt"], languages=["en"], formats=["video"], city="Berlin",
        country="DE", timezone=profile.timezone, currency="EUR", bio_markdown=profile.bio_markdown,
        video_link=profile.video_link or "", address=profile.address or "", phone=profile.phone or "")
    values.update(overrides)
    return ProfileInput(**values)


# --- 1. availability reachable, and required to publish ----------------------------------------

def test_publishing_needs_weekly_or_extra_hours(app, make_specialist):
    draft = make_specialist(is_published=False)
    with pytest.raises(ProfileError) as refused:
        publish_profile(draft, draft.user)
    assert str(refused.value) == HOURS_FIRST and refused.value.link[1] == "consultations.availability"
    db.session.rollback()
    assert reload(draft).is_published is False
    # Extra hours still to come are hours too.
    add_date_override(draft, (utcnow() + timedelta(days=3)).date(), OverrideKind.EXTRA.value, time(9), time(11))
    assert publish_profile(draft, draft.user).is_published
    other = make_specialist(is_published=False)
    set_weekly_hours(other.id, [(0, "09:00", "12:00")])
    assert publish_profile(other, other.user).is_published


def test_publishing_without_hours_over_http_asks_for_them_with_a_link(client, make_specialist):
    draft = make_specialist(is_published=False)
    login(client, draft.user)
    editor = text(client.get(EDIT))
    missing = editor.split('data-testid="missing-fields"', 1)[1].split("</ul>", 1)[0]
    assert f'<a href="{AVAILABILITY}">your weekly hours' in missing
    assert 'data-testid="availability-link"' in editor  # the editor links the availability page
    page = text(client.post("/specialists/me/publish", follow_redirects=True))
    assert "Add your weekly hours first" in page and f'<a href="{AVAILABILITY}">Set your weekly hours</a>' in page
    assert reload(draft).is_published is False
    client.post(RULES, data={"weekday": "0", "start": "09:00", "end": "12:00"})
    assert "your weekly hours" not in text(client.get(EDIT)).split("Before you can publish", 1)[-1].split(
        "</section>", 1)[0]
    assert client.post("/specialists/me/publish").status_code == 302
    assert reload(draft).is_published


def test_specialists_never_import_consultations():
    """Layering: consultations registers its checks with specialists (hooks), not the other way."""
    package = pathlib.Path(__file__).parents[2] / "marketplace" / "specialists"
    offenders = [p.name for p in package.glob("*.py") if "marketplace.consultations" in p.read_text()]
    assert offenders == []


# --- 2. weekly hours that are easy to keep ----------------------------------------------------

def test_the_same_hours_on_several_days_merged_never_twice(app, make_specialist):
    profile = make_specialist(timezone="UTC")
    change = add_weekly_hours(profile, range(5), time(9), time(12))
    assert len(change.rules) == 5 and change.merged == []
    # Overlapping (inside) and touching hours on a day become one rule, with a message.
    change = add_weekly_hours(profile, [0], time(10), time(11))
    assert change.merged == ["Merged with your existing Monday hours: 09:00–12:00"]
    change = add_weekly_hours(profile, [1], time(12), time(13))
    assert change.merged == ["Merged with your existing Tuesday hours: 09:00–13:00"]
    add_weekly_hours(profile, [6], time(14), time(15))
    add_weekly_hours(profile, [6], time(16), time(17))  # apart: two rules
    change = add_weekly_hours(profile, [6], time(13), time(18))  # spans both: one rule
    assert change.merged == ["Merged with your existing Sunday hours: 13:00–18:00"]
    assert rules_of(profile.id) == [(0, "09:00", "12:00"), (1, "09:00", "13:00"), (2, "09:00", "12:00"),
                                    (3, "09:00", "12:00"), (4, "09:00", "12:00"), (6, "13:00", "18:00")]


def test_a_rule_is_edited_in_place_and_merged_with_what_it_now_meets(app, make_specialist):
    profile = make_specialist(timezone="UTC")
    set_weekly_hours(profile.id, [(2, "09:00", "12:00"), (2, "14:00", "16:00")])
    morning, afternoon = db.session.scalars(select(AvailabilityRule).where(
        AvailabilityRule.specialist_id == profile.id).order_by(AvailabilityRule.start_time)).all()
    assert update_weekly_rule(profile, morning.id, time(10), time(13)).merged == []
    assert rules_of(profile.id) == [(2, "10:00", "13:00"), (2, "14:00", "16:00")]
    change = update_weekly_rule(profile, afternoon.id, time(12), time(17))
    assert change.merged == ["Merged with your existing Wednesday hours: 10:00–17:00"]
    assert rules_of(profile.id) == [(2, "10:00", "17:00")]
    other = make_specialist()
    assert update_weekly_rule(other, afternoon.id, time(9), time(10)) is None  # not theirs


def test_weekly_hours_over_http(client, make_specialist):
    profile = make_specialist(timezone="UTC", next_available_at=None)
    login(client, profile.user)
    page = text(client.get(AVAILABILITY))
    boxes = re.findall(r'<input[^>]*type="checkbox"[^>]*>', page.split('class="stack inline-fields weekly-hours-form"')[1])
    assert len([b for b in boxes if 'name="weekday"' in b]) == 7  # Monday … Sunday in one form
    response = client.post(RULES, data={"weekday": ["0", "1", "2", "3", "4"], "start": "09:00", "end": "12:00"})
    assert response.status_code == 302
    assert rules_of(profile.id) == [(d, "09:00", "12:00") for d in range(5)]
    assert reload(profile).next_available_at is not None  # the availability refresh ran
    page = text(client.post(RULES, data={"weekday": "0", "start": "10:00", "end": "11:00"}, follow_redirects=True))
    assert "Merged with your existing Monday hours: 09:00–12:00" in page
    assert page.count('data-testid="weekly-rule" data-weekday="0"') == 1
    assert len(rules_of(profile.id)) == 5
    wednesday = db.session.scalar(select(AvailabilityRule.id).where(
        AvailabilityRule.specialist_id == profile.id, AvailabilityRule.weekday == 2))
    assert client.post(f"{RULES}/{wednesday}", data={"start": "10:00", "end": "13:00"}).status_code == 302
    assert (2, "10:00", "13:00") in rules_of(profile.id)
    # Bad input: a clear message, nothing changed.
    response = client.post(f"{RULES}/{wednesday}", data={"start": "13:00", "end": "10:00"})
    assert response.status_code == 422 and "The end time must be after the start time." in text(response)
    assert (2, "10:00", "13:00") in rules_of(profile.id)
    response = client.post(RULES, data={"start": "09:00", "end": "12:00"})
    assert response.status_code == 422 and "Choose at least one day of the week." in text(response)
    # Someone else's rule: 404, untouched; removing still works.
    other = make_specialist()
    set_weekly_hours(other.id, [(3, "08:00", "09:00")])
    db.session.commit()
    theirs = db.session.scalar(select(AvailabilityRule.id).where(AvailabilityRule.specialist_id == other.id))
    assert client.post(f"{RULES}/{theirs}", data={"start": "10:00", "end": "13:00"}).status_code == 404
    assert rules_of(other.id) == [(3, "08:00", "09:00")]
    assert client.post(f"{RULES}/{wednesday}/delete").status_code == 302
    assert [r[0] for r in rules_of(profile.id)] == [0, 1, 3, 4]


# --- 3. changing the profile's time zone ------------------------------------------------------

def test_a_zone_change_under_weekly_hours_asks_how_they_follow(app, make_specialist):
    profile = make_specialist(timezone="UTC")
    set_weekly_hours(profile.id, [(0, "06:00", "08:00"), (0, "14:00", "16:00")])
    db.session.commit()
    with pytest.raises(ProfileError) as asked:
        update_profile(profile, profile_input(profile, timezone="Asia/Tokyo"), expected_version=profile.version_id)
    assert asked.value.field == "zone_hours" and "Your weekly hours are set in UTC" in str(asked.value)
    db.session.rollback()
    assert reload(profile).timezone == "UTC"
    profile = reload(profile)
    update_profile(profile, profile_input(profile, timezone="Asia/Tokyo", zone_hours=KEEP_CLOCK),
                   expected_version=profile.version_id)
    db.session.commit()
    assert reload(profile).timezone == "Asia/Tokyo"
    assert rules_of(profile.id) == [(0, "06:00", "08:00"), (0, "14:00", "16:00")]  # 06:00 stays 06:00
    profile = reload(profile)
    update_profile(profile, profile_input(profile, timezone="UTC", zone_hours=KEEP_MOMENTS),
                   expected_version=profile.version_id)
    db.session.commit()
    # Tokyo is UTC+9 (no DST): the same moments are 9 hours earlier, crossing into Sunday.
    assert rules_of(profile.id) == [(0, "05:00", "07:00"), (6, "21:00", "23:00")]


def test_same_moments_split_at_midnight_and_without_hours_nothing_is_asked(app, make_specialist):
    profile = make_specialist(timezone="UTC")
    set_weekly_hours(profile.id, [(0, "14:00", "16:00")])
    db.session.commit()
    update_profile(profile, profile_input(profile, timezone="Asia/Tokyo", zone_hours=KEEP_MOMENTS),
                   expected_version=profile.version_id)
    db.session.commit()
    assert rules_of(profile.id) == [(0, "23:00", "23:45"), (1, "00:00", "01:00")]
    bare = make_specialist(timezone="UTC")
    update_profile(bare, profile_input(bare, timezone="Asia/Tokyo"), expected_version=bare.version_id)
    db.session.commit()
    assert reload(bare).timezone == "Asia/Tokyo"


def test_zone_change_over_http_and_one_named_zone_on_the_availability_page(client, make_specialist):
    profile = make_specialist(timezone="UTC", next_available_at=None)  # the account's zone is Europe/Berlin
    login(client, profile.user)
    client.post(RULES, data={"weekday": [str(d) for d in range(7)], "start": "09:00", "end": "12:00"})
    editor = text(client.get(EDIT))
    assert "Keep the same local clock times (09:00 stays 09:00 in the new zone)" in editor
    assert "Keep the same moments (hours move with the clock difference)" in editor
    profile = reload(profile)
    response = client.post(EDIT, data=editor_form(profile, timezone="Asia/Tokyo"))
    assert response.status_code == 422 and "Your weekly hours are set in UTC" in text(response)
    assert reload(profile).timezone == "UTC"
    response = client.post(EDIT, data=editor_form(profile, timezone="Asia/Tokyo", zone_hours="moments"))
    assert response.status_code == 302
    assert reload(profile).timezone == "Asia/Tokyo"
    assert {r[1:] for r in rules_of(profile.id)} == {("18:00", "21:00")}
    page = text(client.get(AVAILABILITY))
    assert "All times on this page are in your profile's time zone, <strong>Asia/Tokyo</strong>" in page
    next_free = page.split('data-testid="next-available">', 1)[1].split("</strong>", 1)[0]
    assert 'data-zone="Asia/Tokyo"' in next_free  # not the account's Europe/Berlin


# --- 4. meeting details: one place, one rule ---------------------------------------------------

@pytest.mark.parametrize("phone", ["Ask me for my number", "call me", "12", "+49 30 ☎ 1234567"])
def test_one_rule_for_meeting_details(app, phone):
    with pytest.raises(ProfileError) as refused:
        check_meeting_details("https://meet.example.org/room", "", phone)
    assert refused.value.field == "phone" and str(refused.value) == PHONE_MESSAGE
    for link in ("javascript:alert(1)", "meet.example.org/room", "https://", "https://meet example.org"):
        with pytest.raises(ProfileError, match="starting with https://"):
            check_meeting_details(link, "", "")
    assert check_meeting_details(" https://meet.example.org/r ", " Main St 1 ", "+49 (30) 123-4567") == {
        "video_link": "https://meet.example.org/r", "address": "Main St 1", "phone": "+49 (30) 123-4567"}
    assert check_meeting_details("", "", "") == {"video_link": None, "address": None, "phone": None}


def test_meeting_details_are_edited_in_the_profile_editor_only(client, make_specialist):
    profile = make_specialist(phone="+49 30 1234567")
    login(client, profile.user)
    response = client.post(EDIT, data=editor_form(profile, phone="Ask me for my number"))
    assert response.status_code == 422 and str(escape(PHONE_MESSAGE)) in text(response)
    assert reload(profile).phone == "+49 30 1234567"
    page = text(client.get(AVAILABILITY))
    assert 'name="phone"' not in page and 'name="video_link"' not in page and 'name="address"' not in page
    assert f'href="{EDIT}#meeting-heading"' in page
    # The booking settings form no longer touches them (it used to clear and re-validate them).
    data = {"buffer_minutes": "15", "min_notice_hours": "24", "horizon_days": "14", "confirm_within_hours": "36",
            "version_id": "0", "phone": "Ask me for my number", "video_link": ""}
    assert client.post(f"{AVAILABILITY}/settings", data=data).status_code == 302
    profile = reload(profile)
    assert profile.phone == "+49 30 1234567" and profile.video_link == "https://meet.example.org/room"
    assert db.session.scalar(select(func.count(AvailabilityRule.id))) == 0


def test_two_submissions_of_weekly_hours_at_once_are_merged_not_duplicated(postgres_app, make_specialist):
    """Two tabs add overlapping Monday hours at the same moment: the second waits for the first's
    commit and merges with it (a row lock on PostgreSQL; SQLite's POSTs are serialised as a whole
    by BEGIN IMMEDIATE)."""
    app = postgres_app
    profile = make_specialist()
    db.session.commit()
    profile_id = profile.id
    add_weekly_hours(profile, [0], time(9), time(12))  # first tab: written, not committed yet
    finished = threading.Event()

    def second_tab() -> None:
        with app.app_context():
            add_weekly_hours(db.session.get(SpecialistProfile, profile_id), [0], time(10), time(13))
            db.session.commit()
            finished.set()
            db.session.remove()

    worker = threading.Thread(target=second_tab)
    worker.start()
    assert not finished.wait(0.5), "the second submission did not wait for the first"
    db.session.commit()
    worker.join(10)
    assert finished.is_set()
    assert rules_of(profile_id) == [(0, "09:00", "13:00")]
