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
from marketplace.charts import LineChart, Series, line_chart
from marketplace.consultations.models import Consultation, ConsultationKind, ConsultationOutcome, ConsultationState
from marketplace.consultations.services import cancel_consultation, upcoming_with_specialist
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.featured.models import CampaignStat
from marketplace.featured.services import CAMPAIGN_SOURCE
from marketplace.pagination import Page, paginate
from marketplace.payments.models import Payment
from marketplace.questions.models import Answer, Question
from marketplace.specialists.models import SpecialistProfile, VerificationStatus
from marketplace.specialists.services import revoke_licence
from marketplace.weeks import Weeks, monday_of, week_labels

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
    trends: MarketplaceTrends
    consultations_by_state: dict[str, int]
    outcomes: dict[str, int]
    questions: int
    answers: int

    @property
    def charts(self) -> list[LineChart]:
        return trend_charts(self.trends, self.signups)


def week_starts(today: date, weeks: int = SIGNUP_WEEKS) -> list[date]:
    """The Mondays of the last ``weeks`` weeks including the current one, oldest first."""
    this_monday = monday_of(today)
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


@dataclass
class MarketplaceTrends:
    """The marketplace week by week (Mondays, UTC), one list per measure, oldest week first."""

    weeks: Weeks
    booked: list[int]  # free consultations asked for that week (a moved booking counts once)
    completed: list[int]  # free consultations held that week and completed
    proceed: list[int]  # … with the outcome "proceed"
    not_a_fit: list[int]  # … with the outcome "not a fit"
    impressions: list[int]  # featured cards shown (campaign placements)
    campaign_views: list[int]  # profile views from campaign placements
    campaign_bookings: list[int]  # free consultations booked from campaign placements

    @property
    def conversion(self) -> list[int | None]:
        """Percent of the week's decided outcomes that were "proceed" (None: nothing decided)."""
        return [round(100 * p / (p + n)) if p + n else None for p, n in zip(self.proceed, self.not_a_fit, strict=True)]


def marketplace_trends(weeks: Weeks) -> MarketplaceTrends:
    """Consultations, conversion and the campaign per week: three grouped queries, whatever the
    number of weeks (a CASE puts each row into its week)."""
    trends = MarketplaceTrends(weeks, *(weeks.empty() for _ in range(7)))
    free = Consultation.kind == ConsultationKind.FREE
    asked = weeks.index_of(Consultation.created_at)
    for index, source, count in db.session.execute(
        select(asked, Consultation.source, func.count()).where(
            free, Consultation.rescheduled_from_id.is_(None),
            Consultation.created_at >= weeks.start_utc, Consultation.created_at < weeks.end_utc)
        .group_by(asked, Consultation.source)
    ):
        if index >= 0:
            trends.booked[index] += count
            if source == CAMPAIGN_SOURCE:
                trends.campaign_bookings[index] += count
    held = weeks.index_of(Consultation.start_utc)
    for index, state, outcome, count in db.session.execute(
        select(held, Consultation.state, Consultation.outcome, func.count()).where(
            free, Consultation.start_utc >= weeks.start_utc, Consultation.start_utc < weeks.end_utc)
        .group_by(held, Consultation.state, Consultation.outcome)
    ):
        if index < 0:
            continue
        if state is ConsultationState.COMPLETED:
            trends.completed[index] += count
        if outcome is ConsultationOutcome.PROCEED:
            trends.proceed[index] += count
        elif outcome is ConsultationOutcome.NOT_A_FIT:
            trends.not_a_fit[index] += count
    for day, impressions, views in db.session.execute(
        select(CampaignStat.day, func.sum(CampaignStat.impressions), func.sum(CampaignStat.profile_views))
        .where(CampaignStat.day >= weeks.mondays[0], CampaignStat.day < weeks.mondays[-1] + timedelta(weeks=1))
        .group_by(CampaignStat.day)
    ):
        index = weeks.index_of_day(day)
        if index >= 0:
            trends.impressions[index] += int(impressions or 0)
            trends.campaign_views[index] += int(views or 0)
    return trends


def trend_charts(trends: MarketplaceTrends, signups: dict[str, list[int]]) -> list[LineChart]:
    """The admin's trend charts: sign-ups, consultations, conversion, the campaign."""
    labels, short = week_labels(trends.weeks)
    span = f"over the last {len(trends.weeks)} weeks (weeks start on Monday, UTC)"

    def chart(id: str, title: str, what: str, series: list[Series], unit: str = "") -> LineChart:
        totals = "; ".join(f"{s.label.lower()}: {sum(v for v in s.values if v is not None)}" for s in series
                           if not unit)
        description = f"{what} {span}." + (f" In total — {totals}." if totals else "")
        return line_chart(id, title, description, labels, series, unit=unit, axis_labels=short)

    return [
        chart("signups", "Sign-ups per week", "New accounts per week, by role",
              [Series(role, f"{role.capitalize()}s", counts) for role, counts in signups.items()]),
        chart("consultations", "Free consultations per week",
              "Free consultations asked for per week, and those held that week that were completed or led to "
              "“proceed”", [Series("booked", "Booked", trends.booked),
                            Series("completed", "Completed", trends.completed),
                            Series("proceed", "Proceed", trends.proceed)]),
        chart("conversion", "Conversion per week",
              "Of the free consultations held each week with an outcome recorded, the percentage that led to "
              "“proceed” (no point where nothing was recorded)",
              [Series("conversion", "Proceed rate", trends.conversion)], unit="%"),
        chart("campaign-reach", "Campaign: impressions and profile views",
              "Featured cards shown and profile views from campaign placements per week",
              [Series("impressions", "Impressions", trends.impressions),
               Series("campaign_views", "Profile views", trends.campaign_views)]),
        chart("campaign-bookings", "Campaign: bookings", "Free consultations booked from campaign placements per week",
              [Series("campaign_bookings", "Bookings from the campaign", trends.campaign_bookings)]),
    ]


def marketplace_stats(today: date | None = None, weeks_shown: int = SIGNUP_WEEKS) -> MarketplaceStats:
    """Signups and trends per week, consultations by state, outcomes, questions and answers
    (≤ 7 queries whatever the period)."""
    weeks = week_starts(today or utcnow().date(), weeks_shown)
    by_state, by_outcome = consultation_counts()
    questions, answers = questions_and_answers()
    return MarketplaceStats(
        weeks=weeks,
        signups=signups_per_week(weeks),
        trends=marketplace_trends(Weeks(tuple(weeks), "UTC")),
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
