"""Storage of precomputed availability (``availability_snapshots``): one read, one batched write.

The snapshot of a specialist holds their free 30-minute slots as computed at ``computed_at``.
Pages read it with ONE query and drop the slots that have meanwhile come closer than the minimum
notice; nothing is written on a read. Only the availability refresh writes (see
``availability.refresh_next_available``), and it also copies the soonest slot into
``SpecialistProfile.next_available_at``, which the directory filters and sorts by, and the UTC
half-hours of the week its slots start in (``free_utc_*``, ``scheduling.free_times``), which the
directory's time-of-day filter reads.

Two refreshes of one profile may run at once (two workers); the write keeps the later
computation, so an older one finishing last never brings back a slot that was booked meanwhile.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update

from marketplace.consultations.models import SLOT_STEP_MINUTES, AvailabilitySnapshot
from marketplace.database import insert_on_conflict
from marketplace.extensions import db
from marketplace.scheduling.free_times import free_time_bits
from marketplace.scheduling.packing import pack_slots, unpack_slots
from marketplace.specialists.models import FREE_TIME_COLUMNS, SpecialistProfile

# Bump when the meaning of stored slots changes (slot engine, step, duration): older rows are
# then ignored by readers and recomputed by the periodic refresh.
SNAPSHOT_VERSION = 1


@dataclass(frozen=True)
class Snapshot:
    """What the refresh computed for one profile (empty slots when it is not bookable)."""

    profile_id: int
    slots: Sequence[datetime]
    min_notice_minutes: int
    refresh_due_at: datetime | None
    hours_version_seen: int = 0  # the profile's ``hours_version`` read before computing

    @property
    def next_available_at(self) -> datetime | None:
        return self.slots[0] if self.slots else None


def read_snapshot(profile_id: int, now: datetime, *, computed_since: datetime | None = None) -> list[datetime] | None:
    """Free slots (UTC) of the profile that can still be booked at ``now``; None if there is no
    usable snapshot (never computed, or an older format, or — with ``computed_since`` — computed
    before that instant, i.e. before a change it must show). One query, no write."""
    row = db.session.execute(
        select(AvailabilitySnapshot.version, AvailabilitySnapshot.slots, AvailabilitySnapshot.min_notice_minutes,
               AvailabilitySnapshot.computed_at)
        .where(AvailabilitySnapshot.profile_id == profile_id)
    ).first()
    if row is None or row.version != SNAPSHOT_VERSION:
        return None
    if computed_since is not None and row.computed_at < computed_since:
        return None
    return unpack_slots(row.slots, SLOT_STEP_MINUTES, not_before=now + timedelta(minutes=row.min_notice_minutes))


def read_booking_snapshot(profile_id: int, now: datetime) -> list[datetime] | None:
    """The slots a booking may be validated against: the snapshot's, when it was computed from
    the specialist's current hours (``hours_version_seen == hours_version``); None otherwise (the
    booking loads the calendar). Slots booked since are still listed: the occupied-block guard
    refuses them when the booking is inserted. One query, no write."""
    row = db.session.execute(
        select(AvailabilitySnapshot.version, AvailabilitySnapshot.slots, AvailabilitySnapshot.min_notice_minutes,
               AvailabilitySnapshot.hours_version, AvailabilitySnapshot.hours_version_seen)
        .where(AvailabilitySnapshot.profile_id == profile_id)
    ).first()
    if row is None or row.version != SNAPSHOT_VERSION or row.hours_version != row.hours_version_seen:
        return None
    return unpack_slots(row.slots, SLOT_STEP_MINUTES, not_before=now + timedelta(minutes=row.min_notice_minutes))


def mark_hours_changed(profile_ids: Sequence[int]) -> None:
    """In the transaction of a change of hours: these snapshots no longer validate bookings until
    they are recomputed (one UPDATE)."""
    table = AvailabilitySnapshot.__table__
    db.session.execute(update(table).where(table.c.profile_id.in_(sorted(profile_ids)))
                       .values(hours_version=table.c.hours_version + 1))


def write_snapshots(snapshots: Sequence[Snapshot], computed_at: datetime) -> None:
    """Store the snapshots and their profiles' ``next_available_at`` and free times of the week
    (``free_utc_*``) (two statements).

    ``computed_at`` is the "now" the slots were computed for; a stored snapshot computed later
    is kept. The profile columns are copied from the stored snapshot with a plain UPDATE that
    leaves ``version_id`` and ``updated_at`` alone (derived data, not an edit) and skips rows
    whose values are unchanged.
    """
    if not snapshots:
        return
    table = AvailabilitySnapshot.__table__
    stmt = insert_on_conflict(table)
    columns = ("version", "computed_at", "min_notice_minutes", "slots", "refresh_due_at", "hours_version_seen",
               *_COPIED)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.profile_id],
        set_={name: stmt.excluded[name] for name in columns},
        where=table.c.computed_at <= stmt.excluded.computed_at,
    )
    db.session.execute(stmt, [
        {"profile_id": s.profile_id, "version": SNAPSHOT_VERSION, "computed_at": computed_at,
         "min_notice_minutes": s.min_notice_minutes, "slots": pack_slots(s.slots, SLOT_STEP_MINUTES),
         "next_available_at": s.next_available_at, "refresh_due_at": s.refresh_due_at,
         "hours_version_seen": s.hours_version_seen,
         **dict(zip(FREE_TIME_COLUMNS, free_time_bits(s.slots, computed_at), strict=True))}
        for s in sorted(snapshots, key=lambda s: s.profile_id)  # one lock order for concurrent writers
    ])
    _copy_to_profiles(sorted(s.profile_id for s in snapshots))


_COPIED = ("next_available_at", *FREE_TIME_COLUMNS)  # from a snapshot to its profile


def _copy_to_profiles(ids: list[int]) -> None:
    """The profile columns copied from the stored snapshots, with a plain UPDATE … FROM (PostgreSQL;
    SQLite since 3.33) that leaves ``version_id`` and ``updated_at`` alone and skips unchanged rows."""
    table, profiles = AvailabilitySnapshot.__table__, SpecialistProfile.__table__
    db.session.execute(
        update(profiles)
        .where(profiles.c.id == table.c.profile_id, profiles.c.id.in_(ids),
               or_(*(profiles.c[name].is_distinct_from(table.c[name]) for name in _COPIED)))
        .values({**{name: table.c[name] for name in _COPIED}, "updated_at": profiles.c.updated_at})
    )
    _expire_copied(set(ids), _COPIED)


def trim_snapshots(now: datetime, *, max_age: timedelta, limit: int) -> list[int]:
    """The periodic refresh's cheap case: up to ``limit`` snapshots due only because time passed
    (their soonest slot came closer than the notice) while computed from the current hours less
    than ``max_age`` ago lose the slots that can no longer be booked — no calendar is loaded
    (bookings and changes since were refreshed by their own ``calendar_changed`` jobs). New days
    enter the horizon when ``max_age`` has passed: then the refresh computes them again. Returns
    the profile ids trimmed (three statements); a row recomputed meanwhile is left alone."""
    table = AvailabilitySnapshot.__table__
    rows = db.session.execute(
        select(table.c.profile_id, table.c.slots, table.c.min_notice_minutes, table.c.computed_at)
        .where(table.c.refresh_due_at <= now, table.c.computed_at > now - max_age,
               table.c.version == SNAPSHOT_VERSION, table.c.hours_version == table.c.hours_version_seen)
        .order_by(table.c.refresh_due_at).limit(limit)
    ).all()
    if not rows:
        return []
    trimmed = []
    for row in rows:
        notice = timedelta(minutes=row.min_notice_minutes)
        slots = unpack_slots(row.slots, SLOT_STEP_MINUTES, not_before=now + notice)
        expires = row.computed_at + max_age
        trimmed.append({
            "pid": row.profile_id, "computed": row.computed_at, "slots": pack_slots(slots, SLOT_STEP_MINUTES),
            "next_available_at": slots[0] if slots else None,
            "refresh_due_at": min(expires, slots[0] - notice) if slots else expires,
            **dict(zip(FREE_TIME_COLUMNS, free_time_bits(slots, now), strict=True))})
    db.session.execute(
        update(table).where(table.c.profile_id == bindparam("pid"), table.c.computed_at == bindparam("computed"))
        .values({name: bindparam(name) for name in ("slots", "next_available_at", "refresh_due_at",
                                                     *FREE_TIME_COLUMNS)}),
        trimmed)
    ids = sorted(r.profile_id for r in rows)
    _copy_to_profiles(ids)
    return ids


def _expire_copied(ids: set[int], names: Sequence[str]) -> None:
    """Profiles loaded in this session show the new values on their next access."""
    for state in db.session.identity_map.all_states():
        key = state.key  # the identity key: no load of expired rows
        if key is not None and key[0] is SpecialistProfile and key[1][0] in ids and (obj := state.obj()) is not None:
            db.session.expire(obj, list(names))


__all__ = ["SNAPSHOT_VERSION", "Snapshot", "mark_hours_changed", "read_booking_snapshot",
           "read_snapshot", "trim_snapshots", "write_snapshots"]
