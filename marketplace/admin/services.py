"""The admin area: read-only numbers (dashboard counts, the audit log, marketplace statistics:
every one a fixed number of queries whatever the data size), and the admin actions that span
domains (revoking a verification and, by the admin's choice, cancelling what was booked).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from marketplace.audit import AuditEntry
from marketplace.auth.models import Role, User
from marketplace.consultations.models import Consultation, ConsultationKind, ConsultationOutcome, ConsultationState
from marketplace.consultations.services import cancel_consultation, upcoming_with_specialist
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.pagination import Page, paginate
from marketplace.payments.models import Payment
from marketplace.questions.models import Answer, Question
from marketplace.specialists.models import SpecialistProfile, VerificationStatus
from marketplace.specialists.services import revoke_licence

AUDIT_PER_PAGE = 50
SIGNUP_WEEKS = 12


def _value(x: Any) -> str:
    """An enum member or plain value as its stored string."""
    return str(getattr(x, "value", x)) if x is not None else ""


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


# --- dashboard ------------------------------------------------------------------------------

@dataclass
class Funnel:
    """Free consultation held → "proceed" outcome → paid session."""

    held: int = 0
    proceed: int = 0
    paid: int = 0

    @staticmethod
    def rate(part: int, whole: int) -> str:
        return f"{round(100 * part / whole)}%" if whole else "–"


@dataclass
class Dashboard:
    specialists: list[dict[str, Any]] = field(default_factory=list)  # per verification status
    specialists_total: int = 0
    published_total: int = 0
    consultations_this_week: int = 0
    funnel: Funnel = field(default_factory=Funnel)


def specialists_by_status() -> tuple[list[dict[str, Any]], int, int]:
    """Per verification status: published, unpublished and total profiles (one query)."""
    counts = {(_value(status), bool(published)): n for status, published, n in db.session.execute(
        select(SpecialistProfile.verification_status, SpecialistProfile.is_published, func.count())
        .group_by(SpecialistProfile.verification_status, SpecialistProfile.is_published)
    )}
    rows: list[dict[str, Any]] = []
    for status in VerificationStatus:
        published, unpublished = counts.get((status.value, True), 0), counts.get((status.value, False), 0)
        rows.append({"status": status.value, "published": published, "unpublished": unpublished,
                     "total": published + unpublished})
    return rows, sum(r["total"] for r in rows), sum(r["published"] for r in rows)


def consultation_counts() -> tuple[dict[str, int], dict[str, int]]:
    """(count per state, count per outcome) of free consultations (two grouped queries)."""
    free = Consultation.kind == ConsultationKind.FREE
    by_state = {_value(s): n for s, n in db.session.execute(
        select(Consultation.state, func.count()).where(free).group_by(Consultation.state))}
    by_outcome = {_value(o): n for o, n in db.session.execute(
        select(Consultation.outcome, func.count()).where(free, Consultation.outcome.is_not(None))
        .group_by(Consultation.outcome))}
    return by_state, by_outcome


def consultations_booked_since(since: datetime) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Consultation)
        .where(Consultation.kind == ConsultationKind.FREE, Consultation.created_at >= since)
    ) or 0


def paid_conversions() -> int:
    """Free consultations with outcome "proceed" after which the client paid for a session
    with that specialist (one query; 0 while payments are not enabled)."""
    paid = aliased(Consultation)
    paid_after = (
        select(Payment.id).join(paid, paid.id == Payment.consultation_id)
        .where(paid.client_id == Consultation.client_id, paid.specialist_id == Consultation.specialist_id,
               paid.kind == ConsultationKind.PAID, Payment.paid_at.is_not(None))
        .exists()
    )
    return db.session.scalar(
        select(func.count()).select_from(Consultation)
        .where(Consultation.kind == ConsultationKind.FREE,
               Consultation.outcome == ConsultationOutcome.PROCEED, paid_after)
    ) or 0


def admin_dashboard() -> Dashboard:
    """Counts for /admin: specialists by status, consultations this week, the conversion funnel."""
    rows, total, published = specialists_by_status()
    board = Dashboard(rows, total, published)
    board.consultations_this_week = consultations_booked_since(utcnow() - timedelta(days=7))
    by_state, by_outcome = consultation_counts()
    board.funnel = Funnel(by_state.get(ConsultationState.COMPLETED.value, 0),
                          by_outcome.get(ConsultationOutcome.PROCEED.value, 0), paid_conversions())
    return board


# --- audit log ------------------------------------------------------------------------------

@dataclass
class AuditFilters:
    action: str = ""
    actor: str = ""  # part of the actor's e-mail or name, or "#<id>"
    date_from: date | None = None  # inclusive, UTC
    date_to: date | None = None  # inclusive, UTC

    def as_params(self) -> dict[str, str]:
        params = {"action": self.action, "actor": self.actor,
                  "date_from": self.date_from.isoformat() if self.date_from else "",
                  "date_to": self.date_to.isoformat() if self.date_to else ""}
        return {k: v for k, v in params.items() if v}


def audit_actions() -> list[str]:
    """Distinct audited action names, for the filter's choices."""
    return list(db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def search_audit_log(filters: AuditFilters, page: Any) -> Page:
    """Audit entries matching ``filters``, newest first, one page (two queries; actors joined)."""
    stmt = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.actor:
        stmt = stmt.where(_actor_condition(filters.actor.strip()))
    if filters.date_from:
        stmt = stmt.where(AuditEntry.created_at >= _utc_midnight(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(AuditEntry.created_at < _utc_midnight(filters.date_to + timedelta(days=1)))
    return paginate(stmt, page, per_page=AUDIT_PER_PAGE)


def _actor_condition(actor: str) -> Any:
    if actor.startswith("#") and actor[1:].isdigit():
        return AuditEntry.actor_id == int(actor[1:])
    needle = actor.lower()
    matching = select(User.id).where(or_(
        User.email.contains(needle, autoescape=True),
        func.lower(User.display_name).contains(needle, autoescape=True),
    ))
    return AuditEntry.actor_id.in_(matching)


# --- marketplace statistics -----------------------------------------------------------------

@dataclass
class MarketplaceStats:
    weeks: list[date]  # Mondays, oldest first
    signups: dict[str, list[int]]  # role → count per week
    consultations_by_state: dict[str, int]
    outcomes: dict[str, int]
    questions: int
    answers: int


def week_starts(today: date, weeks: int = SIGNUP_WEEKS) -> list[date]:
    """The Mondays of the last ``weeks`` weeks including the current one, oldest first."""
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=n) for n in reversed(range(weeks))]


def signups_per_week(weeks: list[date]) -> dict[str, list[int]]:
    """New accounts per role and week (one query: a CASE column per week)."""
    bounds = [(_utc_midnight(w), _utc_midnight(w + timedelta(days=7))) for w in weeks]
    columns = [func.sum(case((and_(User.created_at >= a, User.created_at < b), 1), else_=0)) for a, b in bounds]
    result = {role.value: [0] * len(weeks) for role in Role}
    for role, *counts in db.session.execute(
        select(User.role, *columns).where(User.created_at >= bounds[0][0]).group_by(User.role)
    ):
        result[_value(role)] = [int(c or 0) for c in counts]
    return result


def questions_and_answers() -> tuple[int, int]:
    """Numbers of questions and answers, hidden ones included (one query)."""
    questions = select(func.count()).select_from(Question).scalar_subquery()
    answers = select(func.count()).select_from(Answer).scalar_subquery()
    n_questions, n_answers = db.session.execute(select(questions, answers)).one()
    return n_questions, n_answers


def marketplace_stats(today: date | None = None) -> MarketplaceStats:
    """Signups per week, consultations by state, outcomes, questions and answers (≤ 5 queries)."""
    weeks = week_starts(today or utcnow().date())
    by_state, by_outcome = consultation_counts()
    questions, answers = questions_and_answers()
    return MarketplaceStats(
        weeks=weeks,
        signups=signups_per_week(weeks),
        consultations_by_state=by_state,
        outcomes=by_outcome,
        questions=questions,
        answers=answers,
    )


# --- revoking a verification ------------------------------------------------------------------

REVOKED_NOTICE = "We can no longer confirm this specialist's licence."


@dataclass(frozen=True)
class Revocation:
    profile: SpecialistProfile
    cancelled: int  # upcoming consultations cancelled, each client told once
    kept: int  # upcoming consultations left as they are


def revoke_verification(admin: User, profile_id: int, reason: str, *, cancel_upcoming: bool) -> Revocation:
    """Withdraw a specialist's verification: out of the directory and booking at once (audit-logged,
    the specialist told why); their upcoming consultations are kept, or cancelled with a notice to
    each client (and the specialist) saying Balance cancelled it. One unit of work."""
    profile = revoke_licence(admin, profile_id, reason)
    upcoming = upcoming_with_specialist(profile.id)
    if cancel_upcoming:
        for consultation in upcoming:
            cancel_consultation(consultation, admin, REVOKED_NOTICE, by_balance=True)
        return Revocation(profile, cancelled=len(upcoming), kept=0)
    return Revocation(profile, cancelled=0, kept=len(upcoming))
