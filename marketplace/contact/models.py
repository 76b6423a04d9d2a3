"""Messages sent to the Balance team through "Contact us"."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import UTCDateTime, utcnow
from marketplace.extensions import Model

MAX_SUBJECT_LENGTH = 150
MAX_BODY_LENGTH = 5000


class ContactMessage(Model):
    __tablename__ = "contact_messages"
    __table_args__ = (
        Index("ix_contact_messages_handled_created", "handled", "created_at"),
        # "handled" and its timestamp always travel together.
        CheckConstraint("(handled AND handled_at IS NOT NULL) OR (NOT handled AND handled_at IS NULL)",
                        name="handled_state"),
        CheckConstraint(f"length(subject) BETWEEN 1 AND {MAX_SUBJECT_LENGTH}", name="subject_length"),
        CheckConstraint(f"length(body) BETWEEN 1 AND {MAX_BODY_LENGTH}", name="body_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    subject: Mapped[str] = mapped_column(String(MAX_SUBJECT_LENGTH))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    handled: Mapped[bool] = mapped_column(default=False)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user = relationship("User", foreign_keys=[user_id])
    handled_by = relationship("User", foreign_keys=[handled_by_id])

    def can_handle(self, user: Any) -> bool:
        return bool(getattr(user, "is_admin", False))

    def __repr__(self) -> str:  # never subject or body: reprs end up in logs
        return f"<ContactMessage {self.id}>"
