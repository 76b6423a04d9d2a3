"""Calendar feeds in: a specialist's other calendars (iCal addresses) block their free slots.

* ``add_external_calendar`` checks the address (``ical_reading.check_calendar_url``) and queues a
  first read after the commit; ``read_due_external_calendars`` (every 15 minutes) queues a read of
  every calendar not read for ``READ_EVERY``.
* A read (``refresh_external_calendar``) downloads and expands the calendar with no transaction
  open (no lock is held while another server answers), then in one unit of work replaces the
  calendar's busy times (``ExternalBusyTime``) and calls ``calendar_changed`` when they changed.
  A failed read keeps the last good busy times and records the reason and since when.
* ``availability._load`` adds the busy times to every specialist's calendar, so the profile page,
  the booking page, the booking check and the directory's "next free" agree.
* The address is a secret of the specialist: it is stored encrypted (``url_encrypted``, a Fernet
  token under ``NOTES_KEYS``, re-encrypted by ``flask rotate-note-keys``: ``rotate_calendar_url_keys``)
  and decrypted only here, at the moment a read or the data export uses it. A token no configured
  key opens fails the read with ``REASON_UNREADABLE_ADDRESS`` (adding the same address again
  stores it under the current key). Pages show its host, logs the calendar's id.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from marketplace.account.hooks import data_exporter, deletion_hook
from marketplace.auth.models import User
from marketplace.consultations.availability import calendar_changed
from marketplace.consultations.ical_reading import (
    CalendarReadError,
    CalendarUrlError,
    busy_intervals,
    check_calendar_url,
    fetch_calendar,
    url_host,
)
from marketplace.consultations.models import (
    EXTERNAL_CALENDARS_MAX,
    ICS_DOMAIN,
    ExternalBusyTime,
    ExternalCalendar,
    SchedulingSettings,
)
from marketplace.database import execute_dml, utcnow
from marketplace.encryption import (
    ROTATION_BATCH,
    RotationResult,
    UnreadableText,
    decrypt_text,
    encrypt_text,
    reencrypt_column,
)
from marketplace.extensions import db
from marketplace.jobs import enqueue, enqueue_after_commit, jobs
from marketplace.specialists.models import SpecialistProfile, profile_id_of
from marketplace.timeutil import zone_or_utc

log = logging.getLogger(__name__)

READ_EVERY = timedelta(minutes=14)  # the periodic job runs every 15 minutes
READ_BATCH = 2000  # calendars queued by one periodic run at most (the rest wait for the next)
PAST = timedelta(days=1)  # busy times kept behind "now" (the daily view of today)
AHEAD_EXTRA = timedelta(days=2)  # beyond the booking horizon (zones, the horizon's last day)
# A stored address no configured key opens (a key removed too early, a tampered value).
REASON_UNREADABLE_ADDRESS = "Balance can no longer read this address; please add it again"


def _sha256(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def external_calendars_of(profile: SpecialistProfile) -> list[ExternalCalendar]:
    """The profile's other calendars, oldest first."""
    return list(db.session.scalars(select(ExternalCalendar).where(ExternalCalendar.specialist_id == profile.id)
                                   .order_by(ExternalCalendar.created_at, ExternalCalendar.id)))


def add_external_calendar(profile: SpecialistProfile, raw_url: str | None) -> ExternalCalendar:
    """Add another calendar of the specialist by its iCal address; it is read right after the
    commit (and every 15 minutes). ``CalendarUrlError`` (field ``url``) when it cannot be used.
    Adding an address whose stored copy no key opens any more stores it again under the current key."""
    url = check_calendar_url(raw_url, allow_private=current_app.config["EXTERNAL_CALENDARS_ALLOW_PRIVATE"])
    duplicate = CalendarUrlError("You have already added this calendar.", code="calendar_url_duplicate", field="url")
    digest = _sha256(url)
    existing = db.session.scalar(select(ExternalCalendar).where(ExternalCalendar.specialist_id == profile.id,
                                                                ExternalCalendar.url_sha256 == digest))
    if existing is not None:
        if _address_of(existing.url_encrypted) is not None:
            raise duplicate
        return _store_address_again(existing, url)
    count = db.session.scalar(select(func.count(ExternalCalendar.id))
                              .where(ExternalCalendar.specialist_id == profile.id)) or 0
    if count >= EXTERNAL_CALENDARS_MAX:
        raise CalendarUrlError(f"You can add up to {EXTERNAL_CALENDARS_MAX} calendars. Remove one to add another.",
                               code="calendar_url_limit", field="url")
    calendar = ExternalCalendar(specialist_id=profile.id, url_encrypted=encrypt_text(url), url_sha256=digest,
                                host=url_host(url), created_at=utcnow())
    try:
        with db.session.begin_nested():  # the same address added from two tabs at once
            db.session.add(calendar)
            db.session.flush()
    except IntegrityError:
        raise duplicate from None
    enqueue_after_commit(read_external_calendar, calendar.id)
    log.info("profile %s added external calendar %s", profile.id, calendar.id)
    return calendar


def _store_address_again(calendar: ExternalCalendar, url: str) -> ExternalCalendar:
    """The specialist gave again the address of a calendar whose stored token no key opens (the
    same address: its SHA-256 matches): it is stored under the current key and read again; the
    last good busy times and the failure stay until that read."""
    calendar.url_encrypted = encrypt_text(url)
    db.session.flush()
    enqueue_after_commit(read_external_calendar, calendar.id)
    log.info("profile %s gave again the address of external calendar %s", calendar.specialist_id, calendar.id)
    return calendar


def _address_of(token: str) -> str | None:
    """The address in a stored token, or None when no configured key opens it."""
    try:
        return decrypt_text(token)
    except UnreadableText:
        return None


def remove_external_calendar(profile: SpecialistProfile, calendar_id: int) -> bool:
    """Remove one of the profile's other calendars and its busy times; False when it is not
    one of theirs (someone else's id, or already removed)."""
    execute_dml(delete(ExternalBusyTime).where(ExternalBusyTime.calendar_id == calendar_id,
                                               ExternalBusyTime.specialist_id == profile.id))
    result = execute_dml(delete(ExternalCalendar).where(ExternalCalendar.id == calendar_id,
                                                        ExternalCalendar.specialist_id == profile.id))
    if result.rowcount != 1:
        return False
    calendar_changed([profile.id])
    log.info("profile %s removed external calendar %s", profile.id, calendar_id)
    return True


# --- reading -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    calendar_id: int
    profile_id: int
    url_encrypted: str  # decrypted only when the calendar is downloaded
    timezone: str
    horizon_days: int


def _target(calendar_id: int) -> _Target | None:
    row = db.session.execute(
        select(ExternalCalendar.id, ExternalCalendar.specialist_id, ExternalCalendar.url_encrypted,
               SpecialistProfile.timezone, SchedulingSettings.horizon_days)
        .join(SpecialistProfile, SpecialistProfile.id == ExternalCalendar.specialist_id)
        .outerjoin(SchedulingSettings, SchedulingSettings.specialist_id == ExternalCalendar.specialist_id)
        .where(ExternalCalendar.id == calendar_id)).first()
    if row is None:
        return None
    horizon: int = (row.horizon_days if row.horizon_days is not None
                    else SchedulingSettings.defaults_for(row.specialist_id).horizon_days)
    return _Target(row.id, row.specialist_id, row.url_encrypted, zone_or_utc(row.timezone), horizon)


def refresh_external_calendar(calendar_id: int, now: datetime | None = None) -> bool:
    """Read one calendar and store its busy times (True), or record why it could not be read and
    keep the last good ones (False; also for a calendar removed meanwhile, and for one whose stored
    address no configured key opens: ``REASON_UNREADABLE_ADDRESS``).

    Ends the current transaction before downloading (so no lock is held meanwhile): for jobs and
    commands, and tests that have committed their set-up."""
    now = now or utcnow()
    target = _target(calendar_id)
    db.session.rollback()  # nothing is held open while the other server answers
    if target is None:
        return False
    url = _address_of(target.url_encrypted)
    if url is None:
        log.error("external calendar %s: its address cannot be decrypted with the configured NOTES_KEYS",
                  target.calendar_id)
        _record_failure(target, REASON_UNREADABLE_ADDRESS, now)
        return False
    config = current_app.config
    try:
        data = fetch_calendar(url, timeout=config["EXTERNAL_CALENDARS_TIMEOUT"],
                              max_bytes=config["EXTERNAL_CALENDARS_MAX_BYTES"],
                              allow_private=config["EXTERNAL_CALENDARS_ALLOW_PRIVATE"])
        spans = busy_intervals(data, target.timezone, now - PAST,
                               now + timedelta(days=target.horizon_days) + AHEAD_EXTRA,
                               skip_uid_suffix=f"@{ICS_DOMAIN}")
    except CalendarReadError as exc:
        _record_failure(target, str(exc), now)
        return False
    return _store_busy_times(target, spans, now)


def _record_failure(target: _Target, reason: str, now: datetime) -> None:
    calendar = db.session.get(ExternalCalendar, target.calendar_id)
    if calendar is None:
        return
    calendar.last_attempt_at = now
    calendar.error = reason[:300]
    if calendar.failing_since is None:
        calendar.failing_since = now
    db.session.flush()
    log.info("external calendar %s of profile %s could not be read: %s", target.calendar_id, target.profile_id, reason)


def _store_busy_times(target: _Target, spans: list[tuple[datetime, datetime]], now: datetime) -> bool:
    calendar = db.session.get(ExternalCalendar, target.calendar_id)
    if calendar is None:  # removed while it was being read
        return False
    stored = set(db.session.execute(select(ExternalBusyTime.start_utc, ExternalBusyTime.end_utc)
                                    .where(ExternalBusyTime.calendar_id == calendar.id)).all())
    if stored != set(spans):
        execute_dml(delete(ExternalBusyTime).where(ExternalBusyTime.calendar_id == calendar.id))
        if spans:
            db.session.execute(insert(ExternalBusyTime), [
                {"calendar_id": calendar.id, "specialist_id": target.profile_id, "start_utc": start, "end_utc": end}
                for start, end in spans])
        calendar_changed([target.profile_id])
    calendar.last_attempt_at = calendar.last_success_at = now
    calendar.error = None
    calendar.failing_since = None
    calendar.busy_count = len(spans)
    db.session.flush()
    log.info("external calendar %s of profile %s read: %s busy time(s)", calendar.id, target.profile_id, len(spans))
    return True


@jobs.task
def read_external_calendar(calendar_id: int) -> None:
    """Job: read one calendar (queued after it is added, and by the periodic job)."""
    refresh_external_calendar(calendar_id)


def calendars_due(now: datetime, limit: int = READ_BATCH) -> list[int]:
    """Ids of calendars not read (tried) for ``READ_EVERY``, never tried first."""
    return list(db.session.scalars(
        select(ExternalCalendar.id)
        .where(or_(ExternalCalendar.last_attempt_at.is_(None), ExternalCalendar.last_attempt_at <= now - READ_EVERY))
        .order_by(ExternalCalendar.last_attempt_at.is_not(None), ExternalCalendar.last_attempt_at, ExternalCalendar.id)
        .limit(limit)))


@jobs.periodic(minute="*/15")
def read_due_external_calendars() -> int:
    """Periodic job: queue a read of every calendar due (each read is its own job, so several
    workers read in parallel; reading one twice only stores the same busy times). Returns how many."""
    ids = calendars_due(utcnow())
    db.session.rollback()
    for calendar_id in ids:
        enqueue(read_external_calendar, calendar_id)
    if ids:
        log.info("queued %s external calendar read(s)", len(ids))
    return len(ids)


# --- keys ---------------------------------------------------------------------------------------

def rotate_calendar_url_keys(batch_size: int = ROTATION_BATCH) -> RotationResult:
    """Re-encrypt every stored calendar address with the current (first) key of ``NOTES_KEYS``, a
    batch at a time, each batch committed; addresses no configured key opens are left as they are
    and reported (their reads fail with ``REASON_UNREADABLE_ADDRESS``)."""
    return reencrypt_column(ExternalCalendar.url_encrypted, batch_size)


# --- the account: export and deletion --------------------------------------------------------------

@data_exporter("external_calendars")
def export_external_calendars(user: User) -> list[dict[str, Any]] | None:
    """A specialist's other calendars (their own addresses, decrypted; None for one no configured key
    opens) and the busy times last read from them."""
    profile_id = profile_id_of(user)
    if profile_id is None:
        return None
    calendars = db.session.scalars(select(ExternalCalendar).where(ExternalCalendar.specialist_id == profile_id)
                                   .order_by(ExternalCalendar.id)).all()
    busy: dict[int, list[dict[str, str]]] = {c.id: [] for c in calendars}
    for calendar_id, start, end in db.session.execute(
            select(ExternalBusyTime.calendar_id, ExternalBusyTime.start_utc, ExternalBusyTime.end_utc)
            .where(ExternalBusyTime.specialist_id == profile_id).order_by(ExternalBusyTime.start_utc)):
        busy.setdefault(calendar_id, []).append({"start_utc": start.isoformat(), "end_utc": end.isoformat()})
    return [{
        "url": _address_of(c.url_encrypted), "host": c.host, "added_at": c.created_at.isoformat(),
        "last_read_at": c.last_success_at.isoformat() if c.last_success_at else None,
        "error": c.error, "failing_since": c.failing_since.isoformat() if c.failing_since else None,
        "busy_times": busy.get(c.id, []),
    } for c in calendars]


@deletion_hook
def forget_external_calendars(user: User) -> None:
    """Account deletion: the specialist's calendar addresses and busy times are deleted."""
    profile_id = profile_id_of(user)
    if profile_id is None:
        return
    execute_dml(delete(ExternalBusyTime).where(ExternalBusyTime.specialist_id == profile_id))
    result = execute_dml(delete(ExternalCalendar).where(ExternalCalendar.specialist_id == profile_id))
    if result.rowcount:
        calendar_changed([profile_id])


__all__ = [
    "CalendarReadError", "CalendarUrlError", "add_external_calendar", "calendars_due", "export_external_calendars",
    "external_calendars_of", "forget_external_calendars", "read_due_external_calendars", "read_external_calendar",
    "refresh_external_calendar", "remove_external_calendar", "rotate_calendar_url_keys",
]
