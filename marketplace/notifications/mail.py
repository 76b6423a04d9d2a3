"""The one way to send e-mail: ``send_mail()`` writes an outbox row in the action's transaction
(the source of truth); after commit ONE job per unit of work delivers the rows it wrote, on a
worker, never in the request. A periodic job sweeps what is left: rows the SMTP server refused
(back to pending) and rows whose worker died or hung after claiming them (the claim is a lease,
``MAIL_LEASE_SECONDS``). Each row is claimed by one conditional UPDATE, so with any number of
workers a mail goes out once.

Backends: ``console`` (default; prints to stdout), ``smtp``, ``memory`` (tests).
"""
from __future__ import annotations

import base64
import functools
import html
import logging
import re
import smtplib
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from email.charset import QP, Charset
from email.encoders import encode_base64
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any

from flask import current_app, g, render_template, url_for
from sqlalchemy import ColumnElement, and_, bindparam, inspect, or_, select, update

from marketplace.database import after_commit, utcnow
from marketplace.extensions import db
from marketplace.jobs import enqueue, jobs
from marketplace.notifications.models import MailStatus, OutboxMail

log = logging.getLogger(__name__)

Attachment = tuple[str, str, bytes]  # (filename, content type, data)


def send_mail(to: str, subject: str, body: str, *, attachments: Iterable[Attachment] = (),
              dedupe_key: str | None = None) -> OutboxMail:
    """Queue an e-mail in the current transaction; it is delivered after commit."""
    return _queue(OutboxMail(recipient=to, subject=subject[:200], body_text=body, dedupe_key=dedupe_key,
                             attachments=_encoded(attachments)))


# --- mail composed on delivery -----------------------------------------------------------------

Composer = Callable[..., tuple[str, list[Attachment]]]
# Loads what a batch's mails of one composer need, in one go, from their arguments; the batch holds
# the result while it composes (the session's identity map keeps rows only while they are referenced).
Preparer = Callable[[list[dict[str, Any]]], Any]
_COMPOSERS: dict[str, Composer] = {}
_PREPARERS: dict[str, Preparer] = {}


class NothingToSay(Exception):
    """Raised by a composer when the mail is moot by delivery time (e.g. its booking was deleted)."""


def mail_composer(name: str, *, prepare: Preparer | None = None) -> Callable[[Composer], Composer]:
    """Register a function ``(**args) -> (body, attachments)`` that writes a mail on delivery;
    ``prepare(list of args)``, when given, loads what a whole batch of them reads, once."""
    def register(compose: Composer) -> Composer:
        _COMPOSERS[name] = compose
        if prepare is not None:
            _PREPARERS[name] = prepare
        return compose
    return register


def _prepared(mails: Sequence[OutboxMail]) -> list[Any]:
    """What the composers of these mails load for the whole batch (held while it is composed)."""
    held = []
    for composer, prepare in _PREPARERS.items():
        args = [mail.compose_args or {} for mail in mails if mail.composer == composer and not mail.body_text]
        if args:
            held.append(prepare(args))
    return held


def send_composed_mail(to: str, subject: str, composer: str, *, dedupe_key: str | None = None,
                       **args: Any) -> OutboxMail:
    """Queue an e-mail whose body (and attachments) the worker writes, with ``composer(**args)``:
    the request records who gets what in its transaction (the outbox row stays the source of
    truth) and renders no one's mail. ``args`` must be JSON (ids, not objects)."""
    if composer not in _COMPOSERS:
        raise KeyError(f"no mail composer {composer!r}")
    return _queue(OutboxMail(recipient=to, subject=subject[:200], body_text="", dedupe_key=dedupe_key,
                             attachments=[], composer=composer, compose_args=args))


def _encoded(attachments: Iterable[Attachment]) -> list[dict[str, str]]:
    return [{"filename": name, "content_type": ctype, "data": base64.b64encode(data).decode("ascii")}
            for name, ctype, data in attachments]


def _queue(mail: OutboxMail) -> OutboxMail:
    """Add the outbox row to the unit of work (flushed with the rest of it: no round trip of its
    own); its delivery job is queued after the commit."""
    db.session.add(mail)
    _deliver_after_commit(mail)
    return mail


def _compose(mail: OutboxMail, attempt: int) -> tuple[str, list[Attachment]] | None:
    """The body and attachments of a mail composed on delivery (written once by the caller: a retry
    sends what was written), or None when there is nothing to send (the row is marked dropped) or
    composing failed (back to pending, retried by the sweep)."""
    assert mail.composer is not None
    mail_id = mail.id
    try:
        return _COMPOSERS[mail.composer](**(mail.compose_args or {}))
    except NothingToSay as exc:
        db.session.rollback()
        _set_status(mail_id, attempt, MailStatus.DROPPED, claimed_until=None, last_error=str(exc)[:300])
        log.info("mail %s dropped: %s", mail_id, exc)
    except Exception as exc:  # a bug or a database error: kept, retried by the sweep
        db.session.rollback()
        _set_status(mail_id, attempt, MailStatus.PENDING, claimed_until=None,
                    last_error=f"composing: {type(exc).__name__}: {exc}"[:300])
        log.exception("mail %s could not be composed", mail_id)
    return None


class _MailBatch:
    """The mails of one unit of work; called after its commit, it queues one delivery job for
    those that were committed (a mail added in a savepoint that was rolled back has no identity)."""

    def __init__(self) -> None:
        self.mails: list[OutboxMail] = []

    def __call__(self) -> None:
        # The identity (primary key) is known without loading the expired rows again.
        ids = [identity[0] for identity in (inspect(mail).identity for mail in self.mails) if identity]
        if ids:
            enqueue(deliver_mail, ids)


def _deliver_after_commit(mail: OutboxMail) -> None:
    batch = g.get("_outbox_batch")
    if batch is None or batch not in g.get("_after_commit", ()):  # none yet in this unit of work
        batch = g._outbox_batch = _MailBatch()
        after_commit(batch)
    batch.mails.append(mail)


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link for an e-mail, on ``SERVER_BASE_URL`` (works in jobs, which have no request)."""
    with current_app.test_request_context(base_url=current_app.config["SERVER_BASE_URL"]):
        return url_for(endpoint, _external=True, **values)


def render_mail(template: str, **context: Any) -> str:
    """Render a plain-text mail body from ``templates/email/``."""
    context.setdefault("base_url", current_app.config["SERVER_BASE_URL"].rstrip("/"))
    return render_template(template, **context)


@jobs.task
def deliver_mail(ids: list[int]) -> int:
    """Job: deliver these outbox rows (those still claimable). Returns the count sent."""
    return deliver_mail_ids(ids)


@jobs.periodic(minute="*")
def deliver_pending_mail() -> int:
    """Job: the sweep — refused mail and mail whose worker's lease ran out."""
    return deliver_pending()


def _claimable(now: Any) -> ColumnElement[bool]:
    """Pending, or claimed by a worker whose lease has run out (it died or hung)."""
    return or_(OutboxMail.status == MailStatus.PENDING,
               and_(OutboxMail.status == MailStatus.SENDING, OutboxMail.claimed_until < now))


def deliver_pending(limit: int = 200) -> int:
    """Deliver queued mail (safe on any number of workers: each row is claimed atomically)."""
    ids = db.session.scalars(
        select(OutboxMail.id).where(_claimable(utcnow())).order_by(OutboxMail.id).limit(limit)
    ).all()
    db.session.commit()
    return deliver_mail_ids(list(ids))


def deliver_mail_ids(ids: list[int]) -> int:
    """Deliver these rows (those still claimable); returns the count sent. A batch costs a constant
    number of statements and three commits: claim them all, write the bodies composed now, record
    the outcome of those sent (a refusal or a failed composition is recorded on its own)."""
    claimed = claim_mails(ids)
    if not claimed:
        return 0
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.id.in_(claimed)).order_by(OutboxMail.id)).all()
    held = _prepared(mails)  # referenced until composed: the session keeps rows only while they are
    outgoing: list[tuple[int, int, Built]] = []
    bodies: list[dict[str, Any]] = []
    for mail in mails:
        mail_id, attempt = mail.id, claimed[mail.id]
        body, attachments = mail.body_text, mail.attachments or []
        if mail.composer and not body:
            composed = _compose(mail, attempt)
            if composed is None:
                continue
            body, attachments = composed[0], _encoded(composed[1])  # written below, before sending
            bodies.append({"mail_id": mail_id, "attempt": attempt, "body_text": body, "attachments": attachments})
        outgoing.append((mail_id, attempt, build_message(mail.recipient, mail.subject, body, attachments)))
    del held
    if bodies:
        db.session.connection().execute(
            update(OutboxMail.__table__).where(OutboxMail.__table__.c.id == bindparam("mail_id"),
                                               OutboxMail.__table__.c.attempts == bindparam("attempt"))
            .values(body_text=bindparam("body_text"), attachments=bindparam("attachments")), bodies)
    # End the transaction before the (slow) SMTP conversations, and make each state change a
    # single UPDATE, so SQLite writers never upgrade a stale read snapshot.
    db.session.commit()
    sent = []
    for mail_id, attempt, message in outgoing:
        try:
            _BACKENDS[current_app.config["MAIL_BACKEND"]](message)
        except (OSError, smtplib.SMTPException) as exc:
            # Not delivered: back to pending so the sweep (or `flask deliver-mail`) retries it later.
            _set_status(mail_id, attempt, MailStatus.PENDING, claimed_until=None,
                        last_error=f"{type(exc).__name__}: {exc}"[:300])
            log.warning("mail %s not delivered yet (%s)", mail_id, type(exc).__name__)
            continue
        sent.append({"mail_id": mail_id, "attempt": attempt})
        log.info("mail %s delivered", mail_id)
    if sent:
        table = OutboxMail.__table__
        db.session.connection().execute(
            update(table).where(table.c.id == bindparam("mail_id"), table.c.attempts == bindparam("attempt"),
                                table.c.status == MailStatus.SENDING)
            .values(status=MailStatus.SENT, sent_at=utcnow(), claimed_until=None), sent)
        db.session.commit()
    return len(sent)


def claim_mails(ids: list[int]) -> dict[int, int]:
    """Take the lease on these rows with one conditional UPDATE (only one worker wins each row):
    {id: the claim's attempt number} of those claimed (see ``claim_mail``)."""
    if not ids:
        return {}
    now = utcnow()
    lease = timedelta(seconds=int(current_app.config.get("MAIL_LEASE_SECONDS", 120)))
    rows = db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.id.in_(ids), _claimable(now))
        .values(status=MailStatus.SENDING, attempts=OutboxMail.attempts + 1, claimed_until=now + lease)
        .returning(OutboxMail.id, OutboxMail.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    claimed = {mail_id: attempt for mail_id, attempt in rows}
    db.session.commit()
    return claimed


def claim_mail(mail_id: int) -> int | None:
    """Take the lease on one row: one conditional UPDATE, so only one worker wins it.

    Returns the claim's attempt number (its token: the outcome is written only while the row is
    still held by this attempt, so a worker that hung past its lease cannot undo another's send),
    or None when the row is not claimable (sent, or leased to a live worker).
    """
    now = utcnow()
    lease = timedelta(seconds=int(current_app.config.get("MAIL_LEASE_SECONDS", 120)))
    attempt = db.session.scalar(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id, _claimable(now))
        .values(status=MailStatus.SENDING, attempts=OutboxMail.attempts + 1, claimed_until=now + lease)
        .returning(OutboxMail.attempts)
    )
    db.session.commit()
    return attempt


def _set_status(mail_id: int, attempt: int, status: MailStatus, **values: Any) -> None:
    """Record the outcome of this attempt (nothing if the lease passed to another attempt)."""
    db.session.execute(update(OutboxMail).where(
        OutboxMail.id == mail_id, OutboxMail.attempts == attempt, OutboxMail.status == MailStatus.SENDING,
    ).values(status=status, **values))
    db.session.commit()


@dataclass(frozen=True)
class Built:
    """A mail ready for a backend: who it is from and for (the SMTP envelope), its subject and text
    (the console shows them) and the whole RFC 5322 message as bytes."""

    sender: str
    recipient: str
    subject: str
    body_text: str
    raw: bytes


# Bodies in quoted-printable (readable where they are ASCII), headers encoded only when they need it.
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP
_WIRE = compat32.clone(linesep="\r\n")


def build_message(recipient: str, subject: str, body_text: str, attachments: list[dict[str, str]]) -> Built:
    """The RFC 5322 message: Date and Message-ID on the sender's domain, the body as plain text
    and as accessible HTML (multipart/alternative, no remote images), attachments after it (an
    .ics as ``text/calendar; method=…``), in a multipart/mixed.

    Built with the ``email.mime`` classes and serialized once: the ``EmailMessage`` API parses
    every header it is given back through the header registry, ten times what building the
    message costs, and a worker writes two mails for every booking."""
    name, address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])
    alternative = MIMEMultipart("alternative")
    alternative.attach(_text("plain", body_text))
    alternative.attach(_text("html", html_body(subject, body_text)))
    msg = alternative
    if attachments:
        msg = MIMEMultipart("mixed")
        msg.attach(_part(alternative))
        for att in attachments:
            maintype, _, subtype = att["content_type"].partition("/")
            params = {}
            if "; " in subtype:
                subtype, _, rest = subtype.partition("; ")
                params = dict(p.split("=", 1) for p in rest.split("; ") if "=" in p)
            part = MIMEBase(maintype, subtype)
            for key, value in params.items():
                part.set_param(key, value)
            part.set_payload(base64.b64decode(att["data"]))
            encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=att["filename"])
            msg.attach(_part(part))
    msg["From"] = formataddr((name, address), charset="utf-8")
    msg["To"] = recipient
    if subject.isascii():
        msg["Subject"] = subject
    else:  # encoded words, folded by the generator (an encoded string would start with a fold)
        msg["Subject"] = Header(subject, "utf-8", header_name="Subject")  # type: ignore[assignment]
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or "balance.example")
    return Built(address, recipient, subject, body_text, msg.as_bytes(policy=_WIRE))


def _text(subtype: str, text: str) -> Message:
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part.set_payload(text, _UTF8)
    return _part(part)


def _part(part: Message) -> Message:
    del part["MIME-Version"]  # (the message's own header; email.mime adds it to every part)
    return part


_LINK = re.compile(r"https?://[^\s<>\"']+")


def html_body(subject: str, text: str) -> str:
    """The plain-text body as a small, accessible HTML document: paragraphs at blank lines, line
    breaks kept, links made clickable; everything escaped, nothing loaded from elsewhere."""
    def paragraph(block: str) -> str:
        block, parts, at = block.strip("\n"), [], 0
        for link in _LINK.finditer(block):
            url = html.escape(link.group(0))
            parts += [html.escape(block[at:link.start()]), f'<a href="{url}">{url}</a>']
            at = link.end()
        parts.append(html.escape(block[at:]))
        return "<p>" + "".join(parts).replace("\n", "<br>\n") + "</p>"
    paragraphs = "\n".join(paragraph(b) for b in re.split(r"\n\s*\n", text) if b.strip())
    return ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(subject)}</title></head>\n"
            '<body style="font-family: system-ui, sans-serif; font-size: 16px; line-height: 1.5; color: #1d2a2a;">\n'
            f"{paragraphs}\n</body></html>\n")


def _send_console(mail: Built) -> None:
    sys.stdout.write(f"\n----- e-mail to {mail.recipient}: {mail.subject} -----\n{mail.body_text}\n")
    sys.stdout.flush()


class Kept:
    """A mail the memory backend keeps: its bytes, read as an ``EmailMessage`` (``msg["To"]``,
    ``msg.get_body()``, …) when something looks at it — as a mail program would read it, with
    its lines ending in newlines."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    @functools.cached_property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw.replace(b"\r\n", b"\n"), policy=policy.default)

    def __getitem__(self, name: str) -> Any:
        return self.message[name]

    def __contains__(self, name: str) -> bool:
        return name in self.message

    def __getattr__(self, name: str) -> Any:
        if name in ("raw", "message"):
            raise AttributeError(name)
        return getattr(self.message, name)


def _send_memory(mail: Built) -> None:
    current_app.extensions.setdefault("mail_outbox", []).append(Kept(mail.raw))


def _send_smtp(mail: Built) -> None:
    cfg = current_app.config
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"]) as smtp:
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls()
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        smtp.sendmail(mail.sender, [mail.recipient], mail.raw)


_BACKENDS = {"console": _send_console, "memory": _send_memory, "smtp": _send_smtp}
