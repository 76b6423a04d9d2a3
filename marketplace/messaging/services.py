"""Messaging rules: who may write to whom, read state, throttled notifications.

Privacy: message bodies are never logged (ids only) and never e-mailed.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import abort, url_for
from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload, selectinload

from marketplace.account.hooks import data_exporter, deletion_hook
from marketplace.auth.confirmation import MESSAGE, confirmation_refusal
from marketplace.auth.models import Role, User
from marketplace.auth.sessions import CHANGES_PEOPLE, forget_loaded, load_with_user
from marketplace.consultations.services import Standing, has_consultation_between, standing_of
from marketplace.database import execute_dml, utcnow
from marketplace.domain import DomainError
from marketplace.extensions import db
from marketplace.messaging.models import MAX_MESSAGE_LENGTH, Conversation, Message
from marketplace.notifications.mail import render_mail, send_mail
from marketplace.specialists.models import SpecialistProfile

log = logging.getLogger(__name__)

NOTIFY_INTERVAL = timedelta(hours=1)
PREVIEW_LENGTH = 120


class MessagingError(DomainError):
    """A user-facing reason the message can't be sent (safe to show). ``status`` for the page."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ConversationSummary:
    conversation: Conversation
    unread: int
    last_body: str | None
    last_sender_id: int | None


@dataclass
class NewConversationTarget:
    """Who a new message goes to; ``existing`` is set when the pair already has a conversation."""

    client: User
    specialist: User
    profile: SpecialistProfile | None
    existing: Conversation | None

    def name(self, sender: User) -> str:
        if sender.id == self.client.id:
            return self.profile.display_name if self.profile else self.specialist.display_name
        return self.client.display_name


# --- queries ---------------------------------------------------------------------------------

def _my_conversations_filter(user: User) -> Any:
    return Conversation.client_id == user.id if user.role is Role.CLIENT else Conversation.specialist_id == user.id


def _my_read_pointer(user: User) -> Any:
    return Conversation.client_last_read_id if user.role is Role.CLIENT else Conversation.specialist_last_read_id


def _not_sent_by(user: User) -> Any:
    return or_(Message.sender_id != user.id, Message.sender_id.is_(None))


def unread_count(user: Any) -> int:
    """Messages from the other side that ``user`` has not seen yet (navigation badge): loaded with
    the session's user (no query of its own), else one query."""
    if not getattr(user, "is_authenticated", False) or user.role not in (Role.CLIENT, Role.SPECIALIST):
        return 0
    loaded = user.loaded_with_session.get(UNREAD)
    if loaded is not None:
        return int(loaded)
    return int(db.session.scalar(_unread_count_of(user.role), {"user_id": user.id}) or 0)


UNREAD = "unread_messages"


def _unread_with_user() -> ColumnElement[int]:
    """The badge's count as a column of the session-user query: the same count as ``unread_count``,
    by the user's role."""
    def count(role: Role) -> Any:
        mine = Conversation.client_id == User.id if role is Role.CLIENT else Conversation.specialist_id == User.id
        read_up_to = (Conversation.client_last_read_id if role is Role.CLIENT
                      else Conversation.specialist_last_read_id)
        return (select(func.count(Message.id)).join(Conversation, Message.conversation_id == Conversation.id)
                .where(mine, Message.id > read_up_to, or_(Message.sender_id != User.id, Message.sender_id.is_(None)))
                .correlate(User).scalar_subquery())
    return case((User.role == Role.CLIENT, count(Role.CLIENT)), (User.role == Role.SPECIALIST, count(Role.SPECIALIST)),
                else_=0)


def _people_of(conversation: Conversation | None) -> tuple[int, int] | None:
    return None if conversation is None else (conversation.client_id, conversation.specialist_id)


load_with_user(UNREAD, _unread_with_user, people={
    Message: lambda message: _people_of(db.session.get(Conversation, message.conversation_id)),
    Conversation: _people_of})


@functools.cache
def _unread_count_of(role: Role) -> Select[int]:
    """Built once per role: every page a logged-in person sees runs it (for the badge)."""
    me: BindParameter[int] = bindparam("user_id")
    mine = Conversation.client_id == me if role is Role.CLIENT else Conversation.specialist_id == me
    read_up_to = Conversation.client_last_read_id if role is Role.CLIENT else Conversation.specialist_last_read_id
    return (select(func.count(Message.id))
            .join(Conversation, Message.conversation_id == Conversation.id)
            .where(mine, Message.id > read_up_to, or_(Message.sender_id != me, Message.sender_id.is_(None))))


def _with_participants(stmt: Any) -> Any:
    return stmt.options(
        joinedload(Conversation.client),
        joinedload(Conversation.specialist),
        joinedload(Conversation.specialist_profile),
    )


def list_conversations(user: User) -> list[ConversationSummary]:
    """The user's conversations, newest activity first, with unread counts and a preview — one query."""
    if user.role not in (Role.CLIENT, Role.SPECIALIST):
        return []
    unread = (
        select(func.count(Message.id))
        .where(Message.conversation_id == Conversation.id, Message.id > _my_read_pointer(user), _not_sent_by(user))
        .correlate(Conversation)
        .scalar_subquery()
    )
    last_id = (
        select(func.max(Message.id)).where(Message.conversation_id == Conversation.id)
        .correlate(Conversation).scalar_subquery()
    )
    last = aliased(Message)
    stmt = _with_participants(
        select(Conversation, unread, last.body, last.sender_id)
        .outerjoin(last, last.id == last_id)
        .where(_my_conversations_filter(user))
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    )
    return [
        ConversationSummary(conv, int(count or 0), _preview(body), sender_id)
        for conv, count, body, sender_id in db.session.execute(stmt).unique().all()
    ]


def _preview(body: str | None) -> str | None:
    if body is None:
        return None
    flat = " ".join(body.split())
    return flat if len(flat) <= PREVIEW_LENGTH else flat[: PREVIEW_LENGTH - 1].rstrip() + "…"


def get_conversation_for(user: Any, conversation_id: int) -> Conversation:
    """The conversation with its messages, or 404 for anyone but its two participants."""
    conversation = db.session.scalar(
        _with_participants(select(Conversation).where(Conversation.id == conversation_id))
        .options(selectinload(Conversation.messages))
    )
    if conversation is None or not conversation.can_view(user):
        abort(404)
    return conversation


def client_standing_in(conversation: Conversation, user: Any) -> Standing | None:
    """For the client's side of a thread: where they stand with its specialist (the thread offers
    "Your consultation" or "Book a session" instead of the free consultation). None otherwise."""
    profile = conversation.specialist_profile
    if (not conversation.is_client_side(user) or profile is None or not profile.is_published
            or not conversation.other_is_active(user)):
        return None
    return standing_of(user, profile.id)


def mark_conversation_read(conversation: Conversation, user: User) -> None:
    """Move the viewer's read pointer to the newest message (never backwards)."""
    if not conversation.messages:
        return
    newest = conversation.messages[-1].id
    if conversation.is_client_side(user):
        conversation.client_last_read_id = max(conversation.client_last_read_id, newest)
    else:
        conversation.specialist_last_read_id = max(conversation.specialist_last_read_id, newest)
    db.session.flush()
    forget_loaded(user, UNREAD)


def read_receipt_message_id(conversation: Conversation, user: User) -> int | None:
    """Id of the viewer's last message if the other side has read it (shown as "Read")."""
    mine = [m.id for m in conversation.messages if m.sender_id == user.id]
    if mine and conversation.other_last_read_id(user) >= mine[-1]:
        return mine[-1]
    return None


# --- who may write to whom -------------------------------------------------------------------

def _has_consultation(client_id: int, profile_id: int) -> bool:
    return bool(has_consultation_between(client_id, profile_id))


def _existing_conversation(client_id: int, specialist_id: int) -> Conversation | None:
    return db.session.scalar(
        select(Conversation).where(Conversation.client_id == client_id, Conversation.specialist_id == specialist_id)
    )


def resolve_new_conversation(sender: User, *, to_slug: str | None = None,
                             client_id: int | None = None) -> NewConversationTarget:
    """Check that ``sender`` may write to the person named by ``to`` (a specialist slug) or
    ``client`` (a client's user id, for specialists). Raises MessagingError otherwise.

    Rules: clients write to published specialists; a specialist writes to a client only in a
    conversation the client started or if the client has a consultation with them; nobody
    writes to themselves, specialists don't write to specialists, clients not to clients.
    """
    if sender.role not in (Role.CLIENT, Role.SPECIALIST):
        raise MessagingError("Messages are for conversations between clients and specialists.")
    if to_slug:
        profile = db.session.scalar(select(SpecialistProfile).where(SpecialistProfile.slug == to_slug))
        if profile is None:
            raise MessagingError("We couldn't find that specialist.", 404)
        if profile.user_id == sender.id:
            raise MessagingError("You can't send a message to yourself.")
        if sender.role is Role.SPECIALIST:
            raise MessagingError("Specialists can't send messages to other specialists.")
        existing = _existing_conversation(sender.id, profile.user_id)
        if existing is None and not (profile.is_listed and profile.user.is_active):
            raise MessagingError("We couldn't find that specialist.", 404)
        return NewConversationTarget(sender, profile.user, profile, existing)
    if client_id is not None:
        if client_id == sender.id:
            raise MessagingError("You can't send a message to yourself.")
        client = db.session.get(User, client_id)
        if client is None or not client.is_active:
            raise MessagingError("We couldn't find that person.", 404)
        if sender.role is Role.CLIENT or client.role is not Role.CLIENT:
            raise MessagingError("Messages are for conversations between clients and specialists.")
        profile = sender.specialist_profile
        if profile is None:
            raise MessagingError("Create your specialist profile before sending messages.")
        existing = _existing_conversation(client.id, sender.id)
        if existing is None and not _has_consultation(client.id, profile.id):
            raise MessagingError("You can reply to clients who wrote to you, or write to clients who "
                                 "booked a consultation with you.")
        return NewConversationTarget(client, sender, profile, existing)
    raise MessagingError("Choose who you want to write to.", 404)


def start_conversation(sender: User, target: NewConversationTarget, body: str) -> Conversation:
    """Send the first message to ``target`` (continuing the pair's conversation if there is one)."""
    conversation = target.existing
    if conversation is None:
        conversation = Conversation(client_id=target.client.id, specialist_id=target.specialist.id,
                                    specialist_profile_id=target.profile.id if target.profile else None,
                                    started_by_id=sender.id)
        try:
            with db.session.begin_nested():
                db.session.add(conversation)
        except IntegrityError:  # the same pair started one a moment ago (double submit)
            conversation = _existing_conversation(target.client.id, target.specialist.id)
            if conversation is None:
                raise
        log.info("conversation %s started by user %s", conversation.id, sender.id)
    send_message(conversation, sender, body)
    return conversation


def send_message(conversation: Conversation, sender: User, body: str) -> Message:
    """Add a message (text only) and e-mail the recipient at most once an hour per conversation."""
    body = normalize_body(body)
    refusal = confirmation_refusal(sender, MESSAGE)
    if refusal:
        raise MessagingError(refusal)
    if not conversation.can_reply(sender):
        if not conversation.can_view(sender):
            abort(404)
        raise MessagingError("This person has deleted their account, so you can't reply any more.")
    message = Message(conversation=conversation, sender_id=sender.id, body=body)
    db.session.add(message)
    db.session.flush()
    conversation.last_message_at = message.created_at
    # The sender has obviously seen everything up to their own message.
    if conversation.is_client_side(sender):
        conversation.client_last_read_id = message.id
    else:
        conversation.specialist_last_read_id = message.id
    db.session.flush()
    forget_loaded(sender, UNREAD)
    log.info("message %s sent in conversation %s by user %s", message.id, conversation.id, sender.id)
    _notify_recipient(conversation, sender)
    return message


def normalize_body(body: str | None) -> str:
    """Plain text with "\\n" newlines; empty or too long is a MessagingError."""
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise MessagingError("Write a message before sending.", 422)
    if len(text) > MAX_MESSAGE_LENGTH:
        raise MessagingError(f"Your message is too long: {len(text):,} characters. "
                             f"The limit is {MAX_MESSAGE_LENGTH:,}.", 422)
    return text


def _notify_recipient(conversation: Conversation, sender: User) -> None:
    """E-mail "you have a new message" without its text, at most once per hour per conversation.

    The throttle is claimed with one conditional UPDATE, so two messages sent at the same
    moment still produce one e-mail.
    """
    recipient = conversation.other_user(sender)
    if recipient is None or not recipient.is_active:
        return
    column = "client_notified_at" if recipient.id == conversation.client_id else "specialist_notified_at"
    stamp = getattr(Conversation, column)
    now = utcnow()
    claimed = execute_dml(
        update(Conversation)
        .where(Conversation.id == conversation.id, or_(stamp.is_(None), stamp <= now - NOTIFY_INTERVAL))
        .values({column: now})
        .execution_options(synchronize_session=False,
                           **{CHANGES_PEOPLE: (conversation.client_id, conversation.specialist_id)})
    ).rowcount
    db.session.expire(conversation, [column])
    if claimed != 1:
        return
    sender_name = " ".join(conversation.name_of(sender.id).split())
    link = url_for("messaging.thread", conversation_id=conversation.id, _external=False)
    body = render_mail("email/message_notification.txt", recipient_name=recipient.display_name,
                       sender_name=sender_name, path=link)
    send_mail(recipient.email, f"You have a new message from {sender_name} on Balance", body)
    log.info("message notification queued for conversation %s", conversation.id)


# --- account hooks ---------------------------------------------------------------------------

@data_exporter("messages")
def export_messages(user: User) -> list[dict[str, Any]]:
    """The user's conversations with every message in them (theirs marked ``from_me``)."""
    conversations = db.session.scalars(
        _with_participants(select(Conversation).where(or_(Conversation.client_id == user.id,
                                                          Conversation.specialist_id == user.id)))
        .options(selectinload(Conversation.messages))
        .order_by(Conversation.id)
    ).unique().all()
    return [
        {
            "conversation_id": conv.id,
            "with": conv.other_name(user),
            "started_at": conv.created_at.isoformat(),
            "messages": [
                {"from_me": m.sender_id == user.id, "sent_at": m.created_at.isoformat(), "body": m.body}
                for m in conv.messages
            ],
        }
        for conv in conversations
    ]


@deletion_hook
def anonymise_messages(user: User) -> None:
    """Account deletion: the other person keeps the conversation (their copy of what was said),
    shown as from "Deleted user" — names come from the anonymised account, never copied. A
    conversation whose other participant is already deleted is needed by nobody: delete it."""
    other_deleted = (
        select(Conversation.id)
        .join(User, or_(and_(Conversation.client_id == user.id, User.id == Conversation.specialist_id),
                        and_(Conversation.specialist_id == user.id, User.id == Conversation.client_id)))
        .where(User.deleted_at.is_not(None))
    )
    ids = list(db.session.scalars(other_deleted))
    if ids:
        db.session.execute(delete(Message).where(Message.conversation_id.in_(ids)))
        db.session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
    log.info("messaging data of user %s anonymised (%s conversations removed)", user.id, len(ids))
