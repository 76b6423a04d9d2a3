"""The earlier-slot waitlist: "Tell me if an earlier time frees up" on a specialist's booking page.

* A client who may book a free consultation with a specialist joins their waitlist (one entry per
  client and specialist: a unique constraint), for a time earlier than the earliest free one when
  they joined — or for any time when nothing was free — optionally only on some weekdays and times
  of day (``scheduling.weeks``' parts of the day, in the client's zone). Joining books nothing;
  booking a free consultation with the specialist in any way leaves the waitlist
  (``booking_hooks.after_booking``).
* After the commit of every calendar change (``availability.on_calendar_changed``) the job
  ``offer_freed_times`` looks at the specialist's free times and, in join order, offers each
  waiting client the earliest time that suits them and was never offered to them: a
  ``WaitlistOffer`` whose ``OccupiedBlock`` rows hold the time for ``OFFER_HOLD`` — the unique
  constraint (specialist, block) that refuses double bookings makes exactly one holder win — and
  an e-mail with the claim link (written by the worker, the time in the client's zone).
* Claiming (``claim_offer``) turns the hold into a free consultation through
  ``book_free_consultation`` (every booking rule applies): one conditional UPDATE
  (state offered → claimed, not yet expired) decides the one claim that counts.
* Every minute ``expire_offers`` ends the holds not claimed in time with one conditional
  ``UPDATE … RETURNING`` (two runs at once expire each offer once), frees their blocks and offers
  the time to the next waiting client.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload

from marketplace.audit import record_audit
from marketplace.auth.confirmation import BOOK, confirmation_refusal
from marketplace.auth.models import User
from marketplace.consultations.availability import (
    bookable_slots,
    calendar_changed,
    load_calendar,
    offers_booking,
    on_calendar_changed,
)
from marketplace.consultations.booking import (
    DUPLICATE,
    BookingError,
    active_free_consultation,
    book_free_consultation,
)
from marketplace.consultations.hooks import booking_hooks
from marketplace.consultations.models import (
    BLOCK_MINUTES,
    FREE_CONSULTATION_MINUTES,
    RELEASED_STATES,
    WEEKDAYS,
    Consultation,
    ConsultationKind,
    OccupiedBlock,
    OfferState,
    WaitlistEntry,
    WaitlistOffer,
)
from marketplace.database import execute_dml, utcnow, violated_constraint
from marketplace.domain import DomainError
from marketplace.extensions import db
from marketplace.jobs import enqueue, jobs
from marketplace.notifications.mail import NothingToSay, external_url, mail_composer, render_mail, send_composed_mail
from marketplace.scheduling.slots import occupied_block_starts
from marketplace.scheduling.weeks import DAY_PARTS, TIME_FILTER_LABELS, TimeFilter
from marketplace.specialists.models import SpecialistProfile
from marketplace.timeutil import format_datetime, user_zone, zone_or_utc

log = logging.getLogger(__name__)

OFFER_HOLD = timedelta(minutes=15)
ONE_OPEN_OFFER_INDEX = "uq_waitlist_offers_one_open_per_pair"
OFFER_MAIL = "waitlist_offer"
_OFFER_SIGNING_SALT = "waitlist-offer"  # noqa: S105 - a namespace for the signature, not a secret

ALREADY_WAITING = "You are already on {name}'s waitlist."
OFFER_TAKEN = "Sorry, this time was just taken. You stay on the waitlist: we will e-mail you if another time frees up."
OFFER_ENDED = ("This time is no longer held for you: the 15 minutes have passed and it went to the next person "
               "waiting. You stay on the waitlist.")
OFFER_CLAIMED = "You have booked this time already."


class WaitlistError(DomainError):
    """Joining or leaving a waitlist was refused; the message is shown to the client."""


# --- what an entry waits for (pure) ------------------------------------------------------------

def weekday_mask(weekdays: Iterable[int | str]) -> int:
    """Bit ``d`` for each weekday ``d`` (Monday 0) chosen; 0 (any day) when none. Unknown values are refused."""
    mask = 0
    for value in weekdays:
        day = int(value)
        if day not in range(7):
            raise WaitlistError("Choose days of the week from the list.")
        mask |= 1 << day
    return mask


def clean_parts(parts: Iterable[str]) -> str:
    """The times of day chosen, in their usual order ("morning,evening"); unknown values are refused."""
    chosen = set(parts)
    if not chosen <= set(DAY_PARTS):
        raise WaitlistError("Choose times of day from the list.")
    return ",".join(part for part in DAY_PARTS if part in chosen)


def slot_suits(entry: WaitlistEntry, start_utc: datetime) -> bool:
    """Whether a free time is one ``entry`` waits for: before its ``before_utc`` (if any), on one of
    its weekdays and times of day (if any), both in the entry's zone."""
    if entry.before_utc is not None and start_utc >= entry.before_utc:
        return False
    local = start_utc.astimezone(ZoneInfo(zone_or_utc(entry.timezone)))
    if entry.weekdays and not entry.weekdays & (1 << local.weekday()):
        return False
    return TimeFilter(frozenset(p for p in entry.parts.split(",") if p)).matches(local)


def describe(entry: WaitlistEntry) -> str:
    """What the entry waits for, as read: "Mondays or Fridays, mornings" ("any day and time" when open)."""
    days = [f"{WEEKDAYS[d]}s" for d in range(7) if entry.weekdays & (1 << d)]
    parts = [f"{TIME_FILTER_LABELS[p].lower()}s" for p in entry.parts.split(",") if p]
    said = ", ".join(filter(None, [" or ".join(days), " or ".join(parts)]))
    return said or "any day and time"


# --- joining and leaving ---------------------------------------------------------------------

def join_waitlist(client: User, profile: SpecialistProfile, *, weekdays: Iterable[int | str] = (),
                  parts: Iterable[str] = (), tz: str, now: datetime | None = None) -> WaitlistEntry:
    """Put ``client`` on ``profile``'s waitlist for a time earlier than the earliest free one now
    (any time when none is free), limited to ``weekdays``/``parts`` in zone ``tz``. Books nothing.

    Refused (``WaitlistError``) for anyone who may not book a free consultation with them: not a
    client, e-mail not confirmed, the specialist not taking bookings, a free consultation with
    them already (one per pair), or already waiting."""
    now = now or utcnow()
    if not getattr(client, "is_client", False):
        raise WaitlistError("Only client accounts can join a waitlist.")
    refusal = confirmation_refusal(client, BOOK)
    if refusal:
        raise WaitlistError(refusal)
    if not offers_booking(profile):
        raise WaitlistError(f"{profile.display_name} is not offering free consultations right now.")
    if active_free_consultation(client.id, profile.id) is not None:
        raise WaitlistError(DUPLICATE.format(name=profile.display_name))
    mask, chosen = weekday_mask(weekdays), clean_parts(parts)
    slots = bookable_slots(profile, now)
    entry = WaitlistEntry(client_id=client.id, specialist_id=profile.id, before_utc=slots[0] if slots else None,
                          weekdays=mask, parts=chosen, timezone=zone_or_utc(tz), created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(entry)
            db.session.flush()
    except IntegrityError:
        raise WaitlistError(ALREADY_WAITING.format(name=profile.display_name)) from None
    record_audit(client, "waitlist.joined", entry, after={"specialist_id": profile.id, "earlier_than":
                                                          entry.before_utc.isoformat() if entry.before_utc else None})
    log.info("client %s joined the waitlist of profile %s", client.id, profile.id)
    return entry


def _withdraw_open_offer(client_id: int, specialist_id: int, now: datetime) -> None:
    """End the time held for this client with this specialist, if any, and free it (it is offered
    to the next person waiting once the change is committed)."""
    ended = db.session.execute(
        update(WaitlistOffer)
        .where(WaitlistOffer.client_id == client_id, WaitlistOffer.specialist_id == specialist_id,
               WaitlistOffer.state == OfferState.OFFERED)
        .values(state=OfferState.WITHDRAWN, ended_at=now)
        .returning(WaitlistOffer.id).execution_options(synchronize_session=False)
    ).scalars().all()
    if ended:
        db.session.execute(delete(OccupiedBlock).where(OccupiedBlock.waitlist_offer_id.in_(ended)))
        calendar_changed([specialist_id], blocks_only=True)


def leave_waitlist(entry: WaitlistEntry, user: User, now: datetime | None = None) -> None:
    """The client leaves the waitlist; a time held for them is freed (and passed on)."""
    if not entry.can_leave(user):
        raise WaitlistError("This is not your waitlist.")
    _withdraw_open_offer(entry.client_id, entry.specialist_id, now or utcnow())
    record_audit(user, "waitlist.left", entry, before={"specialist_id": entry.specialist_id})
    db.session.delete(entry)
    db.session.flush()


@booking_hooks.after_booking
def leave_after_booking(consultation: Consultation) -> None:
    """A client who books a free consultation with the specialist (any way) leaves their waitlist."""
    if consultation.kind is not ConsultationKind.FREE:
        return
    # One statement for a client who was not waiting (every booking runs this); a held time
    # exists only with its entry (leaving withdraws it), so only a waiting client's is looked for.
    left = db.session.execute(
        delete(WaitlistEntry).where(WaitlistEntry.client_id == consultation.client_id,
                                    WaitlistEntry.specialist_id == consultation.specialist_id)
        .returning(WaitlistEntry.id).execution_options(synchronize_session=False)).first()
    if left is not None:
        _withdraw_open_offer(consultation.client_id, consultation.specialist_id, utcnow())


@dataclass
class MyWaitlist:
    """A client's waitlists and the times held for them (``My consultations``)."""

    entries: list[WaitlistEntry]
    offers: dict[int, WaitlistOffer]  # open offers by specialist id


def waitlist_of(client: Any) -> MyWaitlist:
    """The client's waitlist entries (oldest first) and their open offers: two queries."""
    if not getattr(client, "is_client", False):
        return MyWaitlist([], {})
    entries = list(db.session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.client_id == client.id)
        .options(joinedload(WaitlistEntry.specialist)).order_by(WaitlistEntry.created_at, WaitlistEntry.id)))
    offers: dict[int, WaitlistOffer] = {}
    if entries:
        offers = {o.specialist_id: o for o in db.session.scalars(select(WaitlistOffer).where(
            WaitlistOffer.client_id == client.id, WaitlistOffer.state == OfferState.OFFERED))}
    return MyWaitlist(entries, offers)


# --- offering freed times ----------------------------------------------------------------------

def _waiting_entries(profile_ids: list[int]) -> list[WaitlistEntry]:
    """Entries of these profiles without a held time, in join order."""
    has_open_offer = select(WaitlistOffer.id).where(
        WaitlistOffer.client_id == WaitlistEntry.client_id, WaitlistOffer.specialist_id == WaitlistEntry.specialist_id,
        WaitlistOffer.state == OfferState.OFFERED).exists()
    return list(db.session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.specialist_id.in_(profile_ids), ~has_open_offer)
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)))


def _hold(entry: WaitlistEntry, start_utc: datetime, buffer_minutes: int, now: datetime) -> str | None:
    """Hold ``start_utc`` for ``entry``'s client and queue their e-mail, in one savepoint. None on
    success, else "taken" (the time's blocks are held or booked) or "has_offer" (the client holds
    a time with this specialist already: another run was faster)."""
    end_utc = start_utc + timedelta(minutes=FREE_CONSULTATION_MINUTES)
    offer = WaitlistOffer(entry_id=entry.id, client_id=entry.client_id, specialist_id=entry.specialist_id,
                          start_utc=start_utc, end_utc=end_utc, state=OfferState.OFFERED,
                          expires_at=now + OFFER_HOLD, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(offer)
            db.session.flush()
            db.session.execute(insert(OccupiedBlock), [
                {"specialist_id": entry.specialist_id, "block_start_utc": block, "waitlist_offer_id": offer.id}
                for block in occupied_block_starts(start_utc, end_utc, buffer_minutes, BLOCK_MINUTES)])
            _queue_offer_mail(offer, entry)
            db.session.flush()
    except IntegrityError as exc:
        return "has_offer" if violated_constraint(exc) == ONE_OPEN_OFFER_INDEX else "taken"
    except OperationalError as exc:
        if not any(word in str(exc).lower() for word in ("locked", "busy", "deadlock")):
            raise
        return "taken"
    log.info("waitlist offer %s holds a time of profile %s for client %s", offer.id, entry.specialist_id,
             entry.client_id)
    return None


def offer_times(profile_ids: Iterable[int], now: datetime | None = None) -> int:
    """Offer these profiles' free times to their waiting clients: in join order, each client gets
    the earliest free time that suits them, was never offered to them and leaves the full hold
    before the specialist's minimum notice. Returns how many offers were made.

    Safe to run any number of times at once: a time is held by one offer only (occupied blocks),
    a client holds one time per specialist (a partial unique index)."""
    now = now or utcnow()
    ids = sorted({int(pid) for pid in profile_ids})
    entries = _waiting_entries(ids)
    if not entries:
        return 0
    by_profile: dict[int, list[WaitlistEntry]] = {}
    for entry in entries:
        by_profile.setdefault(entry.specialist_id, []).append(entry)
    clients = {e.client_id for e in entries}
    booked: set[Any] = set(db.session.execute(select(Consultation.client_id, Consultation.specialist_id).where(
        Consultation.specialist_id.in_(list(by_profile)), Consultation.client_id.in_(clients),
        Consultation.kind == ConsultationKind.FREE, Consultation.state.not_in(RELEASED_STATES))).all())
    offered: set[Any] = set(db.session.execute(select(WaitlistOffer.client_id, WaitlistOffer.specialist_id,
                                            WaitlistOffer.start_utc).where(
        WaitlistOffer.specialist_id.in_(list(by_profile)), WaitlistOffer.client_id.in_(clients))).all())
    profiles = {p.id: p for p in db.session.scalars(select(SpecialistProfile).where(
        SpecialistProfile.id.in_(list(by_profile))))}
    made = 0
    changed: set[int] = set()
    for pid, waiting in by_profile.items():
        profile = profiles[pid]
        if not offers_booking(profile):
            continue
        calendar = load_calendar(profile, now)
        latest_notice = now + OFFER_HOLD + timedelta(minutes=calendar.settings.min_notice_minutes)
        free = [s for s in calendar.free_slots(now) if s >= latest_notice]
        given: set[datetime] = set()
        for entry in waiting:
            if (entry.client_id, pid) in booked:
                continue  # booked another way (the booking hook removes the entry)
            for start in free:
                if start in given or (entry.client_id, pid, start) in offered or not slot_suits(entry, start):
                    continue
                outcome = _hold(entry, start, calendar.settings.buffer_minutes, now)
                if outcome == "has_offer":
                    break
                given.add(start)
                if outcome is None:
                    made += 1
                    changed.add(pid)
                    break
    if changed:
        calendar_changed(changed, blocks_only=True)
    return made


@jobs.task
def offer_freed_times(profile_ids: list[int]) -> int:
    """Job, queued after the commit of every calendar change: ``offer_times``."""
    return offer_times(profile_ids)


@on_calendar_changed
def _queue_offers(profile_ids: list[int]) -> None:
    enqueue(offer_freed_times, profile_ids)


def expire_offers(now: datetime | None = None) -> list[int]:
    """End the holds not claimed in time, each exactly once (one conditional UPDATE … RETURNING:
    of two runs at once, each offer is returned to one), free their times and offer them to the
    next waiting clients. Also drops entries waiting for a time earlier than one already past.
    Returns the ids of the expired offers."""
    now = now or utcnow()
    rows = db.session.execute(
        update(WaitlistOffer).where(WaitlistOffer.state == OfferState.OFFERED, WaitlistOffer.expires_at <= now)
        .values(state=OfferState.EXPIRED, ended_at=now)
        .returning(WaitlistOffer.id, WaitlistOffer.specialist_id).execution_options(synchronize_session=False)
    ).all()
    db.session.execute(delete(WaitlistEntry).where(WaitlistEntry.before_utc <= now))
    if not rows:
        return []
    expired = [row.id for row in rows]
    db.session.execute(delete(OccupiedBlock).where(OccupiedBlock.waitlist_offer_id.in_(expired)))
    profile_ids = {row.specialist_id for row in rows}
    calendar_changed(profile_ids, blocks_only=True)
    log.info("%s waitlist offer(s) expired", len(expired))
    offer_times(profile_ids, now)
    return expired


@jobs.periodic(minute="*")
def expire_waitlist_offers() -> int:
    """Periodic job, every minute: ``expire_offers``."""
    return len(expire_offers())


# --- claiming --------------------------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_OFFER_SIGNING_SALT)


def offer_token(offer: WaitlistOffer) -> str:
    """The claim link's token: the offer id, signed (not guessable, nothing stored)."""
    return str(_serializer().dumps(offer.id))


def offer_from_token(token: str) -> WaitlistOffer | None:
    """The offer a claim link names; None for a token that is not one of ours."""
    if len(token) > 200:
        return None
    try:
        offer_id = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(offer_id, int):
        return None
    return db.session.scalar(select(WaitlistOffer).where(WaitlistOffer.id == offer_id)
                             .options(joinedload(WaitlistOffer.specialist)))


def claim_offer(offer: WaitlistOffer, client: User, format_slug: str | None, note: str | None = None, *,
                now: datetime | None = None) -> Consultation:
    """Book the time ``offer`` holds for ``client``: its free consultation, through
    ``book_free_consultation`` (every booking rule applies). The hold is ended by one conditional
    UPDATE (offered and not expired → claimed): of any number of claims at once one counts, the
    others are told the time was just taken (``BookingError``: ``taken``, ``claimed`` — booked
    already, a second tap —, ``expired``, or the booking's own refusal). If the booking is refused,
    nothing changes (the hold stays until it expires)."""
    now = now or utcnow()
    if not offer.can_claim(client):
        raise BookingError("This offer is not yours.", "invalid")
    if offer.state is OfferState.CLAIMED:
        raise BookingError(OFFER_CLAIMED, "claimed")
    try:
        with db.session.begin_nested():
            taken = execute_dml(
                update(WaitlistOffer)
                .where(WaitlistOffer.id == offer.id, WaitlistOffer.state == OfferState.OFFERED,
                       WaitlistOffer.expires_at > now)
                .values(state=OfferState.CLAIMED, ended_at=now).execution_options(synchronize_session=False))
            if taken.rowcount != 1:
                raise BookingError(OFFER_TAKEN, "taken")
            db.session.execute(delete(OccupiedBlock).where(OccupiedBlock.waitlist_offer_id == offer.id))
            consultation = book_free_consultation(client, offer.specialist, offer.start_utc, format_slug, note,
                                                  now=now)
            execute_dml(update(WaitlistOffer).where(WaitlistOffer.id == offer.id)
                        .values(consultation_id=consultation.id).execution_options(synchronize_session=False))
    except BookingError as lost:
        db.session.refresh(offer)
        raise _explained(offer, lost, now) from None
    except OperationalError as exc:
        if not any(word in str(exc).lower() for word in ("locked", "busy", "deadlock")):
            raise
        raise BookingError(OFFER_TAKEN, "taken") from None
    db.session.refresh(offer)
    log.info("waitlist offer %s claimed as consultation %s", offer.id, offer.consultation_id)
    return consultation


def _explained(offer: WaitlistOffer, error: BookingError, now: datetime) -> BookingError:
    """A lost claim, said as it is: booked already (a second tap), expired, or taken."""
    if error.code != "taken":
        return error
    if offer.state is OfferState.CLAIMED:
        return BookingError(OFFER_CLAIMED, "claimed")
    if offer.state is OfferState.EXPIRED or (offer.state is OfferState.OFFERED and offer.expires_at <= now):
        return BookingError(OFFER_ENDED, "expired")
    return BookingError(OFFER_TAKEN, "taken")


# --- the offer e-mail (written by the worker) ----------------------------------------------------

def _queue_offer_mail(offer: WaitlistOffer, entry: WaitlistEntry) -> None:
    client = entry.client
    profile = entry.specialist
    if client is None or client.deleted_at is not None:
        return
    send_composed_mail(client.email, f"A time with {profile.display_name} is free for you", OFFER_MAIL,
                       dedupe_key=f"waitlist-offer:{offer.id}", offer_id=offer.id)


@mail_composer(OFFER_MAIL)
def compose_offer_mail(offer_id: int) -> tuple[str, list[Any]]:
    """The claim e-mail: the time and the end of the hold in the client's zone (named), the link."""
    offer = db.session.scalar(select(WaitlistOffer).where(WaitlistOffer.id == offer_id)
                              .options(joinedload(WaitlistOffer.client), joinedload(WaitlistOffer.specialist)))
    if offer is None or offer.state is not OfferState.OFFERED or offer.client is None:
        raise NothingToSay(f"waitlist offer {offer_id} is no longer open")
    tz = user_zone(offer.client)
    body = render_mail("email/waitlist_offer.txt", recipient=offer.client, name=offer.specialist.display_name,
                       when=format_datetime(offer.start_utc, tz), until=format_datetime(offer.expires_at, tz),
                       url=external_url("consultations.waitlist_offer", token=offer_token(offer)))
    return body, []


__all__ = [
    "OFFER_CLAIMED", "OFFER_ENDED", "OFFER_HOLD", "OFFER_TAKEN", "MyWaitlist", "WaitlistError", "claim_offer",
    "clean_parts", "describe", "expire_offers", "expire_waitlist_offers", "join_waitlist", "leave_after_booking",
    "leave_waitlist", "offer_freed_times", "offer_from_token", "offer_times", "offer_token", "slot_suits",
    "waitlist_of", "weekday_mask",
]
