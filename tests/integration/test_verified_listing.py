"""Verified before visible (issue 13, item 1): only a specialist whose licence an admin verified is
listed, bookable, messageable and eligible for featuring; the owner (and admins) see a preview with
the real slots and what happens next; a rejected or revoked licence takes the profile out at once,
and the admin chooses whether its upcoming consultations are kept or cancelled with notice."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.audit import AuditEntry
from marketplace.auth.models import Role
from marketplace.consultations.availability import preview_slots
from marketplace.consultations.models import Consultation, ConsultationState
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.notifications.models import OutboxMail
from marketplace.specialists.models import SpecialistProfile, VerificationStatus
from tests.integration.test_consultations import book, first_free_slot, login, open_all_week
from tests.integration.test_specialists_profile import complete_form

NOT_VERIFIED = [VerificationStatus.UNSUBMITTED, VerificationStatus.PENDING, VerificationStatus.REJECTED]


def _listed_in_sql(profile: SpecialistProfile) -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(SpecialistProfile)
                                  .where(SpecialistProfile.id == profile.id, SpecialistProfile.is_listed)))


@pytest.mark.parametrize("published", [True, False])
@pytest.mark.parametrize("status", list(VerificationStatus))
def test_listed_means_published_and_verified_in_python_and_sql(app, make_specialist, status, published):
    profile = make_specialist(verification_status=status, is_published=published)
    expected = published and status is VerificationStatus.VERIFIED
    assert profile.is_listed is expected
    assert _listed_in_sql(profile) is expected


@pytest.mark.parametrize("status", NOT_VERIFIED)
def test_a_specialist_not_verified_is_nowhere_public(client, make_specialist, make_user, status):
    hidden = make_specialist(display_name="Dr Not Yet", verification_status=status, formats=["video"])
    open_all_week(hidden)
    make_specialist(display_name="Dr Listed")
    directory = client.get("/specialists").get_data(as_text=True)
    assert "Dr Listed" in directory and "Dr Not Yet" not in directory
    assert "Dr Not Yet" not in client.get("/specialists?q=Not+Yet").get_data(as_text=True)
    assert client.get(f"/specialists/{hidden.slug}").status_code == 404

    login(client, make_user(Role.CLIENT))
    assert client.get(f"/specialists/{hidden.slug}").status_code == 404
    assert client.get(f"/specialists/{hidden.slug}/book").status_code == 404
    # A time its calendar has free (the slots it will offer once listed):
    slot = next(s for s in preview_slots(hidden) if s > utcnow() + timedelta(hours=13)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.post(f"/specialists/{hidden.slug}/book",
                       data={"slot": slot, "format": "video", "consent": "y"}).status_code == 404
    assert client.get(f"/messages/new?to={hidden.slug}").status_code == 404
    assert client.post(f"/messages/new?to={hidden.slug}", data={"body": "Hello"}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Consultation)) == 0


def test_the_owner_previews_the_real_slots_and_what_happens_next(client, make_specialist):
    pending = make_specialist(display_name="Dr Waiting", verification_status=VerificationStatus.PENDING)
    open_all_week(pending)
    login(client, pending.user)
    page = client.get(f"/specialists/{pending.slug}").get_data(as_text=True)
    assert "waiting for licence verification" in page and "We will e-mail you" in page
    assert 'data-testid="profile-booking"' in page and 'data-testid="preview-booking-note"' in page
    assert 'class="slot-links"' in page and f"/specialists/{pending.slug}/book?slot=" not in page  # seen, not bookable


def test_verifying_lists_the_profile_at_once(client, auth, make_specialist, make_user):
    pending = make_specialist(display_name="Dr Soon Listed", verification_status=VerificationStatus.PENDING)
    visitor = client.application.test_client()
    assert "Dr Soon Listed" not in visitor.get("/specialists").get_data(as_text=True)
    auth.login_as(make_user(Role.ADMIN))
    assert client.post(f"/admin/verification/{pending.id}/approve").status_code == 302
    assert "Dr Soon Listed" in visitor.get("/specialists").get_data(as_text=True)
    assert visitor.get(f"/specialists/{pending.slug}").status_code == 200


def test_changing_the_licence_unlists_until_verified_again(client, make_specialist):
    profile = make_specialist(display_name="Dr Changed Licence")
    visitor = client.application.test_client()
    assert visitor.get(f"/specialists/{profile.slug}").status_code == 200
    login(client, profile.user)
    data = complete_form(profile, licence_number="NEW-123", display_name="Dr Changed Licence")
    assert client.post("/specialists/me/edit", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(SpecialistProfile, profile.id).verification_status is VerificationStatus.PENDING
    assert visitor.get(f"/specialists/{profile.slug}").status_code == 404
    assert "Dr Changed Licence" not in visitor.get("/specialists").get_data(as_text=True)


def _cancellations_to(email: str) -> int:
    return int(db.session.scalar(select(func.count(OutboxMail.id)).where(
        OutboxMail.recipient == email, OutboxMail.subject.like("Cancelled:%"))) or 0)


@pytest.mark.parametrize("choice", ["cancel", "keep"])
def test_revoking_unlists_at_once_and_the_admin_chooses_what_happens_to_bookings(
        client, auth, make_specialist, make_user, choice):
    profile = make_specialist(display_name="Dr Revoked", formats=["video"])
    open_all_week(profile)
    clients = [make_user(Role.CLIENT, email=f"revoked-client-{i}@example.test") for i in range(2)]
    booked = [book(person, profile, first_free_slot(profile, after_hours=3 * i)) for i, person in enumerate(clients)]
    admin = make_user(Role.ADMIN)
    auth.login_as(admin)
    page = client.get(f"/specialists/{profile.slug}").get_data(as_text=True)
    assert 'data-testid="admin-tools"' in page and "<strong>2</strong> upcoming consultations" in page

    response = client.post(f"/admin/verification/{profile.id}/revoke",
                           data={"reason": "The licence lapsed in October.", "consultations": choice})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(SpecialistProfile, profile.id).verification_status is VerificationStatus.REJECTED
    visitor = client.application.test_client()
    assert visitor.get(f"/specialists/{profile.slug}").status_code == 404
    assert "Dr Revoked" not in visitor.get("/specialists").get_data(as_text=True)
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "licence.revoked")).all()
    assert entry.actor_id == admin.id and entry.after["verification_note"] == "The licence lapsed in October."
    states = {db.session.get(Consultation, c.id).state for c in booked}
    if choice == "cancel":
        assert states == {ConsultationState.CANCELLED}
        assert [_cancellations_to(person.email) for person in clients] == [1, 1]  # each client told once
        body = db.session.scalars(select(OutboxMail.body_text).where(
            OutboxMail.recipient == clients[0].email, OutboxMail.subject.like("Cancelled:%"))).one()
        assert "Balance cancelled" in body and "lapsed" not in body  # the licence details stay private
    else:
        assert ConsultationState.CANCELLED not in states
        assert [_cancellations_to(person.email) for person in clients] == [0, 0]


def test_revoking_needs_an_admin_a_reason_and_a_choice(client, auth, make_specialist, make_user):
    profile = make_specialist()
    auth.login_as(make_user(Role.CLIENT))
    assert client.post(f"/admin/verification/{profile.id}/revoke",
                       data={"reason": "x", "consultations": "keep"}).status_code == 403
    auth.logout()
    auth.login_as(make_user(Role.ADMIN))
    for data in ({"reason": " ", "consultations": "keep"}, {"reason": "Lapsed", "consultations": "maybe"}):
        assert client.post(f"/admin/verification/{profile.id}/revoke", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(SpecialistProfile, profile.id).verification_status is VerificationStatus.VERIFIED
