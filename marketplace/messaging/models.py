"""Conversations between one client and one specialist, and their messages.

Read state is a per-participant pointer to the last message id they have seen (ids only
grow, so "unread" is simply ``message.id > pointer`` — no clock ties). The notification
throttle is a per-recipient timestamp on the conversation.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import UTCDateTime, utcnow
from marketplace.extensions import Model

MAX_MESSAGE_LENGTH = 5000
DELETED_USER_NAME = "Deleted user"


class Conversation(Model):
    __tablename__ = "conversations"
    __table_args__ = (
        # One conversation per client/specialist pair: "new message" continues it.
        UniqueConstraint("client_id", "specialist_id", name="uq_conversations_pair"),
        Index("ix_conversations_client_recent", "client_id", "last_message_at"),
        Index("ix_conversations_specialist_recent", "specialist_id", "last_message_at"),
        CheckConstraint("client_id <> specialist_id", name="two_people"),
        CheckConstraint("client_last_read_id >= 0 AND specialist_last_read_id >= 0", name="read_pointers"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The specialist as a *user*, so the conversation (which the client still needs) outlives
    # the profile; the profile link is for names and "view profile" links while it exists.
    specialist_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    specialist_profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("specialist_profiles.id", ondelete="SET NULL"), index=True
    )
    # Who wrote first (the client, or a specialist with a consultation) — for the record.
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Read state: id of the newest message each participant has seen (0 = none).
    client_last_read_id: Mapped[int] = mapped_column(default=0)
    specialist_last_read_id: Mapped[int] = mapped_column(default=0)
    # Notification throttle: when each side was last e-mailed about this conversation.
    client_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    specialist_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client = relationship("User", foreign_keys=[client_id])
    specialist = relationship("User", foreign_keys=[specialist_id])
    specialist_profile = relationship("SpecialistProfile")
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id", cascade="all, delete-orphan", passive_deletes=True
    )

    # --- participants -------------------------------------------------------------------
    def is_participant(self, user: Any) -> bool:
        uid = getattr(user, "id", None)
        return uid is not None and uid in (self.client_id, self.specialist_id)

    def is_client_side(self, user: Any) -> bool:
        return getattr(user, "id", None) == self.client_id

    def client_name(self) -> str:
        client = self.client
        return DELETED_USER_NAME if client is None or client.deleted_at else client.display_name

    def specialist_name(self) -> str:
        user = self.specialist
        if user is None or user.deleted_at:
            return DELETED_USER_NAME
        return self.specialist_profile.display_name if self.specialist_profile else user.display_name

    def name_of(self, user_id: int | None) -> str:
        """Display name of a participant (``Deleted user`` once they deleted their account)."""
        if user_id is not None and user_id == self.client_id:
            return self.client_name()
        if user_id is not None and user_id == self.specialist_id:
            return self.specialist_name()
        return DELETED_USER_NAME

    def other_name(self, user: Any) -> str:
        return self.specialist_name() if self.is_client_side(user) else self.client_name()

    def other_user(self, user: Any) -> Any:
        return self.specialist if self.is_client_side(user) else self.client

    def other_is_active(self, user: Any) -> bool:
        other = self.other_user(user)
        return other is not None and other.is_active

    # --- read state ---------------------------------------------------------------------
    def last_read_id_of(self, user: Any) -> int:
        return self.client_last_read_id if self.is_client_side(user) else self.specialist_last_read_id

    def other_last_read_id(self, user: Any) -> int:
        return self.specialist_last_read_id if self.is_client_side(user) else self.client_last_read_id

    # --- permissions (the seam get_owned_or_404 uses) -----------------------------------
    def can_view(self, user: Any) -> bool:
        """Only the two participants — admins included in "everyone else" (404)."""
        return bool(getattr(user, "is_authenticated", False)) and self.is_participant(user)

    def can_reply(self, user: Any) -> bool:
        """Participants may write while both accounts exist. The conversation itself only
        exists if a client started it or a specialist with a consultation did."""
        return self.can_view(user) and user.is_active and self.other_is_active(user)

    def __repr__(self) -> str:
        return f"<Conversation {self.id}>"


class Message(Model):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        CheckConstraint(f"length(body) BETWEEN 1 AND {MAX_MESSAGE_LENGTH}", name="body_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")

    def __repr__(self) -> str:  # never the body: reprs end up in logs
        return f"<Message {self.id} conversation={self.conversation_id}>"
