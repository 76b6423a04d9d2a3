"""Models of weekly paid-session series: one ``SessionSeries`` per booking of N weekly
sessions, one ``SeriesCharge`` per occurrence (its paid consultation, its ``Payment`` and
the off-session charge taken 24 hours before it).

The card is saved once through the provider (a setup checkout); each occurrence is charged
by the periodic job, which claims a charge with a conditional UPDATE of ``charge_state``
(``scheduled`` → ``charging``), so overlapping runs charge it exactly once."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import UTCDateTime, enum_type, utcnow
from marketplace.extensions import Model

MIN_SERIES_SESSIONS = 2
MAX_SERIES_SESSIONS = 12


class SeriesState(enum.StrEnum):
    AWAITING_CARD = "awaiting_card"  # occurrences held while the client saves a card
    ACTIVE = "active"  # card saved: occurrences confirmed and charged one by one
    RELEASED = "released"  # the card was never saved: every hold released


class ChargeState(enum.StrEnum):
    AWAITING_CARD = "awaiting_card"  # no card yet
    SCHEDULED = "scheduled"  # charged off-session at ``due_at``
    CHARGING = "charging"  # claimed by one run of the job
    CHARGED = "charged"
    DECLINED = "declined"  # notified both; released at ``release_at`` unless paid meanwhile
    RELEASED = "released"  # not paid: the occurrence was cancelled and its time freed
    CANCELLED = "cancelled"  # the occurrence was cancelled or released before its charge


class SessionSeries(Model):
    __tablename__ = "session_series"
    __table_args__ = (
        CheckConstraint(f"sessions BETWEEN {MIN_SERIES_SESSIONS} AND {MAX_SERIES_SESSIONS}",
                        name="series_session_count"),
        UniqueConstraint("provider", "provider_checkout_id"),
        Index("ix_session_series_card_checkout", "provider", "card_checkout_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist_profiles.id", ondelete="CASCADE"),
                                               index=True)
    sessions: Mapped[int]
    timezone: Mapped[str] = mapped_column(String(64))  # the specialist's zone: the local time kept weekly
    state: Mapped[SeriesState] = mapped_column(enum_type(SeriesState, 16), default=SeriesState.AWAITING_CARD)
    provider: Mapped[str] = mapped_column(String(32))
    provider_checkout_id: Mapped[str | None] = mapped_column(String(255))
    checkout_url: Mapped[str | None] = mapped_column(String(2000))
    provider_customer_id: Mapped[str | None] = mapped_column(String(255))
    provider_payment_method_id: Mapped[str | None] = mapped_column(String(255))
    # The setup checkout of "Use another card" (after a declined charge): its webhook replaces the card.
    card_checkout_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    card_saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    charges: Mapped[list[SeriesCharge]] = relationship(back_populates="series", order_by="SeriesCharge.due_at")
    client = relationship("User")
    specialist = relationship("SpecialistProfile")

    def can_view(self, user: object) -> bool:
        return getattr(user, "id", None) == self.client_id

    def __repr__(self) -> str:
        return f"<SessionSeries {self.id} {self.state.value}>"


class SeriesCharge(Model):
    __tablename__ = "series_charges"
    __table_args__ = (Index("ix_series_charges_state_due", "charge_state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("session_series.id", ondelete="CASCADE"), index=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # 24 hours before the occurrence
    charge_state: Mapped[ChargeState] = mapped_column(enum_type(ChargeState, 16),
                                                      default=ChargeState.AWAITING_CARD)
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    release_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # end of the grace period
    decline_reason: Mapped[str | None] = mapped_column(String(255))

    series: Mapped[SessionSeries] = relationship(back_populates="charges")
    consultation = relationship("Consultation")
    payment = relationship("Payment")
