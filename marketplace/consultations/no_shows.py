"""No-shows the other way round: the client reports that the specialist did not come.

From the start of a confirmed free consultation or paid session until ``NO_SHOW_REPORT_WINDOW``
after it, its client may report it once (``Consultation.can_report_no_show``). The consultation
becomes ``specialist_no_show`` — a released state, so the client's one free consultation with that
specialist is theirs again (``ONE_FREE_PER_PAIR_INDEX`` and ``client_standing`` skip it), and a
paid session's fee is refunded in full, as when the specialist cancels (the payments domain's
``on_specialist_no_show`` hook; the client is told the outcome) — a ``NoShowReport`` joins the
admin's queue, and the specialist is e-mailed once (after commit, by the outbox). Reports the
admin does not dismiss count against campaign eligibility (``reports_against``; the featured
domain's rule). A dismissed report does not take a refund back.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.orm import joinedload

from marketplace.audit import record_audit
from marketplace.auth.models import User
from marketplace.cache import bump_on_change
from marketplace.consultations.availability import calendar_changed
from marketplace.consultations.booking import release_blocks
from marketplace.consultations.follow_up import FOLLOW_UP_MAIL, first_name
from marketplace.consultations.hooks import booking_hooks
from marketplace.consultations.lifecycle import OUTCOME_NOTE_MAX_LENGTH, ConsultationError
from marketplace.consultations.models import (
    NO_SHOW_REPORT_WINDOW,
    Consultation,
    ConsultationKind,
    ConsultationState,
    NoShowReport,
)
from marketplace.consultations.notifications import recipients
from marketplace.database import execute_dml, utcnow
from marketplace.extensions import db
from marketplace.notifications.mail import send_composed_mail
from marketplace.specialists.models import SpecialistProfile

log = logging.getLogger(__name__)

# Reports that are not dismissed within this window, from this many on, make a specialist
# ineligible for the campaign (featured.services).
REPORTS_WINDOW = timedelta(days=90)
REPORTS_LIMIT = 2
SPECIALIST_MAIL_TEMPLATE = "consultation_specialist_no_show.txt"

NOT_YET = "You can report this once the consultation's start time has passed."
TOO_LATE = (f"Reports are possible for {NO_SHOW_REPORT_WINDOW.days} days after the consultation. "
            "If something went wrong, please contact us.")
CANNOT_REPORT = "This consultation cannot be reported as missed by the specialist."

# A new report (or a dismissal) changes who may be featured: the featured order and the pages
# showing it are stale in every process at once.
bump_on_change(NoShowReport, "featured", "directory")


def report_refusal(consultation: Consultation, user: User, now: datetime) -> str | None:
    """Why ``user`` may not report this consultation now (None: they may)."""
    if consultation.can_report_no_show(user, now):
        return None
    ongoing = consultation.is_client(user) and consultation.state is ConsultationState.CONFIRMED
    if ongoing and consultation.start_utc > now:
        return NOT_YET
    if ongoing:
        return TOO_LATE
    return CANNOT_REPORT


@dataclass(frozen=True)
class Reported:
    """A report made, and what the client is told of its consequences."""

    report: NoShowReport
    message: str


REPORT_THANKS = "Thank you for telling us. We are sorry the specialist did not come."
FREE_GIVEN_BACK = "Your free consultation with them is available again."


def report_specialist_no_show(consultation: Consultation, user: User, note: str | None = None, *,
                              now: datetime | None = None) -> Reported:
    """The client reports that the specialist did not come: the consultation is marked so (a
    free consultation given back, a paid session refunded by the payments hook), a report joins
    the admin's queue, the specialist is e-mailed. Once: the state moves from "confirmed" by one
    conditional UPDATE."""
    now = now or utcnow()
    refusal = report_refusal(consultation, user, now)
    if refusal is not None:
        raise ConsultationError(refusal)
    note = (note or "").strip() or None
    if note and len(note) > OUTCOME_NOTE_MAX_LENGTH:
        raise ConsultationError(f"Please keep the note under {OUTCOME_NOTE_MAX_LENGTH} characters.")
    claimed = execute_dml(
        update(Consultation)
        .where(Consultation.id == consultation.id, Consultation.state == ConsultationState.CONFIRMED)
        .values(state=ConsultationState.SPECIALIST_NO_SHOW, outcome_recorded_at=now,
                sequence=Consultation.sequence + 1)
        .execution_options(synchronize_session=False))
    db.session.refresh(consultation)
    if claimed.rowcount != 1:  # the specialist recorded it meanwhile, or a second click
        raise ConsultationError(CANNOT_REPORT)
    release_blocks(consultation)
    report = NoShowReport(consultation_id=consultation.id, specialist_id=consultation.specialist_id,
                          client_id=user.id, note=note, created_at=now)
    db.session.add(report)
    record_audit(user, "consultation.specialist_no_show", consultation,
                 before={"state": "confirmed"}, after={"state": ConsultationState.SPECIALIST_NO_SHOW.value})
    db.session.flush()
    said = booking_hooks.run_on_specialist_no_show(consultation, user, now)
    _notify_specialist(consultation)
    calendar_changed([consultation.specialist_id], blocks_only=True)
    log.info("consultation %s reported: the specialist did not come", consultation.id)
    told = [REPORT_THANKS, *([FREE_GIVEN_BACK] if consultation.kind is ConsultationKind.FREE else []), *said]
    return Reported(report, " ".join(told))


def _notify_specialist(consultation: Consultation) -> None:
    for r in recipients(consultation):
        if r.role == "specialist":
            send_composed_mail(r.user.email, f"{first_name(consultation.client)} reported that you missed "
                               "your consultation", FOLLOW_UP_MAIL,
                               dedupe_key=f"specialist-no-show:{consultation.id}", consultation_id=consultation.id,
                               user_id=r.user.id, template=SPECIALIST_MAIL_TEMPLATE)


# --- the admin's queue ----------------------------------------------------------------------------

QUEUE_FILTERS = {"open": "To review", "reviewed": "Reviewed", "all": "All"}
QUEUE_LIMIT = 200


def list_no_show_reports(show: str = "open", limit: int = QUEUE_LIMIT) -> list[NoShowReport]:
    """Reports for the admin, newest first, with what the queue shows (one query)."""
    stmt = (select(NoShowReport)
            .options(joinedload(NoShowReport.consultation), joinedload(NoShowReport.client),
                     joinedload(NoShowReport.specialist).joinedload(SpecialistProfile.user),
                     joinedload(NoShowReport.reviewed_by))
            .order_by(NoShowReport.created_at.desc(), NoShowReport.id.desc()).limit(limit))
    if show == "open":
        stmt = stmt.where(NoShowReport.reviewed_at.is_(None))
    elif show == "reviewed":
        stmt = stmt.where(NoShowReport.reviewed_at.is_not(None))
    return list(db.session.scalars(stmt))


def review_no_show_report(report: NoShowReport, admin: User, *, dismiss: bool = False,
                          now: datetime | None = None) -> None:
    """The admin marks a report reviewed; ``dismiss``: it proved wrong and no longer counts against
    the specialist's campaign eligibility (the client keeps their free consultation)."""
    if not report.can_review(admin):
        raise ConsultationError("Only admins review reports.")
    report.reviewed_at = now or utcnow()
    report.reviewed_by_id = admin.id
    report.dismissed = dismiss
    record_audit(admin, "no_show_report.reviewed", report, after={"dismissed": dismiss})
    db.session.flush()


# --- campaign eligibility (read by the featured domain) ----------------------------------------------

def _counted(now: datetime) -> ColumnElement[bool]:
    return (NoShowReport.created_at >= now - REPORTS_WINDOW) & NoShowReport.dismissed.is_(False)


def repeatedly_reported_ids(now: datetime | None = None) -> Select[int]:
    """A SELECT of the profile ids with ``REPORTS_LIMIT`` or more reports (not dismissed) in the
    last ``REPORTS_WINDOW``: for a SQL condition (``id NOT IN (…)``)."""
    return (select(NoShowReport.specialist_id).where(_counted(now or utcnow()))
            .group_by(NoShowReport.specialist_id).having(func.count(NoShowReport.id) >= REPORTS_LIMIT))


def reports_against(profile_ids: Iterable[int], now: datetime | None = None) -> frozenset[int]:
    """Which of ``profile_ids`` have ``REPORTS_LIMIT`` or more counted reports (one query)."""
    ids = list(profile_ids)
    if not ids:
        return frozenset()
    stmt = repeatedly_reported_ids(now).where(NoShowReport.specialist_id.in_(ids))
    return frozenset(db.session.scalars(stmt))


__all__ = [
    "CANNOT_REPORT", "NOT_YET", "QUEUE_FILTERS", "REPORTS_LIMIT", "REPORTS_WINDOW", "TOO_LATE", "Reported",
    "list_no_show_reports", "report_refusal", "report_specialist_no_show", "reports_against",
    "repeatedly_reported_ids", "review_no_show_report",
]
