"""Mail as the RFC and people's mail programs expect (issue 14): Date and Message-ID headers, a
plain and an accessible HTML part, the .ics as ``text/calendar; method=…``, and no personal
address of the other party in anyone's calendar. Delivered through a real SMTP server."""
from __future__ import annotations

from datetime import timezone
from email.utils import parsedate_to_datetime

import icalendar
import pytest
from sqlalchemy import select

from marketplace.auth.models import Role
from marketplace.consultations.models import Consultation
from marketplace.database import commit, utcnow
from marketplace.extensions import db
from marketplace.notifications.mail import html_body, send_mail
from tests.integration.test_consultations import book_via_http, first_free_slot, login, open_all_week


@pytest.fixture
def booked(app, client, make_specialist, make_user, smtp_server):
    profile = make_specialist(formats=["video"], timezone="Europe/Berlin")
    open_all_week(profile)
    client_user = make_user(Role.CLIENT, timezone="America/New_York")
    login(client, client_user)
    before = utcnow()
    response = book_via_http(client, profile, first_free_slot(profile))
    assert response.status_code == 302
    return profile, client_user, before


def _calendar(message) -> tuple[object, icalendar.Calendar]:
    part = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
    return part, icalendar.Calendar.from_ical(part.get_payload(decode=True))


def test_every_mail_has_date_message_id_and_both_parts(app, booked, smtp_server):
    _, _, before = booked
    assert len(smtp_server.messages) == 2
    ids = set()
    for message in smtp_server.messages:
        sent = parsedate_to_datetime(message["Date"])
        assert sent.tzinfo is not None and abs(sent - before.replace(tzinfo=timezone.utc)).total_seconds() < 120
        message_id = message["Message-ID"]
        assert message_id.startswith("<") and message_id.endswith(">") and "@" in message_id
        ids.add(message_id)
        assert message.get_content_type() == "multipart/mixed"
        alternative = next(message.iter_parts())
        assert alternative.get_content_type() == "multipart/alternative"
        plain = message.get_body(preferencelist=("plain",)).get_content()
        rich = message.get_body(preferencelist=("html",)).get_content()
        assert '<html lang="en">' in rich and "<title>" in rich
        assert "<img" not in rich and "src=" not in rich  # nothing loaded from elsewhere
        # Same words in both parts; the consultation link is clickable in the HTML one.
        first_line = plain.strip().splitlines()[0]
        assert first_line.split(",")[0] in rich
        link = next(w for w in plain.split() if w.startswith("http"))
        assert f'href="{link}"' in rich
    assert len(ids) == 2


def test_ics_part_names_its_method_and_no_other_partys_address(app, booked, smtp_server):
    profile, client_user, _ = booked
    specialist_email = profile.user.email
    for message in smtp_server.messages:
        part, calendar = _calendar(message)
        assert part.get_param("method") == "REQUEST" == str(calendar["METHOD"])
        event = calendar.walk("VEVENT")[0]
        raw = calendar.to_ical().decode().lower()
        recipient = str(message["To"]).lower()
        other = specialist_email if recipient == client_user.email.lower() else client_user.email
        assert other.lower() not in raw, "the other party's personal address is in this calendar"
        attendees = event.get("ATTENDEE")
        attendees = attendees if isinstance(attendees, list) else [attendees]
        assert [str(a).lower() for a in attendees] == [f"mailto:{recipient}"]
        assert all(a.params["RSVP"] == "FALSE" for a in attendees)
        assert "no-reply" in str(event["ORGANIZER"]).lower() or "balance" in str(event["ORGANIZER"]).lower()


def test_ics_download_has_no_other_partys_address(app, client, booked):
    profile, client_user, _ = booked
    consultation_id = db.session.scalar(select(Consultation.id))
    data = client.get(f"/consultations/{consultation_id}.ics").get_data(as_text=True).lower()
    assert "begin:vcalendar" in data
    assert profile.user.email.lower() not in data


def test_html_body_escapes_and_links():
    rich = html_body("Hello <you>", 'Dear <b>Ann</b>,\n\nSee https://x.test/a?b=1&c=2"x\nthen\n\nBalance')
    assert "&lt;b&gt;Ann&lt;/b&gt;" in rich and "<b>" not in rich
    assert '<a href="https://x.test/a?b=1&amp;c=2">' in rich
    assert "then" in rich and "<br>" in rich
    assert rich.count("<p>") == 3


def test_names_beyond_ascii_arrive_intact_and_the_message_is_seven_bit_clean(app, smtp_server):
    """Subjects, sender names and bodies in any language: encoded on the wire (RFC 2047 headers,
    quoted-printable bodies), read back by a mail program exactly as written."""
    app.config["MAIL_DEFAULT_SENDER"] = "Bälance Praxis <no-reply@balance.example>"
    subject = "Ihre kostenlose Erstberatung mit Dr Müller ist bestätigt — Donnerstag, 10:00 (Europe/Berlin)"  # folded
    body = "Hallo Zoë,\n\nbis Donnerstag um 10:00 (Europe/Berlin).\n"
    with app.app_context():
        send_mail("zoe@example.test", subject, body, attachments=[("invite.ics", "text/calendar; method=REQUEST",
                                                                   "BEGIN:VCALENDAR\r\nSUMMARY:Ä\r\n".encode())])
        commit()
        app.config["MAIL_BACKEND"] = "memory"
        send_mail("zoe@example.test", subject, body)
        commit()
        [kept] = app.extensions["mail_outbox"]
    [message] = smtp_server.messages
    assert message["Subject"] == subject == kept["Subject"]
    assert message["From"].addresses[0].display_name == "Bälance Praxis"
    assert message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n") == body
    assert kept.get_body(preferencelist=("plain",)).get_content() == body
    assert "Dr Müller" in message.get_body(preferencelist=("html",)).get_content()
    [invite] = message.iter_attachments()
    assert invite.get_param("method") == "REQUEST"
    assert invite.get_payload(decode=True).decode() == "BEGIN:VCALENDAR\r\nSUMMARY:Ä\r\n"
    assert kept.raw.isascii()  # every character beyond ASCII encoded: any server relays it unchanged
