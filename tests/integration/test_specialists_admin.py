"""The admin licence verification queue: who may use it, approve/reject, audit rows, e-mails."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.audit import AuditEntry
from marketplace.auth.models import Role
from marketplace.extensions import db
from marketplace.specialists.models import SpecialistProfile, VerificationStatus

QUEUE = "/admin/verification"


@pytest.fixture
def pending(make_specialist):
    return make_specialist(display_name="Dr Pia Pending", verification_status=VerificationStatus.PENDING,
                           licence_number="PSY-4711", licence_jurisdiction="Vienna, Austria")


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, display_name="Ada Admin")


def status_of(profile: SpecialistProfile) -> SpecialistProfile:
    db.session.expire_all()
    return db.session.get(SpecialistProfile, profile.id)


def audit_rows(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_queue_is_for_admins_only(client, auth, make_user, pending):
    assert client.get(QUEUE).status_code == 302
    for role in (Role.CLIENT, Role.SPECIALIST):
        auth.login_as(make_user(role))
        assert client.get(QUEUE).status_code == 403
        assert client.post(f"{QUEUE}/{pending.id}/approve").status_code == 403
        auth.logout()
    assert status_of(pending).verification_status is VerificationStatus.PENDING


def test_queue_lists_pending_licences(client, auth, admin, pending, make_specialist):
    make_specialist(display_name="Dr Val Verified")
    auth.login_as(admin)
    html = client.get(QUEUE).get_data(as_text=True)
    assert "Dr Pia Pending" in html and "PSY-4711" in html and "Vienna, Austria" in html
    assert "Dr Val Verified" not in html
    assert html.count('data-testid="verification-item"') == 1


def test_approve_verifies_audits_and_mails(app, client, auth, admin, pending):
    auth.login_as(admin)
    response = client.post(f"{QUEUE}/{pending.id}/approve", follow_redirects=True)
    assert "licence is verified" in response.get_data(as_text=True)
    profile = status_of(pending)
    assert profile.verification_status is VerificationStatus.VERIFIED and profile.verified_at is not None
    [entry] = audit_rows("licence.verified")
    assert entry.actor_id == admin.id and entry.target_type == "SpecialistProfile"
    assert entry.target_id == str(pending.id)
    assert entry.before["verification_status"] == "pending" and entry.after["verification_status"] == "verified"
    [mail] = [m for m in app.extensions.get("mail_outbox", []) if m["To"] == pending.user.email]
    assert mail["Subject"] == "Your licence has been verified"
    assert "Verified licence" in client.get(f"/specialists/{pending.slug}").get_data(as_text=True)
    # A second click changes nothing and logs nothing.
    client.post(f"{QUEUE}/{pending.id}/approve")
    assert len(audit_rows("licence.verified")) == 1


def test_reject_needs_a_reason(client, auth, admin, pending):
    auth.login_as(admin)
    response = client.post(f"{QUEUE}/{pending.id}/reject", data={f"p{pending.id}-reason": "  "},
                           follow_redirects=True)
    assert "Please give the specialist a reason" in response.get_data(as_text=True)
    assert status_of(pending).verification_status is VerificationStatus.PENDING
    assert audit_rows("licence.rejected") == []


def test_reject_records_reason_audits_and_mails(app, client, auth, admin, pending):
    auth.login_as(admin)
    reason = "The number does not appear in the Austrian register of psychotherapists."
    client.post(f"{QUEUE}/{pending.id}/reject", data={f"p{pending.id}-reason": reason})
    profile = status_of(pending)
    assert profile.verification_status is VerificationStatus.REJECTED and profile.verification_note == reason
    [entry] = audit_rows("licence.rejected")
    assert entry.before["verification_status"] == "pending"
    assert entry.after == dict(entry.before, verification_status="rejected", verification_note=reason)
    [mail] = [m for m in app.extensions.get("mail_outbox", []) if m["To"] == pending.user.email]
    assert reason in mail.get_body(preferencelist=("plain",)).get_content()
    assert 'data-testid="verification-item"' not in client.get(QUEUE).get_data(as_text=True)
    # The specialist sees the reason in their editor.
    auth.logout()
    auth.login_as(pending.user)
    assert "Austrian register" in client.get("/specialists/me/edit").get_data(as_text=True)


def test_unknown_or_settled_profile_is_refused(client, auth, admin, make_specialist):
    verified = make_specialist()
    auth.login_as(admin)
    response = client.post(f"{QUEUE}/{verified.id}/reject", data={f"p{verified.id}-reason": "x"},
                           follow_redirects=True)
    assert "no longer waiting for verification" in response.get_data(as_text=True)
    assert status_of(verified).verification_status is VerificationStatus.VERIFIED
    assert client.post(f"{QUEUE}/999999/approve").status_code == 302
    assert audit_rows("licence.rejected") == [] and audit_rows("licence.verified") == []
