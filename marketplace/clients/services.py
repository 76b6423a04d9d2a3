"""A specialist's clients and private notes.

Who is a client: anyone with a consultation with the specialist (free or paid, upcoming, held,
no-show, cancelled, awaiting payment) — except a request that expired without the specialist ever
confirming it: a person whose only bookings expired unconfirmed never met the specialist and is
not listed (``is_listed_consultation``). Their client page exists exactly for those listed.

Notes are stored encrypted (``marketplace.encryption``), one per specialist and client, read and
written only here; saving or removing one is in the audit log (who, which client, when: never the
text). They are part of the specialist's data export and deleted with the specialist's account,
and with the client's account (a person who leaves takes notes about them along).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, delete, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.account.hooks import data_exporter, deletion_hook
from marketplace.audit import record_audit
from marketplace.auth.models import User
from marketplace.clients.models import NOTE_MAX_LENGTH, ClientNote
from marketplace.consultations.models import (
    CALENDAR_STATES,
    Consultation,
    ConsultationKind,
    ConsultationOutcome,
    ConsultationState,
)
from marketplace.consultations.stats import PAID_COUNTED
from marketplace.database import execute_dml, one_of, utcnow
from marketplace.domain import DomainError
from marketplace.encryption import (
    ROTATION_BATCH,
    RotationResult,
    UnreadableText,
    decrypt_text,
    encrypt_text,
    reencrypt_column,
)
from marketplace.extensions import db
from marketplace.messaging.models import Conversation
from marketplace.pagination import Page, paginate_ids
from marketplace.specialists.models import SpecialistProfile

log = logging.getLogger(__name__)

# A booking in this state does not make its client one of the specialist's clients.
NOT_A_MEETING = (ConsultationState.EXPIRED,)


class ClientsError(DomainError):
    """An action on a client record that is refused, with the message to show."""


class NotYourClient(DomainError, LookupError):
    """No such client of this specialist (the view answers 404: existence is not revealed)."""

    code = "not_found"


def is_listed_consultation() -> Any:
    """SQL condition: a consultation that makes its client one of the specialist's clients."""
    return Consultation.state.not_in(NOT_A_MEETING)


@dataclass
class ClientRecord:
    """One client as their specialist sees them: consultations newest first."""

    client: User
    consultations: list[Consultation] = field(default_factory=list)
    conversation_id: int | None = None
    has_note: bool = False
    note: str | None = None  # the decrypted note (detail page only)
    note_unreadable: bool = False  # stored, but no configured key opens it

    @property
    def id(self) -> int:
        """The client's id (what ``pagination.paginate_ids`` keeps a page's order by)."""
        return self.client.id

    @property
    def is_deleted(self) -> bool:
        return self.client.deleted_at is not None

    @property
    def paid_sessions(self) -> int:
        """Paid sessions booked and paid for (confirmed, held or a no-show), as the statistics count them."""
        return sum(1 for c in self.consultations if c.kind is ConsultationKind.PAID and c.state in PAID_COUNTED)

    @property
    def outcome(self) -> ConsultationOutcome | None:
        """The latest outcome recorded for a free consultation (proceed / not a fit)."""
        return next((c.outcome for c in self.consultations if c.outcome is not None), None)

    @property
    def next_consultation(self) -> Consultation | None:
        upcoming = [c for c in self.consultations if c.is_upcoming]
        return min(upcoming, key=lambda c: c.start_utc) if upcoming else None


def specialist_profile_id(user: Any) -> int | None:
    """The profile id of a specialist account (None for anyone else)."""
    if not getattr(user, "is_specialist", False):
        return None
    return db.session.scalar(select(SpecialistProfile.id).where(SpecialistProfile.user_id == user.id))


def _consultations_of(profile_id: int, client_ids: Any) -> list[Consultation]:
    """The specialist's consultations with ``client_ids`` (a list or a subquery), newest first,
    with what the page shows loaded in the same round trips (client, the booking a reschedule made)."""
    return list(db.session.scalars(
        select(Consultation).where(Consultation.specialist_id == profile_id, Consultation.client_id.in_(client_ids))
        .options(joinedload(Consultation.client), selectinload(Consultation.rescheduled_to))
        .order_by(Consultation.start_utc.desc(), Consultation.id.desc())
    ).unique())


def _records(user: User, profile_id: int, consultations: Iterable[Consultation]) -> list[ClientRecord]:
    records: dict[int, ClientRecord] = {}
    for consultation in consultations:
        record = records.setdefault(consultation.client_id, ClientRecord(consultation.client))
        record.consultations.append(consultation)
    if records:
        ids = list(records)
        for client_id, conversation_id in db.session.execute(
                select(Conversation.client_id, Conversation.id)
                .where(Conversation.specialist_id == user.id, Conversation.client_id.in_(ids))):
            records[client_id].conversation_id = conversation_id
        for client_id in db.session.scalars(select(ClientNote.client_id).where(
                ClientNote.specialist_id == profile_id, ClientNote.client_id.in_(ids))):
            records[client_id].has_note = True
    return list(records.values())


CLIENTS_PER_PAGE = 25


def _client_order(profile_id: int, now: datetime) -> Select:
    """The specialist's clients' ids in list order: those with an upcoming consultation first
    (soonest first), then the others by their latest consultation (newest first)."""
    listed = (select(Consultation.client_id)
              .where(Consultation.specialist_id == profile_id, is_listed_consultation()))
    upcoming = func.min(case((and_(one_of(Consultation.state, CALENDAR_STATES), Consultation.end_utc > now),
                              Consultation.start_utc)))
    return (select(Consultation.client_id)
            .where(Consultation.specialist_id == profile_id, Consultation.client_id.in_(listed))
            .group_by(Consultation.client_id)
            .order_by(upcoming.is_(None), upcoming, func.max(Consultation.start_utc).desc(), Consultation.client_id))


def list_clients(user: User, page: Any = 1, per_page: int = CLIENTS_PER_PAGE) -> Page[ClientRecord]:
    """One page of the clients of the specialist ``user`` (``_client_order``): ordered and counted
    in the database, then only that page's consultations loaded. A constant number of statements
    whatever the size of the practice; an empty page for anyone who is not a specialist."""
    profile_id = specialist_profile_id(user)
    if profile_id is None:
        return Page(items=[], page=1, per_page=per_page, total=0)
    return paginate_ids(_client_order(profile_id, utcnow()), page, per_page,
                        lambda ids: _records(user, profile_id, _consultations_of(profile_id, ids)))


def client_record(user: Any, client_id: int) -> ClientRecord:
    """One client of the specialist ``user``, with the decrypted note. ``NotYourClient`` unless
    ``user`` is a specialist and ``client_id`` one of their clients (the one ownership check of
    the client pages: another specialist, an admin, the client themself all get 404)."""
    profile_id = specialist_profile_id(user)
    if profile_id is None:
        raise NotYourClient("That client was not found.")
    consultations = _consultations_of(profile_id, [client_id])
    if not any(c.state not in NOT_A_MEETING for c in consultations):
        raise NotYourClient("That client was not found.")
    record = _records(user, profile_id, consultations)[0]
    stored = _note_row(profile_id, client_id)
    if stored is not None:
        try:
            record.note = decrypt_text(stored.body_encrypted)
        except UnreadableText:
            record.note_unreadable = True
            log.error("client note %s cannot be decrypted with the configured NOTES_KEYS", stored.id)
    return record


def _note_row(profile_id: int, client_id: int) -> ClientNote | None:
    return db.session.scalar(select(ClientNote).where(ClientNote.specialist_id == profile_id,
                                                      ClientNote.client_id == client_id))


def save_client_note(user: User, record: ClientRecord, text: str) -> str:
    """Store the note about ``record``'s client (from ``client_record``: ownership checked),
    encrypted; an empty text removes it. Returns what to tell the specialist."""
    if record.is_deleted:
        raise ClientsError("This person deleted their account: notes about them can no longer be kept.")
    if len(text) > NOTE_MAX_LENGTH:
        raise ClientsError(f"The note is too long: at most {NOTE_MAX_LENGTH:,} characters.")
    profile_id = specialist_profile_id(user)
    if profile_id is None:
        raise NotYourClient("That client was not found.")
    stored = _note_row(profile_id, record.client.id)
    if not text:
        if stored is None:
            return "There was no note to remove."
        record_audit(user, "client_note.removed", stored, before={"client_id": record.client.id})
        db.session.delete(stored)
        db.session.flush()
        log.info("specialist %s removed the note about client %s", profile_id, record.client.id)
        return "Note removed."
    if stored is None:
        stored = ClientNote(specialist_id=profile_id, client_id=record.client.id, body_encrypted=encrypt_text(text))
        db.session.add(stored)
    else:
        stored.body_encrypted = encrypt_text(text)
    db.session.flush()
    record_audit(user, "client_note.saved", stored, after={"client_id": record.client.id})  # (never the text)
    db.session.flush()
    log.info("specialist %s saved the note about client %s", profile_id, record.client.id)
    return "Note saved. Only you can read it."


# --- keys ------------------------------------------------------------------------------------

def rotate_note_keys(batch_size: int = ROTATION_BATCH) -> RotationResult:
    """Re-encrypt every note with the current (first) key of ``NOTES_KEYS``, a batch at a time,
    each batch committed (a note is valid under either key, so a stop halfway loses nothing).
    Notes no configured key opens are left as they are and reported."""
    return reencrypt_column(ClientNote.body_encrypted, batch_size)


# --- account export and deletion ---------------------------------------------------------------

@data_exporter("client_notes")
def export_client_notes(user: User) -> list[dict[str, Any]]:
    """A specialist's notes about their clients, decrypted (an unreadable one says so)."""
    profile_id = specialist_profile_id(user)
    if profile_id is None:
        return []
    rows = db.session.execute(select(ClientNote, User.display_name).join(User, User.id == ClientNote.client_id)
                              .where(ClientNote.specialist_id == profile_id).order_by(ClientNote.id))
    data = []
    for note, client_name in rows:
        try:
            text: str | None = decrypt_text(note.body_encrypted)
        except UnreadableText:
            text = None
        data.append({"client_id": note.client_id, "client": client_name, "note": text,
                     "created_at": note.created_at.isoformat(), "updated_at": note.updated_at.isoformat()})
    return data


@deletion_hook
def delete_client_notes(user: User) -> None:
    """Account deletion: a specialist's notes, and every specialist's notes about a client."""
    conditions = [ClientNote.client_id == user.id]
    profile_id = specialist_profile_id(user)
    if profile_id is not None:
        conditions.append(ClientNote.specialist_id == profile_id)
    deleted = execute_dml(delete(ClientNote).where(or_(*conditions))).rowcount
    if deleted:
        log.info("deleted %s client note(s) with account %s", deleted, user.id)
