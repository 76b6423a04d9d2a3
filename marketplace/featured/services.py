"""Featured specialists for the advertising campaign.

* **Eligibility** lives in one place, ``ELIGIBILITY_RULES``: ``eligible_for_featuring(profile)``
  checks a loaded profile, ``eligible_clause()`` is the same rules in SQL. Public placements
  filter with the SQL twin at query time, so a featured specialist who becomes ineligible
  (e.g. turns off free consultations) disappears everywhere at once, with no clean-up job.
* **The active campaign** is the campaign with the active flag whose inclusive UTC date range
  contains today. If several overlap, the one that started most recently wins (ties: the one
  created last), so a short special campaign can run inside a long one.
* **Tracking** is server-side and aggregated per day in ``campaign_stats``. A page view never
  writes to the database: ``count_impressions`` / ``count_profile_view`` add to the off-request
  counters (``marketplace.counters``), and a job writes the sums with one concurrency-safe upsert
  per group (``increment_campaign_stat``). Bookings are counted from the consultations table
  (``Consultation.source == "campaign"``) at display time.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, func, literal, select
from sqlalchemy.exc import IntegrityError

from marketplace import counters
from marketplace.audit import record_audit
from marketplace.cache import bump_on_change
from marketplace.consultations.models import Consultation
from marketplace.consultations.no_shows import REPORTS_LIMIT, REPORTS_WINDOW, repeatedly_reported_ids, reports_against
from marketplace.database import insert_on_conflict, utcnow
from marketplace.domain import DomainError
from marketplace.extensions import db
from marketplace.featured.models import Campaign, CampaignStat, FeaturedEntry
from marketplace.jobs import enqueue, jobs
from marketplace.specialists.hooks import directory_hooks
from marketplace.specialists.models import SpecialistProfile, VerificationStatus
from marketplace.specialists.profile_views import add_profile_views
from marketplace.specialists.services import published_profiles_query
from marketplace.weeks import monday_of

log = logging.getLogger(__name__)

PLACEMENTS = ("home", "directory", "campaign")
COUNTERS = ("impressions", "profile_views")
WEEKLY_VIEWS = "weekly_views"  # every profile view (not only the campaign's), per UTC week: the funnel chart
# Every committed change to a campaign or its entries makes the featured order and the pages
# showing it (home, directory) stale in every process at once.
bump_on_change(Campaign, "featured", "directory")
bump_on_change(FeaturedEntry, "featured", "directory")

CAMPAIGN_SOURCE = "campaign"  # ?src=campaign on links from featured placements; Consultation.source


class FeaturingError(DomainError):
    """An admin action on the campaign that cannot be done; the message is shown as is."""


# --- eligibility ----------------------------------------------------------------------------

@dataclass(frozen=True)
class EligibilityFacts:
    """What the rules need beyond the profile row, read once for many profiles
    (``eligibility_facts``): the ones clients repeatedly reported as not coming."""

    reported: frozenset[int] = frozenset()


@dataclass(frozen=True)
class EligibilityRule:
    reason: str  # shown when the rule is not met
    holds: Callable[[SpecialistProfile, EligibilityFacts], bool]
    sql: Callable[[], ColumnElement[bool]]


REASON_NOT_VERIFIED = "licence not verified"
REASON_NOT_PUBLISHED = "profile not published"
REASON_NO_FREE_CONSULTATION = "does not offer the free 30-minute consultation"
REASON_NOT_ACCEPTING = "not accepting new clients"
REASON_NO_SHOWS = (f"clients reported {REPORTS_LIMIT} or more missed consultations in the last "
                   f"{REPORTS_WINDOW.days} days")

ELIGIBILITY_RULES: tuple[EligibilityRule, ...] = (
    EligibilityRule(
        REASON_NOT_VERIFIED,
        lambda p, _facts: p.verification_status == VerificationStatus.VERIFIED,
        lambda: SpecialistProfile.verification_status == VerificationStatus.VERIFIED,
    ),
    EligibilityRule(
        REASON_NOT_PUBLISHED,
        lambda p, _facts: bool(p.is_published),
        lambda: SpecialistProfile.is_published.is_(True),
    ),
    EligibilityRule(
        REASON_NO_FREE_CONSULTATION,
        lambda p, _facts: bool(p.offers_free_consultation),
        lambda: SpecialistProfile.offers_free_consultation.is_(True),
    ),
    EligibilityRule(
        REASON_NOT_ACCEPTING,
        lambda p, _facts: bool(p.accepting_new_clients),
        lambda: SpecialistProfile.accepting_new_clients.is_(True),
    ),
    EligibilityRule(
        REASON_NO_SHOWS,
        lambda p, facts: p.id not in facts.reported,
        lambda: SpecialistProfile.id.not_in(repeatedly_reported_ids()),
    ),
)


def eligibility_facts(profile_ids: Iterable[int]) -> EligibilityFacts:
    """The facts the rules need for these profiles (one query)."""
    return EligibilityFacts(reported=reports_against(profile_ids))


def eligible_for_featuring(profile: SpecialistProfile,
                           facts: EligibilityFacts | None = None) -> tuple[bool, list[str]]:
    """Whether ``profile`` may be featured, and the reasons why not (empty when eligible).

    Eligible = verified licence, published, offers the free 30-minute consultation,
    accepting new clients, and not reported by clients as not coming ``REPORTS_LIMIT`` times
    in ``REPORTS_WINDOW`` (reports the admin dismissed do not count). ``facts``: read for many
    profiles at once (``eligibility_facts``); read for this one when not given.
    """
    facts = facts if facts is not None else eligibility_facts([profile.id])
    reasons = [rule.reason for rule in ELIGIBILITY_RULES if not rule.holds(profile, facts)]
    return not reasons, reasons


def eligible_clause() -> ColumnElement[bool]:
    """``eligible_for_featuring`` as a SQL condition on ``SpecialistProfile`` (same rules)."""
    return and_(*(rule.sql() for rule in ELIGIBILITY_RULES))


# --- the active campaign --------------------------------------------------------------------

def today_utc() -> date:
    return utcnow().date()


def _active_campaign_id(today: date | None = None) -> Any:
    """Scalar subquery: id of the active campaign (see module docstring), or NULL."""
    day = today or today_utc()
    return (
        select(Campaign.id)
        .where(Campaign.active.is_(True), Campaign.starts_on <= day, Campaign.ends_on >= day)
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def active_campaign(today: date | None = None) -> Campaign | None:
    """The campaign running today (active flag, today within its inclusive dates), if any."""
    return db.session.scalar(select(Campaign).where(Campaign.id == _active_campaign_id(today)))


def _publicly_featured(today: date | None = None) -> tuple[ColumnElement[bool], ...]:
    """WHERE for "featured in the running campaign and eligible right now" (needs FeaturedEntry
    joined to SpecialistProfile). Every public placement and counter uses it."""
    return FeaturedEntry.campaign_id == _active_campaign_id(today), eligible_clause()


def featured_profiles(limit: int | None = None, *, placement: str | None = None) -> list[SpecialistProfile]:
    """Eligible featured specialists of the active campaign, in order.

    With ``placement`` an impression is counted for each returned card.
    """
    stmt = (
        published_profiles_query()  # what a card shows, eager-loaded
        .join(FeaturedEntry, FeaturedEntry.profile_id == SpecialistProfile.id)
        .where(*_publicly_featured())
        .order_by(FeaturedEntry.position, FeaturedEntry.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    profiles = list(db.session.scalars(stmt))
    if placement:
        count_impressions([p.id for p in profiles], placement)
    return profiles


HOME_FEATURED = 6  # the home page shows the first six featured specialists; the campaign page all


@dataclass(frozen=True)
class HomeFeatured:
    """The home page's featured cards (the first ``HOME_FEATURED``) and whether the campaign page
    shows more (the home page then links to it)."""

    profiles: list[SpecialistProfile]
    more: bool


def home_featured() -> HomeFeatured:
    """The featured specialists of the home page, in one statement (one card more than shown tells
    whether there are more). Counts no impressions: the cached home page's caller does."""
    profiles = featured_profiles(HOME_FEATURED + 1)
    return HomeFeatured(profiles[:HOME_FEATURED], len(profiles) > HOME_FEATURED)


@dataclass(frozen=True)
class PlacementReach:
    """What the public placements show of a campaign's specialists (for the admin page)."""

    listed: int  # eligible entries: all of them on the campaign page (while it runs)

    @property
    def home(self) -> int:
        return min(self.listed, HOME_FEATURED)

    @property
    def home_limited(self) -> bool:
        return self.listed > HOME_FEATURED

    @property
    def home_max(self) -> int:
        return HOME_FEATURED


def placement_reach(reports: list[EntryReport]) -> PlacementReach:
    """How many of a campaign's entries (``campaign_report``) the public pages show."""
    return PlacementReach(sum(1 for report in reports if report.eligible))


@directory_hooks.featured_order
def active_featured_profile_ids() -> list[int]:
    """Ids of eligible featured profiles of the active campaign, in campaign order."""
    return list(db.session.scalars(
        select(FeaturedEntry.profile_id)
        .join(SpecialistProfile, SpecialistProfile.id == FeaturedEntry.profile_id)
        .where(*_publicly_featured())
        .order_by(FeaturedEntry.position, FeaturedEntry.id)
    ))


# --- tracking -------------------------------------------------------------------------------

def increment_campaign_stat(counter: str, profiles: ColumnElement[bool], *, day: date | None = None,
                            amount: int = 1) -> None:
    """Add ``amount`` (default 1) to ``counter`` for today's row of every eligible, featured profile matching ``profiles``
    in the active campaign.

    One ``INSERT … SELECT … ON CONFLICT DO UPDATE SET n = n + 1`` statement: safe under
    concurrent requests on PostgreSQL and SQLite (no read-modify-write in Python), and a
    profile that is not featured in the running campaign simply matches no row.
    """
    if counter not in COUNTERS:
        raise ValueError(f"unknown campaign counter {counter!r}")
    day = day or today_utc()
    table = CampaignStat.__table__
    rows = (
        select(
            literal(day, Date).label("day"),
            FeaturedEntry.campaign_id,
            FeaturedEntry.profile_id,
            literal(int(amount)).label(counter),
        )
        .join(SpecialistProfile, SpecialistProfile.id == FeaturedEntry.profile_id)
        .where(*_publicly_featured(day), profiles)
        .order_by(FeaturedEntry.profile_id)  # lock rows in one order: no deadlocks between upserts
    )
    insert = insert_on_conflict(table).from_select(["day", "campaign_id", "profile_id", counter], rows)
    db.session.execute(insert.on_conflict_do_update(
        index_elements=["day", "campaign_id", "profile_id"],
        set_={counter: table.c[counter] + insert.excluded[counter]},
    ))


# --- off the request path: counted in memory or Redis, written by a job ------------------------

SLUG = re.compile(r"[a-z0-9-]{1,120}")


@directory_hooks.cards_shown
def count_impressions(profile_ids: Iterable[int], placement: str) -> None:
    """Count that these featured cards were shown, without a database write (see ``counters``)."""
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}")
    day = today_utc().isoformat()
    counters.add([counters.key("impressions", placement, day, profile_id) for profile_id in {int(i) for i in profile_ids}],
                 flush=_queue_counts)


def count_profile_view(slug: str) -> None:
    """Count a profile view from a campaign placement (``?src=campaign``), without a database write."""
    if SLUG.fullmatch(slug):
        counters.add([counters.key("profile_views", "", today_utc().isoformat(), slug)], flush=_queue_counts)


def count_weekly_profile_view(slug: str) -> None:
    """Count a view of a profile for its weekly total (``specialists.profile_views``), without a
    database write; the key names the week's Monday (UTC)."""
    if SLUG.fullmatch(slug):
        week = monday_of(today_utc())
        counters.add([counters.key(WEEKLY_VIEWS, "", week.isoformat(), slug)], flush=_queue_counts)


def _queue_counts(batch: dict[str, int]) -> None:
    enqueue(write_campaign_counts, batch)


@jobs.task
def write_campaign_counts(batch: dict[str, int]) -> None:
    """Add counted impressions and profile views to ``campaign_stats``: one upsert per
    (counter, day, amount) group. Counts of profiles no longer featured are dropped. Weekly
    profile views (every view, campaign or not) go to ``profile_view_weeks``: one upsert per
    (week, amount)."""
    groups: dict[tuple[str, str, int], list[str]] = {}
    weekly: dict[str, dict[str, int]] = {}
    for key, amount in batch.items():
        parts = counters.parse(key)
        if len(parts) != 4 or amount <= 0:
            continue
        counter, _placement, day, ident = parts
        if counter == WEEKLY_VIEWS:
            weekly.setdefault(day, {})[ident] = amount
            continue
        if counter not in COUNTERS:
            continue
        groups.setdefault((counter, day, amount), []).append(ident)
    for (counter, day, amount), idents in sorted(groups.items()):
        if counter == "impressions":
            profiles = SpecialistProfile.id.in_(sorted(int(i) for i in idents if i.isdigit()))
        else:
            profiles = SpecialistProfile.slug.in_(sorted(idents))
        increment_campaign_stat(counter, profiles, day=date.fromisoformat(day), amount=amount)
    for week, views in sorted(weekly.items()):
        add_profile_views(date.fromisoformat(week), views)


@jobs.periodic(minute="*")
def flush_campaign_counts() -> None:
    """Write what the shared (Redis) counters have collected since the last run."""
    batch = dict(counters.drain())
    if batch:
        write_campaign_counts(batch)


def _utc_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def count_campaign_bookings(profile_ids: Iterable[int], start: date, end: date) -> dict[int, int]:
    """Consultations booked from campaign placements per profile, on UTC days start..end inclusive."""
    ids = list(set(profile_ids))
    if not ids:
        return {}
    stmt = (
        select(Consultation.specialist_id, func.count(Consultation.id))
        .where(
            Consultation.source == CAMPAIGN_SOURCE,
            Consultation.specialist_id.in_(ids),
            Consultation.created_at >= _utc_start(start),
            Consultation.created_at < _utc_start(end + timedelta(days=1)),
        )
        .group_by(Consultation.specialist_id)
    )
    return {pid: n for pid, n in db.session.execute(stmt)}


@dataclass
class EntryReport:
    """One featured specialist of a campaign, for the admin table."""

    entry: FeaturedEntry
    eligible: bool
    reasons: list[str]
    impressions: int = 0
    profile_views: int = 0
    bookings: int = 0

    @property
    def profile(self) -> SpecialistProfile:
        return self.entry.profile


def campaign_report(campaign: Campaign) -> list[EntryReport]:
    """Entries of ``campaign`` in order with eligibility and their campaign totals (3 queries)."""
    entries = list(db.session.scalars(
        select(FeaturedEntry).where(FeaturedEntry.campaign_id == campaign.id)
        .order_by(FeaturedEntry.position, FeaturedEntry.id)
    ))
    totals = {
        pid: (imp or 0, views or 0)
        for pid, imp, views in db.session.execute(
            select(CampaignStat.profile_id, func.sum(CampaignStat.impressions), func.sum(CampaignStat.profile_views))
            .where(CampaignStat.campaign_id == campaign.id)
            .group_by(CampaignStat.profile_id)
        )
    }
    bookings = count_campaign_bookings([e.profile_id for e in entries], campaign.starts_on, campaign.ends_on)
    facts = eligibility_facts([e.profile_id for e in entries])
    reports = []
    for entry in entries:
        ok, reasons = eligible_for_featuring(entry.profile, facts)
        impressions, views = totals.get(entry.profile_id, (0, 0))
        reports.append(EntryReport(entry, ok, reasons, impressions, views, bookings.get(entry.profile_id, 0)))
    return reports


@dataclass
class SpecialistCampaignStats:
    campaign: Campaign
    impressions: int = 0
    profile_views: int = 0
    bookings: int = 0


def campaign_stats_for_profile(profile: SpecialistProfile, limit: int = 5) -> list[SpecialistCampaignStats]:
    """The specialist's own campaign numbers: one row per campaign they were featured in (latest first)."""
    campaigns = list(db.session.scalars(
        select(Campaign).join(FeaturedEntry, FeaturedEntry.campaign_id == Campaign.id)
        .where(FeaturedEntry.profile_id == profile.id)
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc()).limit(limit)
    ))
    if not campaigns:
        return []
    rows = {c.id: SpecialistCampaignStats(c) for c in campaigns}
    for campaign_id, imp, views in db.session.execute(
        select(CampaignStat.campaign_id, func.sum(CampaignStat.impressions), func.sum(CampaignStat.profile_views))
        .where(CampaignStat.profile_id == profile.id, CampaignStat.campaign_id.in_(list(rows)))
        .group_by(CampaignStat.campaign_id)
    ):
        rows[campaign_id].impressions, rows[campaign_id].profile_views = imp or 0, views or 0
    for booked_on in _campaign_booking_days(profile.id, min(c.starts_on for c in campaigns)):
        for row in rows.values():
            if row.campaign.starts_on <= booked_on <= row.campaign.ends_on:
                row.bookings += 1
    return list(rows.values())


def _campaign_booking_days(profile_id: int, since: date) -> list[date]:
    """UTC days on which this profile's campaign-sourced consultations were booked (one query)."""
    created = db.session.scalars(
        select(Consultation.created_at).where(
            Consultation.source == CAMPAIGN_SOURCE,
            Consultation.specialist_id == profile_id,
            Consultation.created_at >= _utc_start(since),
        )
    )
    return [c.astimezone(timezone.utc).date() for c in created]


# --- the specialist's note ------------------------------------------------------------------

@dataclass
class FeaturedNote:
    """What the specialist's dashboard says about the campaign."""

    campaign: Campaign | None  # the running campaign that features them, if any
    eligible: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def needs_free_consultation(self) -> bool:
        return REASON_NO_FREE_CONSULTATION in self.reasons


def featured_note_for(profile: SpecialistProfile | None) -> FeaturedNote | None:
    """Whether ``profile`` is featured in the running campaign and whether it is eligible."""
    if profile is None:
        return None
    eligible, reasons = eligible_for_featuring(profile)
    campaign = db.session.scalar(
        select(Campaign).join(FeaturedEntry, FeaturedEntry.campaign_id == Campaign.id)
        .where(Campaign.id == _active_campaign_id(), FeaturedEntry.profile_id == profile.id)
    )
    return FeaturedNote(campaign, eligible, reasons)


# --- admin: campaigns -----------------------------------------------------------------------

def list_campaigns() -> list[tuple[Campaign, int]]:
    """Every campaign (latest first) with its number of featured entries (one query)."""
    counts = (
        select(FeaturedEntry.campaign_id, func.count(FeaturedEntry.id).label("n"))
        .group_by(FeaturedEntry.campaign_id).subquery()
    )
    stmt = (
        select(Campaign, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.campaign_id == Campaign.id)
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
    )
    return [(c, n) for c, n in db.session.execute(stmt)]


def _check_dates(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise FeaturingError("The end date must be on or after the start date.")


def create_campaign(actor: Any, *, name: str, starts_on: date, ends_on: date, active: bool = True) -> Campaign:
    """Create a campaign (dates inclusive, UTC) and audit it."""
    _check_dates(starts_on, ends_on)
    campaign = Campaign(name=name, starts_on=starts_on, ends_on=ends_on, active=active)
    db.session.add(campaign)
    db.session.flush()
    record_audit(actor, "campaign.create", campaign, after=campaign.snapshot())
    log.info("campaign %s created by user %s", campaign.id, getattr(actor, "id", None))
    return campaign


def update_campaign(actor: Any, campaign: Campaign, *, name: str, starts_on: date, ends_on: date,
                    active: bool) -> bool:
    """Change a campaign's name, dates or active flag; audited. Returns False when nothing changed."""
    _check_dates(starts_on, ends_on)
    before = campaign.snapshot()
    campaign.name, campaign.starts_on, campaign.ends_on, campaign.active = name, starts_on, ends_on, active
    after = campaign.snapshot()
    if after == before:
        return False
    db.session.flush()
    record_audit(actor, "campaign.update", campaign, before=before, after=after)
    return True


# --- admin: featured entries ----------------------------------------------------------------

def _order(campaign: Campaign) -> list[int]:
    return [e.profile_id for e in campaign.entries]


def _renumber(entries: list[FeaturedEntry]) -> None:
    for position, entry in enumerate(entries):
        entry.position = position


def search_eligible_profiles(campaign: Campaign, query: str = "", limit: int = 20) -> list[SpecialistProfile]:
    """Eligible specialists not yet in ``campaign``, matching ``query`` by name or slug."""
    already = select(FeaturedEntry.profile_id).where(FeaturedEntry.campaign_id == campaign.id)
    stmt = select(SpecialistProfile).where(eligible_clause(), SpecialistProfile.id.not_in(already))
    query = (query or "").strip().lower()[:80]
    if query:
        stmt = stmt.where(func.lower(SpecialistProfile.display_name).contains(query, autoescape=True)
                          | SpecialistProfile.slug.contains(query, autoescape=True))
    return list(db.session.scalars(stmt.order_by(SpecialistProfile.display_name).limit(limit)))


def feature_specialist(actor: Any, campaign: Campaign, profile: SpecialistProfile | None) -> FeaturedEntry:
    """Add an eligible specialist at the end of ``campaign``; audited.

    Raises ``FeaturingError`` for an unknown, ineligible or already featured specialist.
    """
    if profile is None:
        raise FeaturingError("That specialist does not exist.")
    eligible, reasons = eligible_for_featuring(profile)
    if not eligible:
        raise FeaturingError(f"{profile.display_name} can't be featured: {', '.join(reasons)}.")
    if profile.id in _order(campaign):
        raise FeaturingError(f"{profile.display_name} is already featured in this campaign.")
    name, before = profile.display_name, _order(campaign)
    position = len(before)
    try:
        with db.session.begin_nested():  # a savepoint: the request's other work is not undone
            entry = FeaturedEntry(campaign=campaign, profile=profile, position=position)
            db.session.add(entry)
    except IntegrityError:  # another admin added them a moment ago: this action changes nothing
        raise FeaturingError(f"{name} is already featured in this campaign.") from None
    record_audit(actor, "featured.add", campaign, before={"order": before},
                 after={"profile_id": profile.id, "display_name": name, "order": [*before, profile.id]})
    return entry


def get_entry_or_none(campaign: Campaign, entry_id: int) -> FeaturedEntry | None:
    return next((e for e in campaign.entries if e.id == entry_id), None)


def unfeature_specialist(actor: Any, campaign: Campaign, entry: FeaturedEntry | None) -> SpecialistProfile:
    """Remove a featured specialist from ``campaign`` (the others close the gap); audited."""
    if entry is None:
        raise FeaturingError("That specialist is not featured in this campaign.")
    profile = entry.profile
    before = {"profile_id": profile.id, "display_name": profile.display_name, "order": _order(campaign)}
    campaign.entries.remove(entry)
    _renumber(campaign.entries)
    db.session.flush()
    record_audit(actor, "featured.remove", campaign, before=before, after={"order": _order(campaign)})
    return profile


def move_featured_entry(actor: Any, campaign: Campaign, entry: FeaturedEntry | None, direction: str) -> bool:
    """Swap a featured specialist with the one above ("up") or below ("down"); audited.

    Returns False (and changes nothing) when it is already first / last.
    """
    if entry is None:
        raise FeaturingError("That specialist is not featured in this campaign.")
    if direction not in ("up", "down"):
        raise FeaturingError("Choose to move up or down.")
    entries = list(campaign.entries)
    index = entries.index(entry)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(entries):
        return False
    return _apply_order(actor, campaign, entries, _swapped(entries, index, other))


def _swapped(items: list[FeaturedEntry], i: int, j: int) -> list[FeaturedEntry]:
    items = list(items)
    items[i], items[j] = items[j], items[i]
    return items


def reorder_featured_entries(actor: Any, campaign: Campaign, entry_ids: list[int]) -> bool:
    """Put the campaign's entries in the given order (drag and drop); audited.

    ``entry_ids`` must name every entry of the campaign exactly once.
    """
    entries = list(campaign.entries)
    by_id = {e.id: e for e in entries}
    if sorted(entry_ids) != sorted(by_id):
        raise FeaturingError("The order was out of date — please reload the page and try again.")
    return _apply_order(actor, campaign, entries, [by_id[i] for i in entry_ids])


def _apply_order(actor: Any, campaign: Campaign, current: list[FeaturedEntry], new: list[FeaturedEntry]) -> bool:
    if new == current:
        return False
    before = [e.profile_id for e in current]
    _renumber(new)
    db.session.flush()
    db.session.expire(campaign, ["entries"])
    record_audit(actor, "featured.reorder", campaign, before={"order": before},
                 after={"order": [e.profile_id for e in new]})
    return True
