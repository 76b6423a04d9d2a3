"""The directory: filters, text search, ordering and paging of public profiles.

Every filter is a condition answered by an index; the page needs a fixed number of queries
(count, page, and one per eager-loaded vocabulary) whatever the number of specialists.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, false, func, literal, literal_column, or_, select, true, union_all

from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.pagination import Page, paginate_ids
from marketplace.specialists.models import (
    Approach,
    Format,
    Language,
    SpecialistProfile,
    Specialty,
    VerificationStatus,
    profile_approaches,
    profile_formats,
    profile_languages,
    profile_specialties,
    search_config,
    search_document_vector,
)

PER_PAGE = 20
AVAILABLE_WITHIN = timedelta(days=7)
MAX_SEARCH_WORDS = 8

# filter name -> (vocabulary model, link table, link column)
_VOCABULARY_FILTERS = {
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
    verified: bool = False
    available: bool = False

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> DirectoryFilters:
        known = {name: values[name] for name in cls.__dataclass_fields__ if values.get(name) not in (None, "")}
        for name in ("q", "specialty", "approach", "language", "format", "country", "city"):
            if name in known:
                known[name] = str(known[name]).strip()
        return cls(**known)

    def query_params(self) -> dict[str, Any]:
        """The active filters as query-string parameters (for pagination links)."""
        params: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if value is True:
                params[name] = 1
            elif value not in (None, "", False):
                params[name] = value
        return params

    @property
    def active(self) -> bool:
        return bool(self.query_params())


def search_condition(q: str) -> ColumnElement[bool] | None:
    """Text search over name, title and bio: the one place that knows how, per backend.

    PostgreSQL: full-text search (``plainto_tsquery``) against the GIN-indexed document.
    SQLite: every word must appear (LIKE, with ``%`` and ``_`` escaped) in name, title or bio.
    """
    words = q.split()[:MAX_SEARCH_WORDS]
    if not words:
        return None
    if db.engine.dialect.name == "postgresql":
        return search_document_vector().op("@@")(func.plainto_tsquery(search_config(), " ".join(words)))
    columns = (SpecialistProfile.display_name, SpecialistProfile.title, SpecialistProfile.bio_markdown)
    return and_(*(
        or_(*(column.ilike(_like_pattern(word), escape="\\") for column in columns)) for word in words
    ))


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def vocabulary_ids(filters: DirectoryFilters) -> dict[str, int | None]:
    """Ids of the chosen specialty/approach/language/format, in one query (None: unknown slug).

    Filtering link tables by a literal id lets the planner use the column statistics (how many
    profiles speak English) instead of guessing, which decides between good and bad join plans.
    """
    wanted = {name: getattr(filters, name) for name in _VOCABULARY_FILTERS if getattr(filters, name)}
    if not wanted:
        return {}
    lookups = [select(literal(name).label("name"), model.id).where(model.slug == wanted[name])
               for name, (model, _link, _column) in _VOCABULARY_FILTERS.items() if name in wanted]
    found = dict(db.session.execute(union_all(*lookups)).all())
    return {name: found.get(name) for name in wanted}


def _has_vocabulary(name: str, vocabulary_id: int | None) -> ColumnElement[bool]:
    if vocabulary_id is None:
        return false()
    _model, link, link_column = _VOCABULARY_FILTERS[name]
    return SpecialistProfile.id.in_(select(link.c.profile_id).where(link_column == vocabulary_id))


def filter_conditions(filters: DirectoryFilters, now: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        _has_vocabulary(name, vocabulary_id) for name, vocabulary_id in vocabulary_ids(filters).items()
    ]
    if filters.country:
        conditions.append(SpecialistProfile.country == filters.country.upper())
    if filters.city:
        conditions.append(func.lower(SpecialistProfile.city) == filters.city.lower())
    if filters.fee_min is not None:
        conditions.append(SpecialistProfile.fee_eur_cents >= filters.fee_min * 100)
    if filters.fee_max is not None:
        conditions.append(SpecialistProfile.fee_eur_cents <= filters.fee_max * 100)
    if filters.free:
        conditions.append(SpecialistProfile.offers_free_consultation == true())
    if filters.verified:
        conditions.append(SpecialistProfile.verification_status == VerificationStatus.VERIFIED)
    if filters.available:
        conditions.append(SpecialistProfile.next_available_at >= now)
        conditions.append(SpecialistProfile.next_available_at < now + AVAILABLE_WITHIN)
    if filters.q:
        condition = search_condition(filters.q)
        if condition is not None:
            conditions.append(condition)
    return conditions


def matching_ids(filters: DirectoryFilters, now: datetime) -> Select:
    """Ids of published profiles matching ``filters`` (unordered)."""
    return select(SpecialistProfile.id).where(SpecialistProfile.is_published == true(),
                                              *filter_conditions(filters, now))


def in_directory_order(stmt: Select) -> Select:
    """Soonest available first (profiles without free times last), then name: the order of
    ``ix_specialist_profiles_directory_order``, so a page is read from the index and stops early."""
    return stmt.order_by(SpecialistProfile.next_available_at.asc().nulls_last(), SpecialistProfile.display_name,
                         SpecialistProfile.id)


class Label(NamedTuple):
    label: str


@dataclass(frozen=True)
class DirectoryCard:
    """What ``specialists/_card.html`` shows of a profile, as plain values.

    The directory loads cards with two lean queries (columns, then every card's specialty and
    language labels at once) instead of hydrating ORM profiles and their relationships: about
    a third of a directory page's CPU before. Same attribute names as ``SpecialistProfile``,
    so the one card template serves both.
    """

    id: int
    slug: str
    display_name: str
    title: str | None
    photo_filename: str | None
    verification_status: VerificationStatus
    offers_free_consultation: bool
    fee_cents: int | None
    currency: str
    next_available_at: datetime | None
    specialties: tuple[Label, ...] = ()
    languages: tuple[Label, ...] = ()

    @property
    def is_verified(self) -> bool:
        return self.verification_status == VerificationStatus.VERIFIED


_CARD_COLUMNS = (
    SpecialistProfile.id, SpecialistProfile.slug, SpecialistProfile.display_name, SpecialistProfile.title,
    SpecialistProfile.photo_filename, SpecialistProfile.verification_status,
    SpecialistProfile.offers_free_consultation, SpecialistProfile.fee_cents, SpecialistProfile.currency,
    SpecialistProfile.next_available_at,
)


def _card_labels(ids: list[int]) -> dict[tuple[int, str], tuple[Label, ...]]:
    """(profile id, "specialties" | "languages") -> labels in label order, in one query."""
    parts = [
        select(link.c.profile_id, literal(kind).label("kind"), model.label)
        .join(model, model.id == column)
        .where(link.c.profile_id.in_(ids))
        for kind, (model, link, column) in (
            ("specialties", _VOCABULARY_FILTERS["specialty"]),
            ("languages", _VOCABULARY_FILTERS["language"]),
        )
    ]
    labels: dict[tuple[int, str], list[Label]] = {}
    ordered = union_all(*parts).order_by(literal_column("kind"), literal_column("label"))  # as the relationships
    for profile_id, kind, label in db.session.execute(ordered):
        labels.setdefault((profile_id, kind), []).append(Label(label))
    return {key: tuple(values) for key, values in labels.items()}


def load_cards(ids: list[int]) -> list[DirectoryCard]:
    """What the cards of these published profiles show (the caller restores the order of ``ids``)."""
    rows = db.session.execute(select(*_CARD_COLUMNS).where(SpecialistProfile.id.in_(ids),
                                                          SpecialistProfile.is_published == true())).all()
    labels = _card_labels([row.id for row in rows]) if rows else {}
    return [DirectoryCard(*row, specialties=labels.get((row.id, "specialties"), ()),
                          languages=labels.get((row.id, "languages"), ())) for row in rows]


def search_directory(filters: DirectoryFilters, page: Any = 1, *, now: datetime | None = None) -> Page:
    """One page of the directory: featured profiles that match come first (campaign order), then
    the rest in directory order. ``page.extra["featured_ids"]``: featured profiles on this page."""
    from marketplace.featured.services import active_featured_profile_ids, record_impressions

    matching = matching_ids(filters, now or utcnow())
    campaign_order = list(active_featured_profile_ids())
    featured: list[int] = []
    if campaign_order:
        found = set(db.session.scalars(matching.where(SpecialistProfile.id.in_(campaign_order))))
        featured = [pid for pid in campaign_order if pid in found]
        matching = matching.where(SpecialistProfile.id.not_in(campaign_order))
    result = paginate_ids(in_directory_order(matching), page, PER_PAGE, load_cards, leading_ids=featured)
    shown = [profile.id for profile in result.items if profile.id in set(featured)]
    result.extra["featured_ids"] = set(shown)
    if shown:
        record_impressions(shown, "directory")
    return result
