"""E-mails (with .ics invitations) for consultations, and the reminder run.

Every mail is queued in the outbox in the same transaction as the action and delivered after
the commit, so a rolled-back booking never e-mails. Times are written in each RECIPIENT's
time zone (zone named); the .ics carries the same instants. The client's note is never put
in an e-mail.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, PendingRollbackError
from sqlalchemy.orm import joinedload

from marketplace.auth.models import User
from marketplace.consultations.models import Consultation, ConsultationState
from marketplace.database import commit, execute_dml, rollback, utcnow
from marketplace.extensions import db
from marketplace.jobs import jobs
from marketplace.notifications.ics import CalendarEvent, build_ics
from marketplace.notifications.mail import Attachment, NothingToSay, mail_composer, render_mail, send_composed_mail, send_mail
from marketplace.timeutil import format_datetime, user_zone

log = logging.getLogger(__name__)

FORMAT_LABELS = {"video": "Video call", "phone": "Phone call", "in_person": "In person"}


def format_label(slug: str | None) -> str:
    return FORMAT_LABELS.get(slug or "", (slug or "").replace("_", " ").capitalize())


def meeting_details(consultation: Consultation) -> str | None:
    """The video link (the consultation's own, else the profile's) / address / phone of the
    specialist for the chosen format (participants only)."""
    profile = consultation.specialist
    if profile is None:
        return None
    return {
        "video": consultation.meeting_video_link,
        "in_person": profile.address,
        "phone": profile.phone,
    }.get(consultation.format)


def consultation_url(consultation: Consultation) -> str:
    base = current_app.config["SERVER_BASE_URL"].rstrip("/")
    return f"{base}/consultations/{consultation.id}"


@dataclass
class Recipient:
    user: User
    role: str  # "client" | "specialist"
    other_name: str


def recipients(consultation: Consultation) -> list[Recipient]:
    client = consultation.client
    profile = consultation.specialist
    people = []
    if client is not None and client.deleted_at is None:
        people.append(Recipient(client, "client", profile.display_name))
    specialist_user = profile.user
    if specialist_user is not None and specialist_user.deleted_at is None:
        people.append(Recipient(specialist_user, "specialist", client.display_name if client else "a client"))
    return people


def ics_attachment(consultation: Consultation, recipient: Recipient, *, cancel: bool = False) -> tuple[str, str, bytes]:
    """The consultation as an iCalendar invitation (METHOD REQUEST or CANCEL) for one recipient."""
    method = "CANCEL" if cancel else "REQUEST"
    data = build_ics_for(consultation, recipient.user, recipient.other_name, cancel=cancel)
    return ("consultation.ics", f"text/calendar; method={method}", data)


def build_ics_for(consultation: Consultation, viewer: User, other_name: str, *, cancel: bool = False) -> bytes:
    """The .ics of a consultation as seen by ``viewer`` (download and e-mail share this)."""
    sender_name, sender_email = balance_organizer()
    # Balance organizes; the viewer is the one attendee: the other party is named in the summary,
    # never by their personal address.
    attendees = [(viewer.email, viewer.display_name)] if "@" in (viewer.email or "") else []
    event = calendar_event(consultation, other_name, cancel=cancel)
    return build_ics(
        uid=event.uid,
        sequence=event.sequence,
        method="CANCEL" if cancel else "REQUEST",
        start_utc=event.start_utc,
        end_utc=event.end_utc,
        summary=event.summary,
        description=event.description,
        location=event.location,
        organizer_email=sender_email,
        organizer_name=sender_name,
        attendees=attendees,
        display_tz=user_zone(viewer),
        status=event.status,
    )


def balance_organizer() -> tuple[str, str]:
    """(name, address) of Balance as the ORGANIZER of every calendar event: the no-reply sender."""
    sender_name, sender_email = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])
    return sender_name or "Balance", sender_email or "no-reply@balance.example"


def calendar_event(consultation: Consultation, other_name: str, *, cancel: bool = False) -> CalendarEvent:
    """The consultation as a calendar event, the other party by name only (invitations and feeds):
    cancelled with no meeting details when ``cancel``, else tentative until confirmed."""
    description = (
        f"Free 30-minute initial consultation ({format_label(consultation.format).lower()}) booked through Balance.\n"
        f"Details: {consultation_url(consultation)}"
    ) if consultation.is_free else f"Session booked through Balance.\nDetails: {consultation_url(consultation)}"
    kind = "Free consultation" if consultation.is_free else "Session"
    if cancel:
        status = "CANCELLED"
    else:
        status = "CONFIRMED" if consultation.state is ConsultationState.CONFIRMED else "TENTATIVE"
    return CalendarEvent(
        uid=consultation.uid,
        sequence=consultation.sequence,
        start_utc=consultation.start_utc,
        end_utc=consultation.end_utc,
        summary=f"{kind} with {other_name} (Balance)",
        description=description,
        location=meeting_details(consultation) if not cancel else None,
        status=status,
    )


def _mail(consultation: Consultation, recipient: Recipient, template: str, subject: str, *,
          cancel: bool = False, dedupe_key: str | None = None, **context: Any) -> None:
    body, attachments = _compose(consultation, recipient, template, cancel=cancel, **context)
    send_mail(recipient.user.email, subject, body, attachments=attachments, dedupe_key=dedupe_key)


def _compose(consultation: Consultation, recipient: Recipient, template: str, *, cancel: bool = False,
             **context: Any) -> tuple[str, list[Attachment]]:
    tz = user_zone(recipient.user)
    body = render_mail(
        f"email/{template}",
        consultation=consultation,
        recipient=recipient.user,
        role=recipient.role,
        other_name=recipient.other_name,
        when=format_datetime(consultation.start_utc, tz),
        duration=int((consultation.end_utc - consultation.start_utc).total_seconds() // 60),
        format_label=format_label(consultation.format),
        details=meeting_details(consultation) if consultation.state is ConsultationState.CONFIRMED else None,
        url=consultation_url(consultation),
        has_note=bool(consultation.note),
        kind_label="free consultation" if consultation.is_free else "session",
        **context,
    )
    return body, [ics_attachment(consultation, recipient, cancel=cancel)]


def notify_booked(consultation: Consultation) -> None:
    """To both sides: 'requested' (specialist confirms) or 'confirmed' (auto-confirm). Written by
    the worker on delivery (``compose_consultation_mail``): a booking renders no one's mail."""
    confirmed = consultation.state is ConsultationState.CONFIRMED
    for r in recipients(consultation):
        if r.role == "client":
            subject = (f"Your free consultation with {r.other_name} is confirmed" if confirmed
                       else f"Your free consultation with {r.other_name} is requested")
        else:
            subject = (f"New free consultation with {r.other_name}" if confirmed
                       else f"New free consultation request from {r.other_name}")
        send_composed_mail(r.user.email, subject, CONSULTATION_MAIL, consultation_id=consultation.id,
                           user_id=r.user.id, template="consultation_booked.txt", confirmed=confirmed)


CONSULTATION_MAIL = "consultation"


def _queue_mail(consultation: Consultation, recipient: Recipient, template: str, subject: str, *,
                dedupe_key: str | None = None, **context: Any) -> None:
    """Queue a consultation mail the worker writes on delivery (``compose_consultation_mail``):
    the request renders no one's mail. ``context`` must be JSON."""
    send_composed_mail(recipient.user.email, subject, CONSULTATION_MAIL, dedupe_key=dedupe_key,
                       consultation_id=consultation.id, user_id=recipient.user.id, template=template, **context)


def _load_batch(args: list[dict[str, Any]]) -> list[Consultation]:
    """The consultations of a batch of consultation mails, with both participants, in one query:
    ``compose_consultation_mail`` then finds each in the session."""
    ids = {a["consultation_id"] for a in args if "consultation_id" in a}
    return list(db.session.scalars(
        select(Consultation).where(Consultation.id.in_(ids))
        .options(joinedload(Consultation.client), joinedload(Consultation.specialist))).unique())


@mail_composer(CONSULTATION_MAIL, prepare=_load_batch)
def compose_consultation_mail(consultation_id: int, user_id: int, template: str, *, old_start: str | None = None,
                              other_name: str | None = None, **context: Any) -> tuple[str, list[Attachment]]:
    """The body and .ics of a consultation mail to one participant, as the consultation is now
    (``old_start``: the time a rescheduled consultation had, shown in the recipient's zone;
    ``other_name``: the other side's name as it was when the mail was queued — an account deletion
    replaces it before delivery)."""
    # In a delivery batch, found in the session (``_load_batch``); else one query.
    consultation = db.session.get(Consultation, consultation_id,
                                  options=[joinedload(Consultation.client), joinedload(Consultation.specialist)])
    recipient = next((r for r in recipients(consultation) if r.user.id == user_id), None) if consultation else None
    if consultation is None or recipient is None:
        raise NothingToSay(f"consultation {consultation_id} or its participant {user_id} is gone")
    if other_name is not None:
        recipient = replace(recipient, other_name=other_name)
    if old_start is not None:
        context["old_when"] = format_datetime(datetime.fromisoformat(old_start), user_zone(recipient.user))
    return _compose(consultation, recipient, template, **context)


def notify_confirmed(consultation: Consultation) -> None:
    for r in recipients(consultation):
        _queue_mail(consultation, r, "consultation_confirmed.txt", f"Confirmed: free consultation with {r.other_name}")


def notify_cancelled(consultation: Consultation, cancelled_by: User | None, *, account_deleted: bool = False,
                     by_balance: bool = False) -> None:
    for r in recipients(consultation):
        by_you = cancelled_by is not None and cancelled_by.id == r.user.id
        if account_deleted and by_you:
            continue  # the notice is for the other side
        # An account deletion renames the deleted side before delivery: the name goes with the mail.
        _queue_mail(consultation, r, "consultation_cancelled.txt", f"Cancelled: consultation with {r.other_name}",
                    cancel=True, by_you=by_you, reason=consultation.cancel_reason, account_deleted=account_deleted,
                    by_balance=by_balance, other_name=r.other_name if account_deleted else None)


def notify_rescheduled(consultation: Consultation, old_start: datetime) -> None:
    """To both sides: the booking moved from ``old_start`` (a free consultation rebooked, or a paid
    session moved in place), with the updated .ics (same UID, next SEQUENCE)."""
    what = "consultation" if consultation.is_free else "session"
    for r in recipients(consultation):
        _queue_mail(consultation, r, "consultation_rescheduled.txt", f"Rescheduled: {what} with {r.other_name}",
                    old_start=old_start.isoformat())


# --- reminders ----------------------------------------------------------------------------------

REMINDERS = {
    "24h": (timedelta(hours=24), Consultation.reminder_24h_sent_at),
    "1h": (timedelta(hours=1), Consultation.reminder_1h_sent_at),
}


def _claim_reminder(consultation_id: int, which: str, now: datetime) -> bool:
    """Atomically mark one reminder as sent; True for exactly one caller (race-safe)."""
    column = REMINDERS[which][1]
    result = execute_dml(
        update(Consultation)
        .where(Consultation.id == consultation_id, column.is_(None),
               Consultation.state == ConsultationState.CONFIRMED)
        .values({column.key: now})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


@jobs.periodic(minute="*")
def send_due_reminders() -> dict[str, int]:
    """Job, every minute on the queue's scheduler: ``send_reminders``."""
    return send_reminders()


def send_reminders(now: datetime | None = None) -> dict[str, int]:
    """Send the 24 h and 1 h reminders of confirmed consultations, each exactly once.

    Each reminder is claimed by a conditional UPDATE (… WHERE reminder_Xh_sent_at IS NULL)
    in the same transaction that queues its mails, which is committed before delivery. Safe
    to run every minute from cron, and from several hosts at once. When the 24 h window was
    missed (less than an hour left) only the 1 h reminder is sent.
    """
    now = now or utcnow()
    due = dict(db.session.execute(
        select(Consultation.id, Consultation.start_utc).where(
            Consultation.state == ConsultationState.CONFIRMED,
            Consultation.start_utc > now,
            Consultation.start_utc <= now + timedelta(hours=24),
            or_(Consultation.reminder_24h_sent_at.is_(None), Consultation.reminder_1h_sent_at.is_(None)),
        ).order_by(Consultation.start_utc)
    ).all())

    def which(consultation_id: int) -> str:
        return "1h" if due[consultation_id] - now <= timedelta(hours=1) else "24h"

    def claim(consultation_id: int) -> bool:
        claimed = _claim_reminder(consultation_id, which(consultation_id), now)
        if claimed and which(consultation_id) == "1h":
            _claim_reminder(consultation_id, "24h", now)  # missed or done: never send it late
        if claimed:
            _queue_reminder(consultation_id, which(consultation_id))
        return claimed

    sent = {"24h": 0, "1h": 0}
    for consultation_id in run_claims(list(due), claim, "reminder"):
        sent[which(consultation_id)] += 1
    return sent


def run_claims(ids: list[int], claim: Callable[[int], bool], what: str) -> list[int]:
    """Claim and handle each id in its own unit of work (reminders, request reminders, expiry); a
    claim lost to another run, a database lock that timed out, or a failed mail delivery that left
    the session unusable is skipped: nothing was claimed here, so that run (or the next) does it.
    Returns the ids handled here."""
    commit_and_deliver()  # end the read transaction before the first write
    done = []
    for item_id in ids:
        try:
            claimed = claim(item_id)
            commit_and_deliver()
        except (IntegrityError, OperationalError, PendingRollbackError) as exc:
            rollback()
            log.warning("%s of consultation %s skipped (%s)", what, item_id, type(exc).__name__)
            continue
        if claimed:
            done.append(item_id)
            log.info("%s of consultation %s done", what, item_id)
    return done


def commit_and_deliver() -> None:
    """Commit (mail is delivered after it). A delivery that failed on a database error leaves its
    mail pending for `deliver-mail` — and must not leave this session unusable for the next one."""
    commit()
    if not db.session.is_active:
        db.session.rollback()


def _queue_reminder(consultation_id: int, which: str) -> None:
    consultation = db.session.scalar(
        select(Consultation).where(Consultation.id == consultation_id)
        .options(joinedload(Consultation.client), joinedload(Consultation.specialist))
    )
    assert consultation is not None
    lead = "within 24 hours" if which == "24h" else "within the hour"
    for r in recipients(consultation):
        _mail(consultation, r, "consultation_reminder.txt",
              f"Reminder: consultation with {r.other_name} starts {lead}",
              dedupe_key=f"reminder-{which}:{consultation.id}:{r.role}", lead=lead)


__all__ = [
    "balance_organizer", "build_ics_for", "calendar_event", "commit_and_deliver", "consultation_url", "format_label",
    "ics_attachment", "meeting_details",
    "notify_booked", "notify_cancelled", "notify_confirmed", "notify_rescheduled", "recipients",
    "run_claims", "send_reminders",
]
