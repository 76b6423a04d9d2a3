"""A specialist's own consultation statistics (/specialists/me/stats)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from marketplace.charts import LineChart, Series, line_chart
from marketplace.consultations.models import (
    Consultation,
    ConsultationKind,
    ConsultationOutcome,
    ConsultationState,
)
from marketplace.extensions import db
from marketplace.specialists.profile_views import weekly_profile_views
from marketplace.weeks import Weeks, week_labels

PAID_COUNTED = (ConsultationState.CONFIRMED, ConsultationState.COMPLETED, ConsultationState.NO_SHOW)


@dataclass
class SpecialistStats:
    booked: int = 0  # free consultations ever booked (any state; a booking moved to another time counts once)
    upcoming: int = 0  # requested or confirmed
    completed: int = 0
    no_shows: int = 0
    cancelled: int = 0  # cancelled by either side (not moved to another time)
    rescheduled: int = 0  # moved by the client to another time (the new booking is counted on its own)
    expired: int = 0  # requests not confirmed in time
    proceed: int = 0
    not_a_fit: int = 0
    from_campaign: int = 0
    paid_sessions: int = 0  # paid consultations (0 until payments exist)
    paid_clients: int = 0  # distinct clients who went on to a paid session

    @property
    def proceed_rate(self) -> int | None:
        decided = self.proceed + self.not_a_fit
        return round(100 * self.proceed / decided) if decided else None

    @property
    def paid_conversion(self) -> int | None:
        """Share of "proceed" outcomes that led to at least one paid session (percent)."""
        return round(100 * min(self.paid_clients, self.proceed) / self.proceed) if self.proceed else None


def specialist_stats(profile_id: int) -> SpecialistStats:
    """Counts by state and outcome in two grouped queries.

    A booking the client rescheduled is cancelled and replaced by a new one (``rescheduled_from_id``):
    it is counted as rescheduled, not as cancelled nor booked again (its replacement is the booking).
    """
    stats = SpecialistStats()
    replacement = aliased(Consultation)
    moved = replacement.id.is_not(None)
    rows = db.session.execute(
        select(Consultation.kind, Consultation.state, Consultation.outcome, Consultation.source, moved, func.count())
        .outerjoin(replacement, replacement.rescheduled_from_id == Consultation.id)
        .where(Consultation.specialist_id == profile_id)
        .group_by(Consultation.kind, Consultation.state, Consultation.outcome, Consultation.source, moved)
    )
    for kind, state, outcome, source, was_moved, count in rows:
        campaign = source == "campaign"
        if kind is ConsultationKind.PAID:
            if state in PAID_COUNTED:
                stats.paid_sessions += count
            continue
        if was_moved and state is ConsultationState.CANCELLED:
            stats.rescheduled += count
            continue
        stats.booked += count
        if campaign:
            stats.from_campaign += count
        if state in (ConsultationState.REQUESTED, ConsultationState.CONFIRMED):
            stats.upcoming += count
        elif state is ConsultationState.COMPLETED:
            stats.completed += count
        elif state is ConsultationState.NO_SHOW:
            stats.no_shows += count
        elif state is ConsultationState.CANCELLED:
            stats.cancelled += count
        elif state is ConsultationState.EXPIRED:
            stats.expired += count
        if outcome is ConsultationOutcome.PROCEED:
            stats.proceed += count
        elif outcome is ConsultationOutcome.NOT_A_FIT:
            stats.not_a_fit += count
    stats.paid_clients = db.session.scalar(
        select(func.count(func.distinct(Consultation.client_id))).where(
            Consultation.specialist_id == profile_id, Consultation.kind == ConsultationKind.PAID,
            Consultation.state.in_(PAID_COUNTED))
    ) or 0
    return stats


# --- the funnel by week (/specialists/me/stats?weeks=N) -----------------------------------------

FUNNEL_STAGES = (  # (key, label), in funnel order
    ("views", "Profile views"),
    ("requests", "Requests"),
    ("completed", "Completed"),
    ("proceed", "Proceed"),
    ("paid", "Paid sessions"),
)


@dataclass
class WeeklyFunnel:
    """The specialist's funnel per week of ``weeks`` (Mondays in their zone), one list per stage.

    * views: profile views counted that week (a UTC week: the count is made before a zone is known);
    * requests: free consultations asked for that week (a moved booking counts once, when first asked);
    * completed / proceed: free consultations held that week, completed / with the outcome "proceed";
    * paid: paid sessions held (or confirmed to be held) that week.
    """

    weeks: Weeks
    stages: dict[str, list[int]] = field(default_factory=dict)

    def total(self, stage: str) -> int:
        return sum(self.stages[stage])


def weekly_funnel(profile_id: int, weeks: Weeks) -> WeeklyFunnel:
    """Counts per week and stage in three grouped queries, whatever the number of weeks."""
    funnel = WeeklyFunnel(weeks, {key: weeks.empty() for key, _ in FUNNEL_STAGES})
    funnel.stages["views"] = weekly_profile_views(profile_id, weeks)
    mine = Consultation.specialist_id == profile_id
    asked = weeks.index_of(Consultation.created_at)
    for index, count in db.session.execute(
        select(asked, func.count()).where(
            mine, Consultation.kind == ConsultationKind.FREE, Consultation.rescheduled_from_id.is_(None),
            Consultation.created_at >= weeks.start_utc, Consultation.created_at < weeks.end_utc)
        .group_by(asked)
    ):
        if index >= 0:
            funnel.stages["requests"][index] += count
    held = weeks.index_of(Consultation.start_utc)
    for index, kind, state, outcome, count in db.session.execute(
        select(held, Consultation.kind, Consultation.state, Consultation.outcome, func.count()).where(
            mine, Consultation.start_utc >= weeks.start_utc, Consultation.start_utc < weeks.end_utc)
        .group_by(held, Consultation.kind, Consultation.state, Consultation.outcome)
    ):
        if index < 0:
            continue
        if kind is ConsultationKind.PAID:
            if state in PAID_COUNTED:
                funnel.stages["paid"][index] += count
            continue
        if state is ConsultationState.COMPLETED:
            funnel.stages["completed"][index] += count
        if outcome is ConsultationOutcome.PROCEED:
            funnel.stages["proceed"][index] += count
    return funnel


def funnel_chart(funnel: WeeklyFunnel) -> LineChart:
    """The weekly funnel as a line chart (one line per stage)."""
    weeks = funnel.weeks
    labels, short = week_labels(weeks)
    totals = ", ".join(f"{label.lower()} {funnel.total(key)}" for key, label in FUNNEL_STAGES)
    description = (f"Your funnel per week over the last {len(weeks)} weeks (weeks start on Monday, {weeks.zone}; "
                   f"profile views by UTC week). In total: {totals}.")
    series = [Series(key, label, funnel.stages[key]) for key, label in FUNNEL_STAGES]
    return line_chart("funnel", "Your funnel by week", description, labels, series, axis_labels=short)
