"""Calendar feeds out: a person's private subscription URL serving their consultations (RFC 5545).

The URL ``/calendar/<feed_token>.ics`` carries a secret token (``secrets.token_urlsafe(32)``); only
its SHA-256 is stored (``CalendarFeed``), so the URL is shown once, when made, and making a new
one revokes the old. The feed is one METHOD:PUBLISH calendar in the person's zone: their upcoming
and recent consultations (as client or as specialist), and those cancelled or expired lately as
STATUS:CANCELLED, each event built by the one builder invitations use (``calendar_event``).
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import joinedload

from marketplace.account.hooks import deletion_hook
from marketplace.audit import record_audit
from marketplace.auth.models import User
from marketplace.consultations.models import RELEASED_STATES, CalendarFeed, Consultation, ConsultationState
from marketplace.consultations.notifications import balance_organizer, calendar_event
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.notifications.ics import build_feed
from marketplace.specialists.models import SpecialistProfile
from marketplace.timeutil import user_zone

log = logging.getLogger(__name__)

# Held or due consultations stay in the feed this long after they end, and cancelled or expired
# ones this long after the change (calendars then show them cancelled instead of losing them).
FEED_PAST = timedelta(days=30)
FEED_REFRESH = timedelta(hours=1)  # REFRESH-INTERVAL / X-PUBLISHED-TTL asked of calendar apps
FEED_LIMIT = 500  # consultations in one feed at most (the soonest first)
FEED_NAME = "Balance consultations"
# A payment hold is not a booking yet (it is confirmed or released within minutes).
_LIVE_STATES = (ConsultationState.REQUESTED, ConsultationState.CONFIRMED, ConsultationState.COMPLETED,
                ConsultationState.NO_SHOW)
_TOKEN_MAX_LENGTH = 100  # token_urlsafe(32) is 43 characters; anything much longer is not one


def token_fingerprint(token: str) -> str:
    """The SHA-256 (hex) of a feed token: what is stored, and what a rate limit may be keyed on."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def has_calendar_feed(user: User) -> bool:
    """Whether ``user`` has made a subscription URL (it cannot be shown again, only replaced)."""
    return db.session.get(CalendarFeed, user.id) is not None


def make_calendar_feed(user: User) -> str:
    """Make ``user``'s private subscription token, replacing any earlier one (whose URL then answers
    404). Returns the token, to be shown once: only its hash is kept."""
    token = secrets.token_urlsafe(32)
    feed = db.session.get(CalendarFeed, user.id)
    now = utcnow()
    if feed is None:
        db.session.add(CalendarFeed(user_id=user.id, token_hash=token_fingerprint(token), created_at=now))
    else:
        feed.token_hash = token_fingerprint(token)
        feed.created_at = now
    record_audit(user, "calendar_feed.replaced" if feed is not None else "calendar_feed.made", user)
    db.session.flush()
    log.info("calendar feed of user %s %s", user.id, "replaced" if feed is not None else "made")
    return token


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str  # the SHA-256 of the body: the same bookings give the same bytes


def calendar_feed(token: str, now: datetime | None = None) -> Feed | None:
    """The calendar behind a subscription token, or None for an unknown (or replaced) token or a
    deleted account. A fixed number of statements whatever the number of consultations."""
    if not token or len(token) > _TOKEN_MAX_LENGTH:
        return None
    user = db.session.scalar(select(User).join(CalendarFeed, CalendarFeed.user_id == User.id)
                             .where(CalendarFeed.token_hash == token_fingerprint(token), User.deleted_at.is_(None)))
    if user is None:
        return None
    events = [(calendar_event(c, _other_name(c, user), cancel=c.is_released), c.updated_at)
              for c in feed_consultations(user, now)]
    organizer_name, organizer_email = balance_organizer()
    body = build_feed(events, name=FEED_NAME, organizer_email=organizer_email, organizer_name=organizer_name,
                      display_tz=user_zone(user), refresh=FEED_REFRESH)
    return Feed(body=body, etag=hashlib.sha256(body).hexdigest()[:40])


def feed_consultations(user: User, now: datetime | None = None) -> list[Consultation]:
    """``user``'s consultations in the feed (as client and as specialist), soonest first: live ones
    not ended more than ``FEED_PAST`` ago, released ones changed within ``FEED_PAST``. One per
    calendar UID: a rescheduled booking shares its UID with the new one, which wins (higher SEQUENCE)."""
    cutoff = (now or utcnow()) - FEED_PAST
    own_profiles = select(SpecialistProfile.id).where(SpecialistProfile.user_id == user.id).scalar_subquery()
    rows = db.session.scalars(
        select(Consultation)
        .where(or_(Consultation.client_id == user.id, Consultation.specialist_id.in_(own_profiles)),
               or_(Consultation.state.in_(_LIVE_STATES) & (Consultation.end_utc > cutoff),
                   Consultation.state.in_(RELEASED_STATES) & (Consultation.updated_at > cutoff)))
        .options(joinedload(Consultation.client), joinedload(Consultation.specialist))
        .order_by(Consultation.start_utc, Consultation.id).limit(FEED_LIMIT)
    )
    latest: dict[str, Consultation] = {}
    for consultation in rows:
        kept = latest.get(consultation.uid)
        if kept is None or (consultation.sequence, consultation.id) > (kept.sequence, kept.id):
            latest[consultation.uid] = consultation
    return sorted(latest.values(), key=lambda c: (c.start_utc, c.id))


def _other_name(consultation: Consultation, viewer: User) -> str:
    """The other party, by display name only (never an address)."""
    if consultation.is_client(viewer):
        return consultation.specialist.display_name
    return consultation.client.display_name if consultation.client is not None else "a client"


@deletion_hook
def forget_calendar_feed(user: User) -> None:
    """Account deletion: the subscription URL stops working."""
    db.session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))


__all__ = ["FEED_PAST", "Feed", "calendar_feed", "feed_consultations", "forget_calendar_feed", "has_calendar_feed",
           "make_calendar_feed", "token_fingerprint"]
