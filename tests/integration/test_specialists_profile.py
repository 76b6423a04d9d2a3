"""Specialist profiles over HTTP: the editor (locking, validation, photos, XSS), publishing,
public and preview pages, and turning a client account into a specialist account."""
from __future__ import annotations

import io
import os
import re

import pytest
from PIL import Image
from sqlalchemy import func, select, update

from marketplace.audit import AuditEntry
from marketplace.auth.models import Role, User
from marketplace.consultations.availability import set_weekly_hours
from marketplace.extensions import db
from marketplace.security import PROMPT_MESSAGE, PROMPT_SPECIALIST_PROFILE
from marketplace.specialists.models import SpecialistProfile, VerificationStatus
from marketplace.specialists.services import (
    CONFLICT_MESSAGE,
    ProfileConflict,
    ProfileInput,
    create_draft_profile,
    update_profile,
)
from tests.factories import live_session_id

EDIT = "/specialists/me/edit"


def complete_form(profile: SpecialistProfile, **overrides: object) -> dict:
    data: dict = {
        "display_name": "Ada Quill", "title": "Clinical psychologist",
        "bio_markdown": "I help adults with **anxiety** and insomnia.", "years_of_practice": "7",
        "licence_type": "Psychologist licence", "licence_number": "LIC-77", "licence_jurisdiction": "Berlin, Germany",
        "specialties": ["anxiety", "sleep"], "approaches": ["cbt"], "languages": ["en", "de"], "formats": ["video"],
        "city": "Berlin", "country": "DE", "timezone": "Europe/Berlin", "fee": "95.50", "currency": "EUR",
        "session_minutes": "50", "offers_free_consultation": "y", "accepting_new_clients": "y",
        "video_link": "https://meet.example.org/ada", "address": "", "phone": "",
        "version": str(profile.version_id),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def png_bytes(size: tuple[int, int] = (1600, 1200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (200, 120, 40, 128)).save(out, "PNG")
    return out.getvalue()


def give_hours(profile: SpecialistProfile) -> None:
    """Weekly hours, which publishing needs (tests/integration/test_calendar_keeping.py)."""
    set_weekly_hours(profile.id, [(0, "09:00", "12:00")])
    db.session.commit()


def reload(profile: SpecialistProfile) -> SpecialistProfile:
    db.session.expire_all()
    return db.session.get(SpecialistProfile, profile.id)


# --- editor --------------------------------------------------------------------------------------

def test_editor_saves_every_field(client, auth, draft):
    auth.login_as(draft.user)
    assert client.get(EDIT).status_code == 200
    response = client.post(EDIT, data=complete_form(draft))
    assert response.status_code == 302
    profile = reload(draft)
    assert profile.title == "Clinical psychologist"
    assert profile.fee_minor == 9550 and profile.currency == "EUR" and profile.fee_eur_minor == 9550
    assert profile.years_of_practice == 7 and profile.session_minutes == 50
    assert profile.country == "DE" and profile.city == "Berlin" and profile.timezone == "Europe/Berlin"
    assert [s.slug for s in profile.specialties] == ["anxiety", "sleep"]
    assert {lang.slug for lang in profile.languages} == {"en", "de"}
    assert profile.format_slugs() == {"video"} and [a.slug for a in profile.approaches] == ["cbt"]
    assert profile.offers_free_consultation and profile.accepting_new_clients
    assert "<strong>anxiety</strong>" in profile.bio_html
    assert profile.address is None and profile.phone is None
    page = client.get(EDIT).get_data(as_text=True)
    assert "Your profile has been saved." in page
    assert 'value="95.50"' in page or 'value="95.5"' in page


def test_unchecked_boxes_turn_options_off(client, auth, draft):
    auth.login_as(draft.user)
    client.post(EDIT, data=complete_form(draft))
    profile = reload(draft)
    client.post(EDIT, data=complete_form(profile, offers_free_consultation=None, accepting_new_clients=None,
                                         approaches=[]))
    profile = reload(draft)
    assert profile.offers_free_consultation is False and profile.accepting_new_clients is False
    assert profile.approaches == []


def test_zero_decimal_currency_and_fee_precision(client, auth, draft):
    auth.login_as(draft.user)
    response = client.post(EDIT, data=complete_form(draft, fee="12000.5", currency="JPY"))
    assert response.status_code == 422
    assert "at most 0 decimal places for JPY" in response.get_data(as_text=True)
    assert reload(draft).fee_minor is None
    client.post(EDIT, data=complete_form(draft, fee="12000", currency="JPY"))
    profile = reload(draft)
    assert profile.fee_minor == 12000 and profile.currency == "JPY"
    assert 7000 < profile.fee_eur_minor < 8000  # ≈ €74


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "", "../../etc/passwd"])
def test_timezone_must_be_a_real_iana_zone(client, auth, draft, timezone):
    auth.login_as(draft.user)
    response = client.post(EDIT, data=complete_form(draft, timezone=timezone, title="Changed"))
    assert response.status_code == 422
    profile = reload(draft)
    assert profile.title is None and profile.timezone == "Europe/Berlin"


def test_stale_version_is_refused_without_overwriting(client, auth, draft):
    auth.login_as(draft.user)
    first_tab = complete_form(draft, title="First tab")
    second_tab = complete_form(draft, title="Second tab")
    assert client.post(EDIT, data=first_tab).status_code == 302
    response = client.post(EDIT, data=second_tab)  # loaded before the first save
    assert response.status_code == 409
    assert "This profile was changed elsewhere — please reload" in response.get_data(as_text=True)
    assert reload(draft).title == "First tab"


def test_concurrent_write_between_read_and_flush_is_a_conflict(app, draft):
    profile = db.session.get(SpecialistProfile, draft.id)
    loaded_version = profile.version_id
    # Another request commits a change after we loaded the row (bypassing this session's state).
    db.session.execute(update(SpecialistProfile.__table__).where(SpecialistProfile.__table__.c.id == profile.id)
                       .values(version_id=loaded_version + 1, title="Elsewhere"))
    with pytest.raises(ProfileConflict) as excinfo:
        update_profile(profile, ProfileInput(display_name="Ada", title="Mine", timezone="UTC"),
                       expected_version=loaded_version)
    assert str(excinfo.value) == CONFLICT_MESSAGE
    db.session.rollback()


def test_missing_version_field_is_a_conflict(client, auth, draft):
    auth.login_as(draft.user)
    response = client.post(EDIT, data=complete_form(draft, version=None))
    assert response.status_code == 409
    assert reload(draft).title is None


# --- bio sanitising ------------------------------------------------------------------------------

@pytest.mark.parametrize("bio", [
    "<script>alert(1)</script> Hello",
    "[click me](javascript:alert(1))",
    '<img src=x onerror="alert(1)"> <a href="#" onclick="alert(1)">x</a>',
])
def test_xss_in_bio_is_inert_on_public_page(client, auth, draft, bio):
    give_hours(draft)
    auth.login_as(draft.user)
    client.post(EDIT, data=complete_form(draft, bio_markdown=bio))
    assert client.post("/specialists/me/publish").status_code == 302
    profile = reload(draft)
    assert profile.is_published
    profile.verification_status = VerificationStatus.VERIFIED  # as an admin would: now it is public
    db.session.commit()
    auth.logout()
    html = client.get(f"/specialists/{profile.slug}").get_data(as_text=True)
    bio_html = html.split('data-testid="bio">', 1)[1].split("</div>", 1)[0]
    assert "<script" not in bio_html and "javascript:" not in bio_html
    assert "onerror" not in bio_html and "onclick" not in bio_html and "<img" not in bio_html


# --- photos --------------------------------------------------------------------------------------

def test_real_png_is_accepted_reencoded_and_served(app, client, auth, draft):
    auth.login_as(draft.user)
    data = complete_form(draft, photo=(io.BytesIO(png_bytes()), "portrait.png"))
    response = client.post(EDIT, data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    profile = reload(draft)
    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", profile.photo_filename)
    served = client.get(f"/specialists/photos/{profile.photo_filename}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "JPEG" and max(image.size) == 1024 and image.size == (1024, 768)
    assert not image.getexif()


def test_jpeg_metadata_is_stripped(client, auth, draft):
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # GPS
    out = io.BytesIO()
    Image.new("RGB", (300, 200), "navy").save(out, "JPEG", exif=exif)
    assert b"SecretCam" in out.getvalue()
    auth.login_as(draft.user)
    client.post(EDIT, data=complete_form(draft, photo=(io.BytesIO(out.getvalue()), "me.jpg")),
                content_type="multipart/form-data")
    stored = client.get(f"/specialists/photos/{reload(draft).photo_filename}").data
    assert b"SecretCam" not in stored and not Image.open(io.BytesIO(stored)).getexif()


def test_text_file_named_jpg_is_rejected(app, client, auth, draft, tmp_path):
    auth.login_as(draft.user)
    fake = io.BytesIO(b"#!/bin/sh\necho this is not a photo\n" * 20)
    response = client.post(EDIT, data=complete_form(draft, title="Changed", photo=(fake, "holiday.jpg")),
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "This file is not an image we can use" in response.get_data(as_text=True)
    profile = reload(draft)
    assert profile.photo_filename is None and profile.title is None  # nothing saved
    folder = tmp_path / "uploads" / "photos"
    assert not folder.exists() or list(folder.iterdir()) == []


@pytest.mark.config(MAX_PHOTO_BYTES=10_000)
def test_oversized_photo_is_rejected(client, auth, draft):
    auth.login_as(draft.user)
    noisy = io.BytesIO()
    Image.frombytes("RGB", (100, 100), os.urandom(100 * 100 * 3)).save(noisy, "PNG")  # incompressible
    assert len(noisy.getvalue()) > 10_000
    response = client.post(EDIT, data=complete_form(draft, photo=(io.BytesIO(noisy.getvalue()), "big.png")),
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "The photo is larger than" in response.get_data(as_text=True)
    assert reload(draft).photo_filename is None


def test_replacing_and_removing_photo_deletes_old_file(client, auth, draft, tmp_path):
    auth.login_as(draft.user)
    client.post(EDIT, data=complete_form(draft, photo=(io.BytesIO(png_bytes((64, 64))), "a.png")),
                content_type="multipart/form-data")
    first = reload(draft).photo_filename
    client.post(EDIT, data=complete_form(reload(draft), photo=(io.BytesIO(png_bytes((80, 80))), "b.png")),
                content_type="multipart/form-data")
    second = reload(draft).photo_filename
    folder = tmp_path / "uploads" / "photos"
    assert second != first and not (folder / first).exists() and (folder / second).exists()
    client.post(EDIT, data=complete_form(reload(draft), remove_photo="y"))
    assert reload(draft).photo_filename is None and not (folder / second).exists()


@pytest.mark.parametrize("name", ["..%2F..%2Fconfig.py", "passwd", "abc.jpg", "0" * 32 + ".png"])
def test_photo_route_serves_only_stored_photo_names(client, name):
    assert client.get(f"/specialists/photos/{name}").status_code == 404


# --- permissions ---------------------------------------------------------------------------------

def test_editor_is_for_specialists_only(client, auth, make_user):
    assert client.get(EDIT).status_code == 302  # visitor → login
    auth.login_as(make_user())
    assert client.get(EDIT).status_code == 403
    assert client.post(EDIT, data={"title": "x"}).status_code == 403
    assert client.post("/specialists/me/publish").status_code == 403


def test_a_specialist_can_only_change_their_own_profile(client, auth, draft, make_specialist):
    other = make_specialist(display_name="Dr Other Person", title="Psychiatrist")
    auth.login_as(draft.user)
    # The editor has no profile id to tamper with: whatever is posted lands on the poster's profile.
    response = client.post(EDIT, data=complete_form(draft, display_name="Dr Other Person", title="Hijacked",
                                                    profile_id=str(other.id), slug=other.slug))
    assert response.status_code == 302
    assert reload(other).title == "Psychiatrist" and reload(other).is_published
    mine = reload(draft)
    assert mine.title == "Hijacked" and mine.slug != other.slug
    client.post("/specialists/me/unpublish")
    assert reload(other).is_published


# --- publishing and the public page ----------------------------------------------------------------

def test_incomplete_profile_cannot_be_published(client, auth, draft):
    auth.login_as(draft.user)
    page = client.get(EDIT).get_data(as_text=True)
    assert "at least one specialty" in page
    client.post("/specialists/me/publish")
    assert not reload(draft).is_published
    html = client.get(EDIT).get_data(as_text=True)
    assert "can&#39;t be published yet" in html and "a professional title" in html and "a bio" in html


def test_publishing_submits_licence_and_lists_profile_once_verified(client, auth, draft):
    give_hours(draft)
    auth.login_as(draft.user)
    client.post(EDIT, data=complete_form(draft))
    client.post("/specialists/me/publish")
    profile = reload(draft)
    assert profile.is_published and profile.published_at is not None
    assert profile.verification_status is VerificationStatus.PENDING
    auth.logout()
    assert "Ada Quill" not in client.get("/specialists").get_data(as_text=True)  # not listed yet
    assert client.get(f"/specialists/{profile.slug}").status_code == 404
    profile.verification_status = VerificationStatus.VERIFIED  # what the admin's approval does
    db.session.commit()
    assert "Ada Quill" in client.get("/specialists").get_data(as_text=True)
    assert "Verified licence" in client.get(f"/specialists/{profile.slug}").get_data(as_text=True)


def test_profile_that_becomes_incomplete_is_unpublished(client, auth, draft):
    give_hours(draft)
    auth.login_as(draft.user)
    client.post(EDIT, data=complete_form(draft))
    client.post("/specialists/me/publish")
    profile = reload(draft)
    response = client.post(EDIT, data=complete_form(profile, specialties=[]), follow_redirects=True)
    assert "no longer complete" in response.get_data(as_text=True)
    assert not reload(draft).is_published


def test_changing_licence_details_sends_them_to_verification_again(client, auth, make_specialist):
    profile = make_specialist()
    assert profile.verification_status is VerificationStatus.VERIFIED
    auth.login_as(profile.user)
    form = complete_form(profile, licence_number=profile.licence_number, licence_type=profile.licence_type,
                         licence_jurisdiction=profile.licence_jurisdiction, display_name=profile.display_name)
    client.post(EDIT, data=form)
    assert reload(profile).verification_status is VerificationStatus.VERIFIED  # unchanged licence
    client.post(EDIT, data=dict(form, licence_number="FORGED-1", version=str(reload(profile).version_id)))
    assert reload(profile).verification_status is VerificationStatus.PENDING


def test_unpublished_profile_is_hidden_except_for_owner_and_admin(client, auth, draft, make_user, make_specialist):
    url = f"/specialists/{draft.slug}"
    assert client.get(url).status_code == 404
    auth.login_as(make_specialist().user)
    assert client.get(url).status_code == 404
    auth.logout()
    auth.login_as(draft.user)
    response = client.get(url)
    assert response.status_code == 200 and 'data-testid="preview-banner"' in response.get_data(as_text=True)
    auth.logout()
    auth.login_as(make_user(Role.ADMIN))
    assert client.get(url).status_code == 200
    assert client.get("/specialists/no-such-person").status_code == 404


def test_public_profile_shows_badges_cta_gated_message_and_share_links(client, auth, make_specialist, make_user):
    profile = make_specialist(display_name="Dr Rosa Linde", city="Lisbon", country="PT")
    html = client.get(f"/specialists/{profile.slug}").get_data(as_text=True)
    assert "Verified licence" in html and "Free 30-minute consultation" in html
    assert f'href="/specialists/{profile.slug}/book"' in html
    assert PROMPT_MESSAGE in html and f"next=/specialists/{profile.slug}" in html
    assert "Share on other sites" in html and "Copy link" in html
    assert "Lisbon, Portugal" in html and profile.licence_number in html
    assert "meet.example.org" not in html and "Example Str" not in html  # meeting details stay private
    auth.login_as(make_user())
    html = client.get(f"/specialists/{profile.slug}").get_data(as_text=True)
    assert f'href="/messages/new?to={profile.slug}"' in html and PROMPT_MESSAGE not in html


def test_no_booking_call_to_action_without_free_consultation(client, make_specialist):
    profile = make_specialist(offers_free_consultation=False)
    html = client.get(f"/specialists/{profile.slug}").get_data(as_text=True)
    assert "/book" not in html and "Free 30-minute consultation" not in html


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_profile_posts_need_csrf(client, make_specialist):
    profile = make_specialist()
    with client.session_transaction() as session:  # logged in without posting the login form
        session["_user_id"] = live_session_id(profile.user)
        session["_fresh"] = True
    assert client.get(EDIT).status_code == 200
    assert client.post("/specialists/me/unpublish").status_code == 400
    assert client.post(EDIT, data=complete_form(profile, title="No token")).status_code == 400
    profile = reload(profile)
    assert profile.is_published and profile.title == "Clinical psychologist"


# --- client → specialist ------------------------------------------------------------------------------

def test_visitor_gets_seed_prompt_for_creating_a_profile(client):
    html = client.get("/specialists/new").get_data(as_text=True)
    assert PROMPT_SPECIALIST_PROFILE in html and "next=/specialists/new" in html
    assert client.post("/specialists/new").status_code == 200  # gated, nothing created
    assert db.session.scalar(select(func.count(SpecialistProfile.id))) == 0


def test_client_turns_their_account_into_a_specialist(client, auth, make_user):
    user = make_user(display_name="Noor Haddad")
    auth.login_as(user)
    assert "Create specialist profile" in client.get("/specialists/new").get_data(as_text=True)
    response = client.post("/specialists/new")
    assert response.status_code == 302 and response.headers["Location"].endswith(EDIT)
    db.session.expire_all()
    assert db.session.get(User, user.id).role is Role.SPECIALIST
    profile = db.session.scalar(select(SpecialistProfile).where(SpecialistProfile.user_id == user.id))
    assert profile.display_name == "Noor Haddad" and not profile.is_published
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.became_specialist"))
    assert entry.before == {"role": "client"} and entry.after == {"role": "specialist"}
    assert client.get(EDIT).status_code == 200
    # Again: idempotent, lands on the editor.
    assert client.post("/specialists/new").headers["Location"].endswith(EDIT)
    assert db.session.scalar(select(func.count(SpecialistProfile.id))) == 1


def test_admin_cannot_become_a_specialist(client, auth, make_user):
    admin = make_user(Role.ADMIN)
    auth.login_as(admin)
    assert "Admin accounts can" in client.get("/specialists/new").get_data(as_text=True)
    assert client.post("/specialists/new").status_code == 403
    db.session.expire_all()
    assert db.session.get(User, admin.id).role is Role.ADMIN
    assert db.session.scalar(select(func.count(SpecialistProfile.id))) == 0


def test_reserved_words_never_become_slugs(app, make_user):
    user = make_user(Role.SPECIALIST, display_name="New")
    assert create_draft_profile(user).slug == "new-profile"


def test_prune_photos_removes_only_unreferenced_old_files(app, client, auth, draft, tmp_path):
    auth.login_as(draft.user)
    client.post(EDIT, data=complete_form(draft, photo=(io.BytesIO(png_bytes((64, 64))), "a.png")),
                content_type="multipart/form-data")
    kept = reload(draft).photo_filename
    folder = tmp_path / "uploads" / "photos"
    orphan = folder / ("f" * 32 + ".jpg")
    orphan.write_bytes(b"left over by a rolled-back save")
    os.utime(folder / kept, (1, 1))
    os.utime(orphan, (1, 1))
    result = app.test_cli_runner().invoke(args=["prune-photos"])
    assert "removed 1 unreferenced photo(s)" in result.output
    assert (folder / kept).exists() and not orphan.exists()


# --- wiring with other domains -----------------------------------------------------------------------

def test_editor_shows_the_campaign_note(client, auth, make_specialist):
    profile = make_specialist()
    auth.login_as(profile.user)
    html = client.get(EDIT).get_data(as_text=True)
    assert 'data-testid="featured-note"' in html and "eligible for our advertising campaign" in html


def test_availability_changes_refresh_the_soonest_free_time_at_once(client, auth, make_specialist):
    from datetime import time

    from marketplace.consultations.models import AvailabilityRule

    profile = make_specialist(timezone="UTC", next_available_at=None)
    for weekday in range(7):
        db.session.add(AvailabilityRule(specialist_id=profile.id, weekday=weekday, start_time=time(0, 0),
                                        end_time=time(23, 30)))
    db.session.commit()
    auth.login_as(profile.user)
    form = complete_form(profile, display_name=profile.display_name, licence_number=profile.licence_number,
                         licence_type=profile.licence_type, licence_jurisdiction=profile.licence_jurisdiction,
                         timezone="UTC")
    client.post(EDIT, data=dict(form, offers_free_consultation=None))
    assert reload(profile).next_available_at is None  # no free consultation: nothing to book
    client.post(EDIT, data=dict(form, version=str(reload(profile).version_id)))
    assert reload(profile).next_available_at is not None
    client.post("/specialists/me/unpublish")
    client.post("/specialists/me/publish")
    assert reload(profile).is_published and reload(profile).next_available_at is not None
