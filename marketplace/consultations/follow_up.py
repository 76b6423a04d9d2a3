"""Requests never go unanswered (issue 13, item 5).

* A free consultation requested from a specialist who does not confirm automatically carries a
  deadline, fixed at booking (``SchedulingSettings.confirm_deadline``: the specialist's
  ``confirm_within_hours`` after it was made — 48 by default — or their minimum notice before the
  start, whichever comes first).
* Unanswered for 12 hours, the specialist gets ONE reminder (``send_request_reminders``).
* Not confirmed by the deadline, the request expires (``expire_requests``): its blocks are
  released and the availability refreshed (``calendar_changed``), so the time is bookable again; the
  client gets ONE e-mail with that specialist's next free times and three similar specialists'
  soonest ones, and keeps their free consultation with that specialist (an expired one does not
  count); the specialist gets a short notice.
* An outcome ("proceed" / "not a fit") or a no-show recorded by the specialist is e-mailed to the
  client once, with the specialist's note and similar specialists.

Exactly once with any number of workers: each reminder and each expiry is claimed by one
conditional UPDATE (the pattern of ``notifications._claim_reminder``) in the transaction that
queues its mail. Every mail here is written by the worker on delivery (``FOLLOW_UP_MAIL``), in the
recipient's time zone, zone named. Both sweeps take ``now`` so tests can move the clock.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import joinedload

from marketplace.audit import record_audit
from marketplace.auth.models import User
from marketplace.consultations.availability import bookable_slots, calendar_changed, offers_booking
from marketplace.consultations.booking import release_blocks
from marketplace.consultations.models import (
    CONFIRM_WITHIN_HOURS_DEFAULT,
    Consultation,
    ConsultationKind,
    ConsultationOutcome,
    ConsultationState,
    SchedulingSettings,
)
from marketplace.consultations.notifications import (
    consultation_url,
    format_label,
    ics_attachment,
    recipients,
    run_claims,
)
from marketplace.consultations.suggestions import similar_specialists, soonest_slots
from marketplace.database import execute_dml, utcnow
from marketplace.extensions import db
from marketplace.jobs import jobs
from marketplace.notifications.mail import Attachment, NothingToSay, mail_composer, render_mail, send_composed_mail
from marketplace.notifications.models import MailStatus, OutboxMail
from marketplace.specialists.models import SpecialistProfile
from marketplace.timeutil import format_datetime, user_zone

log = logging.getLogger(__name__)

REQUEST_REMINDER_AFTER = timedelta(hours=12)
FREE_TIMES_IN_MAIL = 5  # the specialist's next free times in the expiry mail
SUGGESTION_TIMES_IN_MAIL = 3  # each similar specialist's soonest free times
FOLLOW_UP_MAIL = "consultation_follow_up"
REMINDER_TEMPLATE = "consultation_request_reminder.txt"
OUTCOME_TEMPLATE = "consultation_outcome.txt"
CORRECTION_TEMPLATE = "consultation_correction.txt"
# A request made before deadlines were stored: the default rule (48 h, or 12 h before the start).
_LEGACY_WINDOW = timedelta(hours=CONFIRM_WITHIN_HOURS_DEFAULT)
_LEGACY_NOTICE = timedelta(minutes=int(SchedulingSettings.DEFAULTS["min_notice_minutes"] or 0))


def first_name(user: User | None) -> str:
    name = (user.display_name or "").strip() if user is not None else ""
    return name.split()[0] if name else "A client"


# --- which requests are due ---------------------------------------------------------------------

def _waiting() -> Any:
    return and_(Consultation.state == ConsultationState.REQUESTED, Consultation.kind == ConsultationKind.FREE)


def _past_deadline(now: datetime) -> Any:
    return or_(Consultation.confirm_by_utc <= now,
               and_(Consultation.confirm_by_utc.is_(None),
                    or_(Consultation.created_at <= now - _LEGACY_WINDOW,
                        Consultation.start_utc <= now + _LEGACY_NOTICE)))


def _before_deadline(now: datetime) -> Any:
    return or_(Consultation.confirm_by_utc > now,
               and_(Consultation.confirm_by_utc.is_(None),
                    Consultation.created_at > now - _LEGACY_WINDOW,
                    Consultation.start_utc > now + _LEGACY_NOTICE))


def _load(consultation_id: int) -> Consultation | None:
    return db.session.scalar(
        select(Consultation).where(Consultation.id == consultation_id)
        .options(joinedload(Consultation.client), joinedload(Consultation.specialist).joinedload(SpecialistProfile.user))
        .execution_options(populate_existing=True))


# --- the 12-hour reminder -------------------------------------------------------------------------

def _claim_request_reminder(consultation_id: int, now: datetime) -> bool:
    """Mark the reminder as sent, if nobody did and the request still waits: True for exactly one caller."""
    result = execute_dml(
        update(Consultation)
        .where(Consultation.id == consultation_id, Consultation.request_reminder_sent_at.is_(None), _waiting(),
               _before_deadline(now))
        .values(request_reminder_sent_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _remind(consultation_id: int, now: datetime) -> bool:
    if not _claim_request_reminder(consultation_id, now):
        return False
    consultation = _load(consultation_id)
    assert consultation is not None
    for r in recipients(consultation):
        if r.role == "specialist":
            send_composed_mail(
                r.user.email, f"Reminder: {first_name(consultation.client)} is waiting for you to confirm",
                FOLLOW_UP_MAIL, dedupe_key=f"request-reminder:{consultation.id}", consultation_id=consultation.id,
                user_id=r.user.id, template=REMINDER_TEMPLATE)
    return True


def send_request_reminders(now: datetime | None = None) -> int:
    """Remind specialists of requests unanswered for 12 hours (still before their deadline and
    start), each once. Returns how many were sent."""
    now = now or utcnow()
    ids = list(db.session.scalars(
        select(Consultation.id).where(
            _waiting(), Consultation.request_reminder_sent_at.is_(None),
            Consultation.created_at <= now - REQUEST_REMINDER_AFTER, Consultation.start_utc > now,
            _before_deadline(now),
        ).order_by(Consultation.created_at)))
    return len(run_claims(ids, lambda cid: _remind(cid, now), "request reminder"))


@jobs.periodic(minute="*")
def send_due_request_reminders() -> int:
    """Job, every minute: ``send_request_reminders``."""
    return send_request_reminders()


# --- expiry ---------------------------------------------------------------------------------------

def _claim_expiry(consultation_id: int, now: datetime) -> bool:
    """requested → expired, if it still waits and its deadline passed: True for exactly one caller."""
    result = execute_dml(
        update(Consultation)
        .where(Consultation.id == consultation_id, _waiting(), _past_deadline(now))
        .values(state=ConsultationState.EXPIRED, updated_at=now, sequence=Consultation.sequence + 1)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def expire_request(consultation_id: int, now: datetime) -> bool:
    """Expire one request if it still waits and its deadline passed (in the current transaction:
    the caller commits); False when it does not, or another run took it."""
    if not _claim_expiry(consultation_id, now):
        return False
    consultation = _load(consultation_id)
    assert consultation is not None
    release_blocks(consultation)
    calendar_changed([consultation.specialist_id], blocks_only=True)  # refreshed after commit: the time is bookable again
    record_audit(None, "consultation.expired", consultation, before={"state": "requested"},
                 after={"state": "expired"})
    notify_expired(consultation)
    return True


def expire_requests(now: datetime | None = None) -> int:
    """Expire the requests not confirmed by their deadline, each once. Returns how many."""
    now = now or utcnow()
    ids = list(db.session.scalars(
        select(Consultation.id).where(_waiting(), _past_deadline(now)).order_by(Consultation.start_utc)))
    return len(run_claims(ids, lambda cid: expire_request(cid, now), "expiry"))


@jobs.periodic(minute="*")
def expire_due_requests() -> int:
    """Job, every minute: ``expire_requests``."""
    return expire_requests()


# --- the mails ------------------------------------------------------------------------------------

def notify_expired(consultation: Consultation) -> None:
    """To the client: the request expired, with times to book (theirs and similar specialists');
    to the specialist: a short notice."""
    for r in recipients(consultation):
        if r.role == "client":
            subject = f"{r.other_name} did not confirm in time — your free consultation is still available"
            extra: dict[str, Any] = {"free_times": True, "suggestions": True}
        else:
            subject = f"Expired: the request from {first_name(consultation.client)} was not confirmed in time"
            extra = {}
        send_composed_mail(r.user.email, subject, FOLLOW_UP_MAIL, dedupe_key=f"expired:{consultation.id}:{r.role}",
                           consultation_id=consultation.id, user_id=r.user.id, template="consultation_expired.txt",
                           cancel_ics=True, **extra)


def _stamp(consultation: Consultation) -> str:
    """Which recording a mail is about (a corrected record is recorded again, and mailed again)."""
    at = consultation.outcome_recorded_at
    return at.strftime("%Y%m%dT%H%M%S%f") if at is not None else "legacy"


def recorded_mail_key(consultation: Consultation) -> str | None:
    """The dedupe key of the mail that told the client about the current no-show or outcome (None
    when there was none: a plain "completed" is not mailed)."""
    if consultation.state is ConsultationState.NO_SHOW:
        return f"no-show:{consultation.id}:{_stamp(consultation)}"
    if consultation.outcome is not None:
        return f"outcome:{consultation.id}:{_stamp(consultation)}"
    return None


def notify_outcome(consultation: Consultation) -> None:
    """To the client, once: the outcome the specialist recorded, their note, and for "not a fit"
    similar specialists."""
    not_a_fit = consultation.outcome is ConsultationOutcome.NOT_A_FIT
    _to_client(consultation, recorded_mail_key(consultation) or "",
               f"{consultation.specialist.display_name} shared the outcome of your free consultation",
               suggestions=not_a_fit)


def notify_no_show(consultation: Consultation) -> None:
    """To the client, once: the specialist recorded that they did not come (with the note, and
    similar specialists)."""
    _to_client(consultation, recorded_mail_key(consultation) or "",
               f"{consultation.specialist.display_name} recorded that you missed your consultation",
               suggestions=True)


def notify_correction(consultation: Consultation, first_mail: str) -> None:
    """To the client, once per undone record: the specialist corrected what we e-mailed them
    (``first_mail``, the dedupe key of that mail). Written on delivery; dropped if that mail was
    never sent (it is dropped itself once the record is gone)."""
    for r in recipients(consultation):
        if r.role == "client":
            send_composed_mail(r.user.email, f"Correction from {consultation.specialist.display_name} "
                               "about your consultation", FOLLOW_UP_MAIL, dedupe_key=f"correction:{first_mail}",
                               consultation_id=consultation.id, user_id=r.user.id, template=CORRECTION_TEMPLATE,
                               about=first_mail)


def _to_client(consultation: Consultation, dedupe_key: str, subject: str, *, suggestions: bool) -> None:
    for r in recipients(consultation):
        if r.role == "client":
            send_composed_mail(r.user.email, subject, FOLLOW_UP_MAIL, dedupe_key=dedupe_key,
                               consultation_id=consultation.id, user_id=r.user.id,
                               template="consultation_outcome.txt", suggestions=suggestions, about=dedupe_key)


@mail_composer(FOLLOW_UP_MAIL)
def compose_follow_up_mail(consultation_id: int, user_id: int, template: str, *, free_times: bool = False,
                           suggestions: bool = False, cancel_ics: bool = False,
                           about: str | None = None) -> tuple[str, list[Attachment]]:
    """A request reminder, expiry, outcome or no-show mail to one participant, written on delivery
    in their time zone (named)."""
    consultation = _load(consultation_id)
    recipient = next((r for r in recipients(consultation) if r.user.id == user_id), None) if consultation else None
    if consultation is None or recipient is None:
        raise NothingToSay(f"consultation {consultation_id} or its participant {user_id} is gone")
    if template == REMINDER_TEMPLATE and consultation.state is not ConsultationState.REQUESTED:
        raise NothingToSay(f"consultation {consultation_id} no longer waits for confirmation")
    if template == OUTCOME_TEMPLATE and about is not None and recorded_mail_key(consultation) != about:
        raise NothingToSay(f"the record of consultation {consultation_id} was corrected before this mail went")
    corrected = ""
    if template == CORRECTION_TEMPLATE:
        first = db.session.scalar(select(OutboxMail.status).where(OutboxMail.dedupe_key == about))
        if first is not MailStatus.SENT:
            raise NothingToSay(f"the mail corrected for consultation {consultation_id} was never sent")
        corrected = "no-show" if (about or "").startswith("no-show:") else "outcome"
    tz = user_zone(recipient.user)
    now = utcnow()
    profile = consultation.specialist
    base = consultation_url(consultation).rsplit("/consultations/", 1)[0]
    context: dict[str, Any] = {
        "consultation": consultation, "recipient": recipient.user, "role": recipient.role,
        "other_name": recipient.other_name, "client_first_name": first_name(consultation.client),
        "specialist_name": profile.display_name, "when": format_datetime(consultation.start_utc, tz),
        "deadline": format_datetime(consultation.confirm_deadline, tz), "tz": tz,
        "format_label": format_label(consultation.format), "url": consultation_url(consultation),
        "profile_url": f"{base}/specialists/{profile.slug}", "book_url": f"{base}/specialists/{profile.slug}/book",
        "offers_booking": offers_booking(profile), "free_times": [], "suggestions": [],
        "start_passed": consultation.start_utc <= now,  # (a request expired late: the sweep was down)
        "corrected": corrected,
    }
    if free_times:
        # The snapshot, if it was computed after the expiry released the time (else computed now).
        slots = bookable_slots(profile, now, changed_at=consultation.updated_at)[:FREE_TIMES_IN_MAIL]
        context["free_times"] = [format_datetime(s, tz) for s in slots]
    if suggestions:
        others = similar_specialists(profile.id, client_id=consultation.client_id)
        times = soonest_slots(others, SUGGESTION_TIMES_IN_MAIL, now)
        context["suggestions"] = [
            {"name": p.display_name, "title": p.title, "url": f"{base}/specialists/{p.slug}",
             "specialties": ", ".join(s.label for s in p.specialties),
             "times": [format_datetime(s, tz) for s in times[p.id]]}
            for p in others]
    body = render_mail(f"email/{template}", **context)
    attachments = [ics_attachment(consultation, recipient, cancel=True)] if cancel_ics else []
    return body, attachments


__all__ = [
    "FOLLOW_UP_MAIL", "REQUEST_REMINDER_AFTER", "expire_due_requests", "expire_request", "expire_requests",
    "notify_correction", "notify_expired", "notify_no_show", "notify_outcome", "recorded_mail_key",
    "send_due_request_reminders", "send_request_reminders",
]
