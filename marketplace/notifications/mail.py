"""The one way to send e-mail: ``send_mail()`` queues into the outbox table; delivery
happens after the surrounding transaction commits (and ``flask deliver-mail`` retries).

Backends: ``console`` (default; prints to stdout), ``smtp``, ``memory`` (tests).
"""
from __future__ import annotations

import base64
import logging
import smtplib
import sys
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from flask import current_app, render_template
from sqlalchemy import select, update

from marketplace.database import after_commit, utcnow
from marketplace.extensions import db
from marketplace.notifications.models import MailStatus, OutboxMail

log = logging.getLogger(__name__)

Attachment = tuple[str, str, bytes]  # (filename, content type, data)


def send_mail(to: str, subject: str, body: str, *, attachments: Iterable[Attachment] = (),
              dedupe_key: str | None = None) -> OutboxMail:
    """Queue an e-mail in the current transaction; it is delivered after commit."""
    mail = OutboxMail(
        recipient=to,
        subject=subject[:200],
        body_text=body,
        dedupe_key=dedupe_key,
        attachments=[
            {"filename": name, "content_type": ctype, "data": base64.b64encode(data).decode("ascii")}
            for name, ctype, data in attachments
        ],
    )
    db.session.add(mail)
    db.session.flush()
    mail_id = mail.id
    after_commit(lambda: deliver_mail_ids([mail_id]))
    return mail


def render_mail(template: str, **context: Any) -> str:
    """Render a plain-text mail body from ``templates/email/``."""
    context.setdefault("base_url", current_app.config["SERVER_BASE_URL"].rstrip("/"))
    return render_template(template, **context)


def deliver_pending(limit: int = 200) -> int:
    """Deliver queued mail (cron-safe: each row is claimed atomically). Returns count sent."""
    ids = db.session.scalars(
        select(OutboxMail.id).where(OutboxMail.status == MailStatus.PENDING).order_by(OutboxMail.id).limit(limit)
    ).all()
    db.session.commit()
    return deliver_mail_ids(list(ids))


def deliver_mail_ids(ids: list[int]) -> int:
    sent = 0
    for mail_id in ids:
        if _claim(mail_id):
            sent += _deliver_claimed(mail_id)
    return sent


def _claim(mail_id: int) -> bool:
    result = db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id, OutboxMail.status == MailStatus.PENDING)
        .values(status=MailStatus.SENDING, attempts=OutboxMail.attempts + 1)
    )
    db.session.commit()
    return result.rowcount == 1


def _deliver_claimed(mail_id: int) -> int:
    mail = db.session.get(OutboxMail, mail_id)
    assert mail is not None
    message = build_message(mail)
    # End the read transaction before the (slow) SMTP conversation, and make each state
    # change a single UPDATE, so SQLite writers never upgrade a stale read snapshot.
    db.session.commit()
    try:
        _BACKENDS[current_app.config["MAIL_BACKEND"]](message)
    except (OSError, smtplib.SMTPException) as exc:
        # Not delivered: back to pending so `flask deliver-mail` retries it later.
        _set_status(mail_id, MailStatus.PENDING, last_error=f"{type(exc).__name__}: {exc}"[:300])
        log.warning("mail %s not delivered yet (%s)", mail_id, type(exc).__name__)
        return 0
    _set_status(mail_id, MailStatus.SENT, sent_at=utcnow())
    log.info("mail %s delivered", mail_id)
    return 1


def _set_status(mail_id: int, status: MailStatus, **values: Any) -> None:
    db.session.execute(update(OutboxMail).where(OutboxMail.id == mail_id).values(status=status, **values))
    db.session.commit()


def build_message(mail: OutboxMail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    msg["To"] = mail.recipient
    msg["Subject"] = mail.subject
    msg["Message-ID"] = make_msgid(domain="balance.example")
    msg.set_content(mail.body_text)
    for att in mail.attachments or []:
        maintype, _, subtype = att["content_type"].partition("/")
        params = {}
        if "; " in subtype:
            subtype, _, rest = subtype.partition("; ")
            params = dict(p.split("=", 1) for p in rest.split("; ") if "=" in p)
        msg.add_attachment(base64.b64decode(att["data"]), maintype=maintype, subtype=subtype,
                           filename=att["filename"], params=params)
    return msg


def _send_console(msg: EmailMessage) -> None:
    sys.stdout.write(f"\n----- e-mail to {msg['To']}: {msg['Subject']} -----\n")
    body = msg.get_body(preferencelist=("plain",))
    sys.stdout.write((body.get_content() if body else "") + "\n")
    sys.stdout.flush()


def _send_memory(msg: EmailMessage) -> None:
    current_app.extensions.setdefault("mail_outbox", []).append(msg)


def _send_smtp(msg: EmailMessage) -> None:
    cfg = current_app.config
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"]) as smtp:
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls()
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        smtp.send_message(msg)


_BACKENDS = {"console": _send_console, "memory": _send_memory, "smtp": _send_smtp}
