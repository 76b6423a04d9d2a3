"""The directory: filters, text search, ordering and paging of public profiles.

Every filter is a condition answered by an index (the text search on PostgreSQL by a trigram
index on the folded ``search_text``; SQLite scans that one column); a page needs three queries
whatever the number of specialists: the count (which also finds the featured matches), the
page's ids, the cards. The vocabulary ids and the campaign's featured order, which rarely change, come from the
shared cache (``marketplace.cache``).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
)

from marketplace.cache import cached, version
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.money import to_minor
from marketplace.pagination import Page, parse_page
from marketplace.scheduling.free_times import filter_bits
from marketplace.scheduling.weeks import TimeFilter
from marketplace.specialists.hooks import directory_hooks
from marketplace.specialists.models import (
    FREE_TIME_COLUMNS,
    Approach,
    Format,
    Language,
    SpecialistProfile,
    Specialty,
    VerificationStatus,
    VocabularyMixin,
    profile_approaches,
    profile_formats,
    profile_languages,
    profile_specialties,
)
from marketplace.specialists.search import SearchTerm, named_specialties, parse_query, specialty_text
from marketplace.specialists.vocabulary import APPROACHES, FORMATS, LANGUAGES, SPECIALTIES
from marketplace.templating import cache_seconds

PER_PAGE = 20
AVAILABLE_WITHIN = timedelta(days=7)
VOCABULARY_CACHE_SECONDS = 3600  # vocabularies are seeded by migration; a new row is looked up at once anyway
FEATURED_ORDER_CACHE_SECONDS = 60  # the active campaign changes with the date, too
# filter name -> (vocabulary model, link table, link column)
_VOCABULARY_FILTERS: dict[str, tuple[type[VocabularyMixin], Table, Column[Any]]] = {
    "specialty": (Specialty, profile_specialties, profile_specialties.c.specialty_id),
    "approach": (Approach, profile_approaches, profile_approaches.c.approach_id),
    "language": (Language, profile_languages, profile_languages.c.language_id),
    "format": (Format, profile_formats, profile_formats.c.format_id),
}


@dataclass(frozen=True)
class DirectoryFilters:
    q: str = ""
    specialty: str = ""
    approach: str = ""
    language: str = ""
    format: str = ""
    country: str = ""
    city: str = ""
    fee_min: int | None = None  # approximate euros (fees in other currencies are converted)
    fee_max: int | None = None
    free: bool = False
    available: bool = False
    # Times of day with free slots, in the viewer's zone (the booking page's chips, ``weeks.TimeFilter``).
    part: tuple[str, ...] = ()
    sort: str = ""  # "" (recommended), or one of SORTS: how the matches are ordered, not which

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> DirectoryFilters:
        known = {name: values[name] for name in cls.__dataclass_fields__ if values.get(name) not in (None, "")}
        for name in ("q", "specialty", "approach", "language", "format", "country", "city", "sort"):
            if name in known:
                known[name] = str(known[name]).strip()
        if "part" in known:
            known["part"] = tuple(TimeFilter.from_values(known["part"]).values)
        return cls(**known)

    @property
    def time_filter(self) -> TimeFilter:
        return TimeFilter.from_values(self.part)

    def query_params(self) -> dict[str, Any]:
        """The active filters as query-string parameters (for pagination links)."""
        params: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if value is True:
                params[name] = 1
            elif value not in (None, "", False, ()):
                params[name] = list(value) if isinstance(value, tuple) else value
        return params

    @property
    def active(self) -> bool:
        """Whether any filter narrows the list (the sort order is not a filter)."""
        return any(name != "sort" for name in self.query_params())


def search_condition(q: str) -> ColumnElement[bool] | None:
    """Text search: every term of ``q`` (``search.parse_query``) must match the profile's folded
    ``search_text`` (name, title, city, country, vocabulary labels, bio) — the one place that knows how.

    A term naming a specialty ("couples", "panic", "low mood") also matches that specialty's label,
    which the search text of every profile listing it holds: each term is a few ``LIKE '%…%'`` on
    one column, answered on PostgreSQL by its trigram index (SQLite scans the column). Whether the
    profile really lists the specialty decides the order (``search_rank``), not the match.
    """
    terms = parse_query(q)
    if not terms:
        return None
    return and_(*(_term_condition(term) for term in terms))


def _term_condition(term: SearchTerm) -> ColumnElement[bool]:
    texts = dict.fromkeys((term.text, *(specialty_text(slug) for slug in term.specialties)))
    return or_(*(SpecialistProfile.search_text.like(_like_pattern(text), escape="\\") for text in texts))


def search_rank(q: str) -> ColumnElement[int] | None:
    """0 for profiles listing a specialty ``q`` names (through the link table), else 1; None when
    ``q`` names none (then the directory order alone decides)."""
    slugs = named_specialties(parse_query(q))
    known = _known_vocabulary_ids()["specialty"]
    ids = sorted(known[slug] for slug in slugs if slug in known)
    if not ids:
        return None
    lists_one = select(profile_specialties.c.profile_id).where(
        profile_specialties.c.profile_id == SpecialistProfile.id, profile_specialties.c.specialty_id.in_(ids))
    return case((lists_one.exists(), 0), else_=1)


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def vocabulary_ids(filters: DirectoryFilters) -> dict[str, int | None]:
    """Ids of the chosen specialty/approach/language/format (None: unknown slug).

    Filtering link tables by a literal id lets the planner use the column statistics (how many
    profiles speak English) instead of guessing, which decides between good and bad join plans.
    The slug -> id map is cached; a slug it lacks (a vocabulary added since) is looked up at once.
    """
    wanted = {name: getattr(filters, name) for name in _VOCABULARY_FILTERS if getattr(filters, name)}
    if not wanted:
        return {}
    known = _known_vocabulary_ids()
    if any(slug not in known[name] for name, slug in wanted.items()):
        known = _load_vocabulary_ids()
    return {name: known[name].get(slug) for name, slug in wanted.items()}


def _known_vocabulary_ids() -> dict[str, dict[str, int]]:
    return cached(f"vocabulary-ids:{version('vocabulary')}", _load_vocabulary_ids, VOCABULARY_CACHE_SECONDS)


def _load_vocabulary_ids() -> dict[str, dict[str, int]]:
    """filter name -> {slug: id} for the four vocabularies, in one query."""
    lookups = [select(literal(name).label("name"), model.slug, model.id)
               for name, (model, _link, _column) in _VOCABULARY_FILTERS.items()]
    ids: dict[str, dict[str, int]] = {name: {} for name in _VOCABULARY_FILTERS}
    for name, slug, vocabulary_id in db.session.execute(lookups[0].union_all(*lookups[1:])):
        ids[name][slug] = vocabulary_id
    return ids


def _has_vocabulary(name: str, vocabulary_id: int | None) -> ColumnElement[bool]:
    if vocabulary_id is None:
        return false()
    _model, link, link_column = _VOCABULARY_FILTERS[name]
    return SpecialistProfile.id.in_(select(link.c.profile_id).where(link_column == vocabulary_id))


def free_at_condition(time_filter: TimeFilter, tz: str, now: datetime) -> ColumnElement[bool]:
    """Profiles with a free slot at the chosen times of day in zone ``tz`` within the next weeks:
    the UTC half-hours those times are (``free_times.filter_bits``) against the profile's stored
    ones (``free_utc_*``), a bitwise AND per UTC weekday; NULL (not computed yet) never matches."""
    masks = filter_bits(time_filter, tz, now)
    columns = [SpecialistProfile.__table__.c[name] for name in FREE_TIME_COLUMNS]
    tests = [column.bitwise_and(literal(mask, BigInteger)) != 0
             for column, mask in zip(columns, masks, strict=True) if mask]
    return or_(*tests) if tests else false()


def filter_conditions(filters: DirectoryFilters, now: datetime, tz: str = "UTC") -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        _has_vocabulary(name, vocabulary_id) for name, vocabulary_id in vocabulary_ids(filters).items()
    ]
    if filters.country:
        conditions.append(SpecialistProfile.country == filters.country.upper())
    if filters.city:
        conditions.append(func.lower(SpecialistProfile.city) == filters.city.lower())
    if filters.fee_min is not None:
        conditions.append(SpecialistProfile.fee_eur_minor >= to_minor(filters.fee_min, "EUR"))
    if filters.fee_max is not None:
        conditions.append(SpecialistProfile.fee_eur_minor <= to_minor(filters.fee_max, "EUR"))
    if filters.free:
        conditions.append(SpecialistProfile.offers_free_consultation == true())
    if filters.available:
        conditions.append(SpecialistProfile.next_available_at >= now)
        conditions.append(SpecialistProfile.next_available_at < now + AVAILABLE_WITHIN)
    if filters.time_filter.active:
        conditions.append(free_at_condition(filters.time_filter, tz, now))
    if filters.q:
        condition = search_condition(filters.q)
        if condition is not None:
            conditions.append(condition)
    return conditions


def matching_ids(filters: DirectoryFilters, now: datetime, tz: str = "UTC") -> Select:
    """Ids of listed profiles (published and verified) matching ``filters`` (unordered); times of
    day are read in zone ``tz`` (the viewer's)."""
    return select(SpecialistProfile.id).where(SpecialistProfile.is_listed,
                                              *filter_conditions(filters, now, tz))


def in_directory_order(stmt: Select) -> Select:
    """Soonest available first (profiles without free times last), then name: the order of
    ``ix_specialist_profiles_directory_order``, so a page is read from the index and stops early."""
    return stmt.order_by(SpecialistProfile.next_available_at.asc().nulls_last(), SpecialistProfile.display_name,
                         SpecialistProfile.id)


# The directory's orders besides the default ("": recommended — search rank, featured, soonest).
# Every order ends with name and id: a stable tie-breaker, so paging never repeats or skips a card.
SORT_SOONEST = "soonest"
SORT_FEE_LOW = "fee_low"
SORT_FEE_HIGH = "fee_high"
SORT_FAST = "fast"
SORTS: dict[str, str] = {
    "": "Recommended",
    SORT_SOONEST: "Soonest available",
    SORT_FAST: "Fast responders first",
    SORT_FEE_LOW: "Fee: low to high",
    SORT_FEE_HIGH: "Fee: high to low",
}


def sorted_by(stmt: Select, sort: str) -> Select:
    """``stmt`` in the order ``sort`` names (one of ``SORTS`` other than the default). Fees are
    compared in approximate euros (``fee_eur_minor``, as the fee range filters them), so fees in
    different currencies sort together; profiles without a fee (or a free time) come last. Each
    order is that of an index over the published profiles (``ix_specialist_profiles_directory_order``,
    ``…_fee_order``, ``…_fee_desc_order`` on PostgreSQL), so a page is read in order and stops early."""
    if sort == SORT_FEE_LOW:
        return stmt.order_by(SpecialistProfile.fee_eur_minor.asc().nulls_last(), SpecialistProfile.display_name,
                             SpecialistProfile.id)
    if sort == SORT_FEE_HIGH:
        return stmt.order_by(SpecialistProfile.fee_eur_minor.desc().nulls_last(), SpecialistProfile.display_name,
                             SpecialistProfile.id)
    if sort == SORT_FAST:
        # The measured median reply time, then confirmation time (``messaging.responsiveness``);
        # profiles without figures last (``ix_specialist_profiles_reply_order``).
        return stmt.order_by(SpecialistProfile.reply_median_minutes.asc().nulls_last(),
                             SpecialistProfile.confirm_median_minutes.asc().nulls_last(),
                             SpecialistProfile.display_name, SpecialistProfile.id)
    return in_directory_order(stmt)


class Label(NamedTuple):
    label: str


# Display order of each vocabulary, as the relationships order them (formats by id = seeding order).
_LABELS = {
    "specialties": dict(SPECIALTIES), "approaches": dict(APPROACHES), "languages": dict(LANGUAGES),
    "formats": dict(FORMATS),
}
_KIND_FILTER = {"specialties": "specialty", "approaches": "approach", "languages": "language", "formats": "format"}
_SEPARATOR = ","  # slugs are [a-z0-9_-]


@cache
def vocabulary_slugs(kind: str) -> Any:
    """A column: the profile's slugs of one vocabulary ("specialties", …) joined by commas, a
    correlated subquery on ``SpecialistProfile`` (one index lookup per row; no extra query). Built
    once: SQLAlchemy expressions are immutable, and building them is a good part of a query's cost."""
    model, link, column = _VOCABULARY_FILTERS[_KIND_FILTER[kind]]
    return (select(func.aggregate_strings(model.slug, _SEPARATOR)).join(link, column == model.id)
            .where(link.c.profile_id == SpecialistProfile.id).scalar_subquery().label(f"{kind}_slugs"))


def vocabulary_labels(kind: str, slugs: str | None) -> tuple[str, ...]:
    """The labels of an aggregated ``vocabulary_slugs`` value, in the relationship's order."""
    labels = _LABELS[kind]
    chosen = [slug for slug in (slugs or "").split(_SEPARATOR) if slug]
    if kind == "formats":
        order = list(labels)
        chosen.sort(key=lambda slug: order.index(slug) if slug in labels else len(order))
        return tuple(labels.get(slug, slug) for slug in chosen)
    return tuple(sorted(labels.get(slug, slug) for slug in chosen))


@dataclass(frozen=True)
class DirectoryCard:
    """What ``specialists/_card.html`` shows of a profile, as plain values.

    The directory loads cards with one lean query (columns plus each card's specialty and
    language slugs) instead of hydrating ORM profiles and their relationships: about a third of
    a directory page's CPU before. Same attribute names as ``SpecialistProfile``, so the one card
    template serves both.
    """

    id: int
    slug: str
    display_name: str
    title: str | None
    photo_filename: str | None
    verification_status: VerificationStatus
    offers_free_consultation: bool
    fee_minor: int | None
    currency: str
    next_available_at: datetime | None
    city: str | None = None
    country: str | None = None
    # Measured responsiveness (``specialists.responsiveness`` words it) and since when it is public.
    reply_median_minutes: int | None = None
    confirm_median_minutes: int | None = None
    listed_since: datetime | None = None
    specialties: tuple[Label, ...] = ()
    languages: tuple[Label, ...] = ()
    formats: tuple[Label, ...] = ()  # video, in person, phone: in the vocabulary's order

    @property
    def is_verified(self) -> bool:
        return self.verification_status == VerificationStatus.VERIFIED


_CARD_COLUMNS = (
    SpecialistProfile.id, SpecialistProfile.slug, SpecialistProfile.display_name, SpecialistProfile.title,
    SpecialistProfile.photo_filename, SpecialistProfile.verification_status,
    SpecialistProfile.offers_free_consultation, SpecialistProfile.fee_minor, SpecialistProfile.currency,
    SpecialistProfile.next_available_at, SpecialistProfile.city, SpecialistProfile.country,
    SpecialistProfile.reply_median_minutes, SpecialistProfile.confirm_median_minutes,
    func.coalesce(SpecialistProfile.published_at, SpecialistProfile.created_at).label("listed_since"),
)


_CARD_KINDS = ("specialties", "languages", "formats")


def load_cards(ids: list[int]) -> list[DirectoryCard]:
    """What the cards of these published profiles show, in one query (the caller restores the order of ``ids``)."""
    stmt = select(*_CARD_COLUMNS, *(vocabulary_slugs(kind) for kind in _CARD_KINDS)).where(
        SpecialistProfile.id.in_(ids), SpecialistProfile.is_listed)
    cards = []
    for *values, specialties, languages, formats in db.session.execute(stmt):
        cards.append(replace(DirectoryCard(*values), specialties=_labels("specialties", specialties),
                             languages=_labels("languages", languages), formats=_labels("formats", formats)))
    return cards


def _labels(kind: str, slugs: str | None) -> tuple[Label, ...]:
    return tuple(map(Label, vocabulary_labels(kind, slugs)))


COUNTRIES_CACHE_SECONDS = 3600  # the "directory" version (every profile change) renews it sooner


def listed_countries() -> tuple[str, ...]:
    """The countries (ISO codes) listed specialists are in: what the country filter offers, from
    the shared cache under version "directory" (bumped by every committed profile change)."""
    return cached(f"directory-countries:{version('directory')}", _load_listed_countries,
                  cache_seconds(COUNTRIES_CACHE_SECONDS))


def _load_listed_countries() -> tuple[str, ...]:
    """One statement, answered by ``ix_specialist_profiles_location`` (country first)."""
    return tuple(db.session.scalars(
        select(SpecialistProfile.country).where(SpecialistProfile.is_listed, SpecialistProfile.country.is_not(None))
        .distinct().order_by(SpecialistProfile.country)))


def campaign_order() -> list[int]:
    """Eligible featured profiles of the active campaign in campaign order, from the shared cache:
    version "featured" is bumped by campaign changes and by profile changes (eligibility), and the
    short timeout follows the campaign's dates. The featured domain provides it (``directory_hooks``)."""
    return cached(f"featured-order:{version('featured')}", directory_hooks.load_featured_order,
                  cache_seconds(FEATURED_ORDER_CACHE_SECONDS))


def count_with_featured(matching: Select, order: list[int]) -> tuple[int, list[int]]:
    """How many profiles ``matching`` selects, and which of the ``order`` ids it selects (in that
    order), in one statement."""
    ids = matching.subquery()
    if not order:
        return db.session.scalar(select(func.count()).select_from(ids)) or 0, []
    featured_id = case((ids.c.id.in_(order), cast(ids.c.id, String)))  # NULL otherwise: not aggregated
    total, found = db.session.execute(select(func.count(), func.aggregate_strings(featured_id, ","))).one()
    found_ids = {int(pid) for pid in (found or "").split(",") if pid}
    return total or 0, [pid for pid in order if pid in found_ids]


def search_directory(filters: DirectoryFilters, page: Any = 1, *, now: datetime | None = None,
                     tz: str = "UTC") -> Page:
    """One page of the directory: featured profiles that match come first (campaign order), then
    the rest in directory order; or, with ``filters.sort`` (``SORTS``), the matches in that order
    alone. Otherwise a text search naming a specialty ranks the profiles listing it
    first, each group in that order (featured, then directory order). ``page.extra["featured_ids"]``:
    featured profiles on this page (the caller counts their impressions, also when it shows the
    page from a cache). ``tz``: the viewer's zone, in which ``filters.part`` (times of day) is read.

    Statements: count (with the featured matches), the page's other ids, the cards. Like
    ``paginate_ids`` with ``leading_ids``, but the count already knows which featured ones match.
    """
    matching = matching_ids(filters, now or utcnow(), tz)
    total, featured = count_with_featured(matching, campaign_order())
    page_number = min(parse_page(page), max(1, math.ceil(total / PER_PAGE)))
    start = (page_number - 1) * PER_PAGE
    sort = filters.sort if filters.sort in SORTS else ""  # an unknown order: the recommended one
    rank = search_rank(filters.q) if filters.q and not sort else None
    if sort:
        # A chosen order is that order alone (featured ones keep their badge where they fall).
        ids = list(db.session.scalars(sorted_by(matching, sort).limit(PER_PAGE).offset(start))) if total else []
    elif rank is not None:
        ids = _ranked_page_ids(matching, rank, featured, start)
    else:
        ids = featured[start:start + PER_PAGE]
        if len(ids) < PER_PAGE and total > len(featured):
            rest = in_directory_order(matching.where(SpecialistProfile.id.not_in(featured)) if featured else matching)
            ids += list(db.session.scalars(rest.limit(PER_PAGE - len(ids)).offset(max(0, start - len(featured)))))
    cards = {card.id: card for card in load_cards(ids)} if ids else {}
    result = Page(items=[cards[i] for i in ids if i in cards], page=page_number, per_page=PER_PAGE, total=total)
    result.extra["featured_ids"] = {card.id for card in result.items if card.id in set(featured)}
    return result


def _ranked_page_ids(matching: Select, rank: ColumnElement[int], featured: list[int], start: int) -> list[int]:
    """The ids of one page ordered by ``rank``, then featured (campaign order), then directory
    order: one statement, whose sort covers only the profiles the search matched."""
    order: list[ColumnElement[Any]] = [rank]
    if featured:
        order.append(case({pid: position for position, pid in enumerate(featured)}, value=SpecialistProfile.id,
                          else_=len(featured)))
    stmt = in_directory_order(matching.order_by(*order))
    return list(db.session.scalars(stmt.limit(PER_PAGE).offset(start)))
