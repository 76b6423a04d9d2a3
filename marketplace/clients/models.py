"""A specialist's private note about one client, stored encrypted (a Fernet token: never the text)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.database import UTCDateTime, utcnow
from marketplace.extensions import Model

NOTE_MAX_LENGTH = 5000  # characters of plaintext


class ClientNote(Model):
    """One note per specialist and client. Only ``body_encrypted`` is stored; the plaintext is read
    and written through ``clients.services`` (``marketplace.encryption``)."""

    __tablename__ = "client_notes"
    __table_args__ = (
        UniqueConstraint("specialist_id", "client_id", name="uq_client_notes_specialist_client"),
        Index("ix_client_notes_client", "client_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:  # never the note: reprs end up in logs
        return f"<ClientNote {self.id}>"
