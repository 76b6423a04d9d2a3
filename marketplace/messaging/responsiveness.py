"""Measured responsiveness: how quickly each specialist replies to messages and confirms requests.

Two figures per specialist, over the last ``WINDOW`` (90 days), each the median of its waits and
kept only with at least ``MIN_DATA_POINTS`` (5) of them:

* **reply** — a client's message that opens or resumes a conversation (the first one, or the first
  after the specialist wrote) → the specialist's next message in that conversation. Further client
  messages before the reply are the same wait. A wait still unanswered after
  ``UNANSWERED_COUNTS_AFTER`` counts with its time so far (never answering must not look quick).
* **confirm** — a free consultation requested (not confirmed automatically) → confirmed by the
  specialist; a request that expired unconfirmed counts with the time it waited until it expired.

Computed off the request path — hourly by the job queue (``refresh_responsiveness_job``) and by
``flask --app wsgi refresh-responsiveness`` — and stored on the profile (``reply_median_minutes``,
``confirm_median_minutes``) by one executemany UPDATE of the rows whose figures changed, which
leaves ``version_id`` and ``updated_at`` alone (an editor open in another tab stays valid) and
bumps the cached pages of those profiles and the directory after commit. The specialists domain
words the figures (``specialists.responsiveness``). Lives in messaging (features layer): it reads
messages and consultations.

The waits themselves are pure functions (``median``, ``reply_waits``, ``confirm_wait``),
unit-tested against hand-computed medians.
"""
from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update

from marketplace.cache import bump_after_commit
from marketplace.consultations.models import Consultation, ConsultationKind, ConsultationState
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.jobs import jobs
from marketplace.messaging.models import Conversation, Message
from marketplace.specialists.models import SpecialistProfile

log = logging.getLogger(__name__)

WINDOW = timedelta(days=90)
MIN_DATA_POINTS = 5
UNANSWERED_COUNTS_AFTER = timedelta(hours=48)
# Messages this long before the window are read too, so a wait that began before the window is
# known as such (and not counted) rather than mistaken for one opened by a later message.
LOOKBEHIND = timedelta(days=14)


# --- pure: the waits and their median ----------------------------------------------------------------

def median(values: Sequence[float]) -> float | None:
    """The median (the mean of the two middle values for an even count); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def shown_minutes(waits: Sequence[timedelta]) -> int | None:
    """The median wait in whole minutes (rounded up), or None below ``MIN_DATA_POINTS`` waits."""
    if len(waits) < MIN_DATA_POINTS:
        return None
    middle = median([w.total_seconds() / 60 for w in waits])
    return None if middle is None else math.ceil(middle)


@dataclass(frozen=True)
class Said:
    """One message of a conversation, as the reply measure sees it."""

    from_client: bool  # False: the specialist wrote it
    at: datetime


def reply_waits(messages: Iterable[Said], since: datetime, now: datetime) -> list[timedelta]:
    """The waits of one conversation (``messages`` in order) that began at or after ``since``:
    from a client's message opening or resuming it to the specialist's next message; an open wait
    older than ``UNANSWERED_COUNTS_AFTER`` counts with its time so far."""
    waits: list[timedelta] = []
    waiting_since: datetime | None = None
    for message in messages:
        if message.from_client:
            if waiting_since is None:
                waiting_since = message.at
        elif waiting_since is not None:
            if waiting_since >= since:
                waits.append(message.at - waiting_since)
            waiting_since = None
    if waiting_since is not None and waiting_since >= since and now - waiting_since >= UNANSWERED_COUNTS_AFTER:
        waits.append(now - waiting_since)
    return waits


def confirm_wait(requested_at: datetime, confirmed_at: datetime | None, expired_at: datetime | None) -> timedelta | None:
    """How long a request waited for the specialist: until confirmed, or until it expired
    unconfirmed (``expired_at``: its deadline); None when neither (withdrawn, or still waiting)."""
    if confirmed_at is not None:
        return max(timedelta(0), confirmed_at - requested_at)
    if expired_at is not None:
        return max(timedelta(0), expired_at - requested_at)
    return None


# --- reading the waits --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figures:
    reply_minutes: int | None = None
    confirm_minutes: int | None = None


def _reply_waits_by_profile(since: datetime, now: datetime) -> dict[int, list[timedelta]]:
    rows = db.session.execute(
        select(Message.conversation_id, Message.sender_id, Message.created_at, Conversation.client_id,
               Conversation.specialist_id, Conversation.specialist_profile_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.created_at >= since - LOOKBEHIND, Conversation.specialist_profile_id.is_not(None))
        .order_by(Message.conversation_id, Message.id)
        .execution_options(yield_per=2000))
    waits: dict[int, list[timedelta]] = defaultdict(list)
    current: int | None = None
    said: list[Said] = []
    profile_id: int | None = None

    def close() -> None:
        if said and profile_id is not None:
            waits[profile_id].extend(reply_waits(said, since, now))

    for conversation_id, sender_id, at, client_id, specialist_user_id, conversation_profile in rows:
        if conversation_id != current:
            close()
            current, said, profile_id = conversation_id, [], conversation_profile
        if sender_id == client_id:
            said.append(Said(True, at))
        elif sender_id == specialist_user_id:
            said.append(Said(False, at))
    close()
    return waits


def _confirm_waits_by_profile(since: datetime) -> dict[int, list[timedelta]]:
    rows = db.session.execute(
        select(Consultation.specialist_id, Consultation.created_at, Consultation.confirmed_at,
               Consultation.confirm_by_utc, Consultation.state)
        .where(Consultation.kind == ConsultationKind.FREE, Consultation.confirm_by_utc.is_not(None),
               Consultation.created_at >= since)
        .execution_options(yield_per=2000))
    waits: dict[int, list[timedelta]] = defaultdict(list)
    for profile_id, created_at, confirmed_at, confirm_by, state in rows:
        expired_at = confirm_by if state is ConsultationState.EXPIRED else None
        wait = confirm_wait(created_at, confirmed_at, expired_at)
        if wait is not None:
            waits[profile_id].append(wait)
    return waits


def measure_responsiveness(now: datetime | None = None) -> dict[int, Figures]:
    """Every specialist's figures with at least one shown (two queries)."""
    now = now or utcnow()
    since = now - WINDOW
    replies = _reply_waits_by_profile(since, now)
    confirms = _confirm_waits_by_profile(since)
    figures = {}
    for profile_id in replies.keys() | confirms.keys():
        found = Figures(shown_minutes(replies.get(profile_id, [])), shown_minutes(confirms.get(profile_id, [])))
        if found != Figures():
            figures[profile_id] = found
    return figures


def refresh_responsiveness(now: datetime | None = None) -> int:
    """Measure every specialist and store the figures that changed; returns how many profiles
    changed. Their cached pages and the directory are bumped after commit."""
    measured = measure_responsiveness(now)
    table = SpecialistProfile.__table__
    stored = db.session.execute(select(table.c.id, table.c.reply_median_minutes, table.c.confirm_median_minutes))
    changes = []
    for profile_id, reply, confirm in stored:
        new = measured.get(profile_id, Figures())
        if (reply, confirm) != (new.reply_minutes, new.confirm_minutes):
            changes.append({"pid": profile_id, "reply": new.reply_minutes, "confirm": new.confirm_minutes})
    if changes:
        # Core, not the ORM: no version_id bump (an open editor stays valid), updated_at kept.
        db.session.execute(
            update(table).where(table.c.id == bindparam("pid"))
            .values(reply_median_minutes=bindparam("reply"), confirm_median_minutes=bindparam("confirm"),
                    updated_at=table.c.updated_at),
            changes)
        bump_after_commit("directory", *(f"profile:{change['pid']}" for change in changes))
    log.info("responsiveness refreshed: %s profile(s) changed", len(changes))
    return len(changes)


@jobs.periodic(minute="23")
def refresh_responsiveness_job() -> None:
    """Hourly: the figures move with new messages and requests, and with the window."""
    refresh_responsiveness()


__all__ = [
    "Figures", "LOOKBEHIND", "MIN_DATA_POINTS", "Said", "UNANSWERED_COUNTS_AFTER", "WINDOW", "confirm_wait",
    "measure_responsiveness", "median", "refresh_responsiveness", "refresh_responsiveness_job", "reply_waits",
    "shown_minutes",
]
