"""Contact us: store the message, e-mail the admin address, let admins mark it handled."""
from __future__ import annotations

import logging
from typing import Any

from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace.account.hooks import data_exporter
from marketplace.audit import record_audit
from marketplace.auth.models import User
from marketplace.contact.models import ContactMessage
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.notifications.mail import render_mail, send_mail

log = logging.getLogger(__name__)

FILTERS = ("unhandled", "handled", "all")
ADMIN_LIST_LIMIT = 200


def submit_contact_message(user: User, *, subject: str, body: str) -> ContactMessage:
    """Store a "Contact us" message and e-mail it to ADMIN_EMAIL (an admin channel, so the text is included)."""
    message = ContactMessage(user_id=user.id, subject=subject.strip(), body=body.strip())
    db.session.add(message)
    db.session.flush()
    one_line_subject = " ".join(message.subject.split())
    mail_body = render_mail("email/contact_admin.txt", message=message, sender=user,
                            path=url_for("admin.contact_messages", show="unhandled"))
    send_mail(current_app.config["ADMIN_EMAIL"], f"Contact us: {one_line_subject}", mail_body)
    log.info("contact message %s received from user %s", message.id, user.id)
    return message


def list_contact_messages(show: str = "unhandled") -> list[ContactMessage]:
    """Newest first, filtered by handled state; sender and handler loaded in the same query."""
    stmt = (
        select(ContactMessage)
        .options(joinedload(ContactMessage.user), joinedload(ContactMessage.handled_by))
        .order_by(ContactMessage.created_at.desc(), ContactMessage.id.desc())
        .limit(ADMIN_LIST_LIMIT)
    )
    if show == "unhandled":
        stmt = stmt.where(ContactMessage.handled.is_(False))
    elif show == "handled":
        stmt = stmt.where(ContactMessage.handled.is_(True))
    return list(db.session.scalars(stmt))


def set_contact_handled(message: ContactMessage, admin: User, handled: bool) -> None:
    """Mark a contact message handled (or back to unhandled), with an audit entry."""
    if message.handled == handled:
        return
    before = {"handled": message.handled}
    message.handled = handled
    message.handled_at = utcnow() if handled else None
    message.handled_by_id = admin.id if handled else None
    record_audit(admin, "contact.handled" if handled else "contact.unhandled", message,
                 before=before, after={"handled": handled})
    db.session.flush()
    log.info("contact message %s marked %s by user %s", message.id, "handled" if handled else "unhandled", admin.id)


@data_exporter("contact_messages")
def export_contact_messages(user: User) -> list[dict[str, Any]]:
    """What the user wrote to the Balance team."""
    rows = db.session.scalars(
        select(ContactMessage).where(ContactMessage.user_id == user.id).order_by(ContactMessage.id)
    )
    return [
        {"subject": m.subject, "body": m.body, "sent_at": m.created_at.isoformat(), "handled": m.handled}
        for m in rows
    ]
