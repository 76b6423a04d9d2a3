"""Profile views per week: written by the counters' job (never on GET), read by the funnel chart.

A view is counted by the featured domain's tracking hook (it owns the off-request counters and
their job, ``featured.services.write_campaign_counts``) and added here in one upsert per week.
Weeks start on Monday, UTC (the count is made before anyone's zone is known).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy import Date, literal, select

from marketplace.database import insert_on_conflict
from marketplace.extensions import db
from marketplace.specialists.models import ProfileViewWeek, SpecialistProfile
from marketplace.weeks import Weeks, monday_of


def add_profile_views(week: date, views_by_slug: Mapping[str, int]) -> None:
    """Add views to the week of ``week`` for the profiles named by slug: one
    ``INSERT … SELECT … ON CONFLICT DO UPDATE SET views = views + n`` per distinct amount (safe
    with overlapping job runs; a slug of no listed profile — a 404, a preview — matches nothing)."""
    table = ProfileViewWeek.__table__
    by_amount: dict[int, list[str]] = {}
    for slug, amount in views_by_slug.items():
        if amount > 0:
            by_amount.setdefault(int(amount), []).append(slug)
    for amount, slugs in sorted(by_amount.items()):
        rows = (
            select(SpecialistProfile.id, literal(monday_of(week), Date), literal(amount))
            .where(SpecialistProfile.slug.in_(sorted(slugs)), SpecialistProfile.is_listed)
            .order_by(SpecialistProfile.id)
        )
        insert = insert_on_conflict(table).from_select(["profile_id", "week_start", "views"], rows)
        db.session.execute(insert.on_conflict_do_update(
            index_elements=["profile_id", "week_start"],
            set_={"views": table.c.views + insert.excluded.views},
        ))


def weekly_profile_views(profile_id: int, weeks: Weeks) -> list[int]:
    """Views of the profile in each of ``weeks`` (one query). Stored weeks are UTC weeks; they are
    matched to the zone's weeks by their Monday."""
    counts = weeks.empty()
    for week_start, views in db.session.execute(
        select(ProfileViewWeek.week_start, ProfileViewWeek.views).where(
            ProfileViewWeek.profile_id == profile_id,
            ProfileViewWeek.week_start >= weeks.mondays[0], ProfileViewWeek.week_start <= weeks.mondays[-1])
    ):
        index = weeks.index_of_day(week_start)
        if index >= 0:
            counts[index] += int(views or 0)
    return counts
