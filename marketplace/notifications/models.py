"""Outbox: every e-mail is a row written in the same transaction as the action."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.database import UTCDateTime, enum_type, utcnow
from marketplace.extensions import Model


class MailStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by one deliverer until ``claimed_until``; then claimable again
    SENT = "sent"
    DROPPED = "dropped"  # composed on delivery, and there was nothing left to say (e.g. the booking is gone)


class OutboxMail(Model):
    __tablename__ = "outbox_mail"
    __table_args__ = (Index("ix_outbox_mail_status", "status", "claimed_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)  # "" until composed, for a mail with a composer
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Lets callers make a mail idempotent (e.g. "reminder-24h:<consultation id>").
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    status: Mapped[MailStatus] = mapped_column(
        enum_type(MailStatus, 10),
        default=MailStatus.PENDING,
    )
    # Composed on delivery (``notifications.mail.send_composed_mail``): the registered composer's
    # name and its JSON arguments; the body and attachments are written by the worker, once.
    composer: Mapped[str | None] = mapped_column(String(80))
    compose_args: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    # The lease of the worker that claimed it: a worker that died or hung loses it after this.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
