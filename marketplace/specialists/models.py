"""Specialist profiles and the fixed vocabularies they reference."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ColumnElement,
    Connection,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from marketplace.database import UTCDateTime, enum_type, utcnow
from marketplace.extensions import Model, db
from marketplace.money import to_eur_minor
from marketplace.scheduling.cancellation import (
    DEFAULT_FREE_NOTICE_HOURS,
    DEFAULT_LATE_REFUND,
    DEFAULT_PAID_NOTICE_HOURS,
    CancellationTerms,
    LateRefund,
)
from marketplace.specialists.search import profile_search_text


class VocabularyMixin:
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(80))


class Specialty(VocabularyMixin, Model):
    __tablename__ = "specialties"


class Approach(VocabularyMixin, Model):
    __tablename__ = "approaches"


class Language(VocabularyMixin, Model):
    __tablename__ = "languages"


class Format(VocabularyMixin, Model):
    """video / phone / in_person."""

    __tablename__ = "formats"


def _link_table(name: str, column: str, target_table: str) -> Table:
    return Table(
        name,
        db.metadata,
        Column("profile_id", ForeignKey("specialist_profiles.id", ondelete="CASCADE"), primary_key=True),
        Column(column, ForeignKey(f"{target_table}.id", ondelete="CASCADE"), primary_key=True, index=True),
    )


profile_specialties = _link_table("profile_specialties", "specialty_id", "specialties")
profile_approaches = _link_table("profile_approaches", "approach_id", "approaches")
profile_languages = _link_table("profile_languages", "language_id", "languages")
profile_formats = _link_table("profile_formats", "format_id", "formats")


class VerificationStatus(enum.StrEnum):
    UNSUBMITTED = "unsubmitted"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


def owns_profile(user: object, owner_id: int | None) -> bool:
    """Whether ``user`` is the specialist whose profile this is (the one rule, for rows and the
    cached pages' ``ProfileHead``)."""
    return owner_id is not None and getattr(user, "id", None) == owner_id


FREE_TIME_COLUMNS = ("free_utc_mon", "free_utc_tue", "free_utc_wed", "free_utc_thu", "free_utc_fri",
                     "free_utc_sat", "free_utc_sun")


class FreeTimesMixin:
    """Which UTC half-hours of the week have a free slot start in the next four weeks: one
    48-bit integer per UTC weekday (``scheduling.free_times``), written by the availability
    refresh with the snapshot. NULL: not computed yet (the next refresh fills it)."""

    free_utc_mon: Mapped[int | None] = mapped_column(BigInteger)
    free_utc_tue: Mapped[int | None] = mapped_column(BigInteger)
    free_utc_wed: Mapped[int | None] = mapped_column(BigInteger)
    free_utc_thu: Mapped[int | None] = mapped_column(BigInteger)
    free_utc_fri: Mapped[int | None] = mapped_column(BigInteger)
    free_utc_sat: Mapped[int | None] = mapped_column(BigInteger)
    free_utc_sun: Mapped[int | None] = mapped_column(BigInteger)


class SpecialistProfile(FreeTimesMixin, Model):
    __tablename__ = "specialist_profiles"
    __table_args__ = (
        CheckConstraint("fee_minor IS NULL OR fee_minor >= 0", name="fee_non_negative"),
        CheckConstraint("years_of_practice IS NULL OR years_of_practice >= 0", name="years_non_negative"),
        CheckConstraint("free_cancel_notice_hours >= 0 AND free_cancel_notice_hours <= 168",
                        name="free_cancel_notice_range"),
        CheckConstraint("paid_cancel_notice_hours >= 0 AND paid_cancel_notice_hours <= 168",
                        name="paid_cancel_notice_range"),
        # The directory's base filter and default sort.
        Index("ix_specialist_profiles_public", "is_published", "next_available_at"),
        # The directory's order over public profiles: walked in order, so a page stops early.
        Index("ix_specialist_profiles_directory_order", "next_available_at", "display_name", "id",
              postgresql_where=text("is_published"), sqlite_where=text("is_published")),
        # The directory's "Fee: low to high" (approximate euros, then name and id; no fee last, as
        # PostgreSQL's ascending default puts NULLs): a page is read in order and stops early.
        Index("ix_specialist_profiles_fee_order", "fee_eur_minor", "display_name", "id",
              postgresql_where=text("is_published"), sqlite_where=text("is_published")),
        # The directory's "Fast responders first": the measured reply time, then the confirmation
        # time, name and id (none last, as PostgreSQL's ascending default puts NULLs).
        Index("ix_specialist_profiles_reply_order", "reply_median_minutes", "confirm_median_minutes",
              "display_name", "id",
              postgresql_where=text("is_published"), sqlite_where=text("is_published")),
        Index("ix_specialist_profiles_fee", "fee_minor"),
        Index("ix_specialist_profiles_fee_eur", "fee_eur_minor"),
        Index("ix_specialist_profiles_location", "country", "city"),
        Index("ix_specialist_profiles_accepting", "accepting_new_clients"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    title: Mapped[str | None] = mapped_column(String(120))
    licence_type: Mapped[str | None] = mapped_column(String(120))
    licence_number: Mapped[str | None] = mapped_column(String(60))
    licence_jurisdiction: Mapped[str | None] = mapped_column(String(120))
    verification_status: Mapped[VerificationStatus] = mapped_column(
        enum_type(VerificationStatus, 12),
        default=VerificationStatus.UNSUBMITTED,
        index=True,
    )
    verification_note: Mapped[str | None] = mapped_column(String(500))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    years_of_practice: Mapped[int | None]
    city: Mapped[str | None] = mapped_column(String(80))
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    fee_minor: Mapped[int | None]  # minor units of `currency` (cents for EUR, yen for JPY): marketplace.money
    # Approximate fee in euro cents, kept in step with fee_minor/currency (see below), so the
    # directory's fee range and fee sort work across currencies.
    fee_eur_minor: Mapped[int | None]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    session_minutes: Mapped[int] = mapped_column(default=50)
    offers_free_consultation: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # Cancellation terms offered to new bookings (``scheduling.cancellation``; chosen with the booking
    # rules, consultations/availability.py). Each booking keeps its own copy.
    free_cancel_notice_hours: Mapped[int] = mapped_column(Integer, default=DEFAULT_FREE_NOTICE_HOURS,
                                                          server_default=text(str(DEFAULT_FREE_NOTICE_HOURS)))
    paid_cancel_notice_hours: Mapped[int] = mapped_column(Integer, default=DEFAULT_PAID_NOTICE_HOURS,
                                                          server_default=text(str(DEFAULT_PAID_NOTICE_HOURS)))
    paid_late_refund: Mapped[LateRefund] = mapped_column(enum_type(LateRefund, 8), default=DEFAULT_LATE_REFUND,
                                                         server_default=DEFAULT_LATE_REFUND.value)
    accepting_new_clients: Mapped[bool] = mapped_column(Boolean, default=True)
    bio_markdown: Mapped[str] = mapped_column(Text, default="")
    bio_html: Mapped[str] = mapped_column(Text, default="")  # sanitised render of bio_markdown
    # Name, title, place, vocabulary labels and bio, folded (``search.profile_search_text``): what
    # the directory's text search reads. Kept up to date on every flush (below).
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    photo_filename: Mapped[str | None] = mapped_column(String(80))
    video_link: Mapped[str | None] = mapped_column(String(300))  # meeting details: participants only
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(40))
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Soonest free consultation slot, refreshed when availability or bookings change,
    # so the directory can show and sort by it without computing slots per card.
    next_available_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # (The free_utc_* columns of ``FreeTimesMixin``: the directory's time-of-day filter, same refresh.)
    # Measured responsiveness over the last 90 days (medians in minutes; None below 5 data points):
    # written only by the messaging domain's periodic job (``messaging.responsiveness``), never on
    # the request path and without touching ``version_id`` (an open editor is not made stale).
    reply_median_minutes: Mapped[int | None] = mapped_column(Integer)
    confirm_median_minutes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version_id: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version_id}

    user = relationship("User", backref=db.backref("specialist_profile", uselist=False, lazy="select"))
    specialties: Mapped[list[Specialty]] = relationship(secondary=profile_specialties, order_by=Specialty.label)
    approaches: Mapped[list[Approach]] = relationship(secondary=profile_approaches, order_by=Approach.label)
    languages: Mapped[list[Language]] = relationship(secondary=profile_languages, order_by=Language.label)
    formats: Mapped[list[Format]] = relationship(secondary=profile_formats, order_by=Format.id)

    @hybrid_property
    def is_verified(self) -> bool:
        return self.verification_status == VerificationStatus.VERIFIED

    @hybrid_property
    def is_listed(self) -> bool:
        """Public: published by the specialist AND its licence verified by an admin. Only a listed
        profile is in the directory, has a public page, can be booked, messaged or featured; before
        (and after a rejection or revocation) its owner and admins see a preview. The one rule, in
        Python and (``is_listed`` on the class) in SQL."""
        return bool(self.is_published) and self.verification_status is VerificationStatus.VERIFIED

    @is_listed.inplace.expression
    @classmethod
    def _is_listed_expression(cls) -> ColumnElement[bool]:
        # The bare column (NOT NULL), not "IS TRUE": PostgreSQL matches it to the partial indexes'
        # "WHERE is_published" (directory and fee orders), which "is_published IS TRUE" never used.
        return and_(cls.is_published, cls.verification_status == VerificationStatus.VERIFIED)

    @property
    def free_terms(self) -> CancellationTerms:
        """The cancellation terms a new free consultation gets (no money, so no refund term)."""
        return CancellationTerms(self.free_cancel_notice_hours, LateRefund.NONE)

    @property
    def paid_terms(self) -> CancellationTerms:
        """The cancellation terms a new paid session gets."""
        return CancellationTerms(self.paid_cancel_notice_hours, self.paid_late_refund)

    def format_slugs(self) -> set[str]:
        return {f.slug for f in self.formats}

    @property
    def listed_since(self) -> datetime | None:
        """Since when it is public (for "New on Balance"): published, else created."""
        return self.published_at or self.created_at

    def can_edit(self, user: object) -> bool:
        return owns_profile(user, self.user_id)

    def can_preview(self, user: object) -> bool:
        """The owner (and admins, who verify licences) may see the profile before it is public."""
        return self.can_edit(user) or bool(getattr(user, "is_admin", False))

    def __repr__(self) -> str:
        return f"<SpecialistProfile {self.id} {self.slug}>"


# The city filter compares case-insensitively.
Index("ix_specialist_profiles_city_lower", func.lower(SpecialistProfile.__table__.c.city))
# The directory's "Fee: high to low" (no fee still last, then name and id ascending): not a
# backward walk of the ascending index. PostgreSQL only: SQLite's index columns know no NULLS LAST.
Index("ix_specialist_profiles_fee_desc_order", SpecialistProfile.__table__.c.fee_eur_minor.desc().nulls_last(),
      SpecialistProfile.__table__.c.display_name, SpecialistProfile.__table__.c.id,
      postgresql_where=text("is_published")).ddl_if(dialect="postgresql")


def profile_of(user: Any) -> SpecialistProfile | None:
    """The specialist profile of ``user``; None for clients, admins and visitors."""
    return getattr(user, "specialist_profile", None) if getattr(user, "is_specialist", False) else None


def profile_id_of(user: Any) -> int | None:
    """The id of ``user``'s specialist profile (None without one), without loading the profile."""
    return db.session.scalar(select(SpecialistProfile.id).where(SpecialistProfile.user_id == user.id))


def trigram_available(connection: Connection | None, *, installed: bool = True) -> bool:
    """Whether PostgreSQL's pg_trgm is installed in this database (``installed=False``: can be)."""
    if connection is None:  # compiling DDL without a database: assume it is
        return True
    catalog = "pg_extension WHERE extname" if installed else "pg_available_extensions WHERE name"
    return connection.execute(text(f"SELECT 1 FROM {catalog} = 'pg_trgm'")).first() is not None  # noqa: S608


def _trigram_index_wanted(ddl: Any, target: Any, bind: Connection | None, tables: Any = None, state: Any = None,
                          **kw: Any) -> bool:
    return trigram_available(bind)


def _create_trigram_extension(ddl: Any, target: Any, bind: Connection | None, tables: Any = None,
                              state: Any = None, **kw: Any) -> bool:
    return bind is not None and trigram_available(bind, installed=False)


# PostgreSQL answers the directory's text search (LIKE '%word%' on the folded text) from a trigram
# index. ``metadata.create_all`` (tests, the benchmark) creates the extension first when the server
# has it; the migration does the same. Without pg_trgm the index is left out and search still works.
event.listen(db.metadata, "before_create", DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(
    dialect="postgresql", callable_=_create_trigram_extension))
Index("ix_specialist_profiles_search_text", SpecialistProfile.__table__.c.search_text, postgresql_using="gin",
      postgresql_ops={"search_text": "gin_trgm_ops"}).ddl_if(dialect="postgresql", callable_=_trigram_index_wanted)

# What ``search_text`` is made of: a change to any of these recomputes it.
SEARCH_TEXT_SOURCES = ("display_name", "title", "city", "country", "bio_markdown", "specialties", "approaches",
                       "languages")


def refresh_search_text(profile: SpecialistProfile) -> None:
    """Recompute ``profile.search_text`` from its current values (the one place that does)."""
    profile.search_text = profile_search_text(
        display_name=profile.display_name, title=profile.title, city=profile.city, country=profile.country,
        bio=profile.bio_markdown, specialties=[v.label for v in profile.specialties],
        approaches=[v.label for v in profile.approaches], languages=[v.label for v in profile.languages])


@event.listens_for(Session, "before_flush")
def _keep_search_text(session: Session, _context: Any, _instances: Any) -> None:
    """New profiles, and profiles whose name, title, place, bio or vocabularies changed, get their
    ``search_text`` recomputed in the same flush, so it is committed (and the cached pages'
    versions bumped, ``bump_on_change``) with the change itself. Other updates (the soonest free
    time, verification) load nothing."""
    for row in (*session.new, *session.dirty):
        if not isinstance(row, SpecialistProfile):
            continue
        state = inspect(row)
        if state.pending or any(state.attrs[name].history.has_changes() for name in SEARCH_TEXT_SOURCES):
            refresh_search_text(row)


@event.listens_for(SpecialistProfile, "before_insert")
@event.listens_for(SpecialistProfile, "before_update")
def _keep_fee_in_eur(_mapper: Any, _connection: Any, profile: SpecialistProfile) -> None:
    profile.fee_eur_minor = to_eur_minor(profile.fee_minor, profile.currency)


class ProfileViewWeek(Model):
    """How often a profile was viewed in one week (weeks start on Monday, UTC; no personal data).

    Written off the request path: a profile page counts a view in ``marketplace.counters`` and the
    counters' job adds the sums (``specialists.profile_views.add_profile_views``, one upsert per
    week). Read by the specialist's weekly funnel."""

    __tablename__ = "profile_view_weeks"

    profile_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"),
                                            primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    views: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
