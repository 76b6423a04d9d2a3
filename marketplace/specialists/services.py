"""Specialist profile services: drafts, editing, publishing, licence verification,
and the base query every public listing of profiles starts from.

Services flush; the request (or CLI command) commits once.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from marketplace.account.hooks import data_exporter, deletion_hook
from marketplace.audit import record_audit
from marketplace.auth.confirmation import PUBLISH, confirmation_refusal
from marketplace.auth.hooks import registration_hooks
from marketplace.auth.models import Role, User
from marketplace.cache import bump_on_change
from marketplace.database import after_commit, unique_slug, utcnow
from marketplace.domain import DomainError
from marketplace.extensions import db
from marketplace.money import CURRENCIES, NotAnAmount, TooManyDecimals, to_major, to_minor
from marketplace.notifications.mail import render_mail, send_mail
from marketplace.specialists import photos
from marketplace.specialists.hooks import KEEP_CLOCK, KEEP_MOMENTS, availability_hooks
from marketplace.specialists.models import (
    Approach,
    Format,
    Language,
    SpecialistProfile,
    Specialty,
    VerificationStatus,
    refresh_search_text,
)
from marketplace.specialists.vocabulary import APPROACHES, FORMATS, LANGUAGES, SPECIALTIES
from marketplace.text import render_markdown, slugify
from marketplace.timeutil import is_valid_timezone, zone_or_utc

log = logging.getLogger(__name__)

# Every committed change to a profile row (an edit, publishing, verification, moderation) makes
# its cached page, the directory pages and the featured order stale in every process at once.
bump_on_change(SpecialistProfile, lambda profile: (f"profile:{profile.id}", "directory", "featured"))

# Path segments under /specialists/ that are pages, not profiles.
RESERVED_SLUGS = frozenset({"new", "me", "photos", "edit", "search"})
CONFLICT_MESSAGE = "This profile was changed elsewhere — please reload the page and make your changes again."


class ProfileError(DomainError):
    """A user-facing problem with a profile action (message is safe to show).

    ``field`` names the form field the message belongs to, when there is one.
    """

    def __init__(self, message: str, field: str | None = None, link: tuple[str, str] | None = None) -> None:
        super().__init__(message, field=field)
        self.link = link  # (label, endpoint) of the page where it is put right, if elsewhere


class ProfileConflict(ProfileError):
    """The profile changed since the editor was loaded (optimistic locking)."""

    def __init__(self) -> None:
        super().__init__(CONFLICT_MESSAGE)


# --- reading ---------------------------------------------------------------------------------

CARD_LOADS = (selectinload(SpecialistProfile.specialties), selectinload(SpecialistProfile.languages),
              selectinload(SpecialistProfile.formats))
PROFILE_LOADS = (*CARD_LOADS, selectinload(SpecialistProfile.approaches))


def published_profiles_query() -> Select:
    """Base select of public profiles with what a card shows eager-loaded (constant query count).

    Callers add their own filters and ordering, e.g. ``.where(SpecialistProfile.id.in_(ids))``.
    """
    return select(SpecialistProfile).where(SpecialistProfile.is_listed).options(*CARD_LOADS)


def profile_for_viewer(slug: str, viewer: Any) -> SpecialistProfile | None:
    """The profile at ``slug`` if ``viewer`` may see it: listed, or the owner's/an admin's preview."""
    profile = db.session.scalar(
        select(SpecialistProfile).where(SpecialistProfile.slug == slug).options(*PROFILE_LOADS)
    )
    if profile is None:
        return None
    if profile.is_listed or profile.can_preview(viewer):
        return profile
    return None


def own_profile(user: User) -> SpecialistProfile | None:
    """The profile belonging to ``user`` (every specialist has exactly one)."""
    return db.session.scalar(
        select(SpecialistProfile).where(SpecialistProfile.user_id == user.id).options(*PROFILE_LOADS)
    )


# --- drafts and becoming a specialist ---------------------------------------------------------

def unique_profile_slug(name: str) -> str:
    base = slugify(name, max_length=60)
    if base in RESERVED_SLUGS:
        base = f"{base}-profile"
    return unique_slug(SpecialistProfile.slug, base)


@registration_hooks.specialist_registered
def create_draft_profile(user: User) -> SpecialistProfile:
    """An unpublished profile for a new specialist account, in the user's time zone."""
    profile = SpecialistProfile(
        user=user,
        display_name=user.display_name,
        slug=unique_profile_slug(user.display_name),
        timezone=zone_or_utc(user.timezone),
    )
    db.session.add(profile)
    db.session.flush()
    return profile


def become_specialist(user: User) -> SpecialistProfile:
    """Turn a client account into a specialist account with a draft profile.

    Idempotent: a specialist gets their existing profile back. Admin accounts can't.
    """
    if user.role is Role.ADMIN:
        raise ProfileError("Admin accounts can't have a specialist profile. Sign up separately as a specialist.")
    existing = own_profile(user)
    if existing is not None:
        return existing
    before = {"role": user.role.value}
    user.role = Role.SPECIALIST
    try:
        with db.session.begin_nested():
            profile = create_draft_profile(user)
    except IntegrityError:  # a concurrent request created it first
        existing = own_profile(user)
        if existing is None:
            raise
        return existing
    record_audit(user, "user.became_specialist", user, before=before, after={"role": Role.SPECIALIST.value})
    db.session.flush()
    log.info("user %s became a specialist (profile %s)", user.id, profile.id)
    return profile


# --- editing ---------------------------------------------------------------------------------

@dataclass
class ProfileInput:
    """What the editor submits (already type-checked by the form)."""

    display_name: str
    title: str = ""
    licence_type: str = ""
    licence_number: str = ""
    licence_jurisdiction: str = ""
    years_of_practice: int | None = None
    specialties: list[str] = field(default_factory=list)
    approaches: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    city: str = ""
    country: str = ""
    timezone: str = "UTC"
    fee: Decimal | None = None  # major units of `currency`
    currency: str = "EUR"
    session_minutes: int = 50
    offers_free_consultation: bool = True
    accepting_new_clients: bool = True
    bio_markdown: str = ""
    video_link: str = ""
    address: str = ""
    phone: str = ""
    # When the zone changes and the profile has weekly hours: KEEP_CLOCK or KEEP_MOMENTS.
    zone_hours: str = ""


@dataclass
class SaveResult:
    profile: SpecialistProfile
    notices: list[str] = field(default_factory=list)


LICENCE_FIELDS = ("licence_type", "licence_number", "licence_jurisdiction")
SIMPLE_FIELDS = (
    "display_name", "title", *LICENCE_FIELDS, "years_of_practice", "city", "country", "timezone", "currency",
    "session_minutes", "offers_free_consultation", "accepting_new_clients", "bio_markdown", "video_link",
    "address", "phone",
)


def fee_to_minor_units(fee: Decimal | None, currency: str) -> int | None:
    """The editor's fee (major units, e.g. 90.50 EUR) in minor units (9050), as ``money.to_minor``
    converts it; yen and other zero-decimal currencies stay whole."""
    if fee is None:
        return None
    try:
        value = to_minor(fee, currency)
    except TooManyDecimals as exc:
        raise ProfileError(f"Enter the fee with at most {exc.currency.digits} decimal places for {currency}.",
                           "fee") from exc
    except (NotAnAmount, InvalidOperation) as exc:
        raise ProfileError("Enter the fee as a number.", "fee") from exc
    if value < 0:
        raise ProfileError("The fee can't be negative.", "fee")
    return value


def fee_in_major_units(profile: SpecialistProfile) -> Decimal | None:
    if profile.fee_minor is None:
        return None
    return to_major(profile.fee_minor, profile.currency)


def _vocabulary(model: Any, slugs: list[str]) -> list[Any]:
    if not slugs:
        return []
    return list(db.session.scalars(select(model).where(model.slug.in_(slugs))))


# --- meeting details: the one rule (the profile editor is the one place they are edited) ------

VIDEO_LINK_MESSAGE = "Enter a full link starting with https://, e.g. https://meet.example.org/your-room."
PHONE_MESSAGE = ("Enter a phone number clients can call, e.g. +49 30 1234567 (digits, spaces, + ( ) - / . only). "
                 "Leave it empty if you don't offer phone sessions.")
ADDRESS_MESSAGE = "Keep the practice address under 300 characters."
_PHONE = re.compile(r"^\+?[0-9()./\- ]{5,40}$")


def check_meeting_details(video_link: str | None, address: str | None, phone: str | None) -> dict[str, str | None]:
    """The one validation of meeting details (video link, practice address, phone number): the
    cleaned values (empty → None), or ProfileError naming the field."""
    video = (video_link or "").strip() or None
    place = (address or "").strip() or None
    number = (phone or "").strip() or None
    if video is not None:
        parts = urlsplit(video)
        if (parts.scheme not in ("https", "http") or "." not in parts.netloc or any(c.isspace() for c in video)
                or len(video) > 300):
            raise ProfileError(VIDEO_LINK_MESSAGE, "video_link")
    if place is not None and len(place) > 300:
        raise ProfileError(ADDRESS_MESSAGE, "address")
    if number is not None and (not _PHONE.match(number) or sum(c.isdigit() for c in number) < 5):
        raise ProfileError(PHONE_MESSAGE, "phone")
    return {"video_link": video, "address": place, "phone": number}


def _validated(data: ProfileInput) -> dict[str, Any]:
    if not is_valid_timezone(data.timezone):
        raise ProfileError("Choose a valid time zone.", "timezone")
    if data.currency not in CURRENCIES:
        raise ProfileError("Choose one of the listed currencies.", "currency")
    values = {name: getattr(data, name) for name in SIMPLE_FIELDS}
    for name, value in values.items():
        if isinstance(value, str) and name not in ("timezone", "currency", "bio_markdown", "display_name"):
            values[name] = value.strip() or None
    values["display_name"] = data.display_name.strip()
    if not values["display_name"]:
        raise ProfileError("Enter the name clients will see.", "display_name")
    values["country"] = (data.country or "").upper() or None
    values["fee_minor"] = fee_to_minor_units(data.fee, data.currency)
    values.update(check_meeting_details(data.video_link, data.address, data.phone))
    return values


def update_profile(profile: SpecialistProfile, data: ProfileInput, *, expected_version: int | None,
                   photo: IO[bytes] | None = None, remove_photo: bool = False) -> SaveResult:
    """Save the editor's changes if nobody changed the profile since the editor was loaded.

    Renders the bio through the one Markdown sanitiser, re-encodes a new photo, sends changed
    licence details back to verification, and unpublishes a published profile that is no longer
    complete. Raises ProfileConflict (stale version) or ProfileError (bad input); nothing changes then.
    """
    try:
        photo_bytes = photos.reencode_photo(photo, photos.max_photo_bytes()) if photo is not None else None
    except photos.PhotoError as exc:
        raise ProfileError(str(exc), "photo") from exc
    if expected_version != profile.version_id:
        raise ProfileConflict()
    values = _validated(data)
    zone_move = _zone_move(profile, values["timezone"], data.zone_hours)
    values.update(specialties=_vocabulary(Specialty, data.specialties),
                  approaches=_vocabulary(Approach, data.approaches),
                  languages=_vocabulary(Language, data.languages), formats=_vocabulary(Format, data.formats))
    result = SaveResult(profile)
    old_photo = profile.photo_filename
    availability_before = _availability_state(profile)
    with db.session.no_autoflush:  # loading the old collections must not flush half an edit
        _apply_changes(profile, values, result)
        if photo_bytes is not None:
            profile.photo_filename = photos.new_photo_filename()
        elif remove_photo:
            profile.photo_filename = None
        _hide_if_incomplete(profile, result)
    try:
        db.session.flush()
    except StaleDataError as exc:  # changed by a concurrent request between our read and write
        raise ProfileConflict() from exc

    if zone_move is not None:
        availability_hooks.notify_zone_changed(profile, *zone_move)
        result.notices.append(ZONE_MOVED_NOTICES[zone_move[2]].format(zone=profile.timezone))
    if _availability_state(profile) != availability_before:
        refresh_profile_availability(profile)
    if photo_bytes is not None:
        assert profile.photo_filename is not None  # named for the new photo above
        photos.store_photo(profile.photo_filename, photo_bytes)
    if old_photo and old_photo != profile.photo_filename:
        after_commit(lambda: photos.delete_photo(old_photo))
    log.info("profile %s updated", profile.id)
    return result


ZONE_HOURS_QUESTION = ("Your weekly hours are set in {zone}. Choose whether they keep the same local clock "
                       "times or the same moments in the new time zone.")
ZONE_MOVED_NOTICES = {
    KEEP_CLOCK: "Your weekly hours kept their clock times and are now in {zone}.",
    KEEP_MOMENTS: "Your weekly hours moved with the clock difference and are now shown in {zone}.",
}


def _zone_move(profile: SpecialistProfile, new_zone: str, keep: str) -> tuple[str, str, str] | None:
    """(old zone, new zone, keep) when the zone changes under existing hours; asks (ProfileError on
    ``zone_hours``) when the editor did not say how the hours should follow."""
    old_zone = profile.timezone
    if new_zone == old_zone or not availability_hooks.profile_has_hours(profile):
        return None
    if keep not in ZONE_MOVED_NOTICES:
        raise ProfileError(ZONE_HOURS_QUESTION.format(zone=old_zone), "zone_hours")
    return old_zone, new_zone, keep


def _apply_changes(profile: SpecialistProfile, values: dict[str, Any], result: SaveResult) -> None:
    licence_before = [getattr(profile, name) for name in LICENCE_FIELDS]
    for name, value in values.items():
        setattr(profile, name, value)
    profile.bio_html = str(render_markdown(profile.bio_markdown))
    licence_changed = [getattr(profile, name) for name in LICENCE_FIELDS] != licence_before
    if licence_changed and profile.verification_status in (VerificationStatus.VERIFIED,
                                                           VerificationStatus.REJECTED):
        # A verified badge belongs to the licence that was checked, not to whatever is typed later.
        profile.verification_status = VerificationStatus.PENDING
        profile.verified_at = None
        result.notices.append("Your licence details changed, so they will be verified again. Until then your "
                              "profile is not listed and cannot be booked.")


def _hide_if_incomplete(profile: SpecialistProfile, result: SaveResult) -> None:
    missing = missing_profile_fields(profile)
    if profile.is_published and missing:
        profile.is_published = False
        result.notices.append("Your profile is no longer complete, so it is now hidden from the directory. "
                              f"Add {', '.join(missing)} and publish it again.")


# Fields that decide whether (and when) a profile can be booked: changing one recomputes
# ``next_available_at`` at once, so the directory shows and sorts by the right time.
AVAILABILITY_FIELDS = ("offers_free_consultation", "accepting_new_clients", "timezone", "is_published",
                       "verification_status")


def _availability_state(profile: SpecialistProfile) -> tuple[Any, ...]:
    return tuple(getattr(profile, name) for name in AVAILABILITY_FIELDS)


def refresh_profile_availability(profile: SpecialistProfile) -> None:
    """Its bookability changed: availability and ``next_available_at`` are refreshed after commit
    (by the consultations domain, through ``availability_hooks``)."""
    availability_hooks.notify_calendar_changed([profile.id])


# --- completeness and publishing -------------------------------------------------------------

def missing_profile_fields(profile: SpecialistProfile) -> list[str]:
    """What a profile still needs before it can be public (empty list = complete).

    The one definition of "complete", used by publishing and by the editor's checklist.
    """
    missing = []
    if not (profile.title or "").strip():
        missing.append("a professional title")
    if not (profile.bio_markdown or "").strip():
        missing.append("a bio")
    if not profile.specialties:
        missing.append("at least one specialty")
    if not profile.languages:
        missing.append("at least one language")
    if not profile.formats:
        missing.append("at least one session format")
    if not is_valid_timezone(profile.timezone):
        missing.append("your time zone")
    if profile.fee_minor is None or not profile.currency:
        missing.append("your session fee and currency")
    if not all((getattr(profile, name) or "").strip() for name in LICENCE_FIELDS):
        missing.append("your licence type, number and jurisdiction")
    formats = profile.format_slugs()
    if "video" in formats and not profile.video_link:
        missing.append("a video meeting link (you offer video sessions)")
    if "in_person" in formats and not profile.address:
        missing.append("your practice address (you offer in-person sessions)")
    return missing


HOURS_MISSING = "your weekly hours (clients book you in them)"
HOURS_FIRST = "Add your weekly hours first: clients can only book you in the hours you set."
AVAILABILITY_LINK = ("Set your weekly hours", "consultations.availability")


def missing_for_publishing(profile: SpecialistProfile) -> list[str]:
    """``missing_profile_fields`` and, without any weekly or extra hours, ``HOURS_MISSING``: the
    editor's "Before you can publish" list and the publishing rule. (A published profile whose
    hours are removed stays published: that is its calendar, not its content.)"""
    missing = missing_profile_fields(profile)
    if not availability_hooks.profile_has_hours(profile):
        missing.append(HOURS_MISSING)
    return missing


def publish_profile(profile: SpecialistProfile, actor: User) -> SpecialistProfile:
    """Make a complete profile public; its licence goes to the verification queue if not yet submitted."""
    if not profile.can_edit(actor):
        raise ProfileError("You can only publish your own profile.")
    refusal = confirmation_refusal(actor, PUBLISH)
    if refusal:
        raise ProfileError(refusal)
    missing = missing_profile_fields(profile)
    no_hours = not availability_hooks.profile_has_hours(profile)
    if missing:
        raise ProfileError(f"Your profile can't be published yet. Please add {', '.join(missing)}"
                           f"{' and ' + HOURS_MISSING if no_hours else ''}.",
                           link=AVAILABILITY_LINK if no_hours else None)
    if no_hours:
        raise ProfileError(HOURS_FIRST, link=AVAILABILITY_LINK)
    if profile.is_published:
        return profile
    profile.is_published = True
    profile.published_at = utcnow()
    if profile.verification_status is VerificationStatus.UNSUBMITTED:
        profile.verification_status = VerificationStatus.PENDING
    db.session.flush()
    refresh_profile_availability(profile)
    log.info("profile %s published", profile.id)
    return profile


def unpublish_profile(profile: SpecialistProfile, actor: User) -> SpecialistProfile:
    """Hide a profile from the directory and its public page (the owner can still preview it)."""
    if not profile.can_edit(actor):
        raise ProfileError("You can only unpublish your own profile.")
    if not profile.is_published:
        return profile
    profile.is_published = False
    db.session.flush()
    refresh_profile_availability(profile)
    log.info("profile %s unpublished", profile.id)
    return profile


# --- licence verification (admin) ------------------------------------------------------------

def pending_verifications() -> list[SpecialistProfile]:
    """Profiles whose licence waits for an admin, oldest first."""
    stmt = (
        select(SpecialistProfile)
        .where(SpecialistProfile.verification_status == VerificationStatus.PENDING)
        .options(selectinload(SpecialistProfile.user))
        .order_by(SpecialistProfile.updated_at, SpecialistProfile.id)
    )
    return list(db.session.scalars(stmt))


def _verification_snapshot(profile: SpecialistProfile) -> dict[str, Any]:
    return {
        "verification_status": profile.verification_status.value,
        "licence_type": profile.licence_type,
        "licence_number": profile.licence_number,
        "licence_jurisdiction": profile.licence_jurisdiction,
        "verification_note": profile.verification_note,
    }


def _pending_for(admin: User, profile_id: int) -> SpecialistProfile:
    if not getattr(admin, "is_admin", False):
        raise ProfileError("Only admins can verify licences.")
    profile = db.session.get(SpecialistProfile, profile_id, with_for_update=True)
    if profile is None or profile.verification_status is not VerificationStatus.PENDING:
        raise ProfileError("This profile is no longer waiting for verification.")
    return profile


def verify_licence(admin: User, profile_id: int) -> SpecialistProfile:
    """Approve a pending licence: the profile shows the verified badge; audit-logged, specialist e-mailed."""
    profile = _pending_for(admin, profile_id)
    before = _verification_snapshot(profile)
    profile.verification_status = VerificationStatus.VERIFIED
    profile.verified_at = utcnow()
    profile.verification_note = None
    record_audit(admin, "licence.verified", profile, before=before, after=_verification_snapshot(profile))
    send_mail(profile.user.email, "Your licence has been verified",
              render_mail("specialists/email/licence_verified.txt", profile=profile))
    db.session.flush()
    refresh_profile_availability(profile)  # listed (if published): bookable from now on
    log.info("profile %s licence verified by %s", profile.id, admin.id)
    return profile


def reject_licence(admin: User, profile_id: int, reason: str) -> SpecialistProfile:
    """Reject a pending licence with a reason the specialist sees; audit-logged, specialist e-mailed."""
    reason = _rejection_reason(reason)
    profile = _pending_for(admin, profile_id)
    _unverify(admin, profile, reason, revoked=False)
    log.info("profile %s licence rejected by %s", profile.id, admin.id)
    return profile


def revoke_licence(admin: User, profile_id: int, reason: str) -> SpecialistProfile:
    """Withdraw a verification (the licence lapsed, a complaint…): the profile leaves the directory
    and booking at once; audit-logged, the specialist e-mailed with the reason. What happens to the
    consultations already booked is the admin's choice (``admin.services.revoke_verification``)."""
    reason = _rejection_reason(reason)
    if not getattr(admin, "is_admin", False):
        raise ProfileError("Only admins can revoke a verification.")
    profile = db.session.get(SpecialistProfile, profile_id, with_for_update=True)
    if profile is None or profile.verification_status is not VerificationStatus.VERIFIED:
        raise ProfileError("This profile's licence is not verified (any more).")
    _unverify(admin, profile, reason, revoked=True)
    log.info("profile %s licence verification revoked by %s", profile.id, admin.id)
    return profile


def _unverify(admin: User, profile: SpecialistProfile, reason: str, *, revoked: bool) -> None:
    """Rejected (or revoked): not listed from this commit on; audit-logged, the specialist e-mailed why."""
    before = _verification_snapshot(profile)
    profile.verification_status = VerificationStatus.REJECTED
    profile.verified_at = None
    profile.verification_note = reason
    record_audit(admin, "licence.revoked" if revoked else "licence.rejected", profile, before=before,
                 after=_verification_snapshot(profile))
    send_mail(profile.user.email,
              "We have withdrawn your licence verification" if revoked else "We could not verify your licence",
              render_mail("specialists/email/licence_rejected.txt", profile=profile, reason=reason, revoked=revoked))
    db.session.flush()
    refresh_profile_availability(profile)


def _rejection_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ProfileError("Please give the specialist a reason.", "reason")
    if len(reason) > 500:
        raise ProfileError("Keep the reason under 500 characters.", "reason")
    return reason


# --- search text ------------------------------------------------------------------------------

SEARCH_TEXT_BATCH = 500


def refresh_all_search_texts() -> int:
    """Recompute every profile's ``search_text`` (after a vocabulary label or the folding changed;
    edits keep it up to date on their own). Commits per batch; returns how many changed. The
    changed rows bump the cached pages like any edit."""
    changed, after = 0, 0
    while True:
        batch = list(db.session.scalars(
            select(SpecialistProfile).where(SpecialistProfile.id > after).order_by(SpecialistProfile.id)
            .limit(SEARCH_TEXT_BATCH).options(*PROFILE_LOADS)))
        if not batch:
            return changed
        for profile in batch:
            before = profile.search_text
            refresh_search_text(profile)
            changed += profile.search_text != before
        after = batch[-1].id
        db.session.commit()


# --- account export and deletion -------------------------------------------------------------

@data_exporter("specialist_profile")
def export_specialist_profile(user: User) -> dict[str, Any] | None:
    profile = own_profile(user)
    if profile is None:
        return None
    data: dict[str, Any] = {name: getattr(profile, name) for name in SIMPLE_FIELDS}
    data.update(
        slug=profile.slug,
        fee_minor=profile.fee_minor,
        photo_filename=profile.photo_filename,
        is_published=profile.is_published,
        verification_status=profile.verification_status.value,
        verification_note=profile.verification_note,
        specialties=[v.slug for v in profile.specialties],
        approaches=[v.slug for v in profile.approaches],
        languages=[v.slug for v in profile.languages],
        formats=[v.slug for v in profile.formats],
        cancellation_terms={"free_notice_hours": profile.free_cancel_notice_hours,
                            "paid_notice_hours": profile.paid_cancel_notice_hours,
                            "paid_late_refund": profile.paid_late_refund.value},
        created_at=profile.created_at.isoformat(),
        updated_at=profile.updated_at.isoformat(),
    )
    return data


@deletion_hook(order=90)  # after consultations were cancelled in the specialist's name
def erase_specialist_profile(user: User) -> None:
    """Hide the profile and erase its personal details; the row stays for past consultations."""
    profile = own_profile(user)
    if profile is None:
        return
    old_photo = profile.photo_filename
    profile.is_published = False
    profile.display_name = "Deleted specialist"
    profile.slug = f"deleted-{profile.id}"
    for name in ("title", *LICENCE_FIELDS, "city", "video_link", "address", "phone", "photo_filename",
                 "verification_note"):
        setattr(profile, name, None)
    profile.bio_markdown = ""
    profile.bio_html = ""
    db.session.flush()
    if old_photo:
        after_commit(lambda: photos.delete_photo(old_photo))


# --- vocabularies -----------------------------------------------------------------------------

def ensure_vocabularies() -> None:
    """Insert any missing vocabulary rows (idempotent; the migration seeds them)."""
    for model, entries in ((Specialty, SPECIALTIES), (Approach, APPROACHES), (Language, LANGUAGES),
                           (Format, FORMATS)):
        existing = set(db.session.scalars(select(model.slug)))
        for slug, label in entries:
            if slug not in existing:
                db.session.add(model(slug=slug, label=label))
    db.session.flush()
