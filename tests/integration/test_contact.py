"""Contact us: logged-in users only, stored, e-mailed to the admin address, handled in /admin/contact."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.audit import AuditEntry
from marketplace.auth.models import Role
from marketplace.contact.models import ContactMessage
from marketplace.extensions import db
from marketplace.security import PROMPT_CONTACT
from tests.factories import PASSWORD

SENT = "Your message has been sent"


def login(client, user):
    client.post("/auth/logout")
    assert client.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def stored():
    return db.session.scalar(select(func.count(ContactMessage.id)))


@pytest.fixture
def admin(make_user):
    return make_user(role=Role.ADMIN, display_name="Ada Admin")


def test_visitor_sees_the_prompt_and_cannot_post(client):
    for response in (client.get("/contact"), client.post("/contact", data={"subject": "s", "body": "b"})):
        assert response.status_code == 200 and PROMPT_CONTACT in response.get_data(as_text=True)
    assert stored() == 0


@pytest.mark.config(ADMIN_EMAIL="team@balance.example")
def test_contact_message_is_stored_mailed_and_listed(client, make_user, admin, smtp_server):
    user = make_user(display_name="Casey")
    login(client, user)
    assert client.get("/contact").status_code == 200
    response = client.post("/contact", data={"subject": "Question about billing",
                                             "body": "Do you take\r\ninsurance?"}, follow_redirects=True)
    assert response.status_code == 200 and SENT in response.get_data(as_text=True)

    message = db.session.scalar(select(ContactMessage))
    assert (message.user_id, message.subject, message.body, message.handled) == \
        (user.id, "Question about billing", "Do you take\ninsurance?", False)
    [mail] = smtp_server.to("team@balance.example")
    assert mail["Subject"] == "Contact us: Question about billing"
    body = smtp_server.bodies()[0].replace("\r\n", "\n")
    assert "Do you take\ninsurance?" in body and user.email in body and "/admin/contact" in body

    login(client, admin)
    html = client.get("/admin/contact").get_data(as_text=True)
    assert "Question about billing" in html and "Casey" in html and "Not handled" in html


def test_invalid_contact_form_changes_nothing(client, make_user):
    login(client, make_user())
    for data, error in [({"subject": "", "body": "text"}, "Add a subject."),
                        ({"subject": "Hi", "body": "  "}, "Write a message before sending."),
                        ({"subject": "x" * 151, "body": "text"}, "Keep the subject under 150 characters."),
                        ({"subject": "Hi", "body": "x" * 5001}, "The limit is 5,000 characters.")]:
        response = client.post("/contact", data=data)
        assert response.status_code == 422 and error in response.get_data(as_text=True)
    assert stored() == 0
    assert client.application.extensions.get("mail_outbox", []) == []


@pytest.mark.config(RATELIMIT_ENABLED=True)
def test_contact_is_rate_limited(client, make_user):
    login(client, make_user())
    codes = [client.post("/contact", data={"subject": f"s{i}", "body": "b"}).status_code for i in range(6)]
    assert codes == [302] * 5 + [429]
    assert stored() == 5


@pytest.mark.parametrize("role", [Role.CLIENT, Role.SPECIALIST])
def test_admin_contact_pages_are_admin_only(client, make_user, role):
    message = ContactMessage(subject="private", body="private body")
    db.session.add(message)
    db.session.commit()
    assert client.get("/admin/contact").status_code in (302, 401)  # visitors go to login
    login(client, make_user(role=role))
    assert client.get("/admin/contact").status_code == 403
    assert client.post(f"/admin/contact/{message.id}/handled", data={"handled": "1"}).status_code == 403
    db.session.refresh(message)
    assert message.handled is False


def test_admin_marks_handled_and_unhandled_with_audit(client, make_user, admin):
    sender = make_user(display_name="Casey")
    message = ContactMessage(user_id=sender.id, subject="Please call me", body="Thanks")
    db.session.add(message)
    db.session.commit()
    login(client, admin)

    response = client.post(f"/admin/contact/{message.id}/handled", data={"handled": "1", "show": "unhandled"})
    assert response.status_code == 302 and "show=unhandled" in response.headers["Location"]
    db.session.refresh(message)
    assert message.handled and message.handled_at is not None and message.handled_by_id == admin.id
    assert "Please call me" not in client.get("/admin/contact?show=unhandled").get_data(as_text=True)
    handled_page = client.get("/admin/contact?show=handled").get_data(as_text=True)
    assert "Please call me" in handled_page and "by Ada Admin" in handled_page

    client.post(f"/admin/contact/{message.id}/handled", data={"handled": "0"})
    db.session.refresh(message)
    assert not message.handled and message.handled_at is None and message.handled_by_id is None
    assert "Please call me" in client.get("/admin/contact").get_data(as_text=True)

    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "ContactMessage")
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["contact.handled", "contact.unhandled"]
    assert client.post("/admin/contact/99999/handled", data={"handled": "1"}).status_code == 404


def test_contact_markup_is_inert_in_admin_list(client, make_user, admin):
    login(client, make_user())
    client.post("/contact", data={"subject": "<script>alert(1)</script>", "body": "<img src=x onerror=alert(2)>"})
    login(client, admin)
    html = client.get("/admin/contact").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(2)&gt;" in html


def test_contact_messages_are_in_the_data_export(client, make_user):
    user = make_user()
    login(client, user)
    client.post("/contact", data={"subject": "Export me", "body": "Body"})
    data = client.get("/account/export").get_json(force=True)
    assert data["contact_messages"][0]["subject"] == "Export me"
